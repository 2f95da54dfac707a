"""The embedded engine: pyoxigraph in a small pool of killable worker processes.

pyoxigraph has no query timeout and cannot be interrupted from Python (it releases the GIL,
so an abandoned thread keeps a core busy). Each query therefore runs in a worker process; a
query that passes its time limit gets its worker killed (SIGKILL frees the CPU at once) and a
successor is started in the background. Workers are forked from one process that has loaded the
store (template.py): they share its pages copy-on-write, and a successor is ready in
milliseconds instead of a reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import select
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from policygraph.store import sandbox
from policygraph.store.engines import (
    ClientBusy,
    ClientGone,
    EngineBusy,
    EngineUnavailable,
    Job,
    QueryError,
    QueryMemoryLimit,
    TIMING,
    QueryTimeout,
    Result,
)
from policygraph.store.formats import render
from policygraph.store.lookups import Lookups
from policygraph.store.loading import rdf_file_format
from policygraph.store.template import ForkedWorker, Recipe, Template

log = logging.getLogger("policygraph.engine")
TICK = 0.025  # seconds between checks of a running query's memory and its client
RETURN_HEAP_OVER = 16 << 20  # bytes a worker may keep above its start between queries (then malloc_trim)
# a worker holding more than this alone (heap malloc cannot give back, store pages copy-on-write made
# its own) is replaced by a fresh fork; looked at once a CHECK_PRIVATE_EVERY per worker (a look costs ~1 ms).
# Reads of the in-memory store write to the pages they touch, so a worker copies what it reads: the 1M
# soak renewed 237 workers in 300 s (~0.8 a second, each copying the pages it reads again) at the same
# throughput as without renewals (11-13 req/s), and kept the server at one store + 96 MiB PSS
RECYCLE_OVER = 64 << 20
CHECK_PRIVATE_EVERY = 2.0
# when the whole pool has been idle this long, workers holding over TIDY_OVER alone are replaced too
# (serve turns it on), so a quiet server goes back to one store's memory at no client's cost
TIDY_AFTER, TIDY_OVER = 1.0, 16 << 20
# seconds every worker must have run its query before a client holding none gets an extra one: longer
# than most ordinary named queries at 1M triples (0.5-2 s), or ordinary load forks extras and the cores,
# not the queue, are shared (at 0.5 s the 1M soak forked 209 workers in 300 s)
EXTRA_AFTER = 2.0
Gone = Callable[[], Awaitable[bool]]


# ------------------------------------------------------------------ inside a worker process


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


def execute(store: ox.Store, job: Job) -> Result:
    if job.default_graphs is None:
        res = store.query(job.query, use_default_graph_as_union=True, named_graphs=_graphs(job.named_graphs))
    else:
        default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [ox.NamedNode(g) for g in job.default_graphs]
        res = store.query(job.query, default_graph=default or [ox.DefaultGraph()],
                          named_graphs=_graphs(job.named_graphs))
    return render(res, job)


def _graphs(names: tuple[str, ...] | None) -> list[ox.NamedNode | ox.BlankNode] | None:
    return None if names is None else [ox.NamedNode(g) for g in names]


def _no_isolation() -> tuple[str, ...]:
    return ()


def _serve_jobs(conn: Connection, store: ox.Store, limits: WorkerLimits, isolation: tuple[str, ...]) -> None:
    # the parent stops a query that adds more than limits.memory (it watches resident memory); this
    # backstop ends the process if the parent's watch ever falls behind
    sandbox.cap_data_segment(2 * limits.memory + (256 << 20))
    conn.send(("ready", {"isolation": isolation}))  # the template counted the triples (len() walks the store)
    baseline = sandbox.resident_bytes(os.getpid()) or 0
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        _give_back_heap(baseline)
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
        except BaseException as e:  # also pyo3's PanicException: the worker lives on
            conn.send(("engine-error", f"{type(e).__name__}: {e}"))


def _give_back_heap(baseline: int) -> None:
    """Return what the last query freed to the system (malloc keeps it otherwise: 50-60 MiB per worker
    after the heaviest named queries at 1M triples) when the worker holds RETURN_HEAP_OVER above its
    start. Done before the next query, not after an answer, so the client never waits for it."""
    resident = sandbox.resident_bytes(os.getpid())
    if resident is not None and resident - baseline > RETURN_HEAP_OVER:
        sandbox.trim_heap()


def _settle(wake: asyncio.Future[None]) -> None:
    if not wake.done():
        wake.set_result(None)


class _Answered:
    """Whether a worker's pipe has become readable, and the future the watch loop now waits on."""
    __slots__ = ("done", "waiter")

    def __init__(self) -> None:
        self.done = False
        self.waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self.done = True
        if self.waiter is not None:
            _settle(self.waiter)


