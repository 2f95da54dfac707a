"""The web layer treats hostile input as normal input (issue 11).

Script links (a javascript: IRI in the data or in a query result is text, never a link), bad
integer parameters (a 4xx naming the parameter, never a 500 or 503), HEAD wherever GET, security
headers (nosniff everywhere, a Content-Security-Policy on HTML that our pages live with in
Chromium), and slow clients (headers one byte a second, a body that never ends) cut off.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
import time

import httpx
import pytest
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium
from fastapi.testclient import TestClient
from pages import soup

from policygraph.web.app import Settings, create_app
from policygraph.web.http_limits import deadline_protocol
from policygraph.web.html import safe_href
from policygraph.store.named_queries import load_queries
from policygraph.store.embedded import EmbeddedEngine, StoreSource

HOSTILE_TTL = """
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix pg: <https://w3id.org/policygraph/def#> .
<https://w3id.org/policygraph/id/test/hostile> a <javascript:alert('type')> ;
    rdfs:label "hostile links"@ja , "hostile links"@en ;
    rdfs:seeAlso <javascript:alert(1)> , <https://example.org/safe> , <data:text/html,%3Cb%3Ehi%3C/b%3E> ,
        <vbscript:msgbox(1)> , <urn:isbn:4000000000> , <mailto:someone@example.org> , <file:///etc/passwd> ,
        <JavaScript:alert('upper')> ;
    <javascript:alert('predicate')> "a predicate that is a script" ;
    prov:wasDerivedFrom <javascript:alert('source')> .
