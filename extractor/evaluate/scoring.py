"""Score extraction records against hand-written gold labels.

Implements "Gold label files" and "Scoring" of the tender-schema-v1 contract
and nothing more: users choose models by these numbers, so every rule here is
the contract's rule (normalisation, numeric tolerance, list sets, null cases).
Evidence is checked independently of the extractor's own `verified` flag,
against the PDF text, so a lenient verifier cannot inflate the grounding rate.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.core.errors import EvalInputError, ReadError
from extractor.core.normalize import norm_text
from extractor.core.schema import load_schema
from extractor.read.formats import read_document
from extractor.read.pdf import file_sha256

GOLD_SUFFIX = ".gold.json"
GOLD_DOCUMENT_SUFFIXES = (".pdf", ".html", ".htm", ".docx", ".txt")  # NAME.gold.json pairs with NAME + one
FLAG_FIELD = "restricted_us_tech"
CONTEXT_CHARS = 200  # characters of page text shown on each side of an evidence quote
NULL_LABEL = "null"  # how a null value is named in confusion matrices


# --- normalisation (the contract's "Scoring" preamble) ---


def norm(value: Any) -> str:
    """A scalar as the normalised string the contract compares (booleans as TRUE/FALSE)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return norm_text(str(value))


# --- schema fields ---


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


# --- gold files ---


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


def _is_number(v: Any) -> bool:
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
        if not (_is_number(v) and float(v).is_integer()):
            return "must be an integer"
    elif t == "number":
        if not _is_number(v):
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


# --- comparing one value (the contract's per-type rules) ---


@dataclass
class Outcome:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    correct: bool = False


def number_matches(pred: float, gold: float) -> bool:
    """|pred − gold| ≤ max(1, 0.001·|gold|)."""
    return abs(pred - gold) <= max(1.0, 0.001 * abs(gold))


def _as_number(v: Any) -> float | None:
    if _is_number(v):
        return float(v)
    if isinstance(v, str):
        try:
            x = float(unicodedata.normalize("NFKC", v).replace(",", "").strip())
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def _item_set(v: Any) -> set[str]:
    if v is None:
        return set()
    items = v if isinstance(v, (list, tuple, set)) else [v]
    return {n for n in (norm(x) for x in items if x is not None) if n}


def is_null(spec: FieldSpec, v: Any) -> bool:
    """No value: None, an empty list, or a string that normalises to nothing."""
    if v is None:
        return True
    if spec.type == "list":
        return not _item_set(v)
    return not norm(v)


def compare_value(spec: FieldSpec, gold: Any, pred: Any) -> Outcome:
    """TP/FP/FN/TN for one field of one document."""
    if spec.type == "list":
        g, p = _item_set(gold), _item_set(pred)
        return Outcome(tp=len(g & p), fp=len(p - g), fn=len(g - p), tn=int(not g and not p), correct=g == p)
    g_null, p_null = is_null(spec, gold), is_null(spec, pred)
    if g_null and p_null:
        return Outcome(tn=1, correct=True)
    if g_null:
        return Outcome(fp=1)
    if p_null:
        return Outcome(fn=1)
    if spec.type in ("number", "integer"):
        gp, pp = _as_number(gold), _as_number(pred)
        same = gp is not None and pp is not None and number_matches(pp, gp)
    else:
        same = norm(gold) == norm(pred)
    return Outcome(tp=1, correct=True) if same else Outcome(fp=1, fn=1)


# --- evidence ---


def _compact(text: str) -> tuple[str, list[int]]:
    """Text without whitespace, and for each kept character its offset in ``text``."""
    keep = [i for i, ch in enumerate(text) if not ch.isspace()]
    return "".join(text[i] for i in keep), keep


@dataclass
class QuoteContext:
    """Where a quote sits: the page and the raw text around it."""

    page: int
    before: str
    match: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "before": self.before, "match": self.match, "after": self.after}


class DocumentText:
    """A document's per-page text, with whitespace-insensitive quote lookup."""

    def __init__(self, pages: Sequence[str]) -> None:
        self.pages = list(pages)
        self._compact_pages = [_compact(p) for p in self.pages]
        self._joined = "".join(c for c, _ in self._compact_pages)

    def contains(self, quote: Any) -> bool:
        """Whether ``quote`` occurs in the text, ignoring whitespace (also across pages)."""
        q = _compact(quote)[0] if isinstance(quote, str) else ""
        return bool(q) and q in self._joined

    def context(self, quote: Any, page: Any = None, width: int = CONTEXT_CHARS) -> QuoteContext | None:
        """The quote in its page context: the page it names first, then any other page."""
        q = _compact(quote)[0] if isinstance(quote, str) else ""
        if not q:
            return None
        order = list(range(len(self.pages)))
        if isinstance(page, int) and not isinstance(page, bool) and 1 <= page <= len(self.pages):
            order.remove(page - 1)
            order.insert(0, page - 1)
        for i in order:
            compact, offsets = self._compact_pages[i]
            at = compact.find(q)
            if at < 0:
                continue
            text = self.pages[i]
            start, end = offsets[at], offsets[at + len(q) - 1] + 1
            return QuoteContext(i + 1, text[max(0, start - width):start], text[start:end], text[end:end + width])
        return None


