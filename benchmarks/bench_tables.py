"""PDF table reading: what it costs and what it finds (issue 22).

Rules extraction from files (``read_pdf`` + rules engine) with the table reader off (text only, the
path before issue 22) and on (tables of pages with table words), in one run, as a ratio; plus the
two candidate readers alone: pdfplumber's ``find_tables`` on every page with lines or rectangles,
and this reader (pdfium's path objects + pdfplumber's cell algorithm + pdfium text) on every page.

    python -m benchmarks.bench_tables [--compare] [PDF or folder ...]   # default: samples/ + corpus packages
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT.parent / "shared" / "corpus" / "tender-packages"


def _pdfs(args: list[str]) -> list[Path]:
    roots = [Path(a) for a in args] or [ROOT / "samples", *([PACKAGES] if PACKAGES.is_dir() else [])]
    out: list[Path] = []
    for r in roots:
        out += sorted(r.glob("*.pdf")) if r.is_dir() else [r]
    return [p for p in out if not p.name.startswith(("broken-", "scanned-"))]


def run(pdfs: list[Path], repeats: int = 3, compare: bool = False) -> dict[str, float]:
    import pdfplumber

    from extractor.backends.rules import extract_rules
    from extractor.read.pdf import read_pdf

    docs = [read_pdf(p) for p in pdfs]  # warm-up: imports, fonts, CMaps
    pages = sum(len(d.pages) for d in docs)
    tables = sum(len(pg.tables) for d in docs for pg in d.pages)
    table_pages = sum(1 for d in docs for pg in d.pages if pg.tables)

    # off and on interleaved file by file, so a shift in the shared machine's load hits both alike
    off_runs, on_runs = [], []
    for _ in range(repeats):
        off = on = 0.0
        for p in pdfs:
            for with_tables in (False, True):
                t0 = time.perf_counter()
                extract_rules(read_pdf(p, tables=with_tables))
                spent = time.perf_counter() - t0
                if with_tables:
                    on += spent
                else:
                    off += spent
        off_runs.append(off)
        on_runs.append(on)
    off, on = statistics.median(off_runs), statistics.median(on_runs)
    ruled = found = 0
    every = float("nan")
    if compare:  # pdfplumber's own finder alone on every page with lines or rectangles (slow)
        t0 = time.perf_counter()
        for p in pdfs:
            with pdfplumber.open(str(p)) as pdf:
                for page in pdf.pages:
                    if page.lines or page.rects:
                        ruled += 1
                        found += len(page.find_tables())
        every = time.perf_counter() - t0
    from extractor.read.pdf_tables import _cell_boxes

    t0 = time.perf_counter()
    ours = 0
    for p in pdfs:  # this reader (pdfium lines, pdfplumber's algorithm) on every page
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(p))
        for i in range(len(doc)):
            ours += len([b for b in _cell_boxes(doc[i]) if len(b) >= 2])
        doc.close()
    ours_s = time.perf_counter() - t0
    return {"documents": len(pdfs), "pages": pages, "pages_with_tables": table_pages, "tables": tables,
            "off_s": off, "on_s": on, "speed_ratio": off / on, "finder_every_ruled_page_s": every,
            "ruled_pages": ruled, "tables_every_ruled_page": found, "finder_pages_per_s": ruled / every if compare else float("nan"),
            "ours_every_page_s": ours_s, "ours_tables_every_page": ours, "ours_pages_per_s": pages / ours_s}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    compare = "--compare" in args
    pdfs = _pdfs([a for a in args if a != "--compare"])
    r = run(pdfs, compare=compare)
    print(f"{r['documents']} PDFs, {r['pages']} pages; tables read on {r['pages_with_tables']} pages "
          f"({r['tables']} tables)")
    print(f"read_pdf + rules, text only:   {r['off_s']:.2f} s ({r['pages'] / r['off_s']:.0f} pages/s)")
    print(f"read_pdf + rules, with tables: {r['on_s']:.2f} s ({r['pages'] / r['on_s']:.0f} pages/s)")
    print(f"speed with tables / text only: {r['speed_ratio']:.3f}")
    if compare:
        print(f"pdfplumber find_tables on every ruled page: {r['ruled_pages']} pages, "
              f"{r['tables_every_ruled_page']} tables, {r['finder_pages_per_s']:.1f} pages/s")
    print(f"this reader on every page: {r['pages']} pages, {r['ours_tables_every_page']} tables, "
          f"{r['ours_pages_per_s']:.1f} pages/s (pdfium lines + pdfplumber's cell algorithm)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
