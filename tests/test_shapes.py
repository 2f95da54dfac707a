"""SHACL shapes: the shipped data is valid, and each kind of mistake is caught by exactly its shape."""

import json
import shutil

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDFS, SKOS, XSD

from policygraph.build import union_graph
from policygraph.cli import main
from policygraph.ids import ID, PG
from policygraph.validate import load_shapes, validate_graph

from conftest import ROOT

SH = "https://w3id.org/policygraph/shapes#"
PROJECT = ID["prefectural-project/20/070201"]


def obs(path: str) -> URIRef:
    return ID[f"budget/{path}"]


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(ROOT)


@pytest.fixture(scope="module")
def valid(build) -> Graph:
    return union_graph(build.dataset, with_shapes=False)


@pytest.fixture
def graph(valid) -> Graph:
    g = Graph()
    for t in valid:
        g.add(t)
    return g


def fired(graph, shapes) -> set[tuple[str, str]]:
    report = validate_graph(graph, shapes)
    assert report.conforms == (not report.results)
    return {(r.shape.removeprefix(SH), r.focus.removeprefix(str(ID))) for r in report.results}


def test_shipped_data_is_valid(valid, shapes):
    report = validate_graph(valid, shapes)
    assert report.conforms, [r for r in report.results]


def test_sub_project_amount_changed_by_one(graph, shapes):
    graph.set((obs("sub-project/20/070201/2/2025/draft/all"), PG.amount, Literal("65492.0", datatype=XSD.decimal)))
    report = validate_graph(graph, shapes)
    assert {(r.shape.removeprefix(SH), r.focus) for r in report.results} == {("ComponentSumShape", str(PROJECT))}
    [r] = report.results
    message = f"{r.message_ja} {r.message_en}"
    assert "368079" in message and "368078" in message and "マーケティング支援事業費 65492" in message


def test_current_budget_is_carried_plus_initial_plus_supplementary(graph, shapes):
    graph.set((obs("prefectural-project/20/070201/2024/current/all"), PG.amount, Literal("2201099.0", datatype=XSD.decimal)))
    assert fired(graph, shapes) == {("CurrentBudgetShape", "prefectural-project/20/070201")}


def test_dropped_japanese_label(graph, shapes):
    initiative = ID["initiative/20/070201/1/2"]
    graph.remove((initiative, RDFS.label, Literal("ながの産業支援ネット推進事業", lang="ja")))
    assert fired(graph, shapes) == {("japaneseLabel", "initiative/20/070201/1/2")}


def test_duplicate_observation(graph, shapes):
    original = obs("prefectural-project/20/070201/2024/supplementary/all")
    copy = ID["budget/duplicate"]
    for p, o in list(graph.predicate_objects(original)):
        graph.add((copy, p, o))
    assert fired(graph, shapes) == {("UniqueBudgetShape", "budget/duplicate"),
                                    ("UniqueBudgetShape", "budget/prefectural-project/20/070201/2024/supplementary/all")}


def test_link_to_a_missing_resource(graph, shapes):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.set((o, PROV.wasDerivedFrom, ID["source/20-070201-2025/section/no-such-section"]))
    assert fired(graph, shapes) == {("NoDanglingLinkShape", "budget/prefectural-project/20/070201/2023/settlement/all")}


def test_string_where_a_decimal_belongs(graph, shapes):
    o = obs("prefectural-project/20/070201/2024/supplementary/all")
    graph.set((o, PG.amount, Literal("23904")))
    assert fired(graph, shapes) == {("BudgetObservationShape / pg:amount", "budget/prefectural-project/20/070201/2024/supplementary/all")}


def test_negative_amount(graph, shapes):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.set((o, PG.amount, Literal("-1.0", datatype=XSD.decimal)))
    assert fired(graph, shapes) == {("BudgetObservationShape / pg:amount", "budget/prefectural-project/20/070201/2023/settlement/all")}


def test_stage_outside_the_code_list(graph, shapes):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.set((o, PG.budgetStage, URIRef("https://w3id.org/policygraph/id/code/delivery-method/direct")))
    assert fired(graph, shapes) == {("BudgetObservationShape / pg:budgetStage", "budget/prefectural-project/20/070201/2023/settlement/all")}


