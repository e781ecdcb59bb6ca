-- Which API key queued each indexing job: a key's backlog is bounded (per-key quota), so one
-- key's bulk load cannot fill the indexer's queue for everyone.
ALTER TABLE index_outbox ADD COLUMN key_id text;
CREATE INDEX index_outbox_key ON index_outbox (key_id) WHERE key_id IS NOT NULL;
