"""Dumps round-trip, builds are atomic, the CLI reports bad input, a second prefecture is one file."""

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from policygraph.build import dumps as build_mod
from policygraph.build.dataset import ExtraInputs, build_dataset
from policygraph.build.dumps import DUMPS, write_dumps
from policygraph.transform.graphs import union_graph
from policygraph.quality.cross_checks import CrossCheckError
from policygraph.cli import main

from conftest import FIXTURES, ROOT, select

SYNTHETIC = FIXTURES / "synthetic-13-990101-2025.yaml"


@pytest.fixture(scope="module")
def dist(build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "dist"
    write_dumps(build, out)
    return out


def test_graph_dumps_round_trip(build, dist):
    union = union_graph(build.dataset)
    for name in ("policygraph.nt", "policygraph.ttl"):
        g = Graph().parse(dist / name)
        assert isomorphic(g, union), name


@pytest.mark.parametrize("name", ["policygraph.trig", "policygraph.nq", "policygraph.jsonld"])
def test_dataset_dumps_keep_every_named_graph(build, dist, name):
    fmt = {"policygraph.trig": "trig", "policygraph.nq": "nquads", "policygraph.jsonld": "json-ld"}[name]
    back = Dataset().parse(dist / name, format=fmt)
    ours = {str(g.identifier): g for g in build.dataset.graphs() if len(g)}
    theirs = {str(g.identifier): g for g in back.graphs() if len(g)}
    assert ours.keys() == theirs.keys()
    for key, g in ours.items():
        assert isomorphic(g, theirs[key]), (name, key)


def test_oxigraph_reads_the_dumps(dist):
    for name, fmt in (("policygraph.trig", ox.RdfFormat.TRIG), ("policygraph.nq", ox.RdfFormat.N_QUADS),
                      ("policygraph.jsonld", ox.RdfFormat.JSON_LD), ("policygraph.nt", ox.RdfFormat.N_TRIPLES)):
        s = ox.Store()
        s.bulk_load(path=str(dist / name), format=fmt)
        assert len(s) > 5000, name


def test_build_info(build, dist):
    info = json.loads((dist / "build-info.json").read_text())
    assert info["inputs_hash"] == build.inputs_hash
    assert set(info["files"]) == set(DUMPS)
    assert info["triples"] == len(union_graph(build.dataset))


def test_a_failed_write_leaves_the_old_build_in_place(build, tmp_path, monkeypatch):
    out = tmp_path / "dist"
    out.mkdir()
    (out / "policygraph.trig").write_text("previous build")
    monkeypatch.setitem(build_mod.DUMPS, "broken.xyz", ("no-such-format", "x/y"))
    with pytest.raises(Exception, match="no-such-format"):
        write_dumps(build, out)
    assert (out / "policygraph.trig").read_text() == "previous build"
    assert [p.name for p in tmp_path.iterdir()] == ["dist"]  # no temporary directory left behind


def test_cli_build_writes_the_dumps(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "out")]) == 0
    for name in ("policygraph.trig", "policygraph.nt", "policygraph.ttl", "policygraph.jsonld"):
        assert (tmp_path / "out" / name).stat().st_size > 100_000
    out = capsys.readouterr()
    assert "graph/source/20-070201-2025" in out.out
    # each step with its time on stderr, in order; --quiet leaves them out
    steps = [line.split()[0] for line in out.err.splitlines() if line.rstrip().endswith(" s")]
    assert steps == ["records:", "RDF:", "OWL-RL", "budget", "SHACL", "dumps:"], out.err
    # --quiet: see test_a_changed_sub_project_amount_fails_the_build (one build less)


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "ontology", root / "ontology")
    return root


def test_cli_bad_input_exits_2_naming_the_file(tmp_path, capsys):
    root = copy_project(tmp_path)
    sheet = root / "data/prefectures/20-nagano/070201-2025.yaml"
    sheet.write_text(sheet.read_text().replace("amount: 9622}", "amount: -1}"))
    assert main(["build", "--root", str(root), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "070201-2025.yaml:" in err and "project.sub_projects[0].budget[1].amount" in err
    assert not (tmp_path / "out").exists()


def test_a_changed_sub_project_amount_fails_the_build(tmp_path, capsys):
    root = copy_project(tmp_path)
    sheet = root / "data/prefectures/20-nagano/070201-2025.yaml"
    sheet.write_text(sheet.read_text().replace("{year: R7, stage: draft, amount: 65491}",
                                               "{year: R7, stage: draft, amount: 65490}"))
    with pytest.raises(CrossCheckError) as e:
        build_dataset(root)
    assert "中小企業経営支援関連事業費" in str(e.value) and "FY2025 draft" in str(e.value)
    assert main(["build", "--root", str(root), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "368,077" in err  # --quiet leaves out each step's time, not the error
    assert not [line for line in err.splitlines() if line.rstrip().endswith(" s")], err


def test_a_second_prefecture_is_one_more_file():
    b = build_dataset(ROOT, ExtraInputs(sheets=(SYNTHETIC,)))
    rows = select(b.store, """SELECT ?pref (SUM(?amount) AS ?total) WHERE {
        ?p a pg:PrefecturalProject ; pg:prefecture/skos:notation ?pref .
        ?o pg:program ?p ; pg:fiscalYear id:fiscal-year\\/2025 ; pg:budgetStage code:budget-stage\\/request ;
           pg:fundingSource code:funding-source\\/all ; pg:amount ?amount } GROUP BY ?pref ORDER BY ?pref""")
    assert rows == [{"pref": "13", "total": "1200"}, {"pref": "20", "total": "285030"}]
    reported = select(b.store, """SELECT ?v WHERE { ?o pg:indicator/pg:indicatorOf/pg:prefecture/skos:notation "13" ;
        pg:valueStatus code:value-status\\/reported ; pg:value ?v }""")
    assert reported == [{"v": "40"}]
    graphs = select(b.store, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s a pg:PrefecturalProject } }")
    assert {r["g"].rsplit("/", 1)[-1] for r in graphs} == {"13-990101-2025", "20-070201-2025",
                                                           "tottori-budget-compilation", "mie-review-1998"}
    units = select(b.store, """SELECT ?u WHERE { GRAPH <https://w3id.org/policygraph/graph/source/13-990101-2025> {
        ?u org:unitOf id:prefecture\\/13 } }""")
    assert len(units) == 2


def test_a_second_prefecture_that_does_not_add_up_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SYNTHETIC.read_text().replace("{year: R7, stage: request, amount: 500}",
                                                 "{year: R7, stage: request, amount: 501}"))
    with pytest.raises(CrossCheckError, match=r"試験用中小企業支援事業費.*FY2025 request"):
        build_dataset(ROOT, ExtraInputs(sheets=(bad,)))
