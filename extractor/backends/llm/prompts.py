"""Prompt files and the chat messages built from them.

Prompts live as versioned files (``prompts/KIND.VERSION.ROLE.md``) so a
reviewer can read them and the cache can key on their version. The document
goes into a delimited data block; anything in the text that looks like our
delimiters or page markers is neutralised so a document cannot close the
block or fake a page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractor.core.document import Chunk, Page
from extractor.core.errors import PromptNotFound
from extractor.core.schema import Field, Schema
from extractor.search.context import TABLES_HEADING

PROMPT_VERSION = "v1"

_PACKAGE_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"  # installed wheel (force-included)
_REPO_PROMPTS = Path(__file__).resolve().parents[3] / "prompts"  # source checkout

_DELIMITER_RE = re.compile(r"<\s*/?\s*document\b[^>]*>", re.IGNORECASE)
_MARKER_RE = re.compile(r"\[\s*pages?\s*\d+(?:\s*-\s*\d+)?\s*\]", re.IGNORECASE)
_SHAPE_VALUE = {"string": '"..."', "enum": '"..."', "date": '"YYYY-MM-DD"', "number": "0",
                "integer": "0", "boolean": "false", "list": '["..."]'}




def prompts_dir() -> Path:
    """The folder holding the prompt files: the package copy when installed, else the repo's."""
    for d in (_PACKAGE_PROMPTS, _REPO_PROMPTS):
        if d.is_dir() and any(d.glob("*.md")):
            return d
    raise PromptNotFound(f"no prompt files found in {_PACKAGE_PROMPTS} or {_REPO_PROMPTS}")


@lru_cache(maxsize=32)
def load_prompt(name: str, version: str = PROMPT_VERSION) -> str:
    """Read a prompt: ``load_prompt("extract.system", "v1")`` → ``extract.v1.system.md``."""
    kind, _, role = name.partition(".")
    if not role:
        raise ValueError(f"prompt name must be KIND.ROLE (e.g. extract.system), got {name!r}")
    path = prompts_dir() / f"{kind}.{version}.{role}.md"
    if not path.is_file():
        raise PromptNotFound(f"prompt file not found: {path}")
    return path.read_text(encoding="utf-8").strip()


def neutralise(text: str) -> str:
    """Defuse delimiter and page-marker look-alikes inside document text."""
    text = _DELIMITER_RE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    return _MARKER_RE.sub(lambda m: "(" + m.group(0)[1:-1] + ")", text)


def _marker(first: int, last: int) -> str:
    return f"[page {first}]" if first == last else f"[page {first}-{last}]"


def render_document(parts: Sequence[Page] | Sequence[Chunk]) -> str:
    """Pages (raw text, so quotes are verbatim) or retrieved chunks, each after its page marker. A
    page's tables follow its text as Markdown whose cells carry ids (``[p1t1r2c3]``): rows and
    columns the flattened text lost, and an id the model may give as its quote."""
    blocks: list[str] = []
    for part in parts:
        if isinstance(part, Page):
            text = neutralise(part.text or part.clean)
            tables = "\n\n".join(neutralise(t.to_markdown()) for t in part.tables)
            if tables:
                text += f"\n\n{TABLES_HEADING}\n{tables}"
            blocks.append(f"{_marker(part.number, part.number)}\n{text}")
        else:
            blocks.append(f"{_marker(part.page_start, part.page_end)}\n{neutralise(part.text)}")
    return "\n\n".join(blocks)


def describe_fields(fields: Sequence[Field]) -> str:
    lines = []
    for f in fields:
        line = f"- {f.name} ({f.type_hint()})"
        if f.description:
            line += f": {' '.join(f.description.split())}"
        if f.labels:
            line += f" [labels: {', '.join(f.labels)}]"
        lines.append(line)
    return "\n".join(lines)


def response_shape(fields: Sequence[Field]) -> str:
    inner = ",\n".join(f'    "{f.name}": {{"value": {_SHAPE_VALUE[f.type]}, "page": 1, "quote": "..."}}'
                       for f in fields)
    return '{\n  "fields": {\n' + inner + "\n  }\n}"


def build_messages(schema: Schema, pages: Sequence[Page] | Sequence[Chunk],
                   fields: Sequence[Field] | Sequence[str] | None = None,
                   version: str = PROMPT_VERSION) -> list[dict[str, Any]]:
    """System + user messages asking for ``fields`` (default: all) from ``pages`` or chunks."""
    chosen = [f if isinstance(f, Field) else schema.field(f) for f in (fields or schema.fields)]
    user = load_prompt("extract.user", version)
    # document last: its (already neutralised) text is never searched for placeholders
    user = user.replace("{schema_fields}", describe_fields(chosen))
    user = user.replace("{response_shape}", response_shape(chosen))
    head, sep, tail = user.partition("{document}")
    user = head + render_document(pages) + tail if sep else user
    return [{"role": "system", "content": load_prompt("extract.system", version)},
            {"role": "user", "content": user}]


def repair_message(error: str, version: str = PROMPT_VERSION) -> dict[str, Any]:
    """The follow-up user turn that feeds a parse/validation error back to the model."""
    return {"role": "user", "content": load_prompt("repair.user", version).replace("{error}", error)}
