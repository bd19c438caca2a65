"""Compiled OCDS records (one per ocid) by ocdskit/ocdsmerge, offline.

Merging releases has rules (identifier merge, omitWhenMerged, wholeListMerge)
that the OCDS maintainers implement in ocdsmerge; tenderx does not write its
own. The schema that drives the rules is the local 1.1.5 copy patched with the
evidence extension, passed explicitly so nothing is fetched.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from extractor.export.ocds import OCDS_DIR, release_schema


@cache
def patched_release_schema() -> dict[str, Any]:
    """The OCDS 1.1.5 release schema with the tenderx evidence extension merged in (JSON Merge Patch)."""
    import json_merge_patch

    patch = json.loads((OCDS_DIR / "evidence-extension" / "release-schema.json").read_text(encoding="utf-8"))
    return json_merge_patch.merge(json.loads(json.dumps(release_schema())), patch)


def compile_records(package: dict[str, Any], published: str | None = None) -> dict[str, Any]:
    """A release package → an OCDS record package: per ocid, the releases and the compiled release."""
    from ocdskit.combine import merge

    out = list(merge([package], uri=package.get("uri", ""), publisher=package.get("publisher"),
                     published_date=published or package.get("publishedDate", ""), version="1.1",
                     schema=json.loads(json.dumps(patched_release_schema())), return_package=True))
    return out[0]
