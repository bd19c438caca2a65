"""Records as they may leave the machine: files named relative to the input folder, plus sha256.

A records.jsonl holds each document's absolute path (where the desk finds its pages); a published file
must not, since the path names the user's account and folders. Every export goes through ``publishable``.
"""

from __future__ import annotations

from typing import Any

from extractor.core.paths import published_file

LOCAL_ONLY = ("file_bytes_b64", "content_sketch")  # exact local name bytes; the duplicate sketch


def publishable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``records`` with ``file`` (and ``duplicate_of``) relative, and local-only keys dropped."""
    names = {str(r.get("file", "")): published_file(r) for r in records}
    out = []
    for rec in records:
        pub = {k: v for k, v in rec.items() if k not in LOCAL_ONLY}
        pub["file"] = published_file(rec)
        if rec.get("duplicate_of"):
            original = str(rec["duplicate_of"])
            pub["duplicate_of"] = names.get(original) or original.replace("\\", "/").rsplit("/", 1)[-1]
        out.append(pub)
    return out
