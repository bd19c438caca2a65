"""Deprecated: the old home of embeddings, the store, search and ingest.

They now live in `extractor.embed`, `extractor.store`, `extractor.search` and
`extractor.pipeline.ingest`. The modules here re-export the names users were most likely to
import and warn once (DeprecationWarning); they go in the next release.
"""

from __future__ import annotations

import warnings


def moved(old: str, new: str) -> None:
    """Warn that ``old`` is now ``new`` (called by each shim at import)."""
    warnings.warn(f"{old} is deprecated; import from {new} (removed in the next release)",
                  DeprecationWarning, stacklevel=3)
