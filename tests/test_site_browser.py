"""The whole site as a visitor meets it (issue 14): every internal link from / answers; every page keeps to the
structure assistive technology needs (one main landmark, the search box, tables with caption and header scope,
labelled inputs, named charts) and loads nothing from another host; in Chromium the main pages request no
other host, do not overflow a 390 px phone, and have no serious or critical axe-core violation.

Failures name the page, the rule and the element, so each page's owner can fix theirs. The crawl is plain
HTTP (httpx) for speed; the browser checks share one server and one Chromium. axe-core is vendored in
tests/vendor/axe-core (npm, MPL-2.0) and injected by the test: the app never serves it. Screenshots of the
main pages at 1280 and 390 px go to test-artifacts/ (or $POLICYGRAPH_SCREENSHOTS).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urldefrag, urlencode, urljoin, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium
from pages import soup

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app

SHOTS = Path(os.environ.get("POLICYGRAPH_SCREENSHOTS", ROOT / "test-artifacts"))
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends
JSON_ACCEPT = "application/sparql-results+json,application/json;q=0.9"
PHONE = 390               # px: the narrowest width every page must fit
CRAWL_BUDGET = 600        # URLs fetched at most: the crawl is bounded whatever the pages link to
NOT_OURS = ("/docs",)     # Swagger UI's page (vendored): its links are crawled, its markup is not ours to check
# the attribute by which each element links or loads a URL
LINK_ATTRIBUTE = {"a": "href", "link": "href", "area": "href", "form": "action", "script": "src", "img": "src",
                  "iframe": "src", "source": "src"}
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")


@pytest.fixture(scope="module")
def site(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=2)
    with Server(create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)) as s:
        yield s.url
    engine.close()


# ------------------------------------------------------------------ reading pages


@dataclass
class Reading:
    """The links of a page, and what its markup owes assistive technology: (rule, element) per problem."""
    links: list[str]
    issues: list[tuple[str, str]]


def start_tag(el: Tag) -> str:
    """An element as its start tag, cut short (what a failure names)."""
    attrs = "".join(f' {k}="{" ".join(v) if isinstance(v, list) else v}"' for k, v in el.attrs.items())
    return f"<{el.name}{attrs}>"[:120]


def links_of(page: BeautifulSoup, base: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Every URL the page links or loads, and each thing it loads from another host."""
    links, issues = [], []
    for el in page.find_all(list(LINK_ATTRIBUTE)):
        value = str(el.get(LINK_ATTRIBUTE[el.name], "")).strip()
        if not value or value.startswith(("#", "mailto:", "data:", "blob:")):
            continue
        url = urldefrag(urljoin(base, value))[0]
        links.append(url)
        loads = el.name in ("script", "img", "iframe", "source") or (
            el.name == "link" and el.get("rel") != ["alternate"])
        if loads and urlsplit(url).netloc != urlsplit(base).netloc:
            issues.append(("loads-nothing-from-another-host", start_tag(el)))
    return links, issues


def element_issues(page: BeautifulSoup) -> list[tuple[str, str]]:
    """Tables without their own caption, th without scope, outermost SVGs not named images or groups, and
    inputs without a label."""
    out = [("th-has-scope", start_tag(th)) for th in page.find_all("th")
           if th.get("scope") not in ("col", "row", "colgroup", "rowgroup")]
    out += [("table-has-caption", start_tag(t)) for t in page.find_all("table")
            if not any(c.find_parent("table") is t for c in t.find_all("caption"))]
    for svg in page.find_all("svg"):
        named = svg.find("title") is not None or svg.get("aria-label") or svg.get("aria-labelledby")
        # a chart is an image; a diagram whose parts are links is a group (axe: no links inside an image)
        role_ok = svg.get("role") in ("img", "group", "graphics-document")
        if svg.find_parent("svg") is None and svg.get("aria-hidden") != "true" and not (role_ok and named):
            out.append(("svg-has-role-img-and-a-name", start_tag(svg)))
    labels_for = {label["for"] for label in page.find_all("label") if label.get("for")}
    for box in page.find_all(["input", "select", "textarea"]):
        if box.get("type") in ("hidden", "submit", "button", "reset", "image") or box.find_parent("label"):
            continue
        if not (box.get("aria-label") or box.get("aria-labelledby") or box.get("title")
                or box.get("id") in labels_for):
            out.append(("input-has-label", start_tag(box)))
    return out


