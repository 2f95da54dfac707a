"""The service's settings, and the dependency functions that hand routes the app's engine and settings.

``create_app`` puts both on ``app.state``; routes ask for them with ``Depends(engine_of)`` and
``Depends(settings_of)`` (or call these with the request), so no route closes over the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from policygraph.store.engines import Engine
from policygraph.store.named_queries import NamedQuery
from policygraph.store.query_check import Limits


@dataclass
class Settings:
    query_timeout: float = 10.0          # seconds; a request may ask for less, never more
    min_query_timeout: float = 1.0       # seconds; a request asking for less gets this (no pool drain by tiny limits)
    queue_timeout: float = 10.0          # seconds a request waits for a free query worker (then 503)
    max_rows: int = 10_000               # rows (or triples) in one answer
    max_body: int = 1 << 20              # bytes of a POST body
    response_cache: int = 0              # bytes of repeated answers kept (response_cache.py); 0: none
    header_timeout: float = 10.0         # seconds for a request's headers (else 408 and the connection closed)
    body_timeout: float = 30.0           # seconds for a POST body (else 408)
    service_allow: tuple[str, ...] = ()  # endpoint IRI prefixes SERVICE may call; empty: none
    limits: Limits = field(default_factory=Limits)  # query size, nesting and tokens before any parser
    cache_seconds: int = 300
    build_id: str = "dev"                # ties ETags and the pages' cached facts to the dataset's build
    store_description: str = "embedded Oxigraph (in memory)"

    def __post_init__(self) -> None:
        """Refuse settings the service cannot honour, naming the setting (the CLI exits 2)."""
        for name in ("query_timeout", "min_query_timeout", "queue_timeout", "header_timeout", "body_timeout"):
            value: Any = getattr(self, name, None)
            if value is not None and not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if self.min_query_timeout > self.query_timeout:
            raise ValueError(f"min_query_timeout ({self.min_query_timeout:g} s) is more than query_timeout "
                             f"({self.query_timeout:g} s)")
        for name in ("max_rows", "max_body"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive whole number, not {getattr(self, name)!r}")
        for prefix in self.service_allow:
            if not prefix.startswith(("http://", "https://")) or len(prefix) < len("http://x"):
                raise ValueError(f"SERVICE allow-list entry {prefix!r} is not an http(s) IRI prefix")


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def queries_of(request: Request) -> dict[str, NamedQuery]:
    queries: dict[str, NamedQuery] = request.app.state.queries
    return queries


def dist_of(request: Request) -> Path | None:
    """The build directory the dumps are served from, if the app was given one."""
    dist: Path | None = request.app.state.dist
    return dist


def client_of(request: Request) -> str | None:
    """Whose share of the query pool a request counts to: its address (uvicorn puts a trusted
    proxy's X-Forwarded-For there)."""
    return request.client.host if request.client else None
