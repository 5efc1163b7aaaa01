-- Log-first commit (docs/architecture.md "A command's path"): a command's durable record is one row of
-- runtime_steps, appended by the group commit. The runtimes, tasks, runtime_log and timers rows become
-- projections of it, written by the projector; the outbox is read from it behind a per-shard watermark.

-- One row per committed step. `position` orders a shard's steps in commit order (one writer owns a shard
-- and commits its batches one after the other). `body` is the step's StepBody JSON (src/store/step-log.ts):
-- its state change, log entries, events, task changes and timers. `events` counts its events, so the relay
-- skips steps without any. A retried command finds its step by (tenant, idem_key); NULLs do not collide.
CREATE TABLE runtime_steps (
  tenant      VARCHAR(64)  NOT NULL,
  runtime_id  VARCHAR(64)  NOT NULL,
  revision    INT          NOT NULL,
  position    BIGINT       NOT NULL AUTO_INCREMENT,
  shard       SMALLINT     NOT NULL,
  idem_key    VARCHAR(200) NULL,
  events      SMALLINT     NOT NULL DEFAULT 0,
  body        MEDIUMTEXT   NOT NULL,
  created_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant, runtime_id, revision),
  UNIQUE KEY runtime_steps_position (position),
  UNIQUE KEY runtime_steps_idem (tenant, idem_key),
  KEY runtime_steps_by_shard (shard, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The one-active-runtime-per-document slot: claimed in the commit transaction by a start, released in the
-- same transaction by the step that finishes the runtime. (The runtimes row is written later by the
-- projector, so its unique key on active_doc can no longer guard starts.)
CREATE TABLE active_documents (
  tenant      VARCHAR(64)  NOT NULL,
  app         VARCHAR(100) NOT NULL,
  doc_id      VARCHAR(200) NOT NULL,
  runtime_id  VARCHAR(64)  NOT NULL,
  PRIMARY KEY (tenant, app, doc_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Per shard: the position up to which its steps' events are published, and up to which its steps are
-- projected. A new owner resumes both from here.
CREATE TABLE shard_watermarks (
  shard               SMALLINT NOT NULL,
  published_position  BIGINT   NOT NULL DEFAULT 0,
  projected_position  BIGINT   NOT NULL DEFAULT 0,
  updated_at          BIGINT   NOT NULL,
  PRIMARY KEY (shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Existing data (a cluster upgraded in place; every node stopped). The active runtimes hold their slots.
INSERT INTO active_documents (tenant, app, doc_id, runtime_id)
  SELECT tenant, app, doc_id, id FROM runtimes WHERE active_doc IS NOT NULL;

-- Step positions continue after the old outbox's, so the relay drains the old outbox's unpublished rows
-- first, then the steps, in one order.
SET @bflow_next_position = (SELECT COALESCE(MAX(position), 0) + 1 FROM outbox);
SET @bflow_alter = CONCAT('ALTER TABLE runtime_steps AUTO_INCREMENT = ', @bflow_next_position);
PREPARE bflow_alter_steps FROM @bflow_alter;
EXECUTE bflow_alter_steps;
DEALLOCATE PREPARE bflow_alter_steps;

-- Each active runtime's log begins with a baseline: its current state as a start-like change
-- ({"init": state}, "base": true), no events, no effects. A retry of a key committed after the upgrade is
-- answered by replaying from it; keys committed before stay in idempotency_keys.
INSERT INTO runtime_steps (tenant, runtime_id, revision, shard, idem_key, events, body, created_at)
  SELECT tenant, id, revision, shard, NULL, 0,
         CONCAT('{"v":1,"base":true,"at":', updated_at, ',"actor":"","seq":',
                COALESCE(JSON_VALUE(state, '$.seq'), 0), ',"change":{"init":', state, '}}'),
         updated_at
  FROM runtimes WHERE active_doc IS NOT NULL ORDER BY shard, tenant, id;

-- The baselines are projected already (they are the runtimes rows) and carry no events.
INSERT INTO shard_watermarks (shard, published_position, projected_position, updated_at)
  SELECT shard, 0, MAX(position), MAX(created_at) FROM runtime_steps GROUP BY shard;
