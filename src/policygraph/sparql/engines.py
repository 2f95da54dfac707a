"""Query engines behind one interface: embedded Oxigraph in killable worker processes, or any
remote SPARQL 1.1 endpoint.

pyoxigraph has no query timeout and cannot be interrupted from Python (it releases the GIL,
so an abandoned thread keeps a core busy). Each query therefore runs in a worker process over
its own read-only copy of the store; a query that passes its time limit gets its worker
killed (SIGKILL frees the CPU at once) and a fresh worker is started in the background.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .formats import serialize_boolean, serialize_solutions, serialize_triples


@dataclass(frozen=True)
class Job:
    query: str
    fmt: str                                  # a Format.name
    default_graphs: tuple[str, ...] | None = None   # None: the union of all graphs
    named_graphs: tuple[str, ...] | None = None
    max_rows: int = 10_000


@dataclass
class Result:
    body: bytes
    truncated: bool = False
    rows: int | None = None


class QueryError(Exception):
    """The engine refused the query (syntax, a bad IRI …): the client's fault, HTTP 400."""


class QueryTimeout(Exception):
    """The query passed its time limit and was stopped."""


class EngineUnavailable(Exception):
    """No engine could run the query (a worker died, the remote store is down): HTTP 503."""


class EngineBusy(EngineUnavailable):
    """Every query worker stayed busy for the whole wait: HTTP 503, try again shortly. Nothing was
    started, so nothing is killed: under load, requests queue and shed instead of killing
    ordinary queries (each kill costs a worker's reload of the whole store)."""


# ------------------------------------------------------------------ running one query on a store


def execute(store: ox.Store, job: Job) -> Result:
    kwargs: dict = {}
    if job.default_graphs is None:
        kwargs["use_default_graph_as_union"] = True
    else:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs] or [ox.DefaultGraph()]
    if job.named_graphs is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    return render(store.query(job.query, **kwargs), job)


def render(res, job: Job) -> Result:
    """Serialise a pyoxigraph result in the job's format, stopping at job.max_rows."""
    if isinstance(res, ox.QueryBoolean) or isinstance(res, bool):
        return Result(serialize_boolean(bool(res), job.fmt))
    if isinstance(res, ox.QuerySolutions):
        variables = [v.value for v in res.variables]
        rows, truncated = [], False
        for solution in res:
            if len(rows) == job.max_rows:
                truncated = True
                break
            rows.append([solution[v] for v in variables])
        return Result(serialize_solutions(variables, rows, job.fmt, truncated), truncated, len(rows))
    triples, truncated = [], False
    for t in res:
        if len(triples) == job.max_rows:
            truncated = True
            break
        triples.append(t.triple if isinstance(t, ox.Quad) else t)  # parsed answers come as quads
    return Result(serialize_triples(triples, job.fmt), truncated, len(triples))


# ------------------------------------------------------------------ worker processes


EXTRA_GRAPH = "https://w3id.org/policygraph/graph/extra/"


def rdf_file_format(f: Path) -> tuple[ox.RdfFormat, ox.NamedNode | None]:
    """A file's RDF syntax (by extension) and, for a triples-only syntax, the graph its triples go
    to (graph/extra/<file stem>); None for a dataset syntax, whose quads keep their graphs."""
    fmt = ox.RdfFormat.from_extension(f.suffix.lstrip("."))
    if fmt is None:
        raise ValueError(f"{f}: unknown RDF syntax for extension {f.suffix!r}")
    return fmt, None if fmt.supports_datasets else ox.NamedNode(EXTRA_GRAPH + f.stem)


@dataclass(frozen=True)
class StoreSource:
    """Where a worker gets its data: a dump to load in memory (plus extra RDF files), or an on-disk
    store to open read-only. A triples-only extra file goes into graph/extra/<file stem>."""
    path: Path | None
    on_disk: bool = False
    extra: tuple[Path, ...] = ()

    def open(self) -> ox.Store:
        if self.on_disk:
            return ox.Store.read_only(str(self.path))
        store = ox.Store()
        for f in ((self.path,) if self.path else ()) + self.extra:
            fmt, graph = rdf_file_format(f)
            store.bulk_load(path=str(f), format=fmt, to_graph=graph)
        return store


