"""Hybrid vs LLM-only on the local OpenAI-protocol test server (tests/openai_server.py).

    python -m benchmarks.search.bench_hybrid              # samples/ and evals/devset/
    python -m benchmarks.search.bench_hybrid --json out.json

Both backends run through ``extract_documents`` (the pipeline a user runs) against the same
server, which answers every request with schema-valid empty values and tiktoken usage figures
(``bench_llm.answering_handler``), so what is measured is what each backend SENDS: prompt tokens
per document, LLM calls, and the documents the hybrid backend settles without any call. Answer
quality cannot be measured with a scripted server; the hybrid keeps the rules' values wherever it
does not ask, so its accuracy on those fields is the rules engine's (``tenderx eval``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.generate import ROOT
from benchmarks.pipeline.bench_llm import _server_module, answering_handler

FOLDERS = (ROOT / "samples", ROOT / "evals" / "devset")
TARGET_RATIO = 0.40  # issue 17: hybrid prompt tokens per document <= 40% of LLM-only


def _gold_pdfs(folder: Path) -> list[Path]:
    return sorted(p.with_name(p.name[: -len(".gold.json")] + ".pdf") for p in folder.glob("*.gold.json"))


def measure(pdfs: list[Path]) -> dict[str, Any]:
    """Per backend: prompt tokens per document (mean, median), calls, documents with no call."""
    from extractor.core.config import LLMSettings
    from extractor.core.schema import load_schema
    from extractor.pipeline.extract import extract_documents

    schema = load_schema("tender")
    out: dict[str, Any] = {"documents": len(pdfs)}
    with _server_module().OpenAIServer() as server:
        server.handler = answering_handler(schema)
        settings = LLMSettings(base_url=server.url, api_key="bench-key", model="gpt-4o-mini", max_retries=1)
        for backend in ("llm", "hybrid"):
            work = Path(tempfile.mkdtemp(prefix=f"tenderx-bench-{backend}-"))
            try:
                # a fresh response cache per run: cached answers would count as free calls
                report = extract_documents(pdfs, backend=backend, jobs=2, settings=settings, store_dir=None,
                                           cache_path=work / "cache.sqlite", out=None)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if report.failures:
                raise RuntimeError(f"{backend}: {len(report.failures)} documents failed: {report.failures[0].get('errors')}")
            tokens = [int((r.get("usage") or {}).get("prompt_tokens") or 0) for r in report.records]
            calls = [int((r.get("usage") or {}).get("calls") or 0) for r in report.records]
            engines: dict[str, int] = {}
            for r in report.records:
                for fv in (r.get("fields") or {}).values():
                    engine = fv.get("engine") if isinstance(fv, dict) else None
                    if engine:
                        engines[engine] = engines.get(engine, 0) + 1
            out[backend] = {
                "prompt_tokens_per_doc_mean": statistics.mean(tokens),
                "prompt_tokens_per_doc_median": statistics.median(tokens),
                "calls": sum(calls),
                "documents_without_llm_call": sum(1 for c in calls if c == 0),
                "values_by_engine": engines,
            }
    out["ratio_mean"] = out["hybrid"]["prompt_tokens_per_doc_mean"] / out["llm"]["prompt_tokens_per_doc_mean"]
    out["target_ratio"] = TARGET_RATIO
    out["reached"] = out["ratio_mean"] <= TARGET_RATIO
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    results = {folder.relative_to(ROOT).as_posix(): measure(_gold_pdfs(folder)) for folder in FOLDERS}
    for name, r in results.items():
        llm, hyb = r["llm"], r["hybrid"]
        print(f"{name}: {r['documents']} documents")
        print(f"  LLM-only: {llm['prompt_tokens_per_doc_mean']:.0f} prompt tokens/doc (median "
              f"{llm['prompt_tokens_per_doc_median']:.0f}), {llm['calls']} calls")
        print(f"  hybrid:   {hyb['prompt_tokens_per_doc_mean']:.0f} prompt tokens/doc (median "
              f"{hyb['prompt_tokens_per_doc_median']:.0f}), {hyb['calls']} calls, "
              f"{hyb['documents_without_llm_call']} documents with no LLM call, values by engine {hyb['values_by_engine']}")
        print(f"  ratio {r['ratio_mean']:.1%} (target <= {TARGET_RATIO:.0%}: {'reached' if r['reached'] else 'NOT reached'})")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
