"""The analyst's desk: search, review and correct extracted values with their evidence on the page.

``tenderx serve`` (app.py) and ``tenderx review`` (export.py, gold.py) share the catalogue of
documents (catalog.py), the page images with quote boxes (pages.py) and the review log (review.py).
"""