def _worker_main(conn, source: StoreSource) -> None:
    try:
        store = source.open()
    except Exception as e:  # noqa: BLE001 - reported to the parent, which decides
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", len(store)))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", execute(store, job)))
        except SyntaxError as e:
            conn.send(("query-error", f"SPARQL syntax error: {e}"))
        except (ValueError, TypeError) as e:
            conn.send(("query-error", str(e)))
        except Exception as e:  # noqa: BLE001
            conn.send(("engine-error", f"{type(e).__name__}: {e}"))


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    size: int = 0


@dataclass
class EmbeddedEngine:
    """A small pool of worker processes, each with the whole store; one query per worker at a time.

    ``spares`` workers are loaded but idle: a killed worker's place is taken by a spare at once, and
    the successor loads in the background as the next spare (a reload takes seconds on a large
    store, and without a spare the pool runs one worker short all that time)."""
    source: StoreSource
    workers: int = 2
    spares: int = 0
    start_timeout: float = 300.0
    _idle: queue.Queue = field(default_factory=queue.Queue, init=False)
    _spare: queue.Queue = field(default_factory=queue.Queue, init=False)
    _ctx: object = field(default=None, init=False)
    triples: int = field(default=0, init=False)
    _closed: bool = field(default=False, init=False)

    def __post_init__(self):
        self._ctx = mp.get_context("spawn")  # no fork: the parent may hold threads and a store
        started = [self._spawn() for _ in range(self.workers + self.spares)]
        for i, w in enumerate(started):
            self._await_ready(w)
            (self._idle if i < self.workers else self._spare).put(w)

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        p = self._ctx.Process(target=_worker_main, args=(child, self.source), daemon=True, name="policygraph-query")
        p.start()
        child.close()
        return _Worker(p, parent)

    def _await_ready(self, w: _Worker) -> None:
        if not w.conn.poll(self.start_timeout):
            w.process.kill()
            raise EngineUnavailable("a query worker did not start in time")
        status, detail = w.conn.recv()
        if status != "ready":
            raise EngineUnavailable(f"a query worker could not open the store: {detail}")
        w.size = detail
        self.triples = detail

    def _replace(self, w: _Worker) -> None:
        """Kill a worker, put a spare in its place, and start a successor in the background (as the
        next spare, or as the worker itself when there was no spare), so the caller returns at once."""
        w.process.kill()
        w.process.join(timeout=5)
        w.conn.close()
        try:
            self._idle.put(self._spare.get_nowait())
            successor_pool = self._spare
        except queue.Empty:
            successor_pool = self._idle

        def start():
            if self._closed:
                return
            try:
                new = self._spawn()
                self._await_ready(new)
            except (EngineUnavailable, OSError, EOFError):
                return  # the next query finds one worker fewer; /health shows it
            if self._closed:
                new.process.kill()
            else:
                successor_pool.put(new)

        threading.Thread(target=start, daemon=True).start()

    def run(self, job: Job, timeout: float) -> Result:
        """Run a job on a free worker. ``timeout`` bounds the wait for a worker (EngineBusy) and,
        separately, the query's own run (QueryTimeout, and the worker is killed)."""
        try:
            w = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise self._busy(timeout) from None
        try:
            w.conn.send(job)
            if not w.conn.poll(timeout):
                self._replace(w)
                raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
            status, payload = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._replace(w)
            raise EngineUnavailable("the query worker died; it is being restarted") from None
        self._idle.put(w)
        return self._answer(status, payload)

    def _busy(self, timeout: float) -> EngineBusy:
        return EngineBusy(f"all {self.workers} query workers stayed busy for {timeout:g} s; try again shortly")

    @staticmethod
    def _answer(status: str, payload) -> Result:
        if status == "ok":
            return payload
        if status == "query-error":
            raise QueryError(payload)
        raise EngineUnavailable(payload)

    async def arun(self, job: Job, timeout: float, wait: float | None = None) -> Result:
        """run() for the event loop, without a thread hop: the loop itself watches the worker's pipe
        (the hop cost more than the pipe on sub-millisecond queries). ``wait`` bounds the wait for
        a free worker (default: ``timeout``)."""
        wait = timeout if wait is None else wait
        w = await self._acquire(wait)
        loop = asyncio.get_running_loop()
        answered = loop.create_future()
        fd = w.conn.fileno()
        try:
            w.conn.send(job)
            loop.add_reader(fd, lambda: answered.done() or answered.set_result(None))
            try:
                await asyncio.wait_for(answered, timeout)
            finally:
                loop.remove_reader(fd)
                # uvloop leaves a watched descriptor non-blocking; multiprocessing needs it blocking
                # (an answer over 16 KiB comes in two writes, and recv() must wait for the second)
                os.set_blocking(fd, True)
            status, payload = w.conn.recv()
        except (asyncio.TimeoutError, asyncio.CancelledError) as e:
            self._replace(w)  # nobody wants this answer any more: free the CPU
            if isinstance(e, asyncio.CancelledError):
                raise
            raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped") from None
        except (EOFError, OSError, BrokenPipeError):
            self._replace(w)
            raise EngineUnavailable("the query worker died; it is being restarted") from None
        self._idle.put(w)
        return self._answer(status, payload)

    async def _acquire(self, wait: float) -> _Worker:
        """An idle worker, polling briefly while all are busy (cancellation-safe: nothing is held
        while waiting)."""
        deadline = time.monotonic() + wait
        pause = 0.001
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise self._busy(wait) from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.02)

    def busy_workers(self) -> int:
        return self.workers - self._idle.qsize()

    def close(self) -> None:
        self._closed = True
        for pool in (self._idle, self._spare):
            while True:
                try:
                    w = pool.get_nowait()
                except queue.Empty:
                    break
                w.process.kill()


