"""Query engines behind one interface: embedded Oxigraph in killable worker processes, or any
remote SPARQL 1.1 endpoint.

pyoxigraph has no query timeout and cannot be interrupted from Python (it releases the GIL,
so an abandoned thread keeps a core busy). Each query therefore runs in a worker process over
its own read-only copy of the store; a query that passes its time limit gets its worker
killed (SIGKILL frees the CPU at once) and a fresh worker is started in the background.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from pathlib import Path

import pyoxigraph as ox

from policygraph.store import sandbox
from policygraph.store.formats import serialize_boolean, serialize_solutions, serialize_triples

log = logging.getLogger("policygraph.engine")
TICK = 0.025  # seconds between checks of a running query's memory and its client


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


class Engine(Protocol):
    """What the web layer needs of a store: run a query under a time limit, report its state, close.
    EmbeddedEngine (worker processes over pyoxigraph) and RemoteEngine (any SPARQL 1.1 endpoint) are one."""

    triples: int

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Callable[[], Awaitable[bool]] | None = None) -> Result: ...

    def status(self) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


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


@dataclass(frozen=True)
class WorkerLimits:
    """What confines a query worker (sandbox.py): its network, and the memory one query may add."""
    memory: int = 1 << 30     # bytes of resident memory a query may add to its worker's loaded store
    network: bool = False     # True only when the operator allowed SERVICE endpoints


def _worker_main(conn, source: StoreSource, limits: WorkerLimits = WorkerLimits()) -> None:
    isolation = () if limits.network else sandbox.isolate_network()  # before any file or thread is opened
    try:
        store = source.open()
    except Exception as e:  # noqa: BLE001 - reported to the parent, which decides
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    sandbox.run_with_deep_stack(_serve_jobs, conn, store, limits, isolation)


def _serve_jobs(conn, store: ox.Store, limits: WorkerLimits, isolation: tuple[str, ...]) -> None:
    # the parent stops a query that adds more than limits.memory (it watches resident memory); this
    # backstop ends the process if the parent's watch ever falls behind
    sandbox.cap_data_segment(2 * limits.memory + (256 << 20))
    conn.send(("ready", {"triples": len(store), "isolation": isolation}))
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
        except MemoryError:
            conn.send(("memory", "the query needed more memory than its worker may use"))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 - also pyo3's PanicException: the worker lives on
            conn.send(("engine-error", f"{type(e).__name__}: {e}"))


class QueryMemoryLimit(Exception):
    """The query passed its memory limit and was stopped: the client's query is too costly (HTTP 400)."""


class ClientGone(Exception):
    """The client hung up; its query was stopped."""


class ClientBusy(EngineBusy):
    """This client's own queries (and the reloads its stopped queries cost) hold its share of the
    workers: HTTP 429, so that one client cannot take every worker from the others."""


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    baseline: int = 0      # resident bytes with the store loaded, before any query


