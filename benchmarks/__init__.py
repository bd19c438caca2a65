"""Speed benchmarks (run as ``python -m benchmarks.<name>``); timing never lives in tests."""
