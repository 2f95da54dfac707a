"""A second real engine: Virtuoso (Debian's virtuoso-opensource-7-bin, the engine behind DBpedia),
started here on 127.0.0.1 with a temporary database. The build is loaded through its authenticated
Graph Store endpoint by `policygraph load`, served by `policygraph serve --store`, and every named
query gives the embedded store's rows, compared as RDF terms (Virtuoso writes true as "1")."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port, wait_for
from test_remote_stores import QUERIES, sample

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.engines import Job
from policygraph.store.opening import remote_engine

VIRTUOSO = shutil.which("virtuoso-t")
pytestmark = pytest.mark.skipif(VIRTUOSO is None,
                                reason="needs Debian's virtuoso-opensource-7-bin (.ci/run installs it)")
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMBERS = {XSD + t for t in ("integer", "int", "long", "short", "decimal", "double", "float", "nonNegativeInteger")}
INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = {d}

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}
ServerThreads = 5

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
"""


@contextlib.contextmanager
def running_virtuoso(directory: Path) -> Iterator[str]:
    """Virtuoso on 127.0.0.1 with a fresh database in ``directory`` (user dba, password dba, as a new
    database has), stopped and its files left to the temporary directory afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    http = free_port()
    (directory / "virtuoso.ini").write_text(INI.format(d=directory, sql=free_port(), http=http))
    proc = subprocess.Popen([str(VIRTUOSO), "-f", "-c", str(directory / "virtuoso.ini")], cwd=directory,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(url + "/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (directory / "virtuoso.log").read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "Virtuoso did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory, dist) -> Iterator[str]:
    """Virtuoso holding the build, loaded as a user would: `policygraph load --user dba`."""
    with running_virtuoso(tmp_path_factory.mktemp("virtuoso")) as url:
        env = {**os.environ, "POLICYGRAPH_PASSWORD": "dba"}
        done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", url + "/sparql-graph-crud-auth",
                               "--user", "dba"], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert re.search(r"loaded [\d,]+ triples in 13 graphs", done.stdout)
        yield url


@pytest.fixture(scope="module")
def embedded(dist):
    e = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    yield e
    e.close()


def term(binding: dict[str, str]) -> tuple:
    """An RDF term by its value: numbers and booleans in their value space, language tags in any case."""
    kind, value, datatype = binding["type"], binding["value"], binding.get("datatype")
    if kind in ("uri", "bnode"):
        return (kind, value if kind == "uri" else "")
    if "xml:lang" in binding:
        return ("lang", value, binding["xml:lang"].lower())
    if datatype in NUMBERS:
        return ("number", Decimal(value).normalize())
    if datatype == XSD + "boolean":
        return ("boolean", value in ("1", "true"))
    return ("literal", value, None if datatype in (None, XSD + "string") else datatype)


def rows(body: bytes, concatenated: frozenset[str]) -> object:
    doc = json.loads(body)
    if "boolean" in doc:
        return doc["boolean"]
    out = []
    for row in doc["results"]["bindings"]:
        for name in concatenated & set(row):  # GROUP_CONCAT: SPARQL leaves the order open
            row[name]["value"] = " ".join(sorted(row[name]["value"].split(" ")))
            if not row[name]["value"]:  # of nothing: "" as the spec says (Virtuoso), no value (Oxigraph 0.5)
                del row[name]
        out.append(sorted((name, term(b)) for name, b in row.items()))
    return sorted(out)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_named_query_gives_the_embedded_rows_on_virtuoso(name, virtuoso, embedded, dist):
    build = json.loads((dist / "build-info.json").read_text())
    remote, _, _ = remote_engine(virtuoso + "/sparql", build, log=lambda *_: None)
    text = sample(QUERIES[name])
    concatenated = frozenset(re.findall(r"GROUP_CONCAT\([^)]*\)\s+AS\s+\?(\w+)", text, re.IGNORECASE))
    ours = embedded.run(Job(text, "json", max_rows=100_000), 30)
    theirs = remote.run(Job(text, "json", max_rows=100_000), 60)
    assert rows(theirs.body, concatenated) == rows(ours.body, concatenated)


def test_serve_on_virtuoso(virtuoso):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "policygraph", "serve", "--port", str(port), "--store",
                             virtuoso + "/sparql"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/health", proc)
        assert len(httpx.get(base + "/queries/prefectures").json()["rows"]) == 47
        prefecture = "ASK { ?s a <https://w3id.org/policygraph/def#Prefecture> }"
        ask = httpx.get(base + "/sparql", params={"query": prefecture},
                        headers={"Accept": "application/sparql-results+json"})
        assert ask.json() == {"head": {}, "boolean": True}  # Virtuoso's one-row answer read as the boolean it is
        page = httpx.get(base + "/id/prefecture/20", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and "長野県" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_load_without_the_password_or_with_a_wrong_one_fails_clearly(virtuoso):
    target = virtuoso + "/sparql-graph-crud-auth"
    env = {k: v for k, v in os.environ.items() if k != "POLICYGRAPH_PASSWORD"}
    done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", target, "--user", "dba"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT, check=False)
    assert done.returncode == 2 and "POLICYGRAPH_PASSWORD" in done.stderr
    done = subprocess.run([sys.executable, "-m", "policygraph", "load", "--to", target, "--user", "dba"],
                          capture_output=True, text=True, timeout=300, env={**env, "POLICYGRAPH_PASSWORD": "wrong"},
                          cwd=ROOT, check=False)
    assert done.returncode == 1 and "401" in done.stderr
