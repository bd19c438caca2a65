"""Reading speed of the non-PDF readers: saved web notices (HTML) and Word files (DOCX).

    python -m benchmarks.read.bench_formats

HTML: every hand-written page in samples/web plus, when present, the real saved
notices in ../shared/corpus/notices-*/ (Yichang 公共资源交易 fragments, ccgp-style
and university pages), each read whole by ``read_document`` (encoding detection,
lxml parse, chrome removal, table rows, cleaning) — against lxml's bare
``text_content()`` on the same bytes, the floor any HTML reader pays. Target:
≥ 50 notices/s (issue 11). DOCX: the samples/word files plus a generated
tender-package-sized file (python-docx, 400 paragraphs and 30 tables).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("TENDERX_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))


def html_files() -> list[Path]:
    return sorted((ROOT / "samples" / "web").glob("*.html")) + sorted(CORPUS_DIR.glob("notices-*/*.html"))


def big_docx(path: Path, paragraphs: int = 400, tables: int = 30) -> Path:
    """A tender-package-sized Word file: numbered clauses and requirement tables."""
    import docx

    d = docx.Document()
    d.add_paragraph("某某大学人工智能计算平台建设项目公开招标文件")
    for i in range(paragraphs):
        d.add_paragraph(f"{i + 1}. 投标人应按照招标文件第{i % 9 + 1}章的要求提供技术响应，"
                        "并对所投产品的性能参数、售后服务及交付期限作出承诺，未响应的视为负偏离。")
        if i % (paragraphs // tables) == 0:
            t = d.add_table(rows=6, cols=5)
            for r, row in enumerate(t.rows):
                for c, cell in enumerate(row.cells):
                    cell.text = ["序号", "货物名称", "技术参数", "数量", "单位"][c] if r == 0 else f"第{r}项参数{c}"
    d.save(str(path))
    return path


def _rate(paths: list[Path], read, repeats: int) -> tuple[float, float]:
    """(documents/s best of ``repeats``, mean characters read per document)."""
    best = 0.0
    chars = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        chars = sum(read(p) for p in paths)
        dt = time.perf_counter() - t0
        best = max(best, len(paths) / dt)
    return best, chars / max(1, len(paths))


def run(repeats: int = 3) -> dict:
    import lxml.html

    from extractor.read.formats import read_document

    out: dict = {}
    pages = html_files()
    read_document(pages[0])  # imports outside the timing
    def doc_chars(p: Path) -> int:
        return sum(len(pg.text) for pg in read_document(p).pages)

    def lxml_floor(p: Path) -> int:
        return len(lxml.html.document_fromstring(p.read_bytes()).text_content())

    rate, chars = _rate(pages, doc_chars, repeats)
    floor, _ = _rate(pages, lxml_floor, repeats)
    sizes = [p.stat().st_size for p in pages]
    out["html"] = {"documents": len(pages), "docs_per_s": rate, "chars_per_doc": chars, "lxml_floor_docs_per_s": floor,
                   "mean_kb": statistics.mean(sizes) / 1024, "corpus": any(CORPUS_DIR in p.parents for p in pages)}
    with tempfile.TemporaryDirectory() as tmp:
        big = big_docx(Path(tmp) / "package.docx")
        small = sorted((ROOT / "samples" / "word").glob("*.docx"))
        rate_small, chars_small = _rate(small * 5, doc_chars, repeats)
        rate_big, chars_big = _rate([big], doc_chars, repeats)
        out["docx"] = {"notices": len(small), "notices_per_s": rate_small, "chars_per_notice": chars_small,
                       "package_per_s": rate_big, "package_chars": chars_big,
                       "package_kb": big.stat().st_size / 1024}
    return out


def main() -> None:
    r = run()
    h, d = r["html"], r["docx"]
    print(f"HTML: {h['docs_per_s']:.0f} notices/s over {h['documents']} pages (mean {h['mean_kb']:.1f} KB, "
          f"{h['chars_per_doc']:.0f} chars read); lxml text_content floor {h['lxml_floor_docs_per_s']:.0f}/s")
    print(f"DOCX: {d['notices_per_s']:.0f} notices/s; a {d['package_kb']:.0f} KB package "
          f"({d['package_chars']:.0f} chars) in {1 / d['package_per_s']:.2f} s")


if __name__ == "__main__":
    main()
