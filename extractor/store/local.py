"""Opening a local store's Chroma folder: the usual client, a private snapshot for a
store we cannot write (Chroma writes to its SQLite file even to read), and the
check that tells the two apart."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from extractor.core.errors import StoreError
from extractor.store.docmeta import DOCUMENTS_FILE
from extractor.store.remote import readable


def persistent_client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    try:
        return chromadb.PersistentClient(path=str(path / "chroma"), settings=Settings(anonymized_telemetry=False))
    except Exception as exc:  # noqa: BLE001 — chromadb raises its own errors, RuntimeError, OSError ...
        raise StoreError(f"cannot open the vectors in {path / 'chroma'}: {readable(exc)}; if it is damaged, "
                         f"move it aside and run `tenderx store check --repair --store {path}`") from None


def read_only_client(path: Path) -> Any:
    """Chroma writes to its SQLite file even to read, so a store we cannot write is
    searched from a private snapshot of chroma/ (removed when the process exits)."""
    import atexit
    import shutil
    import tempfile

    snapshot = Path(tempfile.mkdtemp(prefix="tenderx-ro-"))
    atexit.register(shutil.rmtree, snapshot, True)
    if (path / "chroma").exists():
        shutil.copytree(path / "chroma", snapshot / "chroma")
    return persistent_client(snapshot)


def writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK) and all(
        os.access(p, os.W_OK) for p in (folder / DOCUMENTS_FILE, folder / "chroma") if p.exists())
