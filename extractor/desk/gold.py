"""Reviewed documents → a gold set (``NAME.pdf`` + ``NAME.gold.json``, tender-schema-v1 "Gold label files").

Only fields a person decided on become labels (a field absent from ``labels`` is not scored),
so a half-reviewed document is still an honest, if partial, gold document. The PDF is copied
beside its gold file because ``tenderx eval DIR`` reads the document from there.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from extractor.core.errors import UsageError
from extractor.core.schema import load_schema
from extractor.desk.catalog import Catalog
from extractor.desk.review import ReviewLog
from extractor.pipeline.records import atomic_write_text
from extractor.read.pdf import file_sha256

__all__ = ["GoldExport", "export_gold"]


@dataclass
class GoldExport:
    written: list[Path] = field(default_factory=list)
    labels: int = 0
    skipped: list[str] = field(default_factory=list)  # reviewed documents that could not be exported, with why


def export_gold(catalog: Catalog, log: ReviewLog, out_dir: Path) -> GoldExport:
    """Write one gold file (and a copy of the document) per reviewed document into ``out_dir``."""
    latest = log.latest()
    by_doc: dict[str, dict[str, object]] = {}
    reviewers: dict[str, set[str]] = {}
    for (sha, name), d in latest.items():
        by_doc.setdefault(sha, {})[name] = d.value
        reviewers.setdefault(sha, set()).add(d.reviewer)
    if not by_doc:
        raise UsageError(f"no review decisions in {log.path}: review some values first (tenderx serve)")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = GoldExport()
    used: set[str] = set()
    known = set(catalog.ids())
    for doc_id in sorted(by_doc, key=lambda sha: catalog.get(sha).name if sha in known else sha):
        try:
            doc = catalog.get(doc_id)
        except KeyError:
            result.skipped.append(f"{doc_id[:12]}: not in the records any more")
            continue
        if doc.record is None or doc.path is None:
            result.skipped.append(f"{doc.name}: " + ("no record" if doc.record is None else "file not found"))
            continue
        stem = Path(doc.name).stem
        if stem in used:
            stem = f"{stem}-{doc_id[:8]}"
        used.add(stem)
        schema = load_schema(str(doc.record.get("schema") or "tender"))
        labels = {f.name: by_doc[doc_id][f.name] for f in schema.fields if f.name in by_doc[doc_id]}
        target = out_dir / f"{stem}{doc.path.suffix.lower()}"
        if not (target.is_file() and file_sha256(target) == doc_id):
            shutil.copy2(doc.path, target)
        gold = {
            "schema": schema.name,
            "schema_version": schema.version,
            "labels": labels,
            "notes": f"from review by {', '.join(sorted(reviewers[doc_id]))}: "
                     f"{len(labels)} of {len(schema.fields)} fields reviewed (tenderx review --to-gold)",
        }
        gold_path = out_dir / f"{stem}.gold.json"
        atomic_write_text(gold_path, json.dumps(gold, ensure_ascii=False, indent=2) + "\n")
        result.written.append(gold_path)
        result.labels += len(labels)
    return result
