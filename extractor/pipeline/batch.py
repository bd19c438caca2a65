"""Mass extraction through the provider's Batch API, ending in the same records as the online path.

``submit_batch`` reads the documents, plans each one's LLM requests exactly as the
online path would (same prompts, same retrieval, same cache keys), uploads them and
keeps a job file beside the store. ``collect_batch`` downloads the answers, checks
and caches each under the online path's cache key, then runs the ordinary
extraction with the cache as the only source: the records, evidence checks and
flags are the online path's own. Requests the batch did not answer are listed; a
plain ``tenderx extract`` then retries just those online (the rest come from the
cache). Collecting twice is safe. A malformed line in the output file is listed as a bad line
and costs no good answer; an answer with some invalid fields keeps its valid ones (as the
online path does after its repair round), and the invalid ones are listed and asked again online.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extractor.backends.llm.batch_api import ENDPOINT, BatchClient, BatchState
from extractor.backends.llm.cache import ResponseCache
from extractor.backends.llm.decoding import decode_json
from extractor.backends.llm.extractor import LLMExtractor
from extractor.backends.llm.pricing import estimate_batch_cost, estimate_cost
from extractor.core.config import DEFAULT_STORE, LLMSettings
from extractor.core.document import FieldValue
from extractor.core.errors import ReadError, UsageError
from extractor.core.schema import Schema, ValidationError, load_schema
from extractor.pipeline.extract import ExtractProgress, ExtractReport, document_retriever, extract_documents
from extractor.pipeline.records import atomic_write_text


@dataclass
class BatchJob:
    """What tenderx remembers of a submitted batch (``STORE/batches/ID.json``)."""

    id: str
    model: str
    schema: str
    submitted: str
    files: list[str]
    requests: dict[str, dict[str, Any]]  # custom_id -> file, sha256, group, cache key, fields
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason) not submitted

    @classmethod
    def load(cls, store_dir: Path, batch_id: str) -> BatchJob:
        path = job_path(store_dir, batch_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"no batch {batch_id!r} was submitted from store {store_dir} "
                             f"(looked for {path})") from None
        except ValueError as e:
            raise UsageError(f"{path} is not a readable batch job file ({e})") from None
        data["skipped"] = [tuple(x) for x in data.get("skipped", [])]
        return cls(**data)

    def save(self, store_dir: Path) -> Path:
        path = job_path(store_dir, self.id)
        atomic_write_text(path, json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n")
        return path


@dataclass
class CollectReport:
    """What collecting a batch found, and the extraction it fed."""

    state: BatchState
    answered: int
    failed: list[tuple[str, str, str]]  # (custom_id, file, reason)
    prompt_tokens: int
    completion_tokens: int
    cost_batch_usd: float | None
    cost_online_usd: float | None
    extraction: ExtractReport
    bad_lines: list[str] = field(default_factory=list)  # output-file lines that are not answers


def job_path(store_dir: Path, batch_id: str) -> Path:
    safe = "".join(ch for ch in batch_id if ch.isalnum() or ch in "-_")
    return Path(store_dir) / "batches" / f"{safe}.json"


def submit_batch(paths: list[Path], *, settings: LLMSettings, schema: str = "tender",
                 store_dir: Path = DEFAULT_STORE) -> BatchJob:
    """Plan every document's LLM requests, upload them as one batch and remember the job."""
    from extractor.read.formats import is_failure, iter_input_paths
    from extractor.read.guard import GuardedReader

    if not settings.model:
        raise UsageError("--batch needs a model: set TENDERX_MODEL or pass --model")
    sch = load_schema(schema)
    extractor = LLMExtractor(settings, None)
    files, path_errors = iter_input_paths([Path(p) for p in paths])
    skipped = [(str(p), f"{e.kind}: {e}") for p, e in path_errors if is_failure(e)]
    lines: list[dict[str, Any]] = []
    requests: dict[str, dict[str, Any]] = {}
    with GuardedReader.from_env() as reader:
        for f in files:
            try:
                doc = reader.read(f)
            except ReadError as e:
                skipped.append((str(f), f"{e.kind}: {e}"))
                continue
            if doc.needs_ocr:
                skipped.append((str(f), "needs_ocr: no text layer"))
                continue
            for unit in extractor.plan(doc, sch, document_retriever(doc, store_dir)):
                custom_id = f"{doc.sha256}:{unit.group}"
                lines.append({"custom_id": custom_id, "method": "POST", "url": ENDPOINT,
                              "body": extractor.request_body(sch, unit)})
                requests[custom_id] = {"file": str(f), "sha256": doc.sha256, "group": unit.group,
                                       "key": extractor.unit_key(doc, sch, unit),
                                       "fields": [fl.name for fl in unit.fields]}
    if not lines:
        raise UsageError("nothing to submit: no readable document" + (f" ({skipped[0][1]})" if skipped else ""))
    batch_id = BatchClient(settings).submit(lines, metadata={"tool": "tenderx", "schema": sch.name})
    job = BatchJob(batch_id, settings.model, sch.name, time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                   sorted({r["file"] for r in requests.values()}), requests, skipped)
    job.save(store_dir)
    return job


