"""Scoring records against gold per the contract, and ``evaluate_folder`` (extract, then score)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from extractor.evaluate.gold import FieldSpec, GoldDoc, load_gold, load_predictions, norm, schema_spec
from extractor.evaluate.grounding import DocumentText, read_page_texts
from extractor.evaluate.intermediaries import score_intermediaries
from extractor.evaluate.lots import score_lots
from extractor.evaluate.matching import compare_value, is_null
from extractor.evaluate.results import FLAG_FIELD, NULL_LABEL, DocResult, FieldError, FieldScore, Scores


def _record_value(rec: dict[str, Any] | None, name: str) -> tuple[Any, str | None, int | None]:
    """(value, quote, page) of a field in a record; a bare value is accepted too."""
    if rec is None:
        return None, None, None
    raw = (rec.get("fields") or {}).get(name)
    if isinstance(raw, dict) and "value" in raw:
        page = raw.get("page")
        return raw.get("value"), raw.get("quote"), page if isinstance(page, int) else None
    return raw, None, None



def _record_mark(rec: dict[str, Any] | None, name: str, key: str) -> Any:
    """A mark a record gives a field (``confidence``: high/low, ``verified``: true/false), or None."""
    raw = ((rec or {}).get("fields") or {}).get(name)
    return raw.get(key) if isinstance(raw, dict) else None


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
        found = by_sha.get(g.sha256) or by_name.get(g.name)
        if found is not None:
            matched[i] = found
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
            if not is_null(f, pred):
                scores.calibration.add(f.name, _record_mark(rec, f.name, "confidence"), outcome.correct,
                                       _record_mark(rec, f.name, "verified"))
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
    scores.intermediaries = score_intermediaries(gold_docs, matched)
    lots = score_lots(gold_docs, matched)
    scores.lots = lots.to_json() if lots is not None else None
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

