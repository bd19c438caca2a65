"""Benchmarks of extractor/pipeline/ (run on demand; results in benchmarks/results.md)."""
