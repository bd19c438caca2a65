"""The on-disk OCR page cache: a scan is OCR'd once across separate commands (ingest, then another
ingest or extract), the text is the same, a corrupt entry is ignored and rewritten, other settings
miss; and the OCR worker count is bounded by cores and memory. Real CLI runs on a shipped scan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from extractor.read.ocr import OcrSettings, ocr_workers
from extractor.read.ocr_cache import PageCache
from tests.conftest import SAMPLES, run_cli

SCAN = SAMPLES / "scanned-notice-image-only.pdf"


def test_page_cache_round_trip_corruption_and_settings(tmp_path: Path) -> None:
    cache = PageCache(tmp_path, "ab" * 32, OcrSettings().fingerprint())
    assert cache.get(1) is None
    cache.put(1, "采购人：东湖区\t38600", 0.93)
    again = PageCache(tmp_path, "ab" * 32, OcrSettings().fingerprint())
    hit = again.get(1)
    assert hit is not None and hit.text == "采购人：东湖区\t38600" and hit.confidence == 0.93 and again.hits == 1
    # other settings (another detector input) never see this entry
    assert PageCache(tmp_path, "ab" * 32, OcrSettings(det_side=0).fingerprint()).get(1) is None
    [entry] = list(tmp_path.rglob("*.json"))
    assert not list(tmp_path.rglob(".tmp-*"))  # written atomically: no temporary file left behind
    entry.write_text('{"text": "half an ent', encoding="utf-8")
    assert again.get(1) is None  # corrupt: ignored
    again.put(1, "rewritten", 0.5)
    hit = again.get(1)
    assert hit is not None and hit.text == "rewritten"


def test_ocr_workers_never_exceed_cores() -> None:
    import os

    assert 1 <= ocr_workers(64) <= (os.cpu_count() or 1)
    assert ocr_workers(1) == 1


def _ocr_line(stdout: str) -> str:
    return next((line for line in stdout.splitlines() if line.startswith("OCR:")), "")


@pytest.mark.slow
def test_a_scan_is_ocrd_once_across_commands(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SCAN, folder / "scan.pdf")
    env = {"TENDERX_CACHE_DIR": str(tmp_path / "cache"), "TENDERX_OCR_CACHE": "1"}

    first = run_cli("ingest", str(folder), "--store", str(tmp_path / "s1"), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "OCR: 1 page(s)" in _ocr_line(first.stdout) and "cache" not in _ocr_line(first.stdout)
    [entry] = list((tmp_path / "cache" / "ocr").rglob("*.json"))
    text = json.loads(entry.read_text(encoding="utf-8"))["text"]
    assert "东湖区人民政府办公室" in text

    second = run_cli("ingest", str(folder), "--store", str(tmp_path / "s2"), env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 from the OCR cache" in _ocr_line(second.stdout)

    # the same text in both stores: the first OCR'd it, the second took it from the cache
    hits = [run_cli("search", "南昌市文兴办公用品", "--store", str(tmp_path / s), "--json", "--mode", "lexical")
            for s in ("s1", "s2")]
    assert all(h.returncode == 0 for h in hits), [h.stderr for h in hits]
    assert json.loads(hits[0].stdout)[0]["text"] == json.loads(hits[1].stdout)[0]["text"]

    # extract reads the page from the cache too: an entry changed by hand shows in its record
    entry.write_text(entry.read_text(encoding="utf-8").replace("东湖区人民政府办公室", "西湖区人民政府办公室"),
                     encoding="utf-8")
    out = tmp_path / "x.jsonl"
    extracted = run_cli("extract", str(folder), "--backend", "rules", "-o", str(out), env=env)
    assert extracted.returncode == 0, extracted.stdout + extracted.stderr
    rec = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert rec["fields"]["buyer"]["value"] == "西湖区人民政府办公室" and rec["fields"]["buyer"]["source"] == "ocr"

    entry.write_text("not json", encoding="utf-8")  # a damaged entry: OCR'd again and rewritten
    third = run_cli("ingest", str(folder), "--store", str(tmp_path / "s3"), env=env)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "cache" not in _ocr_line(third.stdout)
    assert json.loads(entry.read_text(encoding="utf-8"))["text"] == text
