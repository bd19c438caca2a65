"""Benchmarks of extractor/store/ (run on demand; results in benchmarks/results.md)."""