def page_issues(page: BeautifulSoup) -> list[tuple[str, str]]:
    """The page-wide issues: landmarks, language, the site's search box and skip link."""
    out = []
    mains = page.find_all("main")
    if [m.get("id") for m in mains] != ["main"]:
        out.append(("one-main-landmark-with-id-main", f"{len(mains)} <main> element(s)"))
    html = page.find("html")
    lang = html.get("lang") if isinstance(html, Tag) else None
    if lang not in ("ja", "en"):
        out.append(("html-lang-ja-or-en", f'<html lang="{lang}">'))
    if page.find("form", role="search", action="/search") is None:
        out.append(("site-search-box", '<form role="search" action="/search"> missing'))
    if page.find("a", href="#main") is None:
        out.append(("skip-link", '<a href="#main"> missing'))
    return out


def read(html: str, base: str) -> Reading:
    page = soup(html)
    links, issues = links_of(page, base)
    return Reading(links, issues + element_issues(page) + page_issues(page))


# ------------------------------------------------------------------ the crawl


@dataclass
class Fetched:
    url: str
    status: int
    media_type: str
    referrer: str
    html: str = ""


def without_lang(url: str) -> str:
    """The URL a page is known by: ?lang= only switches its language (the switch is on every page)."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
    return parts._replace(query=query).geturl()


def fetch(client: httpx.Client, url: str, referrer: str) -> Fetched:
    """One request as its link would make it: dumps by HEAD (large files), SPARQL links as a JSON client."""
    path, query = urlsplit(url).path, urlsplit(url).query
    client.cookies.clear()  # a ?lang= link must not change the language of the pages fetched after it
    try:
        if path.startswith("/dumps/"):
            r = client.head(url)
        elif path == "/sparql" and "query=" in query:
            r = client.get(url, headers={"Accept": JSON_ACCEPT})
        else:
            r = client.get(url, headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "ja"})
    except httpx.TransportError as e:  # the server dropped the connection: a failure of this link, not of the crawl
        return Fetched(url, 0, f"no answer ({type(e).__name__})", referrer)
    media_type = r.headers.get("content-type", "").split(";")[0].strip()
    return Fetched(url, r.status_code, media_type, referrer, r.text if media_type == "text/html" else "")


def kind_of(url: str) -> tuple[str, int, tuple[str, ...]]:
    """Pages alike (one template): the first two path segments, the path's depth and the query's parameter names."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    return "/".join(segments[:2]), len(segments), tuple(sorted({k for k, _ in parse_qsl(parts.query)}))


class Frontier:
    """URLs to visit, taken from each kind of page in turn: a bounded crawl sees every template early
    instead of spending its budget on the first long list of pages alike."""

    def __init__(self) -> None:
        self.queues: dict[tuple, deque[tuple[str, str]]] = defaultdict(deque)
        self.turns: deque[tuple] = deque()

    def add(self, url: str, referrer: str) -> None:
        kind = kind_of(url)
        if not self.queues[kind]:
            self.turns.append(kind)
        self.queues[kind].append((url, referrer))

    def take(self) -> tuple[str, str]:
        kind = self.turns.popleft()
        item = self.queues[kind].popleft()
        if self.queues[kind]:
            self.turns.append(kind)
        return item

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())


@pytest.fixture(scope="module")
def crawl(site) -> dict[str, Fetched]:
    """Every same-host URL reachable from / (links, stylesheets, scripts, images, form actions), each once."""
    host, frontier, seen = urlsplit(site).netloc, Frontier(), {without_lang(site + "/")}
    frontier.add(site + "/", "(start)")
    fetched: dict[str, Fetched] = {}
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        while frontier and len(fetched) < CRAWL_BUDGET:
            url, referrer = frontier.take()
            page = fetched[url] = fetch(client, url, referrer)
            if not page.html:
                continue
            for link in read(page.html, url).links:
                key = without_lang(link)
                if urlsplit(link).netloc == host and key not in seen:
                    seen.add(key)
                    frontier.add(link, url)
    kinds = len({kind_of(url) for url in fetched})
    print(f"crawl: {len(fetched)} URLs of {kinds} kinds fetched, {len(frontier)} left (budget {CRAWL_BUDGET})")
    return fetched


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_internal_link_answers(crawl):
    assert len(crawl) > 50, "the crawl from / found almost nothing: is the home page linking the site?"
    broken = [f"{local(f.url)} → {f.status or f.media_type} (linked from "
              f"{local(f.referrer) if '://' in f.referrer else f.referrer})"
              for f in crawl.values() if f.status >= 400 or f.status == 0]
    assert not broken, f"{len(broken)} internal link(s) fail:\n" + "\n".join(sorted(broken))


