"""`kill -9` in the middle of `extract` and `ingest`, then the same command again.

The outputs must hold every document exactly once: none lost, none doubled,
no half-written line, and the store holds each document's chunks once. Two
`ingest` runs on one store: the second refuses clearly and the store stays whole.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply
from tests.pdf_factory import make_pdf

N_DOCS = 30
N_INGEST = 10  # embedding is the slow part: fewer, shorter notices for the ingest runs
MODEL = "test-model"


def _notice(i: int) -> list[str]:
    return [
        f"第{i}号实验室计算设备采购项目成交公告",
        f"项目名称：第{i}号实验室计算设备采购项目",
        f"项目编号：LAB-2024-{i:04d}",
        f"采购人：东岳理工大学第{i}实验室",
        f"成交供应商：东岳第{i}信息技术有限公司",
        f"成交金额：人民币{10 + i}万元",
        "采购内容：高性能计算服务器、存储阵列、万兆交换机及三年原厂维保服务",
        "技术要求：服务器配置双路处理器、512GB内存、8块国产加速卡，支持液冷与远程带外管理",
        f"公告日期：2024年6月{1 + i % 28}日",
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt") / "pdfs"
    root.mkdir()
    for i in range(N_DOCS):
        make_pdf(root / f"notice-{i:02d}.pdf", [_notice(i)])
    return root


@pytest.fixture(scope="module")
def ingest_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt") / "ingest"
    root.mkdir()
    for i in range(N_INGEST):
        make_pdf(root / f"short-{i:02d}.pdf", [_notice(i)[1:5]])
    return root


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "extractor", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(condition, proc: subprocess.Popen, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc={proc.returncode}) before it could be interrupted:\n{out!r}\n{err!r}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the run made no progress")
        time.sleep(0.02)


def _kill9(proc: subprocess.Popen) -> None:
    """SIGKILL the CLI and its PDF workers (one process group), as an OOM killer or a power cut would."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _complete_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b"\n")


def _answer(req: Recorded) -> Reply:
    """A schema-valid reply grounded in the requested document (buyer + supplier with quotes)."""
    from extractor.core.schema import load_schema

    schema = load_schema("tender")
    text = req.messages[-1]["content"]
    fields: dict = {}
    for f in schema.fields:
        empty = [] if f.type == "list" else None
        if not f.nullable and f.type != "list":
            empty = {"enum": (f.enum or [None])[0], "boolean": False}.get(f.type, "未知")
        fields[f.name] = {"value": empty, "page": None, "quote": None}
    for line in text.splitlines():
        if line.startswith("采购人："):
            fields["buyer"] = {"value": line.split("：", 1)[1], "page": 1, "quote": line}
        if line.startswith("成交供应商："):
            fields["suppliers"] = {"value": [line.split("：", 1)[1]], "page": 1, "quote": line}
    return chat_reply({"fields": fields}, delay=0.25, usage={"prompt_tokens": 50, "completion_tokens": 20})


def _assert_each_once(out: Path, folder: Path) -> list[dict]:
    raw = out.read_bytes()
    assert raw.endswith(b"\n"), "half-written last line"
    records = [json.loads(line) for line in raw.decode("utf-8").splitlines()]  # every line parses
    counts = Counter(Path(r["file"]).name for r in records)
    assert sorted(counts) == sorted(p.name for p in folder.glob("*.pdf")), "a document was lost"
    assert set(counts.values()) == {1}, f"duplicated: {[k for k, v in counts.items() if v > 1]}"
    return records


