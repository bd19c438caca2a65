"""Benchmarks of extractor/embed/ (run on demand; results in benchmarks/results.md)."""