@dataclass(eq=False)  # waiters and workers are told apart by identity
class _Waiter:
    """A request waiting for a worker: its future gets the worker (or None when a tick passed)."""
    client: str | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    claimed: bool = False

    def take(self) -> Any:
        self.claimed = True
        return self.future.result()

    def unclaimed(self) -> Any:
        """The worker it was handed and never took, if any."""
        f = self.future
        if self.claimed or not f.done() or f.cancelled():
            return None
        return f.result()


def _idle_and_live(w: _Worker) -> bool:
    """An idle worker never writes to its pipe unasked: readable means it has ended (EOF). One poll of
    the pipe costs a few µs, reading /proc ten times that (it ran before every query). poll, not
    select: a busy server's descriptors pass select's limit of 1024."""
    try:
        pipe = select.poll()
        pipe.register(w.conn.fileno(), select.POLLIN)
        return not pipe.poll(0)
    except (OSError, ValueError):
        return False


def _answer(status: str, payload: Any) -> Result:
    """A worker's reply as a Result, or the error it reports."""
    if status == "ok":
        return payload  # a Result
    if status == "query-error":
        raise QueryError(payload)
    if status == "memory":
        raise QueryMemoryLimit(payload)
    raise EngineUnavailable(payload)


# ------------------------------------------------------------------ the pool, in the service's process


@dataclass(eq=False)
class _Worker:
    process: ForkedWorker
    conn: Connection
    baseline: int = 0      # resident bytes with the store loaded, before any query
    since: float = 0.0     # when its current query was sent (time.monotonic())
    checked: float = 0.0   # when its private memory was last looked at
    renewing: bool = False            # a successor is being forked for it (it holds too much memory alone)
    successor: _Worker | None = None  # … and is ready, to take its place when it is given back
    ended: bool = False               # stopped and replaced
    grown: int = 0         # the most resident memory its current query was seen to add (bytes)
    extra: bool = False    # forked for one query while the pool was held by long ones (see EmbeddedEngine)


