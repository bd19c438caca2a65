"""Extraction schemas: YAML/JSON files → fields, a strict JSON Schema, validation.

The schema is the single description of what to extract. The LLM backend
derives from it the response JSON Schema (OpenAI strict mode), the prompt's
field list and a pydantic model that checks the reply; the cache key includes
its fingerprint so editing a schema never serves stale answers.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model, field_validator

from extractor.core.document import FieldValue
from extractor.core.errors import SchemaError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
FIELD_TYPES = ("string", "enum", "date", "number", "integer", "boolean", "list")
DEFAULT_GROUP = "main"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

__all__ = ["Field", "Schema", "SchemaError", "ValidationError", "load_schema", "builtin_schemas"]




@dataclass(frozen=True)
class Field:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    labels: tuple[str, ...] = ()
    enum: tuple[str, ...] | None = None
    group: str = DEFAULT_GROUP

    def type_hint(self) -> str:
        """How the prompt describes the value's type (units and formats of the contract)."""
        hint = {
            "string": "string, as printed in the document",
            "enum": f"one of {', '.join(self.enum or ())}",
            "date": "date as ISO YYYY-MM-DD",
            "number": "plain number in yuan (50万元 -> 500000)",
            "integer": "integer (4000万 -> 40000000)",
            "boolean": "true or false",
            "list": "list of strings (empty list when none)",
        }[self.type]
        if self.nullable and self.type != "list":
            hint += "; null when not stated"
        return hint

    def value_json_schema(self) -> dict[str, Any]:
        base: dict[str, Any]
        if self.type == "list":
            base = {"type": "array", "items": {"type": "string"}}
        elif self.type == "enum":
            base = {"type": "string", "enum": list(self.enum or ())}
        elif self.type == "date":
            base = {"type": "string", "description": "ISO date YYYY-MM-DD"}
        else:
            base = {"type": self.type}
        if self.nullable:
            base["type"] = [base["type"], "null"]
            if "enum" in base:
                base["enum"] = [*base["enum"], None]
        return base


@dataclass(frozen=True)
class Schema:
    name: str
    version: int
    description: str
    fields: list[Field]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def groups(self) -> dict[str, list[Field]]:
        """Fields by group, groups and fields in file order."""
        out: dict[str, list[Field]] = {}
        for f in self.fields:
            out.setdefault(f.group, []).append(f)
        return out

    def fingerprint(self) -> str:
        """Stable hash of everything that changes what the LLM is asked."""
        payload = {"name": self.name, "version": self.version, "description": self.description,
                   "fields": [asdict(f) for f in self.fields]}
        raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=list)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]

    def _select(self, fields: list[str] | list[Field] | None) -> list[Field]:
        if fields is None:
            return list(self.fields)
        return [f if isinstance(f, Field) else self.field(f) for f in fields]

    def json_schema(self, fields: list[str] | list[Field] | None = None) -> dict[str, Any]:
        """Strict JSON Schema (OpenAI structured outputs rules) for the response object."""
        chosen = self._select(fields)
        props = {}
        for f in chosen:
            props[f.name] = {
                "type": "object",
                "properties": {
                    "value": f.value_json_schema(),
                    "page": {"type": ["integer", "null"], "description": "1-based page of the quote"},
                    "quote": {"type": ["string", "null"], "description": "verbatim text from that page"},
                },
                "required": ["value", "page", "quote"],
                "additionalProperties": False,
            }
        return {
            "type": "object",
            "properties": {
                "fields": {
                    "type": "object",
                    "properties": props,
                    "required": [f.name for f in chosen],
                    "additionalProperties": False,
                }
            },
            "required": ["fields"],
            "additionalProperties": False,
        }

    def response_model(self, fields: list[str] | list[Field] | None = None) -> type[BaseModel]:
        return _response_model(self, tuple(f.name for f in self._select(fields)))

    def validate(self, obj: Any, fields: list[str] | list[Field] | None = None) -> dict[str, FieldValue]:
        """Check a decoded reply; raises pydantic ``ValidationError`` (its text is fed back to repair)."""
        model = self.response_model(fields)
        parsed = model.model_validate(obj)
        out: dict[str, FieldValue] = {}
        for name, entry in parsed.fields:  # type: ignore[attr-defined]
            out[name] = FieldValue(_plain(entry.value), entry.page, entry.quote)
        return out

    def validate_partial(self, obj: Any, fields: list[str] | list[Field] | None = None
                         ) -> tuple[dict[str, FieldValue], list[str]]:
        """Keep each field that validates on its own; name the rest (last resort after repair)."""
        chosen = self._select(fields)
        raw = obj.get("fields") if isinstance(obj, dict) else None
        raw = raw if isinstance(raw, dict) else {}
        out: dict[str, FieldValue] = {}
        bad: list[str] = []
        for f in chosen:
            try:
                out.update(self.validate({"fields": {f.name: raw.get(f.name)}}, [f]))
            except ValidationError:
                bad.append(f.name)
        return out, bad

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "description": self.description,
                "fields": [_field_json(f) for f in self.fields]}


def _field_json(f: Field) -> dict[str, Any]:
    d: dict[str, Any] = {"name": f.name, "type": f.type, "nullable": f.nullable, "group": f.group,
                         "description": f.description, "labels": list(f.labels)}
    if f.enum is not None:
        d["enum"] = list(f.enum)
    return d


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _check_date(v: str | None) -> str | None:
    if v is None:
        return v
    if not _DATE_RE.match(v):
        raise ValueError("date must be ISO YYYY-MM-DD")
    _dt.date.fromisoformat(v)
    return v


