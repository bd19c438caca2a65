"""LLM path against the real local OpenAI-protocol test server (tests/openai_server.py).

1. Throughput: ``extract_documents(backend="llm", jobs=c)`` on notices with a
   simulated 1 s latency per request, documents/min at concurrency c, as a ratio
   to the ideal (c requests in flight all the time: c x 60 / (latency x calls per document)).
2. Prompt size: tiktoken tokens of the whole-document prompt vs the prompts the
   extractor really sends for retrieval-targeted extraction on long packages.
3. Cost per 1,000 documents for two common models (llm.estimate_cost price table),
   with the completion size of a schema-complete answer (a gold label as a reply).
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import load_script
from benchmarks.generate import ROOT

COST_MODELS = ("gpt-4o-mini", "gpt-4o")
GOLD_FOR_COMPLETION = ROOT / "samples" / "award-univ-aws-a100-cloud.gold.json"


def _server_module():
    """tests/openai_server.py (not a package): loaded by path, as the tests use it."""
    return load_script("tenderx_openai_server", "tests/openai_server.py")


def _requested_fields(body: dict[str, Any]) -> list[str]:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return list(fmt["json_schema"]["schema"]["properties"]["fields"]["required"])
    user = str((body.get("messages") or [{}, {}])[1].get("content") or "")
    return [ln[2:].split(" ", 1)[0] for ln in user.split("<document>")[0].splitlines() if ln.startswith("- ")]


def _empty(field: Any) -> Any:
    if field.type == "list":
        return []
    if not field.nullable:
        return {"enum": field.enum[0] if field.enum else None, "boolean": False}.get(field.type, "未知")
    return None


def answering_handler(schema: Any):  # type: ignore[no-untyped-def]
    """Schema-valid replies (empty values) with tiktoken usage numbers, like a real endpoint."""
    server = _server_module()
    from extractor.backends.llm import prompt_tokens
    from extractor.core.tokens import count_tokens

    def handle(req: Any) -> Any:
        names = _requested_fields(req.body or {})
        fields = {n: {"value": _empty(schema.field(n)), "page": None, "quote": None} for n in names}
        content = json.dumps({"fields": fields}, ensure_ascii=False)
        usage = {"prompt_tokens": prompt_tokens(req.messages), "completion_tokens": count_tokens(content)}
        return server.chat_reply(content, usage=usage)

    return handle


def throughput(pdfs: list[Path], concurrencies: tuple[int, ...], latency: float = 1.0, repeats: int = 3,
               docs_per_slot: int = 3) -> list[dict]:
    """Documents/min of extract_documents at each concurrency (median of ``repeats``)."""
    from extractor.core.config import LLMSettings
    from extractor.core.schema import load_schema
    from extractor.pipeline.extract import extract_documents

    schema = load_schema("tender")
    server_mod = _server_module()
    rows = []
    with server_mod.OpenAIServer(latency=latency) as server:
        server.handler = answering_handler(schema)
        settings = LLMSettings(base_url=server.url, api_key="bench-key", model="gpt-4o-mini", timeout=60,
                               max_retries=2)
        for c in concurrencies:
            n = min(len(pdfs), max(4, docs_per_slot * c))
            batch = pdfs[:n]
            rates, calls, peaks = [], [], []
            for _ in range(repeats):
                work = Path(tempfile.mkdtemp(prefix="tenderx-bench-llm-"))
                before = len(server.chat_requests())
                server.max_in_flight = 0
                try:
                    t0 = time.perf_counter()
                    report = extract_documents(batch, backend="llm", jobs=c, settings=settings, store_dir=None,
                                               cache_path=work / "cache.sqlite", out=None)
                    seconds = time.perf_counter() - t0
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                failures = len(report.failures)
                if failures:
                    raise RuntimeError(f"LLM benchmark: {failures} documents failed: "
                                       f"{report.failures[0].get('errors')}")
                rates.append(n / seconds * 60)
                calls.append((len(server.chat_requests()) - before) / n)
                peaks.append(server.max_in_flight)
            per_doc = statistics.median(calls)
            ideal = min(c, n) * 60 / (latency * per_doc)
            rate = statistics.median(rates)
            rows.append({"concurrency": c, "documents": n, "docs_per_min": rate, "ideal_docs_per_min": ideal,
                         "of_ideal": rate / ideal, "calls_per_doc": per_doc, "max_in_flight": max(peaks)})
    return rows


def prompt_sizes(pdfs: list[Path]) -> dict:
    """Whole-document prompt tokens vs the retrieval-targeted prompts actually sent, per document."""
    from extractor.backends.llm import LLMExtractor, prompt_tokens
    from extractor.backends.llm.prompts import build_messages
    from extractor.core.config import LLMSettings
    from extractor.core.schema import load_schema
    from extractor.pipeline.extract import document_retriever
    from extractor.read.pdf import read_pdf

    schema = load_schema("tender")
    server_mod = _server_module()
    per_doc = []
    with server_mod.OpenAIServer() as server:
        server.handler = answering_handler(schema)
        settings = LLMSettings(base_url=server.url, api_key="bench-key", model="gpt-4o-mini", max_retries=1)
        extractor = LLMExtractor(settings, cache=None)
        for pdf in pdfs:
            doc = read_pdf(pdf)
            whole = prompt_tokens(build_messages(schema, doc.pages, schema.fields))
            before = len(server.chat_requests())
            extractor.extract(doc, schema, retriever=document_retriever(doc, None))
            sent = server.chat_requests()[before:]
            targeted = sum(prompt_tokens(r.messages) for r in sent)
            per_doc.append({"file": pdf.name, "pages": len(doc.pages), "whole_tokens": whole,
                            "targeted_tokens": targeted, "calls": len(sent)})
    whole = statistics.mean(d["whole_tokens"] for d in per_doc)
    targeted = statistics.mean(d["targeted_tokens"] for d in per_doc)
    return {"documents": per_doc, "whole_mean": whole, "targeted_mean": targeted, "ratio": targeted / whole,
            "pages_mean": statistics.mean(d["pages"] for d in per_doc),
            "calls_mean": statistics.mean(d["calls"] for d in per_doc)}


def completion_tokens_per_answer() -> int:
    """Tokens of a schema-complete reply: a gold label written as the extractor's answer shape."""
    from extractor.core.tokens import count_tokens

    labels = json.loads(GOLD_FOR_COMPLETION.read_text(encoding="utf-8"))["labels"]
    reply = {"fields": {k: {"value": v, "page": 1, "quote": f"{k}：{v}"[:40]} for k, v in labels.items()}}
    return count_tokens(json.dumps(reply, ensure_ascii=False))


def costs(sizes: dict) -> list[dict]:
    """USD per 1,000 long packages, whole-document vs retrieval-targeted, for COST_MODELS."""
    from extractor.backends.llm import estimate_cost

    answer = completion_tokens_per_answer()
    rows = []
    for model in COST_MODELS:
        whole = estimate_cost(model, int(sizes["whole_mean"]), answer)
        # the targeted calls split the fields between them: together they answer once
        targeted = estimate_cost(model, int(sizes["targeted_mean"]), answer)
        rows.append({"model": model, "whole_per_1000": None if whole is None else whole * 1000,
                     "targeted_per_1000": None if targeted is None else targeted * 1000,
                     "completion_tokens_per_call": answer})
    return rows


def run(notice_pdfs: list[Path], package_pdfs: list[Path], concurrencies: tuple[int, ...] = (1, 4, 16, 64),
        latency: float = 1.0, repeats: int = 3, docs_per_slot: int = 3) -> dict:
    sizes = prompt_sizes(package_pdfs)
    return {"throughput": throughput(notice_pdfs, concurrencies, latency=latency, repeats=repeats,
                                     docs_per_slot=docs_per_slot),
            "prompts": sizes, "costs": costs(sizes), "latency": latency}
