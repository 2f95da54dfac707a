"""Named queries and /api resources in a browser: the HTML a browser's Accept header gets, checked against
the JSON answer of the same URL; the JSON default for API clients; and one walk in headless Chromium
(choose a value, submit, sort by a column, follow the CSV link). Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium
from fastapi.testclient import TestClient
from pages import find, one, soup, text

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app
from policygraph.web.graph import short
from policygraph.web.html import safe_href

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
QUERIES = load_queries(ROOT / "queries")
SHOTS = Path(os.environ.get("POLICYGRAPH_SCREENSHOTS", ROOT / "test-artifacts"))
BOM = "\ufeff"
ID = "https://w3id.org/policygraph/id/"


@pytest.fixture(autouse=True)
def _no_language_carried_over(request):
    yield
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()


def page(client, url: str, status: int = 200, **params) -> BeautifulSoup:
    r = client.get(url, params=params or None, headers={"Accept": BROWSER})  # {} would drop the URL's query
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html") and "Accept" in r.headers["vary"]
    return soup(r.text)


def as_json(client, url: str, **params) -> dict:
    r = client.get(url, params=params, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def answer_table(doc: Tag) -> tuple[list[str], list[list[Tag]]]:
    """The answer's column names and its rows of <td> cells; the table is captioned, headed by
    th scope=col, sortable, and sits in a sideways scroller."""
    table = one(doc, "table", id="answer")
    assert table.parent is not None and table.parent.get("class") == ["table-scroll"]
    assert "sortable" in " ".join(table.get("class", [])) and text(one(table, "caption"))
    heads = find(one(table, "thead"), "th")
    assert all(th.attrs.get("scope") == "col" for th in heads)
    return [text(th) for th in heads], [find(tr, "td") for tr in find(one(table, "tbody"), "tr")]


def shown(value) -> str:
    """What a cell shows for a JSON value: numbers with thousands separators, nothing for no value, our
    IRIs without the namespace, vocabulary terms as prefixed names."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.6f}".rstrip("0").rstrip(".")
    return str(value).removeprefix(ID) if str(value).startswith(ID) else short(str(value))


def same(cells: list[Tag], row: dict, columns: list[str]) -> None:
    """The cells show the row; each IRI is a link to its page."""
    assert [text(c) for c in cells] == [shown(row[c]) for c in columns]
    for cell, c in zip(cells, columns, strict=True):
        if isinstance(row[c], str) and row[c].startswith(("http://", "https://")):
            assert one(cell, "a").attrs["href"] == safe_href(row[c])


def link_to(doc: Tag, name: str) -> str:
    hrefs = [a.attrs["href"] for a in find(doc, "a") if text(a) == name]
    assert len(hrefs) == 1, (name, hrefs)
    return str(hrefs[0])


# ------------------------------------------------------------------ who gets what


@pytest.mark.parametrize("path", ["/queries", "/queries/national-programs", "/api/programs", "/api/compare",
                                  "/api/prefectures/20/projects"])
