"""Query workers forked from one process that has loaded the store (the template).

Loading a store costs seconds and a copy of it per worker; forking a process that holds it costs
milliseconds, and the workers share its pages copy-on-write (benchmarks/fork_template.py: at 1M
quads a forked worker answers 10 ms after the fork, template + 2 workers take one store + 114 MiB
PSS). The template is a spawned process (the service's own process holds threads, so it never
forks itself): it cuts itself off from the network, loads the store, and then forks one worker per
request, handing it the pipe end the service sent over (SCM_RIGHTS). It reaps its children and
keeps their exit status for the service to ask.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from typing import Any

REAP_EVERY = 0.1  # seconds between the template's looks for ended workers while it waits for requests
KEEP_ENDED = 1000  # exit statuses kept for the service to ask (the oldest go first)


class ForkedWorker:
    """A worker the template forked: what the pool needs of a process (pid, kill, is_alive, exitcode)."""

    def __init__(self, pid: int, template: Template):
        self.pid, self._template = pid, template

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def is_alive(self) -> bool:
        return running(self.pid)

    def join(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout``) until the template has reaped it."""
        self._template.wait_reaped(self.pid, timeout)

    @property
    def exitcode(self) -> int | None:
        """Like multiprocessing's: None while it runs, −N when signal N ended it."""
        return self._template.exitcode(self.pid)


def running(pid: int) -> bool:
    """Whether a process runs (not ended, nor ended and waiting to be reaped by the template) — cheap
    enough for the pool to ask before every query."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


Serve = Callable[[Connection, Any, Any, tuple[str, ...]], None]


@dataclass(frozen=True)
class Recipe:
    """What the template does (module-level functions, so a spawned process can be handed them): cut
    itself off (``isolate``, naming what it applied), open the store, and in each forked worker
    ``serve(pipe, store, limits, isolation)`` on a stack as deep as ``deep_stack`` gives."""
    open_store: Callable[[], Any]
    serve: Serve
    limits: Any
    isolate: Callable[[], tuple[str, ...]]
    deep_stack: Callable[..., None]


def _template_main(conn: Connection, recipe: Recipe) -> None:
    isolation = recipe.isolate()  # before the store is opened: every worker inherits it
    try:
        store = recipe.open_store()
    except Exception as e:  # reported to the service, which decides
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", {"triples": len(store), "isolation": isolation}))
    # the loop runs on the deep stack: a forked worker goes on in this thread, with this stack
    recipe.deep_stack(_fork_on_request, conn, store, recipe, isolation)


def _fork_on_request(conn: Connection, store: Any, recipe: Recipe, isolation: tuple[str, ...]) -> None:
    ended: dict[int, int] = {}
    while True:
        _reap(ended)
        try:
            if not conn.poll(REAP_EVERY):
                continue
            request = conn.recv()
        except (EOFError, OSError):
            return  # the service is gone: so are we
        if request[0] == "status":
            conn.send(ended.get(request[1]))
            continue
        fd = recv_handle(conn)
        pid = os.fork()
        if pid == 0:  # the worker: serve jobs on the pipe it was given, never return into this loop
            conn.close()
            try:
                recipe.serve(Connection(fd), store, recipe.limits, isolation)
            finally:
                os._exit(0)
        os.close(fd)
        conn.send(pid)


def _reap(ended: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if len(ended) > KEEP_ENDED:
            del ended[next(iter(ended))]


class Template:
    """The service's handle on the template process."""

    def __init__(self, recipe: Recipe, start_timeout: float):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()
        self.process = ctx.Process(target=_template_main, args=(child, recipe),
                                   daemon=True, name="policygraph-store")
        self.process.start()
        child.close()
        if not self._conn.poll(start_timeout):
            self.process.kill()
            raise TimeoutError("the store process did not load the store in time")
        try:
            status, self.detail = self._conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"the store process ended while loading (exit code {self.process.exitcode})") from None
        if status != "ready":
            raise RuntimeError(f"the store process could not open the store: {self.detail}")

    def fork(self) -> tuple[ForkedWorker, Connection]:
        """A new worker and the service's end of its pipe."""
        ours, theirs = mp.get_context("spawn").Pipe()
        with self._lock:
            self._conn.send(("fork",))
            send_handle(self._conn, theirs.fileno(), self.process.pid or 0)
            pid = self._conn.recv()
        theirs.close()
        return ForkedWorker(pid, self), ours

    def exitcode(self, pid: int) -> int | None:
        """A worker's exit status once the template has reaped it (−9 when the template itself is gone)."""
        with self._lock:
            try:
                self._conn.send(("status", pid))
                code: int | None = self._conn.recv()
            except (EOFError, OSError):
                return -signal.SIGKILL
            return code

    def wait_reaped(self, pid: int, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.exitcode(pid) is None and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.01)  # each question makes the store process reap first

    def alive(self) -> bool:
        return self.process.is_alive()

    def close(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self._conn.close()
