"""What the web layer needs of a store: the Engine protocol, the Job it runs, the Result it gets and
the errors it maps to HTTP statuses.

Two engines implement it: EmbeddedEngine (store/embedded.py: pyoxigraph in killable worker
processes) and RemoteEngine (store/remote.py: any SPARQL 1.1 endpoint).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

# ms a request's query waited for a worker ("queue") and ran ("query"), set by the engine in the
# request's own context; the request log writes them, and sends them as a Server-Timing header
TIMING: ContextVar[dict[str, float] | None] = ContextVar("policygraph_timing", default=None)


@dataclass(frozen=True)
class Job:
    query: str
    fmt: str                                  # a Format.name
    default_graphs: tuple[str, ...] | None = None   # None: the union of all graphs
    named_graphs: tuple[str, ...] | None = None
    max_rows: int = 10_000
    lookup: bool = False    # the request check found a single-resource lookup (store/lookup_form.py)


@dataclass
class Result:
    body: bytes
    truncated: bool = False
    rows: int | None = None


class Engine(Protocol):
    """Run a query under a time limit (or answer a lookup at once), report the engine's state (None:
    nothing to report), close."""

    triples: int

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Callable[[], Awaitable[bool]] | None = None) -> Result: ...

    def answer_now(self, job: Job) -> Result | None:
        """The answer without queueing, if the engine can give it at once (a lookup: store/lookups.py);
        None sends the job to ``arun``."""
        ...

    def status(self) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class QueryError(Exception):
    """The engine refused the query (syntax, a bad IRI …): the client's fault, HTTP 400."""


class QueryTimeout(Exception):
    """The query passed its time limit and was stopped."""


class QueryMemoryLimit(Exception):
    """The query passed its memory limit and was stopped: the client's query is too costly (HTTP 400)."""


class ClientGone(Exception):
    """The client hung up; its query was stopped."""


class EngineUnavailable(Exception):
    """No engine could run the query (a worker died, the remote store is down): HTTP 503."""


class EngineBusy(EngineUnavailable):
    """Every query worker stayed busy for the whole wait: HTTP 503, try again shortly. Nothing was
    started, so nothing is killed: under load, requests queue and shed instead of killing
    ordinary queries."""


class ClientBusy(EngineBusy):
    """This client's own queries (and the successors of its stopped queries) hold its share of the
    workers: HTTP 429, so that one client cannot take every worker from the others."""
