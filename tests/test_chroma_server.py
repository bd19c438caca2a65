"""One store on a real Chroma server (`chroma run`, started by conftest): two working
folders see the same documents and results, two writers at once store each document
once, and a server that is down, refuses the token or speaks another API is one line
and exit 3. Embeddings come from the local OpenAI-protocol test server (fast)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from openai_server import OpenAIServer
from pdf_factory import make_pdf

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.server

NOTICES = {
    "gpu.pdf": [["采购人：甲市大数据中心", "项目名称：智算中心GPU服务器采购", "英伟达 A100 服务器 8台", "预算金额：3,200,000元"]],
    "cloud.pdf": [["采购单位：乙大学", "项目名称：云服务租用", "亚马逊云服务 AWS 一年", "预算金额：900,000元"]],
    "desk.pdf": [["采购人：丙区教育局", "项目名称：课桌椅采购", "学生课桌椅 500套", "预算金额：250,000元"],
                 ["第二页 交货地点：丙区各学校"]],
    "print.pdf": [["采购人：丁市档案馆", "项目名称：档案数字化加工", "扫描 古籍 数字化 服务", "预算金额：480,000元"]],
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for name, pages in NOTICES.items():
        make_pdf(folder / name, pages)
    return folder


@pytest.fixture()
def embed_server():
    with OpenAIServer(latency=0.05) as server:  # a little latency: two writers overlap
        yield server


def _env(chroma_server: str, embed: OpenAIServer, database: str, **extra: str) -> dict[str, str]:
    return {"TENDERX_CHROMA_URL": chroma_server, "TENDERX_CHROMA_DATABASE": database,
            "TENDERX_EMBED_BASE_URL": embed.url, "TENDERX_EMBED_MODEL": "emb-test", "OPENAI_API_KEY": "",
            **extra}


def _search(query: str, mode: str, folder: Path, env: dict[str, str]) -> list[dict]:
    res = run_cli("search", query, "--store", str(folder), "--mode", mode, "-k", "3", "--json", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def test_second_working_folder_sees_the_same_documents_and_results(chroma_server, embed_server, corpus, tmp_path):
    env = _env(chroma_server, embed_server, f"t{uuid.uuid4().hex[:8]}")
    first, second = tmp_path / "machine-a", tmp_path / "machine-b"
    res = run_cli("ingest", str(corpus), "--store", str(first), env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (first / "documents.sqlite").exists() and not (first / "chroma").exists()  # all on the server
    assert not second.exists()
    for mode in ("dense", "lexical", "hybrid"):
        a = _search("英伟达 A100 GPU服务器", mode, first, env)
        b = _search("英伟达 A100 GPU服务器", mode, second, env)
        assert a and a == b, mode
        if mode == "lexical":  # the test embedder's vectors are hash noise; BM25 is not
            assert Path(a[0]["file"]).name == "gpu.pdf"
    # a write made from machine A shows up in machine B's next lexical search (version moved on the server)
    make_pdf(corpus / "extra.pdf", [["采购人：戊市医院", "项目名称：昇腾 910B 推理服务器"]])
    assert run_cli("ingest", str(corpus), "--store", str(first), env=env).returncode == 0
    hits = _search("昇腾 910B", "lexical", second, env)
    assert hits and Path(hits[0]["file"]).name == "extra.pdf"
    again = run_cli("ingest", str(corpus), "--store", str(second), env=env)  # other folder: nothing to do
    assert again.returncode == 0 and "│     0 │        0 │         5 │" in again.stdout, again.stdout


def _start_ingest(corpus: Path, folder: Path, env: dict[str, str]) -> subprocess.Popen:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    full.update(env, COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "extractor", "ingest", str(corpus), "--store", str(folder)],
                            cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_writers_in_two_folders_store_each_document_once(chroma_server, embed_server, corpus, tmp_path):
    from extractor.store.remote import ChromaServer
    from extractor.store.store import Store

    database = f"t{uuid.uuid4().hex[:8]}"
    env = _env(chroma_server, embed_server, database)
    procs = [_start_ingest(corpus, tmp_path / f"w{i}", env) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out + err
        assert "Traceback" not in out + err
    store = Store(tmp_path / "reader", server=ChromaServer(chroma_server, database=database))
    docs = store.documents()
    assert sorted(Path(d.path).name for d in docs) == sorted(NOTICES)
    assert len({d.sha256 for d in docs}) == len(NOTICES)
    metas = store.chunk_metadata()
    assert len(metas) == sum(d.chunks for d in docs) == store.count()
    for d in docs:
        assert store.stored_chunk_count(d) == d.chunks >= 1
    # the embedding work was shared, not doubled: each text was embedded by one writer only
    embedded = [t for r in embed_server.requests if r.path.endswith("/embeddings")
                for t in (r.body["input"] if isinstance(r.body["input"], list) else [r.body["input"]])
                if t != "dimension probe"]
    assert len(embedded) == len(metas)


class _Stub(BaseHTTPRequestHandler):
    """A server that is not (this) Chroma, or a proxy that checks the token before forwarding."""

    upstream: str | None = None
    token: str | None = None
    v1_only = False

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        if self.v1_only:
            self._reply(200 if self.path.startswith("/api/v1/") else 404, b'{"nanosecond heartbeat": 1}')
            return
        if self.headers.get("X-Chroma-Token") != self.token:
            self._reply(401, b'{"error": "Unauthorized"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        req = Request(f"{self.upstream}{self.path}", data=body, method=self.command,
                      headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
        try:
            with urlopen(req, timeout=30) as r:
                self._reply(r.status, r.read())
        except Exception as e:  # noqa: BLE001 — pass the upstream's error status through
            self._reply(getattr(e, "code", 502), e.read() if hasattr(e, "read") else b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def _reply(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _serve(**attrs: object) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Handler", (_Stub,), attrs)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _one_line_fatal(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 3, res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("fatal:"), res.stderr
    return " ".join(res.stderr.split())


def test_down_refused_token_and_other_version_are_one_line_exit_3(chroma_server, embed_server, corpus, tmp_path):
    from tests.conftest import _free_port

    env = _env(chroma_server, embed_server, f"t{uuid.uuid4().hex[:8]}")
    down = f"http://127.0.0.1:{_free_port()}"
    for args in (("ingest", str(corpus)), ("search", "GPU"), ("extract", str(corpus), "-o", str(tmp_path / "o.jsonl"))):
        text = _one_line_fatal(run_cli("--chroma-url", down, *args, "--store", str(tmp_path / "s"), env=env))
        assert "not reachable" in text and down in text
    proxy, proxied = _serve(upstream=chroma_server, token="s3cret-token")
    old, old_url = _serve(v1_only=True)
    try:
        wrong = _one_line_fatal(run_cli("--chroma-url", proxied, "search", "GPU", "--store", str(tmp_path / "s"),
                                        env={**env, "TENDERX_CHROMA_TOKEN": "wrong-token"}))
        assert "refused the token" in wrong and "TENDERX_CHROMA_TOKEN" in wrong
        assert "wrong-token" not in wrong
        ok = run_cli("--chroma-url", proxied, "ingest", str(corpus / "gpu.pdf"), "--store", str(tmp_path / "s"),
                     env={**env, "TENDERX_CHROMA_TOKEN": "s3cret-token"})
        assert ok.returncode == 0, ok.stdout + ok.stderr  # the right token goes through the proxy
        older = _one_line_fatal(run_cli("--chroma-url", old_url, "ingest", str(corpus), "--store",
                                        str(tmp_path / "s"), env=env))
        assert "older Chroma (API v1" in older
    finally:
        proxy.shutdown()
        old.shutdown()