def test_kill9_during_llm_extract_then_rerun(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "records.jsonl"
    with OpenAIServer() as server:
        server.handler = _answer
        env = _env({"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test-interrupt", "TENDERX_MODEL": MODEL})
        args = ("extract", str(folder), "--backend", "llm", "-o", str(out), "-j", "2",
                "--store", str(tmp_path / "store"))
        proc = _start(*args, env=env)
        _wait_for(lambda: _complete_lines(out) >= 3, proc)
        _kill9(proc)
        done_before = _complete_lines(out)
        assert done_before < N_DOCS

        res = run_cli(*args, env={k: env[k] for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "TENDERX_MODEL")})
        assert res.returncode == 0, res.stdout + res.stderr
        assert "already extracted" in res.stdout
    records = _assert_each_once(out, folder)
    assert all(r["errors"] == [] for r in records)
    for r in records:
        i = int(Path(r["file"]).stem.split("-")[1])
        assert r["fields"]["buyer"]["value"] == f"东岳理工大学第{i}实验室"
        assert r["fields"]["buyer"]["verified"] is True


def test_kill9_during_rules_extract_then_rerun(folder: Path, tmp_path: Path) -> None:
    """The offline backend: the kill can land anywhere, even mid-line; the rerun mends it."""
    out = tmp_path / "records.jsonl"
    args = ("extract", str(folder), "--backend", "rules", "-o", str(out), "-j", "1", "--store", str(tmp_path / "s"))
    proc = _start(*args, env=_env())
    _wait_for(lambda: _complete_lines(out) >= 1, proc)
    _kill9(proc)
    res = run_cli(*args)
    assert res.returncode == 0, res.stdout + res.stderr
    records = _assert_each_once(out, folder)
    assert all(r["errors"] == [] and r["fields"]["buyer"]["value"] for r in records)


def _stored_paths(store: Path) -> int:
    db = store / "documents.sqlite"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return int(con.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _assert_store_whole(store_dir: Path, folder: Path) -> None:
    from extractor.store.store import Store

    store = Store(store_dir)
    docs = store.documents()
    assert sorted(Path(d.path).name for d in docs) == sorted(p.name for p in folder.glob("*.pdf"))
    all_ids: list[str] = []
    for d in docs:
        chunks = store.chunks_for(d.sha256, d.path)
        assert d.chunks >= 1 and len(chunks) == d.chunks, (d.path, d.chunks, len(chunks))
        all_ids += [c.id for c in chunks]
    assert len(all_ids) == len(set(all_ids)) == store.count()  # each chunk once, nothing left over
    store.close()


def test_kill9_during_ingest_then_rerun(ingest_folder: Path, tmp_path: Path) -> None:
    folder = ingest_folder
    store = tmp_path / "store"
    args = ("ingest", str(folder), "--store", str(store))
    proc = _start(*args, env=_env())
    _wait_for(lambda: _stored_paths(store) >= 2, proc)
    _kill9(proc)
    assert _stored_paths(store) < N_INGEST
    res = run_cli(*args)
    assert res.returncode == 0, res.stdout + res.stderr
    _assert_store_whole(store, folder)


def test_ingest_refuses_a_store_another_process_writes(ingest_folder: Path, tmp_path: Path) -> None:
    """Deterministic half: this test process holds the writer lock; the CLI must refuse, not wait or corrupt."""
    from extractor.store.store import Store

    store_dir = tmp_path / "store"
    holder = Store(store_dir)
    with holder.writing():
        res = run_cli("ingest", str(ingest_folder), "--store", str(store_dir))
    holder.close()
    assert res.returncode == 3, res.stdout + res.stderr
    both = res.stdout + res.stderr
    assert "being written by another tenderx process" in both and f"pid {os.getpid()}" in both
    assert "Traceback" not in both
    assert Store(store_dir).documents() == []  # the refused run wrote nothing


def test_two_ingests_on_one_store(ingest_folder: Path, tmp_path: Path) -> None:
    """Two real runs started together: one does the work, the other refuses clearly; the store is whole."""
    folder = ingest_folder
    store = tmp_path / "store"
    procs = [_start("ingest", str(folder), "--store", str(store), env=_env()) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, out.decode(), err.decode()))
    codes = sorted(r[0] for r in results)
    assert codes == [0, 3], results
    refused = next(r for r in results if r[0] == 3)
    assert "being written by another tenderx process" in refused[1] + refused[2]
    assert all("Traceback" not in r[1] + r[2] for r in results)
    _assert_store_whole(store, folder)
