"""Per-document orchestration: read -> backend -> evidence -> records, resumable."""
