"""The benchmark harness works end to end: `python -m benchmarks.run --quick` in a
subprocess fills every row of its table; the corpus generator makes distinct
documents that keep the samples' layout and model names. No timing asserts."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.generate import generate_corpus, vary_lines
from tests.conftest import ROOT

SECTIONS = ("1 PDF text", "2 Embeddings", "3 Ingest", "4 Search", "5 Rules", "6 LLM", "7 Memory", "8 Formats", "9 OCR")


def _table_rows(markdown: str) -> list[list[str]]:
    section = markdown.split("## Results", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("| ") and not ln.startswith("| benchmark")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]


def test_quick_run_writes_a_complete_table(tmp_path: Path) -> None:
    results = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    if "TENDERX_CACHE_DIR" in os.environ:
        env["TENDERX_CACHE_DIR"] = os.environ["TENDERX_CACHE_DIR"]
    env["COLUMNS"] = "200"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--results", str(results)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = results.read_text(encoding="utf-8")
    assert "QUICK MODE" in text
    assert re.search(r"cpus \(nproc\): \d+", text) and "chromadb" in text and "pypdfium2" in text
    rows = _table_rows(text)
    assert {r[0] for r in rows} == set(SECTIONS)
    for bench, measure, value, _compare, target, status in rows:
        assert value and value not in ("nan", "n/a"), f"empty value: {bench} / {measure}"
        if target:
            assert status.strip("*") in ("reached", "NOT reached"), f"no status for target row {measure}"
    measures = " ".join(r[1] for r in rows)
    for must in ("pypdfium2", "FastE5", "ingest()", "hybrid @", "recall@5", "concurrency 64", "retrieval-targeted",
                 "EXTRAPOLATED", "seconds per page", "character error rate"):
        assert must in measures, must
    # the printed rich table carries the same rows
    assert "tenderx benchmarks" in proc.stdout and "recall@5" in proc.stdout


def test_generated_documents_differ_but_keep_model_names(tmp_path: Path) -> None:
    corpus = generate_corpus("notices", 3, seed=7, out_dir=tmp_path, workers=1)
    assert len(corpus.files) == 3 and all(p > 0 for p in corpus.pages)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus.files}
    assert len(digests) == 3
    for pdf, origin in zip(corpus.files, corpus.origins, strict=True):
        original = (ROOT / "samples" / "src" / f"{origin}.txt").read_text(encoding="utf-8")
        varied = corpus.source_text_path(pdf).read_text(encoding="utf-8")
        assert varied != original
    lines = ["供应商名称：成都锐算信息技术有限公司", "成交金额：¥5,436,000.00，含 NVIDIA A100 与 RTX 4090、EPYC 7763",
             "|名称|金额|", "|甲|100,000|", "|乙|200,000|", "[[toc 第一章 投标邀请|3]]"]
    import random

    out = vary_lines(lines, random.Random(1))
    assert "A100" in out[1] and "RTX 4090" in out[1] and "EPYC 7763" in out[1]
    assert "成都锐算" not in out[0] and out[0].endswith("锐算信息技术有限公司")
    assert out[2] == "|名称|金额|" and sorted(out[3:5]) != sorted(lines[3:5])  # amounts varied
    assert out[5] == lines[5]  # markup untouched
