"""Indexing and retrieval: chunking, embeddings, the ChromaDB store, BM25, hybrid search, ingest."""
