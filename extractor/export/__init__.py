"""Open-data export of records and cases: OCDS 1.1 releases and records, CSV with evidence, Parquet.

Layer: above pipeline, below cli. Reads records (the dicts of records.jsonl) and cases.
"""
