"""The built dataset, checked by SPARQL against figures read from the source documents."""

from collections import Counter
from decimal import Decimal

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from policygraph.quality.cross_checks import budget_problems
from policygraph.transform.ids import PG
from policygraph.quality.inference import InconsistencyError, entailments

from conftest import select
from test_transcription import national_budgets_in_source

NAGANO = "https://w3id.org/policygraph/id/prefectural-project/20/070201"

# Figures as printed on the Nagano sheet (千円), the test's own reading of the source.
SUB_PROJECTS = {  # no: (FY2023 当初, FY2024 当初, FY2025 要求, FY2025 予算案); None = printed ー
    1: (10237, 9622, 9770, 9770),
    2: (86880, 71729, 81980, 65491),
    3: (16000, 16000, 16000, 16000),
    4: (None, None, 10355, 0),
    5: (79903, 71994, 58805, 67433),
    6: (2122, 2174, 2434, 2434),
    7: (2906, 2853, 2131, 188),
    8: (812569, 3000, 100420, 34079),
    9: (18556, None, 3135, 172683),
}
PROJECT = {  # (year, stage, funding): amount
    (2023, "carried-over", "all"): 4566423, (2023, "initial", "all"): 1029173,
    (2023, "supplementary", "all"): 1942205, (2023, "current", "all"): 7537801,
    (2023, "current", "general-revenue"): 163461, (2023, "settlement", "all"): 5586464,
    (2024, "carried-over", "all"): 1999822, (2024, "initial", "all"): 177372,
    (2024, "supplementary", "all"): 23904, (2024, "current", "all"): 2201098,
    (2024, "current", "general-revenue"): 125684,
    (2025, "request", "all"): 285030, (2025, "request", "general-revenue"): 240069,
    (2025, "draft", "all"): 368078, (2025, "draft", "general-revenue"): 131144,
}

BUDGETS = """
SELECT ?program ?year ?stage ?funding ?amount WHERE {
  ?o a pg:BudgetObservation ; pg:program ?program ; pg:fiscalYear/pg:year ?year ;
     pg:budgetStage/skos:notation ?stage ; pg:fundingSource/skos:notation ?funding ; pg:amount ?amount .
}"""


def nagano_budgets(store):
    out = {}
    for r in select(store, BUDGETS):
        if r["program"].startswith(("https://w3id.org/policygraph/id/sub-project/20/070201/", NAGANO)):
            out[(r["program"].removeprefix("https://w3id.org/policygraph/id/"), int(r["year"]), r["stage"],
                 r["funding"])] = Decimal(r["amount"])
    return out


def test_every_nagano_budget_figure_is_in_the_graph(store):
    expected = {}
    for no, cells in SUB_PROJECTS.items():
        columns = [(2023, "initial"), (2024, "initial"), (2025, "request"), (2025, "draft")]
        for (year, stage), amount in zip(columns, cells, strict=True):
            if amount is not None:
                expected[(f"sub-project/20/070201/{no}", year, stage, "all")] = amount
    for (year, stage, funding), amount in PROJECT.items():
        expected[("prefectural-project/20/070201", year, stage, funding)] = amount
    assert nagano_budgets(store) == expected


def test_fy2025_draft_of_each_sub_project(store):
    rows = select(store, """
      SELECT ?no ?amount WHERE { GRAPH ?g {
        ?sp a pg:SubProject ; skos:notation ?no ; pg:componentOf id:prefectural-project\\/20\\/070201 .
        ?o pg:program ?sp ; pg:fiscalYear id:fiscal-year\\/2025 ; pg:budgetStage code:budget-stage\\/draft ;
           pg:amount ?amount . } }""")
    assert {int(r["no"]): int(r["amount"]) for r in rows} == {no: c[3] for no, c in SUB_PROJECTS.items()}


def test_staff_numbers(store):
    rows = select(store, "SELECT ?year ?stage ?n WHERE { ?o a pg:StaffObservation ; pg:fiscalYear/pg:year ?year ; "
                         "pg:program id:prefectural-project\\/20\\/070201 ; "
                         "pg:budgetStage/skos:notation ?stage ; pg:staffCount ?n }")
    assert sorted((int(r["year"]), r["stage"], Decimal(r["n"])) for r in rows) == [
        (2024, "current", Decimal("23.8")), (2025, "draft", Decimal("23.8")), (2025, "request", Decimal("23.8"))]


