"""Reviewed documents → a gold set (``NAME.pdf`` + ``NAME.gold.json``, tender-schema-v1 "Gold label files").

Only fields a person decided on become labels (a field absent from ``labels`` is not scored),
so a half-reviewed document is still an honest, if partial, gold document. The PDF is copied
beside its gold file because ``tenderx eval DIR`` reads the document from there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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
    kept: int = 0  # labels already in an existing gold file, kept
    conflicts: list[str] = field(default_factory=list)  # "NAME: field: gold X, review Y (kept X)"


def export_gold(catalog: Catalog, log: ReviewLog, out_dir: Path, force: bool = False) -> GoldExport:
    """Write one gold file (and a copy of the document) per reviewed document into ``out_dir``.

    An existing gold file (perhaps written by hand) is merged, never silently replaced: its labels
    stay, the reviewed ones are added, and a field where the two disagree keeps the existing label
    and is reported (``force``: the review wins). A gold file that cannot be read is left alone
    unless ``force``. Files are created, never written through: a symlink planted in the folder is
    replaced by a file, and whatever it pointed to is not touched."""
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
        reviewed = {f.name: by_doc[doc_id][f.name] for f in schema.fields if f.name in by_doc[doc_id]}
        gold_path = out_dir / f"{stem}.gold.json"
        existing = _existing_labels(gold_path)
        if existing is None and not force:
            result.skipped.append(f"{gold_path.name}: exists but is not a gold file tenderx can read "
                                  "(left alone; --force replaces it)")
            continue
        labels = dict(existing or {})
        for name, value in reviewed.items():
            if name in labels and labels[name] != value and not force:
                result.conflicts.append(f"{stem}: {name}: gold {labels[name]!r}, review {value!r} (kept the gold label)")
                continue
            labels[name] = value
        result.kept += sum(1 for n in (existing or {}) if n not in reviewed or labels[n] != reviewed[n])
        target = out_dir / f"{stem}{doc.path.suffix.lower()}"
        if target.is_symlink() or not (target.is_file() and file_sha256(target) == doc_id):
            _copy_as_new_file(doc.path, target)
        gold = {
            "schema": schema.name,
            "schema_version": schema.version,
            "labels": labels,
            "notes": f"from review by {', '.join(sorted(reviewers[doc_id]))}: "
                     f"{len(reviewed)} of {len(schema.fields)} fields reviewed (tenderx review --to-gold)"
                     + (f"; {len(labels) - len(reviewed)} earlier labels kept" if existing else ""),
        }
        atomic_write_text(gold_path, json.dumps(gold, ensure_ascii=False, indent=2) + "\n")  # temp file + rename
        result.written.append(gold_path)
        result.labels += len(labels)
    return result


def _existing_labels(path: Path) -> dict[str, object] | None:
    """The labels of a gold file already there ({} when there is none; None when it is not one)."""
    if not path.exists() and not path.is_symlink():
        return {}
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    labels = data.get("labels") if isinstance(data, dict) else None
    return dict(labels) if isinstance(labels, dict) else None


def _copy_as_new_file(src: Path, target: Path) -> None:
    """Copy into a new temp file (O_EXCL) in the target's folder, then rename over the name:
    a rename replaces a symlink itself, where ``shutil.copy2`` would write into what it points to."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            shutil.copyfileobj(fh, out)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(src, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
