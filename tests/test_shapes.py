"""SHACL shapes: the shipped data is valid, and each kind of mistake is caught by exactly its shape.

Every mutation runs with both engines (pyshacl, and the Oxigraph one of shacl_oxigraph.py)."""

import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDFS, SKOS, XSD

from policygraph.transform.graphs import union_graph
from policygraph.cli import main
from policygraph.transform.ids import ID, PG
from policygraph.quality.validate import Report, UnsupportedShape, load_shapes, validate_graph, validate_store

from conftest import ROOT

SH = "https://w3id.org/policygraph/shapes#"
PROJECT = ID["prefectural-project/20/070201"]


def obs(path: str) -> URIRef:
    return ID[f"budget/{path}"]


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(ROOT)


# pyshacl takes more than 10 minutes on the whole graph since Tottori's pages came in (measured: stopped at
# 600 s; the Oxigraph engine takes under a second), so the engines are compared on the graph of the two
# documents: the page sources and every link to their resources are left out. The Oxigraph engine
# validates the whole shipped graph (test_validate_command_on_the_shipped_data, and every build).
_PAGE_SOURCES = ("/31/", "/24/", "tottori", "mie-review", "/counterpart/", "/budget-item/", "/program-link/")


def _of_the_two_documents(t) -> bool:
    return not any(isinstance(x, URIRef) and any(k in str(x) for k in _PAGE_SOURCES) for x in t)


@pytest.fixture(scope="module")
def valid(build) -> Graph:
    g = Graph()
    for t in union_graph(build.dataset, with_shapes=False):
        if _of_the_two_documents(t):
            g.add(t)
    return g


@pytest.fixture
def graph(valid) -> Graph:
    g = Graph()
    for t in valid:
        g.add(t)
    return g


def to_store(graph: Graph) -> ox.Store:
    store = ox.Store()
    store.bulk_load(graph.serialize(format="nt", encoding="utf-8"), ox.RdfFormat.N_TRIPLES)
    return store


def validate(graph: Graph, shapes: Graph, engine: str) -> Report:
    return validate_graph(graph, shapes) if engine == "pyshacl" else validate_store(to_store(graph), shapes)


# pyshacl takes ~17 s per run even on the two documents' graph: its per-mutation runs are marked slow (CI runs
# them once with `pytest -m slow`); the default run keeps one pyshacl comparison on many mistakes at once.
@pytest.fixture(params=[pytest.param("pyshacl", marks=pytest.mark.slow), "oxigraph"])
def engine(request) -> str:
    return request.param


@pytest.fixture
def fired(shapes, engine):
    def run(graph) -> set[tuple[str, str]]:
        report = validate(graph, shapes, engine)
        assert report.conforms == (not report.results)
        return {(r.shape.removeprefix(SH), r.focus.removeprefix(str(ID))) for r in report.results}
    return run


def test_shipped_data_is_valid(valid, shapes, engine):
    report = validate(valid, shapes, engine)
    assert report.conforms, [r for r in report.results]


def test_sub_project_amount_changed_by_one(graph, shapes, engine):
    graph.set((obs("sub-project/20/070201/2/2025/draft/all"), PG.amount, Literal("65492.0", datatype=XSD.decimal)))
    report = validate(graph, shapes, engine)
    assert {(r.shape.removeprefix(SH), r.focus) for r in report.results} == {("ComponentSumShape", str(PROJECT))}
    [r] = report.results
    message = f"{r.message_ja} {r.message_en}"
    assert "368079" in message and "368078" in message and "マーケティング支援事業費 65492" in message
    assert "構成要素" in r.message_ja and "the parts add up to" in r.message_en


def test_current_budget_is_carried_plus_initial_plus_supplementary(graph, fired):
    graph.set((obs("prefectural-project/20/070201/2024/current/all"), PG.amount,
               Literal("2201099.0", datatype=XSD.decimal)))
    assert fired(graph) == {("CurrentBudgetShape", "prefectural-project/20/070201")}


def test_dropped_japanese_label(graph, fired):
    initiative = ID["initiative/20/070201/1/2"]
    graph.remove((initiative, RDFS.label, Literal("ながの産業支援ネット推進事業", lang="ja")))
    assert fired(graph) == {("japaneseLabel", "initiative/20/070201/1/2")}


