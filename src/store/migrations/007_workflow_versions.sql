-- Workflow versions (issue 18): publishing metadata, autoMigrate on app configs, and migration plans that move
-- running runtimes from one version of their workflow to another (docs/domain.md#migrating-runtimes).

-- Who published a version and the change-log message (NULL on versions published before this migration).
ALTER TABLE workflow_versions
  ADD COLUMN published_by VARCHAR(100) NULL,
  ADD COLUMN change_log TEXT NULL;

-- Publishing a new version migrates the previous version's running runtimes (identity mapping) when set.
ALTER TABLE app_configs ADD COLUMN auto_migrate TINYINT(1) NOT NULL DEFAULT 0;

-- A plan's candidates: the runtimes of one version of a workflow, in id order (keyset pages).
ALTER TABLE runtimes ADD KEY runtimes_by_version (tenant, workflow_id, version, id);

-- One row per migration plan. `spec` is its JSON (nodeMap, allowEndNodes, filter); `progress` its JSON counts and
-- samples per outcome. An executor owns a running plan while `lease_until` is ahead (`owner` names it) and
-- saves `cursor_id` (the last runtime id done) with the progress: a node that dies mid-plan leaves the lease to
-- expire and another node resumes from the cursor. Runtimes are migrated at most once per plan by the
-- idempotency key of their `migrate` log entry.
CREATE TABLE migration_plans (
  tenant        VARCHAR(64)  NOT NULL,
  id            VARCHAR(64)  NOT NULL,
  workflow_id   VARCHAR(100) NOT NULL,
  from_version  INT          NOT NULL,
  to_version    INT          NOT NULL,
  spec          MEDIUMTEXT   NOT NULL,
  status        VARCHAR(16)  NOT NULL,
  auto          TINYINT(1)   NOT NULL DEFAULT 0,
  created_by    VARCHAR(100) NOT NULL,
  cursor_id     VARCHAR(64)  NOT NULL DEFAULT '',
  progress      MEDIUMTEXT   NOT NULL,
  owner         VARCHAR(128) NULL,
  lease_until   BIGINT       NOT NULL DEFAULT 0,
  created_at    BIGINT       NOT NULL,
  updated_at    BIGINT       NOT NULL,
  finished_at   BIGINT       NULL,
  PRIMARY KEY (tenant, id),
  KEY migration_plans_by_workflow (tenant, workflow_id, created_at),
  KEY migration_plans_runnable (status, lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
