"""Check tenderx's OCDS output against the published OCDS 1.1 schemas, offline.

An export that a validator rejects is worse than none; this runs the
published JSON schemas (local copies, see extractor/data/ocds/README.md) with
jsonschema, resolving the packages' references to the release schema locally.
"""

from __future__ import annotations

import json
from typing import Any

from extractor.export.ocds import OCDS_DIR, release_schema


def _load(name: str) -> dict[str, Any]:
    return json.loads((OCDS_DIR / name).read_text(encoding="utf-8"))


def _validator(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    resources = []
    for name in ("release-schema.json", "release-package-schema.json", "record-package-schema.json"):
        doc = release_schema() if name == "release-schema.json" else _load(name)
        resources.append((doc["id"], Resource.from_contents(doc, default_specification=DRAFT4)))
    registry = Registry().with_resources(resources)
    return Draft4Validator(schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def _messages(validator: Any, data: Any, where: str = "") -> list[str]:
    return [f"{where}{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]


def release_errors(release: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """Why ``release`` is not a valid OCDS 1.1 release (empty when it is)."""
    return _messages(_validator(schema or release_schema()), release)


def release_package_errors(package: dict[str, Any]) -> list[str]:
    """Errors of a release package: the package schema, then each release against the release schema."""
    errs = _messages(_validator(_load("release-package-schema.json")), package)
    for i, rel in enumerate(package.get("releases") or []):
        errs += [f"releases/{i}/{m}" for m in release_errors(rel)]
    return errs


def record_package_errors(package: dict[str, Any]) -> list[str]:
    """Errors of a record package: the package schema, then each compiled release against the release schema."""
    errs = _messages(_validator(_load("record-package-schema.json")), package)
    for i, rec in enumerate(package.get("records") or []):
        if "compiledRelease" in rec:
            errs += [f"records/{i}/compiledRelease/{m}" for m in release_errors(rec["compiledRelease"])]
    return errs