def test_every_national_budget_is_in_the_graph(store):
    rows = select(store, """
      SELECT ?p ?now ?prior ?new WHERE {
        ?p a pg:NationalProgram .
        ?o pg:program ?p ; pg:fiscalYear id:fiscal-year\\/2008 ; pg:amount ?now .
        OPTIONAL { ?q pg:program ?p ; pg:fiscalYear id:fiscal-year\\/2007 ; pg:amount ?prior . }
        OPTIONAL { ?p pg:newInFiscalYear ?new . }
      }""")
    in_graph = Counter((int(r["now"]), int(r["prior"]) if r["prior"] else None) for r in rows)
    assert all(r["prior"] or r["new"] for r in rows)
    assert in_graph == Counter(national_budgets_in_source())


def test_chiikiryoku_renkei_kyoten(store):
    rows = select(store, """
      SELECT ?amount ?tier ?section WHERE {
        ?p rdfs:label "地域力連携拠点事業（経営力向上・事業承継等先進的支援体制構築事業）"@ja ; pg:tier ?tier ;
           pg:planSection/rdfs:label ?section ; pg:newInFiscalYear id:fiscal-year\\/2008 .
        ?o pg:program ?p ; pg:fiscalYear id:fiscal-year\\/2008 ; pg:amount ?amount . FILTER(lang(?section) = "ja") }""")
    assert rows == [{"amount": "5163417", "tier": "https://w3id.org/policygraph/id/code/tier/national",
                     "section": "中小企業経営支援等対策"}]


def test_national_programs_by_tier(store):
    rows = select(store, """SELECT ?tier (COUNT(?p) AS ?n) WHERE {
        ?p a pg:NationalProgram ; pg:tier/skos:notation ?tier } GROUP BY ?tier""")
    counts = {r["tier"]: int(r["n"]) for r in rows}
    assert counts["national"] == 35 and counts["prefectural"] > 5 and counts["smrj"] > 10


def test_superclass_and_superproperty_queries_find_subclass_data(store):
    by_class = select(store, """SELECT ?c (COUNT(DISTINCT ?p) AS ?n) WHERE {
        VALUES ?c { pg:NationalProgram pg:PrefecturalProject pg:SubProject pg:Initiative } ?p a ?c } GROUP BY ?c""")
    total = sum(int(r["n"]) for r in by_class)
    [public] = select(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a pg:PublicProgram }")
    assert int(public["n"]) == total
    parts = select(store, f"SELECT ?part WHERE {{ <{NAGANO}> dcterms:hasPart ?part }}")
    assert len(parts) == 9


def test_kpis_say_their_values_are_missing(store):
    kpis = select(store, f"""SELECT ?k ?why WHERE {{
        ?k a pg:KPI ; pg:indicatorOf <{NAGANO}> ; pg:targetRationale ?why }}""")
    assert len(kpis) == 5
    obs = select(store, f"""SELECT ?o ?status ?value WHERE {{
        ?o pg:indicator ?k ; pg:valueStatus/skos:notation ?status .
        ?k pg:indicatorOf <{NAGANO}> . OPTIONAL {{ ?o pg:value ?value }} }}""")
    assert len(obs) == 20  # 5 KPIs × R4, R5, R6見込, R7目標
    assert {(r["status"], r["value"]) for r in obs} == {("missing-in-source", None)}


def test_plan_goals(store):
    rows = select(store, """SELECT ?goal ?principal ?target ?area WHERE {
        ?g a pg:PlanGoal ; rdfs:label ?goal ; pg:isPrincipalGoal ?principal ; pg:policyArea/skos:notation ?area .
        ?t pg:indicator ?g ; pg:valueRole code:value-role\\/target ; pg:fiscalYear id:fiscal-year\\/2025 ;
           pg:value ?target .
        FILTER(lang(?goal) = "ja") }""")
    assert sorted((r["goal"], r["principal"], Decimal(r["target"]), r["area"]) for r in rows) == [
        ("労働生産性(2020年度比)", "true", Decimal("11.2"), "2-1①"),
        ("製造業の従業者一人当たり付加価値額(2020年比)", "false", Decimal("11.2"), "2-1①"),
    ]
    baselines = select(store, """SELECT ?s WHERE {
        ?o pg:indicator/a pg:PlanGoal ; pg:valueRole code:value-role\\/baseline ; pg:valueStatus/skos:notation ?s
        FILTER NOT EXISTS { ?o pg:value ?v } }""")
    assert [r["s"] for r in baselines] == ["ambiguous-in-source"] * 2