def batch_status(batch_id: str, *, settings: LLMSettings, store_dir: Path = DEFAULT_STORE
                 ) -> tuple[BatchJob, BatchState]:
    job = BatchJob.load(store_dir, batch_id)
    return job, BatchClient(settings).state(batch_id)


def collect_batch(batch_id: str, *, settings: LLMSettings, store_dir: Path = DEFAULT_STORE,
                  out: Path | None = None, csv: Path | None = None, jobs: int = 4,
                  progress: ExtractProgress | None = None) -> CollectReport:
    """Merge an ended batch's answers into the cache, then into records (safe to repeat)."""
    job = BatchJob.load(store_dir, batch_id)
    settings = LLMSettings(**{**asdict(settings), "model": job.model})
    client = BatchClient(settings)
    state = client.state(batch_id)
    if not state.done:
        raise UsageError(f"batch {batch_id} is {state.status} ({state.completed}/{state.total} done): collect it "
                         f"once it has ended (`tenderx batch status {batch_id} --wait`)")
    sch = load_schema(job.schema)
    answers = client.lines(state.output_file_id) if state.output_file_id else []
    answers += client.lines(state.error_file_id) if state.error_file_id else []
    cache = ResponseCache(Path(store_dir) / "llm-cache.sqlite")
    failed: list[tuple[str, str, str]] = []
    bad_lines: list[str] = []
    seen: set[str] = set()
    prompt = completion = answered = 0
    for line in answers:
        req = job.requests.get(line.custom_id)
        if req is None:
            if line.body is None and line.error:
                bad_lines.append(line.error if not line.custom_id else f"{line.custom_id[:24]}…: {line.error}")
            continue
        if line.custom_id in seen:
            continue
        seen.add(line.custom_id)
        if line.warning:
            bad_lines.append(line.warning)
        if line.body is None:
            failed.append((line.custom_id, req["file"], line.error or "failed"))
            continue
        usage = line.body.get("usage") or {}
        prompt += int(usage.get("prompt_tokens") or 0)
        completion += int(usage.get("completion_tokens") or 0)
        values, bad = _answer_values(sch, line.body, req["fields"])
        if not values and bad:
            failed.append((line.custom_id, req["file"], f"invalid answer: {bad}"))
            continue
        if bad:
            failed.append((line.custom_id, req["file"], f"kept the valid fields; invalid: {bad}"))
        cache.put(req["key"], {"fields": {n: {"value": fv.value, "page": fv.page, "quote": fv.quote}
                                          for n, fv in values.items()},
                               "usage": {"calls": 1, "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                                         "completion_tokens": int(usage.get("completion_tokens") or 0)},
                               "mode": "json_schema", "batch": batch_id, **({"partial": True} if bad else {})})
        answered += 1
    for custom_id, req in job.requests.items():
        if custom_id not in seen:
            failed.append((custom_id, req["file"], f"no answer (batch {state.status})"))
    extraction = extract_documents([Path(f) for f in job.files], backend="llm", schema=sch, out=out, csv=csv,
                                   jobs=jobs, settings=settings, store_dir=store_dir, progress=progress,
                                   cache_only=True)
    return CollectReport(state, answered, failed, prompt, completion,
                         estimate_batch_cost(job.model, prompt, completion),
                         estimate_cost(job.model, prompt, completion), extraction, bad_lines)


def _answer_values(sch: Schema, body: dict[str, Any], fields: list[str]) -> tuple[dict[str, FieldValue], str]:
    """The fields of one batch answer: all of them when it validates, else each field that validates
    on its own (the online path's last resort); and, when some did not, a one-line reason."""
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    try:
        obj = decode_json(content if isinstance(content, str) else "")
    except ValueError as e:
        return {}, str(e).splitlines()[0][:120] if str(e) else "not JSON"
    try:
        return sch.validate(obj, fields), ""
    except ValidationError as e:
        values, bad = sch.validate_partial(obj, fields)
        names = ", ".join(b if isinstance(b, str) else b.name for b in bad)
        return values, f"{names or 'fields'} ({str(e).splitlines()[0][:80]})"