def _value_type(f: Field) -> Any:
    t: Any = {
        "string": str,
        "date": str,
        "number": float,
        "integer": int,
        "boolean": bool,
        "list": list[str],
    }.get(f.type)
    if f.type == "enum":
        t = Literal[tuple(f.enum or ())]
    if f.nullable:
        t = t | None
    return t


def _entry_model(schema: Schema, f: Field) -> type[BaseModel]:
    validators: dict[str, Any] = {}
    if f.type == "date":
        validators["iso_date"] = field_validator("value")(classmethod(lambda cls, v: _check_date(v)))
    return create_model(
        f"{schema.name}_{f.name}",
        __config__=ConfigDict(extra="forbid"),
        __validators__=validators,
        value=(_value_type(f), ...),
        page=(int | None, None),
        quote=(str | None, None),
    )


_MODELS: dict[tuple[str, tuple[str, ...]], type[BaseModel]] = {}


def _response_model(schema: Schema, names: tuple[str, ...]) -> type[BaseModel]:
    key = (schema.fingerprint(), names)
    if key not in _MODELS:
        entries = {n: (_entry_model(schema, schema.field(n)), ...) for n in names}
        fields_model = create_model(f"{schema.name}_fields", __config__=ConfigDict(extra="forbid"),
                                    **entries)  # type: ignore[call-overload]
        _MODELS[key] = create_model(f"{schema.name}_response", fields=(fields_model, ...))
    return _MODELS[key]


def builtin_schemas() -> list[str]:
    return sorted(p.stem for p in SCHEMAS_DIR.glob("*.yaml"))


def load_schema(name_or_path: str | Path = "tender") -> Schema:
    """A built-in schema by name (``extractor/schemas/NAME.yaml``) or a YAML/JSON file by path."""
    if isinstance(name_or_path, Schema):
        return name_or_path
    text_arg = str(name_or_path)
    path = Path(text_arg)
    looks_like_path = isinstance(name_or_path, Path) or path.suffix.lower() in (".yaml", ".yml", ".json") \
        or "/" in text_arg or "\\" in text_arg
    if not looks_like_path:
        builtin = SCHEMAS_DIR / f"{text_arg}.yaml"
        if not builtin.exists():
            raise SchemaError(f"unknown schema {text_arg!r}: built-in schemas are "
                              f"{', '.join(builtin_schemas())}, or pass a .yaml/.json file")
        path = builtin
    if not path.is_file():
        raise SchemaError(f"schema file not found: {path}")
    try:
        raw_text = path.read_text(encoding="utf-8")
        data = json.loads(raw_text) if path.suffix.lower() == ".json" else yaml.safe_load(raw_text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise SchemaError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                          f"{str(e).splitlines()[0]}") from e
    return schema_from_dict(data, source=str(path))


def schema_from_dict(data: Any, source: str = "<schema>") -> Schema:
    """Build and check a schema from its decoded file content."""
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: a schema must be a mapping with name, version, fields")
    name = data.get("name")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_-]{1,48}$", name):
        raise SchemaError(f"{source}: 'name' must be a short identifier (letters, digits, _ or -)")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int | str) or not str(version).isdigit():
        raise SchemaError(f"{source}: 'version' must be a whole number")
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise SchemaError(f"{source}: 'fields' must be a non-empty list")
    fields: list[Field] = []
    seen: set[str] = set()
    for i, rf in enumerate(raw_fields, 1):
        where = f"{source}: field #{i}"
        if not isinstance(rf, dict):
            raise SchemaError(f"{where}: must be a mapping")
        fname = rf.get("name")
        if not isinstance(fname, str) or not _NAME_RE.match(fname):
            raise SchemaError(f"{where}: 'name' must be an identifier (letters, digits, _)")
        where = f"{source}: field {fname!r}"
        if fname in seen:
            raise SchemaError(f"{where}: defined twice")
        seen.add(fname)
        ftype = rf.get("type", "string")
        if ftype not in FIELD_TYPES:
            raise SchemaError(f"{where}: type {ftype!r} is not one of {', '.join(FIELD_TYPES)}")
        enum = rf.get("enum")
        if ftype == "enum":
            if not isinstance(enum, list) or not enum or not all(isinstance(e, str) for e in enum):
                raise SchemaError(f"{where}: type enum needs 'enum', a non-empty list of strings")
            enum = tuple(enum)
        elif enum is not None:
            raise SchemaError(f"{where}: 'enum' is only allowed with type enum")
        labels = rf.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str | int) for x in labels):
            raise SchemaError(f"{where}: 'labels' must be a list of strings")
        nullable = rf.get("nullable", True)
        if not isinstance(nullable, bool):
            raise SchemaError(f"{where}: 'nullable' must be true or false")
        description = rf.get("description") or ""
        group = rf.get("group") or DEFAULT_GROUP
        unknown = set(rf) - {"name", "type", "nullable", "description", "labels", "enum", "group"}
        if unknown:
            raise SchemaError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        fields.append(Field(name=fname, type=ftype, nullable=nullable, description=str(description).strip(),
                            labels=tuple(str(x) for x in labels), enum=enum, group=str(group)))
    return Schema(name=name, version=int(version), description=str(data.get("description") or "").strip(),
                  fields=fields)

