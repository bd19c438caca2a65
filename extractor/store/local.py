"""Opening a local store's Chroma folder: the usual client, a private snapshot for a
store we cannot write (Chroma writes to its SQLite file even to read), the
check that tells the two apart, and the free-space check before a write."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from extractor.core.errors import StoreError
from extractor.store.docmeta import DOCUMENTS_FILE
from extractor.store.remote import readable

# Chroma's SQLite writer blocks for good (the call never returns) when the disk fills under it, so a
# local write is refused up front when the store's disk has less free than this plus the write's size.
MIN_FREE_BYTES = 32 * 1024 * 1024  # SQLite's journal and WAL, an HNSW segment file, documents.sqlite
WRITE_OVERHEAD = 4  # bytes on disk allowed per byte of vectors and text (index, metadata, journal): generous


def ensure_space(path: Path, chunks: int, dim: int, text_chars: int) -> None:
    """Refuse a write the disk holding ``path`` has no room for (StoreError with the disk-full
    message), instead of letting Chroma's writer block forever on a full disk."""
    try:
        st = os.statvfs(path)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    needed = MIN_FREE_BYTES + WRITE_OVERHEAD * (chunks * dim * 4 + text_chars * 3)
    if free < needed:
        raise StoreError(f"writing the store failed: the disk holding it is full ({free / 1024 / 1024:.1f} MB free "
                         f"at {path}, a write needs about {needed / 1024 / 1024:.0f} MB); free space, then run "
                         "the same command again")


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
