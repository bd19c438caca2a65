"""Extraction backends (rules, LLM) behind one protocol and a registry."""
