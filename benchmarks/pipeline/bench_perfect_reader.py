"""What the LLM and hybrid paths lose with a perfect model (issues 22 and 23).

A local OpenAI-protocol server answers every request from the gold labels of the document the
prompt shows, quoting the line that states each value (``tests/perfect_reader.py``). The real
pipeline (``extract_documents`` as ``tenderx eval`` runs it: planning, context, reply parsing,
cited cells, evidence, the hybrid merge) extracts against it and is scored with the project's own
scorer, so anything short of micro-F1 1.000 is the pipeline's loss, not the model's. For each lost
value the run says why, from the reader's log and the record:

- ``context-cut``: the document states the value but no prompt for that field showed it;
- ``kept rules value``: hybrid did not ask the LLM (the rules value counted as settled), or the
  LLM's answer was empty and the merge kept the rules value;
- ``dropped``: the reader answered the gold value, the record has none (its reason printed);
- ``altered``: the reader answered the gold value, the record has another.

Figures: micro-F1, per-field F1, verified precision, and the share of gold values that come back
right and ``verified``, on ``samples/`` and (when the corpus is found) the real ``dev`` split of
``evals/real/gold`` — never heldout or fresh.

    python -m benchmarks.pipeline.bench_perfect_reader [--set samples|real|all] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("llm", "hybrid")


@dataclass
class Run:
    """One backend on one gold set: the scorer's figures and each lost value with its cause."""

    name: str
    backend: str
    documents: int
    micro_f1: float | None
    verified_precision: float | None
    gold_values: int
    gold_verified: int  # right and verified
    quoted: int  # gold values the reader gave with a quote
    quoted_verified: int
    fields: dict[str, float | None]
    losses: list[dict[str, Any]] = field(default_factory=list)
    unverified: list[dict[str, Any]] = field(default_factory=list)  # right, quoted, not verified


def _gold_value(spec: Any, value: Any) -> bool:
    from extractor.evaluate.matching import is_null

    return not is_null(spec, value) and value is not False


def lost_because(answer: Any, pred: dict[str, Any], backend: str, gold: Any, spec: Any) -> str:
    """Why the record's value differs from gold, given what the perfect reader answered."""
    from extractor.evaluate import compare_value

    engine = pred.get("engine")
    reason = f" ({pred['reason']})" if pred.get("reason") else ""
    if answer is None:
        return "kept rules value: not asked (settled)" if backend == "hybrid" else "never asked"
    if answer.how == "context-cut":
        return "context-cut: the value's line was not in the prompt"
    if backend == "hybrid" and engine == "rules":
        return "kept rules value: the LLM's answer was empty" + reason
    if not compare_value(spec, gold, answer.value).correct:
        return f"reader answered {answer.value!r}"  # the reader's own miss (a gold it could not read)
    if pred.get("value") in (None, []):
        return "dropped" + reason
    return f"altered to {pred.get('value')!r}" + reason


def unverified_reason(doc: Any, schema: Any, name: str, pred: dict[str, Any]) -> str:
    """Which of the evidence judge's tests a right, quoted value failed (``core.evidence``'s order)."""
    from extractor.core.document import FieldValue
    from extractor.core.evidence import quote_supports, value_grounded, value_problem, verify
    from extractor.core.shape import checks_for_schema

    if doc is None:
        return "document not read"
    field = schema.field(name)
    fv = FieldValue(pred.get("value"), pred.get("page"), pred.get("quote"))
    if pred.get("disputed"):
        return "disputed between engines"
    if not verify(doc, fv):
        return f"quote not on page {fv.page}"
    problem = value_problem(doc, fv, name, (fv.page, 0, 0), checks_for_schema(schema.name), field.labels)
    if problem:
        return problem
    if not quote_supports(fv, field.type, name):
        return "the quote does not state the value"
    if not value_grounded(doc, fv, field.type):
        return "the value is not stated in the document text"
    return "instruction-like text at the quote"


