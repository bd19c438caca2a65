"""Search: latency p50/p95 of dense, lexical and hybrid at 1k/10k/100k chunks, and
retrieval quality (recall@5, MRR) of the three on a written query set over the samples.

Latency stores hold chunk texts made from the samples (their chunks with names
and numbers varied, see generate.vary_lines) and RANDOM unit vectors on the
dense side: embedding 100k chunks with the bundled model would take hours on 2
cores. Random 384-d vectors are a hard case for HNSW, so dense latency is if
anything pessimistic; the query itself is embedded with the real model, and
that time is part of every dense/hybrid figure. Quality is measured on a store
of the real sample PDFs with real embeddings.

Stores are cached under benchmarks/out/ (built once; a marker file says complete).
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.generate import OUT_DIR, ROOT, vary_lines

STORE_VERSION = 1
CHUNKS_PER_DOC = 100
MODES = ("dense", "lexical", "hybrid")

# (query, sample stems whose documents answer it). Identifier queries and paraphrases.
QUERIES: list[tuple[str, set[str]]] = [
    ("AMD MI250 加速卡集群扩容", {"award-amd-mi250-cluster"}),
    ("华为昇腾910B 算力服务器", {"award-ascend-910b-compute", "correction-h100-to-ascend",
                                "package-city-govcloud-ascend"}),
    ("微软 Azure OpenAI 大模型调用服务", {"award-azure-openai-tokens"}),
    ("Claude 模型 亚马逊 Bedrock 转售", {"award-claude-bedrock-reseller"}),
    ("恒温恒湿试验箱", {"award-h100-humidity-chamber"}),
    ("英伟达 A100 GPU 服务器", {"award-univ-aws-a100-cloud", "termination-a100-gpu-servers"}),
    ("海光 DCU 国产算力服务器", {"award-hygon-dcu-servers"}),
    ("法院办公楼物业管理服务", {"award-property-management"}),
    ("RTX 4090D 影视后期图形工作站", {"award-rtx4090d-graphics"}),
    ("深度学习图形工作站采购合同", {"contract-rtx4090-workstations-2024"}),
    ("火山引擎 DeepSeek 模型调用 tokens", {"award-volcengine-deepseek-tokens"}),
    ("H800 人工智能计算平台建设 招标文件", {"package-univ-ai-platform-h800"}),
    ("H20 算力 政府采购意向", {"intention-univ-h20-compute"}),
    ("L40S 推理服务器询价", {"inquiry-l40s-inference-servers"}),
    ("寒武纪 MLU370 加速卡 单一来源", {"single-source-cambricon-mlu370"}),
    ("DGX A800 蛋白质结构预测集群扩容", {"single-source-dgx-a800-expansion"}),
    ("谷歌 TPU 云端算力 区域气候模型训练", {"tender-institute-google-tpu"}),
    ("博物馆门户网站 阿里云 ECS 云托管", {"tender-museum-aliyun-ecs"}),
    ("12345 热线 通义千问 智能问答", {"tender-qwen-api-hotline"}),
    ("校园网核心交换机 资本性支出预算", {"tender-campus-switches-capital-budget"}),
    ("机关办公家具采购更正", {"correction-office-furniture"}),
    ("生物育种大数据平台 项目终止", {"termination-a100-gpu-servers"}),
    ("政务云智算资源服务", {"package-city-govcloud-ascend"}),
    ("计算机实训室设备 两个包", {"award-two-lots-computer-lab"}),
    ("大学租用云上显卡做科研", {"award-univ-aws-a100-cloud"}),
    ("医院检验科全自动生化分析仪", {"award-hospital-biochem-analyzer-a100"}),
]


# --- quality ------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name)


def quality_store(embedder, pdfs: list[Path] | None = None) -> Path:  # type: ignore[no-untyped-def]
    """A store of the sample PDFs (all, or ``pdfs``) embedded with ``embedder`` (built once, cached)."""
    import hashlib

    from extractor.pipeline.ingest import ingest

    paths = pdfs or [ROOT / "samples"]
    key = hashlib.sha1("\n".join(sorted(str(p) for p in paths)).encode()).hexdigest()[:8]
    folder = OUT_DIR / f"quality-store-{_slug(embedder.name)}-{key}-v{STORE_VERSION}"
    if not (folder / "complete").exists():
        report = ingest(paths, folder, embedder=embedder)
        if len(report.added) + len(report.unchanged) < min(len(paths), 3):
            raise RuntimeError(f"quality store: only {len(report.added)} PDFs ingested; failed: {report.failed[:3]}")
        (folder / "complete").write_text("ok\n")
    return folder


def quality(store_dir: Path, embedder, k: int = 5) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """recall@k (share of a query's relevant documents among the top-k chunks' files) and MRR
    (1 / rank of the first chunk from a relevant document, within the top 10) per mode."""
    from extractor.search.hybrid import search
    from extractor.store.store import Store

    store = Store(store_dir)
    present = {Path(d.path).stem for d in store.documents()}
    queries = [(q, rel & present) for q, rel in QUERIES if rel & present]
    out: dict[str, dict[str, float]] = {}
    for mode in MODES:
        recalls, rrs = [], []
        for query, relevant in queries:
            hits = search(store, query, k=10, mode=mode, embedder=embedder)
            stems = [Path(h.file).stem for h in hits]
            recalls.append(len(relevant & set(stems[:k])) / len(relevant))
            rank = next((i for i, s in enumerate(stems, start=1) if s in relevant), None)
            rrs.append(1.0 / rank if rank else 0.0)
        out[mode] = {"recall_at_5": statistics.mean(recalls), "mrr": statistics.mean(rrs),
                     "queries": float(len(queries))}
    store.close()
    return out


# --- latency stores ---------------------------------------------------------------------------
def base_chunks() -> list[str]:
    """Chunk texts of every readable sample PDF (the material latency stores are made of)."""
    from extractor.pipeline.chunking import chunk_document
    from extractor.read.formats import iter_input_paths, read_document

    texts = []
    pdfs, _ = iter_input_paths([ROOT / "samples"])
    for pdf in pdfs:
        try:
            doc = read_document(pdf)
        except Exception:  # noqa: BLE001 — the deliberately broken sample
            continue
        texts.extend(c.text for c in chunk_document(doc))
    return texts


def latency_store_path(n_chunks: int, embedder_name: str) -> Path:
    return OUT_DIR / f"search-store-{n_chunks}-{_slug(embedder_name)}-v{STORE_VERSION}"


def latency_store(n_chunks: int, embedder_name: str, dim: int, seed: int = 0) -> Path:
    """A store of ``n_chunks`` varied sample chunks with random unit vectors (cached)."""
    from extractor.core.document import Chunk, Document
    from extractor.store.store import Store

    folder = latency_store_path(n_chunks, embedder_name)
    if (folder / "complete").exists():
        return folder
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    base = base_chunks()
    store = Store(folder)
    store.use_embedder(embedder_name, dim)
    with store.writing():
        for start in range(0, n_chunks, CHUNKS_PER_DOC):
            doc_no = start // CHUNKS_PER_DOC
            sha = f"{doc_no:064x}"
            path = str(folder / "docs" / f"doc-{doc_no:05d}.pdf")
            chunks = []
            for i in range(min(CHUNKS_PER_DOC, n_chunks - start)):
                text = "\n".join(vary_lines(base[(start + i) % len(base)].splitlines(), rng))
                chunks.append(Chunk(id="", doc_sha256=sha, file=path, text=text, page_start=i // 2 + 1,
                                    page_end=i // 2 + 1, char_start=0, char_end=len(text), index=i))
            vectors = np_rng.standard_normal((len(chunks), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.replace_document(Document(path=path, sha256=sha, pages=[]), chunks, vectors)
    store.close()
    (folder / "complete").write_text("ok\n")
    return folder


def latency(store_dir: Path, embedder, repeats: int = 3) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """p50/p95 ms per mode over every query × ``repeats`` passes (one pass when a query takes
    over a second), after warm-up queries that build the BM25 cache and load Chroma's HNSW
    index; plus the BM25 index search alone and the query embedding alone."""
    from extractor.search.hybrid import clear_query_cache, query_terms, search
    from extractor.search.lexical import index_for_store
    from extractor.store.store import Store

    store = Store(store_dir)
    out: dict[str, dict[str, float]] = {}
    for mode in MODES:
        t0 = time.perf_counter()
        for q, _ in QUERIES[:3]:
            search(store, q, k=10, mode=mode, embedder=embedder)
        slow = (time.perf_counter() - t0) / 3 > 1.0  # >1 s per query: one pass is enough to see it
        samples = []
        for _ in range(1 if slow else repeats):
            for q, _ in QUERIES:
                clear_query_cache()  # every timed query pays for its own embedding
                t0 = time.perf_counter()
                search(store, q, k=10, mode=mode, embedder=embedder)
                samples.append((time.perf_counter() - t0) * 1000)
        out[mode] = _percentiles(samples)
    # the parts on their own: the BM25 index search alone (no candidate objects, no fusion), and
    # the query embedding alone (part of every dense/hybrid figure above)
    index = index_for_store(store)
    samples, embed_ms = [], []
    for _ in range(repeats):
        for q, _ in QUERIES:
            t0 = time.perf_counter()
            index.search(query_terms(q), k=10)
            samples.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.embed_query(q)
            embed_ms.append((time.perf_counter() - t0) * 1000)
    out["BM25 index.search alone"] = _percentiles(samples)
    out["query embedding only"] = _percentiles(embed_ms)
    out["_chunks"] = {"n": float(store.count())}
    store.close()
    return out


def _percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)), "n": float(len(ms))}


def run(sizes: tuple[int, ...] = (1_000, 10_000, 100_000), repeats: int = 3,
        quality_pdfs: list[Path] | None = None) -> dict:
    from extractor.embed.registry import get_embedder

    embedder = get_embedder()
    embedder.embed_query("预热")
    result: dict = {"embedder": embedder.name, "latency": {}, "build_seconds": {}}
    for n in sizes:
        t0 = time.perf_counter()
        folder = latency_store(n, embedder.name, embedder.dim)
        result["build_seconds"][n] = time.perf_counter() - t0
        result["latency"][n] = latency(folder, embedder, repeats=repeats)
    result["quality"] = quality(quality_store(embedder, quality_pdfs), embedder)
    return result