<javascript:alert('source')> pg:sectionPath "a section" ; dcterms:isPartOf <javascript:alert('document')> .
<javascript:alert('document')> rdfs:label "a document"@ja .
<javascript:alert('incoming')> rdfs:seeAlso <https://w3id.org/policygraph/id/test/hostile> .
"""
SCRIPTY = ("javascript:", "data:", "vbscript:", "urn:", "mailto:", "file:")


@pytest.fixture(scope="module")
def engine(dist, tmp_path_factory):
    extra = tmp_path_factory.mktemp("hostile") / "hostile.ttl"
    extra.write_text(HOSTILE_TTL, encoding="utf-8")
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq", extra=(extra,)), workers=1)
    yield engine
    engine.close()


def make_app(engine, dist, **settings):
    app = create_app(engine, Settings(**settings), load_queries(ROOT / "queries"), dist)

    async def boom():
        raise RuntimeError("a bug of ours")
    app.add_api_route("/test-boom", boom, include_in_schema=False)  # the 500 handler's answer needs headers too
    return app


@pytest.fixture(scope="module")
def client(engine, dist):
    with TestClient(make_app(engine, dist), raise_server_exceptions=False) as c:
        yield c


class LimitedServer(Server):
    """conftest's Server with uvicorn's protocol of our choice (the deadlines are in the protocol)."""

    def __init__(self, app, http="auto"):
        import uvicorn
        super().__init__(app)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", http=http)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture(scope="module")
def site(engine, dist):
    with LimitedServer(make_app(engine, dist), http=deadline_protocol(10, 30)) as s:
        yield s.url


# ------------------------------------------------------------------ script links


def hrefs(html: str) -> list[str]:
    """Every href, src and action value on the page, in document order."""
    return [str(v) for el in soup(html).find_all(True) for k, v in el.attrs.items() if k in ("href", "src", "action")]


def assert_only_safe_links(html: str, where: str) -> None:
    for href in hrefs(html):
        assert href.startswith(("/", "#", "http://", "https://")) and not href.startswith("//"), (where, href)


def test_safe_href():
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
                "java\nscript:alert(1)", "data:text/html,x", "vbscript:x", "urn:x", "mailto:a@example.org",
                "file:///etc/passwd", "/relative", "relative", "//example.org/", "https:example.org",
                "https://example.org/a b", "https://example.org/\x00", "https://example.org/\u3000",
                "https://ex\\ample.org/", ""):
        assert safe_href(bad) is None, bad
    assert safe_href("https://example.org/x?y=1#z") == "https://example.org/x?y=1#z"
    assert safe_href("http://example.org/") == "http://example.org/"
    assert safe_href("https://w3id.org/policygraph/id/prefecture/20") == "/id/prefecture/20"
    assert safe_href("https://w3id.org/policygraph/def#Prefecture") == "/ontology#Prefecture"  # was /ontologyPrefecture
    assert safe_href("https://w3id.org/policygraph/def") == "/ontology"
    assert safe_href("https://w3id.org/policygraph/graph/ontology") == "/dataset#graph-ontology"


def test_script_iris_in_data_are_text_not_links(client):
    html = client.get("/id/test/hostile", headers={"Accept": "text/html"}).text
    links = hrefs(html)
    assert "https://example.org/safe" in links
    assert not [h for h in links if h.lower().startswith(SCRIPTY)], links
    assert_only_safe_links(html, "/id/test/hostile")
    assert "javascript:alert(1)" in html and "urn:isbn:4000000000" in html  # still shown, as text
    assert "a section" in html and "a document" in html  # the provenance section shows its script IRIs as text
    assert "hostile links" in html
    for path in ("/id/prefecture/20", "/id/prefectural-project/20/070201", "/ontology", "/shapes", "/dataset", "/",
                 "/query", "/id/prefecture/99", "/id/prefecture/20?page=0"):
        assert_only_safe_links(client.get(path, headers={"Accept": "text/html"}).text, path)


def test_ontology_terms_link_to_their_anchor(client):
    links = hrefs(client.get("/id/prefecture/20", headers={"Accept": "text/html"}).text)
    assert "/ontology#Prefecture" in links and "/ontologyPrefecture" not in links


# ------------------------------------------------------------------ integer parameters

BAD_PAGES = ["²", "٣", "0", "-1", "+1", " 1", "1.0", "1e3", "0x10", "99999999999", "", "x"]


def test_id_page_rejects_bad_values(client):
    for bad in [*BAD_PAGES, "10001"]:
        for accept in ("text/html", "text/turtle", "application/json"):
            r = client.get("/id/code/funding-source/all", params={"page": bad}, headers={"Accept": accept})
            assert r.status_code == 400, (bad, accept, r.status_code, r.text[:200])
            if accept == "text/html":
                assert r.headers["content-type"].startswith("text/html")
                assert "page:" in r.text and "1 to 10000" in r.text
            else:
                assert r.json()["error"] == "invalid parameter" and r.json()["parameter"] == "page"
                assert "page" in r.json()["detail"] and "1 to 10000" in r.json()["detail"]
    ok = client.get("/id/code/funding-source/all", params={"page": "2"}, headers={"Accept": "text/html"})
    assert ok.status_code == 200 and 'rel="prev"' in ok.text
    last = client.get("/id/code/funding-source/all", params={"page": "10000"}, headers={"Accept": "text/html"})
    assert last.status_code == 200


def test_api_page_and_page_size_reject_bad_values(client):
    for path in ("/queries/national-programs", "/queries/national-programs.csv", "/api/programs"):
        for name in ("page", "page_size"):
            for bad in BAD_PAGES:
                r = client.get(path, params={name: bad})
                assert 400 <= r.status_code < 500, (path, name, bad, r.status_code, r.text[:200])
                assert r.json()["parameter"] == name and r.json()["detail"].startswith(f"{name}: ")
                assert " from 1 to " in r.json()["detail"]
    for bad in ("²²", "٢٠", "２０"):
        assert client.get(f"/api/prefectures/{bad}/projects").status_code == 404


def test_bad_pages_on_a_real_server(site):
    for url in ("/id/code/funding-source/all?page=%C2%B2", "/id/code/funding-source/all?page=99999999999",
                "/queries/national-programs?page=%C2%B2", "/api/programs?page_size=%C2%B2"):
        r = httpx.get(site + url, headers={"Accept": "application/json"})
        assert 400 <= r.status_code < 500 and "page" in r.json()["detail"], (url, r.status_code, r.text[:200])


# ------------------------------------------------------------------ HEAD

HEAD_URLS = ["/", "/query", "/docs", "/redoc", "/openapi.json", "/health", "/sparql",
             "/sparql?query=ASK%7B%7D", "/id/prefecture/20", "/id/prefecture/20?format=ttl", "/id/prefecture/99",
             "/id/prefecture/20?page=0", "/queries", "/queries/prefectures", "/queries/prefectures.csv",
             "/queries/national-programs?page=2&page_size=5", "/queries/national-programs?page=0",
             "/api/prefectures", "/api/prefectures/20/projects", "/api/prefectures/99/projects", "/dataset",
             "/dataset?format=ttl", "/ontology", "/shapes", "/dumps/policygraph.nt", "/dumps/nothing",
             "/static/style.css", "/static/query.js", "/static/swagger-ui/swagger-ui.css", "/docs/oauth2-redirect",
             "/no/such/page"]
COMPARED = ("content-type", "content-length", "etag", "link", "vary", "cache-control", "content-security-policy",
            "x-content-type-options", "x-result-rows")


def test_head_answers_like_get(site, client):
    wrong = []
    for url in HEAD_URLS:
        for accept in ("text/html", "*/*"):
            get = httpx.get(site + url, headers={"Accept": accept})
            head = httpx.head(site + url, headers={"Accept": accept})
            # in process: no server drops the body for the app
            local = client.head(url, headers={"Accept": accept}, follow_redirects=False)
            if head.content or local.content or {head.status_code, local.status_code} != {get.status_code}:
                wrong.append((url, accept, get.status_code, head.status_code, local.status_code, len(local.content)))
                continue
            wrong += [(url, accept, name, get.headers.get(name), head.headers.get(name)) for name in COMPARED
                      if head.headers.get(name) != get.headers.get(name)]
    assert wrong == []


def test_head_on_a_dump_does_not_read_the_file(client, dist, monkeypatch):
    import anyio
    opened = []
    real = anyio.open_file
    monkeypatch.setattr(anyio, "open_file", lambda *a, **k: opened.append(a) or real(*a, **k))
    r = client.head("/dumps/policygraph.nt")
    assert r.status_code == 200 and r.content == b"" and opened == []
    assert int(r.headers["content-length"]) == (dist / "policygraph.nt").stat().st_size


# ------------------------------------------------------------------ security headers


def test_security_headers_on_every_response(client):
    for method, url, accept in [("GET", "/", "text/html"), ("GET", "/query", "text/html"),
                                ("GET", "/id/prefecture/20", "text/html"), ("GET", "/id/prefecture/20", "text/turtle"),
                                ("GET", "/id/prefecture/99", "text/html"), ("GET", "/id/prefecture/99", "text/turtle"),
                                ("GET", "/id/prefecture/20?page=0", "text/html"),
                                ("GET", "/sparql?query=ASK%7B%7D", "*/*"),
                                ("GET", "/sparql?query=SELEC", "*/*"), ("POST", "/sparql", "*/*"),
                                ("GET", "/queries/prefectures", "*/*"),
                                ("GET", "/queries/national-programs?page=0", "*/*"),
                                ("GET", "/static/style.css", "*/*"), ("GET", "/dumps/policygraph.ttl", "*/*"),
                                ("GET", "/nowhere", "*/*"), ("DELETE", "/sparql", "*/*"), ("GET", "/test-boom", "*/*"),
                                ("HEAD", "/", "text/html"), ("GET", "/openapi.json", "*/*"), ("GET", "/health", "*/*")]:
        r = client.request(method, url, headers={"Accept": accept})
        assert r.headers.get("x-content-type-options") == "nosniff", (method, url, r.status_code)
        assert r.headers.get("referrer-policy") == "no-referrer", (method, url)
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (method, url, csp)
        if r.headers.get("content-type", "").startswith("text/html"):
            directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
            assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", (url, csp)
            assert directives["base-uri"] == "'none'" and directives["form-action"] == "'self'"
    assert client.get("/test-boom").status_code == 500


def test_our_html_has_no_inline_script_or_style(client):
    for path in ("/", "/query", "/id/prefecture/20", "/id/prefectural-project/20/070201", "/ontology", "/shapes",
                 "/dataset"):
        html = client.get(path, headers={"Accept": "text/html"}).text
        assert not re.search(r"\sstyle\s*=", html) and "<style" not in html, path
        for attrs in re.findall(r"<script([^>]*)>", html):
            assert "src=" in attrs or 'type="application/json"' in attrs, (path, attrs)
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline event handlers
    js = client.get("/static/query.js").text
    assert ".style." not in js and "innerHTML" not in js


def test_docs_pages_get_a_csp_that_allows_their_own_inline_script(client):
    for path in ("/docs", "/docs/oauth2-redirect"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        # every asset from this host: /docs works offline
        assert r.status_code == 200 and "https://" not in csp and "frame-ancestors 'none'" in csp
        assert not re.findall(r'(?:src|href)="(?!/)', r.text), path
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        for inline in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in script_src, path
    assert "sha256-" in client.get("/docs").headers["content-security-policy"]  # Swagger UI has an inline script
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/static/swagger-ui/{asset}").status_code == 200
    redoc = client.get("/redoc", follow_redirects=False)  # ReDoc has no packaged assets: Swagger UI instead
    assert redoc.status_code == 301 and redoc.headers["location"] == "/docs"


# ------------------------------------------------------------------ slow clients


def _read_until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, float | None]:
    """Everything the server sends until it closes (and when), or until the deadline (None)."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data, time.monotonic()
        if not chunk:
            return data, time.monotonic()
        data += chunk
    return data, None


