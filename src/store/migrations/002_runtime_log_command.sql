-- The replayable log: the first runtime_log row of each step holds what produced the step, as JSON text
-- ({"idempotencyKey": ..., "command": ActionCommand | TimerCommand} or {"idempotencyKey": ..., "start": StartInput}),
-- so `bflow check` can replay every runtime through the engine and find each acknowledged command by its key.
-- NULL on the step's later rows and on rows written before this migration. ADD COLUMN at the end of the
-- table is an instant (metadata-only) change on MySQL 8.0 and MariaDB 10.11.
ALTER TABLE runtime_log ADD COLUMN command MEDIUMTEXT NULL;