def read_page_texts(pdf: Path) -> list[str]:
    """The document's per-page text as its reader reads it (the text evidence quotes are taken from)."""
    try:
        return [p.text for p in read_document(pdf).pages]
    except ReadError:
        return []  # an unreadable document grounds nothing


# --- results ---


@dataclass
class FieldScore:
    """Counts for one field over the gold set; P/R/F1 are None when undefined (0/0)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    correct: int = 0
    support: int = 0  # documents in which the field was labelled (and so scored)

    def add(self, o: Outcome) -> None:
        self.tp += o.tp
        self.fp += o.fp
        self.fn += o.fn
        self.tn += o.tn
        self.correct += int(o.correct)
        self.support += 1

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.correct, self.support)

    def to_json(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "accuracy": self.accuracy, "support": self.support}

    def counts(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "correct": self.correct}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class FieldError:
    """One wrongly predicted field of one document, with the evidence the prediction gave."""

    field: str
    gold: Any
    predicted: Any
    quote: str | None = None
    page: int | None = None
    grounded: bool | None = None  # None when there was no predicted value to ground
    context: QuoteContext | None = None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "gold": self.gold, "predicted": self.predicted, "quote": self.quote,
                "page": self.page, "grounded": self.grounded,
                "context": self.context.to_json() if self.context else None}


@dataclass
class DocResult:
    file: str
    sha256: str
    predicted: bool  # a prediction record was found for this document
    scored: int = 0
    correct: int = 0
    errors: list[FieldError] = field(default_factory=list)

    @property
    def all_correct(self) -> bool:
        return self.correct == self.scored

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "predicted": self.predicted, "scored": self.scored,
                "correct": self.correct, "errors": [e.to_json() for e in self.errors]}


@dataclass
class Scores:
    """Everything `tenderx eval` reports; `to_json()` is the stable machine-readable form."""

    schema_name: str
    schema_version: int
    fields: dict[str, FieldScore]
    docs: list[DocResult]
    flag_tp: int = 0
    flag_fp: int = 0
    flag_fn: int = 0
    grounding_checked: int = 0
    grounded: int = 0
    grounded_but_wrong: int = 0
    confusion: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    missing_predictions: list[str] = field(default_factory=list)
    failed_predictions: list[str] = field(default_factory=list)  # record found but it carries errors
    unmatched_predictions: list[str] = field(default_factory=list)
    backend: str | None = None
    model: str | None = None

    @property
    def documents(self) -> int:
        return len(self.docs)

    @property
    def micro_f1(self) -> float | None:
        tp = sum(f.tp for f in self.fields.values())
        fp = sum(f.fp for f in self.fields.values())
        fn = sum(f.fn for f in self.fields.values())
        return _ratio(2 * tp, 2 * tp + fp + fn)

    @property
    def all_fields_correct(self) -> float | None:
        return _ratio(sum(d.all_correct for d in self.docs), len(self.docs))

    @property
    def grounding_rate(self) -> float | None:
        return _ratio(self.grounded, self.grounding_checked)

    @property
    def flag_precision(self) -> float | None:
        return _ratio(self.flag_tp, self.flag_tp + self.flag_fp)

    @property
    def flag_recall(self) -> float | None:
        return _ratio(self.flag_tp, self.flag_tp + self.flag_fn)

    def worst_documents(self, n: int | None = None) -> list[DocResult]:
        ranked = sorted((d for d in self.docs if d.errors), key=lambda d: (-len(d.errors), d.file))
        return ranked if n is None else ranked[:n]

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "micro_f1": self.micro_f1,
            "all_fields_correct": self.all_fields_correct,
            "grounding_rate": self.grounding_rate,
            "grounded_but_wrong": self.grounded_but_wrong,
            "restricted_us_tech": {"precision": self.flag_precision, "recall": self.flag_recall},
            "fields": {name: fs.to_json() for name, fs in self.fields.items()},
            "backend": self.backend,
            "model": self.model,
            "schema_version": self.schema_version,
            # extras (after the contract keys)
            "schema": self.schema_name,
            "grounding": {"checked": self.grounding_checked, "grounded": self.grounded},
            "restricted_us_tech_counts": {"tp": self.flag_tp, "fp": self.flag_fp, "fn": self.flag_fn},
            "counts": {name: fs.counts() for name, fs in self.fields.items()},
            "confusion": self.confusion,
            "missing_predictions": self.missing_predictions,
            "failed_predictions": self.failed_predictions,
            "unmatched_predictions": self.unmatched_predictions,
            "documents_detail": [d.to_json() for d in self.docs],
        }


# --- scoring ---


def _record_value(rec: dict[str, Any] | None, name: str) -> tuple[Any, str | None, int | None]:
    """(value, quote, page) of a field in a record; a bare value is accepted too."""
    if rec is None:
        return None, None, None
    raw = (rec.get("fields") or {}).get(name)
    if isinstance(raw, dict) and "value" in raw:
        page = raw.get("page")
        return raw.get("value"), raw.get("quote"), page if isinstance(page, int) else None
    return raw, None, None


def match_records(gold_docs: Sequence[GoldDoc], records: Iterable[dict[str, Any]]
                  ) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Record for each gold doc (by index): by sha256 first, then by file name; the last record wins."""
    records = list(records)
    by_sha: dict[str, dict[str, Any]] = {}
    by_name: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec.get("sha256"):
            by_sha[str(rec["sha256"])] = rec
        if rec.get("file"):
            by_name[Path(str(rec["file"])).name] = rec
    matched: dict[int, dict[str, Any]] = {}
    for i, g in enumerate(gold_docs):
        rec = by_sha.get(g.sha256) or by_name.get(g.name)
        if rec is not None:
            matched[i] = rec
    used = {id(r) for r in matched.values()}
    unmatched = [str(r.get("file") or r.get("sha256") or "?") for r in records if id(r) not in used]
    return matched, unmatched