def _slowloris(url: str, request: bytes, pause: float, limit: float, first: bytes = b"") -> tuple[bytes, float | None]:
    """Send ``first`` at once, then ``request`` a byte at a time every ``pause`` s, for at most ``limit`` s;
    what came back and after how long the server closed the connection (None: it never did)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    started = time.monotonic()
    received = b""
    try:
        if first:
            sock.sendall(first)
            received, _ = _read_until_closed(sock, time.monotonic() + 1.0)
            started = time.monotonic()
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            more, closed = _read_until_closed(sock, time.monotonic() + pause)
            received += more
            if closed is not None:
                return received, closed - started
            if time.monotonic() - started > limit:
                return received, None
        more, closed = _read_until_closed(sock, started + limit)
        return received + more, None if closed is None else closed - started
    finally:
        sock.close()


@pytest.mark.parametrize("impl", ["httptools", "h11"])
def test_slowloris_headers_are_cut_off(engine, dist, impl):
    slow_headers = b"GET /health HTTP/1.1\r\nHost: example\r\nX-Padding: " + b"a" * 40 + b"\r\n\r\n"
    app = make_app(engine, dist)
    with LimitedServer(app, http=deadline_protocol(header_timeout=1.0, body_timeout=30, impl=impl)) as s:
        results = {}

        def attack(name, **kw):
            results[name] = _slowloris(s.url, **kw)

        threads = [threading.Thread(target=attack, args=(name,), kwargs=kw) for name, kw in {
            "first request": {"request": slow_headers, "pause": 0.3, "limit": 6},
            "idle connection": {"request": b"", "pause": 0.3, "limit": 6},
            "second request on a kept-alive connection": {
                "first": b"GET /health HTTP/1.1\r\nHost: example\r\n\r\n", "request": slow_headers, "pause": 0.3,
                "limit": 6},
        }.items()]
        for t in threads:
            t.start()
        time.sleep(0.3)
        answered = httpx.get(s.url + "/health", timeout=5)  # a normal client meanwhile, on its own connection
        for t in threads:
            t.join()
    assert answered.status_code == 200
    for name, (received, closed_after) in results.items():
        assert closed_after is not None, (name, received[-200:])  # the server closed it, not the client
        assert b"408 Request Timeout" in received, (name, received[-300:])
        assert b"request headers did not arrive" in received, (name, received[-300:])


@pytest.mark.parametrize("impl", ["httptools", "h11"])
def test_slow_body_gets_408(engine, dist, impl):
    app = make_app(engine, dist, body_timeout=1.0)
    head = (b"POST /sparql HTTP/1.1\r\nHost: example\r\nContent-Type: application/sparql-query\r\n"
            b"Accept: application/sparql-results+json\r\nContent-Length: 200\r\n\r\n")
    with LimitedServer(app, http=deadline_protocol(header_timeout=5, body_timeout=1.0, impl=impl)) as s:
        received, closed_after = _slowloris(s.url, first=head, request=b"ASK { ?s ?p ?o }" * 3, pause=0.3, limit=6)
        fine = httpx.post(s.url + "/sparql", content="ASK {}", timeout=5,
                          headers={"Content-Type": "application/sparql-query",
                                   "Accept": "application/sparql-results+json"})
    assert fine.status_code == 200
    assert received.startswith(b"HTTP/1.1 408 "), received[:300]
    status, _, body = received.partition(b"\r\n\r\n")
    assert b"application/json" in status and b'"error":"request timeout"' in body
    assert b"body did not arrive within 1 s" in body
    assert closed_after is not None  # the server closed it, not the client giving up


def test_body_trickling_into_a_route_that_ignores_it_is_cut_off(engine, dist):
    protocol = deadline_protocol(header_timeout=5, body_timeout=1.0)
    protocol.BODY_GRACE = 0.0
    head = b"GET /health HTTP/1.1\r\nHost: example\r\nContent-Length: 1000\r\n\r\n"
    with LimitedServer(make_app(engine, dist), http=protocol) as s:
        received, closed_after = _slowloris(s.url, first=head, request=b"x" * 30, pause=0.3, limit=6)
    assert received.startswith(b"HTTP/1.1 200 ") and closed_after is not None  # the server closed it


# ------------------------------------------------------------------ in Chromium

needs_chromium = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                    reason="needs Debian's chromium and chromium-driver")


@pytest.fixture(scope="module")
def browser():
    driver = chromium(console_log=True)
    yield driver
    driver.quit()


def csp_messages(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Content-Security-Policy" in e["message"]]


def inline_script_runs(driver) -> bool:
    """Whether a script element added to the page with inline text runs (it must not, under our CSP)."""
    return driver.execute_script("""
        window.__injected = false;
        const s = document.createElement("script"); s.textContent = "window.__injected = true;";
        document.body.appendChild(s); return window.__injected;""")


@needs_chromium
def test_pages_work_under_the_csp_in_chromium(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")
    browser.get(site + "/")
    assert browser.find_element(By.CSS_SELECTOR, 'a[href="/id/prefecture/20"]')
    # the stylesheet applies under the policy (a flex rule of ours, not a browser default)
    assert browser.execute_script("return getComputedStyle(document.querySelector('header nav ul')).display") == "flex"
    browser.get(site + "/id/prefecture/20")
    assert browser.find_element(By.TAG_NAME, "h1").text == "長野県"
    browser.get(site + "/id/prefectural-project/20/070201")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    assert csp_messages(browser) == []
    browser.get(site + "/query")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, '#results[aria-busy="false"]')))
    table = browser.find_element(By.ID, "result-table")
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == 9
    link = browser.find_element(By.CSS_SELECTOR, "#downloads a")
    assert browser.execute_script("return getComputedStyle(arguments[0]).marginRight", link) == "16px"
    assert csp_messages(browser) == []
    assert inline_script_runs(browser) is False  # the policy is on: an injected inline script does not run
    assert any("inline script" in m for m in csp_messages(browser))


@needs_chromium
def test_query_page_links_only_http_iris(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site + "/query")
    query = ("SELECT ?x WHERE { VALUES ?x { <javascript:alert(1)> <https://example.org/> <data:text/html,hi> "
             "<urn:x:y> <https://w3id.org/policygraph/id/prefecture/20> } }")
    # the editor is CodeMirror (YASQE): its text is set through its API, the textarea behind it is hidden
    browser.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])", query)
    browser.find_element(By.ID, "run").click()
    # the table is drawn twice (again with labels): read it once the results are no longer busy
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, '#results[aria-busy="false"]')))
    table = browser.find_element(By.ID, "result-table")
    assert "javascript:alert(1)" in table.text and "data:text/html,hi" in table.text and "urn:x:y" in table.text
    links = [a.get_attribute("href") for a in table.find_elements(By.TAG_NAME, "a")]
    assert links == ["https://example.org/", site + "/id/prefecture/20"], links


@needs_chromium
def test_resource_page_with_script_iris_in_chromium(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(site + "/id/test/hostile")
    links = [a.get_attribute("href") or "" for a in browser.find_elements(By.TAG_NAME, "a")]
    assert "https://example.org/safe" in links
    assert not [h for h in links if not h.startswith(("http://", "https://"))], links


@needs_chromium
def test_docs_pages_raise_no_csp_violation(site, browser):
    # Swagger UI renders from this host alone (no network here), its inline script allowed by its
    # hash, and the policy refuses nothing the page asks for.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")
    for path in ("/docs", "/redoc"):
        browser.get(site + path)
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
        assert "policygraph" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
        assert browser.find_elements(By.CSS_SELECTOR, ".opblock-tag"), path  # the operations are listed
        assert csp_messages(browser) == [], path
        # yet the policy is on: a script without the hash does not run
        assert inline_script_runs(browser) is False, path
        browser.get_log("browser")
