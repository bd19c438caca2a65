"""Readers: input files -> ``core.document.Document`` (pages with raw text, a cleaned view and an offset map)."""
