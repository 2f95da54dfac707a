from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from policygraph.build.dataset import build_dataset, project_root
from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app

ROOT = project_root()
FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"
PREFIXES = """
PREFIX pg: <https://w3id.org/policygraph/def#>
PREFIX id: <https://w3id.org/policygraph/id/>
PREFIX code: <https://w3id.org/policygraph/id/code/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""


def select(store: ox.Store, query: str) -> list[dict[str, str]]:
    """Run a SELECT over the union of all graphs; rows as {variable: lexical value}."""
    res = store.query(PREFIXES + query, use_default_graph_as_union=True)
    names = [v.value for v in res.variables]
    return [{n: (r[n].value if r[n] is not None else None) for n in names} for r in res]


@pytest.fixture(scope="session")
def build():
    return build_dataset(ROOT)


@pytest.fixture(scope="session")
def store(build) -> ox.Store:
    return build.store


@pytest.fixture(scope="session")
def dist(build, tmp_path_factory) -> Path:
    """The shipped data's dumps, written once for the tests that serve them."""
    from policygraph.build.dumps import write_dumps
    out = tmp_path_factory.mktemp("shipped") / "dist"
    write_dumps(build, out, validated=True)
    return out


@pytest.fixture(scope="module")
def client(dist):
    """A TestClient of the app with default settings and the shipped named queries over the session's dumps
    (one embedded worker; a module that needs other settings defines its own)."""
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    with TestClient(create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)) as c:
        yield c
    engine.close()


def seed(name: str) -> str:
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"source document {path} not present (it lives in shared/seeds beside the checkout)")
    return path.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    """Until ``url`` answers at all (the process ``proc`` started a server there); fails with the
    process's output if it ended first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.3)


class Server:
    """uvicorn serving an app on a free loopback port, in a thread of the test process."""

    def __init__(self, app):
        import uvicorn
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def chromium(console_log: bool = False, language: str = "ja", performance_log: bool = False):
    """Debian's headless Chromium under selenium, with the flags this closed network needs, asking for
    pages in ``language`` (the pages honour Accept-Language); ``performance_log`` records DevTools network
    events (``driver.get_log("performance")``: every URL the page requested)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1600", f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(flag)
    opts.add_argument(f"--lang={language}")
    opts.add_experimental_option("prefs", {"intl.accept_languages": language})
    logs = {"browser": "ALL"} if console_log else {}
    if performance_log:
        logs["performance"] = "ALL"
    if logs:
        opts.set_capability("goog:loggingPrefs", logs)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    return driver
