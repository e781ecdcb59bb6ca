-- BM25's IDF per aidb collection: how many indexed chunks of each collection hold each keyword
-- term. The vector engine's own IDF counts every collection of its shard together (and deleted
-- points until the shard reloads); queries weigh their terms with these counts instead.
CREATE TABLE keyword_df (
    collection text NOT NULL,
    term_id integer NOT NULL,
    df integer NOT NULL,
    PRIMARY KEY (collection, term_id)
);
-- A document's contribution to keyword_df: each indexed chunk's distinct term ids, one after the
-- other; subtracted when the document is reindexed or deleted. NULL: indexed before this.
ALTER TABLE documents ADD COLUMN keyword_df_terms integer[];