def test_json_stays_the_default_for_api_clients(client, path):
    for accept in ("", "*/*", "application/json", "application/json, text/html;q=0.5"):
        r = client.get(path, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", (accept, r.headers)
        assert "Accept" in r.headers["vary"]
    r = client.get(path, headers={"Accept": BROWSER})
    assert r.headers["content-type"].startswith("text/html") and "Accept" in r.headers["vary"]


def test_format_parameter_overrides_accept(client):
    url = "/queries/national-programs"
    assert client.get(url, params={"format": "html"}).headers["content-type"].startswith("text/html")
    forced = client.get(url, params={"format": "json", "tier": "smrj"}, headers={"Accept": BROWSER})
    assert forced.headers["content-type"] == "application/json"
    assert forced.json() == as_json(client, url, tier="smrj")
    for path in (url, "/api/programs"):
        assert client.get(path, params={"format": "csv"}, headers={"Accept": BROWSER}).text.startswith(BOM)
    for bad in ("xml", "", "HTML5"):
        r = client.get(url, params={"format": bad})
        assert r.status_code == 422 and r.json()["parameter"] == "format", (bad, r.text)
    r = client.get(url, params=[("format", "json"), ("format", "csv")])
    assert r.status_code == 422 and r.json()["parameter"] == "format"
    # the language of a page is not a parameter of the query, for a page or for JSON
    assert client.get(url, params={"lang": "en"}).status_code == 200
    assert client.get("/queries", params={"format": "csv"}).json()["parameter"] == "format"
    op = client.get("/openapi.json").json()["paths"]["/queries/national-programs"]["get"]
    documented = next(p for p in op["parameters"] if p["name"] == "format")
    assert documented["schema"] == {"type": "string", "enum": ["html", "json", "csv", "tsv"]}


# ------------------------------------------------------------------ the form


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_form_has_a_labelled_field_per_parameter(client, name):
    q = QUERIES[name]
    doc = page(client, f"/queries/{name}")
    assert text(one(doc, "h1")) == name and q.summary in text(one(doc, "main"))
    if not (q.parameters or q.pagination):  # nothing to choose: no form
        assert not find(doc, "form", class_="parameters")
        return
    form = one(doc, "form", class_="parameters")
    assert form.attrs["method"] == "get" and form.attrs["action"] == f"/queries/{name}"
    labels = {label.attrs["for"] for label in find(form, "label")}
    for p in q.parameters:
        assert f"p-{p.name}" in labels
        if p.enum:
            select = one(form, "select", name=p.name)
            values = [o.attrs.get("value", text(o)) for o in find(select, "option")]
            assert values == ([] if p.required else [""]) + list(p.enum)
            chosen = [o.attrs.get("value", text(o)) for o in find(select, "option") if "selected" in o.attrs]
            assert chosen == [p.default or ""]
        else:
            field = one(form, "input", name=p.name)
            assert field.attrs["type"] == {"iri": "url", "integer": "number", "decimal": "number"}.get(p.type, "text")
            assert field.attrs["value"] == (p.default or "")
            assert ("required" in field.attrs) == p.required
    assert bool(find(form, "input", name="page_size")) == (q.pagination is not None)


def test_a_refused_value_comes_back_as_the_form_with_the_error_beside_it(client):
    doc = page(client, "/queries/national-programs", 422, tier="bogus")
    select = one(doc, "select", name="tier")
    assert select.attrs["aria-invalid"] == "true"
    error = one(doc, "p", id=select.attrs["aria-describedby"])
    assert "tier" in text(error) and "bogus" in text(error)
    assert not find(doc, "table", id="answer")
    doc = page(client, "/queries/national-programs", 422, page_size="0")
    assert "page_size" in text(one(doc, "p", id="p-page_size-error"))
    doc = page(client, "/queries/sub-project-budgets", 422, year="20x5")
    assert one(doc, "input", name="year").attrs["value"] == "20x5" and text(one(doc, "p", id="p-year-error"))
    # a parameter the query does not have has no field: the refusal stands above the form
    doc = page(client, "/queries/national-programs", 422, tierr="smrj")
    assert "tierr" in text(one(doc, "p", class_="problem")) and one(doc, "form", class_="parameters")
    # an API client still gets the JSON problem
    r = client.get("/queries/national-programs", params={"tier": "bogus"})
    assert r.status_code == 422 and r.json()["parameter"] == "tier" and "Accept" in r.headers["vary"]


@pytest.mark.parametrize("url,params", [
    ("/queries/search", {"text": '"><script>alert(1)</script>'}),
    ("/queries/budget-trend", {"program": "javascript:alert(1)"}),
    ("/queries/budget-trend", {"program": '"><img src=x onerror=alert(1)>'}),
    ("/queries/national-programs", {"tier": "<b>smrj</b>"}),
])
def test_hostile_values_stay_text_on_the_page(client, url, params):
    r = client.get(url, params=params, headers={"Accept": BROWSER})
    assert r.status_code in (200, 422) and r.headers["content-type"].startswith("text/html")
    for raw in ("<script>alert", "<img src=x", "<b>smrj", 'href="javascript:'):
        assert raw not in r.text
    (name, value), = params.items()
    field = find(soup(r.text), "input", name=name) or find(soup(r.text), "select", name=name)
    assert field, "the form is there, with the value or its refusal"
    if field[0].tag == "input":
        assert field[0].attrs["value"] == value


# ------------------------------------------------------------------ the answer


@pytest.mark.parametrize("tier", ["national", "smrj", "prefectural"])
def test_the_table_holds_the_answer_of_the_chosen_value(client, tier):
    params = {"tier": tier, "page_size": "7"}
    doc = page(client, "/queries/national-programs", **params)
    expected = as_json(client, "/queries/national-programs", **params)
    columns, rows = answer_table(doc)
    assert columns == expected["columns"] and len(rows) == len(expected["rows"]) == 7
    for cells, row in zip(rows, expected["rows"], strict=True):
        same(cells, row, columns)
        assert text(cells[columns.index("tier")]) == tier
        program = one(cells[columns.index("program")], "a").attrs["href"]
        assert program == "/id/" + row["program"].removeprefix("https://w3id.org/policygraph/id/")
        for cell, c in zip(cells, columns, strict=True):  # numbers right-aligned, sorted by their value
            number = isinstance(row[c], int | float) and not isinstance(row[c], bool)
            assert (cell.get("class") == ["num"]) == number
            if number:
                assert float(cell.attrs["data-sort"]) == row[c]
    selected = find(one(doc, "select", name="tier"), "option")
    assert [text(o) for o in selected if "selected" in o.attrs] == [tier]


def test_numbers_have_thousands_separators(client):
    doc = page(client, "/queries/compare-budget-by-policy-area", stage="initial")
    expected = as_json(client, "/queries/compare-budget-by-policy-area", stage="initial")
    columns, rows = answer_table(doc)
    totals = [r["total"] for r in expected["rows"]]
    assert any(t >= 1000 for t in totals)
    assert [text(cells[columns.index("total")]) for cells in rows] == [f"{t:,}" for t in totals]
    assert text(one(doc, "p", id="row-count")) == f"{len(totals):,} 行"


def test_paging_keeps_the_parameters(client):
    doc = page(client, "/queries/national-programs", tier="national", page_size="10", page="2")
    nav = one(doc, "nav", class_="pager")
    prev, nxt = one(nav, "a", rel="prev").attrs["href"], one(nav, "a", rel="next").attrs["href"]
    for href, n in ((prev, "1"), (nxt, "3")):
        assert parse_qs(urlsplit(href).query) == {"tier": ["national"], "page_size": ["10"], "page": [n]}
    following = soup(client.get(nxt, headers={"Accept": BROWSER}).text)
    _, rows = answer_table(following)
    expected = as_json(client, "/queries/national-programs", tier="national", page_size="10", page="3")
    assert [text(r[1]) for r in rows] == [r["notation"] for r in expected["rows"]]
    assert "21–30" in text(one(following, "p", id="row-count"))


def test_csv_link_is_the_same_answer_for_a_spreadsheet(client):
    doc = page(client, "/queries/national-programs", tier="smrj", page_size="8")
    href = link_to(doc, "CSV (Excel)")
    assert urlsplit(href).path == "/queries/national-programs.csv"
    r = client.get(href)
    assert r.status_code == 200 and r.text.startswith(BOM)
    table = list(csv.reader(io.StringIO(r.text.removeprefix(BOM))))
    expected = as_json(client, "/queries/national-programs", tier="smrj", page_size="8")
    assert table[0] == expected["columns"]
    assert [row[1] for row in table[1:]] == [r["notation"] for r in expected["rows"]]
    got = client.get(link_to(doc, "JSON")).json()
    assert (got["columns"], got["rows"], got["parameters"]) == (expected["columns"], expected["rows"], {"tier": "smrj"})


def test_open_in_editor_carries_the_bound_query(client):
    doc = page(client, "/queries/national-programs", tier="smrj", page_size="6", page="2")
    href = one(doc, "a", id="open-in-editor").attrs["href"]
    assert urlsplit(href).path == "/query"
    query = parse_qs(urlsplit(href).query)["query"][0]
    assert query == text(one(doc, "pre", class_="sparql")) + "\n"
    assert 'VALUES (?__tier) { ("smrj") }' in query and "LIMIT 6 OFFSET 6" in query
    # the text runs on the endpoint to the rows the page shows
    r = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    notations = [b["notation"]["value"] for b in r.json()["results"]["bindings"]]
    _, rows = answer_table(doc)
    assert notations == [text(cells[1]) for cells in rows] and len(notations) == 6
    editor = client.get(href, headers={"Accept": BROWSER})
    assert editor.status_code == 200 and "VALUES (?__tier)" in text(one(soup(editor.text), "textarea"))


def test_an_unpaginated_query_says_its_row_count(client):
    doc = page(client, "/queries/prefectures")
    _, rows = answer_table(doc)
    assert len(rows) == len(as_json(client, "/queries/prefectures")["rows"]) == 47
    assert text(one(doc, "p", id="row-count")) == "47 行" and not find(doc, "nav", class_="pager")


def test_a_cut_off_answer_says_so(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    try:
        with TestClient(create_app(engine, Settings(max_rows=10), QUERIES, dist)) as small:
            doc = page(small, "/queries/prefectures")
            _, rows = answer_table(doc)
            assert len(rows) == 10 and as_json(small, "/queries/prefectures")["truncated"] is True
            assert "10 行で打ち切り" in text(one(doc, "p", id="row-count"))
            whole = page(small, "/queries/sub-project-budgets")  # nine rows: under the limit
            assert len(answer_table(whole)[1]) == 9 and "打ち切り" not in text(one(whole, "p", id="row-count"))
    finally:
        engine.close()


# ------------------------------------------------------------------ /api resources and the catalogue


@pytest.mark.parametrize("url", ["/api/programs?tier=smrj", "/api/prefectures", "/api/prefectures/20/projects",
                                 "/api/programs/2008/3-2-2-a", "/api/compare?by=classification&stage=assessed"])
def test_api_resources_render_their_answer(client, url):
    doc = page(client, url)
    expected = client.get(url, headers={"Accept": "application/json"}).json()
    columns, rows = answer_table(doc)
    assert columns == expected["columns"] and len(rows) == len(expected["rows"]) > 0
    for cells, row in zip(rows, expected["rows"], strict=True):
        same(cells, row, columns)
    csv_href = link_to(doc, "CSV (Excel)")
    assert urlsplit(csv_href).path == urlsplit(url).path and client.get(csv_href).text.startswith(BOM)


def test_api_pages_are_titled_by_the_resource(client):
    assert text(one(page(client, "/api/prefectures/20/projects"), "h1")) == "長野県の事業"
    assert text(one(page(client, "/api/prefectures/20/projects", lang="en"), "h1")) == "Projects of Nagano Prefecture"
    assert text(one(page(client, "/api/programs/2008/9-9-9", 404), "h1"))


def test_compare_lists_prefectures_with_and_without_data(client):
    doc = page(client, "/api/compare", by="national-program", stage="initial")
    expected = as_json(client, "/api/compare", by="national-program", stage="initial")
    for key, list_id in (("prefectures_with_data", "with-data"), ("prefectures_without_data", "without-data")):
        hrefs = [a.attrs["href"] for a in find(one(doc, "ul", id=list_id), "a")]
        assert hrefs == [f"/id/prefecture/{code}" for code in expected[key]]
    assert len(expected["prefectures_with_data"]) + len(expected["prefectures_without_data"]) == 47
    assert [text(o) for o in find(one(doc, "select", name="by"), "option") if "selected" in o.attrs] == \
        ["national-program"]
    doc = page(client, "/api/compare", 422, by="colour")
    assert "colour" in text(one(doc, "p", id="p-by-error"))


def test_catalogue_page_lists_every_query_and_filters_by_tag(client):
    doc = page(client, "/queries")
    table = one(doc, "table", id="catalogue")
    assert [th.attrs.get("scope") for th in find(one(table, "thead"), "th")] == ["col"] * 5
    names = [text(one(th, "a")) for th in find(one(table, "tbody"), "th", scope="row")]
    assert names == [q["name"] for q in as_json(client, "/queries")["queries"]] and len(names) == len(QUERIES)
    tagged = one(page(client, "/queries", tag="budgets"), "table", id="catalogue")
    expected = [q["name"] for q in as_json(client, "/queries", tag="budgets")["queries"]]
    assert [text(one(th, "a")) for th in find(one(tagged, "tbody"), "th", scope="row")] == expected
    assert expected == [q.name for q in QUERIES.values() if "budgets" in q.tags] and 0 < len(expected) < len(names)
    r = client.get("/queries", params={"tag": "no-such-tag"})
    assert r.status_code == 422 and r.json()["parameter"] == "tag"


def test_pages_speak_english_when_asked(client):
    doc = page(client, "/queries/national-programs", lang="en", tier="smrj")
    assert one(doc, "html").attrs["lang"] == "en"
    assert text(one(one(doc, "form", class_="parameters"), "button")) == "Show"
    assert link_to(doc, "Open in the editor")
    # the links of the page do not carry the language (the cookie does) or the format
    assert "lang" not in link_to(doc, "CSV (Excel)") and "format=json" in link_to(doc, "JSON")


# ------------------------------------------------------------------ a person in Chromium

browser_only = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")


@pytest.fixture(scope="module")
def site(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    with Server(create_app(engine, Settings(), QUERIES, dist)) as s:
        yield s.url
    engine.close()


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SHOTS / f"{name}.png"))


def column(browser, index: int) -> list[str]:
    from selenium.webdriver.common.by import By
    return [td.text for td in browser.find_elements(By.CSS_SELECTOR, f"#answer tbody tr td:nth-child({index + 1})")]


@browser_only
def test_choose_submit_sort_and_download_in_chromium(site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser = chromium()
    try:
        browser.get(site + "/queries/national-programs")
        shot(browser, "nq-1-national-programs")
        Select(browser.find_element(By.ID, "p-tier")).select_by_value("national")
        browser.find_element(By.CSS_SELECTOR, "form.parameters button[type=submit]").click()
        WebDriverWait(browser, 20).until(lambda b: "tier=national" in b.current_url)
        heads = [th.text.rstrip(" ⇅▲▼") for th in browser.find_elements(By.CSS_SELECTOR, "#answer thead th")]
        assert set(column(browser, heads.index("tier"))) == {"national"}
        served = column(browser, heads.index("notation"))
        served_budgets = [float(v.replace(",", "")) for v in column(browser, heads.index("budget"))]
        assert served_budgets != sorted(served_budgets), "the server's order is by notation, not by budget"
        header = browser.find_elements(By.CSS_SELECTOR, "#answer thead th")[heads.index("budget")]
        header.find_element(By.TAG_NAME, "button").click()
        assert header.get_attribute("aria-sort") == "ascending"
        budgets = [float(v.replace(",", "")) for v in column(browser, heads.index("budget"))]
        assert budgets == sorted(served_budgets)
        assert column(browser, heads.index("notation")) != served
        header.find_element(By.TAG_NAME, "button").click()
        assert header.get_attribute("aria-sort") == "descending"
        assert [float(v.replace(",", "")) for v in column(browser, heads.index("budget"))] == sorted(budgets)[::-1]
        shot(browser, "nq-2-sorted-by-budget")
        href = browser.find_element(By.LINK_TEXT, "CSV (Excel)").get_attribute("href")
        assert "tier=national" in href
        # follow the link as the page's own fetch would, and read the file's first bytes
        head = browser.execute_async_script(
            "const done = arguments[1]; fetch(arguments[0]).then(r => r.arrayBuffer())"
            ".then(b => done(Array.from(new Uint8Array(b).slice(0, 3))));", href)
        assert head == [0xEF, 0xBB, 0xBF]
        # a phone: the wide answer scrolls inside its box, the page does not
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        for path in ("/queries/national-programs?tier=national", "/api/compare?by=national-program", "/queries"):
            browser.get(site + path)
            assert browser.execute_script("return document.documentElement.scrollWidth") <= 390, path
        shot(browser, "nq-3-catalogue-390")
    finally:
        browser.quit()
