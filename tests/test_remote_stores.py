"""Remote stores answer as the embedded one, whatever their default graph: queries name the build's
graphs (store/remote.py), and a store that holds none of them is refused at start."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from test_sparql_service import running_oxigraph

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.engines import Job
from policygraph.store.loading import load_remote
from policygraph.store.named_queries import NamedQuery, load_queries
from policygraph.store.opening import ServeError, remote_engine

QUERIES = load_queries(ROOT / "queries")
PLACEHOLDERS = {"iri": "https://w3id.org/policygraph/id/prefecture/20", "integer": "2025", "gYear": "2025"}


def sample(q: NamedQuery) -> str:
    """The query bound to its defaults (else an enumerated value, else a placeholder of its type)."""
    values = {p.name: p.default or (p.enum[0] if p.enum else PLACEHOLDERS.get(p.type, "長野"))
              for p in q.parameters if p.required or p.default}
    return q.bind(values)


def terms(body: bytes, concatenated: frozenset[str] = frozenset()) -> object:
    """An answer as RDF terms (type, value, language, datatype), rows in any order; the values of
    ``concatenated`` columns (GROUP_CONCAT, whose order SPARQL leaves open) as sorted words."""
    doc = json.loads(body)
    if "boolean" in doc:
        return doc["boolean"]
    rows = doc["results"]["bindings"]
    for row in rows:
        for name in concatenated & set(row):
            row[name]["value"] = " ".join(sorted(row[name]["value"].split(" ")))
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


@pytest.fixture(scope="module")
def build_info(dist) -> dict:
    return json.loads((dist / "build-info.json").read_text())


@pytest.fixture(scope="module")
def embedded(dist):
    e = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    yield e
    e.close()


@pytest.fixture(scope="module")
def plain_oxigraph(dist, tmp_path_factory):
    """An Oxigraph server started without --union-default-graph: its default graph is empty."""
    with running_oxigraph(tmp_path_factory.mktemp("plain"), union=False) as url:
        load_remote([dist / "policygraph.nq"], url + "/store", log=lambda *_: None)
        yield url


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_named_query_gives_the_embedded_rows_on_an_oxigraph_server_without_flags(name, build_info, embedded,
                                                                                     plain_oxigraph):
    remote, _, _ = remote_engine(plain_oxigraph + "/query", build_info, log=lambda *_: None)
    text = sample(QUERIES[name])
    ours = embedded.run(Job(text, "json", max_rows=100_000), 30)
    theirs = remote.run(Job(text, "json", max_rows=100_000), 30)
    concatenated = frozenset(re.findall(r"GROUP_CONCAT\([^)]*\)\s+AS\s+\?(\w+)", text, re.IGNORECASE))
    assert terms(theirs.body, concatenated) == terms(ours.body, concatenated)


def test_the_remotes_own_default_graph_is_not_used(build_info, plain_oxigraph):
    remote, _, _ = remote_engine(plain_oxigraph + "/query", build_info, log=lambda *_: None)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert int(json.loads(remote.run(Job(count, "json"), 10).body)["results"]["bindings"][0]["n"]["value"]) > 30_000
    # a query that names its own graphs keeps its meaning
    named = f"SELECT (COUNT(*) AS ?n) FROM <{sorted(build_info['graphs'])[0]}> WHERE {{ ?s ?p ?o }}"
    n = int(json.loads(remote.run(Job(named, "json"), 10).body)["results"]["bindings"][0]["n"]["value"])
    assert 0 < n == build_info["graphs"][sorted(build_info["graphs"])[0]]


def test_a_remote_store_without_the_builds_graphs_is_refused_at_start(build_info, tmp_path):
    with running_oxigraph(tmp_path / "empty", union=False) as url:
        with pytest.raises(ServeError, match="holds none of the build's"):
            remote_engine(url + "/query", build_info, log=lambda *_: None)
        done = subprocess.run([sys.executable, "-m", "policygraph", "serve", "--port", "1", "--store", url + "/query"],
                              capture_output=True, text=True, timeout=300, check=False, cwd=Path(ROOT))
        assert done.returncode == 1 and "holds none of the build's" in done.stderr


def test_a_remote_store_lacking_some_graphs_is_served_with_a_warning(build_info, dist, tmp_path):
    one = tmp_path / "one.nq"
    first = sorted(build_info["graphs"])[0]
    one.write_text("".join(line + "\n" for line in (dist / "policygraph.nq").read_text(encoding="utf-8").splitlines()
                           if line.endswith(f"<{first}> .")), encoding="utf-8")
    said: list[str] = []
    with running_oxigraph(tmp_path / "partial", union=False) as url:
        load_remote([one], url + "/store", log=lambda *_: None)
        remote, _, _ = remote_engine(url + "/query", build_info, log=said.append)
    assert remote.graphs == tuple(sorted(build_info["graphs"]))
    assert len(said) == 1 and said[0].startswith(f"warning: the remote store lacks {len(build_info['graphs']) - 1} of")
