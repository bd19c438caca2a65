"""Extraction quality on real documents with hand-written gold labels (``evals/real``).

Each ``evals/real/gold/NAME.gold.json`` names its document in ``source`` (a path inside the
shared corpus, which is not part of the repo) and its ``split`` (``dev``, ``heldout`` or ``fresh``). For a
split this builds a temporary gold folder (``NAME.<ext>`` symlinked to the corpus file, plus a copy
of the gold file), extracts with the project's pipeline, scores with the project's own scorer
(`extractor.evaluate.score`, the contract's rules) and adds two figures the scorer does not report:

- verified precision: among predicted non-null values whose evidence is marked ``verified``,
  the share equal to gold under the contract (a list counts as one value, equal as a set);
- high-confidence accuracy: the same share among values the engine marks ``confidence: high``.

Heldout and fresh labels are for scoring only: whoever tunes the rules reads ``dev`` labels, never ``heldout``
or ``fresh`` (24 Yichang notices labelled on 2026-12-07, after heldout had been scored).

    python -m benchmarks.pipeline.bench_real [--split dev|heldout|fresh|all] [--backend rules] [--json OUT]

The corpus is found via ``TENDERX_CORPUS_DIR`` or ``../shared/corpus`` beside the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GOLD_DIR = ROOT / "evals" / "real" / "gold"
SPLITS = ("dev", "heldout", "fresh")


def find_corpus() -> Path:
    """The shared corpus folder, or exit with a message saying where it was looked for."""
    env = os.environ.get("TENDERX_CORPUS_DIR")
    candidates = [Path(env)] if env else []
    # beside the repo; a git worktree under <x>/wt/<name> also looks beside <x>
    candidates += [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]
    for c in candidates:
        if (c / "MANIFEST.tsv").is_file() or c.is_dir() and any(c.glob("notices-*")):
            return c
    raise SystemExit("bench_real: the real-document corpus was not found (looked in: "
                     + ", ".join(str(c) for c in candidates)
                     + "). Set TENDERX_CORPUS_DIR to the folder holding notices-*/ and tender-packages/.")


def gold_files(split: str) -> list[tuple[Path, dict[str, Any]]]:
    """(path, parsed JSON) of every gold file in ``split`` (``all``: every split)."""
    out = []
    for p in sorted(GOLD_DIR.glob("*.gold.json")):
        data = json.loads(p.read_text(encoding="utf-8"))
        if split == "all" or data.get("split") == split:
            out.append((p, data))
    return out


def build_folder(files: list[tuple[Path, dict[str, Any]]], corpus: Path, dest: Path) -> None:
    """``dest/NAME.<ext>`` → the corpus document, ``dest/NAME.gold.json`` a copy of the gold file."""
    for path, data in files:
        src = corpus / data["source"]
        if not src.is_file():
            raise SystemExit(f"bench_real: {path.name}: source {src} is missing from the corpus")
        name = path.name[: -len(".gold.json")]
        (dest / f"{name}{src.suffix}").symlink_to(src.resolve())
        shutil.copyfile(path, dest / path.name)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def value_checks(gold: list[Any], records: list[dict[str, Any]], spec: Any) -> dict[str, Any]:
    """Verified precision and high-confidence accuracy over all labelled fields."""
    from extractor.evaluate import compare_value, match_records
    from extractor.evaluate.matching import is_null

    matched, _ = match_records(gold, records)
    counts = {"verified": 0, "verified_correct": 0, "high": 0, "high_correct": 0, "predicted": 0}
    for i, g in enumerate(gold):
        fields = (matched.get(i) or {}).get("fields") or {}
        for f in spec.fields:
            raw = fields.get(f.name)
            if f.name not in g.labels or not isinstance(raw, dict):
                continue
            pred = raw.get("value")
            if is_null(f, pred):
                continue
            ok = compare_value(f, g.labels[f.name], pred).correct
            counts["predicted"] += 1
            if raw.get("verified") is True:
                counts["verified"] += 1
                counts["verified_correct"] += int(ok)
            if raw.get("confidence") == "high":
                counts["high"] += 1
                counts["high_correct"] += int(ok)
    return {"verified_precision": _ratio(counts["verified_correct"], counts["verified"]),
            "high_confidence_accuracy": _ratio(counts["high_correct"], counts["high"]), **counts}


def run_split(split: str, corpus: Path, backend: str) -> dict[str, Any]:
    from extractor.evaluate import load_gold, schema_spec, score
    from extractor.pipeline.extract import extract_documents

    files = gold_files(split)
    if not files:
        raise SystemExit(f"bench_real: no gold files in split {split!r} under {GOLD_DIR}")
    tmp = Path(tempfile.mkdtemp(prefix=f"tenderx-real-{split}-"))
    try:
        docs_dir = tmp / "gold"
        docs_dir.mkdir()
        build_folder(files, corpus, docs_dir)
        spec = schema_spec()
        gold = load_gold(docs_dir, spec)
        report = extract_documents([g.pdf for g in gold], backend=backend, store_dir=tmp / "store", jobs=2)
        scores = score(gold, report.records, spec)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_field = {name: {"f1": fs.f1, "accuracy": fs.accuracy, "precision": fs.precision,
                        "recall": fs.recall, "support": fs.support}
                 for name, fs in scores.fields.items()}
    return {"split": split, "documents": len(gold), "backend": report.backend,
            "micro_f1": scores.micro_f1, "all_fields_correct": scores.all_fields_correct,
            "grounding_rate": scores.grounding_rate,
            "flag_precision": scores.flag_precision, "flag_recall": scores.flag_recall,
            **value_checks(gold, report.records, spec),
            "failed": list(scores.failed_predictions), "missing": list(scores.missing_predictions),
            "fields": per_field, "lots": scores.lots}


def _fmt(v: float | None) -> str:
    return "  -  " if v is None else f"{v:.3f}"


def print_result(r: dict[str, Any]) -> None:
    print(f"\n== split {r['split']}: {r['documents']} documents, backend {r['backend']}")
    print(f"micro-F1 {_fmt(r['micro_f1'])}   documents fully right {_fmt(r['all_fields_correct'])}   "
          f"grounding {_fmt(r['grounding_rate'])}")
    print(f"verified precision {_fmt(r['verified_precision'])} ({r['verified_correct']}/{r['verified']})   "
          f"high-confidence accuracy {_fmt(r['high_confidence_accuracy'])} ({r['high_correct']}/{r['high']})")
    if r["failed"] or r["missing"]:
        print(f"failed: {r['failed']}  missing: {r['missing']}")
    print(f"{'field':<22}{'F1':>7}{'acc':>7}{'P':>7}{'R':>7}")
    for name, f in r["fields"].items():
        print(f"{name:<22}{_fmt(f['f1']):>7}{_fmt(f['accuracy']):>7}{_fmt(f['precision']):>7}{_fmt(f['recall']):>7}")
    if r.get("lots"):
        from extractor.evaluate.lots_report import lots_headline

        print(lots_headline(r["lots"]))
        for name, f in r["lots"]["fields"].items():
            print(f"lot {name:<18}{_fmt(f['f1']):>7}{_fmt(f['accuracy']):>7}{_fmt(f['precision']):>7}"
                  f"{_fmt(f['recall']):>7}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pipeline.bench_real", description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=(*SPLITS, "all"), default="dev",
                    help="dev (default), heldout or fresh (score only, never tune on them), "
                         "or all (every split, reported per split)")
    ap.add_argument("--backend", default="rules", help="extraction backend (default rules)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    corpus = find_corpus()
    splits = SPLITS if args.split == "all" else (args.split,)
    results = {s: run_split(s, corpus, args.backend) for s in splits}
    for r in results.values():
        print_result(r)
    if args.json is not None:
        args.json.write_text(json.dumps({"backend": args.backend, "splits": results}, ensure_ascii=False, indent=2)
                             + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
