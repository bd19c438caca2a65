"""Benchmarks of extractor/read/ (run on demand; results in benchmarks/results.md)."""
