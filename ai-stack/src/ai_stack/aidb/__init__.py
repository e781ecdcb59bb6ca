"""aidb: the knowledge store (documents, chunks, hybrid search)."""