def _confusion_label(spec: FieldSpec, v: Any) -> str:
    if is_null(spec, v):
        return NULL_LABEL
    n = norm(v)
    return next((e for e in spec.enum if norm(e) == n), str(v))


def _summary(values: Iterable[Any]) -> str | None:
    distinct = sorted({str(v) for v in values if v})
    return ", ".join(distinct) if distinct else None


def score(gold_docs: Sequence[GoldDoc], records: Iterable[dict[str, Any]], schema: Any = None,
          page_texts: Callable[[Path], list[str]] = read_page_texts) -> Scores:
    """Score ``records`` against ``gold_docs`` per the contract.

    ``page_texts(pdf) -> list[str]`` supplies the text evidence is checked
    against (the reader's, via `extractor.read.formats.read_document`, by default).
    """
    spec = schema_spec(schema)
    matched, unmatched = match_records(gold_docs, records)
    scores = Scores(schema_name=spec.name, schema_version=spec.version,
                    fields={f.name: FieldScore() for f in spec.fields}, docs=[],
                    unmatched_predictions=unmatched)
    flag_spec = spec.field(FLAG_FIELD)
    for i, g in enumerate(gold_docs):
        rec = matched.get(i)
        result = DocResult(file=g.name, sha256=g.sha256, predicted=rec is not None)
        if rec is None:
            scores.missing_predictions.append(g.name)
        elif rec.get("errors"):
            scores.failed_predictions.append(g.name)
        text: DocumentText | None = None
        for f in spec.fields:
            pred, quote, page = _record_value(rec, f.name)
            labelled = f.name in g.labels
            outcome = compare_value(f, g.labels.get(f.name), pred) if labelled else None
            grounded: bool | None = None
            if not is_null(f, pred):
                if text is None:
                    text = DocumentText(page_texts(g.pdf))
                grounded = text.contains(quote)
                scores.grounding_checked += 1
                scores.grounded += int(grounded)
                if grounded and outcome is not None and not outcome.correct:
                    scores.grounded_but_wrong += 1
            if outcome is None:
                continue
            scores.fields[f.name].add(outcome)
            result.scored += 1
            result.correct += int(outcome.correct)
            if f.type == "enum":
                row = scores.confusion.setdefault(f.name, {}).setdefault(
                    _confusion_label(f, g.labels[f.name]), {})
                col = _confusion_label(f, pred)
                row[col] = row.get(col, 0) + 1
            if not outcome.correct:
                ctx = text.context(quote, page) if text is not None else None
                result.errors.append(FieldError(f.name, g.labels[f.name], pred, quote, page, grounded, ctx))
        if flag_spec is not None and g.labels.get(FLAG_FIELD) is not None:
            gold_pos = norm(g.labels[FLAG_FIELD]) == "TRUE"
            pred_value = _record_value(rec, FLAG_FIELD)[0]
            pred_pos = pred_value is not None and norm(pred_value) == "TRUE"
            scores.flag_tp += int(gold_pos and pred_pos)
            scores.flag_fp += int(pred_pos and not gold_pos)
            scores.flag_fn += int(gold_pos and not pred_pos)
        scores.docs.append(result)
    used = list(matched.values())
    scores.backend = _summary(r.get("backend") for r in used)
    scores.model = _summary(r.get("model") for r in used)
    return scores


def evaluate_folder(gold_dir: str | Path, backend: str = "auto", predictions: str | Path | None = None,
                    schema: Any = None, **extract_options: Any) -> Scores:
    """Load the gold set, get predictions (a JSONL file, or run extraction on the gold PDFs), score.

    ``extract_options`` go to `extract.extract_documents` (e.g. settings, store_dir, jobs).
    """
    spec = schema_spec(schema)
    gold = load_gold(gold_dir, spec)
    if predictions is not None:
        records = load_predictions(predictions)
        scores = score(gold, records, spec)
    else:
        from extractor.pipeline.extract import extract_documents

        report = extract_documents([g.pdf for g in gold], backend=backend,
                                   schema=schema if schema is not None else spec.name, **extract_options)
        scores = score(gold, report.records, spec)
        scores.backend = report.backend
        scores.model = report.model
    if scores.backend is None and predictions is None:
        scores.backend = backend
    return scores

