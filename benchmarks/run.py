"""`make bench`: every pipeline stage against its alternatives and its limit.

    python -m benchmarks.run                 # full run (~15-20 min on 2 cores), writes benchmarks/results.md
    python -m benchmarks.run --quick         # tiny corpora, 1 repeat: checks the harness, numbers not meaningful
    python -m benchmarks.run --only search   # one benchmark (pdf, embeddings, ingest, search, search_cli, rules, corpus, llm,
                                             # retrieval, memory, formats, ocr, server)

Prints one rich table and writes the same table, with the machine, versions,
date and method notes, to benchmarks/results.md (or --results PATH). Figures
are medians of repeated runs unless the row says otherwise.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.generate import OUT_DIR
from benchmarks.plan import BENCHES, RESULTS, Plan, Results
from benchmarks.report import print_table, write_markdown
from benchmarks.stages import RUNNERS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the tenderx benchmarks and write benchmarks/results.md")
    parser.add_argument("--quick", action="store_true", help="tiny corpora, one repeat (checks the harness)")
    parser.add_argument("--only", action="append", choices=BENCHES, help="run just this benchmark (repeatable)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown output (default benchmarks/results.md)")
    args = parser.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    plan = Plan.tiny() if args.quick else Plan.full()
    started = dt.datetime.now(dt.UTC)
    load_before = "/".join(f"{x:.2f}" for x in os.getloadavg())
    res = Results()
    for name in args.only or BENCHES:
        t0 = time.perf_counter()
        print(f"[bench] {name} …", flush=True)
        try:
            RUNNERS[name](plan, res)
        except Exception as e:  # noqa: BLE001 — one broken benchmark must not lose the others' numbers
            res.errors[name] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
        res.seconds[name] = time.perf_counter() - t0
        print(f"[bench] {name} done in {res.seconds[name]:.0f} s", flush=True)
    load_after = "/".join(f"{x:.2f}" for x in os.getloadavg())
    title = f"tenderx benchmarks{' (QUICK: harness check only)' if plan.quick else ''}"
    print_table(res, title)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    write_markdown(res, args.results, plan, started, (load_before, load_after))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(res.raw, indent=1, default=str, ensure_ascii=False)
    (OUT_DIR / ("results-quick.json" if plan.quick else "results.json")).write_text(raw, encoding="utf-8")
    print(f"wrote {args.results}")
    return 1 if res.errors else 0


if __name__ == "__main__":
    sys.exit(main())
