"""What issue 25's per-record work costs next to reading: the duplicate sketch and the intermediary scan.

Reads every notice of samples/ (scans excluded: OCR would dominate), then times ``content_sketch`` and
``find_intermediaries`` over the same documents in the same run, and prints their cost as a ratio of the
read time. Run: ``python -m benchmarks.pipeline.bench_findings``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from extractor.pipeline.duplicates import content_sketch, link_duplicates
from extractor.pipeline.intermediaries import find_intermediaries
from extractor.read.formats import read_document

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def main() -> None:
    files = sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".pdf", ".html", ".docx")
                   and not p.name.startswith(("scanned-", "broken-")) and "src" not in p.parts)
    t0 = time.perf_counter()
    docs = [read_document(f) for f in files]
    t1 = time.perf_counter()
    for d in docs:
        content_sketch(d)
    t2 = time.perf_counter()
    for d in docs:
        find_intermediaries(d, ["甲公司"], ["AWS"])
    t3 = time.perf_counter()
    read = t1 - t0
    print(f"{len(docs)} documents: read {read:.2f} s; sketch ×{(t2 - t1) / read:.3f} of reading; "
          f"intermediaries ×{(t3 - t2) / read:.3f} of reading")
    # linking a large folder: the samples' sketches, each copied 100 times with a tenth of its hashes changed
    rng = random.Random(25)
    base = [content_sketch(d) for d in docs]
    records = [{"file": f"{i}-{j}", "content_sketch": sorted(rng.randrange(2**32) if rng.random() < 0.1 else h
                                                             for h in sk)}
               for j in range(100) for i, sk in enumerate(base)]
    t4 = time.perf_counter()
    link_duplicates(records)
    t5 = time.perf_counter()
    print(f"link_duplicates over {len(records)} records: {t5 - t4:.2f} s (×{(t5 - t4) / read:.2f} of reading the "
          f"{len(docs)} documents); {sum(1 for r in records if r.get('duplicate_of'))} linked")


if __name__ == "__main__":
    main()