def test_duplicate_observation(graph, fired):
    original = obs("prefectural-project/20/070201/2024/supplementary/all")
    copy = ID["budget/duplicate"]
    for p, o in list(graph.predicate_objects(original)):
        graph.add((copy, p, o))
    assert fired(graph) == {("UniqueBudgetShape", "budget/duplicate"),
                            ("UniqueBudgetShape", "budget/prefectural-project/20/070201/2024/supplementary/all")}


def test_link_to_a_missing_resource(graph, fired):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.set((o, PROV.wasDerivedFrom, ID["source/20-070201-2025/section/no-such-section"]))
    assert fired(graph) == {("NoDanglingLinkShape", "budget/prefectural-project/20/070201/2023/settlement/all")}


def test_string_where_a_decimal_belongs(graph, fired):
    o = obs("prefectural-project/20/070201/2024/supplementary/all")
    graph.set((o, PG.amount, Literal("23904")))
    assert fired(graph) == {("BudgetObservationShape / pg:amount", str(o).removeprefix(str(ID)))}


def test_negative_amount(graph, fired):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.set((o, PG.amount, Literal("-1.0", datatype=XSD.decimal)))
    assert fired(graph) == {("BudgetObservationShape / pg:amount", str(o).removeprefix(str(ID)))}


def test_stage_outside_the_code_list(graph, fired):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.set((o, PG.budgetStage, URIRef("https://w3id.org/policygraph/id/code/delivery-method/direct")))
    assert fired(graph) == {("BudgetObservationShape / pg:budgetStage", str(o).removeprefix(str(ID)))}


def test_observation_without_provenance(graph, fired):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.remove((o, PROV.wasDerivedFrom, None))
    assert fired(graph) == {("provenance", "budget/prefectural-project/20/070201/2023/settlement/all")}


def test_alignment_without_evidence(graph, fired):
    a = ID["alignment/overseas-expansion"]
    graph.remove((a, PG.nationalEvidence, None))
    assert fired(graph) == {("AlignmentShape / pg:nationalEvidence", "alignment/overseas-expansion")}


def test_alignment_with_two_national_sides(graph, fired):
    a = ID["alignment/overseas-expansion"]
    graph.add((a, PG.nationalSide, ID["national-program/2008/3-2-2-a"]))
    assert fired(graph) == {("AlignmentShape / pg:nationalSide", "alignment/overseas-expansion")}


def test_jis_code_out_of_range(graph, fired):
    graph.set((ID["prefecture/47"], SKOS.notation, Literal("48")))
    assert fired(graph) == {("PrefectureShape / skos:notation", "prefecture/47")}


def test_value_where_the_source_has_none(graph, fired):
    o = ID["indicator-observation/kpi/20/070201/1/2025/target"]
    graph.add((o, PG.value, Literal("1300.0", datatype=XSD.decimal)))
    assert fired(graph) == {("IndicatorObservationShape", "indicator-observation/kpi/20/070201/1/2025/target")}


# ------------------------------------------------------------------ the command


def test_validate_command_on_the_shipped_data(capsys):
    assert main(["validate"]) == 0
    assert "valid" in capsys.readouterr().out


@pytest.fixture
def changed_dump(build, tmp_path) -> Path:
    """The two documents' graph as N-Triples with one sub-project amount changed by one."""
    nt = tmp_path / "policygraph.nt"
    small = Graph()
    for t in union_graph(build.dataset):
        if _of_the_two_documents(t):
            small.add(t)
    small.serialize(nt, format="nt", encoding="utf-8")
    text = nt.read_text(encoding="utf-8")
    target = (f"<{obs('sub-project/20/070201/2/2025/draft/all')}> <https://w3id.org/policygraph/def#amount> "
              '"65491.0"')
    assert target in text
    nt.write_text(text.replace(target, target.replace("65491.0", "65492.0")), encoding="utf-8")
    return nt


