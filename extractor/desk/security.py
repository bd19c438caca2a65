"""What keeps the desk private to its user: host check, access token, CSRF defence, strict headers.

- Bound to loopback (the default), only ``Host: 127.0.0.1/localhost/[::1]`` is answered, which
  stops DNS-rebinding pages from reading the desk through a hostile name.
- Every desk has a token (`tenderx serve` makes one per run when none is given, and prints it in the
  URL it shows, so another local account cannot use a loopback desk); every request must carry it (``Authorization: Bearer``,
  an ``X-Tenderx-Token`` header, the cookie set after a first ``?token=`` visit).
- A state-changing request must be a POST with a JSON body, an ``Origin`` (when sent) equal to the
  desk's own, and an ``X-Tenderx-CSRF`` header equal to the session's CSRF cookie, which a page of
  another site can neither read nor send (custom headers need a CORS preflight the desk refuses).
- Every response forbids framing, sniffing and any script or style not served by the desk.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Guard", "is_loopback", "CSRF_COOKIE", "CSRF_HEADER", "TOKEN_COOKIE", "TOKEN_HEADER", "SECURITY_HEADERS"]

CSRF_COOKIE = "tenderx_csrf"
CSRF_HEADER = "x-tenderx-csrf"
TOKEN_COOKIE = "tenderx_token"
TOKEN_HEADER = "x-tenderx-token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = ("GET", "HEAD")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1: host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class Guard:
    """ASGI middleware applying the rules above to every HTTP request."""

    def __init__(self, app: ASGIApp, token: str | None = None, loopback_only: bool = True) -> None:
        self.app = app
        self.token = token or None
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal, set_cookies = self.check(request)
        if refusal is None and set_cookies.get("redirect"):
            refusal = RedirectResponse(set_cookies.pop("redirect"), status_code=303)
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        if len(csrf) < 32:
            csrf = secrets.token_urlsafe(32)
            set_cookies[CSRF_COOKIE] = csrf
        scope.setdefault("state", {})["csrf"] = csrf

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
                for name, value in set_cookies.items():
                    headers.append("set-cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Strict")
            await send(message)

        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def check(self, request: Request) -> tuple[Response | None, dict[str, str]]:
        """A refusal response (or None) and the cookies to set."""
        cookies: dict[str, str] = {}
        host = request.headers.get("host", "")
        if self.loopback_only and not is_loopback(_host_name(host)):
            return _refuse(400, "unknown Host: open the desk at http://127.0.0.1:PORT/"), cookies
        if self.token is not None:
            given = _bearer(request) or request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE)
            via_query = request.query_params.get("token")
            if via_query is not None and request.method in SAFE_METHODS and _same(via_query, self.token):
                cookies[TOKEN_COOKIE] = self.token  # then drop it from the address bar and history
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                cookies["redirect"] = local_path(request.url.path) + (f"?{urlencode(rest)}" if rest else "")
                return None, cookies
            if not given or not _same(given, self.token):
                return _refuse(401, "this desk needs its token: open the URL `tenderx serve` printed"), cookies
        if request.method not in SAFE_METHODS:
            problem = self._csrf_problem(request)
            if problem:
                return _refuse(403, problem), cookies
        return None, cookies

    @staticmethod
    def _csrf_problem(request: Request) -> str | None:
        if request.method != "POST":
            return "only GET and POST are allowed"
        origin = request.headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.netloc != request.headers.get("host", "") or parts.scheme not in ("http", "https"):
                return "cross-site request refused (Origin does not match the desk)"
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return "cross-site request refused (Sec-Fetch-Site)"
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        header = request.headers.get(CSRF_HEADER) or ""
        if len(cookie) < 32 or not _same(cookie, header):
            return "missing or wrong CSRF token (reload the page)"
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return "state-changing requests must send JSON"
        return None


def local_path(path: str) -> str:
    """A path that stays on this desk: ``//evil.example/`` or ``/\\evil.example`` would be read by a
    browser as another host (an open redirect after the token login), so leading slashes collapse."""
    return "/" + path.lstrip("/\\")


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _refuse(status: int, message: str) -> Response:
    body: dict[str, Any] = {"error": message}
    return JSONResponse(body, status_code=status)
