-- Retention (issue 19, docs/operations.md#retention): tenants' audit-log policies, the ledger of what retention
-- removed (the invariant checker reads it, so a pruned row is not a loss), the job's cursors, the archive tables,
-- and an index that finds finished runtimes by the time they finished.

-- A tenant's policy. audit_log_days NULL: the audit log is kept (the default, also for a tenant without a row).
CREATE TABLE retention_policies (
  tenant          VARCHAR(64)  NOT NULL,
  audit_log_days  INT          NULL,
  updated_at      BIGINT       NOT NULL,
  PRIMARY KEY (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per runtime retention touched. steps_through_*: its steps below that revision were removed and the step
-- at it rewritten as a base step (the whole state at that revision, log seq steps_through_seq). removed_*: the
-- finished runtime's hot rows (runtime row, steps, tasks) were archived or deleted. audit_removed_at: its
-- audit log (runtime_log) was deleted by the tenant's policy.
CREATE TABLE retention_ledger (
  tenant                  VARCHAR(64)  NOT NULL,
  runtime_id              VARCHAR(64)  NOT NULL,
  steps_through_revision  INT          NULL,
  steps_through_seq       INT          NULL,
  finished_at             BIGINT       NULL,
  removed_at              BIGINT       NULL,
  removed_mode            VARCHAR(8)   NULL,
  audit_removed_at        BIGINT       NULL,
  updated_at              BIGINT       NOT NULL,
  PRIMARY KEY (tenant, runtime_id),
  KEY retention_ledger_audit (tenant, audit_removed_at, finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The job's cursors over runtime_steps positions: `idempotency` (steps at or below it have had their idempotency
-- keys forgotten once old enough) and `steps` (steps at or below it were considered for compaction).
CREATE TABLE retention_marks (
  name        VARCHAR(32)  NOT NULL,
  value       BIGINT       NOT NULL,
  updated_at  BIGINT       NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Archived hot rows (BFLOW_RETENTION_MODE=archive): the columns of the hot tables plus when they moved.
CREATE TABLE runtimes_archive (
  tenant        VARCHAR(64)  NOT NULL,
  id            VARCHAR(64)  NOT NULL,
  app           VARCHAR(100) NOT NULL,
  doc_id        VARCHAR(200) NOT NULL,
  company_id    VARCHAR(64)  NULL,
  workflow_id   VARCHAR(100) NOT NULL,
  version       INT          NOT NULL,
  status        VARCHAR(16)  NOT NULL,
  current_node  VARCHAR(100) NOT NULL,
  state         MEDIUMTEXT   NOT NULL,
  revision      INT          NOT NULL,
  shard         SMALLINT     NOT NULL,
  created_at    BIGINT       NOT NULL,
  updated_at    BIGINT       NOT NULL,
  archived_at   BIGINT       NOT NULL,
  PRIMARY KEY (tenant, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE runtime_steps_archive (
  tenant       VARCHAR(64)  NOT NULL,
  runtime_id   VARCHAR(64)  NOT NULL,
  revision     INT          NOT NULL,
  position     BIGINT       NOT NULL,
  shard        SMALLINT     NOT NULL,
  idem_key     VARCHAR(200) NULL,
  events       SMALLINT     NOT NULL,
  body         MEDIUMTEXT   NOT NULL,
  created_at   BIGINT       NOT NULL,
  archived_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, runtime_id, revision)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tasks_archive (
  tenant       VARCHAR(64)  NOT NULL,
  runtime_id   VARCHAR(64)  NOT NULL,
  stage        INT          NOT NULL,
  assignee     VARCHAR(100) NOT NULL,
  node         VARCHAR(100) NOT NULL,
  app          VARCHAR(100) NOT NULL,
  doc_id       VARCHAR(200) NOT NULL,
  status       VARCHAR(8)   NOT NULL,
  action       VARCHAR(32)  NULL,
  assigned_at  BIGINT       NOT NULL,
  closed_at    BIGINT       NULL,
  due_at       BIGINT       NULL,
  archived_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, runtime_id, stage, assignee)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- When a finished runtime finished (its last update), NULL while it runs. Virtual, so adding it rewrites no
-- row; the index holds only finished runtimes' times (a running runtime's NULL never changes on its updates).
ALTER TABLE runtimes
  ADD COLUMN finished_at BIGINT AS (IF(status IN ('approved', 'completed', 'rejected', 'cancelled'), updated_at, NULL)) VIRTUAL,
  ADD KEY runtimes_finished (finished_at);
