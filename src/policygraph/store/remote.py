"""The remote engine: any SPARQL 1.1 endpoint, through SPARQLWrapper.

Results are re-serialised here, so formats and row caps are the same as with the embedded store.
Queries name the graphs they run over: a query that names none (no FROM, no default-graph-uri) is
sent with the build's graphs as its default graph (their merge: the embedded store's union) and as
its named graphs, through the protocol's default-graph-uri and named-graph-uri. So the answers do
not depend on how the remote server's default graph is configured (an Oxigraph server started
without --union-default-graph, Virtuoso, Fuseki without unionDefaultGraph all answer alike).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import EndPointNotFound, QueryBadFormed, SPARQLWrapperException

from policygraph.store.engines import EngineUnavailable, Job, QueryError, QueryTimeout, Result
from policygraph.store.formats import render, serialize_boolean
from policygraph.store.query_check import inspect


def _ask_answer(solutions: ox.QuerySolutions) -> bool:
    """An ASK answered as a table — Virtuoso sends one row, ``__ASK_RETVAL`` = 1 or 0 — as its boolean."""
    rows = list(solutions)
    value = rows[0][0] if len(rows) == 1 and len(solutions.variables) == 1 else None
    if not isinstance(value, ox.Literal) or value.value not in ("1", "0", "true", "false"):
        raise EngineUnavailable("the remote store answered an ASK with a table, not true or false")
    return value.value in ("1", "true")


@dataclass
class RemoteEngine:
    """A timeout stops waiting; whether the remote server stops the query is up to it. ``graphs``:
    the build's graphs, which queries that name none run over (empty: the remote's own default)."""
    endpoint: str
    graphs: tuple[str, ...] = ()
    triples: int = 0

    def run(self, job: Job, timeout: float) -> Result:
        info = inspect(job.query)
        tabular = info.form in ("SELECT", "ASK")
        if job.default_graphs is None and not info.dataset and self.graphs:
            job = replace(job, default_graphs=self.graphs,
                          named_graphs=self.graphs if job.named_graphs is None else job.named_graphs)
        raw = self._fetch(job, timeout, JSON if tabular else TURTLE)
        try:
            parsed = (ox.parse_query_results(raw, format=ox.QueryResultsFormat.JSON) if tabular
                      else ox.parse(raw, format=ox.RdfFormat.TURTLE))
        except SyntaxError as e:  # e.g. a truncated body after a server-side timeout
            raise EngineUnavailable(f"the remote store sent an unreadable answer: {e}") from None
        if info.form == "ASK" and isinstance(parsed, ox.QuerySolutions):
            return Result(serialize_boolean(_ask_answer(parsed), job.fmt))
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

    def held(self, timeout: float = 30) -> list[str]:
        """Which of the build's graphs the remote store holds (one ASK each)."""
        return [g for g in self.graphs  # read as every ASK is (run: Virtuoso may answer with a table)
                if json.loads(self.run(Job(f"ASK {{ GRAPH <{g}> {{ ?s ?p ?o }} }}", "json"), timeout).body)["boolean"]]

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Callable[[], Awaitable[bool]] | None = None) -> Result:
        return await asyncio.to_thread(self.run, job, timeout)  # the remote server queues as it likes

    def answer_now(self, job: Job) -> None:
        """Nothing at once: every query is a request to the remote server."""

    def status(self) -> None:
        """Nothing to report: the remote server runs its own pool."""

    def close(self) -> None:
        pass