# ------------------------------------------------------------------ a remote SPARQL 1.1 endpoint


@dataclass
class RemoteEngine:
    """Any SPARQL 1.1 endpoint, through SPARQLWrapper. Results are re-serialised here, so formats
    and row caps are the same as with the embedded store. A timeout stops waiting; whether the
    remote server stops the query is up to it."""
    endpoint: str
    triples: int = 0

    def run(self, job: Job, timeout: float) -> Result:
        from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
        from SPARQLWrapper.SPARQLExceptions import EndPointNotFound, QueryBadFormed, SPARQLWrapperException

        from .inspect import inspect

        form = inspect(job.query).form
        client = SPARQLWrapper(self.endpoint)
        client.setQuery(job.query)
        client.setMethod(POST)
        client.setTimeout(max(1, int(timeout + 0.999)))
        client.setReturnFormat(JSON if form in ("SELECT", "ASK") else TURTLE)
        client.setOnlyConneg(True)
        for g in job.default_graphs or ():
            client.addDefaultGraph(g)
        for g in job.named_graphs or ():
            client.addNamedGraph(g)
        try:
            raw = client.query().response.read()
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
        try:
            if form in ("SELECT", "ASK"):
                parsed = ox.parse_query_results(raw, format=ox.QueryResultsFormat.JSON)
            else:
                parsed = ox.parse(raw, format=ox.RdfFormat.TURTLE)
        except SyntaxError as e:  # e.g. a truncated body after a server-side timeout
            raise EngineUnavailable(f"the remote store sent an unreadable answer: {e}") from None
        return render(parsed, job)

    async def arun(self, job: Job, timeout: float, wait: float | None = None) -> Result:
        return await asyncio.to_thread(self.run, job, timeout)  # the remote server queues as it likes

    def close(self) -> None:
        pass
