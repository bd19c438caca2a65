"""The ``tenderx`` command: a thin layer over the library."""

from extractor.cli.app import main

__all__ = ["main"]
