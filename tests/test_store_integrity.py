"""Issue 10, store integrity, through the CLI as a user meets it: a deleted chroma/
folder, a zeroed or corrupt documents.sqlite, a full disk, a read-only store, and
`tenderx store check [--repair]`. Embeddings come from the local OpenAI-protocol
test server (fast); the store is a real embedded Chroma."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import OpenAIServer
from pdf_factory import make_pdf

from tests.conftest import ROOT, run_cli

TEXTS = {
    "a.pdf": ["采购人：甲市大数据中心", "英伟达 A100 服务器 8台"],
    "b.pdf": ["采购单位：乙大学", "亚马逊云服务 AWS 一年"],
    "c.pdf": ["采购人：丙市档案馆", "昇腾 910B 推理服务器"],
    "d.pdf": ["采购人：丁区教育局", "寒武纪 思元590 加速卡"],
}


@pytest.fixture(scope="module")
def embed_env():
    with OpenAIServer() as server:
        yield {"TENDERX_EMBED_BASE_URL": server.url, "TENDERX_EMBED_MODEL": "emb-test"}


def _pdf(folder: Path, name: str) -> Path:
    return make_pdf(folder / name, [TEXTS[name]])


def _ingest(store: Path, env: dict[str, str], *files: Path) -> subprocess.CompletedProcess:
    res = run_cli("ingest", *map(str, files), "--store", str(store), env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def _lexical(store: Path, env: dict[str, str], query: str) -> list[str]:
    res = run_cli("search", query, "--store", str(store), "--mode", "lexical", "--json", "--all", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return [Path(h["file"]).name for h in json.loads(res.stdout)]


def test_deleted_chroma_folder_is_reingested_not_left_unchanged(embed_env, tmp_path):
    from extractor.store.store import Store

    files = [_pdf(tmp_path / "in", n) for n in ("a.pdf", "b.pdf")]
    store = tmp_path / "store"
    _ingest(store, embed_env, *files)
    shutil.rmtree(store / "chroma")
    again = _ingest(store, embed_env, *files)
    assert "repaired" in again.stdout and "chunks were missing" in again.stdout
    opened = Store(store)
    assert opened.count() == sum(d.chunks for d in opened.documents()) >= 2
    assert _lexical(store, embed_env, "A100")[:1] == ["a.pdf"]
    third = _ingest(store, embed_env, *files)  # whole again: now really unchanged
    assert "repaired" not in third.stdout


def test_zeroed_documents_table_does_not_reuse_a_cached_version(embed_env, tmp_path):
    folder, store = tmp_path / "in", tmp_path / "store"
    _ingest(store, embed_env, _pdf(folder, "a.pdf"))
    _ingest(store, embed_env, _pdf(folder, "b.pdf"))
    assert _lexical(store, embed_env, "AWS")[:1] == ["b.pdf"]  # the lexical cache is built now
    (store / "documents.sqlite").write_bytes(b"")  # zeroed: an empty file is an empty database
    _ingest(store, embed_env, _pdf(folder, "c.pdf"), _pdf(folder, "d.pdf"))  # as many writes as before
    assert _lexical(store, embed_env, "910B")[:1] == ["c.pdf"]
    assert _lexical(store, embed_env, "思元590")[:1] == ["d.pdf"]


def test_corrupt_documents_table_names_the_file_and_store_check_repairs_it(embed_env, tmp_path):
    folder, store = tmp_path / "in", tmp_path / "store"
    _ingest(store, embed_env, _pdf(folder, "a.pdf"), _pdf(folder, "b.pdf"))
    db = store / "documents.sqlite"
    db.write_bytes(b"\x00garbage, not sqlite" * 300)
    res = run_cli("search", "A100", "--store", str(store), env=embed_env)
    assert res.returncode == 3 and "Traceback" not in res.stdout + res.stderr
    said = " ".join(res.stderr.split())
    assert str(db) in said and "tenderx store check --repair" in said
    check = run_cli("store", "check", "--store", str(store), env=embed_env)
    assert check.returncode == 1 and "corrupt" in check.stdout, check.stdout + check.stderr
    repair = run_cli("store", "check", "--repair", "--store", str(store), env=embed_env)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "rebuilt 2 document row(s)" in repair.stdout and list(store.glob("documents.sqlite.corrupt-*"))
    assert _lexical(store, embed_env, "A100")[:1] == ["a.pdf"]
    clean = run_cli("store", "check", "--store", str(store), env=embed_env)
    assert clean.returncode == 0 and "consistent" in clean.stdout, clean.stdout


def test_store_check_finds_and_repairs_rows_without_chunks_and_chunks_without_rows(embed_env, tmp_path):
    from extractor.store.store import Store

    folder, store = tmp_path / "in", tmp_path / "store"
    a, b = _pdf(folder, "a.pdf"), _pdf(folder, "b.pdf")
    _ingest(store, embed_env, a, b)
    opened = Store(store)
    doc_a = opened.document_for_path(a)
    doc_b = opened.document_for_path(b)
    opened._existing_collection().delete(where={"file": doc_a.path})  # a's chunks lost
    opened._docs.delete_path(doc_b.path)  # b's row lost
    opened._docs.commit()
    opened.close()
    check = run_cli("store", "check", "--store", str(store), env=embed_env)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "missing chunks" in check.stdout and "a.pdf" in check.stdout and "orphan chunks" in check.stdout
    repair = run_cli("store", "check", "--repair", "--reingest", str(folder), "--store", str(store), env=embed_env)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert run_cli("store", "check", "--store", str(store), env=embed_env).returncode == 0
    assert _lexical(store, embed_env, "A100")[:1] == ["a.pdf"] and _lexical(store, embed_env, "AWS")[:1] == ["b.pdf"]


def _in_mount_namespace(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a shell script as root in a private mount namespace (mounts vanish with it)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m not permitted here: {probe.stderr.decode(errors='replace').strip()}")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    full.update(env, COLUMNS="200")
    return subprocess.run(["unshare", "-m", "sh", "-ec", script], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=300)


def test_a_full_disk_is_a_readable_message(embed_env, tmp_path):
    """A real full disk: the store is copied onto a small tmpfs that the next ingest overflows."""
    folder, store = tmp_path / "in", tmp_path / "store"
    _ingest(store, embed_env, _pdf(folder, "a.pdf"))
    big = make_pdf(folder / "big.pdf", [[f"第{i}行 服务器 采购 预算 {i * 7919} " * 6 for i in range(40)]] * 30)
    used = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    small = tmp_path / "small"
    small.mkdir()
    res = _in_mount_namespace(
        f"mount -t tmpfs -o size={used + 96 * 1024} tmpfs {small}\n"
        f"cp -a {store} {small}/store\n"
        f"exec {sys.executable} -m extractor ingest {big} --store {small}/store\n", embed_env)
    both = res.stdout + res.stderr
    assert res.returncode in (1, 3), both
    assert "bound method" not in both and "Traceback" not in both
    assert "the disk holding it is full" in " ".join(both.split()), both
    again = run_cli("ingest", str(big), "--store", str(store), env=embed_env)  # space enough: the file goes in
    assert again.returncode == 0, again.stdout + again.stderr
    assert _lexical(store, embed_env, "第39行")[:1] == ["big.pdf"]


def test_a_read_only_store_still_searches(embed_env, tmp_path):
    folder, store = tmp_path / "in", tmp_path / "store"
    _ingest(store, embed_env, _pdf(folder, "a.pdf"))
    assert _lexical(store, embed_env, "A100")[:1] == ["a.pdf"]  # leaves the lexical cache current
    (store / ".open.lock").unlink()
    res = _in_mount_namespace(
        f"mount --bind {store} {store}\nmount -o remount,bind,ro {store}\n"
        f"exec {sys.executable} -m extractor search A100 --store {store} --mode lexical --json\n", embed_env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert [Path(h["file"]).name for h in json.loads(res.stdout)][:1] == ["a.pdf"]
    assert not (store / ".open.lock").exists()


def test_store_check_on_a_missing_store_says_so_and_creates_nothing(tmp_path):
    for args in (("store", "check"), ("store", "check", "--repair")):
        missing = tmp_path / "no-store-here"
        res = run_cli(*args, "--store", str(missing))
        assert res.returncode == 2, res.stdout + res.stderr
        assert "no store at" in res.stderr and "consistent" not in res.stdout
        assert not missing.exists()
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    res = run_cli("store", "check", "--store", str(empty))
    assert res.returncode == 2 and "no store at" in res.stderr and list(empty.iterdir()) == []


def test_store_check_help_points_at_the_text_it_means():
    res = run_cli("store", "check", "--help")
    assert res.returncode == 0 and "see below" not in res.stdout and "described above" in res.stdout
