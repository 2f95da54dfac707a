"""One error model: the same status for the same engine error on every route, one JSON shape, one
HTML error page for browsers; starlette's own 404/405 in the same shape. A stub engine: no build."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from policygraph.store.engines import (
    ClientBusy,
    EngineBusy,
    EngineUnavailable,
    Job,
    QueryError,
    QueryMemoryLimit,
    QueryTimeout,
    Result,
)
from policygraph.web.app import Settings, create_app

EMPTY = json.dumps({"head": {"vars": []}, "results": {"bindings": []}}).encode()


class StubEngine:
    """Answers every query with no rows, or raises ``error``."""

    triples = 0

    def __init__(self, error: Exception | None = None):
        self.error = error

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: object = None) -> Result:
        if self.error is not None:
            raise self.error
        return Result(EMPTY if job.fmt == "json" else b"")

    def answer_now(self, job: Job) -> None:
        return None

    def status(self) -> None:
        return None

    def close(self) -> None:
        pass


def client(error: Exception | None = None) -> TestClient:
    return TestClient(create_app(StubEngine(error), Settings()), raise_server_exceptions=False)


@pytest.mark.parametrize("error,status,name", [
    (QueryError("bad"), 400, "bad query"), (QueryMemoryLimit("big"), 400, "query memory limit"),
    (QueryTimeout("slow"), 504, "query timeout"), (ClientBusy("yours"), 429, "too many requests"),
    (EngineBusy("busy"), 503, "store unavailable"), (EngineUnavailable("down"), 503, "store unavailable"),
])
def test_an_engine_error_has_one_status_on_every_route(error, status, name):
    c = client(error)
    for url, accept in (("/sparql?query=ASK%7B%7D", "*/*"), ("/id/prefecture/20", "text/turtle"),
                        ("/id/prefecture/20", "application/json"), ("/ontology?format=ttl", "*/*"), ("/", "*/*")):
        r = c.get(url, headers={"Accept": accept})
        assert r.status_code == status, (url, r.status_code, r.text[:200])
        assert r.json() == {"error": name, "detail": str(error)}, url
        assert (r.headers.get("retry-after") == "2") == (status in (429, 503)), url
    page = c.get("/id/prefecture/20", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert f"<code>{error}</code>" in page.text and '<link rel="stylesheet" href="/static/style.css">' in page.text


def test_starlette_errors_have_the_same_shape():
    c = client()
    r = c.get("/no/such/page")
    assert r.status_code == 404 and r.json() == {"error": "not found", "detail": "Not Found"}
    r = c.delete("/sparql")
    assert r.status_code == 405 and r.json()["error"] == "method not allowed" and "GET" in r.headers["allow"]
    page = c.get("/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "見つかりません" in page.text


def test_the_error_page_escapes_what_the_request_put_in_it():
    page = client().get("/id/x%3Cscript%3Ealert(1)%3C/script%3E", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "&lt;script&gt;alert(1)" in page.text and "<script>alert" not in page.text
