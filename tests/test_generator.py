"""The benchmark generator makes policy-shaped data the project's own checks accept."""

import sys

import pyoxigraph as ox

from policygraph.quality.cross_checks import budget_problems

from conftest import ROOT, select

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate, parse_size


def test_sizes_and_determinism(tmp_path):
    a, b = tmp_path / "a.nq", tmp_path / "b.nq"
    n = generate(parse_size("10k"), a, seed=7, progress=False)
    assert 8_000 < n < 15_000
    generate(parse_size("10k"), b, seed=7, progress=False)
    assert a.read_bytes() == b.read_bytes()
    generate(parse_size("10k"), b, seed=8, progress=False)
    assert a.read_bytes() != b.read_bytes()
    assert 80_000 < generate(parse_size("100k"), b, progress=False) < 120_000


def test_generated_data_passes_the_cross_checks_and_links_resolve(build, tmp_path):
    data = tmp_path / "s.nq"
    generate(parse_size("10k"), data, progress=False)
    store = ox.Store()
    store.bulk_extend(build.store)
    store.bulk_load(path=str(data), format=ox.RdfFormat.N_QUADS)
    assert budget_problems(store) == []
    dangling = select(store, """SELECT DISTINCT ?o WHERE { ?s ?p ?o .
        FILTER(isIRI(?o) && STRSTARTS(STR(?o), "https://w3id.org/policygraph/id/")) FILTER NOT EXISTS { ?o ?q ?r } }""")
    assert dangling == []
    prefs = select(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?x a pg:PrefecturalProject ; pg:prefecture ?p }")
    assert prefs == [{"n": "47"}]
    unlabelled = select(store, """SELECT ?s WHERE {
        ?s a ?c . VALUES ?c { pg:PrefecturalProject pg:SubProject pg:Initiative pg:KPI }
        FILTER NOT EXISTS { ?s rdfs:label ?l FILTER(lang(?l) = "ja") } }""")
    assert unlabelled == []


def test_generated_data_is_valid_against_the_shapes(dist, tmp_path):
    # the same check `policygraph validate` makes: shipped dump + synthetic file, every shape
    from policygraph.quality.validate import load_shapes, read_store, validate_store

    data = tmp_path / "s.nq"
    generate(parse_size("10k"), data, seed=3, progress=False)
    report = validate_store(read_store([dist / "policygraph.nq", data]), load_shapes(ROOT))
    assert report.conforms, report.results[:5]
