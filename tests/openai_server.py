"""A real local HTTP server speaking the minimal OpenAI API, scripted per test.

Tests, benchmarks and robustness checks point the real ``openai`` client at
it (``base_url=server.url``). Responses come from a queue of
``Reply`` objects (status, headers, body, delay) or from a handler function;
every request is recorded (path, headers, JSON body, arrival time).

    with OpenAIServer() as server:
        server.enqueue(Reply(status=429, headers={"Retry-After": "1"}), chat_reply('{"fields": {}}'))
        ... use server.url ...
        assert len(server.chat_requests()) == 2
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    """One scripted HTTP response. ``body`` dict/list → JSON; str/bytes sent raw."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    time: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])

    @property
    def prompt_text(self) -> str:
        """All message contents joined, for 'the prompt contains X' assertions."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


def chat_reply(content: str | dict[str, Any], finish_reason: str = "stop", model: str = "test-model",
               usage: dict[str, int] | None = None, delay: float = 0.0,
               headers: dict[str, str] | None = None) -> Reply:
    """A 200 chat.completion whose message content is ``content`` (dicts are JSON-encoded)."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": text}}],
    }
    if usage is not None:
        body["usage"] = {**usage, "total_tokens": sum(usage.values())}
    return Reply(200, body, dict(headers or {}), delay)


def error_reply(status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                param: str | None = None, headers: dict[str, str] | None = None, delay: float = 0.0) -> Reply:
    """An OpenAI-style error body."""
    return Reply(status, {"error": {"message": message, "type": type_, "code": code, "param": param}},
                 dict(headers or {}), delay)


def schema_valid_fields(schema_name: str = "tender") -> dict[str, dict[str, Any]]:
    """A reply's ``fields`` object that validates against the schema with nothing found
    (lists empty, nullable fields null, required enums/booleans at a default)."""
    from extractor.core.schema import load_schema

    fields: dict[str, dict[str, Any]] = {}
    for f in load_schema(schema_name).fields:
        value: Any = [] if f.type == "list" else None
        if not f.nullable and f.type != "list":
            value = {"enum": (f.enum or [None])[0], "boolean": False}.get(f.type, "未知")
        fields[f.name] = {"value": value, "page": None, "quote": None}
    return fields


def buyer_from_prompt(text: str) -> dict[str, Any] | None:
    """The buyer field as a model would quote it: the first 采购人：/采购单位： line of the prompt."""
    for line in text.splitlines():
        if line.startswith(("采购人：", "采购单位：")):
            return {"value": line.split("：", 1)[1], "page": 1, "quote": line}
    return None


def fake_embedding(text: str, dim: int = 16) -> list[float]:
    """Deterministic unit-ish vector from a hash (enough for plumbing tests)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    vec = [(b - 127.5) / 127.5 for b in (digest * ((dim // len(digest)) + 1))[:dim]]
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


class OpenAIServer:
    """ThreadingHTTPServer on 127.0.0.1 with a scripted chat endpoint and a hash-based embeddings endpoint."""

    def __init__(self, latency: float = 0.0, embedding_dim: int = 16) -> None:
        self.latency = latency  # added to every response (benchmarks)
        self.embedding_dim = embedding_dim
        self.handler: Callable[[Recorded], Reply] | None = None
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._make_handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # --- scripting -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next_chat_reply(self, req: Recorded) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.handler is not None:
            return self.handler(req)
        return error_reply(500, "test server: no scripted reply left", "server_error")

    def _embeddings(self, req: Recorded) -> Reply:
        inputs = (req.body or {}).get("input")
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = [{"object": "embedding", "index": i, "embedding": fake_embedding(str(t), self.embedding_dim)}
                for i, t in enumerate(items)]
        return Reply(200, {"object": "list", "data": data, "model": (req.body or {}).get("model", "test"),
                           "usage": {"prompt_tokens": len(items), "total_tokens": len(items)}})

    # --- HTTP plumbing --------------------------------------------------------------------
    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode("utf-8", "replace")
                req = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with server._lock:
                    server.requests.append(req)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if self.path.endswith("/chat/completions"):
                        reply = server._next_chat_reply(req)
                    elif self.path.endswith("/embeddings"):
                        reply = server._embeddings(req)
                    else:
                        reply = error_reply(404, f"unknown path {self.path}")
                    if reply.delay or server.latency:
                        time.sleep(reply.delay + server.latency)
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, reply: Reply) -> None:
                if isinstance(reply.body, bytes):
                    payload, ctype = reply.body, "application/octet-stream"
                elif isinstance(reply.body, str):
                    payload, ctype = reply.body.encode("utf-8"), "text/plain; charset=utf-8"
                else:
                    payload = json.dumps(reply.body if reply.body is not None else {}).encode("utf-8")
                    ctype = "application/json"
                self.send_response(reply.status)
                headers = {"Content-Type": ctype, **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh scripted OpenAI-protocol server per test; ``.url`` is the client's base_url."""
    with OpenAIServer() as server:
        yield server