def test_validate_command_on_a_changed_dump(changed_dump, capsys):
    nt = changed_dump
    assert main(["validate", str(nt)]) == 1
    out = capsys.readouterr().out
    assert "ComponentSumShape" in out and "中小企業経営支援関連事業費" in out
    assert "マーケティング支援事業費 65492" in out
    assert main(["validate", str(nt), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["conforms"] is False and len(report["results"]) == 1
    assert main(["validate", str(nt), "--format", "turtle"]) == 1
    assert len(Graph().parse(data=capsys.readouterr().out, format="turtle")) > 5


@pytest.mark.slow
def test_validate_command_with_pyshacl_reports_the_same(changed_dump, capsys):
    assert main(["validate", str(changed_dump), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert main(["validate", str(changed_dump), "--format", "json", "--engine", "pyshacl"]) == 1
    by_pyshacl = json.loads(capsys.readouterr().out)
    assert [canonical(r) for r in by_pyshacl["results"]] == [canonical(r) for r in report["results"]]


def test_validate_command_on_unreadable_input(tmp_path, capsys):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix a: <http://a#> .\na:x a:y a:z .\na:x a:y \n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.ttl" in err and "line 4" in err
    assert main(["validate", str(tmp_path / "missing.nt")]) == 2
    assert main(["validate", str(tmp_path / "x.docx")]) == 2
    assert main(["validate", "--format", "yaml"]) == 2


@pytest.fixture
def invalid_project(tmp_path) -> Path:
    """The two documents' data with an implausible staff number."""
    root = tmp_path / "project"
    for d in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / d, root / d)
    for d in ("budget-pages", "figures", "continuity", "counterparts"):  # pyshacl is too slow on them (above)
        shutil.rmtree(root / "data" / d)
    (root / "data/alignments/national-2008--31-tottori-pages.yaml").unlink()
    sheet = root / "data/prefectures/20-nagano/070201-2025.yaml"
    # the YAML format allows any staff number ≥ 0; the shapes cap it at a plausible size
    sheet.write_text(sheet.read_text().replace("general_revenue: 125684, staff: 23.8",
                                               "general_revenue: 125684, staff: 238000"))
    return root


def test_build_refuses_an_invalid_graph(invalid_project, tmp_path, capsys):
    root = invalid_project
    assert main(["build", "--root", str(root), "--out", str(tmp_path / "out")]) == 1
    assert "StaffObservationShape" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["build", "--root", str(root), "--out", str(tmp_path / "out"), "--no-validate"]) == 0
    assert (tmp_path / "out" / "policygraph.trig").exists()


@pytest.mark.slow
def test_build_with_pyshacl_refuses_an_invalid_graph(invalid_project, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", "--root", str(invalid_project), "--out", str(out), "--engine", "pyshacl"]) == 1
    assert "StaffObservationShape" in capsys.readouterr().err
    assert not out.exists()


def _drop(s, p):
    return lambda g: g.remove((ID[s], p, None))


def _set(s, p, o):
    return lambda g: g.set((ID[s], p, o))


DCT_TITLE = URIRef("http://purl.org/dc/terms/title")

# One mutation per remaining node shape: (what is broken, mutation, the one (shape, focus) that must fire)
MORE = [
    ("component that is not a program", lambda g: g.add((PROJECT, PG.hasComponent, ID["fiscal-year/2025"])),
     ("PublicProgramShape / pg:hasComponent", "prefectural-project/20/070201")),
    ("national program without tier", _drop("national-program/2008/3-2-2-a", PG.tier),
     ("NationalProgramShape / pg:tier", "national-program/2008/3-2-2-a")),
    ("malformed project number", _set("prefectural-project/20/070201", PG.projectNumber, Literal("7-2-1")),
     ("PrefecturalProjectShape / pg:projectNumber", "prefectural-project/20/070201")),
    ("sub-project outside any project", _drop("sub-project/20/070201/3", PG.componentOf),
     ("SubProjectShape / pg:componentOf", "sub-project/20/070201/3")),
    ("unknown delivery method", _set("initiative/20/070201/1/1", PG.deliveryMethod, ID["code/tier/national"]),
     ("InitiativeShape / pg:deliveryMethod", "initiative/20/070201/1/1")),
    ("output without unit", _drop("planned-output/20/070201/1/1/2025/1", PG.unitText),
     ("PlannedOutputShape / pg:unitText", "planned-output/20/070201/1/1/2025/1")),
    ("staff count that is not a number",
     _set("staff/prefectural-project/20/070201/2024/current", PG.staffCount, Literal("many")),
     ("StaffObservationShape / pg:staffCount", "staff/prefectural-project/20/070201/2024/current")),
    ("KPI of no program", _drop("kpi/20/070201/3", PG.indicatorOf), ("KPIShape / pg:indicatorOf", "kpi/20/070201/3")),
    ("goal outside any policy area", _drop("plan-goal/20/sogo-5kanen/2", PG.policyArea),
     ("PlanGoalShape / pg:policyArea", "plan-goal/20/sogo-5kanen/2")),
    ("policy area without its number", _drop("policy-area/20/sogo-5kanen/2-1-1", SKOS.notation),
     ("PolicyAreaShape / skos:notation", "policy-area/20/sogo-5kanen/2-1-1")),
    ("source section without path", _drop("source/20-070201-2025/section/4", PG.sectionPath),
     ("SourceSectionShape / pg:sectionPath", "source/20-070201-2025/section/4")),
    ("source document without title", _drop("source/national-sme-plan-2008", DCT_TITLE),
     ("SourceDocumentShape / dcterms:title", "source/national-sme-plan-2008")),
    ("fiscal year with a string year", _set("fiscal-year/2025", PG.year, Literal("2025")),
     ("FiscalYearShape / pg:year", "fiscal-year/2025")),
    ("national program on the prefectural side", _set("alignment/overseas-expansion", PG.prefecturalSide,
                                                      ID["national-program/2008/3-2-2-a"]),
     ("AlignmentShape / pg:prefecturalSide", "alignment/overseas-expansion")),
    ("evidence of one character", _set("alignment/overseas-expansion", PG.nationalEvidence, Literal("x", lang="ja")),
     ("AlignmentShape / pg:nationalEvidence", "alignment/overseas-expansion")),
    ("rationale in English only", _set("alignment/overseas-expansion", PG.rationale, Literal("related", lang="en")),
     ("AlignmentShape / pg:rationale", "alignment/overseas-expansion")),
    ("provenance given as text", _set("budget/prefectural-project/20/070201/2023/settlement/all", PROV.wasDerivedFrom,
                                      Literal("県の資料")),
     ("provenance", "budget/prefectural-project/20/070201/2023/settlement/all")),
    ("implausible staff count", _set("staff/prefectural-project/20/070201/2024/current", PG.staffCount,
                                     Literal("238000", datatype=XSD.decimal)),
     ("StaffObservationShape / pg:staffCount", "staff/prefectural-project/20/070201/2024/current")),
]


@pytest.mark.parametrize("what,mutate,expected", MORE, ids=[m[0] for m in MORE])
def test_each_node_shape_catches_its_mistake(graph, fired, what, mutate, expected):
    mutate(graph)
    assert fired(graph) == {expected}

# ------------------------------------------------------------------ the two engines agree


def canonical(result) -> dict:
    """A result with numbers in canonical form (Oxigraph stores "65492.0"^^xsd:decimal as "65492") and the
    parts of a GROUP_CONCAT sorted (SPARQL leaves their order to the engine)."""
    def text(v: str) -> str:
        return "|".join(sorted(re.split(r", |: ", re.sub(r"(\d)\.0(?!\d)", r"\1", v))))
    fields = result if isinstance(result, dict) else result.__dict__
    return {k: text(v) if isinstance(v, str) else v for k, v in fields.items()}


def _duplicate(g):
    original = obs("prefectural-project/20/070201/2024/supplementary/all")
    for p, o in list(g.predicate_objects(original)):
        g.add((ID["budget/duplicate"], p, o))


SEVERAL = [  # mutations whose results carry no number the store would rewrite
    *(m[1] for m in MORE),
    _drop("initiative/20/070201/1/2", RDFS.label),
    _duplicate,
    _set("budget/prefectural-project/20/070201/2023/initial/all", PROV.wasDerivedFrom,
         ID["source/20-070201-2025/section/no-such-section"]),
    lambda g: g.add((ID["alignment/overseas-expansion"], PG.nationalSide, ID["national-program/2008/3-2-2-a"])),
    _set("budget/prefectural-project/20/070201/2024/supplementary/all", PG.amount, Literal("23904")),
    _set("budget/prefectural-project/20/070201/2023/settlement/all", PG.amount, Literal("-1", datatype=XSD.decimal)),
    _set("budget/prefectural-project/20/070201/2023/settlement/all", PG.budgetStage, ID["code/delivery-method/direct"]),
    _drop("budget/prefectural-project/20/070201/2023/current/general-revenue", PROV.wasDerivedFrom),
    _set("prefecture/47", SKOS.notation, Literal("48")),
]


def test_engines_give_identical_results_on_many_mistakes_at_once(graph, shapes):
    for mutate in SEVERAL:
        mutate(graph)
    by_pyshacl, by_oxigraph = validate(graph, shapes, "pyshacl"), validate(graph, shapes, "oxigraph")
    assert by_oxigraph.results == by_pyshacl.results
    assert by_oxigraph.conforms is by_pyshacl.conforms is False
    components = {r.component for r in by_oxigraph.results}
    assert {"ClassConstraintComponent", "DatatypeConstraintComponent", "InConstraintComponent",
            "MinCountConstraintComponent", "MaxCountConstraintComponent", "MinInclusiveConstraintComponent",
            "MaxInclusiveConstraintComponent", "MinLengthConstraintComponent", "NodeKindConstraintComponent",
            "PatternConstraintComponent", "NotConstraintComponent", "QualifiedMinCountConstraintComponent",
            "SPARQLConstraintComponent"} <= components
    assert len({r.shape for r in by_oxigraph.results}) >= 20
    assert len(validate(graph, shapes, "oxigraph").graph) == len(by_oxigraph.graph)  # the report is RDF


@pytest.mark.slow
def test_engines_agree_on_sums_up_to_canonical_numbers(graph, shapes):
    graph.set((obs("sub-project/20/070201/2/2025/draft/all"), PG.amount, Literal("65492.0", datatype=XSD.decimal)))
    graph.set((obs("prefectural-project/20/070201/2024/current/all"), PG.amount,
               Literal("2201099.0", datatype=XSD.decimal)))
    graph.add((ID["indicator-observation/kpi/20/070201/1/2025/target"], PG.value,
               Literal("1300.0", datatype=XSD.decimal)))
    by_pyshacl, by_oxigraph = validate(graph, shapes, "pyshacl"), validate(graph, shapes, "oxigraph")
    assert {r.shape.removeprefix(SH) for r in by_oxigraph.results} == {
        "ComponentSumShape", "CurrentBudgetShape", "IndicatorObservationShape"}
    assert [canonical(r) for r in by_oxigraph.results] == [canonical(r) for r in by_pyshacl.results]


def test_a_triple_stored_in_two_graphs_counts_once(valid, shapes):
    """Oxigraph's union of graphs repeats such a triple; the sums of ComponentSumShape must not count it twice."""
    store = ox.Store()
    nt = valid.serialize(format="nt", encoding="utf-8")
    for g in ("https://example.org/a", "https://example.org/b"):
        store.bulk_load(nt, ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(g))
    report = validate_store(store, shapes)
    assert report.conforms, report.results[:3]


# ------------------------------------------------------------------ what the Oxigraph engine refuses

EXTRA = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix pg: <https://w3id.org/policygraph/def#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/shapes#> .
"""

UNSUPPORTED = [
    ("closed shape", "ex:Extra a sh:NodeShape ; sh:targetClass pg:Alignment ; sh:closed true .",
     "ex:Extra", "sh:closed"),
    ("inverse path", "ex:Extra a sh:NodeShape ; sh:targetClass pg:Initiative ; "
                     "sh:property [ sh:path [ sh:inversePath pg:outputOf ] ; sh:minCount 1 ] .",
     "ex:Extra → sh:property [ ]", "a sh:path that is not a single property IRI"),
    ("derived integer datatype", "ex:Extra a sh:NodeShape ; sh:targetClass pg:FiscalYear ; "
                                 "sh:property [ sh:path pg:year ; sh:datatype xsd:int ] .",
     "(sh:path pg:year)", "sh:datatype xsd:int"),
    ("node targets", "ex:Extra a sh:NodeShape ; sh:targetNode pg:x ; sh:nodeKind sh:IRI .",
     "ex:Extra", "sh:targetNode"),
    ("$this bound only inside OPTIONAL", '''ex:Extra a sh:NodeShape ; sh:targetClass pg:KPI ; sh:sparql [
        a sh:SPARQLConstraint ; sh:select "SELECT $this WHERE { ?x ?y ?z OPTIONAL { $this ?p ?x } }" ] .''',
     "ex:Extra → sh:sparql [ ]", "uses $this without binding"),
    ("a SPARQL constraint that does not select $this", '''ex:Extra a sh:NodeShape ; sh:targetClass pg:KPI ;
        sh:sparql [ a sh:SPARQLConstraint ; sh:select "SELECT ?value WHERE { $this ?p ?value }" ] .''',
     "ex:Extra → sh:sparql [ ]", "does not select $this"),
]


@pytest.mark.parametrize("what,turtle,shape,feature", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_shacl_is_an_error_naming_shape_and_feature(valid, shapes, what, turtle, shape, feature):
    extended = Graph()
    for t in shapes:
        extended.add(t)
    extended.parse(data=EXTRA + turtle, format="turtle")
    with pytest.raises(UnsupportedShape) as raised:
        validate_store(to_store(valid), extended)
    assert shape in str(raised.value) and feature in str(raised.value)
