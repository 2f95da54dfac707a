"""The response cache (web/response_cache.py): repeated identical query requests are answered from
memory, exactly as the first time; anything else goes to the app."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ROOT
from fastapi.testclient import TestClient

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app
from policygraph.web.response_cache import ResponseCache

ASK = "ASK { <https://w3id.org/policygraph/id/prefecture/20> ?p ?o }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def engine(dist):
    eng = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=2)
    yield eng
    eng.close()


def app_client(engine, dist, cache_mib: int) -> TestClient:
    settings = Settings(query_timeout=2, response_cache=cache_mib << 20)
    return TestClient(create_app(engine, settings, load_queries(ROOT / "queries"), dist))


def hit(r) -> bool:
    return r.headers.get("server-timing") == 'cache;desc="hit"'


def test_a_repeated_request_is_answered_from_memory_exactly_as_before(engine, dist):
    with app_client(engine, dist, 8) as c:
        first = c.post("/sparql", data={"query": ASK}, headers=JSON)
        again = c.post("/sparql", data={"query": ASK}, headers=JSON)
        assert not hit(first) and "queue;dur=" in first.headers["server-timing"]
        assert hit(again) and again.content == first.content
        for name in ("content-type", "etag", "cache-control", "content-security-policy", "x-content-type-options"):
            assert again.headers[name] == first.headers[name]
        assert hit(c.get("/queries/prefectures")) is False and hit(c.get("/queries/prefectures"))


@pytest.mark.parametrize("change", [
    {"headers": {"Accept": "text/csv"}}, {"headers": {**JSON, "Origin": "https://a.example"}},
    {"data": {"query": ASK + " "}}, {"params": {"timeout": "1"}}])
def test_what_chooses_the_answer_is_part_of_the_key(engine, dist, change):
    with app_client(engine, dist, 8) as c:
        c.post("/sparql", data={"query": ASK}, headers=JSON)
        r = c.post("/sparql", **{"data": {"query": ASK}, "headers": JSON, **change})
        assert r.status_code == 200 and not hit(r)


def test_errors_conditional_requests_and_other_paths_go_to_the_app(engine, dist):
    with app_client(engine, dist, 8) as c:
        for _ in range(2):
            r = c.post("/sparql", data={"query": RUNAWAY}, headers=JSON)
            assert r.status_code == 504 and not hit(r)
        etag = c.post("/sparql", data={"query": ASK}, headers=JSON).headers["etag"]
        r = c.post("/sparql", data={"query": ASK}, headers={**JSON, "If-None-Match": etag})
        assert r.status_code == 304 and not hit(r)
        c.get("/health")
        assert not hit(c.get("/health"))


def test_off_unless_asked(engine, dist):
    with app_client(engine, dist, 0) as c:
        c.post("/sparql", data={"query": ASK}, headers=JSON)
        assert not hit(c.post("/sparql", data={"query": ASK}, headers=JSON))


def test_it_keeps_at_most_its_limit_least_recently_used_out():
    calls: list[str] = []

    async def app(scope, receive, send):  # a real ASGI app: answers its path's size in bytes
        calls.append(scope["query_string"].decode())
        size = int(scope["query_string"].decode().split("=")[1])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"x" * size})

    cache = ResponseCache(app, limit=3000)

    async def get(query: str) -> None:
        scope = {"type": "http", "method": "GET", "path": "/sparql", "query_string": query.encode(), "headers": []}

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            pass

        await cache(scope, receive, send)

    async def scenario() -> None:
        for q in ("n=1000", "m=1000", "n=1000", "k=1000", "n=1000", "m=1000", "big=5000", "big=5000"):
            await get(q)

    asyncio.run(scenario())
    # n kept (used again), m pushed out by k then asked again, big never kept (over the limit)
    assert calls == ["n=1000", "m=1000", "k=1000", "m=1000", "big=5000", "big=5000"]
    assert cache._size <= 3000
