"""A cache of whole answers to repeated identical query requests (``--response-cache MIB``).

The data cannot change while the service runs (a new build is a new process), so an answer of
/sparql, /queries/… or /api/… is the same for the same request: method, path, query string, body,
and the headers that choose the answer (Accept, Accept-Language, Origin). A hit is sent from memory
before routing, the request check and the query pool (benchmarks/overhead.py measures what that
saves); it says so in ``Server-Timing: cache;desc=hit``. Only 200 answers of at most ``MAX_ENTRY``
bytes are kept, least recently used first out; a request with ``If-None-Match`` or a body over
``MAX_BODY`` goes to the app as it is. The layer sits inside the request log and outside everything
else, so a hit is logged and carries the security and CORS headers the first answer had.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATHS = ("/sparql", "/queries/", "/api/")
VARY = (b"accept", b"accept-language", b"origin")
MAX_ENTRY = 1 << 20   # bytes of one kept answer
MAX_BODY = 16 << 10   # bytes of a request body read to make the key (a query in a form)
HIT = (b"server-timing", b'cache;desc="hit"')


@dataclass(frozen=True)
class _Answer:
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers)


class ResponseCache:
    """Pure ASGI middleware; ``limit`` bytes of answers in all (0: off)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit
        self._answers: OrderedDict[bytes, _Answer] = OrderedDict()
        self._size = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (not self.limit or scope["type"] != "http" or scope["method"] not in ("GET", "POST")
                or not scope["path"].startswith(PATHS)):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if b"if-none-match" in headers:
            return await self.app(scope, receive, send)
        body, receive = await _read_small_body(scope, headers, receive)
        if body is None:
            return await self.app(scope, receive, send)
        key = hashlib.sha256(b"\0".join([scope["method"].encode(), scope["path"].encode(), scope["query_string"],
                                         body, *(headers.get(h, b"") for h in VARY)])).digest()
        if (answer := self._answers.get(key)) is not None:
            self._answers.move_to_end(key)
            await send({"type": "http.response.start", "status": 200, "headers": [*answer.headers, HIT]})
            await send({"type": "http.response.body", "body": answer.body})
            return
        await self.app(scope, receive, self._keeping(key, send))

    def _keeping(self, key: bytes, send: Send) -> Send:
        """``send``, keeping a copy of a 200 answer that fits."""
        start: Message | None = None
        chunks: list[bytes] | None = []
        size = 0

        async def keep(message: Message) -> None:
            nonlocal start, chunks, size
            if message["type"] == "http.response.start":
                start = message
                if message["status"] != 200:
                    chunks = None
            elif message["type"] == "http.response.body" and chunks is not None and start is not None:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > MAX_ENTRY:
                    chunks = None
                elif not message.get("more_body"):
                    headers = tuple((k, v) for k, v in start.get("headers", ()) if k.lower() != b"server-timing")
                    self._put(key, _Answer(headers, b"".join(chunks)))
            await send(message)

        return keep

    def _put(self, key: bytes, answer: _Answer) -> None:
        if answer.size > self.limit:
            return
        self._answers[key] = answer
        self._size += answer.size
        while self._size > self.limit:
            _, old = self._answers.popitem(last=False)
            self._size -= old.size


async def _read_small_body(scope: Scope, headers: dict[bytes, bytes], receive: Receive) -> tuple[bytes | None, Receive]:
    """The request's body if it is at most MAX_BODY bytes (None if larger or undeclared), and a
    ``receive`` that hands the app what was read, then the rest."""
    if scope["method"] == "GET":
        return b"", receive
    declared = headers.get(b"content-length", b"")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        return None, receive
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body") or size > MAX_BODY:
            break
    body = b"".join(m.get("body", b"") for m in messages)
    complete = messages[-1]["type"] == "http.request" and not messages[-1].get("more_body")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return (body if complete else None), replay
