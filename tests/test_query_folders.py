"""Other folders of named queries (serve/query --queries DIR): grlc's forms served unchanged, the
decorators policygraph does not act on reported, clashes and missing folders refused."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import FIXTURES, ROOT
from fastapi.testclient import TestClient

from policygraph.cli import main
from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import QueryFileError, load_queries
from policygraph.web.app import Settings, create_app

FOLDER = FIXTURES / "grlc-folder"
NAGANO = "https://w3id.org/policygraph/id/prefecture/20"


def test_a_grlc_folder_loads_beside_the_shipped_queries():
    queries = load_queries(ROOT / "queries", FOLDER)
    assert {"all-statements", "json-header", "typed-parameters", "transformed", "enumerated"} < set(queries)
    paged = queries["all-statements"]
    assert paged.summary == "Every statement, a page at a time; a summary written over two lines."
    assert paged.tags == ["grlc", "paging"] and paged.pagination == 50
    assert paged.not_acted_on == {"endpoint": "http://example.org/elsewhere/sparql", "method": "GET"}
    assert paged.notes and "without ORDER BY" in paged.notes[0]
    assert queries["json-header"].summary.startswith("Labels of one resource")
    assert queries["transformed"].not_acted_on["transform"] == {"key": "?p", "value": "?o", "$anchor": "key"}
    assert queries["transformed"].not_acted_on["endpoint-method"] == "GET"
    assert queries["typed-parameters"].not_acted_on["endpoint_in_url"] is False
    types = {p.name: (p.type, p.required) for p in queries["typed-parameters"].parameters}
    assert types == {"code": ("string", True), "resource": ("iri", False), "amount": ("decimal", False),
                     "plain": ("string", False), "name": ("lang:en", False), "count": ("integer", False),
                     "day": ("xsd:date", False)}
    assert queries["enumerated"].parameters[0].enum == ("20", "13")
    for name in load_queries(ROOT / "queries"):  # the shipped queries: nothing to report
        assert not queries[name].notes and not queries[name].not_acted_on


def test_an_unknown_decorator_is_noted(tmp_path):
    (tmp_path / "typo.rq").write_text("#+ sumary: a typo\nSELECT * WHERE { ?s ?p ?o }")
    q = load_queries(tmp_path)["typo"]
    assert q.notes == ["unknown decorator 'sumary': ignored"]


def test_two_queries_of_one_name_are_refused_naming_both(tmp_path):
    (tmp_path / "prefectures.sparql").write_text("SELECT * WHERE { ?s ?p ?o }")
    with pytest.raises(QueryFileError) as e:
        load_queries(ROOT / "queries", tmp_path)
    assert "prefectures.sparql" in str(e.value) and str(ROOT / "queries" / "prefectures.rq") in str(e.value)


@pytest.fixture(scope="module")
def client(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    with TestClient(create_app(engine, Settings(), load_queries(ROOT / "queries", FOLDER), dist)) as c:
        yield c
    engine.close()


def test_the_folders_queries_are_served_and_report_what_is_not_acted_on(client):
    catalogue = {q["name"]: q for q in client.get("/queries", headers={"Accept": "application/json"}).json()["queries"]}
    assert catalogue["transformed"]["not_acted_on"]["endpoint"] == "http://example.org/transform/sparql/"
    assert catalogue["all-statements"]["notes"] and catalogue["prefectures"]["notes"] == []
    json = {"Accept": "application/json"}
    page = client.get("/queries/all-statements", params={"page": 2}, headers=json)
    assert page.status_code == 200 and len(page.json()["rows"]) == 50
    assert 'rel="next"' in page.headers["link"] and 'rel="prev"' in page.headers["link"]
    labels = client.get("/queries/json-header", params={"resource": NAGANO}, headers=json).json()
    assert {row["label"] for row in labels["rows"]} == {"長野県", "Nagano Prefecture"}
    assert client.get("/queries/typed-parameters", params={"code": "20", "day": "2025-04-01"},
                      headers=json).status_code == 200
    assert client.get("/queries/typed-parameters", params={"day": "2025-04-01"}, headers=json).status_code == 422
    assert len(client.get("/queries/transformed", params={"id": NAGANO}, headers=json).json()["rows"]) == 5
    found = client.get("/queries/enumerated", params={"code": "20"}, headers=json).json()["rows"]
    assert [row["prefecture"] for row in found] == [NAGANO]
    assert client.get("/queries/enumerated", params={"code": "99"}, headers=json).status_code == 422
    page = client.get("/queries/transformed", params={"id": NAGANO}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "http://example.org/transform/sparql/" in page.text


def test_query_runs_a_named_query_of_another_folder_only(capsys):
    assert main(["query", "--name", "enumerated", "--param", "code=20", "--queries", str(FOLDER), "--only-queries",
                 "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["prefecture"], [NAGANO]]
    assert main(["query", "--name", "prefectures", "--queries", str(FOLDER), "--only-queries"]) == 2
    assert "no such named query" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--queries", "/nonexistent/folder"], "--queries /nonexistent/folder: no such folder"),
    (["--only-queries"], "--only-queries needs --queries DIR"),
])
def test_serve_refuses_a_missing_folder_before_starting(capsys, args, message):
    assert main(["serve", "--port", "1", *args]) == 2
    assert message in capsys.readouterr().err
