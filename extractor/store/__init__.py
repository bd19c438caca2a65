"""The store: documents, chunks and vectors in local ChromaDB or a Chroma server (`store`), with
the per-document rows (`docmeta`, `stored`), the two backends (`local`, `remote`), leases for
several writers (`lease`), file locks (`locks`), consistency checks (`integrity`) and shards
(`shard`)."""
