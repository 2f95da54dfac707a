"""Structured logs: one JSON object per line on stderr, for people and log collectors alike.

Every request is logged once with its method, path, status, time, client and (for queries) a
hash of the query text, so a slow or hostile query can be found again without logging its text;
every error with its traceback; the query pool's events (a worker stopped and why, a restart that
failed) from sparql/engines.py.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback

from policygraph.store.engines import TIMING

log = logging.getLogger("policygraph.http")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "info") -> None:
    """JSON lines on stderr for the policygraph loggers (the CLI's serve calls this)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("policygraph")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class RequestLog:
    """ASGI middleware: one log line per HTTP request (pure ASGI: no cost to streaming answers)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [0]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if timing := TIMING.get():  # a query ran: how long it waited for a worker, how long it ran
                    value = ", ".join(f"{name};dur={ms:.1f}" for name, ms in timing.items())
                    message = {**message, "headers": [*message.get("headers", ()), (b"server-timing", value.encode())]}
            await send(message)

        # a request's own timings: an ASGI server may run several requests in one context (test clients do)
        fresh = TIMING.set(None)
        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            extra = {"event": "request", "method": scope["method"], "path": scope["path"], "status": status[0] or 500,
                     "ms": round((time.perf_counter() - start) * 1000, 2), "client": client[0] if client else None}
            if query_hash := scope.get("state", {}).get("query_hash"):
                extra["query_hash"] = query_hash
            if timing := TIMING.get():
                extra.update({f"{name}_ms": round(ms, 2) for name, ms in timing.items()})
            TIMING.reset(fresh)
            log.info("%s %s %s", scope["method"], scope["path"], extra["status"], extra=extra)
