"""The SPARQL query editor (/query) in headless Chromium against the real app on the built graph.

The editor is YASQE (vendored under web/static/vendor/yasqe): highlighting, completion from the page's
own lists, Ctrl+Enter; the answer is query.js's table (sorted by a click, 50 rows a page, labels beside
IRIs, numbers formatted); errors are said in words; nothing is fetched from another host. Screenshots
go to test-artifacts/ (or $POLICYGRAPH_SCREENSHOTS) as in test_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")

SHOTS = Path(os.environ.get("POLICYGRAPH_SCREENSHOTS", ROOT / "test-artifacts"))
PG = "https://w3id.org/policygraph/def#"
AMOUNTS = f"PREFIX pg: <{PG}> SELECT ?program ?amount WHERE {{ ?o pg:program ?program ; pg:amount ?amount }}"
# Every triple three times over: far more work than the short time limit below allows.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
ALL = "SELECT * WHERE { ?s ?p ?o }"  # every triple: more rows than an answer may hold


@pytest.fixture(scope="module")
def site(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    settings = Settings(query_timeout=2.0, max_rows=5000)  # small limits, so that SLOW and ALL reach them
    with Server(create_app(engine, settings, load_queries(ROOT / "queries"), dist)) as s:
        yield s.url
    engine.close()


@pytest.fixture(scope="module")
def browser():
    """Chromium as conftest.chromium starts it, also logging every network request (performance log)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1600", f"--user-data-dir={tempfile.mkdtemp()}", "--lang=ja"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "ja"})
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SHOTS / f"{name}.png"))


def wait(driver, condition, seconds: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, seconds).until(condition)


def status(driver) -> str:
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, "status").text


def editor_text(driver) -> str:
    return driver.execute_script("return document.querySelector('.CodeMirror').CodeMirror.getValue()")


def type_query(driver, text: str) -> None:
    """As a person does: click into the editor, select all, delete, type."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.CSS_SELECTOR, ".CodeMirror").click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(Keys.DELETE).perform()
    ActionChains(driver).send_keys(text).perform()
    # CodeMirror reads typed keys from its hidden textarea on its own schedule: wait until they are in
    wait(driver, lambda d: editor_text(d).endswith(text[-12:]))


def paste_query(driver, text: str) -> None:
    """A query pasted whole into the focused editor (the editor's own completion does not run on it)."""
    driver.execute_script("const cm = document.querySelector('.CodeMirror').CodeMirror; cm.focus(); "
                          "cm.setValue(arguments[0]); cm.setCursor(cm.lineCount(), 0)", text)


def run_pasted(driver, text: str, seconds: float = 20) -> None:
    """Paste a query, press Run and wait until the page says how it went."""
    from selenium.webdriver.common.by import By
    paste_query(driver, text)
    driver.find_element(By.ID, "run").click()
    wait(driver, finished, seconds)


def run_with_ctrl_enter(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()


def finished(driver) -> bool:
    return status(driver) not in ("", "実行中…", "Running…")


def body_rows(driver) -> list:
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, "#result-table tbody tr")


def column(driver, index: int, attribute: str = "textContent") -> list[str]:
    return [row.find_elements("css selector", "td")[index].get_attribute(attribute) for row in body_rows(driver)]


def test_vendored_editor_and_its_licence_are_served(site):
    page = httpx.get(site + "/query").text
    for asset, kind, marker in (("yasqe.min.js", "javascript", "Yasqe"), ("yasqe.min.css", "text/css", ".CodeMirror"),
                                ("LICENSE.txt", "text/plain", "MIT License"), ("README.md", "", "@zazuko/yasqe")):
        r = httpx.get(f"{site}/static/vendor/yasqe/{asset}")
        assert r.status_code == 200 and kind in r.headers["content-type"] and marker in r.text, asset
    licence = httpx.get(site + "/static/vendor/yasqe/LICENSE.txt").text
    # the bundle's own parts too: CodeMirror, lodash, DOMPurify
    assert "\ncodemirror 5.65" in licence and "Marijn Haverbeke" in licence and "\ndompurify 3." in licence
    assert 'src="/static/vendor/yasqe/yasqe.min.js"' in page and 'href="/static/vendor/yasqe/yasqe.min.css"' in page
    # the page loads nothing from elsewhere (links to other sites are only links)
    assert not re.findall(r'src="(?!/)', page) and not re.findall(r'<link[^>]*href="(?!/)', page)
    # completion lists come with the page, read from the graph: the ontology's classes and the data's properties
    editor = json.loads(page.split('<script id="editor-data" type="application/json">')[1].split("</script>")[0])
    assert editor["prefixes"]["pg"] == PG and editor["prefixes"]["skos"] == "http://www.w3.org/2004/02/skos/core#"
    assert PG + "Prefecture" in editor["classes"] and PG + "amount" in editor["properties"]
    assert "http://www.w3.org/2000/01/rdf-schema#label" in editor["properties"]
    assert PG + "amount" not in editor["classes"]


@needs_chromium
def test_editor_highlights_completes_and_runs_on_ctrl_enter(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/query?lang=ja")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror .cm-keyword"))  # SPARQL highlighting
    assert "SELECT" in [k.text for k in browser.find_elements(By.CSS_SELECTOR, ".CodeMirror .cm-keyword")]
    field = browser.find_element(By.ID, "query-editor")
    assert field.get_attribute("aria-labelledby") == "query-label"
    assert browser.find_element(By.ID, "query-label").get_attribute("textContent") == "SPARQL クエリ"
    # typing pg: adds its PREFIX line from the page's own list (not prefix.cc)
    type_query(browser, "SELECT ?p WHERE { ?p a pg:Prefecture }")
    wait(browser, lambda d: editor_text(d).startswith(f"PREFIX pg: <{PG}>"))  # added as the editor handles the key
    run_with_ctrl_enter(browser)
    wait(browser, finished)
    assert status(browser).startswith("47 行")
    assert len(body_rows(browser)) == 47
    # property completion: the ontology's terms, in the prefixed form the query declares
    type_query(browser, "PREFIX pg: <https://w3id.org/policygraph/def#> SELECT * WHERE { ?s pg:amo")
    hints = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
    assert "pg:amount" in [h.text for h in hints]
    shot(browser, "query-editor-completion")


