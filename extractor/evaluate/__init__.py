"""Evaluation against hand-labelled gold: gold files, scoring per the contract, reports."""
