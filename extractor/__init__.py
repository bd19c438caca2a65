"""tenderx: turn Chinese public-procurement documents into structured, verifiable data.

Every CLI command is a thin wrapper over a function of this package, so the
whole pipeline is usable from Python::

    from extractor import Store, evaluate_folder, extract_documents, ingest, search

The entry points are imported lazily (PEP 562) so that ``import extractor``
and a cold ``tenderx --help`` stay fast; the layout behind them is described
in ``docs/architecture.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from extractor.core import config as _config

_config.apply_offline_defaults()

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "ingest": "extractor.pipeline.ingest",
    "search": "extractor.search.hybrid",
    "Store": "extractor.store.store",
    "extract_documents": "extractor.pipeline.extract",
    "evaluate_folder": "extractor.evaluate.scoring",
    "TenderxError": "extractor.core.errors",
}

__all__ = ["Store", "TenderxError", "__version__", "evaluate_folder", "extract_documents", "ingest", "search"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from extractor.core.errors import TenderxError
    from extractor.evaluate.scoring import evaluate_folder
    from extractor.pipeline.extract import extract_documents
    from extractor.pipeline.ingest import ingest
    from extractor.search.hybrid import search
    from extractor.store.store import Store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'extractor' has no attribute {name!r}")
    return getattr(import_module(module), name)
