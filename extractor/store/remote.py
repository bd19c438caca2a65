"""Reaching a Chroma server: where it is (``--chroma-url`` / ``TENDERX_CHROMA_URL``, the
token in ``TENDERX_CHROMA_TOKEN``), a check that it answers, accepts the token and
speaks the API this chromadb client does, and one-line errors when it does not.

``chroma run`` itself has no authentication; a team that needs a token puts the
server behind a reverse proxy that checks ``X-Chroma-Token`` (or ``Authorization:
Bearer``), and tenderx sends both headers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from extractor.core.errors import StoreError

URL_ENV = "TENDERX_CHROMA_URL"
TOKEN_ENV = "TENDERX_CHROMA_TOKEN"
DATABASE_ENV = "TENDERX_CHROMA_DATABASE"  # one server can hold several corpora, one per database
DEFAULT_DATABASE = "default_database"
TENANT = "default_tenant"
API_MAJOR = "1"  # the server API version (GET /api/v2/version) this chromadb client speaks
_TIMEOUT = 10.0


@dataclass(frozen=True)
class ChromaServer:
    url: str
    token: str | None = None
    database: str = DEFAULT_DATABASE

    def __repr__(self) -> str:  # never print the token
        return f"ChromaServer(url={self.url!r}, database={self.database!r}, token={'***' if self.token else None})"

    @property
    def headers(self) -> dict[str, str]:
        if not self.token:
            return {}
        return {"X-Chroma-Token": self.token, "Authorization": f"Bearer {self.token}"}


def server_from_env() -> ChromaServer | None:
    """The server the environment names (TENDERX_CHROMA_URL, or the older HOST/PORT pair)."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url and os.environ.get("TENDERX_CHROMA_HOST"):
        url = f"http://{os.environ['TENDERX_CHROMA_HOST']}:{os.environ.get('TENDERX_CHROMA_PORT', '8000')}"
    if not url:
        return None
    return ChromaServer(url.rstrip("/"), os.environ.get(TOKEN_ENV) or None,
                        os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE)


def _parts(url: str) -> tuple[str, int, bool]:
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise StoreError(f"--chroma-url {url!r} is not an http(s)://HOST:PORT address")
    if split.path not in ("", "/"):
        raise StoreError(f"--chroma-url {url!r}: give the server root (http(s)://HOST:PORT), without a path")
    https = split.scheme == "https"
    return split.hostname, split.port or (443 if https else 8000), https


def check_server(server: ChromaServer) -> None:
    """Raise a one-line StoreError unless the server answers, takes the token and speaks API v2 / 1.x."""
    import httpx

    _parts(server.url)
    try:
        with httpx.Client(timeout=_TIMEOUT, headers=server.headers) as http:
            beat = http.get(f"{server.url}/api/v2/heartbeat")
            if beat.status_code in (401, 403):
                raise StoreError(f"Chroma server {server.url} refused the token (HTTP {beat.status_code}); "
                                 f"set {TOKEN_ENV} to the token the server expects")
            if beat.status_code == 404:
                old = http.get(f"{server.url}/api/v1/heartbeat")
                what = "an older Chroma (API v1, chromadb < 0.6)" if old.status_code == 200 else "no Chroma API v2"
                raise StoreError(f"Chroma server {server.url} speaks {what}; tenderx needs a Chroma 1.x server "
                                 "(`pip install 'chromadb>=1.0'` and `chroma run`)")
            if beat.status_code != 200:
                raise StoreError(f"Chroma server {server.url} answered HTTP {beat.status_code} to a heartbeat")
            version = http.get(f"{server.url}/api/v2/version")
            api = version.json() if version.status_code == 200 else None
    except httpx.HTTPError as exc:
        raise StoreError(f"Chroma server {server.url} is not reachable ({type(exc).__name__}: "
                         f"{str(exc) or 'no answer'}); start it with `chroma run --path DIR --host HOST "
                         "--port PORT` or fix --chroma-url") from None
    except ValueError:
        api = None
    if not isinstance(api, str) or api.split(".")[0] != API_MAJOR:
        raise StoreError(f"Chroma server {server.url} reports API version {api!r}; this tenderx speaks "
                         f"{API_MAJOR}.x (use a server from the same chromadb release line as the client)")


def connect(server: ChromaServer) -> Any:
    """A chromadb HttpClient for a checked server."""
    import chromadb
    from chromadb.config import Settings

    check_server(server)
    host, port, https = _parts(server.url)
    try:
        if server.database != DEFAULT_DATABASE:
            _ensure_database(server)
        return chromadb.HttpClient(host=host, port=port, ssl=https, headers=server.headers or None,
                                   settings=Settings(anonymized_telemetry=False), database=server.database)
    except Exception as exc:  # noqa: BLE001 — chromadb raises ValueError / ChromaError / httpx errors
        raise StoreError(f"Chroma server {server.url}: {readable(exc)}") from None


def _ensure_database(server: ChromaServer) -> None:
    import httpx

    base = f"{server.url}/api/v2/tenants/{TENANT}/databases"
    with httpx.Client(timeout=_TIMEOUT, headers=server.headers) as http:
        if http.get(f"{base}/{server.database}").status_code == 200:
            return
        made = http.post(base, json={"name": server.database})
        if made.status_code not in (200, 201, 409):
            raise StoreError(f"Chroma server {server.url}: cannot create database {server.database!r} "
                             f"(HTTP {made.status_code}: {made.text[:200]})")


def readable(exc: BaseException) -> str:
    """One line for a chromadb error (ChromaError.message is a method, not the text)."""
    text = str(exc).strip()
    message = getattr(exc, "message", None)
    if not text and callable(message):
        try:
            text = str(message())
        except Exception:  # noqa: BLE001
            text = ""
    text = " ".join((text or type(exc).__name__).split())
    if any(sign in text for sign in ("disk is full", "No space left", "File too large", "disk I/O error")):
        return (f"writing the store failed: the disk holding it is full or failing ({text}); free space, "
                "then run the same command again")
    return text


def lost_server(exc: BaseException) -> StoreError | None:
    """A StoreError when ``exc`` means the server went away or refused us mid-run (else None)."""
    import httpx

    if isinstance(exc, httpx.TransportError) or "Could not connect to a Chroma server" in str(exc):
        return StoreError(f"lost the Chroma server ({readable(exc)}); check it is running and re-run")
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            code = code()
        except Exception:  # noqa: BLE001
            code = None
    if code in (401, 403) or "Unauthorized" in str(exc) or "Forbidden" in str(exc):
        return StoreError(f"the Chroma server refused the token ({readable(exc)}); set {TOKEN_ENV}")
    return None
