"""The comparison page (/compare, /compare.csv) against SPARQL over the same store.

Every expected figure is computed here by a query of the test's own from the built graph, never
written down: the page must show what the graph holds. The last test is a person's path in Chromium.
"""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import NavigableString, Tag
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium, select
from fastapi.testclient import TestClient
from pages import soup

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app
from policygraph.web.views.budget_table import STAGE_ORDER

SHOTS = Path(os.environ.get("POLICYGRAPH_SCREENSHOTS", ROOT / "test-artifacts"))
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"   # vendored for the tests (MPL-2.0)
AXE_RUN = """const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ': ' + v.help)))
  .catch(e => done(['axe-error: ' + e]));"""
FY2025 = {"pref": ["20", "31"], "year": ["2025"]}
# the leaf figures of a prefecture, year and stage: 事業費, all funding, the largest reading of each program,
# a project counted through its parts when they have figures for that year and stage
LEAVES = """SELECT ?program (MAX(?a) AS ?amount) WHERE {{
  ?program pg:prefecture/skos:notation "{pref}" .
  ?o pg:program ?program ; pg:fiscalYear ?fy ; pg:budgetStage ?s ; pg:amount ?a ;
     pg:costComponent code:cost-component\\/project-cost ; pg:fundingSource code:funding-source\\/all .
  ?fy pg:year "{year}"^^<http://www.w3.org/2001/XMLSchema#gYear> . ?s skos:notation "{stage}" .
  FILTER NOT EXISTS {{ ?program pg:hasComponent ?part . ?o2 pg:program ?part ; pg:fiscalYear ?fy ; pg:budgetStage ?s ;
     pg:costComponent code:cost-component\\/project-cost ; pg:fundingSource code:funding-source\\/all }}
}} GROUP BY ?program"""
STAGES = """SELECT DISTINCT ?stage WHERE {{ ?o pg:program/pg:prefecture/skos:notation "{pref}" ;
  pg:fiscalYear/pg:year "{year}"^^<http://www.w3.org/2001/XMLSchema#gYear> ; pg:budgetStage/skos:notation ?stage ;
  pg:costComponent code:cost-component\\/project-cost ; pg:fundingSource code:funding-source\\/all }}"""
STAGE_LABEL = """SELECT DISTINCT ?stage WHERE {{ ?s skos:notation ?stage ; rdfs:label|skos:prefLabel "{label}"@ja
  FILTER(STRSTARTS(STR(?s), "https://w3id.org/policygraph/id/code/budget-stage/")) }}"""


@pytest.fixture(scope="module")
def app(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    yield create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)
    engine.close()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        c.headers["Accept-Language"] = "ja"
        yield c


def cell_text(cell: Tag) -> str:
    """A cell's text with each <br> read as a space and runs of whitespace made one space."""
    parts = [" " if isinstance(d, Tag) and d.name == "br" else str(d) for d in cell.descendants
             if (isinstance(d, Tag) and d.name == "br") or type(d) is NavigableString]
    return " ".join("".join(parts).split())


def tables(html: str) -> dict[str, list[tuple[dict, list[tuple[str, dict, str]]]]]:
    """The cells of every <table id=…> on a page: rows of (tag, attributes, text), with the row's attributes."""
    return {str(table["id"]): [(tr.attrs, [(c.name, c.attrs, cell_text(c)) for c in tr.find_all(["td", "th"])])
                               for tr in table.find_all("tr")]
            for table in soup(html).find_all("table", id=True)}


def amount(text: str) -> Decimal | None:
    """A cell's figure (commas and the differing-readings mark dropped), None for "—"."""
    text = text.rstrip("*").replace(",", "")
    return None if text == "—" else Decimal(text)


