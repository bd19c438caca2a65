"""tenderx: turn Chinese public-procurement PDFs into structured, verifiable data.

Every CLI command is a thin wrapper over a function of this package, so the
whole pipeline is usable from Python:

    from extractor.ingest import ingest
    from extractor.search import search
    from extractor.extract import extract_documents
    from extractor.evaluate import evaluate_folder
"""

from extractor import config as _config

_config.apply_offline_defaults()

__version__ = "0.1.0"
