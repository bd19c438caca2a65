"""`tenderx serve`: the desk as a Starlette app — three pages and the JSON API they use.

Pages: ``/`` overview, ``/search`` hybrid search, ``/doc/{id}`` one document with its fields and
the evidence panel. API under ``/api/`` (documented in the README, "Desk"). Documents are
addressed by sha256; everything shown comes from the records, the store and the review log.
Blocking work (reading PDFs, rendering, search) runs in the thread pool, never on the event loop;
reading and rendering run in bounded worker processes (time, memory, pixels per page).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from extractor.core.errors import ReadError
from extractor.core.schema import Schema, SchemaError, load_schema
from extractor.desk.catalog import Catalog, row_order, summary_row
from extractor.desk.evidence import field_evidence, highlight_terms, mark_terms, page_evidence, window
from extractor.desk.hits import HitFilter, document_facts, group_hits
from extractor.desk.pages import PageImages
from extractor.desk.review import ReviewError, ReviewLog, review_path_for
from extractor.desk.security import Guard

__all__ = ["DeskConfig", "create_app", "templates_env", "document_view", "overview"]

HERE = Path(__file__).resolve().parent
PAGE_SCALE = 2.0  # rendered pixels per PDF point (sharp enough for 9-point Chinese)
_TOO_COSTLY = ("timeout", "memory", "too_large")
MAX_BODY = 256 * 1024  # bytes: a decision is a value and a quote; anything bigger is refused (413)


@dataclass
class DeskConfig:
    records: Path | None = None
    store: Path | None = None
    review: Path | None = None  # default: beside the records
    token: str | None = None
    loopback_only: bool = True
    reviewer: str = field(default_factory=lambda: _default_reviewer())


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment
        return "reviewer"


def templates_env() -> jinja2.Environment:
    """Jinja with autoescape on for everything: document text is data, never markup."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["amount"] = _amount
    env.filters["shown"] = shown_value
    return env


def _amount(v: Any) -> str:
    if not isinstance(v, int | float):
        return ""
    return f"{v / 10000:,.2f} 万元" if abs(v) >= 10000 else f"{v:,.0f} 元"


def shown_value(v: Any) -> str:
    """A field value as a reviewer reads it (lists joined, null as an em dash)."""
    if v is None or v == []:
        return "—"
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class Desk:
    """The state one server holds: catalogue, page renderer, review log, schemas."""

    def __init__(self, config: DeskConfig) -> None:
        self.config = config
        self.images = PageImages()  # bounded worker processes, shared with the catalogue's page reads
        self.catalog = Catalog(config.records, config.store, calls=self.images.calls)
        review = config.review or (review_path_for(config.records) if config.records else None)
        self.log = ReviewLog(review) if review is not None else None
        self._schemas: dict[str, Schema] = {}

    def close(self) -> None:
        """Stop the worker processes."""
        self.images.close()
        self.catalog.close()

    def schema_for(self, rec: dict[str, Any] | None) -> Schema:
        name = str((rec or {}).get("schema") or "tender")
        if name not in self._schemas:
            try:
                self._schemas[name] = load_schema(name)
            except SchemaError:  # a record of a custom schema file not at hand: fall back to the built-in
                self._schemas[name] = load_schema("tender")
        return self._schemas[name]


def overview(desk: Desk) -> dict[str, Any]:
    latest = desk.log.latest() if desk.log else {}
    reviewed: dict[str, int] = {}
    for doc, _ in latest:
        reviewed[doc] = reviewed.get(doc, 0) + 1
    rows = sorted((summary_row(d, reviewed.get(d.id, 0)) for d in desk.catalog.docs()), key=row_order)
    counts = {
        "documents": len(rows),
        "records": sum(r["has_record"] for r in rows),
        "flagged": sum(r["flagged"] for r in rows),
        "restricted": sum(r["restricted"] for r in rows),
        "with_unverified": sum(bool(r["unverified"]) for r in rows),
        "with_errors": sum(bool(r["errors"]) for r in rows),
        "reviewed_documents": sum(r["reviewed"] > 0 for r in rows),
        "decisions": len(latest),
    }
    return {"counts": counts, "rows": rows, "notice_types": sorted({r["notice_type"] for r in rows if r["notice_type"]})}