@dataclass
class EmbeddedEngine:
    """A small pool of worker processes, each with the whole store; one query per worker at a time.

    A query that passes its time or memory limit, crashes its worker, or whose client hangs up gets
    its worker killed (SIGKILL frees CPU and memory at once) and a successor started in the
    background. ``spares`` workers are loaded but idle: a killed worker's place is taken by a spare
    at once. Each client (by address) holds at most ``client_share`` workers at a time (default: all
    but one), counting the reloads its stopped queries cost until they are done, so a client that
    sends runaway queries in a loop waits for its own reloads instead of taking the pool."""
    source: StoreSource
    workers: int = 2
    spares: int = 0
    start_timeout: float = 300.0
    limits: WorkerLimits = field(default_factory=WorkerLimits)
    client_share: int | None = None
    _idle: queue.Queue = field(default_factory=queue.Queue, init=False)
    _spare: queue.Queue = field(default_factory=queue.Queue, init=False)
    _ctx: object = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _held: Counter = field(default_factory=Counter, init=False)
    _busy: int = field(default=0, init=False)
    _starting: int = field(default=0, init=False)
    triples: int = field(default=0, init=False)
    isolation: tuple[str, ...] = field(default=(), init=False)
    _closed: bool = field(default=False, init=False)

    def __post_init__(self):
        if self.workers < 1 or self.spares < 0:
            raise ValueError("an embedded engine needs at least one worker and no negative spares")
        self.client_share = self.client_share or max(1, self.workers - 1)
        self._ctx = mp.get_context("spawn")  # no fork: the parent may hold threads and a store
        started = [self._spawn() for _ in range(self.workers + self.spares)]
        for i, w in enumerate(started):
            self._await_ready(w)
            (self._idle if i < self.workers else self._spare).put(w)
        if not self.limits.network and "seccomp" not in self.isolation and "network-namespace" not in self.isolation:
            log.warning("query workers could not be cut off from the network on this system; only the request "
                        "check keeps SERVICE out", extra={"event": "no-isolation"})

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        p = self._ctx.Process(target=_worker_main, args=(child, self.source, self.limits), daemon=True,
                              name="policygraph-query")
        p.start()
        child.close()
        return _Worker(p, parent)

    def _await_ready(self, w: _Worker) -> None:
        if not w.conn.poll(self.start_timeout):
            w.process.kill()
            raise EngineUnavailable("a query worker did not start in time")
        try:
            status, detail = w.conn.recv()
        except (EOFError, OSError):
            raise EngineUnavailable(f"a query worker ended while starting (exit code {w.process.exitcode})") from None
        if status != "ready":
            raise EngineUnavailable(f"a query worker could not open the store: {detail}")
        w.baseline = sandbox.resident_bytes(w.process.pid) or 0
        self.triples, self.isolation = detail["triples"], tuple(detail["isolation"])

    def _replace(self, w: _Worker, client: str | None, reason: str) -> None:
        """Kill a worker, put a spare in its place, and start a successor in the background (as the
        next spare, or as the worker itself when there was no spare), so the caller returns at once.
        The client keeps its share of the pool until the successor is ready."""
        w.process.kill()
        log.info("query worker stopped", extra={"event": "worker-stopped", "reason": reason, "pid": w.process.pid})
        try:
            self._idle.put(self._spare.get_nowait())
            successor_pool = self._spare
        except queue.Empty:
            successor_pool = self._idle
        with self._lock:
            self._busy -= 1
            self._starting += 1

        def start():
            w.process.join(timeout=5)
            w.conn.close()
            new = None
            for attempt in range(3):
                if self._closed:
                    break
                try:
                    new = self._spawn()
                    self._await_ready(new)
                    break
                except (EngineUnavailable, OSError, EOFError) as e:
                    log.error("a query worker could not be restarted", extra={"event": "respawn-failed",
                              "attempt": attempt + 1, "detail": str(e)})
                    new = None
                    time.sleep(1 + attempt)
            with self._lock:
                self._starting -= 1
                self._release(client)
            if new is not None and self._closed:
                new.process.kill()
            elif new is not None:
                successor_pool.put(new)

        threading.Thread(target=start, daemon=True).start()

    def _release(self, client: str | None) -> None:  # with self._lock held
        self._held[client] -= 1
        if self._held[client] <= 0:
            del self._held[client]

    def _take(self, client: str | None) -> _Worker | None:
        """An idle, live worker within this client's share, or None."""
        while True:
            with self._lock:
                if client is not None and self._held[client] >= self.client_share:
                    return None
                try:
                    w = self._idle.get_nowait()
                except queue.Empty:
                    return None
                self._held[client] += 1
                self._busy += 1
            if w.process.is_alive():
                return w
            with self._lock:  # killed from outside (the OOM killer …): restart it, at nobody's charge
                self._release(client)
                self._held[None] += 1
            self._replace(w, None, "found dead")

    def _give_back(self, w: _Worker, client: str | None) -> None:
        with self._lock:
            self._busy -= 1
            self._release(client)
        self._idle.put(w)

    def _over_memory(self, w: _Worker) -> bool:
        rss = sandbox.resident_bytes(w.process.pid)
        return rss is not None and rss - w.baseline > self.limits.memory

    def _stopped(self, w: _Worker, client: str | None, reason: str, timeout: float) -> Exception:
        """Replace a worker that did not answer, and the exception that tells the client why."""
        if reason == "died":
            w.process.join(timeout=0.5)  # it is ending: its pipe closed; how (signal) tells why
            code = w.process.exitcode
            reason = "memory" if code == -signal.SIGABRT else "died"
        self._replace(w, client, reason)
        if reason == "timeout":
            return QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
        if reason == "memory":
            return QueryMemoryLimit(f"the query used more than {self.limits.memory / 2**20:,.0f} MiB of memory "
                                    "and was stopped")
        if reason == "gone":
            return ClientGone("the client closed the connection; its query was stopped")
        return EngineUnavailable(f"the query worker died (exit code {w.process.exitcode}); it is being restarted")

    def run(self, job: Job, timeout: float, client: str | None = None) -> Result:
        """Run a job on a free worker, blocking. ``timeout`` bounds the wait for a worker (EngineBusy)
        and, separately, the query's own run (QueryTimeout, and the worker is killed)."""
        deadline = time.monotonic() + timeout
        while (w := self._take(client)) is None:
            if time.monotonic() >= deadline:
                raise self._busy_error(timeout, client)
            time.sleep(0.005)
        reason = None
        try:
            w.conn.send(job)
            deadline = time.monotonic() + timeout
            while reason is None and not w.conn.poll(min(TICK, max(0.0, deadline - time.monotonic()))):
                reason = "timeout" if time.monotonic() >= deadline else "memory" if self._over_memory(w) else None
            if reason is None:
                status, payload = w.conn.recv()
        except (EOFError, OSError):
            reason = "died"
        if reason is not None:
            raise self._stopped(w, client, reason, timeout)
        self._give_back(w, client)
        return self._answer(status, payload)

    def _busy_error(self, wait: float, client: str | None) -> EngineBusy:
        with self._lock:
            if client is not None and self._held[client] >= self.client_share:
                return ClientBusy(f"your earlier queries (or the workers reloading after them) hold "
                                  f"{self._held[client]} of {self.workers} query workers; try again shortly")
        return EngineBusy(f"all {self.workers} query workers stayed busy for {wait:g} s; try again shortly")

    @staticmethod
    def _answer(status: str, payload) -> Result:
        if status == "ok":
            return payload
        if status == "query-error":
            raise QueryError(payload)
        if status == "memory":
            raise QueryMemoryLimit(payload)
        raise EngineUnavailable(payload)

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Callable[[], Awaitable[bool]] | None = None) -> Result:
        """run() for the event loop, without a thread hop: the loop itself watches the worker's pipe
        (the hop cost more than the pipe on sub-millisecond queries), and every TICK the worker's
        memory and whether the client (``gone``) has hung up. ``wait`` bounds the wait for a free
        worker (default: ``timeout``); ``client`` names whose share of the pool the query counts to."""
        wait = timeout if wait is None else wait
        w = await self._acquire(wait, client, gone)
        loop = asyncio.get_running_loop()
        answered = loop.create_future()
        fd = w.conn.fileno()
        reason = None
        try:
            w.conn.send(job)
            loop.add_reader(fd, lambda: answered.done() or answered.set_result(None))
            try:
                reason = await self._watch(w, answered, timeout, gone)
            finally:
                loop.remove_reader(fd)
                # uvloop leaves a watched descriptor non-blocking; multiprocessing needs it blocking
                # (an answer over 16 KiB comes in two writes, and recv() must wait for the second)
                os.set_blocking(fd, True)
            if reason is None:
                status, payload = w.conn.recv()
        except asyncio.CancelledError:
            self._replace(w, client, "cancelled")  # nobody wants this answer any more: free the CPU
            raise
        except (EOFError, OSError):
            reason = "died"
        if reason is not None:
            raise self._stopped(w, client, reason, timeout)
        self._give_back(w, client)
        return self._answer(status, payload)

    async def _watch(self, w: _Worker, answered: asyncio.Future, timeout: float,
                     gone: Callable[[], Awaitable[bool]] | None) -> str | None:
        """None once the worker answers; else why it must be stopped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            await asyncio.wait([answered], timeout=min(TICK, left))
            if answered.done():
                return None
            if self._over_memory(w):
                return "memory"
            if gone is not None and await gone():
                return "gone"

    async def _acquire(self, wait: float, client: str | None,
                       gone: Callable[[], Awaitable[bool]] | None) -> _Worker:
        """An idle worker within this client's share, polling briefly while there is none
        (cancellation-safe: nothing is held while waiting)."""
        deadline = time.monotonic() + wait
        pause = 0.001
        while (w := self._take(client)) is None:
            if time.monotonic() >= deadline:
                raise self._busy_error(wait, client)
            if pause >= TICK and gone is not None and await gone():
                raise ClientGone("the client closed the connection while waiting for a worker")
            await asyncio.sleep(pause)
            pause = min(pause * 2, TICK)
        return w

    def busy_workers(self) -> int:
        return self._busy

    def status(self) -> dict:
        """The pool as /health reports it."""
        with self._lock:
            busy, starting = self._busy, self._starting
        with self._idle.mutex:  # an idle worker killed from outside is not live, though nobody asked it yet
            idle = sum(w.process.is_alive() for w in self._idle.queue)
        return {"configured": self.workers, "live": idle + busy, "idle": idle, "busy": busy, "starting": starting,
                "spares": self._spare.qsize(), "client_share": self.client_share,
                "memory_limit_mib": self.limits.memory >> 20,
                "network_isolation": list(self.isolation) if not self.limits.network else "off (SERVICE allowed)"}

    def close(self) -> None:
        self._closed = True
        for pool in (self._idle, self._spare):
            while True:
                try:
                    w = pool.get_nowait()
                except queue.Empty:
                    break
                w.process.kill()
                w.process.join(timeout=1)  # reaped here, not left for whoever lists child processes next


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
        from SPARQLWrapper.SPARQLExceptions import (
            EndPointNotFound,
            QueryBadFormed,
            SPARQLWrapperException,
        )

        from policygraph.store.query_check import inspect

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

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Callable[[], Awaitable[bool]] | None = None) -> Result:
        return await asyncio.to_thread(self.run, job, timeout)  # the remote server queues as it likes

    def close(self) -> None:
        pass
