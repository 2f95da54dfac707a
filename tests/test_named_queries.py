"""Named queries as a REST API, on the shipped data and on three prefectures (two synthetic)."""

from __future__ import annotations

import csv
import io
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from policygraph.web.app import Settings, create_app
from policygraph.web.named_queries import value_of
from policygraph.build.dataset import ExtraInputs, build_dataset
from policygraph.build.dumps import write_dumps
from policygraph.cli import main
from policygraph.records.loader import load_model
from policygraph.store.named_queries import QueryFileError, load_queries
from policygraph.records.models import AlignmentsFile, PrefecturalSheetFile
from policygraph.store.embedded import EmbeddedEngine, StoreSource

from conftest import FIXTURES, ROOT

QUERIES = load_queries(ROOT / "queries")
XSD = "http://www.w3.org/2001/XMLSchema#"
SHEETS = [FIXTURES / "synthetic-13-990101-2025.yaml", FIXTURES / "synthetic-27-880201-2025.yaml"]
ALIGNMENTS = [FIXTURES / "synthetic-alignments-13.yaml", FIXTURES / "synthetic-alignments-27.yaml"]


def _client(dumps: Path, queries):
    engine = EmbeddedEngine(StoreSource(dumps / "policygraph.nq"), workers=1)
    return engine, TestClient(create_app(engine, Settings(query_timeout=10), queries))


@pytest.fixture(scope="module")
def client(dist):
    """The shipped data, from the session's dumps."""
    engine, c = _client(dist, {**QUERIES, **load_queries(FIXTURES / "queries")})
    yield c
    engine.close()


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """Nagano plus two synthetic prefectures (13, 27) with their own alignments."""
    b = build_dataset(ROOT, ExtraInputs(sheets=tuple(SHEETS), alignments=tuple(ALIGNMENTS)))
    out = tmp_path_factory.mktemp("nq") / "dist"
    write_dumps(b, out)
    engine, c = _client(out, QUERIES)
    yield c
    engine.close()


def rows(client, path, **params):
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()["rows"]


# ------------------------------------------------------------------ catalogue, defaults, formats


