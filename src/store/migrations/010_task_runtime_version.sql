-- The inbox rows carry their runtime's workflow and version (issue 15): the group commit writes a step's tasks
-- with the step itself, and the runtime row follows with the projections (BFLOW_PROJECTION_DELAY_MS), so an
-- inbox page must not need the runtime row to name a task's node. NULL on rows written before this migration,
-- whose runtime rows exist: the inbox reads the runtime row's values first and these only without one.
ALTER TABLE tasks ADD COLUMN workflow_id VARCHAR(100) NULL, ADD COLUMN version INT NULL;