def section_of(url: str) -> str:
    """The part of the site a page belongs to (its owner's area): /id/<kind>, else the first path segment."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return "/" + "/".join(parts[:2] if parts[:1] == ["id"] else parts[:1])


def test_every_page_is_structured_for_assistive_technology(crawl):
    """Rules per element, grouped by rule, element and part of the site, with the pages it was seen on."""
    seen: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    checked = 0
    for f in crawl.values():
        if not f.html or f.status >= 400 or urlsplit(f.url).path.startswith(NOT_OURS):
            continue
        checked += 1
        for rule, element in dict.fromkeys(read(f.html, f.url).issues):
            seen[rule, section_of(f.url), element].append(local(f.url))
    assert checked > 20
    report = [f"{rule} | {area} | {element} | on {len(pages)} page(s), e.g. {', '.join(pages[:3])}"
              for (rule, area, element), pages in sorted(seen.items())]
    assert not report, f"{len(report)} structural problem(s) (rule | part of the site | element | pages):\n" + \
        "\n".join(report)


# ------------------------------------------------------------------ the main pages in Chromium


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    langs: tuple[str, ...] = ("ja",)
    status: int = 200


@dataclass
class Visit:
    page: Page
    lang: str
    status: int
    media_type: str
    requests: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    overflow: dict = field(default_factory=dict)
    axe_rules_passed: int = 0
    error: str = ""           # what went wrong in the browser, if anything did

    @property
    def label(self) -> str:
        return f"{self.page.name} [{self.lang}] {self.page.path}"

    @property
    def shown(self) -> bool:
        return self.status == self.page.status and self.media_type == "text/html"

    @property
    def measured(self) -> bool:
        return self.shown and not self.error


# One of each kind the issue names, read from the graph: Nagano's first initiative, the national plan, a
# national program that an alignment links to, an alignment.
EXAMPLES = """PREFIX pg: <https://w3id.org/policygraph/def#>
SELECT ?kind (MIN(STR(?s)) AS ?iri) WHERE {
  { ?s a pg:Initiative FILTER(STRSTARTS(STR(?s), "https://w3id.org/policygraph/id/initiative/20/"))
    BIND("initiative" AS ?kind) }
  UNION { ?s a pg:SupportPlan FILTER NOT EXISTS { ?s pg:prefecture ?p } BIND("national-plan" AS ?kind) }
  UNION { ?a a pg:Alignment ; ?link ?s . ?s a pg:NationalProgram BIND("national-program" AS ?kind) }
  UNION { ?s a pg:Alignment BIND("alignment" AS ?kind) }
} GROUP BY ?kind"""


def main_pages(site: str) -> list[Page]:
    r = httpx.post(site + "/sparql", data={"query": EXAMPLES}, headers={"Accept": JSON_ACCEPT}, timeout=60)
    examples = {b["kind"]["value"]: b["iri"]["value"].removeprefix("https://w3id.org/policygraph")
                for b in r.json()["results"]["bindings"]}
    assert set(examples) == {"initiative", "national-plan", "national-program", "alignment"}, examples
    both = ("ja", "en")
    return [Page("home", "/", both), Page("prefectures", "/id/prefecture"), Page("prefecture", "/id/prefecture/20"),
            Page("project", "/id/prefectural-project/20/070201", both),
            *(Page(kind, path) for kind, path in sorted(examples.items())),
            Page("query", "/query"), Page("queries", "/queries"), Page("named-query", "/queries/national-programs"),
            Page("compare", "/compare"), Page("search", "/search?q=" + quote("支援")),
            Page("ontology", "/ontology"), Page("shapes", "/shapes"), Page("dataset", "/dataset", both),
            Page("not-found", "/id/prefecture/99", status=404)]


def with_lang(path: str, lang: str) -> str:
    return path + ("&" if "?" in path else "?") + "lang=" + lang


def requested(driver) -> list[str]:
    """The URLs the page asked for since the last call (DevTools Network.requestWillBeSent events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


# What sticks out of a 390 px viewport, outside any container that scrolls or clips sideways (a table in
# .table-scroll may be wider: it scrolls itself): boxes wider than the phone whose parent is not (the outermost
# culprit), and boxes whose own content runs past their edge (a long word, a nowrap line) with no child doing so.
OVERFLOW = """
const w = arguments[0], out = [];  // the phone's width, not innerWidth: a wide page widens the layout viewport
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
const path = e => { const p = []; for (let x = e; x && x !== document.body && p.length < 4; x = x.parentElement)
  p.unshift(name(x)); return p.join(' > '); };
// clipped: inside a box that scrolls or clips sideways; an absolutely positioned box escapes every such box
// below its containing block (the nearest positioned ancestor), a fixed one belongs to the viewport
const clipped = e => {
  const position = getComputedStyle(e).position;
  if (position === 'fixed') return true;
  let p = e.parentElement;
  if (position === 'absolute') while (p && p !== document.body && getComputedStyle(p).position === 'static')
    p = p.parentElement;
  for (; p && p !== document.body; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return true;
  return false;
};
const widens = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 1 && !clipped(e); };
const spills = e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && !clipped(e) &&
  e.getBoundingClientRect().left + e.scrollWidth > w + 1;
for (const e of document.body.querySelectorAll('*')) {
  const r = e.getBoundingClientRect(), parent = e.parentElement;
  if (widens(e) && (parent === document.body || !widens(parent)))
    out.push(path(e) + ' (box to ' + Math.round(r.right) + ' px)');
  else if (!widens(e) && spills(e) && ![...e.children].some(spills))
    out.push(path(e) + ' (content to ' + Math.round(r.left + e.scrollWidth) + ' px: "' +
             e.textContent.trim().slice(0, 40) + '")');
}
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, offenders: out.slice(0, 12)};
"""
AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(r => done({passed: r.passes.length, violations: r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))}))
  .catch(e => done({passed: 0, violations: [{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]}));
"""


def shot(driver, visit: Visit, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SHOTS / f"site-{visit.page.name}-{visit.lang}-{width}.png"))


def at_phone_width(driver, visit: Visit) -> None:
    """The open page on a 390 × 844 phone (the viewport meta applies): what overflows, and a screenshot."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": PHONE, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        visit.overflow = driver.execute_script(OVERFLOW, PHONE)
        shot(driver, visit, PHONE)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def at_desktop_width(driver, visit: Visit, axe: str) -> None:
    shot(driver, visit, 1280)
    driver.execute_script(axe)
    result = driver.execute_async_script(AXE_RUN)
    visit.axe_rules_passed = result["passed"]
    for v in result["violations"]:
        targets = "; ".join(v["targets"][:8]) + (f" (+{len(v['targets']) - 8} more)" if len(v["targets"]) > 8 else "")
        visit.violations.append(f"{visit.label} | {v['id']} ({v['impact']}) | {v['help']} | {targets}")


def status_of(site: str, page: Page, lang: str) -> Visit:
    """The page's status and media type for a browser, over HTTP (Chromium does not tell them)."""
    try:
        r = httpx.get(site + with_lang(page.path, lang), headers={"Accept": BROWSER_ACCEPT}, timeout=60)
    except httpx.TransportError as e:
        return Visit(page, lang, 0, f"no answer ({type(e).__name__})")
    return Visit(page, lang, r.status_code, r.headers.get("content-type", "").split(";")[0])


@pytest.fixture(scope="module")
def visits(site) -> list[Visit]:
    """Each main page in each of its languages, once: status over HTTP, then in Chromium at 390 and 1280 px."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.common.exceptions import WebDriverException

    axe, out = AXE.read_text(encoding="utf-8"), []
    driver = chromium(performance_log=True)
    driver.set_script_timeout(120)
    try:
        for page in main_pages(site):
            for lang in page.langs:
                visit = status_of(site, page, lang)
                out.append(visit)
                if visit.shown:
                    requested(driver)  # forget the requests of the page before
                    try:
                        driver.get(site + with_lang(page.path, lang))
                        at_desktop_width(driver, visit, axe)
                        at_phone_width(driver, visit)
                    except WebDriverException as e:  # one page's failure must not hide the others' results
                        visit.error = e.msg or type(e).__name__
                    visit.requests = requested(driver)
    finally:
        driver.quit()
    return out


@needs_chromium
def test_main_pages_exist(visits):
    """A main page not built yet (404, or no HTML for a browser) is reported and skipped; any other status fails."""
    wrong = [f"{v.label} → {v.status} {v.media_type}" for v in visits
             if not v.shown and v.status not in (404, v.page.status)]
    wrong += [f"{v.label}: in Chromium: {v.error}" for v in visits if v.error]
    assert not wrong, "main pages that fail:\n" + "\n".join(wrong)
    missing = [f"{v.label} → {v.status} {v.media_type}" for v in visits if not v.shown]
    if missing:
        pytest.skip("main pages not there yet, not checked: " + "; ".join(missing))


@needs_chromium
def test_no_request_to_another_host(site, visits):
    shown = [v for v in visits if v.measured]
    assert shown and all(v.requests for v in shown), "the performance log recorded no request"
    foreign = [f"{v.label} requested {url[:160]}" for v in shown for url in v.requests
               if not url.startswith((site + "/", "data:", "blob:", "about:", "chrome:"))]  # chrome: the browser's own
    assert not foreign, "requests to another host:\n" + "\n".join(foreign)


@needs_chromium
def test_no_horizontal_overflow_at_390_px(visits):
    shown = [v for v in visits if v.measured]
    assert shown and all(v.overflow for v in shown)
    # a page wider than the phone widens the layout viewport (innerWidth) on a mobile browser: both are measured
    wide = [f"{v.label}: page {v.overflow['scrollWidth']} px wide, viewport {v.overflow['innerWidth']} px; sticking "
            "out: " + ("; ".join(v.overflow["offenders"]) or "(no single element found)")
            for v in shown if max(v.overflow["scrollWidth"], v.overflow["innerWidth"]) > PHONE]
    assert not wide, "pages wider than a 390 px phone:\n" + "\n".join(wide)


@needs_chromium
def test_no_serious_or_critical_axe_violation(visits):
    shown = [v for v in visits if v.measured]
    assert len(shown) >= 5 and all(v.axe_rules_passed > 10 for v in shown), "axe-core did not run on every page"
    found = [line for v in shown for line in v.violations]
    assert not found, (f"{len(found)} serious/critical axe-core violation(s) "
                       "(page | rule | help | elements):\n" + "\n".join(found))


# ------------------------------------------------------------------ the site-wide controls, as a person uses them


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver")
    driver = chromium()
    yield driver
    driver.quit()


@needs_chromium
def test_skip_link_leads_to_the_main_content(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(site + "/?lang=ja")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    first = browser.switch_to.active_element
    assert first.get_attribute("class") == "skip-link" and first.text == "本文へ"
    assert first.rect["y"] >= 0, "the focused skip link must be on screen"
    first.send_keys(Keys.ENTER)
    assert browser.current_url.endswith("#main")
    assert browser.switch_to.active_element.get_attribute("id") == "main"


@needs_chromium
def test_header_search_box_submits_to_search(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site + "/dataset?lang=en")
    box = browser.find_element(By.ID, "site-search")
    label = browser.execute_script("return arguments[0].labels[0].textContent", box)
    assert label.startswith("Search the site") and box.get_attribute("maxlength") == "200"
    box.send_keys("長野", Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: urlsplit(d.current_url).path == "/search")
    parts = urlsplit(browser.current_url)
    assert parts.path == "/search" and parse_qsl(parts.query) == [("q", "長野")]


@needs_chromium
def test_language_switch_keeps_the_page_and_its_parameters(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/id/code/funding-source/all?page=2&lang=ja")
    switch = browser.find_element(By.CSS_SELECTOR, "header a.lang-switch")
    assert switch.text == "English" and switch.get_attribute("hreflang") == "en"
    switch.click()
    parts = urlsplit(browser.current_url)
    assert parts.path == "/id/code/funding-source/all" and dict(parse_qsl(parts.query)) == {"page": "2", "lang": "en"}
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_elements(By.CSS_SELECTOR, 'a[rel="prev"]'), "still the second page"
    # the choice sticks: a plain link (no ?lang=) opens the English page
    browser.find_element(By.CSS_SELECTOR, 'header nav a[href="/dataset"]').click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.CSS_SELECTOR, "header a.lang-switch").text == "日本語"
