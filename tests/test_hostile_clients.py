"""The public endpoint under hostile clients (issue 11): SERVICE past the check, crashes, tiny
timeouts, memory, hang-ups, one client taking the pool, honest health, logs and settings.

Every test runs a real uvicorn server on loopback over the shipped dumps with real worker
processes. "Other" clients speak from another loopback address (127.0.0.2), as a second user would.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from conftest import Server
from test_request_check import Listener

from policygraph.web.app import Settings, create_app
from policygraph.web.logs import JsonFormatter
from policygraph.store import sandbox
from policygraph.store.embedded import EmbeddedEngine, StoreSource, WorkerLimits
from policygraph.store.template import running
from policygraph.store.engines import Job

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MEMORY_HOG = "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g"
ASK = "ASK { ?s ?p ?o }"


def other_client(**kw) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), **kw)


def gone(*pids: int) -> bool:
    """Whether none of these worker processes runs any more (workers are the store process's children)."""
    return not any(running(pid) for pid in pids)


def idle_pids(engine) -> set[int]:
    """This engine's idle workers."""
    return {w.process.pid for w in list(engine._idle.queue)}


def wait_until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def engine(dist):
    eng = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=2, limits=WorkerLimits(memory=300 << 20))
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def server(engine):
    with Server(create_app(engine, Settings(query_timeout=8, min_query_timeout=1, queue_timeout=10))) as s:
        yield s


def healthy(server) -> bool:
    with other_client(timeout=5) as c:
        return c.get(server.url + "/health").json()["status"] == "ok"


# ---------------------------------------------------------------- SERVICE through the endpoint


def test_every_service_variant_is_refused_over_http_and_never_connects(server):
    """Each SERVICE spelling and hiding place of the differential corpus, sent to /sparql by GET, form
    POST and direct POST: 403, and the listener sees nothing."""
    from test_request_check import corpus

    listener = Listener()
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{listener.server_address[1]}/"
        statuses = set()
        with httpx.Client(timeout=10) as c:
            for i, q in enumerate(corpus(base, n=300, seed=5)):
                r = (c.get(server.url + "/sparql", params={"query": q}) if i % 3 == 0 else
                     c.post(server.url + "/sparql", data={"query": q}) if i % 3 == 1 else
                     c.post(server.url + "/sparql", content=q.encode(),
                            headers={"Content-Type": "application/sparql-query"}))
                statuses.add((r.status_code, r.json()["error"]))
        assert statuses == {(403, "SERVICE not allowed")}
        assert listener.connections == 0
    finally:
        listener.shutdown()


# ---------------------------------------------------------------- SERVICE: the second layer


def test_workers_cannot_reach_the_network_even_when_the_check_is_bypassed(engine):
    listener = Listener()
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{listener.server_address[1]}/sparql"
        assert set(engine.status()["network_isolation"]) == {"network-namespace", "seccomp"}
        for query in (f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                      f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}"):
            # straight to a worker: no request check on this path; an error is fine, a connection is not
            with contextlib.suppress(Exception):
                engine.run(Job(query, "json"), 10)
        assert listener.connections == 0
    finally:
        listener.shutdown()


@pytest.mark.parametrize("layer", ["enter_network_namespace", "install_socket_filter"])
def test_each_isolation_layer_alone_keeps_a_process_off_the_network(layer):
    """Each layer holds by itself: a process under only one of them reaches no listener."""
    listener = Listener()
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    port = listener.server_address[1]
    code = f"""
import socket, sys
from policygraph.store import sandbox
assert sandbox.{layer}(), "layer not applied"
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    print("connected")
except OSError as e:
    print("refused", e.errno)
a, b = socket.socketpair()  # the pipe to the parent stays possible
a.sendall(b"x"); assert b.recv(1) == b"x"
"""
    try:
        out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("refused"), out.stdout
        assert listener.connections == 0
    finally:
        listener.shutdown()