def test_alignments_are_complete_and_sourced(store):
    rows = select(store, """SELECT ?a (COUNT(DISTINCT ?src) AS ?sources) WHERE {
        ?a a pg:Alignment ; pg:nationalSide/a pg:NationalProgram ; pg:prefecturalSide/a pg:PublicProgram ;
           pg:alignmentType ?t ; pg:rationale ?r ; pg:nationalEvidence ?n ; pg:prefecturalEvidence ?p ;
           prov:wasAttributedTo ?who ; prov:wasDerivedFrom ?src . } GROUP BY ?a""")
    assert len(rows) >= 10 and all(int(r["sources"]) == 3 for r in rows)
    net = select(store, """SELECT ?type WHERE {
        ?a pg:nationalSide/rdfs:label "地域力連携拠点事業（経営力向上・事業承継等先進的支援体制構築事業）"@ja ;
           pg:prefecturalSide/rdfs:label "ながの産業支援ネット推進事業"@ja ; pg:alignmentType/skos:notation ?type }""")
    assert net == [{"type": "related"}]
    # the project inherits its parts' alignments through the ontology's property chain
    shortcut = select(store, f"SELECT DISTINCT ?n WHERE {{ <{NAGANO}> pg:alignedWith ?n }}")
    assert len(shortcut) >= 10


def test_every_observation_and_alignment_has_provenance(store):
    rows = select(store, """SELECT ?x WHERE {
        { ?x a qb:Observation } UNION { ?x a pg:Alignment } UNION { ?x a pg:PlannedOutput }
        FILTER NOT EXISTS { ?x prov:wasDerivedFrom ?s } }""")
    assert rows == []
    sections = select(store, "SELECT ?s WHERE { ?x prov:wasDerivedFrom ?s . FILTER NOT EXISTS { ?s a ?type } }")
    assert sections == [], "provenance must point at a described section or document"


def test_every_labelled_resource_has_a_japanese_label(store):
    rows = select(store, """SELECT DISTINCT ?s WHERE { ?s rdfs:label ?l .
        FILTER NOT EXISTS { ?s rdfs:label ?j FILTER(lang(?j) = "ja") }
        FILTER STRSTARTS(STR(?s), "https://w3id.org/policygraph/") }""")
    assert rows == []


def test_every_pg_term_used_is_declared(build):
    onto = build.dataset.graph(URIRef("https://w3id.org/policygraph/graph/ontology"))
    used = set()
    for g in build.dataset.graphs():
        if g.identifier == onto.identifier:
            continue
        for _, p, o in g:
            terms = (p, o if p == RDF.type else None)
            used |= {t for t in terms if isinstance(t, URIRef) and str(t).startswith(str(PG))}
    declared = {s for s in onto.subjects() if str(s).startswith(str(PG))}
    assert used and used <= declared, used - declared


def test_ontology_terms_have_labels_and_definitions_in_both_languages(build):
    onto = build.dataset.graph(URIRef("https://w3id.org/policygraph/graph/ontology"))
    skos_def = URIRef("http://www.w3.org/2004/02/skos/core#definition")
    terms = {s for t in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty) for s in onto.subjects(RDF.type, t)}
    assert len(terms) > 60
    for term in terms:
        for prop in (RDFS.label, skos_def):
            langs = {o.language for o in onto.objects(term, prop)}
            assert {"ja", "en"} <= langs, (term, prop)
        if (term, RDF.type, OWL.Class) not in onto:
            assert (term, RDFS.domain, None) in onto or (term, RDFS.range, None) in onto, term


def test_cross_checks_catch_a_changed_number(build):
    store = build.store
    assert budget_problems(store) == []
    obs = "https://w3id.org/policygraph/id/budget/sub-project/20/070201/2/2025/draft/all"
    import pyoxigraph as ox
    quad = next(iter(store.quads_for_pattern(ox.NamedNode(obs), ox.NamedNode(str(PG.amount)), None)))
    copy = ox.Store()
    copy.bulk_extend(q for q in store if q != quad)
    copy.add(ox.Quad(quad.subject, quad.predicate, ox.Literal("65492", datatype=quad.object.datatype), quad.graph_name))
    [problem] = budget_problems(copy)
    assert "中小企業経営支援関連事業費" in problem and "FY2025 draft" in problem
    assert "368,079" in problem and "368,078" in problem


def test_inconsistent_data_is_refused(build):
    onto = build.dataset.graph(URIRef("https://w3id.org/policygraph/graph/ontology"))
    bad = Graph()
    for t in onto:
        bad.add(t)
    x = URIRef("https://w3id.org/policygraph/id/sub-project/99/000000/1")
    bad.add((x, RDF.type, PG.SubProject))
    bad.add((x, RDF.type, PG.NationalProgram))
    with pytest.raises(InconsistencyError):
        entailments(bad)


def test_shipped_data_is_consistent(build):
    inferred = build.dataset.graph(URIRef("https://w3id.org/policygraph/graph/inferred"))
    assert (URIRef(NAGANO), RDF.type, PG.PublicProgram) in inferred
    assert not list(inferred.triples((None, RDF.type, OWL.Nothing)))
    assert all(isinstance(t[2], (URIRef, Literal)) for t in inferred)
