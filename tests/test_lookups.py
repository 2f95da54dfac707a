"""Lookups answered in the service's process (store/lookup_form.py, store/lookups.py, web/lookups.py):
which queries are lookups, that their answers are the pool's, and that they need no worker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.engines import Job
from policygraph.store.formats import render
from policygraph.store.lookups import COPY_PREFIX, LOOKUP_ROWS, _engine_json
from policygraph.store.query_check import inspect
from policygraph.web.app import create_app
from policygraph.web.settings import Settings

PG = "https://w3id.org/policygraph/"
NAGANO = f"<{PG}id/prefecture/20>"
XSD = "http://www.w3.org/2001/XMLSchema#"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

LOOKUPS = [
    "ASK {}",
    "ask where { }",
    f"ASK {{ {NAGANO} ?p ?o }}",
    f"SELECT ?l WHERE {{ {NAGANO} <http://www.w3.org/2000/01/rdf-schema#label> ?l }}",
    f"select * {{ {NAGANO} ?p ?o . }}",
    f"PREFIX pg: <{PG}def#>\nPREFIX id: <{PG}id/>\nSELECT ?t WHERE {{ id:prefecture\\/20 a ?t }}",
    f"BASE <{PG}id/> SELECT ?p WHERE {{ <prefecture/20> ?p \"長野県\"@ja }}",
    f"ASK {{ {NAGANO} <http://www.w3.org/2004/02/skos/core#notation> \"20\"^^<{XSD}string> }}",
    f"ASK {{ {NAGANO} ?p 20 }}",
    f"ASK {{ {NAGANO} ?p true }}",
    f"DESCRIBE {NAGANO}",
    f"# a comment\nSELECT ?o WHERE {{ {NAGANO} ?p ?o }} # and one at the end",
]
NOT_LOOKUPS = [
    f"SELECT DISTINCT ?p WHERE {{ {NAGANO} ?p ?o }}",                     # reads every row for a few
    f"SELECT ?p WHERE {{ {NAGANO} ?p ?o }} OFFSET 5",                     # skips unboundedly many
    f"SELECT ?p WHERE {{ {NAGANO} ?p ?o }} LIMIT 3",                      # which rows: the store's order
    "SELECT ?s WHERE { ?s ?p ?o }",                                       # no subject given
    "SELECT ?s WHERE { _:b ?p ?o }",
    f"SELECT ?o WHERE {{ {NAGANO} ?p ?o . ?o ?q ?r }}",                   # two patterns
    f"SELECT ?o WHERE {{ {NAGANO} ?p ?o FILTER(?o < 3) }}",
    f"SELECT ?o WHERE {{ {NAGANO} ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
    f"SELECT ?o WHERE {{ {NAGANO} <http://a>/<http://b> ?o }}",           # a path
    f"SELECT ?o WHERE {{ {NAGANO} <http://a>* ?o }}",
    f"SELECT ?o FROM <http://example.org/g> WHERE {{ {NAGANO} ?p ?o }}",
    f"SELECT ?o WHERE {{ SERVICE <http://127.0.0.1:9/> {{ {NAGANO} ?p ?o }} }}",
    f"SELECT ?o WHERE {{ {NAGANO} ?p ?o }} ORDER BY ?o",
    f"SELECT (COUNT(*) AS ?n) WHERE {{ {NAGANO} ?p ?o }}",
    f"SELECT ?o WHERE {{ {{ {NAGANO} ?p ?o }} }}",
    f"SELECT ?o WHERE {{ {NAGANO} ?p ?o }} VALUES ?o {{ 1 }}",
    f"CONSTRUCT {{ {NAGANO} ?p ?o }} WHERE {{ {NAGANO} ?p ?o }}",
    f"DESCRIBE {NAGANO} WHERE {{ {NAGANO} ?p ?o }}",
    "DESCRIBE ?s WHERE { ?s ?p ?o }",
    f"ASK {{ {NAGANO} ?p False }}",                                      # booleans are lower case
    f"SELECT ?o WHERE {{ {NAGANO} \\u003Fp ?o }}",                        # an escape outside strings and IRIs
    f"PREFIX x <http://a> ASK {{ {NAGANO} ?p ?o }}",
    f"INSERT DATA {{ {NAGANO} <http://a> 1 }}",
]


@pytest.mark.parametrize("query", LOOKUPS)
def test_lookups_are_recognised(query):
    assert inspect(query).lookup


@pytest.mark.parametrize("query", NOT_LOOKUPS)
def test_other_queries_are_not_lookups(query):
    assert not inspect(query).lookup


@pytest.fixture(scope="module")
def engine(dist):
    e = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1, lookups=True)
    deadline = time.monotonic() + 60
    while e.status()["lookups"] != "ready":
        assert time.monotonic() < deadline, "the on-disk copy for lookups was not ready in 60 s"
        time.sleep(0.05)
    yield e
    e.close()


def terms(body: bytes, fmt: str) -> object:
    """An answer as RDF terms, blank node labels aside (two loads name them differently)."""
    if fmt == "json":
        doc = json.loads(body)
        if "boolean" in doc:
            return doc["boolean"]
        return sorted(json.dumps({k: v for k, v in row.items()}, sort_keys=True) for row in doc["results"]["bindings"])
    return sorted(str(t) for t in ox.parse(body, format=ox.RdfFormat.TURTLE))


@pytest.mark.parametrize("query", LOOKUPS)
def test_a_lookup_answered_in_process_is_the_pools_answer(engine, query):
    fmt = "turtle" if query.startswith("DESCRIBE") else "json"
    info = inspect(query)
    now = engine.answer_now(Job(query, fmt, lookup=info.lookup))
    pooled = engine.run(Job(query, fmt), 10)
    assert now is not None, "not answered in process"
    assert terms(now.body, fmt) == terms(pooled.body, fmt) and now.rows == pooled.rows


@pytest.mark.parametrize("query", [q for q in LOOKUPS if inspect(q).form == "SELECT"])
def test_oxigraphs_json_is_byte_for_byte_ours(store, query):
    job = Job(query, "json", lookup=True)
    assert _engine_json(store, job).body == render(store.query(query, use_default_graph_as_union=True), job).body


def test_a_query_not_recognised_as_a_lookup_is_never_run_in_process(engine):
    assert engine.answer_now(Job(NOT_LOOKUPS[0], "json")) is None  # lookup=False: the check did not say so


def test_a_long_answer_goes_to_the_pool_whole(tmp_path):
    subject = "http://example.org/many"
    data = tmp_path / "many.nt"
    data.write_text("".join(f"<{subject}> <http://example.org/p> \"{i}\" .\n" for i in range(LOOKUP_ROWS + 5)))
    e = EmbeddedEngine(StoreSource(None, extra=(data,)), workers=1, lookups=True)
    try:
        while e.status()["lookups"] != "ready":
            time.sleep(0.05)
        query = f"SELECT ?o WHERE {{ <{subject}> ?p ?o }}"
        assert e.answer_now(Job(query, "json", lookup=True)) is None
        assert e.answer_now(Job(query, "csv", lookup=True)) is None
        app = create_app(e, Settings())
        with TestClient(app) as client:
            answer = client.get("/sparql", params={"query": query})
        assert answer.status_code == 200 and answer.headers["x-result-rows"] == str(LOOKUP_ROWS + 5)
        assert "queue;" in answer.headers["server-timing"]  # from a worker
    finally:
        e.close()


def test_lookups_are_answered_while_every_worker_is_busy(engine):
    """One worker runs a runaway; a lookup is answered at once (before: it waited for the worker and
    got a 503 after the queue timeout), with the headers the route sends."""
    app = create_app(engine, Settings(queue_timeout=1.0, query_timeout=30.0))
    query = f"SELECT ?l WHERE {{ {NAGANO} <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            runaway = asyncio.create_task(client.get("/sparql", params={"query": RUNAWAY}))
            while engine.busy_workers() < 1:
                await asyncio.sleep(0.01)
            answer = await client.get("/sparql", params={"query": query}, headers={"Origin": "http://x.example"})
            assert answer.status_code == 200 and "長野県" in answer.text
            assert not runaway.done()
            timing = answer.headers["server-timing"]
            assert timing.startswith("query;") and "queue" not in timing
            runaway.cancel()
            with pytest.raises(asyncio.CancelledError):
                await runaway
            while engine.busy_workers() or engine.status()["live"] < 1:
                await asyncio.sleep(0.05)
            # the same request through the route (a parameter the fast path leaves to it): the same headers
            routed = await client.get("/sparql", params={"query": query, "timeout": "30"},
                                      headers={"Origin": "http://x.example"})
            assert routed.status_code == 200 and terms(routed.content, "json") == terms(answer.content, "json")
            assert "queue;" in routed.headers["server-timing"]
            skip = {"server-timing", "date"}
            assert ({k: v for k, v in answer.headers.items() if k not in skip}
                    == {k: v for k, v in routed.headers.items() if k not in skip})

    asyncio.run(scenario())


def test_refusals_and_errors_of_lookup_shaped_queries_come_from_the_route(engine):
    with TestClient(create_app(engine, Settings())) as client:
        unknown = client.get("/sparql", params={"query": "SELECT ?o WHERE { nope:x ?p ?o }"})
        assert unknown.status_code == 400 and unknown.json()["detail"].startswith("SPARQL syntax error")
        assert "queue;" in unknown.headers["server-timing"]  # the pool parsed it and said what is wrong
        assert client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "text/turtle"}).status_code == 406
        etag = client.get("/sparql", params={"query": "ASK {}"}).headers["etag"]
        assert client.get("/sparql", params={"query": "ASK {}"}, headers={"If-None-Match": etag}).status_code == 304


def test_the_copy_is_removed_on_close_and_a_dead_services_copy_at_the_next_start(dist):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{dead.stdout.strip()}-"))
    mine = Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-"))  # a live service's copy stays
    e = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1, lookups=True)
    try:
        copy = Path(e._lookups._dir)
        assert copy.is_dir() and not stale.exists() and mine.exists()
    finally:
        e.close()
        mine.rmdir()
    assert not copy.exists()


def test_an_on_disk_store_is_looked_up_in_place(tmp_path, dist):
    disk = tmp_path / "store"
    s = ox.Store(str(disk))
    s.bulk_load(path=str(dist / "policygraph.nq"), format=ox.RdfFormat.N_QUADS)
    s.flush()
    del s
    e = EmbeddedEngine(StoreSource(disk, on_disk=True), workers=1, lookups=True)
    try:
        assert e.status()["lookups"] == "ready" and e._lookups._dir is None  # no copy made
        assert json.loads(e.answer_now(Job(LOOKUPS[2], "json", lookup=True)).body)["boolean"] is True
    finally:
        e.close()


def test_posted_lookups_are_answered_in_process_and_other_posts_reach_the_route_whole(engine):
    label = f"SELECT ?l WHERE {{ {NAGANO} <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"
    graph = f"{PG}graph/reference"
    with TestClient(create_app(engine, Settings())) as client:
        form = client.post("/sparql", data={"query": label})
        direct = client.post("/sparql", content=label.encode(), headers={"Content-Type": "application/sparql-query"})
        for answer in (form, direct):
            assert answer.status_code == 200 and "長野県" in answer.text
            assert "queue" not in answer.headers["server-timing"]
        # read by the fast path, not for it: the route gets the same body and answers from a worker
        chosen = client.post("/sparql", data={"query": label, "default-graph-uri": graph})
        assert chosen.status_code == 200 and "queue;" in chosen.headers["server-timing"]
        assert terms(chosen.content, "json") == terms(form.content, "json")
        twice = client.post("/sparql?query=ASK%7B%7D", content=b"ASK {}",
                            headers={"Content-Type": "application/sparql-query"})
        assert twice.status_code == 400 and "give one" in twice.json()["detail"]
        update = client.post("/sparql", content=b"INSERT DATA { <http://a> <http://b> 1 }",
                             headers={"Content-Type": "application/sparql-update"})
        assert update.status_code == 403
