"""Benchmarks of extractor/search/ (run on demand; results in benchmarks/results.md)."""
