"""Gold label files: the schema's fields as the scorer sees them, the contract's normalisation,
and reading and checking ``NAME.gold.json`` files and prediction JSONL."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.core.errors import EvalInputError
from extractor.core.normalize import norm_text
from extractor.core.schema import load_schema
from extractor.read.pdf import file_sha256

GOLD_SUFFIX = ".gold.json"
GOLD_DOCUMENT_SUFFIXES = (".pdf", ".html", ".htm", ".docx", ".txt")  # NAME.gold.json pairs with NAME + one



def norm(value: Any) -> str:
    """A scalar as the normalised string the contract compares (booleans as TRUE/FALSE)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return norm_text(str(value))



@dataclass(frozen=True)
class FieldSpec:
    """What scoring needs to know about one schema field."""

    name: str
    type: str
    nullable: bool = True
    enum: tuple[str, ...] = ()



@dataclass(frozen=True)
class SchemaSpec:
    name: str
    version: int
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)



def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)



def schema_spec(schema: Any = None) -> SchemaSpec:
    """Field types of a schema object from `extractor.core.schema`, a dict, a name/path, or the default `tender`."""
    if isinstance(schema, SchemaSpec):
        return schema
    if schema is None or isinstance(schema, (str, Path)):
        schema = load_schema(schema or "tender")
    fields = _get(schema, "fields") or []
    if isinstance(fields, dict):
        fields = list(fields.values())
    specs = []
    for f in fields:
        ftype = _get(f, "type")
        ftype = getattr(ftype, "value", ftype)  # enums of types
        specs.append(FieldSpec(
            name=str(_get(f, "name")),
            type=str(ftype),
            nullable=bool(_get(f, "nullable", True)),
            enum=tuple(str(e) for e in (_get(f, "enum") or ())),
        ))
    return SchemaSpec(str(_get(schema, "name")), int(_get(schema, "version")), tuple(specs))



@dataclass
class GoldDoc:
    """One labelled document (``pdf``: its path, whatever the format), its sha256 and the labels scored."""

    pdf: Path
    gold_path: Path
    sha256: str
    labels: dict[str, Any]
    schema: str
    schema_version: int

    @property
    def name(self) -> str:
        return self.pdf.name



def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)



def _label_problem(spec: FieldSpec, v: Any) -> str | None:
    """Why a gold value does not fit its field's type, or None when it fits."""
    if v is None:
        return None if spec.nullable else "is null but the field is not nullable"
    t = spec.type
    if t == "list":
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            return "must be a list of strings"
    elif t == "boolean":
        if not isinstance(v, bool):
            return "must be true or false"
    elif t == "integer":
        if not (is_number(v) and float(v).is_integer()):
            return "must be an integer"
    elif t == "number":
        if not is_number(v):
            return "must be a number"
    elif t == "date":
        try:
            ok = isinstance(v, str) and dt.date.fromisoformat(v).isoformat() == v
        except ValueError:
            ok = False
        if not ok:
            return "must be an ISO date YYYY-MM-DD"
    elif not isinstance(v, str):
        return "must be a string"
    elif t == "enum" and spec.enum and v not in spec.enum:
        return f"must be one of {', '.join(spec.enum)}"
    return None



def parse_gold_file(path: Path, schema: SchemaSpec) -> tuple[dict[str, Any], str, int]:
    """Labels of one gold file, validated against the schema; EvalInputError names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise EvalInputError(f"{path}: not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise EvalInputError(f"{path}: must be a JSON object with schema, schema_version, labels")
    if data.get("schema") != schema.name:
        raise EvalInputError(f"{path}: schema is {data.get('schema')!r}, expected {schema.name!r}")
    version = data.get("schema_version")
    if isinstance(version, bool) or version != schema.version:
        raise EvalInputError(f"{path}: schema_version is {version!r}, expected {schema.version}")
    labels = data.get("labels")
    if not isinstance(labels, dict):
        raise EvalInputError(f"{path}: 'labels' must be an object of field: value")
    for name, value in labels.items():
        spec = schema.field(name)
        if spec is None:
            raise EvalInputError(f"{path}: unknown field {name!r} (not in schema {schema.name} v{schema.version})")
        problem = _label_problem(spec, value)
        if problem:
            raise EvalInputError(f"{path}: field {name!r} {problem} (got {value!r})")
    return labels, schema.name, schema.version



def load_gold(folder: str | Path, schema: Any = None) -> list[GoldDoc]:
    """Every `NAME.gold.json` beside its document under ``folder`` (recursive), validated.

    The document is the first of ``NAME.pdf|html|htm|docx|txt`` that exists (``GOLD_DOCUMENT_SUFFIXES``).
    A gold file without its document is an error; documents without gold are ignored.
    """
    root = Path(folder)
    if not root.is_dir():
        raise EvalInputError(f"{root}: gold folder not found")
    spec = schema_spec(schema)
    docs = []
    for gold_path in sorted(root.rglob(f"*{GOLD_SUFFIX}")):
        stem = gold_path.name[: -len(GOLD_SUFFIX)]
        pdf = next((p for p in (gold_path.with_name(stem + s) for s in GOLD_DOCUMENT_SUFFIXES) if p.is_file()),
                   gold_path.with_name(stem + ".pdf"))
        if not pdf.is_file():
            raise EvalInputError(f"{gold_path}: no document beside it (expected {stem}"
                                 f".{'|'.join(s.lstrip('.') for s in GOLD_DOCUMENT_SUFFIXES)})")
        labels, name, version = parse_gold_file(gold_path, spec)
        docs.append(GoldDoc(pdf, gold_path, file_sha256(pdf), labels, name, version))
    if not docs:
        raise EvalInputError(f"{root}: no *{GOLD_SUFFIX} files found")
    return docs



def load_predictions(path: str | Path) -> list[dict[str, Any]]:
    """Records of an extraction JSONL file (one per line; blank lines skipped)."""
    p = Path(path)
    if not p.is_file():
        raise EvalInputError(f"{p}: predictions file not found")
    records = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise EvalInputError(f"{p}:{n}: not valid JSON ({e})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("fields", {}), dict):
            raise EvalInputError(f"{p}:{n}: a record must be an object with a 'fields' object")
        records.append(rec)
    return records