def test_catalogue(client):
    cat = client.get("/queries").json()["queries"]
    assert len([q for q in cat if q["name"] != "echo"]) >= 12
    by_name = {q["name"]: q for q in cat}
    trend = by_name["budget-trend"]
    assert trend["summary"] and trend["parameters"] == [{
        "name": "program", "type": "iri", "required": True, "enum": None, "variable": "?_program_iri",
        "default": "https://w3id.org/policygraph/id/prefectural-project/20/070201"}]
    assert trend["example"].endswith("/queries/budget-trend?program="
                                     "https%3A%2F%2Fw3id.org%2Fpolicygraph%2Fid%2Fprefectural-project%2F20%2F070201")


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_answers_with_its_defaults(client, name):
    r = client.get(f"/queries/{name}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] and body["columns"] and body["query"] == name
    assert set(body["rows"][0]) == set(body["columns"])
    assert body["columns"] == QUERIES[name].columns  # the catalogue and OpenAPI name the answer's columns


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_is_documented_in_openapi(client, name):
    op = client.get("/openapi.json").json()["paths"][f"/queries/{name}"]["get"]
    assert op["summary"] == QUERIES[name].summary
    assert {p["name"] for p in op.get("parameters", [])} >= {p.name for p in QUERIES[name].parameters}
    assert "example" in op["responses"]["200"]["content"]["application/json"]


@pytest.mark.parametrize("name", ["prefecture-projects", "national-programs", "kpis-and-goals"])
def test_csv_opens_in_a_spreadsheet(client, name):
    r = client.get(f"/queries/{name}.csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith("\ufeff".encode())  # BOM: spreadsheets then read the Japanese as UTF-8
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    json_body = client.get(f"/queries/{name}").json()
    assert table[0] == json_body["columns"]
    assert len(table) - 1 == len(json_body["rows"])
    assert any("長野" in cell or "事業" in cell for row in table for cell in row)
    tsv = client.get(f"/queries/{name}", headers={"Accept": "text/tab-separated-values"})
    assert tsv.text.splitlines()[0].split("\t") == json_body["columns"]
    assert client.get(f"/queries/{name}", headers={"Accept": "text/csv"}).content == r.content


def test_pagination_and_link_header(client):
    all_rows = rows(client, "/queries/national-programs", page_size=100)
    assert len(all_rows) == 68
    pages, page, links = [], 1, []
    while True:
        r = client.get("/queries/national-programs", params={"page": page, "page_size": 30})
        pages += r.json()["rows"]
        links.append(r.headers["link"])
        if not r.json()["next"]:
            break
        page += 1
    assert page == 3 and pages == all_rows
    assert 'rel="next"' in links[0] and 'rel="prev"' not in links[0]
    assert 'rel="next"' not in links[-1] and 'rel="prev"' in links[-1] and "page=2" in links[-1]
    r = client.get("/queries/national-programs", params={"page": 9, "page_size": 30})
    assert r.json()["rows"] == [] and r.json()["next"] is None


# ------------------------------------------------------------------ real answers on the shipped data


def test_national_programs(client):
    national = rows(client, "/queries/national-programs", tier="national")
    assert len(national) == 35 and all(r["budget"] is not None for r in national)
    by_name = {r["name"]: r for r in national}
    hub = by_name["地域力連携拠点事業（経営力向上・事業承継等先進的支援体制構築事業）"]
    assert (hub["budget"], hub["prior"], hub["change"], hub["new"]) == (5163417, None, None, True)
    r = by_name["地域資源活用型研究開発事業"]
    assert (r["budget"], r["prior"], r["change"], r["new"]) == (1760400, 1956000, -195600, False)
    assert len(rows(client, "/queries/national-programs", tier="smrj")) == 19


def test_smrj_and_regional_hubs(client):
    result = rows(client, "/queries/smrj-and-regional-hubs")
    assert len({r["program"] for r in result if r["relation"] == "smrj"}) == 19
    [hub] = [r for r in result if r["relation"] == "regional-hub-program"]
    assert hub["aligned_name"] == "ながの産業支援ネット推進事業"
    assert any(r["name"] == "新現役チャレンジ支援事業" for r in result if r["relation"] == "mentions-hubs")


def test_prefecture_projects(client):
    result = rows(client, "/queries/prefecture-projects", pref="20", page_size=500)
    levels = defaultdict(set)
    for r in result:
        levels[r["level"]].add(r["program"])
    assert {k: len(v) for k, v in levels.items()} == {"project": 1, "sub-project": 9, "initiative": 15}
    [draft] = [r for r in result if r["level"] == "project" and r["year"] == "2025" and r["stage"] == "draft"
               and r["funding"] == "all"]
    assert draft["amount"] == 368078
    assert rows(client, "/queries/prefecture-projects", pref="13") == []  # no sheet for 13 in the shipped data


def test_budget_trend(client):
    trend = rows(client, "/queries/budget-trend")
    assert [(r["year"], r["stage"]) for r in trend if r["funding"] == "all"][:4] == [
        ("2023", "initial"), ("2023", "supplementary"), ("2023", "carried-over"), ("2023", "current")]
    assert [r["stage"] for r in trend if r["year"] == "2025" and r["funding"] == "all"] == ["request", "draft"]
    sub = rows(client, "/queries/budget-trend", program="https://w3id.org/policygraph/id/sub-project/20/070201/8")
    assert [r["amount"] for r in sub] == [812569, 3000, 100420, 34079]


def test_alignments_both_ways(client):
    assert len(rows(client, "/queries/alignments", pref="20")) == 12
    same = rows(client, "/queries/alignments", type="same-function", pref="20")
    assert {r["local_name"] for r in same} == {"専門家派遣事業", "経営支援職員資質向上推進事業"}
    tottori = rows(client, "/queries/alignments", type="same-function", pref="31")
    assert {r["local_name"] for r in tottori} == {"鳥取県版経営革新総合支援事業", "事業承継促進事業",
                                                  "鳥取県中小企業BCP(事業継続計画)策定支援事業"}
    back = rows(client, "/queries/national-program-alignments")
    assert [(r["local_name"], r["type"]) for r in back] == [("ながの産業支援ネット推進事業", "related")]


def test_kpis_and_goals(client):
    result = rows(client, "/queries/kpis-and-goals")
    kpis = [r for r in result if r["kind"] == "kpi"]
    assert len(kpis) == 20 and {(r["value"], r["status"]) for r in kpis} == {(None, "missing-in-source")}
    targets = [r for r in result if r["kind"] == "plan-goal" and r["role"] == "target"]
    assert sorted((r["name"], r["value"], r["principal"]) for r in targets) == [
        ("労働生産性(2020年度比)", 11.2, True), ("製造業の従業者一人当たり付加価値額(2020年比)", 11.2, False)]


def test_planned_outputs_by_method(client):
    result = rows(client, "/queries/planned-outputs", year="2025")
    by_method = defaultdict(list)
    for r in result:
        by_method[r["method"]].append((r["output"], r["quantity"], r["unit"]))
    assert ("専門家派遣回数", 610, "回") in by_method["subsidy"]
    assert ("研修会の開催", 3, "回") in by_method["contribution"]
    assert rows(client, "/queries/planned-outputs", year="2024") == []


def test_coverage_prefectures_and_search(client):
    cover = {r["notation"]: r for r in rows(client, "/queries/coverage")}
    assert len(cover) == 68 and cover["3-2-2-a"]["prefectures"] == 1 and cover["3-2-2-a"]["codes"] == "20"
    assert cover["3-1-1-a"]["prefectures"] == 0
    prefs = rows(client, "/queries/prefectures")
    assert len(prefs) == 47 and [p["projects"] for p in prefs if p["code"] == "20"] == [1]
    found = rows(client, "/queries/search", text="拠点")
    assert any(r["label"].startswith("地域力連携拠点事業") for r in found)


# ------------------------------------------------------------------ cross-prefecture: three prefectures


def _fixture_expectations():
    """Budgets per (prefecture, year) at stage initial, from the fixture and Nagano YAML themselves."""
    nagano = ROOT / "data/prefectures/20-nagano/070201-2025.yaml"
    sheets = [load_model(p, PrefecturalSheetFile) for p in [nagano, *SHEETS]]
    area = {}
    for s in sheets:
        for row in s.project.costs:
            if row.stage == "current":
                area[(s.source.prefecture, str(row.year))] = row.initial
    by_program = defaultdict(int)
    alignment_files = [ROOT / "data/alignments/national-2008--20-070201-2025.yaml", *ALIGNMENTS]
    for af_path in alignment_files:
        af = load_model(af_path, AlignmentsFile)
        sheet = next(s for s in sheets if s.source.key == af.source.prefectural_source)
        pairs = {(a.national, int(a.prefectural.split("/")[0])) for a in af.alignments}
        for national, sub_no in pairs:
            sub = next(sp for sp in sheet.project.sub_projects if sp.no == sub_no)
            for cell in sub.budget:
                if cell.stage == "initial" and cell.amount is not None:
                    by_program[(national, sheet.source.prefecture, str(cell.year))] += cell.amount
    return area, by_program


def test_compare_by_policy_area_across_prefectures(multi):
    expected, _ = _fixture_expectations()
    result = rows(multi, "/queries/compare-budget-by-policy-area", stage="initial")
    assert {(r["prefecture"], r["year"]): r["total"] for r in result} == expected
    assert {r["prefecture"] for r in result} == {"13", "20", "27"}
    assert rows(multi, "/api/compare", by="policy-area", stage="initial") == result


def test_compare_by_national_program_across_prefectures(multi):
    _, expected = _fixture_expectations()
    result = rows(multi, "/queries/compare-budget-by-national-program", stage="initial")
    got = {(r["national"].rsplit("/", 1)[-1], r["prefecture"], r["year"]): r["total"] for r in result
           if r["prefecture"] != "31"}  # Tottori's real figures: tests/test_budget_pages.py
    assert got == dict(expected)
    hub_2024 = {k[1]: v for k, v in got.items() if k[0] == "3-2-2-a" and k[2] == "2024"}
    assert hub_2024 == {"13": 600, "20": 9622, "27": 2000}


def test_coverage_across_prefectures(multi):
    cover = {r["notation"]: r for r in rows(multi, "/queries/coverage")}
    assert cover["3-2-2-a"]["prefectures"] == 3 and sorted(cover["3-2-2-a"]["codes"].split()) == ["13", "20", "27"]
    assert cover["5-2-4"]["prefectures"] == 2
    assert next(iter(cover.values()))["prefectures"] == 3  # most-covered first


# ------------------------------------------------------------------ REST resources


def test_rest_resources(client):
    assert len(rows(client, "/api/programs", tier="smrj")) == 19
    detail = rows(client, "/api/programs/2008/3-2-2-a")
    assert any(r["value"] == "https://w3id.org/policygraph/id/code/tier/national" for r in detail)
    assert rows(client, "/api/programs/prefectural-project/20/070201")
    assert client.get("/api/programs/2008/9-9-9").status_code == 404
    assert len(rows(client, "/api/prefectures")) == 47
    assert rows(client, "/api/prefectures/20/projects")
    for bad in ("48", "00", "x", "200"):
        assert client.get(f"/api/prefectures/{bad}/projects").status_code == 404
    assert client.get("/api/compare", params={"by": "colour"}).status_code == 422
    assert client.get("/api/programs", params={"tierr": "smrj"}).status_code == 422


# ------------------------------------------------------------------ hostile values


HOSTILE = ['"', "'", "}", '> . } ; DROP ALL', '"} } ; DROP GRAPH <x> #', "line\nbreak\r\n", "\\", "\\u0022",
           "${x}", "?_text", "<https://evil.example/>", "日本語「引用」", "x" * 1999, "\t", "%00"]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_are_bound_literally(client, value):
    r = client.get("/queries/echo", params={"text": value})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [{"text": value, "thing": None, "n": None, "rows": 1}]
    r = client.get("/queries/search", params={"text": value})
    assert r.status_code == 200
    assert all(value.lower() in row["label"].lower() for row in r.json()["rows"])


@pytest.mark.parametrize("params,name", [
    ({"text": "x" * 2001}, "text"),
    ({"text": "ok", "thing": "https://example.org/with space"}, "thing"),
    ({"text": "ok", "thing": "no-scheme"}, "thing"),
    ({"text": "ok", "thing": "https://example.org/>"}, "thing"),
    ({"text": "ok", "n": "1; DROP"}, "n"),
    ({"text": "ok", "n": "1.5"}, "n"),
    ({"text": "ok", "n": "٣"}, "n"),          # Arabic-Indic three: \d and int() would take it as 3
    ({"text": "ok", "n": "１２"}, "n"),        # full-width digits
    ({"text": "ok", "unknown": "1"}, "unknown"),
])
def test_values_that_fail_their_type_are_422(client, params, name):
    r = client.get("/queries/echo", params=params)
    assert r.status_code == 422 and r.json()["parameter"] == name and name in r.json()["detail"]


def test_typed_values_round_trip(client):
    r = client.get("/queries/echo", params={"text": "a", "thing": "https://example.org/x?y=1#z", "n": "-42"})
    assert r.json()["rows"] == [{"text": "a", "thing": "https://example.org/x?y=1#z", "n": -42, "rows": 1}]


@pytest.mark.parametrize("path,params", [
    ("/queries/budget-trend", {"program": "javascript:alert(1) }"}),
    ("/queries/planned-outputs", {"year": "2025} ; DROP"}),
    ("/queries/national-programs", {"tier": "national\" } ;"}),
    ("/queries/national-programs", {"page": "0"}),
    ("/queries/national-programs", {"page_size": "-1"}),
    ("/queries/compare-budget-by-policy-area", {"stage": "nope"}),
])
def test_hostile_values_on_real_queries_never_500(client, path, params):
    r = client.get(path, params=params)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"] == "invalid parameter"


# ------------------------------------------------------------------ broken query files stop the start


@pytest.mark.parametrize("text,reason", [
    ("#+ summary: [unclosed\nSELECT * WHERE { ?s ?p ?o }", "not valid YAML"),
    ("#+ summary: x\nSELECT * WHERE { ?s ?p ", "syntax error"),
    ("#+ defaults:\n#+   - nothing: 1\nSELECT * WHERE { ?s ?p ?_x }",
     "defaults for parameters the query does not have"),
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "not a SPARQL query"),
    ("SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }", "SERVICE"),
])
def test_broken_query_files_are_refused_with_file_and_reason(tmp_path, text, reason):
    (tmp_path / "broken.rq").write_text(text)
    with pytest.raises(QueryFileError) as e:
        load_queries(tmp_path)
    assert "broken.rq" in str(e.value) and reason in str(e.value)


def test_serve_stops_at_start_on_a_broken_query_file(tmp_path, capsys):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "queries", root / "queries")
    (root / "queries" / "zz-broken.rq").write_text("SELECT * WHERE { ?s ?p ")
    assert main(["serve", "--root", str(root), "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert "zz-broken.rq" in err and "syntax error" in err


@pytest.mark.parametrize("binding,value", [
    ({"type": "literal", "value": "1", "datatype": XSD + "boolean"}, True),   # Virtuoso's true
    ({"type": "literal", "value": "0", "datatype": XSD + "boolean"}, False),
    ({"type": "literal", "value": "true", "datatype": XSD + "boolean"}, True),
    ({"type": "literal", "value": "yes", "datatype": XSD + "boolean"}, "yes"),  # ill-typed: its text
    ({"type": "literal", "value": "47", "datatype": XSD + "int"}, 47),
    ({"type": "literal", "value": "47", "datatype": XSD + "unsignedShort"}, 47),
    ({"type": "literal", "value": "x", "datatype": XSD + "integer"}, "x"),
    ({"type": "literal", "value": "INF", "datatype": XSD + "double"}, "INF"),
    ({"type": "literal", "value": "125684.0", "datatype": XSD + "decimal"}, 125684),
])
def test_row_values_follow_the_lexical_space_of_their_type(binding, value):
    assert value_of(binding) == value and type(value_of(binding)) is type(value)
