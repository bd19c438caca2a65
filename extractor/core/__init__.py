"""Types and knowledge every stage shares: documents, schema, config, errors, normalisers, watchlist, evidence.

Nothing in ``core`` imports another tenderx package (enforced by import-linter).
"""