def run_backend(name: str, gold_dir: Path, backend: str, work: Path) -> Run:
    """Extract ``gold_dir`` with ``backend`` against the perfect reader, then score and explain."""
    from extractor.core.config import LLMSettings
    from extractor.core.schema import load_schema
    from extractor.evaluate import compare_value, load_gold, match_records, schema_spec, score
    from extractor.pipeline.extract import extract_documents
    from tests.perfect_reader import perfect_reader_server

    spec = schema_spec()
    gold = load_gold(gold_dir, spec)
    with perfect_reader_server(gold_dir) as (server, reader):
        settings = LLMSettings.from_env(base_url=server.url, api_key="sk-perfect", model="perfect-reader")
        report = extract_documents([g.pdf for g in gold], backend=backend, settings=settings,
                                   store_dir=work / f"store-{backend}", jobs=2, use_cache=False)
    scores = score(gold, report.records, spec)
    matched, _ = match_records(gold, report.records)
    run = Run(name, backend, len(gold), scores.micro_f1, scores.verified_precision, 0, 0, 0, 0,
              {n: fs.f1 for n, fs in scores.fields.items()})
    for i, g in enumerate(gold):
        preds = (matched.get(i) or {}).get("fields") or {}
        for f in spec.fields:
            if f.name not in g.labels:
                continue
            pred = preds.get(f.name) if isinstance(preds.get(f.name), dict) else {}
            answer = reader.answers.get((g.name, f.name))
            right = compare_value(f, g.labels[f.name], pred.get("value")).correct
            if _gold_value(f, g.labels[f.name]):
                run.gold_values += 1
                run.gold_verified += int(right and pred.get("verified") is True)
                if answer is not None and answer.quote and (backend == "llm" or pred.get("engine") == "llm"):
                    run.quoted += 1
                    run.quoted_verified += int(right and pred.get("verified") is True)
                    if right and pred.get("verified") is not True:
                        why = unverified_reason(reader.document(g.name), load_schema("tender"), f.name, pred)
                        run.unverified.append({"document": g.name, "field": f.name, "quote": pred.get("quote"),
                                               "reason": why})
            if not right:
                run.losses.append({"document": g.name, "field": f.name, "gold": g.labels[f.name],
                                   "predicted": pred.get("value"),
                                   "why": lost_because(answer, pred, backend, g.labels[f.name], f)})
    return run


def real_dev_folder(dest: Path) -> Path | None:
    """The real ``dev`` documents with their gold files in ``dest``, or None without the corpus."""
    from benchmarks.pipeline import bench_real

    try:
        corpus = bench_real.find_corpus()
    except SystemExit:
        return None
    dest.mkdir(parents=True)
    bench_real.build_folder(bench_real.gold_files("dev"), corpus, dest)
    return dest


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def markdown(runs: list[Run]) -> str:
    """The figures and the list of losses, as the results file's section body."""
    lines = ["| set | backend | docs | micro-F1 | verified precision | gold values right + verified "
             "| reader-quoted values verified |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r.name} | {r.backend} | {r.documents} | {_fmt(r.micro_f1)} | {_fmt(r.verified_precision)} "
                     f"| {r.gold_verified}/{r.gold_values} | {r.quoted_verified}/{r.quoted} |")
    names = list(runs[0].fields) if runs else []
    lines += ["", "Per-field F1 (— = no positive gold or prediction):", "",
              "| field | " + " | ".join(f"{r.name} {r.backend}" for r in runs) + " |",
              "|---|" + "---:|" * len(runs)]
    lines += [f"| {n} | " + " | ".join(_fmt(r.fields.get(n)) for r in runs) + " |" for n in names]
    for r in runs:
        lines += ["", f"Losses, {r.name} {r.backend} ({len(r.losses)}):", ""]
        lines += [f"- `{x['document']}` {x['field']}: gold {x['gold']!r}, got {x['predicted']!r} — {x['why']}"
                  for x in r.losses] or ["- none"]
        if r.unverified:
            lines += ["", f"Right and quoted by the reader but not verified, {r.name} {r.backend} "
                          f"({len(r.unverified)}):", ""]
            lines += [f"- `{x['document']}` {x['field']}: quote {x['quote']!r} — {x['reason']}" for x in r.unverified]
    return "\n".join(lines)


def causes(run: Run) -> Counter[str]:
    return Counter(x["why"].split(":")[0].split(" (")[0] for x in run.losses)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pipeline.bench_perfect_reader",
                                 description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--set", choices=("samples", "real", "all"), default="all",
                    help="samples/, the real dev split (needs the corpus), or both (default)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures and losses to this JSON file")
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="tenderx-perfect-"))
    try:
        sets: list[tuple[str, Path]] = []
        if args.set in ("samples", "all"):
            sets.append(("samples", ROOT / "samples"))
        if args.set in ("real", "all"):
            real = real_dev_folder(work / "real-dev")
            if real is not None:
                sets.append(("real dev", real))
            else:
                print("bench_perfect_reader: corpus not found, real dev split skipped", file=sys.stderr)
        runs = [run_backend(name, folder, backend, work) for name, folder in sets for backend in BACKENDS]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(markdown(runs))
    for r in runs:
        print(f"\n{r.name} {r.backend}: losses by cause {dict(causes(r))}")
    if args.json is not None:
        args.json.write_text(json.dumps([r.__dict__ for r in runs], ensure_ascii=False, indent=2, default=str) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
