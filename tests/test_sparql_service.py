"""The SPARQL endpoint against real clients on a real server (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from conftest import FIXTURES, ROOT, Server, free_port, wait_for
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from policygraph.web.app import Settings, create_app
from policygraph.store.template import running
from policygraph.store.loading import load_remote
from policygraph.store.named_queries import load_queries
from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.lookups import COPY_PREFIX
from policygraph.store.remote import RemoteEngine

LABELS = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
          "SELECT ?l WHERE { <https://w3id.org/policygraph/id/prefecture/20> rdfs:label ?l } ORDER BY ?l")
NAGANO_LABELS = ["Nagano Prefecture", "長野県"]
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
DRAFT_BUDGETS = """PREFIX pg: <https://w3id.org/policygraph/def#>
SELECT ?p ?amount WHERE { ?o pg:program ?p ; pg:fiscalYear <https://w3id.org/policygraph/id/fiscal-year/2025> ;
  pg:budgetStage <https://w3id.org/policygraph/id/code/budget-stage/draft> ; pg:amount ?amount } ORDER BY ?p ?amount"""
REFERENCE = "https://w3id.org/policygraph/graph/reference"


@pytest.fixture(scope="module")
def dumps(dist) -> Path:
    return dist


@pytest.fixture(scope="module")
def engine(dumps):
    eng = EmbeddedEngine(StoreSource(dumps / "policygraph.nq"), workers=2)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def server(engine):
    with Server(create_app(engine, Settings(query_timeout=3, max_rows=1000, max_body=64 * 1024))) as s:
        yield s


@pytest.fixture(scope="module")
def endpoint(server) -> str:
    return server.url + "/sparql"


# ------------------------------------------------------------------ real clients


@pytest.mark.parametrize("only_conneg", [False, True])
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(endpoint, fmt, only_conneg):
    client = SPARQLWrapper(endpoint)
    client.setQuery(LABELS)
    client.setReturnFormat(fmt)
    client.setOnlyConneg(only_conneg)
    result = client.query().convert()
    if fmt == JSON:
        assert [b["l"]["value"] for b in result["results"]["bindings"]] == NAGANO_LABELS
    elif fmt == XML:
        assert [n.firstChild.data for n in result.getElementsByTagName("literal")] == NAGANO_LABELS
    else:
        text = result.decode()
        assert "長野県" in text and "Nagano Prefecture" in text


@pytest.mark.parametrize("only_conneg", [False, True])
@pytest.mark.parametrize("fmt", [TURTLE, RDFXML, JSONLD, N3])
def test_sparqlwrapper_construct(endpoint, fmt, only_conneg):
    client = SPARQLWrapper(endpoint)
    client.setQuery("CONSTRUCT { <https://w3id.org/policygraph/id/prefecture/20> ?p ?o } "
                    "WHERE { <https://w3id.org/policygraph/id/prefecture/20> ?p ?o }")
    client.setReturnFormat(fmt)
    client.setOnlyConneg(only_conneg)
    result = client.query().convert()
    g = (result if isinstance(result, Graph)
         else Graph().parse(data=result, format="turtle" if fmt in (TURTLE, N3) else "json-ld"))
    assert len(g) > 5


def test_rdflib_sparqlstore(endpoint):
    g = Graph(store=SPARQLStore(endpoint))
    assert [str(r.l) for r in g.query(LABELS)] == NAGANO_LABELS
    assert len(g.query("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 7").graph) == 7
    assert g.query("ASK { ?s ?p ?o }").askAnswer is True


# ------------------------------------------------------------------ protocol and formats


@pytest.mark.parametrize("accept,media", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/sparql-results+xml;q=0.5, text/csv", "text/csv"),
    ("text/csv;q=0.1, application/sparql-results+json;q=0.9", "application/sparql-results+json"),
    ("application/sparql-results+xml, application/rdf+xml", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json"),
    ("", "application/sparql-results+json"),
])
def test_select_formats_by_accept(endpoint, accept, media):
    r = httpx.get(endpoint, params={"query": LABELS}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert "Accept" in [v.strip() for v in r.headers["vary"].split(",")]
    if media == "application/sparql-results+json":
        assert [b["l"]["value"] for b in r.json()["results"]["bindings"]] == NAGANO_LABELS
    elif media in ("application/sparql-results+xml", "text/tab-separated-values"):
        fmt = ox.QueryResultsFormat.XML if "xml" in media else ox.QueryResultsFormat.TSV
        assert [s["l"].value for s in ox.parse_query_results(r.content, format=fmt)] == NAGANO_LABELS
    else:
        assert r.text.splitlines() == ["l", *NAGANO_LABELS]


@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                        ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")])
def test_graph_formats_by_accept(endpoint, accept, fmt):
    r = httpx.get(endpoint, params={"query": "DESCRIBE <https://w3id.org/policygraph/id/prefecture/20>"},
                  headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
    g = Graph().parse(data=r.text, format=fmt)
    assert any(str(o) == "長野県" for o in g.objects())


@pytest.mark.parametrize("param,media", [
    ("json", "application/sparql-results+json"), ("xml", "application/sparql-results+xml"),
    ("csv", "text/csv"), ("tsv", "text/tab-separated-values")])
def test_format_parameter_overrides_accept(endpoint, param, media):
    r = httpx.get(endpoint, params={"query": LABELS, "format": param}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)


def test_ask(endpoint):
    r = httpx.get(endpoint, params={"query": "ASK { ?s ?p ?o }"})
    assert r.json() == {"head": {}, "boolean": True}


def server_timing(r: httpx.Response) -> dict[str, float]:
    metrics = (m.strip().partition(";dur=") for m in r.headers["server-timing"].split(","))
    return {name: float(ms) for name, _, ms in metrics}


def test_server_timing_says_how_long_a_query_waited_and_ran(endpoint):
    timing = server_timing(httpx.get(endpoint, params={"query": "ASK { ?s ?p ?o }"}))
    assert set(timing) == {"queue", "query"} and all(ms >= 0 for ms in timing.values())
    r = httpx.get(endpoint, params={"query": RUNAWAY, "timeout": "1"}, timeout=30)
    assert r.status_code == 504 and server_timing(r)["query"] >= 1000  # stopped at its limit, and says so
    assert "server-timing" not in httpx.get(endpoint).headers  # the service description runs no query


def test_not_acceptable(endpoint):
    r = httpx.get(endpoint, params={"query": LABELS}, headers={"Accept": "image/png"})
    assert r.status_code == 406 and r.json()["error"] == "not acceptable"
    assert "application/sparql-results+json" in r.json()["detail"]
    assert httpx.get(endpoint, params={"query": LABELS, "format": "turtle"}).status_code == 406
    assert httpx.get(endpoint, params={"query": "DESCRIBE <x:y>"}, headers={"Accept": "text/csv"}).status_code == 406


def test_post_form_and_direct(endpoint):
    r = httpx.post(endpoint, data={"query": LABELS})
    assert [b["l"]["value"] for b in r.json()["results"]["bindings"]] == NAGANO_LABELS
    r = httpx.post(endpoint, content=LABELS.encode(),
                   headers={"Content-Type": "application/sparql-query; charset=utf-8"})
    assert [b["l"]["value"] for b in r.json()["results"]["bindings"]] == NAGANO_LABELS


def test_service_description(endpoint):
    r = httpx.get(endpoint)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=r.text, format="turtle")
    assert (None, None, __import__("rdflib").URIRef(endpoint)) in g


def test_default_and_named_graph_parameters(endpoint, build):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    reference = build.counts[REFERENCE]
    r = httpx.get(endpoint, params={"query": count, "default-graph-uri": REFERENCE})
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == reference
    r = httpx.get(endpoint, params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                    "named-graph-uri": REFERENCE})
    assert [b["g"]["value"] for b in r.json()["results"]["bindings"]] == [REFERENCE]
    r = httpx.get(endpoint, params={"query": count})  # no parameter: the union of all graphs
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == sum(build.counts.values())
    assert httpx.get(endpoint, params={"query": count, "default-graph-uri": "not an iri"}).status_code == 400


# ------------------------------------------------------------------ bad requests: clear 4xx, never 500


@pytest.mark.parametrize("make,status,error", [
    (lambda e: httpx.get(e, params={"query": "SELECT * WHERE { ?s ?p "}), 400, "bad query"),
    (lambda e: httpx.get(e, params=[("query", LABELS), ("query", LABELS)]), 400, "bad request"),
    (lambda e: httpx.post(e, content=b"query=SELECT%20%FF",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "bad request"),
    (lambda e: httpx.post(e, content="SELECT * {}".encode("utf-16"),
                          headers={"Content-Type": "application/sparql-query"}), 400, "bad request"),
    (lambda e: httpx.post(e, content=b"x" * 70_000, headers={"Content-Type": "application/sparql-query"}), 413,
     "request body too large"),
    (lambda e: httpx.post(e, content=b"{}", headers={"Content-Type": "application/json"}), 415,
     "unsupported media type"),
    (lambda e: httpx.get(e, params={"query": LABELS, "timeout": "soon"}), 400, "bad request"),
    (lambda e: httpx.get(e, params={"query": "hello"}), 400, "bad query"),
])
def test_bad_requests(endpoint, make, status, error):
    r = make(endpoint)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and r.json()["detail"]


def test_syntax_error_quotes_the_parser_position(endpoint):
    detail = httpx.get(endpoint, params={"query": "SELECT * WHERE { ?s ?p "}).json()["detail"]
    assert "1:" in detail and "syntax" in detail.lower()


@pytest.mark.parametrize("make", [
    lambda e: httpx.get(e, params={"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}),
    lambda e: httpx.post(e, data={"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}),
    lambda e: httpx.post(e, content=b"DROP ALL", headers={"Content-Type": "application/sparql-update"}),
    lambda e: httpx.post(e, content=b"# comment\nCLEAR DEFAULT", headers={"Content-Type": "application/sparql-query"}),
    lambda e: httpx.get(e, params={"query": "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"}),
])
def test_updates_are_refused(endpoint, make):
    r = make(endpoint)
    assert r.status_code == 403 and r.json()["error"] == "updates are not allowed"
    assert httpx.get(endpoint, params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"}).json()["boolean"] is False


def test_service_is_refused_and_never_contacted(endpoint):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(1.5)
    port = listener.getsockname()[1]
    try:
        for query in (f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
                      f"select * {{ service silent <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}",
                      "SELECT * WHERE { BIND(<http://127.0.0.1:1/> AS ?e) SERVICE ?e { ?s ?p ?o } }"):
            r = httpx.get(endpoint, params={"query": query})
            assert r.status_code == 403 and r.json()["error"] == "SERVICE not allowed"
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    # the word in a string or a prefixed name is not a SERVICE call
    word_as_data = 'PREFIX ex: <urn:x#> SELECT * WHERE { ?s ex:service "SERVICE <http://x/>" }'
    r = httpx.get(endpoint, params={"query": word_as_data})
    assert r.status_code == 200


def test_service_allow_list():
    from policygraph.web.errors import Problem
    from policygraph.web.sparql import check_query
    allowed = Settings(service_allow=("https://query.example.org/",))
    check_query("SELECT * { SERVICE <https://query.example.org/sparql> { ?s ?p ?o } }", allowed)
    for q in ("SELECT * { SERVICE <https://evil.example.net/sparql> { ?s ?p ?o } }",
              "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }"):
        with pytest.raises(Problem):
            check_query(q, allowed)


@pytest.mark.parametrize("target", ["http://a.example.evil.net/sparql", "http://a.example@evil.net/sparql",
                                    "http://a.example:8080/sparql", "http://a.examplex/sparql"])
def test_an_allow_list_entry_without_a_slash_matches_whole_segments_only(target):
    from policygraph.web.errors import Problem
    from policygraph.web.sparql import check_query
    allowed = Settings(service_allow=("http://a.example",))
    for ok in ("http://a.example", "http://a.example/sparql", "http://a.example?query=x"):
        check_query(f"SELECT * {{ SERVICE <{ok}> {{ ?s ?p ?o }} }}", allowed)
    with pytest.raises(Problem, match="not on this server's allow-list"):
        check_query(f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}", allowed)


# ------------------------------------------------------------------ limits


def test_runaway_query_is_stopped_while_others_are_answered(endpoint, server, engine):
    before = {w.process.pid for w in list(engine._idle.queue)}  # all idle: nothing runs yet
    outcome = {}

    def runaway():
        outcome["response"] = httpx.get(endpoint, params={"query": RUNAWAY}, timeout=30)

    t = threading.Thread(target=runaway)
    t.start()
    time.sleep(0.5)
    # meanwhile the service keeps answering other clients (another loopback address: one client
    # holds at most its share of the workers)
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=2) as other:
        for _ in range(5):
            assert other.get(server.url + "/health").json()["status"] == "ok"
            assert other.get(endpoint, params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True
    t.join(timeout=30)
    r = outcome["response"]
    assert r.status_code == 504 and r.json()["error"] == "query timeout"
    assert "longer than 3 s" in r.json()["detail"]  # stopped by the server's 3 s limit
    time.sleep(1)
    alive = {pid for pid in before if running(pid)}
    assert len(before - alive) == 1, "the worker that ran the query was killed (its CPU freed)"
    deadline = time.monotonic() + 20
    while engine.busy_workers() and time.monotonic() < deadline:  # a successor is started
        time.sleep(0.2)
    assert engine.busy_workers() == 0


def test_event_loop_path_waits_for_a_worker_and_frees_an_abandoned_one(dumps):
    # arun(): one worker, two queries at once — the second waits for the first; a query whose
    # caller gives up (task cancelled, as when a client disconnects) gets its worker killed and replaced
    import asyncio

    from policygraph.store.engines import EngineBusy, Job

    engine = EmbeddedEngine(StoreSource(dumps / "policygraph.nq"), workers=1)
    count = Job("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "json")

    async def scenario():
        both = await asyncio.gather(engine.arun(count, 10), engine.arun(count, 10))
        assert both[0].body == both[1].body and b'"n"' in both[0].body
        task = asyncio.create_task(engine.arun(Job(RUNAWAY, "json"), 30))
        await asyncio.sleep(0.5)
        assert engine.busy_workers() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(EngineBusy):  # the only worker is being replaced: a short wait gives up
            await engine.arun(count, 0.0)
        return await engine.arun(count, 20)  # the successor answers

    try:
        assert b'"n"' in asyncio.run(scenario()).body
    finally:
        engine.close()


def test_event_loop_path_reads_large_answers_under_uvloop(dumps):
    # uvloop (what uvicorn picks when installed) leaves a watched pipe non-blocking; an answer over
    # 16 KiB arrives in two writes and must still be read whole, every time
    import uvloop

    from policygraph.store.engines import Job

    engine = EmbeddedEngine(StoreSource(dumps / "policygraph.nq"), workers=1)
    big = Job("SELECT * WHERE { ?s ?p ?o }", "json")  # about 2 MB: more than a socket buffer holds

    async def scenario():
        return [len((await engine.arun(big, 10)).body) for _ in range(30)]

    try:
        sizes = uvloop.run(scenario())
    finally:
        engine.close()
    assert min(sizes) == max(sizes) > 200_000


def test_a_spare_takes_a_killed_workers_place_at_once(dumps):
    # one worker and one spare: right after a runaway is killed a query is answered without waiting
    # for a reload, and the successor becomes the next spare
    from policygraph.store.engines import Job, QueryTimeout

    engine = EmbeddedEngine(StoreSource(dumps / "policygraph.nq"), workers=1, spares=1)
    try:
        with pytest.raises(QueryTimeout):
            engine.run(Job(RUNAWAY, "json"), 0.5)
        assert b'"boolean":true' in engine.run(Job("ASK { ?s ?p ?o }", "json"), 0.2).body.replace(b" ", b"")
        deadline = time.monotonic() + 30
        while engine._spare.qsize() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine._spare.qsize() == 1 and engine.busy_workers() == 0
        with pytest.raises(QueryTimeout):  # and it covers the next kill too
            engine.run(Job(RUNAWAY, "json"), 0.5)
        assert engine.run(Job("ASK {}", "json"), 10).body
    finally:
        engine.close()


def test_busy_workers_shed_load_without_killing_queries(dumps):
    # one worker running a slow query: a second query waits its time, then gets EngineBusy (503) —
    # and the running query is not killed for it
    import asyncio

    from policygraph.store.engines import EngineBusy, Job

    engine = EmbeddedEngine(StoreSource(dumps / "policygraph.nq"), workers=1)
    # a cross product of three VALUES lists: ~2 s whatever the data holds (a self-join over the dataset
    # grew past 30 s when the graph did)
    v = " ".join(str(i) for i in range(300))
    slow = Job(f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?a {{ {v} }} VALUES ?b {{ {v} }} VALUES ?c {{ {v} }} }}",
               "json")

    async def scenario():
        running = asyncio.create_task(engine.arun(slow, 30))
        await asyncio.sleep(0.2)
        with pytest.raises(EngineBusy):  # a long run allowed, a short wait: the wait decides
            await engine.arun(Job("ASK {}", "json"), 30, wait=0.3)
        return await running

    try:
        assert b'"n"' in asyncio.run(scenario()).body
    finally:
        engine.close()


def test_a_request_may_ask_for_less_time(endpoint):
    r = httpx.get(endpoint, params={"query": RUNAWAY, "timeout": "1"}, timeout=30)
    assert r.status_code == 504 and "longer than 1 s" in r.json()["detail"]
    r = httpx.get(endpoint, params={"query": RUNAWAY, "timeout": "60"}, timeout=30)  # never more than the server's 3 s
    assert r.status_code == 504 and "longer than 3 s" in r.json()["detail"]


def test_row_cap_is_announced(engine):
    with Server(create_app(engine, Settings(max_rows=5))) as s:
        r = httpx.get(s.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"})
        assert len(r.json()["results"]["bindings"]) == 5 and r.json()["truncated"] is True
        assert r.headers["x-result-truncated"].startswith("true")
        r = httpx.get(s.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 5"})
        assert "truncated" not in r.json() and "x-result-truncated" not in r.headers
        r = httpx.get(s.url + "/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                      headers={"Accept": "application/n-triples"})
        assert len(r.text.strip().splitlines()) == 5 and r.headers["x-result-truncated"].startswith("true")


def test_cors_cache_and_etag(endpoint):
    r = httpx.options(endpoint, headers={"Origin": "https://yasgui.example", "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] in ("*", "https://yasgui.example")
    r = httpx.get(endpoint, params={"query": LABELS}, headers={"Origin": "https://yasgui.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "max-age" in r.headers["cache-control"]
    etag = r.headers["etag"]
    again = httpx.get(endpoint, params={"query": LABELS}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    other = httpx.get(endpoint, params={"query": LABELS, "format": "csv"})
    assert other.headers["etag"] != etag


# ------------------------------------------------------------------ a remote store: a real oxigraph server


@contextlib.contextmanager
def running_oxigraph(location: Path, union: bool = True):
    """A real `oxigraph serve` (with ``union``, --union-default-graph) on 127.0.0.1, stopped afterwards."""
    exe = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(exe).exists():
        pytest.fail("the oxigraph server (PyPI package 'oxigraph', in the [test] extra) is not installed")
    port = free_port()
    proc = subprocess.Popen([exe, "serve", "--location", str(location),
                             "--bind", f"127.0.0.1:{port}", *(["--union-default-graph"] if union else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "oxigraph server did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def oxigraph_server(dumps, tmp_path_factory):
    with running_oxigraph(tmp_path_factory.mktemp("oxigraph")) as url:
        report = load_remote([dumps / "policygraph.nq"], url + "/store", log=lambda *_: None)
        expected = {line.split()[-2] for line in (dumps / "policygraph.nq").read_text(encoding="utf-8").splitlines()
                    if line.endswith("> .") and line.count("<") >= 4}
        assert report.graphs == len(expected) > 8
        yield url


def test_remote_store_gives_the_same_answers(oxigraph_server, endpoint):
    with Server(create_app(RemoteEngine(oxigraph_server + "/query"), Settings(query_timeout=5))) as remote:
        for query in (DRAFT_BUDGETS, LABELS, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"):
            ours = httpx.get(endpoint, params={"query": query}).json()
            theirs = httpx.get(remote.url + "/sparql", params={"query": query}).json()
            assert theirs == ours and ours["results"]["bindings"]
        g = Graph().parse(data=httpx.get(remote.url + "/sparql", params={
            "query": "DESCRIBE <https://w3id.org/policygraph/id/prefecture/20>"}).text, format="turtle")
        assert len(g) > 5
        client = SPARQLWrapper(remote.url + "/sparql")
        client.setQuery(LABELS)
        client.setReturnFormat(JSON)
        assert [b["l"]["value"] for b in client.query().convert()["results"]["bindings"]] == NAGANO_LABELS
        bad = httpx.get(remote.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p "})
        assert bad.status_code == 400


def test_named_query_values_are_bound_literally_on_both_engines(oxigraph_server, engine):
    """A parameter value written in SPARQL is one literal on the embedded store and on a remote one."""
    queries = {**load_queries(FIXTURES / "queries"), "search": load_queries(ROOT / "queries")["search"]}
    hostile = '"} } ; DROP ALL # ?_text <https://evil.example/> \\" \' }'
    with Server(create_app(engine, Settings(query_timeout=5), queries)) as local, \
            Server(create_app(RemoteEngine(oxigraph_server + "/query"), Settings(query_timeout=5), queries)) as remote:
        for base in (local.url, remote.url):
            echo = httpx.get(base + "/queries/echo", params={"text": hostile, "n": "-7"})
            assert echo.status_code == 200, echo.text
            assert echo.json()["rows"] == [{"text": hostile, "thing": None, "n": -7, "rows": 1}]
        found = [httpx.get(base + "/queries/search", params={"text": "長野"}).json()["rows"]
                 for base in (local.url, remote.url)]
        assert found[0] == found[1] and found[0]


# ------------------------------------------------------------------ the commands, as a user runs them


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from conftest import ROOT
    root = tmp_path_factory.mktemp("project")
    for d in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / d, root / d)
    return root


def test_load_then_serve_a_remote_store_from_the_command_line(project, oxigraph_server, endpoint):
    # policygraph load pushes every graph (it builds first); then serve --store URL answers from it
    done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", oxigraph_server + "/store",
                           "--root", str(project)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "loaded" in done.stdout and re.search(r"in (\d+) graphs", done.stdout)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "policygraph", "serve", "--port", str(port), "--root", str(project),
                             "--store", oxigraph_server + "/query"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc)
        client = SPARQLWrapper(f"http://127.0.0.1:{port}/sparql")
        client.setQuery(DRAFT_BUDGETS)
        client.setReturnFormat(JSON)
        theirs = client.query().convert()
        assert theirs == httpx.get(endpoint, params={"query": DRAFT_BUDGETS}).json()
        assert len(theirs["results"]["bindings"]) == 11  # the project (total and 一般財源) and its nine sub-projects
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_load_extra_files_only(tmp_path):
    # --only-graphs --graph: an N-Quads file keeps its graphs, a Turtle file goes to graph/extra/<stem>
    (tmp_path / "quads.nq").write_text(
        "<https://example.org/a> <https://example.org/p> \"1\" <https://example.org/g1> .\n"
        "<https://example.org/b> <https://example.org/p> _:x <https://example.org/g2> .\n"
        "_:x <https://example.org/p> \"2\" <https://example.org/g2> .\n")
    (tmp_path / "more.ttl").write_text("<https://example.org/c> <https://example.org/p> 3 .\n")
    with running_oxigraph(tmp_path / "store") as url:
        done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", url + "/store", "--only-graphs",
                               "--graph", str(tmp_path / "quads.nq"), "--graph", str(tmp_path / "more.ttl")],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert "loaded 4 triples in 3 graphs" in done.stdout
        assert "100%" in done.stdout  # each graph's line shows how far the load has come
        rows = httpx.get(url + "/query", params={"query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
                                                            "GROUP BY ?g ORDER BY ?g"},
                         headers={"Accept": "text/csv"}).text.split()
        assert rows[1:] == ["https://example.org/g1,1", "https://example.org/g2,2",
                            "https://w3id.org/policygraph/graph/extra/more,1"]
        # the blank node still links the two triples of g2: a graph is never split across requests
        linked = httpx.get(url + "/query", params={"query": "ASK { GRAPH ?g { ?b ?p ?x . ?x ?q \"2\" } }"},
                           headers={"Accept": "application/sparql-results+json"}).json()
        assert linked["boolean"] is True

    (tmp_path / "bad.nq").write_text("<https://example.org/a> <https://example.org/p> \"1\" .\n<oops> .\n")
    done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", "http://127.0.0.1:9/store",
                           "--only-graphs", "--graph", str(tmp_path / "bad.nq")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0 and "bad.nq" in done.stderr and "line 2" in done.stderr
    done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", "http://127.0.0.1:9/store",
                           "--only-graphs", "--graph", str(tmp_path / "missing.nq")], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and "missing.nq: no such file" in done.stderr


def test_serve_embedded_from_the_command_line(project):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "policygraph", "serve", "--port", str(port), "--root", str(project),
                             "--query-timeout", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc)
        client = SPARQLWrapper(f"http://127.0.0.1:{port}/sparql")
        client.setQuery(LABELS)
        client.setReturnFormat(JSON)
        assert [b["l"]["value"] for b in client.query().convert()["results"]["bindings"]] == NAGANO_LABELS
        r = httpx.get(f"http://127.0.0.1:{port}/sparql", params={"query": RUNAWAY}, timeout=30)
        assert r.status_code == 504 and "longer than 2 s" in r.json()["detail"]  # --query-timeout 2 applies
        deadline = time.monotonic() + 60
        while httpx.get(f"http://127.0.0.1:{port}/health").json()["workers"]["lookups"] != "ready":
            assert time.monotonic() < deadline, "the lookups' copy was not ready in 60 s"
            time.sleep(0.2)
        looked_up = httpx.get(f"http://127.0.0.1:{port}/sparql", params={"query": LABELS.removesuffix(" ORDER BY ?l")})
        assert looked_up.status_code == 200 and "queue" not in looked_up.headers["server-timing"]
        copies = list(Path(tempfile.gettempdir()).glob(f"{COPY_PREFIX}{proc.pid}-*"))
        assert len(copies) == 1
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # a stop by SIGTERM (systemd, docker) closes the engine: the copy and the store process are gone
    assert proc.returncode == 128 + signal.SIGTERM
    assert not copies[0].exists()
    deadline = time.monotonic() + 10  # children see their parent gone and end
    while any(running(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert children and not any(running(c) for c in children)


def test_serve_refuses_an_invalid_graph(tmp_path):
    from conftest import ROOT
    root = tmp_path / "project"
    for d in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / d, root / d)
    sheet = root / "data/prefectures/20-nagano/070201-2025.yaml"
    sheet.write_text(sheet.read_text().replace("general_revenue: 125684, staff: 23.8",
                                               "general_revenue: 125684, staff: 238000"))
    done = subprocess.run([sys.executable, "-m", "policygraph", "serve", "--port", str(free_port()),
                           "--root", str(root)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert "fails SHACL validation and will not be published" in done.stderr and "StaffObservationShape" in done.stderr
    assert not (root / "dist").exists()


def test_on_disk_store(dumps, tmp_path, endpoint):
    from policygraph.build.current import on_disk_store
    path = on_disk_store(tmp_path / "store", dumps / "policygraph.nq", "build-1", log=lambda *_: None)
    assert on_disk_store(path, dumps / "policygraph.nq", "build-1", log=lambda *_: pytest.fail("reloaded")) == path
    engine = EmbeddedEngine(StoreSource(path, on_disk=True), workers=2)  # two processes share the read-only store
    try:
        with Server(create_app(engine, Settings())) as s:
            ours = httpx.get(endpoint, params={"query": DRAFT_BUDGETS}).json()
            assert httpx.get(s.url + "/sparql", params={"query": DRAFT_BUDGETS}).json() == ours
    finally:
        engine.close()
