-- The current version's chunk count, kept with the document: /index/status sums one row per
-- document instead of counting every chunk on every call (150 ms at 60,000 chunks, growing).
ALTER TABLE documents ADD COLUMN chunk_count integer NOT NULL DEFAULT 0;

UPDATE documents d
SET chunk_count = (
    SELECT count(*) FROM chunks ch WHERE ch.document_id = d.id AND ch.document_version = d.version
);