@dataclass
class EmbeddedEngine:
    """A small pool of worker processes forked from the store's process; one query per worker at a time.

    A query that passes its time or memory limit, crashes its worker, or whose client hangs up gets
    its worker killed (SIGKILL frees CPU and memory at once) and a successor started in the
    background. ``spares`` workers are loaded but idle: a killed worker's place is taken by a spare
    at once. Each client (by address) holds at most ``client_share`` workers at a time (default: all
    but one), counting the successors of its stopped queries until they are ready, so a client that
    sends runaway queries in a loop waits for its own successors instead of taking the pool.

    When every worker has been running its query for ``EXTRA_AFTER`` seconds or more (long queries,
    runaways) and a client holding none asks, an extra worker is forked for that one query (a fork
    costs milliseconds; at most ``extra`` at a time, default 1), so runaway streams from
    other clients never hold an ordinary query beyond that short wait.

    A worker that holds more than ``recycle_over`` bytes alone after a query (heap malloc could not
    give back, store pages its reads wrote to) is replaced by a fresh fork, and, with ``tidy_over``,
    so is one holding more than that while the whole pool is idle: the pool stays near one store's
    memory."""
    source: StoreSource
    workers: int = 2
    spares: int = 0
    start_timeout: float = 300.0
    limits: WorkerLimits = field(default_factory=WorkerLimits)
    client_share: int | None = None
    extra: int | None = None
    recycle_over: int = RECYCLE_OVER
    tidy_over: int | None = None  # serve passes TIDY_OVER; None: no tidying
    lookups: bool = False  # answer lookups in this process from an on-disk copy (serve turns it on)
    triples: int = field(default=0, init=False)
    isolation: tuple[str, ...] = field(default=(), init=False)
    _share: int = field(default=1, init=False)
    _extra_max: int = field(default=1, init=False)
    _idle: queue.Queue[_Worker] = field(default_factory=queue.Queue, init=False)
    _spare: queue.Queue[_Worker] = field(default_factory=queue.Queue, init=False)
    # workers are forked from the template process, which holds the loaded store (template.py)
    _template: Template | None = field(default=None, init=False)
    _template_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _held: Counter[str | None] = field(default_factory=Counter, init=False)
    _busy: int = field(default=0, init=False)
    _starting: int = field(default=0, init=False)
    _running: dict[int, float] = field(default_factory=dict, init=False)  # id(worker) → since, busy workers
    _extras: int = field(default=0, init=False)
    _waiting: deque[_Waiter] = field(default_factory=deque, init=False)  # requests waiting for a worker, in order
    # seconds from each of the last kills to its successor's readiness, for /health and the benchmarks
    _kill_to_ready: deque[float] = field(default_factory=lambda: deque(maxlen=100), init=False)
    _closed: bool = field(default=False, init=False)
    _lookups: Lookups = field(default_factory=Lookups, init=False)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.spares < 0:
            raise ValueError("an embedded engine needs at least one worker and no negative spares")
        self._share = self.client_share or max(1, self.workers - 1)
        self._extra_max = 1 if self.extra is None else self.extra
        started = [self._spawn() for _ in range(self.workers + self.spares)]
        for i, w in enumerate(started):
            self._await_ready(w)
            (self._idle if i < self.workers else self._spare).put(w)
        if self.lookups:
            self._lookups.start(self.source.path, self.source.on_disk, self.source.extra)
        if self.tidy_over is not None:
            threading.Thread(target=self._tidy, daemon=True, name="policygraph-tidy").start()
        if not self.limits.network and not {"seccomp", "network-namespace"} & set(self.isolation):
            log.warning("query workers could not be cut off from the network on this system; only the request "
                        "check keeps SERVICE out", extra={"event": "no-isolation"})

    # ---------------------------------------------------------------- starting and stopping workers

    def _spawn(self) -> _Worker:
        """A worker forked from the template (milliseconds); the template itself is started again
        (a load) only when it has gone."""
        with self._template_lock:
            if self._template is None or not self._template.alive():
                if self._template is not None:
                    self._template.close()
                self._template = self._start_template()
                self.triples = self._template.detail["triples"]
            template = self._template
        try:
            process, conn = template.fork()
        except (EOFError, OSError) as e:
            raise EngineUnavailable(f"the store process could not start a query worker: {e}") from None
        return _Worker(process, conn)

    def _start_template(self) -> Template:
        isolate = _no_isolation if self.limits.network else sandbox.isolate_network
        try:
            return Template(Recipe(self.source.open, _serve_jobs, self.limits, isolate, sandbox.run_with_deep_stack),
                            self.start_timeout)
        except (TimeoutError, RuntimeError) as e:
            raise EngineUnavailable(str(e)) from None

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
        w.baseline = self._resident(w) or 0
        self.isolation = tuple(detail["isolation"])

    @staticmethod
    def _resident(w: _Worker) -> int | None:
        return None if w.process.pid is None else sandbox.resident_bytes(w.process.pid)

    def _replace(self, w: _Worker, client: str | None, reason: str, kill: bool = True) -> None:
        """Kill a worker, put a spare in its place, and start a successor in the background (as the
        next spare, or as the worker itself when there was no spare), so the caller returns at once.
        The client keeps its share of the pool until the successor is ready."""
        if kill:  # not a worker that has ended: the store process may have reaped it, and its pid been reused
            w.process.kill()
        log.info("query worker stopped", extra={"event": "worker-stopped", "reason": reason, "pid": w.process.pid})
        if w.extra:  # no successor: it was forked for this one query
            self._end_extra(w, client)
            return
        try:
            self._idle.put(self._spare.get_nowait())
            successor_pool = self._spare
        except queue.Empty:
            successor_pool = self._idle
        with self._lock:
            self._busy -= 1
            self._starting += 1
            self._running.pop(id(w), None)
            w.ended = True
        threading.Thread(target=self._succeed, args=(w, client, successor_pool, time.monotonic()),
                         daemon=True).start()

    def _succeed(self, w: _Worker, client: str | None, pool: queue.Queue[_Worker], killed: float) -> None:
        """Start a killed worker's successor (three tries; one renewal made ready already counts), then
        free the client's share. SIGKILL has freed its memory already; the store process reaps it."""
        w.conn.close()
        new = w.successor
        for attempt in range(0 if new else 3):
            if self._closed:
                break
            try:
                new = self._spawn()
                self._await_ready(new)
                break
            except (EngineUnavailable, OSError, EOFError) as e:
                if self._closed:  # the pool closed while the successor started
                    break
                log.error("a query worker could not be restarted", extra={"event": "respawn-failed",
                          "attempt": attempt + 1, "detail": str(e)})
                new = None
                time.sleep(1 + attempt)
        with self._lock:
            self._starting -= 1
            self._release(client)
            if new is not None:
                self._kill_to_ready.append(time.monotonic() - killed)
        if new is not None and self._closed:
            new.process.kill()
        elif new is not None:
            pool.put(new)

    def _stopped(self, w: _Worker, client: str | None, reason: str, timeout: float) -> Exception:
        """Replace a worker that did not answer, and the exception that tells the client why."""
        ended, code = reason == "died", None
        if ended:
            w.process.join(timeout=0.5)  # it is ending: its pipe closed; how (signal) tells why
            code = w.process.exitcode
            # an allocation past the data-segment cap aborts (SIGABRT), but so does an engine panic
            # that cannot unwind (Oxigraph's sort on an inconsistent order, e.g. ORDER BY over mixed
            # terms): only a worker seen using much memory was stopped for it
            reason = "memory" if code == -signal.SIGABRT and w.grown > self.limits.memory // 2 else "died"
        self._replace(w, client, reason, kill=not ended)
        if reason == "timeout":
            return QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
        if reason == "memory":
            return QueryMemoryLimit(f"the query used more than {self.limits.memory / 2**20:,.0f} MiB of memory "
                                    "and was stopped")
        if reason == "gone":
            return ClientGone("the client closed the connection; its query was stopped")
        if code == -signal.SIGABRT:
            return EngineUnavailable("the engine aborted on this query (the server log says why); its worker is "
                                     "being restarted")
        return EngineUnavailable(f"the query worker died (exit code {code}); it is being restarted")

    # ---------------------------------------------------------------- each client's share of the pool

    def _release(self, client: str | None) -> None:  # with self._lock held
        self._held[client] -= 1
        if self._held[client] <= 0:
            del self._held[client]

    def _take(self, client: str | None) -> _Worker | None:
        """An idle, live worker within this client's share, or None."""
        while True:
            with self._lock:
                if client is not None and self._held[client] >= self._share:
                    return None
                try:
                    w = self._idle.get_nowait()
                except queue.Empty:
                    return None
                self._held[client] += 1
                self._busy += 1
            if _idle_and_live(w):
                return w
            with self._lock:  # killed from outside (the OOM killer …): restart it, at nobody's charge
                self._release(client)
                self._held[None] += 1
            self._replace(w, None, "found dead", kill=False)

    def _give_back(self, w: _Worker, client: str | None) -> None:
        if w.extra:
            w.process.kill()
            self._end_extra(w, client)
            return
        with self._lock:
            self._busy -= 1
            self._release(client)
            self._running.pop(id(w), None)
            old, w = w, w.successor or w
        if w is not old:  # a fresh fork was made ready while it ran: it takes its place
            old.process.kill()
            old.conn.close()
        elif not w.renewing and self._holds_too_much(w, self.recycle_over):
            w.renewing = True
            threading.Thread(target=self._renew, args=(w,), daemon=True).start()
        self._idle.put(w)
        if self._waiting:
            with contextlib.suppress(RuntimeError):  # RuntimeError: not on an event loop (run())
                self._hand_out()

    def _renew(self, w: _Worker) -> None:
        """Fork a successor for a worker that holds too much memory alone, while it goes on serving;
        the successor takes its place as soon as it is idle (no gap in the pool). A thread."""
        try:
            new = self._spawn()
            self._await_ready(new)
        except (EngineUnavailable, OSError, EOFError):
            w.renewing = False
            return
        with self._lock:
            idle = self._out_of_idle(w)
            if not idle and not w.ended:
                w.successor = new  # busy now: _give_back swaps it in
                return
        if not idle:  # it was stopped meanwhile, and already replaced
            new.process.kill()
            new.conn.close()
            return
        w.process.kill()
        w.conn.close()
        self._idle.put(new)
        log.info("query worker renewed", extra={"event": "worker-renewed", "pid": w.process.pid})

    def _out_of_idle(self, w: _Worker) -> bool:
        """Take this worker out of the idle queue; False if it is not there (busy, or gone)."""
        with self._idle.mutex:
            if w not in self._idle.queue:
                return False
            self._idle.queue.remove(w)
            return True

    def _holds_too_much(self, w: _Worker, limit: int, every: float = CHECK_PRIVATE_EVERY) -> bool:
        now = time.monotonic()
        if now - w.checked < every or w.process.pid is None:
            return False
        w.checked = now
        private = sandbox.private_bytes(w.process.pid)
        return private is not None and private > limit

    def _tidy(self) -> None:
        """While the whole pool stays idle, replace workers that hold much memory alone (a thread)."""
        idle_since = time.monotonic()
        while not self._closed:
            time.sleep(TIDY_AFTER / 2)
            with self._lock:
                quiet = not self._busy and not self._starting and not self._waiting and not self._extras
            if not quiet:
                idle_since = time.monotonic()
                continue
            if time.monotonic() - idle_since < TIDY_AFTER:
                continue
            with self._idle.mutex:
                idle = list(self._idle.queue)
            for w in [w for w in idle if self._holds_too_much(w, self.tidy_over or 0, every=TIDY_AFTER)]:
                if not self._out_of_idle(w):
                    continue
                with self._lock:
                    self._busy += 1
                    self._held[None] += 1
                self._replace(w, None, "tidied")

    # ---------------------------------------------------------------- extra workers while long queries hold the pool

    def _may_fork_extra(self, client: str | None) -> bool:
        now = time.monotonic()
        with self._lock:
            if (self._closed or self._extras >= self._extra_max or self._held[client] > 0
                    or len(self._running) < self.workers):
                return False
            if any(now - since < EXTRA_AFTER for since in self._running.values()):
                return False
            self._extras += 1
            self._held[client] += 1
            return True

    def _fork_extra(self) -> _Worker:
        w = self._spawn()
        self._await_ready(w)
        w.extra = True
        return w

    async def _extra_for(self, client: str | None) -> _Worker:
        forking = asyncio.ensure_future(asyncio.to_thread(self._fork_extra))
        try:
            return await asyncio.shield(forking)
        except asyncio.CancelledError:  # the client went while the fork ran: end what it made
            forking.add_done_callback(lambda f: self._drop_extra(f, client))
            raise
        except (EngineUnavailable, OSError, EOFError):
            self._drop_extra(forking, client)
            raise

    def _drop_extra(self, forked: asyncio.Future[_Worker], client: str | None) -> None:
        if forked.cancelled() or forked.exception() is not None:
            with self._lock:
                self._extras -= 1
                self._release(client)
            return
        w = forked.result()
        w.process.kill()
        self._end_extra(w, client)

    def _end_extra(self, w: _Worker, client: str | None) -> None:
        w.conn.close()
        with self._lock:
            self._extras -= 1
            self._release(client)

    def _busy_error(self, wait: float, client: str | None) -> EngineBusy:
        with self._lock:
            if client is not None and self._held[client] >= self._share:
                return ClientBusy(f"your earlier queries (or the successors of those that were stopped) hold "
                                  f"{self._held[client]} of {self.workers} query workers; try again shortly")
        return EngineBusy(f"all {self.workers} query workers stayed busy for {wait:g} s; try again shortly")

    def _over_memory(self, w: _Worker) -> bool:
        rss = self._resident(w)
        w.grown = max(w.grown, 0 if rss is None else rss - w.baseline)
        return w.grown > self.limits.memory

    # ---------------------------------------------------------------- running a query

    def run(self, job: Job, timeout: float, client: str | None = None) -> Result:
        """Run a job on a free worker, blocking. ``timeout`` bounds the wait for a worker (EngineBusy)
        and, separately, the query's own run (QueryTimeout, and the worker is killed)."""
        deadline = time.monotonic() + timeout
        while (w := self._take(client)) is None:
            if time.monotonic() >= deadline:
                raise self._busy_error(timeout, client)
            time.sleep(0.005)
        reason = None
        self._started(w)
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
        return _answer(status, payload)

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: Gone | None = None) -> Result:
        """run() for the event loop, without a thread hop: the loop itself watches the worker's pipe
        (the hop cost more than the pipe on sub-millisecond queries), and every TICK the worker's
        memory and whether the client (``gone``) has hung up. ``wait`` bounds the wait for a free
        worker (default: ``timeout``); ``client`` names whose share of the pool the query counts to."""
        if (timing := TIMING.get()) is None:  # a page's several queries add up
            TIMING.set(timing := {"queue": 0.0, "query": 0.0})
        asked = time.monotonic()
        try:
            w = await self._acquire(timeout if wait is None else wait, client, gone)
        finally:
            timing["queue"] += (time.monotonic() - asked) * 1000
        try:
            return await self._run_on(w, job, timeout, client, gone)
        finally:
            timing["query"] += (time.monotonic() - w.since) * 1000

    async def _run_on(self, w: _Worker, job: Job, timeout: float, client: str | None, gone: Gone | None) -> Result:
        loop = asyncio.get_running_loop()
        answered = _Answered()
        fd = w.conn.fileno()
        reason = None
        self._started(w)
        try:
            w.conn.send(job)
            loop.add_reader(fd, answered.set)
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
        return _answer(status, payload)

    async def _watch(self, w: _Worker, answered: _Answered, timeout: float, gone: Gone | None) -> str | None:
        """None once the worker answers; else why it must be stopped. One future and one timer per
        TICK: asyncio.wait() with a timeout cost more than a small query's whole run."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while not answered.done:  # (it may have answered while gone() was awaited)
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            wake = answered.waiter = loop.create_future()
            timer = loop.call_later(min(TICK, left), _settle, wake)
            await wake
            timer.cancel()
            if answered.done:
                return None
            if self._over_memory(w):
                return "memory"
            if gone is not None and await gone():
                return "gone"
        return None

    def _started(self, w: _Worker) -> None:
        w.since, w.grown = time.monotonic(), 0
        if not w.extra:
            with self._lock:
                self._running[id(w)] = w.since

    async def _acquire(self, wait: float, client: str | None, gone: Gone | None) -> _Worker:
        """An idle worker within this client's share, or an extra one when long queries hold them
        all. Waiting requests are served first come, first served (a request that polled for a free
        worker could be overtaken by newer ones again and again while a runaway held half the pool);
        a worker given back on this event loop goes straight to the first waiter it may serve."""
        if not self._waiting and (w := self._take(client)) is not None:
            return w
        loop = asyncio.get_running_loop()
        waiter = _Waiter(client, loop, loop.create_future())
        self._waiting.append(waiter)
        deadline = time.monotonic() + wait
        try:
            while True:
                self._hand_out()
                if waiter.future.done():
                    return waiter.take()
                if self._may_fork_extra(client):
                    waiter.future.cancel()
                    return await self._extra_for(client)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy_error(wait, client)
                timer = loop.call_later(min(TICK, left), _settle, waiter.future)  # None: a tick passed
                await waiter.future
                timer.cancel()
                if waiter.future.result() is not None:
                    return waiter.take()
                waiter.future = loop.create_future()
                if gone is not None and await gone():
                    raise ClientGone("the client closed the connection while waiting for a worker")
        finally:
            with contextlib.suppress(ValueError):
                self._waiting.remove(waiter)
            if (w := waiter.unclaimed()) is not None:  # handed a worker, then cancelled or timed out
                self._give_back(w, client)

    def _hand_out(self) -> None:
        """Give idle workers to the waiters of this event loop, oldest first (waiters of another loop,
        as in tests, take theirs on their next tick)."""
        loop = asyncio.get_running_loop()
        for waiter in list(self._waiting):
            if waiter.loop is not loop or waiter.future.done():
                continue
            if (w := self._take(waiter.client)) is not None:
                waiter.future.set_result(w)
            elif self._idle.empty():
                return

    # ---------------------------------------------------------------- state and shutdown

    def answer_now(self, job: Job) -> Result | None:
        return self._lookups.answer(job)

    def busy_workers(self) -> int:
        return self._busy

    def status(self) -> dict[str, Any]:
        """The pool as /health reports it."""
        with self._lock:
            busy, starting, ready = self._busy, self._starting, sorted(self._kill_to_ready)
        with self._idle.mutex:  # an idle worker killed from outside is not live, though nobody asked it yet
            idle = sum(w.process.is_alive() for w in self._idle.queue)
        return {"configured": self.workers, "live": idle + busy, "idle": idle, "busy": busy, "starting": starting,
                "spares": self._spare.qsize(), "client_share": self._share,
                "extra": {"running": self._extras, "max": self._extra_max, "after_s": EXTRA_AFTER},
                "kill_to_ready_ms": {"last_100_median": round(ready[len(ready) // 2] * 1000, 1) if ready else None,
                                     "last_100_max": round(ready[-1] * 1000, 1) if ready else None},
                "memory_limit_mib": self.limits.memory >> 20, "lookups": self._lookups.state,
                "network_isolation": list(self.isolation) if not self.limits.network else "off (SERVICE allowed)"}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._lookups.close()
        for pool in (self._idle, self._spare):
            while True:
                try:
                    w = pool.get_nowait()
                except queue.Empty:
                    break
                w.process.kill()
                w.process.join(timeout=1)  # reaped by the template, not left for whoever lists processes next
        with self._template_lock:
            if self._template is not None:
                self._template.close()
