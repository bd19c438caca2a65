"""The rooms of issue 21: embed / store / search / pipeline.ingest, old paths kept one release, the
public API unchanged, and the backend and embedder registries open to outside engines."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("old", "name", "new"), [
    ("extractor.index.embeddings", "Embedder", "extractor.embed.base"),
    ("extractor.index.embeddings", "get_embedder", "extractor.embed.registry"),
    ("extractor.index.langchain", "TenderxRetriever", "extractor.search.langchain"),
    ("extractor.index.store", "Store", "extractor.store.store"),
    ("extractor.index.search", "run_search", "extractor.search.hybrid"),
    ("extractor.index.ingest", "ingest", "extractor.pipeline.ingest"),
])
def test_old_import_paths_still_work_and_warn(old: str, name: str, new: str) -> None:
    code = (f"import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            f"try:\n    from {old} import {name}\nexcept DeprecationWarning as w:\n    print('WARNED', w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "WARNED" in out.stdout and new.split(".")[1] in out.stdout, out.stdout + out.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old_obj = getattr(importlib.import_module(old), name)
    assert old_obj is getattr(importlib.import_module(new), name)


def test_public_search_stays_callable_after_the_search_package_loads(tmp_path: Path) -> None:
    """`extractor.search` is a package now; `from extractor import search` must still be the call."""
    code = ("import extractor.search.hybrid\nfrom extractor import search\n"
            f"from extractor import Store\nprint(search(Store({str(tmp_path / 's')!r}), 'A100', k=3))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


class _Constant:
    """An outside embedder: every text the same unit vector."""

    name = "test/constant"
    dim = 4

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.tile(np.array([1, 0, 0, 0], dtype=np.float32), (len(texts), 1))

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([1, 0, 0, 0], dtype=np.float32)


def test_an_embedder_registers_by_name() -> None:
    from extractor.core.config import EmbeddingSettings
    from extractor.core.errors import EmbeddingError
    from extractor.embed.base import Embedder
    from extractor.embed.registry import embedder_names, get_embedder, register_embedder

    register_embedder("constant", lambda settings: _Constant())
    got = get_embedder(EmbeddingSettings(engine="constant"))
    assert isinstance(got, Embedder) and got.name == "test/constant"
    assert "constant" in embedder_names() and embedder_names()[0] == "auto"
    with pytest.raises(EmbeddingError, match="unknown embedding engine"):
        get_embedder(EmbeddingSettings(engine="no-such-engine"))


def test_backends_registered_without_a_lazy_back_import() -> None:
    from extractor.backends.registry import available_backends, get_backend

    assert available_backends()[:4] == ["auto", "rules", "llm", "hybrid"]
    assert get_backend("rules").name == "rules"
