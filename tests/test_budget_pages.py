"""Tottori's budget-compilation pages: every printed figure in the graph, the warnings, the curated
links both ways and the named queries on the shipped data (Nagano and Tottori)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT, select
from fastapi.testclient import TestClient

from policygraph.records import labels as bl
from policygraph.web.app import Settings, create_app
from policygraph.build.dataset import ExtraInputs, build_dataset
from policygraph.build.dumps import write_dumps
from policygraph.records.eras import parse_fiscal_year
from policygraph.records.loader import RecordError, load_model
from policygraph.store.named_queries import load_queries
from policygraph.records.models import BudgetPagesFile
from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.quality.validate import build_data, load_shapes, validate_data

PAGES_FILE = ROOT / "data" / "budget-pages" / "31-tottori.yaml"
RAW = yaml.load(PAGES_FILE.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # every scalar as a string
PAGES = RAW["pages"]
QUERIES = load_queries(ROOT / "queries")


def number(printed: str) -> Decimal:
    """An independent reading of a printed figure: 12,345千円 → 12345, 1.8人 → 1.8."""
    m = re.fullmatch(r"([0-9,]+(?:\.[0-9]+)?)\s*(千円|人)", printed.strip())
    assert m, printed
    return Decimal(m.group(1).replace(",", ""))


# ------------------------------------------------------------------ the data file itself


def test_the_shipped_pages_cover_at_least_40_program_years():
    program_years = {(p["program"], p["fiscal_year"]) for p in PAGES if p.get("rows") or p.get("request")}
    assert len(PAGES) == 89 and len(program_years) >= 40
    assert all(p["url"].startswith("http://db.pref.tottori.jp/yosan/") for p in PAGES)


def test_every_printed_cell_reaches_the_graph_with_its_row_column_and_url(store):
    expected = Counter()
    for p in PAGES:
        for row in p.get("rows", []):
            for column, value in zip(p["columns"], row["values"], strict=False):  # a row may stop short
                expected[(p["url"], row["label"], column, value, number(value))] += 1
    got = Counter()
    for r in select(store, """
        SELECT ?url ?row ?column ?printed ?value WHERE {
          { ?o pg:amount ?value } UNION { ?o pg:staffCount ?value }
          ?o pg:rowLabel ?row ; pg:columnLabel ?column ; pg:printedValue ?printed ;
             prov:wasDerivedFrom/dcterms:isPartOf ?page .
          ?page a pg:WebPage ; pg:pageUrl ?url ; dcterms:isPartOf id:source\\/tottori-budget-compilation .
        }"""):
        got[(r["url"], r["row"], r["column"], r["printed"], Decimal(r["value"]))] += 1
    assert sum(expected.values()) > 1000
    assert got == expected


def test_every_request_and_assessment_figure_reaches_the_graph(store):
    expected = set()
    for p in PAGES:
        if m := re.match(r"^(?:事業費)?要求額:?\s*([0-9,]+)千円", p.get("request", "")):
            expected.add((p["url"], "要求額", int(m.group(1).replace(",", ""))))
        if m := re.search(r"\(前年度予算額\s*([0-9,]+)千円\)", p.get("request", "")):
            expected.add((p["url"], "前年度予算額", int(m.group(1).replace(",", ""))))
        for word, amount in re.findall(r"(追加|復活|保留):\s*([0-9,]+)\s*千円", p.get("request", "")):
            expected.add((p["url"], word, int(amount.replace(",", ""))))
        if m := re.search(r"(計上額|保留額):([0-9,]+)千円", p.get("assessment", "")):
            expected.add((p["url"], m.group(1), int(m.group(2).replace(",", ""))))
    got = {(r["url"], r["row"], int(Decimal(r["amount"]))) for r in select(store, """
        SELECT ?url ?row ?amount WHERE {
          ?o pg:amount ?amount ; pg:rowLabel ?row ; prov:wasDerivedFrom/dcterms:isPartOf ?page .
          ?page pg:pageUrl ?url ; dcterms:isPartOf id:source\\/tottori-budget-compilation .
          FILTER NOT EXISTS { ?o pg:columnLabel ?c }
        }""")}
    assert len(expected) > 100
    assert got == expected


def test_every_imported_figure_reaches_the_graph(store):
    """data/figures/*.csv are the spreadsheets `policygraph import` made the YAML from: each row is in the graph."""
    import csv
    expected = set()
    for sheet in sorted((ROOT / "data" / "figures").glob("*.csv")):
        with sheet.open(encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                expected.add((row["prefecture"], row["source_url"], row["label"], row["amount"] + row["unit"],
                              int(row["amount"].replace(",", ""))))
    got = {(r["pref"], r["url"], r["label"], r["printed"], int(Decimal(r["amount"]))) for r in select(store, """
        SELECT ?pref ?url ?label ?printed ?amount WHERE {
          ?o pg:amount ?amount ; pg:rowLabel ?label ; pg:printedValue ?printed ;
             pg:program/pg:prefecture/skos:notation ?pref ;
             prov:wasDerivedFrom/dcterms:isPartOf ?page . ?page pg:pageUrl ?url FILTER (?pref != "31") }""")}
    assert len(expected) == 4 and got == expected


def test_every_page_is_a_source_with_url_title_and_date(store):
    rows = select(store, """
        SELECT ?page ?url ?title ?date ?program WHERE {
          ?page a pg:WebPage ; pg:pageUrl ?url ; dcterms:title ?title ; pg:accessedOn ?date ; pg:aboutProgram ?program ;
                dcterms:isPartOf id:source\\/tottori-budget-compilation .
        }""")
    assert {r["url"] for r in rows} == {p["url"] for p in PAGES}
    assert {r["date"] for r in rows} == {"2026-11-30"}


def test_staff_counts_are_figures_of_their_own_unit(store):
    rows = select(store, """
        SELECT ?kind ?n WHERE {
          ?o a pg:StaffObservation ; pg:staffKind/skos:notation ?kind ; pg:staffCount ?n ;
             pg:unitOfMeasure <https://w3id.org/policygraph/id/code/unit/person> .
        }""")
    kinds = {r["kind"] for r in rows}
    assert {"regular", "fiscal-year-appointed", "part-time", "all-staff"} <= kinds


# ------------------------------------------------------------------ reading printed labels


@pytest.mark.parametrize(("label", "page_year", "expected"), [
    ("R2年度当初予算要求額", 2020, (2020, "request")),
    ("H31年度6月補正後予算額", 2020, (2019, "revised")),
    ("31年度当初予算額(最終)", 2019, (2019, "final")),
    ("30年度当初予算額", 2019, (2018, "initial")),   # a bare era year: Heisei, next to the page's year
    ("1年度当初予算額", 2020, (2019, "initial")),    # ... or Reiwa
    ("前年度当初予算額", 2026, (2025, "initial")),
    ("当初予算額", 2026, (2026, "initial")),
    ("19年度予算計上額", 2007, (2007, "assessed")),
    ("", 2019, (2019, "unlabelled")),
])
def test_row_labels_name_a_year_and_a_stage(label, page_year, expected):
    r = bl.read_row_label(label, page_year)
    assert (r.year, r.stage) == expected


@pytest.mark.parametrize("label", ["当初予算見込額", "45年度当初予算額", "R2年度決算見込"])
def test_an_unknown_row_label_is_an_error_not_a_guess(label):
    with pytest.raises(bl.LabelError):
        bl.read_row_label(label, 2020)


def test_request_and_assessment_lines():
    line = bl.read_request_line("要求額:24,819千円    財源:単県  (要求額の内訳)  保留:24,819 千円24,819千円")
    assert (line.requested, line.prior_year, line.funding, line.adjustments) == (
        24819, None, ("prefecture-own",), (("held-request", 24819),))
    assert bl.read_request_line("要求額:10,640千円  (前年度予算額 0千円)  財源:臨時交付金、単県").funding == (
        "temporary-grant", "prefecture-own")
    with pytest.raises(bl.LabelError):
        bl.read_request_line("要求額:10千円 財源:宝くじ")
    a = bl.read_assessment("一般事業査定:一部計上   計上額:5,483千円")
    assert (a.assessor, a.result, a.amount, a.stage) == ("general", "partly-funded", 5483, "assessed")
    assert bl.read_assessment("課長査定:ゼロ").amount is None
    with pytest.raises(bl.LabelError):
        bl.read_amount("1,2345千円")


def _bad_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = PAGES_FILE.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "31-tottori.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    return bad


@pytest.mark.parametrize(("old", "new", "message"), [
    ("- label: 当初予算額\n", "- label: 当初予算見込額\n", "unknown row label"),
    ("fiscal_year: 平成31年度", "fiscal_year: 平成30年度", "is not the year of the url"),
    ("財源:単県", "財源:宝くじ", "unknown 財源"),
])
def test_a_bad_page_is_refused_naming_file_line_and_field(tmp_path, old, new, message):
    with pytest.raises(RecordError) as e:
        load_model(_bad_copy(tmp_path, old, new), BudgetPagesFile)
    assert re.search(r"31-tottori\.yaml:\d+: pages\[\d+\]", str(e.value)) and message in str(e.value)


# ------------------------------------------------------------------ warnings, not failures


def test_rows_that_do_not_add_up_are_warnings_and_the_build_still_passes(build):
    report = validate_data(build_data(build), load_shapes(ROOT))
    assert report.conforms
    flagged = {r.focus.rsplit("/", 2)[-2] for r in report.results if r.shape.endswith("RowAddsUpShape")}
    assert {r.severity for r in report.results if r.shape.endswith("RowAddsUpShape")} == {"Warning"}
    # independently: the rows whose printed トータルコスト is not 事業費 + 人件費
    expected = {p["id"] for p in PAGES for row in p.get("rows", []) if len(row["values"]) >= 3
                and number(row["values"][0]) + number(row["values"][1]) != number(row["values"][2])}
    assert len(expected) == 8 and flagged == expected


def test_the_warning_fires_on_a_synthetic_page_and_only_on_its_bad_row():
    b = build_dataset(ROOT, ExtraInputs(sheets=(FIXTURES / "synthetic-13-990101-2025.yaml",),
                                        pages=(FIXTURES / "synthetic-budget-pages-13.yaml",)))
    report = validate_data(build_data(b), load_shapes(ROOT))
    assert report.conforms
    mine = [r for r in report.results if r.shape.endswith("RowAddsUpShape") and "/13/test-program/" in r.focus]
    assert [r.focus.rsplit("/", 1)[-1] for r in mine] == ["row-1"]
    assert "1000" in (mine[0].message_en or "") and "200" in (mine[0].message_en or "")


# ------------------------------------------------------------------ curated links, both ways


def test_renames_answer_both_ways(store):
    later = select(store, "SELECT ?b WHERE { id:prefectural-project\\/31\\/startup-promotion pg:continuedBy ?b }")
    earlier = select(store,
                     "SELECT ?a WHERE { id:prefectural-project\\/31\\/entrepreneur-development pg:continues ?a }")
    assert [r["b"].rsplit("/", 1)[-1] for r in later] == ["entrepreneur-development"]
    assert {r["a"].rsplit("/", 1)[-1] for r in earlier} == {"startup-promotion"}
    link = select(store, """
        SELECT ?type ?evidence ?url WHERE {
          ?l pg:earlierProgram id:prefectural-project\\/31\\/startup-promotion ; pg:continuityType/skos:notation ?type ;
             pg:evidenceKind/skos:notation ?evidence ; pg:evidencePage/pg:pageUrl ?url }""")
    assert link == [{"type": "renamed", "evidence": "page-states", "url":
                     "http://db.pref.tottori.jp/yosan/R4Yosan_Koukai.nsf/2de3960524de1d2a492574820032bf0b/19a565dd8011e3f9492587d700098d57"}]


def test_alignments_answer_both_ways(store):
    project = "id:prefectural-project\\/31\\/business-succession-promotion"
    national = select(store, f"SELECT ?n WHERE {{ {project} pg:alignedWith ?n }}")
    assert [r["n"].rsplit("/", 1)[-1] for r in national] == ["5-2-5"]
    local = select(store, """
        SELECT DISTINCT ?code WHERE {
          ?p pg:alignedWith id:national-program\\/2008\\/5-2-5 ; pg:prefecture/skos:notation ?code }""")
    assert {r["code"] for r in local} == {"20", "31"}


def test_counterparts_answer_both_ways(store):
    tottori = "id:prefectural-project\\/31\\/business-succession-promotion"
    nagano = select(store, f"SELECT ?n WHERE {{ {tottori} pg:counterpartOf ?n }}")
    assert [r["n"].rsplit("/", 3)[-3:] for r in nagano] == [["070201", "8", "2"]]
    back = select(store, "SELECT ?t WHERE { id:initiative\\/20\\/070201\\/8\\/2 pg:counterpartOf ?t }")
    assert {r["t"].rsplit("/", 1)[-1] for r in back} == {"business-succession-promotion", "strategic-succession"}


def test_counterpart_quotes_are_verbatim():
    from conftest import seed
    def squash(s: str) -> str:
        return re.sub(r"\s", "", s)
    nagano = squash(seed("000_3daf9aaabf1ffbfc.txt"))
    doc = yaml.safe_load((ROOT / "data/counterparts/20-070201-2025--31-tottori.yaml").read_text(encoding="utf-8"))
    names = defaultdict(set)
    for p in PAGES:
        names[p["program"]].add(p["name"])
    for c in doc["counterparts"]:
        assert squash(c["first_evidence"]) in nagano, c["key"]
        assert c["second_evidence"] in names[c["second"]], c["key"]


# ------------------------------------------------------------------ named queries on the shipped data


@pytest.fixture(scope="module")
def client(build, tmp_path_factory):
    out = tmp_path_factory.mktemp("pages") / "dist"
    write_dumps(build, out)
    engine = EmbeddedEngine(StoreSource(out / "policygraph.nq"), workers=1)
    yield TestClient(create_app(engine, Settings(query_timeout=20), QUERIES))
    engine.close()


def rows(client, path, **params):
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()["rows"]


def _tottori_initial(program: str, year: int) -> set[int]:
    """Every 事業費 printed for ``program``'s initial budget of ``year`` on any page (independent reading)."""
    found = set()
    for p in PAGES:
        if p["program"] != program:
            continue
        for row in p.get("rows", []):
            r = bl.read_row_label(row["label"], _fy(p))
            if (r.year, r.stage) == (year, "initial"):
                found.add(int(number(row["values"][0])))
    return found


def _fy(p) -> int:
    return parse_fiscal_year(p["fiscal_year"])


def test_nagano_vs_tottori_by_national_program(client):
    result = rows(client, "/queries/compare-budget-by-national-program", stage="initial")
    got = {(r["national"].rsplit("/", 1)[-1], r["prefecture"], int(r["year"])): r["total"] for r in result}
    assert got[("5-2-5", "31", 2024)] == max(_tottori_initial("strategic-succession-model", 2024)) == 23484
    assert ("5-2-5", "20", 2024) in got and ("4-2-1", "20", 2024) in got and ("4-2-1", "31", 2019) in got
    both = {k[0] for k in got if k[1] == "20"} & {k[0] for k in got if k[1] == "31"}
    assert {"4-2-1", "5-2-5"} <= both


def test_nagano_vs_tottori_by_classification(client):
    result = rows(client, "/queries/compare-budget-by-classification", year="2024", stage="initial")
    by = {(r["prefecture"], r["item"]): r for r in result}
    assert by[("20", None)]["total"] == 177372  # Nagano's sheet prints no 款・項・目
    programs_2024 = defaultdict(set)
    for p in PAGES:
        if p.get("classification") and _tottori_initial(p["program"], 2024):
            programs_2024[p["classification"]["目"]].add(p["program"])
    for item, programs in programs_2024.items():
        total = sum(max(_tottori_initial(pr, 2024)) for pr in programs)
        assert by[("31", item)]["total"] == total, item
        assert by[("31", item)]["section"] == "商工費"


def test_program_history_follows_renames_from_either_end(client):
    forward = rows(client, "/queries/program-history", program="https://w3id.org/policygraph/id/prefectural-project/31/regional-startup-promotion")
    backward = rows(client, "/queries/program-history")
    assert forward == backward
    names = {r["name"] for r in backward}
    assert names == {"地域創業促進事業", "起業創業促進事業", "起業家育成応援事業"}
    years = [int(r["year"]) for r in backward]
    assert years == sorted(years) and min(years) <= 2017 and max(years) >= 2023
    assert all(r["url"].startswith("http://db.pref.tottori.jp/") for r in backward)


def test_requested_vs_assessed(client):
    result = {(r["prefecture"], int(r["year"])): r for r in rows(client, "/queries/requested-vs-assessed")}
    # independently, for Tottori FY2018: pages with a 要求額 line and a 査定 line
    req = ass = n = 0
    for p in PAGES:
        if _fy(p) == 2018 and p.get("request") and p.get("assessment"):
            req += int(re.match(r"^(?:事業費)?要求額:?\s*([0-9,]+)", p["request"]).group(1).replace(",", ""))
            if m := re.search(r"計上額:([0-9,]+)千円", p["assessment"]):
                ass += int(m.group(1).replace(",", ""))
            n += 1
    t = result[("31", 2018)]
    assert (t["pairs"], t["requested_total"], t["assessed_total"]) == (n, req, ass)
    nagano = result[("20", 2025)]
    assert (nagano["requested_total"], nagano["assessed_total"]) == (285030, 368078)  # 要求 and 予算案 rows


def test_counterparts_query_from_either_prefecture(client):
    from_tottori = rows(client, "/queries/counterparts", pref="31")
    from_nagano = rows(client, "/queries/counterparts", pref="20")
    assert len(from_tottori) == len(from_nagano) == 5
    assert {(r["program"], r["other"]) for r in from_tottori} == {(r["other"], r["program"]) for r in from_nagano}


def test_coverage_of_national_programs_on_the_shipped_data(client):
    cover = {r["notation"]: r for r in rows(client, "/queries/coverage")}
    assert sorted(cover["4-2-1"]["codes"].split()) == ["20", "31"] and cover["4-2-1"]["prefectures"] == 2
    assert sorted(cover["5-2-5"]["codes"].split()) == ["20", "31"]
    assert cover["4-1-1"]["codes"] == "31" and cover["3-2-2-a"]["codes"] == "20"


def test_program_pages_and_the_dataset_show_each_page_url(client):
    page = client.get("/id/prefectural-project/31/entrepreneur-development", headers={"accept": "text/html"}).text
    urls = [p["url"] for p in PAGES if p["program"] == "entrepreneur-development"]
    assert urls and all(f'href="{u}"' in page for u in urls)
    assert "36,067 / 57,077" in page  # two pages print different 計上額 for FY2023: both shown
    dataset = client.get("/dataset", headers={"accept": "text/html"}).text
    assert all(f'href="{p["url"]}"' in dataset for p in PAGES)
    assert "not stated in the stored copies" in dataset


def test_compare_lists_prefectures_with_and_without_data(client):
    r = client.get("/api/compare", params={"by": "classification", "year": "2024"})
    assert r.status_code == 200
    body = r.json()
    assert sorted(body["prefectures_with_data"]) == ["20", "24", "31"]
    assert len(body["prefectures_without_data"]) == 44 and "13" in body["prefectures_without_data"]
    assert {row["prefecture"] for row in body["rows"]} == {"20", "31"}  # Mie's figures are of 1997-98
    assert client.get("/api/compare", params={"by": "classification", "colour": "red"}).status_code == 422
