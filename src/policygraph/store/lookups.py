"""Single-resource lookups answered in the service's own process, from an on-disk copy of the store.

A query that goes to a worker process pays for the hand-off (a pipe, two process wake-ups) and the
framework around the route; for ``ASK { <s> ?p ?o }`` or a label lookup that is several times the
query's own cost, and twice the Oxigraph server's answer (benchmarks/overhead.py). Lookups are what
Linked Data clients send most, so the service answers them itself, before routing (web/lookups.py).

A lookup is a query of the small grammar in lookup_form.py (one triple pattern with a given subject,
or DESCRIBE of one IRI), which the request check recognises (Job.lookup). Its answer costs time in
proportion to its rows; an answer longer than ``LOOKUP_ROWS`` is abandoned and the query goes to the
pool, so a lookup holds the event loop for at most a few milliseconds. The request check has already
refused SERVICE in every reading of the text; the grammar is a second guard, since these queries run
where the network is reachable.

The copy is built by a low-priority process after the service is ready (1M triples: ~23 s, 316 MiB on
disk) and opened read-only; until then, and for the remote engine, lookups go to the pool. On disk
rather than in memory: a second in-memory store would double the server's memory, while RocksDB
reads go through the page cache (a label lookup costs 120 µs on disk against 60 µs in memory).
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox

from policygraph.store.engines import Job, Result
from policygraph.store.formats import render, serialize_boolean
from policygraph.store.loading import rdf_file_format

log = logging.getLogger("policygraph.engine")
LOOKUP_ROWS = 1000  # rows (or triples) a lookup may return in process; a longer answer goes to the pool
COPY_PREFIX = "policygraph-lookups-"  # + the service's pid: a copy whose service is gone is removed at a start


# ---------------------------------------------------------------- the on-disk copy


def _copy(files: list[Path], into: str) -> None:
    """In a process of its own: load ``files`` into an on-disk store at ``into``, as StoreSource.open
    loads them in memory."""
    with contextlib.suppress(OSError):
        os.nice(10)  # the service's queries first
    store = ox.Store(into)
    for f in files:
        fmt, graph = rdf_file_format(f)
        store.bulk_load(path=str(f), format=fmt, to_graph=graph)
    store.flush()


def _remove_stale_copies() -> None:
    """Copies left by services that ended without closing (SIGKILL, a crash): at 1M triples each holds
    ~300 MiB of the temporary directory."""
    for d in Path(tempfile.gettempdir()).glob(COPY_PREFIX + "*-*"):
        pid = d.name.removeprefix(COPY_PREFIX).split("-")[0]
        if pid.isdigit() and not _running(int(pid)) and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class Lookups:
    """The on-disk copy lookups are answered from: ``start`` builds it in the background (or opens
    an on-disk store the service already serves), ``answer`` answers a lookup or returns None."""

    def __init__(self) -> None:
        self._store: ox.Store | None = None
        self._dir: str | None = None
        self._process: mp.process.BaseProcess | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._failed = False

    def start(self, path: Path | None, on_disk: bool, extra: tuple[Path, ...] = ()) -> None:
        if on_disk and path is not None:
            self._store = ox.Store.read_only(str(path))
            return
        files = [*((path,) if path else ()), *extra]
        if not files:
            return
        _remove_stale_copies()
        self._dir = tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-")
        self._process = mp.get_context("spawn").Process(target=_copy, args=(files, self._dir), daemon=True,
                                                        name="policygraph-lookups")
        self._process.start()
        threading.Thread(target=self._open_when_copied, daemon=True, name="policygraph-lookups").start()

    def _open_when_copied(self) -> None:
        assert self._process is not None and self._dir is not None
        self._process.join()
        with self._lock:
            if self._closed:
                return
            if self._process.exitcode != 0:
                self._failed = True
                log.warning("the on-disk copy for lookups failed (exit %s); lookups go to the query workers",
                            self._process.exitcode, extra={"event": "lookups-failed"})
                return
            try:
                self._store = ox.Store.read_only(self._dir)
            except OSError as e:
                self._failed = True
                log.warning("the on-disk copy for lookups could not be opened (%s); lookups go to the query workers",
                            e, extra={"event": "lookups-failed"})
                return
            log.info("lookups answered in process from %s", self._dir, extra={"event": "lookups-ready"})

    @property
    def state(self) -> str:
        """For /health: "ready", "copying" (the copy is being built), "failed", or "off"."""
        if self._store is not None:
            return "ready"
        if self._failed:
            return "failed"
        return "copying" if self._process is not None and not self._closed else "off"

    def answer(self, job: Job) -> Result | None:
        """The answer to ``job`` if the request check found it a lookup (over the union of all graphs),
        else None: send it to the pool, which also gives a failing query its error."""
        store = self._store
        if store is None or not job.lookup or job.default_graphs is not None or job.named_graphs is not None:
            return None
        capped = replace(job, max_rows=min(job.max_rows, LOOKUP_ROWS))
        try:
            result = _engine_json(store, capped) if job.fmt == "json" else None
            if result is not None and result.truncated:  # more rows than the cap: not run a second time
                if capped.max_rows < job.max_rows:
                    return None
                result = None  # the service's own row limit: render writes the cut answer
            if result is None:
                result = render(store.query(job.query, use_default_graph_as_union=True), capped)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # an unknown prefix, a bad IRI, an engine panic: the pool answers with the error
            return None
        return None if result.truncated and capped.max_rows < job.max_rows else result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._store = None
            if self._process is not None and self._process.is_alive():
                self._process.kill()
        if self._process is not None:
            self._process.join(5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _engine_json(store: ox.Store, job: Job) -> Result | None:
    """A SELECT lookup's JSON from Oxigraph's own serialiser, byte-identical to render's and 2-3× faster
    on a dozen rows (measured); bounded by a LIMIT one past ``job.max_rows`` added to the text (on a
    line of its own: the text may end in a comment). With more rows than that, a Result marked
    truncated and without a usable body; None where it does not apply (render answers)."""
    try:
        res = store.query(f"{job.query}\nLIMIT {job.max_rows + 1}", use_default_graph_as_union=True)
    except SyntaxError:
        return None
    if isinstance(res, ox.QueryBoolean):  # ASK: a LIMIT of one or more leaves the answer as it is
        return Result(serialize_boolean(bool(res), job.fmt))
    if not isinstance(res, ox.QuerySolutions):
        return None
    body = res.serialize(format=ox.QueryResultsFormat.JSON) or b""
    rows = len(json.loads(body)["results"]["bindings"])
    return Result(body, False, rows) if rows <= job.max_rows else Result(b"", True, rows)
