-- bflow initial schema. Runs on MySQL 8.0 and MariaDB 10.11. Never edit an applied migration: add a new file.
-- Times are epoch milliseconds (BIGINT); JSON is parsed in the application.
-- Columns written on every command (runtime state, outbox events, idempotency responses, log changes) hold JSON
-- text in MEDIUMTEXT: the JSON type makes the server validate (MariaDB) or convert (MySQL) each value on every
-- write, which costs more server CPU than the rest of the row. Only the application writes them, always with
-- JSON.stringify.

CREATE TABLE employees (
  tenant      VARCHAR(64)  NOT NULL,
  id          VARCHAR(100) NOT NULL,
  name        VARCHAR(200) NOT NULL,
  email       VARCHAR(320) NULL,
  phone       VARCHAR(50)  NULL,
  company_id  VARCHAR(64)  NULL,
  group_id    VARCHAR(100) NULL,
  active      TINYINT(1)   NOT NULL DEFAULT 1,
  updated_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, id),
  KEY employees_by_group (tenant, group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- `groups` is a reserved word in MySQL 8.
CREATE TABLE directory_groups (
  tenant      VARCHAR(64)  NOT NULL,
  id          VARCHAR(100) NOT NULL,
  name        VARCHAR(200) NOT NULL,
  parent_id   VARCHAR(100) NULL,
  manager_id  VARCHAR(100) NULL,
  level       INT          NULL,
  updated_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE workflows (
  tenant          VARCHAR(64)  NOT NULL,
  id              VARCHAR(100) NOT NULL,
  app             VARCHAR(100) NOT NULL,
  name            VARCHAR(200) NOT NULL,
  draft           JSON         NOT NULL,
  latest_version  INT          NULL,
  created_at      BIGINT       NOT NULL,
  updated_at      BIGINT       NOT NULL,
  PRIMARY KEY (tenant, id),
  KEY workflows_by_app (tenant, app)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Immutable: rows are inserted once and never updated.
CREATE TABLE workflow_versions (
  tenant        VARCHAR(64)  NOT NULL,
  workflow_id   VARCHAR(100) NOT NULL,
  version       INT          NOT NULL,
  definition    JSON         NOT NULL,
  content_hash  CHAR(64)     NOT NULL,
  published_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, workflow_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- company_id '' is the tenant-wide default config.
CREATE TABLE app_configs (
  tenant       VARCHAR(64)  NOT NULL,
  company_id   VARCHAR(64)  NOT NULL DEFAULT '',
  app          VARCHAR(100) NOT NULL,
  mode         VARCHAR(16)  NOT NULL,
  workflow_id  VARCHAR(100) NOT NULL,
  updated_at   BIGINT       NOT NULL,
  PRIMARY KEY (tenant, company_id, app)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One active runtime per document: active_doc is NULL once the runtime has finished,
-- and NULLs don't collide in a unique key.
CREATE TABLE runtimes (
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
  active_doc    VARCHAR(200) AS (IF(status IN ('created', 'in_progress', 'failed'), doc_id, NULL)) STORED,
  PRIMARY KEY (tenant, id),
  UNIQUE KEY runtimes_one_active_per_doc (tenant, app, active_doc),
  KEY runtimes_by_doc (tenant, app, doc_id),
  KEY runtimes_by_app_status (tenant, app, status, id),
  KEY runtimes_by_status (tenant, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only audit log: rows are never updated or deleted.
CREATE TABLE runtime_log (
  tenant      VARCHAR(64)  NOT NULL,
  runtime_id  VARCHAR(64)  NOT NULL,
  seq         INT          NOT NULL,
  at          BIGINT       NOT NULL,
  actor       VARCHAR(100) NOT NULL,
  action      VARCHAR(32)  NOT NULL,
  from_node   VARCHAR(100) NOT NULL,
  to_node     VARCHAR(100) NULL,
  comment     TEXT         NULL,
  changes     MEDIUMTEXT   NULL,
  PRIMARY KEY (tenant, runtime_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The inbox read model: one row per (runtime, stage, assignee).
CREATE TABLE tasks (
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
  PRIMARY KEY (tenant, runtime_id, stage, assignee),
  KEY tasks_inbox (tenant, assignee, status, assigned_at, runtime_id, stage)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE idempotency_keys (
  tenant      VARCHAR(64)  NOT NULL,
  idem_key    VARCHAR(200) NOT NULL,
  runtime_id  VARCHAR(64)  NOT NULL,
  response    MEDIUMTEXT   NOT NULL,
  created_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, idem_key),
  KEY idempotency_by_age (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per committed transition with its events (a JSON array), so a step writes one outbox row however
-- many events it emits. Event ids are unique by construction (<runtime>:<log seq>:<index>); the relay
-- publishes them with Nats-Msg-Id = event id, so a row re-published after a crash is de-duplicated downstream.
CREATE TABLE outbox (
  position      BIGINT       NOT NULL AUTO_INCREMENT,
  shard         SMALLINT     NOT NULL,
  tenant        VARCHAR(64)  NOT NULL,
  runtime_id    VARCHAR(64)  NOT NULL,
  seq           INT          NOT NULL,
  events        MEDIUMTEXT   NOT NULL,
  created_at    BIGINT       NOT NULL,
  published_at  BIGINT       NULL,
  PRIMARY KEY (position),
  KEY outbox_unpublished (shard, published_at, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE timers (
  tenant      VARCHAR(64)  NOT NULL,
  id          VARCHAR(200) NOT NULL,
  runtime_id  VARCHAR(64)  NOT NULL,
  kind        VARCHAR(16)  NOT NULL,
  stage       INT          NOT NULL,
  shard       SMALLINT     NOT NULL,
  due_at      BIGINT       NOT NULL,
  PRIMARY KEY (tenant, id),
  KEY timers_due (shard, due_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