def document_view(desk: Desk, doc_id: str) -> dict[str, Any]:
    """A document with every field of its schema, the extracted evidence and the decision in force."""
    doc = desk.catalog.get(doc_id)
    rec = doc.record or {}
    schema = desk.schema_for(doc.record)
    decisions = desk.log.for_doc(doc_id) if desk.log else {}
    fields = []
    for f in schema.fields:
        fv = (rec.get("fields") or {}).get(f.name) or {}
        d = decisions.get(f.name)
        empty = fv.get("value") in (None, [], "")
        fields.append({"name": f.name, "type": f.type, "enum": list(f.enum or ()), "description": f.description,
                       "value": fv.get("value"), "page": fv.get("page"), "quote": fv.get("quote"),
                       "verified": fv.get("verified"), "unverified": fv.get("verified") is False and not empty,
                       "empty": empty, "decision": d.to_json() if d else None})
    row = summary_row(doc, len(decisions))
    # a file that could not be read: its errors, no page view and nothing to accept or correct
    failed = bool(row["errors"]) and all(f["empty"] for f in fields)
    return {"id": doc.id, "name": doc.name, "title": row["title"], "pages": doc.pages, "is_pdf": doc.is_pdf,
            "failed": failed,
            "has_record": doc.record is not None, "missing_file": doc.path is None, "needs_ocr": doc.needs_ocr,
            "flags": row["flags"], "restricted": row["restricted"], "errors": row["errors"],
            "unverified": row["unverified"], "backend": rec.get("backend"), "model": rec.get("model"),
            "fields": fields, "reviewed": len(decisions)}


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _doc_or_404(desk: Desk, doc_id: str) -> None:
    try:
        desk.catalog.get(doc_id)
    except KeyError:
        raise HTTPException(404, "no such document") from None