@needs_chromium
def test_results_sort_page_format_numbers_and_show_labels(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/query?lang=ja")
    run_pasted(browser, AMOUNTS)
    total = len(httpx.post(site + "/sparql", data={"query": AMOUNTS}, headers={"Accept": "text/csv"}).text
                .strip().splitlines()) - 1
    assert total > 100 and status(browser).startswith(f"{total:,} 行")
    assert len(body_rows(browser)) == 50
    caption = browser.find_element(By.CSS_SELECTOR, "#result-table caption").text
    assert f"1–50 行目 / 全 {total:,} 行" in caption
    browser.find_element(By.ID, "page-next").click()
    assert f"51–100 行目 / 全 {total:,} 行" in browser.find_element(By.CSS_SELECTOR, "#result-table caption").text
    assert len(body_rows(browser)) == 50
    # sort by the amount: numbers as numbers, both ways, back on the first page
    header = browser.find_element(By.XPATH, "//table[@id='result-table']//th[button[text()='?amount']]")
    header.find_element(By.TAG_NAME, "button").click()
    header = browser.find_element(By.XPATH, "//table[@id='result-table']//th[button[text()='?amount']]")
    assert header.get_attribute("aria-sort") == "ascending"
    raw = [float(v) for v in column(browser, 1, "title")]
    assert raw == sorted(raw) and "1–50" in browser.find_element(By.CSS_SELECTOR, "#result-table caption").text
    header.find_element(By.TAG_NAME, "button").click()
    raw = [float(v) for v in column(browser, 1, "title")]
    assert raw == sorted(raw, reverse=True) and raw[0] >= 1000
    # numbers formatted as printed (1,029,173), right-aligned
    cell = body_rows(browser)[0].find_elements(By.TAG_NAME, "td")[1]
    assert cell.text == f"{int(float(cell.get_attribute('title'))):,}" and "," in cell.text
    assert cell.value_of_css_property("text-align") == "right"
    # a label beside each IRI: the graph's Japanese label as the link's text, the IRI as its title
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result-table .iri-name"))
    link = body_rows(browser)[0].find_element(By.CSS_SELECTOR, "td a")
    iri = link.get_attribute("title")
    asked = f'SELECT ?l WHERE {{ <{iri}> <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(lang(?l) = "ja") }}'
    label = httpx.post(site + "/sparql", data={"query": asked},
                       headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    assert label and link.text == label[0]["l"]["value"]
    assert link.get_attribute("href") == site + "/id/" + iri.split("/id/", 1)[1]
    short = body_rows(browser)[0].find_element(By.CSS_SELECTOR, ".iri-name").text
    assert short == "(id:" + iri.split("/id/", 1)[1] + ")"
    shot(browser, "query-editor-results")


@needs_chromium
def test_share_link_history_and_download(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    query = "PREFIX pg: <https://w3id.org/policygraph/def#> SELECT ?p WHERE { ?p a pg:Prefecture } LIMIT 3"
    browser.get(site + "/query?lang=en")
    paste_query(browser, query)
    run_with_ctrl_enter(browser)
    wait(browser, finished)
    assert status(browser).startswith("3 rows")
    shared = browser.find_element(By.ID, "share").get_attribute("href")
    assert shared == browser.current_url and "lang=en" in shared
    browser.get(site + "/query?lang=ja")
    assert editor_text(browser) != query
    browser.get(shared)  # the link opens the same query, in the editor
    assert editor_text(browser) == query
    # the history of this browser holds it
    browser.get(site + "/query?lang=ja")
    Select(browser.find_element(By.ID, "history")).select_by_value(query)
    assert editor_text(browser) == query
    # the CSV download is a file Excel reads as UTF-8: a byte order mark, then the header
    browser.find_element(By.ID, "run").click()
    wait(browser, finished)
    href = browser.find_element(By.ID, "download-csv").get_attribute("href")
    csv = httpx.get(href)
    assert csv.content.startswith(b"\xef\xbb\xbfp\r\n") and len(csv.text.strip().splitlines()) == 4
    assert "attachment" in csv.headers["content-disposition"]
    tsv = httpx.get(browser.find_element(By.ID, "download-tsv").get_attribute("href"))
    assert tsv.content.startswith(b"\xef\xbb\xbf?p")
    assert "results" in httpx.get(browser.find_element(By.ID, "download-json").get_attribute("href")).json()


@needs_chromium
def test_errors_are_said_in_words(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/query?lang=ja")
    # a prefix we do not know: typed as it is, and named in the message
    type_query(browser, "SELECT * WHERE { ?s a ex:Thing }")
    run_with_ctrl_enter(browser)
    wait(browser, finished)
    assert status(browser).startswith("プレフィックス ex: が宣言されていません") and "400" in status(browser)
    # one we know: the message gives its IRI and a button adds the line
    paste_query(browser, "SELECT * WHERE { ?s a pg:Prefecture }")
    run_with_ctrl_enter(browser)
    wait(browser, finished)
    assert f"PREFIX pg: <{PG}> を追加してください" in status(browser)
    shot(browser, "query-editor-missing-prefix")
    browser.find_element(By.ID, "add-prefixes").click()
    wait(browser, lambda d: editor_text(d).startswith(f"PREFIX pg: <{PG}>"))  # added as the editor handles the key
    run_with_ctrl_enter(browser)
    wait(browser, lambda d: status(d).startswith("47 行"))
    # a parse error: the status, announced to screen readers, says what the endpoint said
    run_pasted(browser, "SELECT * WHERE { ?s ?p ")
    assert status(browser).startswith("400 クエリの誤り: bad query — SPARQL syntax error")
    assert browser.find_element(By.ID, "status").get_attribute("aria-live") == "polite"


@needs_chromium
def test_no_request_goes_to_another_host(site, browser):
    # the session so far (every test above) plus completion of prefixes, classes and properties
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.common.exceptions import TimeoutException

    browser.get(site + "/query")
    type_query(browser, "PREFIX ")  # the prefix completer shows its list (Yasqe's own would ask prefix.cc)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
    type_query(browser, "SELECT * WHERE { ?s a pg:Pref")  # class completion (Yasqe's own asks LOV)
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(" ").key_up(Keys.CONTROL).perform()  # as asked for
    try:
        shown = [h.text for h in wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"), 5)]
    except TimeoutException:
        shown = []  # checked below, after the requests
    run_pasted(browser, AMOUNTS)
    requested = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.add(message["params"]["request"]["url"])
    assert any("/static/vendor/yasqe/yasqe.min.js" in u for u in requested)
    assert any(u.endswith("/sparql") for u in requested)
    here = urlsplit(site).netloc
    # (chrome://… are the browser's own resources, data: and blob: never leave it)
    network = [u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss", "ftp")]
    elsewhere = [u for u in network if urlsplit(u).netloc != here]
    assert elsewhere == []
    # nor did the page try to: its Content-Security-Policy (connect-src 'self') refused nothing
    refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []
    assert "pg:Prefecture" in shown


@needs_chromium
def test_limits_are_said_in_words(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/query?lang=ja")
    run_pasted(browser, ALL)
    assert status(browser).startswith("5,000 行") and status(browser).endswith("（上限 5,000 行で打ち切り）")
    assert "1–50 行目 / 全 5,000 行" in browser.find_element(By.CSS_SELECTOR, "#result-table caption").text
    # a graph (CONSTRUCT) is shown as Turtle
    run_pasted(browser, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s a <{PG}Prefecture> ; ?p ?o }}")
    turtle = browser.find_element(By.CSS_SELECTOR, "pre.query-graph").text
    assert "RDF（Turtle）" in status(browser) and "<https://w3id.org/policygraph/id/prefecture/20>" in turtle
    # out of time: the endpoint's 504 in words
    run_pasted(browser, SLOW, 60)
    assert status(browser).startswith("504 時間切れ:"), status(browser)
