"""The HTTP edges of the service: HEAD, security headers, and deadlines for slow clients.

* ``HeadAsGet``: HEAD answers wherever GET does, with the same status and headers and no body
  (FastAPI routes answer only the methods they declare, so HEAD was 405 on most of them).
* ``SecurityHeaders``: ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` on every
  response; a Content-Security-Policy fitted to our pages on HTML (only our own script and
  stylesheet), one on the Swagger UI pages (api_docs.py: still only this host, their inline
  script allowed by its hash), and ``default-src 'none'`` on everything else.
* ``deadline_protocol``: uvicorn's HTTP protocol with a deadline for the request headers
  (slowloris) and a backstop for the body; the app answers a slow body itself with a 408.

``install(app)`` puts the two middlewares outside everything else, the error handler included,
so every response the app makes carries the headers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import json
import logging
import re
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
CSP_NOT_HTML = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI (api_docs.py), served from this app: its inline script is allowed by hash, added per
# response, and it sets styles from script. No other host. (Checked in Chromium, Swagger UI 5.31.)
CSP_DOCS = ("default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'")
ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)

class HeadAsGet:
    """HEAD runs as GET; the headers go out as they are (Content-Length included), the body does not.

    A file response is told it may hand its path to the server (the ASGI pathsend extension), so
    a HEAD on a dump does not read the file only to drop it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)
        extensions = {**scope.get("extensions", {}), "http.response.pathsend": {}}
        done = False

        async def send_head(message: Message) -> None:
            nonlocal done
            if message["type"] == "http.response.start":
                await send(message)
            elif not done and (message["type"] == "http.response.pathsend"
                               or (message["type"] == "http.response.body" and not message.get("more_body", False))):
                done = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET", "extensions": extensions}, receive, send_head)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, docs_paths: tuple[str | None, ...] = ()):
        self.app, self.docs_paths = app, frozenset(p for p in docs_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        docs = scope["path"] in self.docs_paths
        held: list[Message] = []  # a docs page is held until its inline scripts can be hashed

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in ALWAYS if n not in names]
                html = any(n.lower() == b"content-type" and v.lower().startswith(b"text/html") for n, v in headers)
                message = {**message, "headers": headers}
                if b"content-security-policy" not in names:
                    if html and docs:
                        held.append(message)
                        return
                    headers.append((b"content-security-policy", (CSP if html else CSP_NOT_HTML).encode()))
                return await send(message)
            if held:
                held.append(message)
                if message["type"] == "http.response.body" and message.get("more_body", False):
                    return
                start, *rest = held
                held.clear()
                body = b"".join(m.get("body", b"") for m in rest)
                hashes = "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                                 for s in _INLINE_SCRIPT.findall(body))
                start["headers"].append((b"content-security-policy", CSP_DOCS.format(hashes=hashes).encode()))
                await send(start)
                return await send({"type": "http.response.body", "body": body, "more_body": False})
            await send(message)

        await self.app(scope, receive, send_secured)


def install(app: FastAPI, docs_paths: tuple[str, ...] = ()) -> None:
    """Wrap the app's whole middleware stack (its 500 handler included) in HeadAsGet and SecurityHeaders."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: HeadAsGet(SecurityHeaders(build(), docs_paths))  # type: ignore[method-assign]


# ------------------------------------------------------------------ slow clients


def _timeout_response(detail: str) -> bytes:
    body = json.dumps({"error": "request timeout", "detail": detail}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\nx-content-type-options: nosniff\r\n\r\n%s" % (len(body), body))


class _Deadlines(asyncio.Protocol):
    """A deadline for each request uvicorn parses: ``header_timeout`` seconds for its headers
    (from the connection's opening for the first request, from its first byte for the next),
    then ``body_timeout`` + ``BODY_GRACE`` for its body, a backstop behind the app's own 408.
    When it passes: a 408 and the connection closed if no answer is under way; the connection
    closed after the answer if one is."""

    header_timeout = 10.0
    body_timeout = 30.0
    BODY_GRACE = 5.0
    _deadline: asyncio.TimerHandle | None = None
    _phase = "headers"
    # set by uvicorn's protocol classes, which come after this one in the class's bases
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    client: tuple[str, int] | None
    logger: logging.Logger

    def _arm(self, phase: str) -> None:
        self._disarm()
        self._phase = phase
        seconds = self.header_timeout if phase == "headers" else self.body_timeout + self.BODY_GRACE
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # closed already, or handed over to a WebSocket protocol
        cycle = self.cycle
        if self._phase == "headers":
            # self.cycle is the connection's previous request, if any: let its answer finish
            if cycle is not None and not cycle.response_complete:
                cycle.keep_alive = False
                return
            detail = f"the request headers did not arrive within {self.header_timeout:g} s"
        else:
            if cycle.response_started and not cycle.response_complete:
                cycle.keep_alive = False
                return
            detail = f"the request body did not arrive within {self.body_timeout:g} s"
            if cycle.response_complete:
                self.transport.close()
                return
            cycle.disconnected = True  # the app's answer, if it ever comes, goes nowhere
        who = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        self.logger.warning("%s from %s; connection closed", detail, who)
        self.transport.write(_timeout_response(detail))
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def deadline_protocol(header_timeout: float = 10.0, body_timeout: float = 30.0, impl: str = "auto") -> type:
    """uvicorn's HTTP protocol class (httptools when installed, else h11) with these deadlines;
    pass it as ``uvicorn.run(app, http=...)``."""
    if impl == "auto":
        impl = "httptools" if importlib.util.find_spec("httptools") else "h11"
    base = _httptools() if impl == "httptools" else _h11()
    return type(base.__name__, (base,), {"header_timeout": header_timeout, "body_timeout": body_timeout})


def _httptools() -> type:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415 - httptools is optional

    class HttpToolsWithDeadlines(_Deadlines, HttpToolsProtocol):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a new request on a kept-alive connection
                self._arm("headers")

        def on_headers_complete(self) -> None:
            self._arm("body")
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

    return HttpToolsWithDeadlines


def _h11() -> type:
    import h11  # noqa: PLC0415 - imported with the protocol it serves
    from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: PLC0415

    class H11WithDeadlines(_Deadlines, H11Protocol):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.IDLE:
                if self._deadline is None:  # the first bytes of a request on a kept-alive connection
                    self._arm("headers")
            elif state is h11.SEND_BODY:
                if self._phase != "body" or self._deadline is None:
                    self._arm("body")
            else:
                self._disarm()

    return H11WithDeadlines
