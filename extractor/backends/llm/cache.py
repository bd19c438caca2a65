"""SQLite cache of parsed LLM responses, so re-running a batch costs nothing.

The key is a hash of everything that changes the answer (the endpoint's base
URL, model, prompt version, schema fingerprint, document hash, field group,
request kind) and never the API key or endpoint credentials: one model name
served by two endpoints is two models, and one's answers are never replayed as
the other's. WAL mode plus a busy timeout keeps
it safe when several threads or processes extract at once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def endpoint_id(base_url: str | None) -> str:
    """The endpoint as the cache knows it: scheme, host and path, lower-case host, no trailing slash,
    no credentials or query (``None``: the client's default endpoint)."""
    from urllib.parse import urlsplit

    if not base_url:
        return "default"
    u = urlsplit(base_url.strip())
    host = (u.hostname or "").lower() + (f":{u.port}" if u.port else "")
    return f"{u.scheme.lower()}://{host}{u.path.rstrip('/')}"


def cache_key(model: str, prompt_version: str, schema_fingerprint: str, doc_sha256: str,
              group: str, kind: str, endpoint: str = "default") -> str:
    """sha256 over the parts that decide the LLM's answer (``endpoint`` from ``endpoint_id``)."""
    parts = [endpoint, model, prompt_version, schema_fingerprint, doc_sha256, group, kind]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class ResponseCache:
    """``get(key)`` / ``put(key, value)`` of JSON-able dicts in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(_SCHEMA)
        conn.commit()

    key = staticmethod(cache_key)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except json.JSONDecodeError:
            return None  # a damaged row is a miss, not a crash
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        raw = json.dumps(value, ensure_ascii=False)
        conn = self._conn()
        with conn:
            conn.execute("INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                         (key, raw, time.time()))

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