def test_operator_allowed_service_leaves_workers_their_network(dist):
    eng = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1, limits=WorkerLimits(network=True))
    try:
        assert eng.status()["network_isolation"] == "off (SERVICE allowed)"
    finally:
        eng.close()


# ---------------------------------------------------------------- crashes, tiny timeouts, memory


@pytest.mark.parametrize("query, limit", [
    ("SELECT * WHERE " + "{" * 2200 + "}" * 2200, "nests brackets more than 64"),
    ("SELECT * WHERE { FILTER(" + "(" * 4700 + "1" + ")" * 4700 + ") }", "nests brackets more than 64"),
    ("SELECT * WHERE { BIND(" + "+".join(["1"] * 26_000) + " AS ?x) }", "tokens; the limit is 50,000"),
])
def test_parser_crashing_queries_are_refused_before_any_worker(server, engine, query, limit):
    before = idle_pids(engine)
    r = httpx.post(server.url + "/sparql", data={"query": query}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "query too complex"
    assert limit in r.json()["detail"]
    assert idle_pids(engine) == before


def test_a_crashed_worker_costs_other_clients_nothing(server, engine):
    """A worker that dies under a query (here: SIGSEGV from outside) fails that query alone."""
    idle_before = {w.process.pid for w in list(engine._idle.queue)}
    outcome = {}
    t = threading.Thread(target=lambda: outcome.setdefault(
        "r", httpx.get(server.url + "/sparql", params={"query": RUNAWAY}, timeout=20)))
    t.start()
    assert wait_until(lambda: engine.busy_workers() == 1, 5)
    busy = idle_before - {w.process.pid for w in list(engine._idle.queue)}
    os.kill(busy.pop(), signal.SIGSEGV)
    with other_client(timeout=5) as c:
        for _ in range(10):
            r = c.get(server.url + "/sparql", params={"query": ASK})
            assert r.status_code == 200 and r.json()["boolean"] is True
    t.join(20)
    assert outcome["r"].status_code == 503 and "died" in outcome["r"].json()["detail"]
    assert wait_until(lambda: healthy(server))


def test_tiny_timeouts_are_raised_to_the_minimum_and_kill_nothing(server, engine):
    before = idle_pids(engine)
    for _ in range(20):
        r = httpx.get(server.url + "/sparql", params={"query": ASK, "timeout": "0.000001"}, timeout=5)
        assert r.status_code == 200 and r.headers["X-Query-Timeout"] == "1"
    assert idle_pids(engine) == before


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e999", "soon", "²"])
def test_bad_timeouts_are_client_errors(server, value):
    r = httpx.get(server.url + "/sparql", params={"query": ASK, "timeout": value}, timeout=5)
    assert r.status_code == 400 and "timeout" in r.json()["detail"]


def test_a_query_past_its_memory_limit_is_stopped_and_its_memory_freed(server, engine):
    before = idle_pids(engine)
    r = httpx.get(server.url + "/sparql", params={"query": MEMORY_HOG}, timeout=20)
    # stopped for its memory (400, naming the limit), not for its 8 s time limit (that would be 504)
    assert r.status_code == 400 and r.json()["error"] == "query memory limit"
    assert "300 MiB" in r.json()["detail"]
    assert wait_until(lambda: healthy(server))
    assert len(before - idle_pids(engine)) == 1, "the worker that held the memory was replaced"
    assert wait_until(lambda: gone(*(before - idle_pids(engine))), 5), "… and is gone"
    for pid in idle_pids(engine):  # what is left is a store's worth, not the query's
        assert sandbox.resident_bytes(pid) < 300 << 20


# ---------------------------------------------------------------- hang-ups and one client's share


def test_a_client_that_hangs_up_frees_its_worker(server, engine):
    before = idle_pids(engine)
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(f"GET /sparql?{httpx.QueryParams({'query': RUNAWAY})} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert wait_until(lambda: engine.busy_workers() == 1, 5)
    busy = (before - idle_pids(engine)).pop()
    s.close()
    # well before the query's own 8 s limit, its worker is stopped and replaced
    assert wait_until(lambda: gone(busy), 4)
    assert wait_until(lambda: healthy(server))


def test_one_client_cannot_take_every_worker(server, engine):
    """While one client runs a runaway query, its second query waits for its own share, and
    another client is answered at once."""
    results = {}

    def run(name, query):
        results[name] = httpx.get(server.url + "/sparql", params={"query": query, "timeout": "3"}, timeout=20)

    first = threading.Thread(target=run, args=("runaway", RUNAWAY))
    first.start()
    assert wait_until(lambda: engine.busy_workers() == 1, 5)
    second = threading.Thread(target=run, args=("second", RUNAWAY))
    second.start()
    time.sleep(0.5)
    assert engine.busy_workers() == 1, "the same client's second query waits"
    with other_client(timeout=5) as c:
        r = c.get(server.url + "/sparql", params={"query": ASK})
    assert r.status_code == 200
    assert "runaway" not in results, "the other client was answered while the runaway still ran"
    first.join(20)
    second.join(20)
    assert results["runaway"].status_code == 504 and results["second"].status_code == 504
    assert wait_until(lambda: healthy(server))


# ---------------------------------------------------------------- health, settings, logs


def test_health_says_degraded_while_the_pool_is_short(server, engine):
    idle = [w.process.pid for w in list(engine._idle.queue)]
    os.kill(idle[0], signal.SIGKILL)  # as the kernel's OOM killer would
    assert wait_until(lambda: gone(idle[0]), 5)
    with other_client(timeout=5) as c:
        health = c.get(server.url + "/health").json()
        assert health["status"] == "degraded" and health["workers"]["live"] == 1
        for _ in range(3):  # queries still run; the dead worker is found and replaced
            assert c.get(server.url + "/sparql", params={"query": ASK}).status_code == 200
    assert wait_until(lambda: healthy(server))


@pytest.mark.parametrize("kwargs, name", [
    ({"query_timeout": 0}, "query_timeout"), ({"query_timeout": float("nan")}, "query_timeout"),
    ({"min_query_timeout": 20}, "min_query_timeout"), ({"max_rows": 0}, "max_rows"),
    ({"service_allow": ("ftp://x/",)}, "allow-list"),
])
def test_settings_are_checked_at_start(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Settings(**kwargs)


@pytest.mark.parametrize("option", [["--query-timeout", "0"], ["--memory-limit", "1"], ["--workers", "0"],
                                    ["--min-query-timeout", "99"]])
def test_serve_refuses_bad_settings_with_exit_2(option):
    out = subprocess.run([sys.executable, "-m", "policygraph", "serve", "--port", "1", *option],
                         check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_requests_and_errors_are_logged_as_json(server, caplog):
    with caplog.at_level(logging.INFO, logger="policygraph"):
        httpx.get(server.url + "/sparql", params={"query": ASK}, timeout=5)
        httpx.get(server.url + "/sparql", params={"query": "SELECT * {"}, timeout=5)
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if getattr(r, "event", "") == "request"]
    ok = next(x for x in lines if x["status"] == 200 and x["path"] == "/sparql")
    bad = next(x for x in lines if x["status"] == 400)
    assert ok["method"] == "GET" and ok["ms"] > 0 and len(ok["query_hash"]) == 16 and ok["client"] == "127.0.0.1"
    assert bad["query_hash"] != ok["query_hash"]


def test_an_unexpected_error_is_logged_with_its_traceback(engine, caplog):
    app = create_app(engine, Settings())

    @app.get("/boom")
    async def boom():
        raise RuntimeError("kaput")

    with Server(app) as s, caplog.at_level(logging.ERROR, logger="policygraph"):
        r = httpx.get(s.url + "/boom", timeout=5)
    assert r.status_code == 500 and r.json()["error"] == "internal error"
    entry = json.loads(JsonFormatter().format(next(r for r in caplog.records if r.levelno == logging.ERROR)))
    assert entry["path"] == "/boom" and "RuntimeError: kaput" in entry["traceback"]
