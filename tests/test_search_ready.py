"""Search is ready when ingest ends: `tenderx ingest` leaves the store's search file built and
current (its manifest names the store's version), so the first search reads it instead of
rebuilding it; also after an ingest into a Chroma server store, in the writer's local folder.
Real CLI runs; embeddings from the local OpenAI-protocol test server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from openai_server import OpenAIServer
from pdf_factory import make_pdf

from extractor.search.lexical import INDEX_FILE
from tests.conftest import run_cli

PAGES = {
    "gpu.pdf": [["采购人：甲市大数据中心", "项目名称：智算中心GPU服务器采购", "英伟达 A100 服务器 8台"]],
    "desk.pdf": [["采购人：丙区教育局", "项目名称：课桌椅采购", "学生课桌椅 500套"]],
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for name, pages in PAGES.items():
        make_pdf(folder / name, pages)
    return folder


def _manifest_version(store: Path) -> int:
    with np.load(store / INDEX_FILE, allow_pickle=False) as npz:
        return int(json.loads(npz["manifest"].tobytes().decode("utf-8"))["version"])


def _store_version(store: Path, env: dict[str, str]) -> int:
    from extractor.store.remote import ChromaServer
    from extractor.store.store import Store

    url = env.get("TENDERX_CHROMA_URL")
    server = ChromaServer(url, None, env["TENDERX_CHROMA_DATABASE"]) if url else None
    return Store(store, server=server).version


def _ingested_then_searched(corpus: Path, store: Path, env: dict[str, str]) -> None:
    res = run_cli("ingest", str(corpus), "--store", str(store), env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    index = store / INDEX_FILE
    assert index.exists(), "ingest ended without the search file"
    assert _manifest_version(store) == _store_version(store, env)  # current: no rebuild needed
    built = index.stat().st_mtime_ns
    found = run_cli("search", "英伟达 A100", "--store", str(store), "--mode", "lexical", "--json", env=env)
    assert found.returncode == 0, found.stderr
    assert Path(json.loads(found.stdout)[0]["file"]).name == "gpu.pdf"
    assert index.stat().st_mtime_ns == built  # the first search read the file, it did not rebuild it
    again = run_cli("ingest", str(corpus), "--store", str(store), env=env)  # nothing new: file left alone
    assert again.returncode == 0 and index.stat().st_mtime_ns == built


def test_ingest_leaves_a_current_search_file(corpus: Path, tmp_path: Path) -> None:
    with OpenAIServer() as embed:
        env = {"TENDERX_EMBED_BASE_URL": embed.url, "TENDERX_EMBED_MODEL": "emb-test", "OPENAI_API_KEY": ""}
        _ingested_then_searched(corpus, tmp_path / "store", env)


@pytest.mark.server
def test_server_store_ingest_leaves_a_current_search_file(chroma_server: str, corpus: Path,
                                                          tmp_path: Path) -> None:
    with OpenAIServer() as embed:
        env = {"TENDERX_CHROMA_URL": chroma_server, "TENDERX_CHROMA_DATABASE": f"t{uuid.uuid4().hex[:8]}",
               "TENDERX_EMBED_BASE_URL": embed.url, "TENDERX_EMBED_MODEL": "emb-test", "OPENAI_API_KEY": ""}
        _ingested_then_searched(corpus, tmp_path / "machine-a", env)


def test_the_first_search_on_a_new_machine_builds_nothing_after_ingest(corpus: Path, tmp_path: Path) -> None:
    """A machine's first ingest also leaves what a query's analysis caches (the CC-CEDICT index, ~2 s to
    build, and the data files' JSON copies), so the first search after it writes nothing to the cache
    folder: it costs what later searches cost."""
    cache = tmp_path / "cache"

    def files() -> dict[str, int]:
        return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}

    with OpenAIServer() as embed:
        env = {"TENDERX_EMBED_BASE_URL": embed.url, "TENDERX_EMBED_MODEL": "emb-test", "OPENAI_API_KEY": "",
               "TENDERX_CACHE_DIR": str(cache)}
        res = run_cli("ingest", str(corpus), "--store", str(tmp_path / "store"), env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        after_ingest = files()
        assert any("lexicon" in name or "cedict" in name for name in after_ingest), after_ingest
        assert any(name.startswith("data") and "glossary" in name for name in after_ingest), after_ingest
        for query in ("diesel generator for a school", "英伟达 A100"):
            found = run_cli("search", query, "--store", str(tmp_path / "store"), "--json", "--all", env=env)
            assert found.returncode == 0, found.stderr
        assert files() == after_ingest
