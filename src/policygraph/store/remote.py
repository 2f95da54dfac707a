"""The remote engine: any SPARQL 1.1 endpoint, through SPARQLWrapper.

Results are re-serialised here, so formats and row caps are the same as with the embedded store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import EndPointNotFound, QueryBadFormed, SPARQLWrapperException

from policygraph.store.engines import EngineUnavailable, Job, QueryError, QueryTimeout, Result
from policygraph.store.formats import render
from policygraph.store.query_check import inspect


@dataclass
class RemoteEngine:
    """A timeout stops waiting; whether the remote server stops the query is up to it."""
    endpoint: str
    triples: int = 0

    def run(self, job: Job, timeout: float) -> Result:
        tabular = inspect(job.query).form in ("SELECT", "ASK")
        raw = self._fetch(job, timeout, JSON if tabular else TURTLE)
        try:
            parsed = (ox.parse_query_results(raw, format=ox.QueryResultsFormat.JSON) if tabular
                      else ox.parse(raw, format=ox.RdfFormat.TURTLE))
        except SyntaxError as e:  # e.g. a truncated body after a server-side timeout
            raise EngineUnavailable(f"the remote store sent an unreadable answer: {e}") from None
        return render(parsed, job)

    def _fetch(self, job: Job, timeout: float, return_format: str) -> bytes:
        client = SPARQLWrapper(self.endpoint)
        client.setQuery(job.query)
        client.setMethod(POST)
        client.setTimeout(max(1, int(timeout + 0.999)))
        client.setReturnFormat(return_format)
        client.setOnlyConneg(True)
        for g in job.default_graphs or ():
            client.addDefaultGraph(g)
        for g in job.named_graphs or ():
            client.addNamedGraph(g)
        try:
            body: bytes = client.query().response.read()
        except QueryBadFormed as e:
            raise QueryError(str(e)) from None
        except (EndPointNotFound, SPARQLWrapperException) as e:
            raise EngineUnavailable(f"remote store: {e}") from None
        except TimeoutError:
            raise QueryTimeout(f"the remote store did not answer within {timeout:g} s") from None
        except OSError as e:
            if "timed out" in str(e):
                raise QueryTimeout(f"the remote store did not answer within {timeout:g} s") from None
            raise EngineUnavailable(f"remote store unreachable: {e}") from None
        return body

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Callable[[], Awaitable[bool]] | None = None) -> Result:
        return await asyncio.to_thread(self.run, job, timeout)  # the remote server queues as it likes

    def answer_now(self, job: Job) -> None:
        """Nothing at once: every query is a request to the remote server."""

    def status(self) -> None:
        """Nothing to report: the remote server runs its own pool."""

    def close(self) -> None:
        pass
