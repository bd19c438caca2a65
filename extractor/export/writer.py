"""`tenderx export`: one call from records to a file in the format asked for.

The formats share one entry point so the CLI stays a flag parser and a
library user writes ``export(records, "parquet", Path("out.parquet"))``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.core.errors import UsageError

FORMATS = ("ocds", "ocds-record", "csv", "parquet")
STDOUT = Path("-")  # ``-o -``: write to standard output (for pipes), as Unix tools do


@dataclass
class ExportResult:
    path: Path
    format: str
    rows: int  # releases, records, CSV/Parquet rows
    cases: int


def _write_bytes(path: Path, data: bytes) -> None:
    if path == STDOUT:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def export(records: list[dict[str, Any]], fmt: str, out: Path, *, cases: bool = False, excel: bool = False,
           prefix: str | None = None, published: str | None = None) -> ExportResult:
    """Write ``records`` (or, with ``cases``, their cases) to ``out`` as ``fmt`` (one of FORMATS)."""
    from extractor.cases.view import build_cases
    from extractor.export import ocds, tabular
    from extractor.export.publish import publishable

    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if excel and fmt != "csv":
        raise UsageError("--excel applies to --format csv only")
    if cases and fmt.startswith("ocds"):
        raise UsageError("OCDS output is already per case (one ocid per case); use --format ocds-record for one "
                         "compiled record per case")
    records = publishable(records)  # files relative to the input folder: no local path leaves the machine
    built = build_cases(records)
    if fmt in ("ocds", "ocds-record"):
        pkg = ocds.release_package(ocds.releases_for_cases(records, built, prefix or ocds.DEFAULT_PREFIX, published),
                                   published=published)
        if fmt == "ocds-record":
            from extractor.export.compile import compile_records

            pkg = compile_records(pkg, published=published)
        n = len(pkg.get("releases") or pkg.get("records") or [])
        _write_bytes(out, (json.dumps(pkg, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        return ExportResult(out, fmt, n, len(built))
    if cases:
        rows, types = tabular.case_rows(built), tabular.case_types()
    else:
        case_of = {f: c["id"] for c in built for n in c["notices"]
                   for f in (n["file"], *(cp["file"] for cp in n.get("copies") or []))}
        rows, types = tabular.record_rows(records, case_of), tabular.field_types(records)
    if fmt == "csv":
        _write_bytes(out, tabular.to_csv(rows, excel=excel))
    else:
        _write_bytes(out, tabular.to_parquet(rows, types))
    return ExportResult(out, fmt, len(rows), len(built))
