"""The embeddings service: a sentence-transformers model server with micro-batching."""
