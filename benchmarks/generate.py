"""Scaled benchmark corpora rendered from the hand-written samples.

Benchmarks need many distinct documents (up to 1,000 notices, long 40-150 page
tender packages) that still look like the samples: same layouts, same quirks.
Each generated document is a sample source (``samples/src/*.txt``) with its
organisation names, long numbers and table-row order varied by a seeded RNG,
rendered with ``samples/render.py``. Long packages are a package source plus
appendix chapters drawn from other sources until the page target is met.

Corpora are cached under ``benchmarks/out/corpus/`` (git-ignored): the folder
holds ``NAME.pdf``, its varied source ``NAME.src.txt`` (the text the PDF was
rendered from, for fidelity checks) and ``manifest.json``.

    python -m benchmarks.generate notices 1000
    python -m benchmarks.generate packages 5 --pages 60
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks import load_script

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path(__file__).resolve().parent / "out"
CORPUS_DIR = OUT_DIR / "corpus"
SRC_DIR = ROOT / "samples" / "src"
CORPUS_VERSION = 1
CHARS_PER_PAGE = 560  # rendered body characters per A4 page, measured on the package samples
KINDS = ("notices", "packages", "mixed")

_PLACES = ["江东", "云岭", "海川", "青州", "南屿", "北辰", "临江", "金陵", "东海", "西湖", "岭南", "滨海", "华阳",
           "长宁", "安平", "瑞丰", "嘉禾", "新城", "天河", "锦江", "星沙", "梧桐", "白石", "龙泉", "清源", "鹤山"]
_ORG_SUFFIX = re.compile(r"(有限公司|有限责任公司|大学|学院|研究院|研究所|医院|中心|博物馆|人民政府|办公室|局|集团)$")
_LABELLED = re.compile(r"^[^：:|]{0,20}(?:采购人|供应商|代理机构|单位|中标人|成交人|名称)[^：:|]{0,10}[：:]\s*(.+)$")
# model numbers (A100, RTX 4090, EPYC 7763, AS-4124GQ) follow a Latin letter: they are kept
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?<![A-Za-z][ \-])[0-9]{3,}(?![0-9A-Za-z])")
_YEAR = re.compile(r"^(19|20)[0-9]{2}$")


def _render_module():
    """samples/render.py is a script, not a package module: load it by path once."""
    return load_script("tenderx_samples_render", "samples/render.py")


def source_paths(kind: str) -> list[Path]:
    """The sample sources a corpus kind draws from (packages = the long tender documents)."""
    every = sorted(SRC_DIR.glob("*.txt"))
    packages = [p for p in every if p.stem.startswith("package-")]
    if kind == "packages":
        return packages
    if kind == "notices":
        return [p for p in every if p not in packages]
    return every


def _org_names(lines: list[str]) -> set[str]:
    """Organisation names written after a party label or filling a whole table cell."""
    names: set[str] = set()
    for line in lines:
        s = line.strip()
        if s.startswith("|"):
            cells = [c.strip() for c in s.strip("|").split("|")]
        else:
            m = _LABELLED.match(s)
            cells = [re.split(r"[，,；;。（(\s]", m.group(1))[0]] if m else []
        for cell in cells:
            if 4 <= len(cell) <= 30 and _ORG_SUFFIX.search(cell) and not cell.startswith(("[", "#")):
                names.add(cell)
    return names


def _vary_number(m: re.Match[str], rng: random.Random) -> str:
    digits = m.group(0)
    if _YEAR.match(digits):
        return digits
    first = str(rng.randint(1, 9)) if digits[0] != "0" else "0"
    return first + "".join(str(rng.randint(0, 9)) for _ in digits[1:])


def vary_lines(lines: list[str], rng: random.Random) -> list[str]:
    """Same layout, different document: org names, long numbers and table data-row order change.

    Markup lines (``[[toc ...]]``, ``[[pagebreak]]``) keep their numbers so the TOC stays sane.
    """
    mapping = {name: rng.choice(_PLACES) + name[2:] for name in _org_names(lines)}
    ordered = sorted(mapping, key=len, reverse=True)
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            head, rows = table[0], table[1:]
            rng.shuffle(rows)
            out.extend([head, *rows])
            table.clear()

    for line in lines:
        if not line.strip().startswith("[["):
            for name in ordered:
                if name in line:
                    line = line.replace(name, mapping[name])
            line = _LONG_NUMBER.sub(lambda m: _vary_number(m, rng), line)
        if line.strip().startswith("|") and line.strip().endswith("|"):
            table.append(line)
            continue
        flush()
        out.append(line)
    flush()
    return out


def _split_source(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    sep = next(i for i, line in enumerate(lines) if line.strip() == "---")
    return lines[:sep], lines[sep + 1:]


def _appendix(path: Path, number: int, rng: random.Random) -> list[str]:
    """Another sample's body as an appendix chapter (covers, TOC and vertical titles dropped)."""
    _, body = _split_source(path)
    kept = [ln for ln in body if not ln.strip().startswith(("[[vertical", "[[toc", "[[pagebreak"))]
    return ["[[pagebreak]]", f"# 附件{number}：{path.stem.split('-', 1)[-1]} 相关资料", "", *vary_lines(kept, rng)]


