"""`policygraph query`: SPARQL or a named query from the terminal, checked and limited as the service does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import ROOT
from test_sparql_service import running_oxigraph

from policygraph.store.loading import load_remote

NAGANO = "https://w3id.org/policygraph/id/prefecture/20"
LABELS = f"SELECT ?l WHERE {{ <{NAGANO}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }} ORDER BY ?l"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for d in ("data", "ontology", "shapes", "queries"):
        shutil.copytree(ROOT / d, root / d)
    return root


def query(project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policygraph", "query", "--root", str(project), *args],
                          input=stdin, capture_output=True, text=True, timeout=300, check=False)


def test_a_select_prints_a_table_in_display_columns(project):
    out = query(project, LABELS)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "?l" and set(lines[1]) == {"-"}
    assert lines[2:4] == ["Nagano Prefecture@en", "長野県@ja"] and lines[4] == "(2 rows)"
    assert len(lines[1]) == max(len("Nagano Prefecture@en"), 2 * 3 + 3)  # 長野県 takes six columns


def test_the_query_comes_from_standard_input_or_a_file(project, tmp_path):
    assert query(project, "-", stdin="ASK { ?s ?p ?o }").stdout == "true\n"
    construct = tmp_path / "q.rq"
    construct.write_text(f"CONSTRUCT {{ <{NAGANO}> ?p ?o }} WHERE {{ <{NAGANO}> ?p ?o }}", encoding="utf-8")
    out = query(project, "--file", str(construct))
    assert out.returncode == 0, out.stderr
    triples = list(ox.parse(out.stdout.encode(), format=ox.RdfFormat.TURTLE))  # a graph prints as Turtle
    assert ox.Literal("長野県", language="ja") in {t.object for t in triples}


def test_a_named_query_with_its_parameters_and_a_format(project):
    out = query(project, "--name", "prefectures", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()
    assert rows[0].startswith("code,prefecture,name") and len(rows) == 48 and rows[20].startswith("20,")
    out = query(project, "--name", "program", "--param", f"program={NAGANO}", "--format", "json")
    assert out.returncode == 0 and '"長野県"' in out.stdout
    bad = query(project, "--name", "program", "--param", "program=not an iri")
    assert bad.returncode == 2 and "program" in bad.stderr
    unknown = query(project, "--name", "no-such-query")
    assert unknown.returncode == 2 and "prefectures" in unknown.stderr  # names the ones there are


@pytest.mark.parametrize("args, says", [
    (["DELETE WHERE { ?s ?p ?o }"], "updates are not allowed"),
    (["SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"], "SERVICE not allowed"),
    (["SELECT * WHERE { ?s ?p }"], "syntax error"),
    (["ASK {}", "--format", "turtle"], "does not fit"),
    ([], "give one query"),
    (["ASK {}", "--file", "x.rq"], "give one query"),
])
def test_what_the_service_refuses_is_refused_with_exit_2(project, args, says):
    out = query(project, *args)
    assert out.returncode == 2 and says in out.stderr and not out.stdout


def test_the_time_limit_stops_a_runaway_with_exit_1(project):
    out = query(project, RUNAWAY, "--timeout", "1")
    assert out.returncode == 1 and "longer than 1 s" in out.stderr


def test_a_remote_store_gives_the_same_answer(project, dist, tmp_path):
    with running_oxigraph(tmp_path / "oxigraph") as url:
        load_remote([dist / "policygraph.nq"], url + "/store", log=lambda *_: None)
        ours = query(project, LABELS, "--format", "csv")
        theirs = query(project, LABELS, "--format", "csv", "--store", url + "/query")
    assert theirs.returncode == 0 and theirs.stdout == ours.stdout == "l\nNagano Prefecture\n長野県\n"
