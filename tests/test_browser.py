"""A person's path through the site, in headless Chromium (Debian's chromium + chromium-driver).

Home page → 長野県 → project 07 02 01 and its budget table → the SPARQL query page, run a
query, see the table. Screenshots go to test-artifacts/ (or $POLICYGRAPH_SCREENSHOTS).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium

from policygraph.web.app import Settings, create_app
from policygraph.store.named_queries import load_queries
from policygraph.store.embedded import EmbeddedEngine, StoreSource

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")

SHOTS = Path(os.environ.get("POLICYGRAPH_SCREENSHOTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def site(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    with Server(create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)) as s:
        yield s.url
    engine.close()


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_home_to_nagano_project_budget(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/")
    assert "policygraph" in browser.title
    shot(browser, "1-home")
    browser.find_element(By.CSS_SELECTOR, 'a[href="/id/prefecture/20"]').click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "長野県"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    shot(browser, "2-nagano")
    browser.find_element(By.CSS_SELECTOR, 'a[href="/id/prefectural-project/20/070201"]').click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "中小企業経営支援関連事業費"
    table = browser.find_element(By.ID, "budget")
    assert "368,078" in table.text and "1,029,173" in table.text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    shot(browser, "3-project-07-02-01")
    # FY2025's request and draft side by side for every sub-project, checked against the printed total
    subs = browser.find_element(By.ID, "sub-project-budgets")
    fy2025 = {th.get_attribute("data-stage") for th in subs.find_elements(By.CSS_SELECTOR, 'th[data-year="2025"]')}
    assert {"request", "draft"} <= fy2025 and subs.find_elements(By.CSS_SELECTOR, "tfoot td.check")
    # an initiative of the project: its aligned national programs
    browser.find_element(By.CSS_SELECTOR, 'ul.parts a[href="/id/initiative/20/070201/1/2"]').click()
    aligned = browser.find_element(By.CSS_SELECTOR, "section.alignment_list")
    assert aligned.find_elements(By.CSS_SELECTOR, 'a[href^="/id/national-program/"]')
    browser.back()
    browser.find_element(By.LINK_TEXT, "English").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "SME management support related expenses"
    # the choice sticks: a plain link (no ?lang=) still opens the English page
    browser.find_element(By.CSS_SELECTOR, 'header nav a[href="/id/prefecture"]').click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.LINK_TEXT, "日本語").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"


def test_query_page_runs_a_query(site, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def type_query(text: str) -> None:  # into the editor (YASQE), as a person does
        browser.find_element(By.CSS_SELECTOR, ".CodeMirror").click()
        ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(Keys.DELETE) \
            .send_keys(text).perform()

    browser.get(site + "/query?lang=ja")
    browser.find_element(By.ID, "run").click()
    table = WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "result-table")))
    rows = table.find_elements(By.TAG_NAME, "tr")
    assert len(rows) == 10  # header + nine sub-projects
    assert "プロフェッショナル人材戦略拠点事業" in table.text or "中小企業経営構造転換促進事業費" in table.text
    assert "9 行" in browser.find_element(By.ID, "status").text
    assert browser.find_elements(By.CSS_SELECTOR, '#downloads a[href*="format=csv"]')
    shot(browser, "4-query")
    # the address now opens this query: a shared link shows the same table
    shared = browser.find_element(By.ID, "share").get_attribute("href")
    assert "/query?query=" in browser.current_url and shared == browser.current_url
    browser.get(shared)
    browser.find_element(By.ID, "run").click()
    table = WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "result-table")))
    assert len(table.find_elements(By.TAG_NAME, "tr")) == 10
    # Ctrl+Enter runs what the editor holds
    type_query("ASK { ?s ?p ?o }")
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "status").text == "true")
    # an example from the named queries, then a broken query shows the parser's message
    Select(browser.find_element(By.ID, "examples")).select_by_value("prefectures")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 20).until(lambda d: "47 行" in d.find_element(By.ID, "status").text)
    type_query("SELECT * WHERE { ?s ?p ")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 20).until(lambda d: "400" in d.find_element(By.ID, "status").text)