def page(client, **params) -> tuple[str, list]:
    r = client.get("/compare", params=params, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text
    return r.text, tables(r.text).get("compare-table", [])


def column_stages(store, rows) -> dict[str, str]:
    """Each column (code-year) with the stage its heading names, read back through the code list."""
    out = {}
    for _tag, attrs, text in rows[0][1][1:]:
        label = text.split(" ", 2)[-1]          # "長野県 2025年度 要求" → "要求"
        found = select(store, STAGE_LABEL.format(label=label))
        assert len(found) == 1, f"heading {text!r} names no stage of the code list"
        out[attrs["data-column"]] = found[0]["stage"]
    return out


def leaves(store, pref: str, year: str, stage: str) -> dict[str, Decimal]:
    return {r["program"]: Decimal(r["amount"]) for r in select(store, LEAVES.format(pref=pref, year=year, stage=stage))}


def test_nagano_and_tottori_fy2025_by_program_match_sparql(client, store):
    _, rows = page(client, **FY2025, group="program")
    stages = column_stages(store, rows)
    assert set(stages) == {"20-2025", "31-2025"}, "both prefectures are compared for FY2025"
    for column, stage in stages.items():
        pref, year = column.split("-")
        held = {r["stage"] for r in select(store, STAGES.format(pref=pref, year=year))}
        assert stage == min(held, key=STAGE_ORDER.index), "by default, the first stage the prefecture has that year"
        expected = leaves(store, pref, year, stage)
        assert expected, f"{column} has figures at {stage}"
        shown = {}
        for attrs, cells in rows[1:]:
            cell = next(c for c in cells if c[1].get("data-column") == column)
            if attrs["data-group"] != "total" and amount(cell[2]) is not None:
                shown[attrs["data-group"]] = amount(cell[2])
            if attrs["data-group"] == "total":
                assert amount(cell[2]) == sum(expected.values())
        assert shown == expected, f"one row per program of {column} with its figure"


def test_grouped_by_national_program_adds_up_per_alignment(client, store):
    _, rows = page(client, **FY2025, group="national-program")
    stages = column_stages(store, rows)
    for column, stage in stages.items():
        pref, year = column.split("-")
        figures = leaves(store, pref, year, stage)
        programs = " ".join(f"<{p}>" for p in figures)
        aligned = select(store, f"SELECT DISTINCT ?program ?national WHERE {{ VALUES ?program {{ {programs} }} "
                                "?program pg:hasComponent*/pg:alignedWith ?national . ?national a pg:NationalProgram }")
        expected: dict[str, Decimal] = {}
        for r in aligned:
            expected[r["national"]] = expected.get(r["national"], Decimal(0)) + figures[r["program"]]
        unaligned = sum(v for p, v in figures.items() if p not in {r["program"] for r in aligned})
        shown = {attrs["data-group"]: amount(next(c for c in cells if c[1].get("data-column") == column)[2])
                 for attrs, cells in rows[1:]}
        assert {g: v for g, v in shown.items() if g not in ("", "total") and v is not None} == expected
        assert shown.get("") == (unaligned or None)
        assert shown["total"] == sum(figures.values())
    assert any(g.startswith("https://w3id.org/policygraph/id/national-program/") for g in
               (attrs["data-group"] for attrs, _ in rows[1:])), "a row links a national program"


def test_a_chosen_stage_applies_to_every_column_and_says_who_has_none(client, store):
    held = {p: {r["stage"] for r in select(store, STAGES.format(pref=p, year="2025"))} for p in ("20", "31")}
    stage = next(iter(sorted(held["31"] - held["20"])))   # a stage Tottori has in FY2025 and Nagano does not
    html, rows = page(client, **FY2025, stage=stage, group="program")
    assert set(column_stages(store, rows).values()) == {stage}
    total = next(cells for attrs, cells in rows if attrs.get("data-group") == "total")
    assert [c[2] for c in total[1:]] and amount(total[1][2]) == sum(leaves(store, "31", "2025", stage).values())
    missing = html[html.index('id="missing"'):html.index("</div>", html.index('id="missing"'))]
    assert "長野県" in missing and "鳥取県" not in missing


def test_the_page_names_chosen_prefectures_without_figures(client, store):
    tokyo = 'SELECT ?o WHERE { ?o a pg:BudgetObservation ; pg:program/pg:prefecture/skos:notation "13" }'
    assert not select(store, tokyo), "Tokyo has no budget figures in the graph"
    html, rows = page(client, pref=["13", "20"], year="2025")
    missing = html[html.index('id="missing"'):html.index("</div>", html.index('id="missing"'))]
    assert "東京都" in missing and "長野県" not in missing
    assert {c[1]["data-column"] for c in rows[0][1][1:]} == {"20-2025"}, "no empty column for Tokyo"
    # the form lists Tokyo among the prefectures without data, in a <details> opened because it is chosen
    details = html[html.index("<details"):html.index("</details>")]
    assert 'value="13" checked' in details and "<details open" in html


def test_csv_has_a_bom_and_the_tables_numbers(client):
    html, rows = page(client, **FY2025, group="national-program")
    r = client.get("/compare.csv", params={**FY2025, "group": "national-program"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark for Excel"
    lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    from_csv = {(x["group_iri"], f"{x['prefecture_code']}-{x['fiscal_year']}"): Decimal(x["amount_thousand_yen"])
                for x in lines}
    from_page = {(attrs["data-group"], c[1]["data-column"]): amount(c[2]) for attrs, cells in rows[1:]
                 if attrs["data-group"] != "total" for c in cells[1:] if amount(c[2]) is not None}
    assert from_csv == from_page and from_csv
    assert 'href="/compare.csv?' in html


@pytest.mark.parametrize("params,name", [
    ({"pref": "99", "year": "2025"}, "pref"), ({"pref": "2", "year": "2025"}, "pref"),
    ({"pref": "２０", "year": "2025"}, "pref"), ({"pref": "20", "year": "25"}, "year"),
    ({"pref": "20", "year": "二〇二五"}, "year"), ({"pref": "20", "year": "2025", "group": "area"}, "group"),
    ({"pref": "20", "year": "2025", "stage": "initial'}"}, "stage"),
    ({"pref": [f"{i:02d}" for i in range(1, 48)] * 2, "year": "2025"}, "pref"),
    ({"pref": "20", "year": [str(y) for y in range(1990, 2021)]}, "year"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, params, name):
    for path in ("/compare", "/compare.csv"):
        r = client.get(path, params=params)
        assert r.status_code == 400 and r.json()["parameter"] == name, (path, r.text)
    r = client.get("/compare", params=params, headers={"Accept": "text/html"})
    assert r.status_code == 400 and f"{name}:" in r.text, "the error page names the parameter"


def test_empty_form_without_a_choice(client):
    html, rows = page(client)
    assert not rows and 'name="pref"' in html and 'name="year"' in html and "<label for=\"cmp-group\"" in html


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
def test_compare_nagano_and_tottori_in_the_browser(app):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium()
    try:
        with Server(app) as server:
            driver.get(server.url + "/compare")
            for code in ("20", "31"):
                driver.find_element(By.CSS_SELECTOR, f'input[name="pref"][value="{code}"]').click()
            driver.find_element(By.CSS_SELECTOR, 'input[name="year"][value="2025"]').click()
            Select(driver.find_element(By.ID, "cmp-group")).select_by_value("national-program")
            driver.find_element(By.CSS_SELECTOR, ".compare-form button[type=submit]").click()
            # the click starts a navigation: wait for the answer page rather than reading the form page
            table = WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "compare-table"))
            headings = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
            assert any("長野県" in h for h in headings) and any("鳥取県" in h for h in headings)
            assert table.find_element(By.TAG_NAME, "caption").text
            chart = driver.find_element(By.ID, "compare-chart")
            assert chart.get_attribute("role") == "img" and chart.find_elements(By.TAG_NAME, "rect")
            SHOTS.mkdir(parents=True, exist_ok=True)
            assert driver.save_screenshot(str(SHOTS / "compare-nagano-tottori.png"))
            driver.set_script_timeout(120)
            driver.execute_script(AXE.read_text(encoding="utf-8"))
            assert driver.execute_async_script(AXE_RUN) == [], "no serious or critical axe-core violation"
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            driver.refresh()
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, "fits a phone"
            assert driver.save_screenshot(str(SHOTS / "compare-nagano-tottori-390.png"))
    finally:
        driver.quit()
