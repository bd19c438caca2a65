"""Broken and hostile PDFs through the real CLI: nothing crashes, every file accounted for.

The corpus comes from ``tests/badfiles.py``. Each bad file must end with a
specific one-line error (summary table + the record's ``errors``), every
good file must complete, and no traceback reaches the user unless ``--debug``.
Also the bounded reader itself (``extractor.read.guard``): time and memory limits,
worker replacement, reuse.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from extractor.read.errors import PdfError
from extractor.read.guard import GuardedReader, worker_pids
from tests.badfiles import Case, make_corpus
from tests.conftest import run_cli

# OCR off (TENDERX_OCR=0): these files test the parser's bounds; OCR under bounds is in test_ocr.py
BOUNDS = {"TENDERX_PDF_TIMEOUT": "5", "TENDERX_PDF_MEMORY_MB": "512", "COLUMNS": "500", "TENDERX_OCR": "0"}
MESSAGE_BY_KIND = {"timeout": "gave up after 5s", "memory": "memory", "unreadable": "inside pypdf"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    root = tmp_path_factory.mktemp("bad") / "corpus"
    return root, make_corpus(root)


def _lines(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


def _line_with(text: str, needle: str) -> str:
    hits = [ln for ln in text.splitlines() if needle in ln]
    assert hits, f"{needle!r} not in output:\n{text}"
    return hits[0]


def test_corpus_has_every_kind(corpus: tuple[Path, list[Case]]) -> None:
    root, cases = corpus
    kinds = {k for c in cases for k in c.expect}
    assert {"empty", "not_pdf", "html_not_pdf", "truncated", "corrupt", "encrypted", "needs_ocr",
            "timeout", "unreadable", "missing", "ok"} <= kinds
    assert len([c for c in cases if not c.ok]) >= 10 and len(cases) >= 16
    assert (root / "loop" / "back-to-top").is_symlink() and (root / "dangling-link.pdf").is_symlink()


def test_extract_rules_on_bad_corpus(corpus: tuple[Path, list[Case]], tmp_path: Path) -> None:
    root, cases = corpus
    out = tmp_path / "out" / "records.jsonl"
    res = run_cli("extract", str(root), "--backend", "rules", "-o", str(out), "-j", "2",
                  "--store", str(tmp_path / "store"), env=BOUNDS, timeout=240)
    both = res.stdout + res.stderr
    assert res.returncode == 1, both
    assert "Traceback" not in both

    records = _lines(out)
    by_file = {Path(r["file"]).relative_to(root).as_posix(): r for r in records}
    assert len(by_file) == len(records) == len(cases), sorted(by_file)  # each file once, loop walked once
    for case in cases:
        rec = by_file[case.name]
        errors = rec["errors"]
        if case.ok:
            assert errors == [], (case.name, errors)
            continue
        assert len(errors) == 1, (case.name, errors)
        kind, _, message = errors[0].partition(": ")
        assert kind in case.expect, (case.name, errors)
        assert case.message.lower() in message.lower(), (case.name, errors)
        if kind in MESSAGE_BY_KIND:
            assert MESSAGE_BY_KIND[kind] in message, (case.name, errors)
        assert "\n" not in errors[0]
        # the summary names the file and its specific reason on one line
        line = _line_with(res.stdout, case.name.split("/")[-1])
        assert errors[0] in line, (line, errors[0])

    # good notices (and the recoverable / awkward ones) really were extracted, with evidence
    assert by_file["good-award-gpu.pdf"]["fields"]["buyer"]["value"] == "西江大学"
    assert by_file["good-award-gpu.pdf"]["fields"]["buyer"]["verified"] is True
    for name in ("broken-xref.pdf", "thousand-pages.pdf"):
        assert by_file[name]["fields"]["buyer"]["value"] == "西江大学", name
    assert by_file["encrypted-empty-password.pdf"]["fields"]["buyer"]["value"] == "加密测试大学"
    hostile = next(c.name for c in cases if '"' in c.name)
    assert by_file[hostile]["fields"]["buyer"]["value"] == "北岭市第一中学"
    assert "needs_ocr" in by_file["scanned-image-only.pdf"]["flags"]


def test_ingest_on_bad_corpus(corpus: tuple[Path, list[Case]], tmp_path: Path) -> None:
    from extractor.store.store import Store

    root, cases = corpus
    store = tmp_path / "store"
    res = run_cli("ingest", str(root), "--store", str(store), env=BOUNDS, timeout=300)
    both = res.stdout + res.stderr
    assert res.returncode == 1, both
    assert "Traceback" not in both
    for case in cases:
        if case.ok or case.expect == ("needs_ocr",):
            continue
        line = _line_with(res.stdout, case.name)
        assert any(f" {k} " in line for k in case.expect), line
        if case.message:
            assert case.message.lower() in line.lower(), line
    assert "needs OCR" in _line_with(res.stdout, "scanned-image-only.pdf")
    stored = {Path(d.path).name for d in Store(store).documents()}
    expected = {Path(c.name).name for c in cases if c.ok}  # a scan read without OCR is not stored empty
    assert stored == expected


def test_debug_shows_the_traceback_only_when_asked(corpus: tuple[Path, list[Case]], tmp_path: Path) -> None:
    root, _ = corpus
    bad = str(root / "pypdf-raises.pdf")
    quiet = run_cli("extract", bad, "--backend", "rules", "-o", str(tmp_path / "q.jsonl"), env=BOUNDS)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stdout + quiet.stderr
    loud = run_cli("--debug", "extract", bad, "--backend", "rules", "-o", str(tmp_path / "d.jsonl"), env=BOUNDS)
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr and "NotImplementedError" in loud.stderr


def test_unexpected_error_is_one_line_exit_3(corpus: tuple[Path, list[Case]], tmp_path: Path) -> None:
    root, _ = corpus
    out_is_a_folder = tmp_path / "records.jsonl"
    out_is_a_folder.mkdir()
    args = ("extract", str(root / "good-award-gpu.pdf"), "--backend", "rules", "-o", str(out_is_a_folder))
    res = run_cli(*args, env=BOUNDS)
    assert res.returncode == 3
    assert "Traceback" not in res.stdout + res.stderr
    line = _line_with(res.stderr, "fatal:")
    assert "IsADirectoryError" in line and "--debug" in line
    loud = run_cli("--debug", *args, env=BOUNDS)
    assert loud.returncode == 3 and "Traceback" in loud.stderr


# --- the bounded reader itself ------------------------------------------------------------------

def test_guard_timeout_kills_and_replaces_the_worker(corpus: tuple[Path, list[Case]]) -> None:
    root, _ = corpus
    with GuardedReader(workers=1, timeout=2, max_memory_mb=512) as reader:
        assert len(reader.read(root / "good-award-gpu.pdf").pages) == 1
        before = worker_pids(reader)
        with pytest.raises(PdfError) as err:
            reader.read(root / "enormous-content-stream.pdf")
        assert err.value.kind == "timeout" and "gave up after 2s" in str(err.value)
        assert reader.replaced == 1
        doc = reader.read(root / "good-tender-switches.pdf")  # the batch goes on
        assert "北岭市第一中学" in doc.text
        after = worker_pids(reader)
        assert before and after and not set(before) & set(after)
        for pid in before:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


def test_guard_memory_limit(corpus: tuple[Path, list[Case]]) -> None:
    root, _ = corpus
    with GuardedReader(workers=1, timeout=60, max_memory_mb=64) as reader:
        with pytest.raises(PdfError) as err:
            reader.read(root / "enormous-content-stream.pdf")
        assert err.value.kind == "memory" and "64 MB" in str(err.value)
        assert reader.read(root / "good-award-gpu.pdf").pages[0].text


def test_guard_worker_death_costs_one_file(corpus: tuple[Path, list[Case]]) -> None:
    """A worker that dies mid-file (segfault, OOM killer) → a PdfError for that file; the next works."""
    root, _ = corpus
    with GuardedReader(workers=1, timeout=60, max_memory_mb=1024) as reader:
        reader.read(root / "good-award-gpu.pdf")
        (pid,) = worker_pids(reader)

        def kill_soon() -> None:
            time.sleep(0.5)
            os.kill(pid, signal.SIGSEGV)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        with pytest.raises(PdfError) as err:
            reader.read(root / "enormous-content-stream.pdf")
        killer.join()
        assert err.value.kind == "unreadable" and "SIGSEGV" in str(err.value)
        assert reader.read(root / "good-tender-switches.pdf").pages[0].text
        assert worker_pids(reader) != [pid]


def test_guard_reuses_workers_and_is_thread_safe(corpus: tuple[Path, list[Case]]) -> None:
    root, _ = corpus
    files = [root / "good-award-gpu.pdf", root / "good-tender-switches.pdf", root / "zero-byte.pdf",
             root / "pypdf-raises.pdf"] * 5
    results: list[str] = []
    lock = threading.Lock()
    with GuardedReader(workers=2, timeout=30) as reader:

        def work(chunk: list[Path]) -> None:
            for f in chunk:
                try:
                    outcome = f"ok:{len(reader.read(f).pages)}"
                except PdfError as e:
                    outcome = e.kind
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=work, args=(files[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pids = worker_pids(reader)
        assert len(pids) <= 2 and reader.replaced == 0  # no new process per file
    assert sorted(results) == sorted(["ok:1"] * 10 + ["empty"] * 5 + ["unreadable"] * 5)
    time.sleep(0.2)
    for pid in pids:  # closed: workers gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_guard_too_large(tmp_path: Path, corpus: tuple[Path, list[Case]]) -> None:
    root, _ = corpus
    with GuardedReader(workers=1, max_file_mb=0.05) as reader:
        with pytest.raises(PdfError) as err:
            reader.read(root / "thousand-pages.pdf")
        assert err.value.kind == "too_large"


def test_badfiles_script_writes_the_corpus(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    res = subprocess.run([sys.executable, "-m", "tests.badfiles", str(tmp_path / "c")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    names = [line.split("\t")[0] for line in res.stdout.splitlines()]
    assert "pypdf-raises.pdf" in names and all((tmp_path / "c" / n).is_symlink() or (tmp_path / "c" / n).exists()
                                               for n in names)