def test_observation_without_provenance(graph, shapes):
    o = obs("prefectural-project/20/070201/2023/settlement/all")
    graph.remove((o, PROV.wasDerivedFrom, None))
    assert fired(graph, shapes) == {("provenance", "budget/prefectural-project/20/070201/2023/settlement/all")}


def test_alignment_without_evidence(graph, shapes):
    a = ID["alignment/overseas-expansion"]
    graph.remove((a, PG.nationalEvidence, None))
    assert fired(graph, shapes) == {("AlignmentShape / pg:nationalEvidence", "alignment/overseas-expansion")}


def test_alignment_with_two_national_sides(graph, shapes):
    a = ID["alignment/overseas-expansion"]
    graph.add((a, PG.nationalSide, ID["national-program/2008/3-2-2-a"]))
    assert fired(graph, shapes) == {("AlignmentShape / pg:nationalSide", "alignment/overseas-expansion")}


def test_jis_code_out_of_range(graph, shapes):
    graph.set((ID["prefecture/47"], SKOS.notation, Literal("48")))
    assert fired(graph, shapes) == {("PrefectureShape / skos:notation", "prefecture/47")}


def test_value_where_the_source_has_none(graph, shapes):
    o = ID["indicator-observation/kpi/20/070201/1/2025/target"]
    graph.add((o, PG.value, Literal("1300.0", datatype=XSD.decimal)))
    assert fired(graph, shapes) == {("IndicatorObservationShape", "indicator-observation/kpi/20/070201/1/2025/target")}


# ------------------------------------------------------------------ the command


def test_validate_command_on_the_shipped_data(capsys):
    assert main(["validate"]) == 0
    assert "valid" in capsys.readouterr().out


def test_validate_command_on_a_changed_dump(build, tmp_path, capsys):
    nt = tmp_path / "policygraph.nt"
    union_graph(build.dataset).serialize(nt, format="nt", encoding="utf-8")
    text = nt.read_text(encoding="utf-8")
    target = '<https://w3id.org/policygraph/id/budget/sub-project/20/070201/2/2025/draft/all> <https://w3id.org/policygraph/def#amount> "65491.0"'
    assert target in text
    nt.write_text(text.replace(target, target.replace("65491.0", "65492.0")), encoding="utf-8")
    assert main(["validate", str(nt)]) == 1
    out = capsys.readouterr().out
    assert "ComponentSumShape" in out and "中小企業経営支援関連事業費" in out and "マーケティング支援事業費 65492" in out
    assert main(["validate", str(nt), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["conforms"] is False and len(report["results"]) == 1
    assert main(["validate", str(nt), "--format", "turtle"]) == 1
    assert len(Graph().parse(data=capsys.readouterr().out, format="turtle")) > 5


def test_validate_command_on_unreadable_input(tmp_path, capsys):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix a: <http://a#> .\na:x a:y a:z .\na:x a:y \n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.ttl" in err and "line 4" in err
    assert main(["validate", str(tmp_path / "missing.nt")]) == 2
    assert main(["validate", str(tmp_path / "x.docx")]) == 2
    assert main(["validate", "--format", "yaml"]) == 2


def test_build_refuses_an_invalid_graph(tmp_path, capsys):
    root = tmp_path / "project"
    for d in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / d, root / d)
    sheet = root / "data/prefectures/20-nagano/070201-2025.yaml"
    # the YAML format allows any staff number ≥ 0; the shapes cap it at a plausible size
    sheet.write_text(sheet.read_text().replace("general_revenue: 125684, staff: 23.8", "general_revenue: 125684, staff: 238000"))
    assert main(["build", "--root", str(root), "--out", str(tmp_path / "out")]) == 1
    assert "StaffObservationShape" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["build", "--root", str(root), "--out", str(tmp_path / "out"), "--no-validate"]) == 0
    assert (tmp_path / "out" / "policygraph.trig").exists()


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
    ("staff count that is not a number", _set("staff/prefectural-project/20/070201/2024/current", PG.staffCount, Literal("many")),
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
]


@pytest.mark.parametrize("what,mutate,expected", MORE, ids=[m[0] for m in MORE])
def test_each_node_shape_catches_its_mistake(graph, shapes, what, mutate, expected):
    mutate(graph)
    assert fired(graph, shapes) == {expected}