def varied_source_text(path: Path, rng: random.Random, min_pages: int = 0, pool: list[Path] | None = None) -> str:
    """The text of a new source file: ``path`` varied, grown with appendices to ~``min_pages`` pages."""
    header, body = _split_source(path)
    lines = vary_lines(body, rng)
    pool = pool or source_paths("notices")
    number = 1
    while min_pages and _body_chars(lines) < min_pages * CHARS_PER_PAGE:
        lines += _appendix(rng.choice(pool), number, rng)
        number += 1
    return "\n".join([*header, "---", *lines]) + "\n"


def _body_chars(lines: list[str]) -> int:
    return sum(len(ln.strip()) for ln in lines if not ln.strip().startswith("[["))


@dataclass
class Corpus:
    """A generated corpus: the PDFs, their page counts and where they came from."""

    kind: str
    folder: Path
    files: list[Path]
    pages: list[int]
    origins: list[str]

    @property
    def total_pages(self) -> int:
        return sum(self.pages)

    def source_text_path(self, pdf: Path) -> Path:
        return pdf.with_suffix(".src.txt")


def _render_one(job: tuple[str, str, str]) -> tuple[str, int]:
    """Worker: render one varied source text to a PDF; returns (pdf path, pages)."""
    text, stem, folder = job
    render = _render_module()
    src_path = Path(folder) / f"{stem}.src.txt"
    src_path.write_text(text, encoding="utf-8")
    src = render.parse_source(src_path)
    src.name = stem
    data = render.render_source(src)
    pdf = Path(folder) / f"{stem}.pdf"
    pdf.write_bytes(data)
    return str(pdf), data.count(b"/Type /Page\n") or _count_pages(pdf)


def _count_pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(pdf)).pages)


def generate_corpus(kind: str, n: int, seed: int = 0, pages: int = 0, out_dir: Path = CORPUS_DIR,
                    workers: int = 2) -> Corpus:
    """``n`` distinct documents of ``kind`` (notices | packages | mixed), cached by parameters.

    ``pages`` > 0 grows every document to at least that many pages (long packages).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    folder = out_dir / f"{kind}-n{n}-p{pages}-s{seed}-v{CORPUS_VERSION}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = [folder / f for f in data["files"]]
        if all(f.exists() for f in files):
            return Corpus(kind, folder, files, data["pages"], data["origins"])
    folder.mkdir(parents=True, exist_ok=True)
    sources = source_paths(kind)
    rng = random.Random(seed)
    jobs, origins = [], []
    for i in range(n):
        origin = sources[i % len(sources)]
        text = varied_source_text(origin, rng, min_pages=pages)
        jobs.append((text, f"{i:04d}-{origin.stem}", str(folder)))
        origins.append(origin.stem)
    if workers > 1 and n > 4:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_render_one, jobs, chunksize=8))
    else:
        results = [_render_one(j) for j in jobs]
    files = [Path(p) for p, _ in results]
    page_counts = [_count_pages(p) for p in files]
    manifest.write_text(json.dumps({"kind": kind, "n": n, "seed": seed, "pages_target": pages,
                                    "files": [f.name for f in files], "pages": page_counts,
                                    "origins": origins}, ensure_ascii=False, indent=1), encoding="utf-8")
    return Corpus(kind, folder, files, page_counts, origins)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render a scaled benchmark corpus from samples/src")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("n", type=int)
    parser.add_argument("--pages", type=int, default=0, help="grow each document to at least this many pages")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    corpus = generate_corpus(args.kind, args.n, seed=args.seed, pages=args.pages)
    print(f"{len(corpus.files)} documents, {corpus.total_pages} pages in {corpus.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
