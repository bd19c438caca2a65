"""--shard I/N: shares are disjoint, cover the corpus, depend on content only, and
merging N shard outputs equals the single-machine output (on the shipped samples)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from extractor.core.errors import UsageError
from extractor.store.shard import Shard, content_key, select
from tests.conftest import SAMPLES, run_cli


def test_parse_and_reject():
    assert Shard.parse("2/4") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"
    for bad in ("0/4", "5/4", "1/0", "a/b", "3", "-1/2"):
        with pytest.raises(UsageError):
            Shard.parse(bad)
    assert Shard(1, 3).output_path(Path("out/records.jsonl")) == Path("out/records.shard-1-of-3.jsonl")


def test_shares_partition_the_samples_by_content(tmp_path):
    pdfs = sorted(SAMPLES.glob("*.pdf"))
    shares = [select(pdfs, Shard(i, 3)) for i in (1, 2, 3)]
    assert sorted(p for s in shares for p in s) == pdfs  # every file in exactly one share
    assert all(shares)  # the hash spreads 30-odd files over 3 shares
    copy = tmp_path / "renamed-copy.pdf"
    shutil.copy(shares[1][0], copy)  # same content, other name and folder: same share
    assert select([copy], Shard(2, 3)) == [copy] and select([copy], Shard(1, 3)) == []
    assert content_key(tmp_path / "missing.pdf") == content_key(tmp_path / "missing.pdf")


def _records(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # duplicate_of links copies within one run's files; cases link again across all records (checked below)
    skip = ("seconds", "extracted_at", "timing", "duplicate_of", "duplicate_similarity")
    for r in rows:  # how many OCR'd pages came from the cache says which run OCR'd first, not what was read
        r.get("source", {}).pop("ocr_cached_pages", None)
    return {r["sha256"] + r["file"]: {k: v for k, v in r.items() if k not in skip} for r in rows}


def test_merged_shard_outputs_equal_the_single_run(extracted_samples, tmp_path):
    """The single run is the session's extraction of the samples (conftest), the shards run on its input."""
    single, corpus = extracted_samples / "out" / "records.jsonl", str(extracted_samples / "samples")
    merged: dict[str, dict] = {}
    for i in (1, 2):
        out = tmp_path / "shards" / "records.jsonl"
        res = run_cli("extract", corpus, "--backend", "rules", "-o", str(out), "--shard", f"{i}/2",
                      "--store", str(tmp_path / "st"))
        assert res.returncode == 0, res.stdout + res.stderr
        part = _records(tmp_path / "shards" / f"records.shard-{i}-of-2.jsonl")
        assert part and not (set(part) & set(merged))
        merged.update(part)
    assert merged == _records(single)
    assert not (tmp_path / "shards" / "records.jsonl").exists()
    # a scan in one shard and its original in the other are still one notice once the records are merged
    from extractor.cases.view import build_cases

    def load(paths: list[Path]) -> list[dict]:
        return [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

    def shape(cases: list[dict]) -> list[tuple]:
        return sorted(tuple(sorted((str(n["file"]), tuple(sorted(str(x["file"]) for x in n.get("copies", []))))
                                   for n in c["notices"])) for c in cases)

    shards = sorted((tmp_path / "shards").glob("records.shard-*-of-2.jsonl"))
    single_cases, merged_cases = build_cases(load([single])), build_cases(load(shards))
    assert any(n.get("copies") for c in single_cases for n in c["notices"])
    assert shape(merged_cases) == shape(single_cases)
    bad = run_cli("extract", "samples", "--shard", "3/2", "-o", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "between 1 and N" in " ".join(bad.stderr.split())
