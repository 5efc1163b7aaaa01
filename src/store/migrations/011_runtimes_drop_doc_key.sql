-- One active runtime per document is the active_documents slot's (004_runtime_steps.sql), claimed and released in
-- the commit transaction. The runtimes row is a projection, written after the commit, shard by shard: a
-- document's next runtime, started on another shard once the previous one finished, can be projected before
-- that finish is. The unique key on runtimes (tenant, app, active_doc) then refused its row, and stalled its
-- shard's projection until the other shard's caught up; it guarded nothing the slot does not, and every
-- insert and finish of a runtime paid for it. The generated column active_doc stays (dropping a stored
-- column rebuilds the table); nothing reads it.
ALTER TABLE runtimes DROP INDEX runtimes_one_active_per_doc;