def create_app(config: DeskConfig) -> Starlette:
    """The ASGI app (wrapped in the security Guard) for one records file and store."""
    desk = Desk(config)
    env = templates_env()

    def page(name: str, request: Request, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(csrf=request.scope["state"]["csrf"], reviewer=config.reviewer,
                                             has_store=desk.catalog.has_store, **context)
        return HTMLResponse(html)

    async def overview_page(request: Request) -> Response:
        return page("overview.html", request, **await run_in_threadpool(overview, desk))

    async def search_page(request: Request) -> Response:
        q = request.query_params.get("q", "")
        narrow = HitFilter.from_params(request.query_params)
        result = await run_in_threadpool(_search, desk, q, 20, "hybrid", None, narrow) if q.strip() else None
        types = sorted({t for d in desk.catalog.docs() if d.record for t in [summary_row(d)["notice_type"]] if t})
        return page("search.html", request, q=q, result=result, narrow=narrow, notice_types=types)

    async def document_page(request: Request) -> Response:
        doc_id = request.path_params["doc"]
        _doc_or_404(desk, doc_id)
        view = await run_in_threadpool(document_view, desk, doc_id)
        start = {"page": _int(request.query_params.get("page")), "field": request.query_params.get("field")}
        return page("document.html", request, doc=view, start=start)

    async def api_records(request: Request) -> Response:
        return _json(await run_in_threadpool(overview, desk))

    async def api_record(request: Request) -> Response:
        doc_id = request.path_params["doc"]
        _doc_or_404(desk, doc_id)
        doc = desk.catalog.get(doc_id)
        if doc.record is None:
            raise HTTPException(404, "this document has no record (ingested but not extracted)")
        decisions = desk.log.for_doc(doc_id) if desk.log else {}
        return _json({"record": doc.record, "review": {k: v.to_json() for k, v in decisions.items()}})

    async def api_search(request: Request) -> Response:
        q = request.query_params.get("q", "")
        mode = request.query_params.get("mode", "hybrid")
        k = max(1, min(_int(request.query_params.get("k")) or 10, 100))
        if mode not in ("hybrid", "dense", "lexical"):
            return _json({"error": "mode must be hybrid, dense or lexical"}, 400)
        doc_id = request.query_params.get("doc")
        if doc_id is not None:
            _doc_or_404(desk, doc_id)
        narrow = HitFilter.from_params(request.query_params)
        return _json(await run_in_threadpool(_search, desk, q, k, mode, doc_id, narrow))

    async def api_documents(request: Request) -> Response:
        docs = desk.catalog.docs()
        return _json([{"id": d.id, "name": d.name, "title": d.title, "pages": d.pages, "has_record": d.record is not None,
                       "url": f"/doc/{d.id}"} for d in docs])

    async def api_document(request: Request) -> Response:
        doc_id = request.path_params["doc"]
        _doc_or_404(desk, doc_id)
        return _json(await run_in_threadpool(document_view, desk, doc_id))

    async def api_page(request: Request) -> Response:
        doc_id, number = request.path_params["doc"], request.path_params["page"]
        _doc_or_404(desk, doc_id)
        quote = request.query_params.get("quote")
        return _json(await run_in_threadpool(_guarded, page_evidence, desk.catalog, desk.images, doc_id, number, quote))

    async def api_page_png(request: Request) -> Response:
        doc_id, number = request.path_params["doc"], request.path_params["page"]
        _doc_or_404(desk, doc_id)
        doc = desk.catalog.get(doc_id)
        if not doc.is_pdf:
            raise HTTPException(404, "no page image: not a PDF")
        png = await run_in_threadpool(_guarded, desk.images.render, doc.path, number, PAGE_SCALE)
        return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=3600"})

    async def api_evidence(request: Request) -> Response:
        doc_id, name = request.path_params["doc"], request.path_params["field"]
        _doc_or_404(desk, doc_id)
        return _json(await run_in_threadpool(_guarded, field_evidence, desk.catalog, desk.images, doc_id, name))

    async def api_review_list(request: Request) -> Response:
        if desk.log is None:
            return _json({"path": None, "decisions": []})
        return _json({"path": str(desk.log.path), "decisions": [d.to_json() for d in desk.log.latest().values()]})

    async def api_review(request: Request) -> Response:
        if desk.log is None:
            return _json({"error": "no records file: start the desk with --records to review"}, 400)
        try:
            body = parse_json_body(await _body(request, MAX_BODY))
        except ReviewError as e:
            return _json({"error": str(e)}, 400)
        if not isinstance(body, dict):
            return _json({"error": "body must be a JSON object"}, 400)
        doc_id = str(body.get("doc", ""))
        _doc_or_404(desk, doc_id)
        return _json(await run_in_threadpool(_record_decision, desk, doc_id, body))

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "error")
        if request.url.path.startswith("/api/"):
            return _json({"error": detail}, status)
        return HTMLResponse(env.get_template("error.html").render(status=status, detail=detail), status_code=status)

    routes = [
        Route("/", overview_page),
        Route("/search", search_page),
        Route("/doc/{doc}", document_page),
        Route("/api/records", api_records),
        Route("/api/records/{doc}", api_record),
        Route("/api/search", api_search),
        Route("/api/documents", api_documents),
        Route("/api/documents/{doc}", api_document),
        Route("/api/documents/{doc}/pages/{page:int}.png", api_page_png),
        Route("/api/documents/{doc}/pages/{page:int}", api_page),
        Route("/api/documents/{doc}/evidence/{field}", api_evidence),
        Route("/api/review", api_review_list, methods=["GET"]),
        Route("/api/review", api_review, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        desk.catalog.warm_up()
        yield
        desk.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found}, lifespan=lifespan)
    app.state.desk = desk
    return Guard(app, token=config.token, loopback_only=config.loopback_only)  # type: ignore[return-value]


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body too large (limit {limit // 1024} KB)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body too large (limit {limit // 1024} KB)")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_json_body(raw: bytes) -> Any:
    """JSON as a client sent it, refusing what Python's parser would let through or die on:
    NaN/Infinity, numbers that overflow to infinity (``1e999999``), nesting deep enough to
    exhaust the recursion limit."""
    def finite(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"number out of range: {text[:20]}")
        return value

    try:
        return json.loads(raw, parse_float=finite, parse_constant=_no_constant)
    except RecursionError:
        raise ReviewError("body is nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, bad UTF-8, overflow, over-long integers
        raise ReviewError(f"body must be JSON ({str(e)[:120]})") from None


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _guarded(fn: Any, *args: Any) -> Any:
    """Run a page/evidence call; a missing page or unreadable file is a 404 with its reason."""
    try:
        return fn(*args)
    except KeyError:
        raise HTTPException(404, "not found") from None
    except ReadError as e:  # a page too big, slow or hungry for its worker: said, and the desk serves on
        raise HTTPException(422 if e.kind in _TOO_COSTLY else 404, str(e)) from None


def _search(desk: Desk, q: str, k: int, mode: str, doc_id: str | None = None,
            narrow: HitFilter | None = None) -> dict[str, Any]:
    """Hybrid search over the store, or within one document (``doc_id``) to find a value by hand.
    Each hit says what its document is (buyer, notice type, flags, list status); ``groups`` holds
    the hits by document; ``narrow`` keeps the documents of one notice type, flagged, or dated."""
    if not desk.catalog.has_store:
        return {"query": q, "hits": [], "error": "no store: start the desk with --store DIR to search"}
    if not q.strip():
        return {"query": q, "hits": [], "error": None}
    from extractor.search.hybrid import search

    within = desk.catalog.get(doc_id).path if doc_id else None
    if doc_id and within is None:
        return {"query": q, "hits": [], "error": "this document's file was not found"}
    file = str(within) if within is not None else None
    narrow = narrow or HitFilter()
    depth = k * 4 if narrow.active else k  # filtered out hits leave room for others
    hits = desk.catalog.with_store(lambda store: search(store, q, k=depth, mode=mode, file=file)) or []
    terms = highlight_terms(q)
    out = []
    for h in hits:
        doc = desk.catalog.by_path(h.file) or (desk.catalog.get(h.sha256) if h.sha256 in desk.catalog.ids() else None)
        facts = document_facts(doc)
        if not narrow.keeps(facts):
            continue
        out.append({"rank": h.rank, "doc": doc.id if doc else None, "name": Path(h.file).name, "page": h.page,
                    "score": h.score, "good": h.good, "facts": facts,
                    "segments": window(mark_terms(h.text, terms), *((40, 160) if doc_id else (80, 360))),
                    "url": f"/doc/{doc.id}?page={h.page}" if doc else None,
                    "doc_url": f"/doc/{doc.id}" if doc else None})
        if len(out) == k:
            break
    return {"query": q, "hits": out, "groups": group_hits(out), "error": None}


def _record_decision(desk: Desk, doc_id: str, body: dict[str, Any]) -> dict[str, Any]:
    doc = desk.catalog.get(doc_id)
    if doc.record is None or desk.log is None:
        raise HTTPException(400, "this document has no record to review")
    page_text = None
    page = _int(str(body["page"])) if body.get("page") not in (None, "") else None
    if body.get("action") == "correct" and body.get("quote") and page is not None:
        try:
            text = desk.catalog.text(doc_id)
            page_text = next((p.text for p in text.pages if p.number == page), None)
        except ReadError:
            page_text = None
    try:
        decision = desk.log.record(desk.schema_for(doc.record), doc.record, str(body.get("field", "")),
                                   str(body.get("action", "")), reviewer=str(body.get("reviewer") or desk.config.reviewer),
                                   value=body.get("value"), page=page, quote=body.get("quote"), page_text=page_text)
    except ReviewError as e:
        raise HTTPException(400, str(e)) from None
    return {"ok": True, "decision": decision.to_json()}


def dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
