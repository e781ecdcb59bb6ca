-- BM25 length normalization uses each collection's real average chunk length: the indexer keeps
-- the keyword terms of each document's indexed version here, and the average is read from them.
-- Documents indexed before this stay at 0 (left out of the average) until they are reindexed.
ALTER TABLE documents ADD COLUMN keyword_terms bigint NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN keyword_chunks integer NOT NULL DEFAULT 0;
