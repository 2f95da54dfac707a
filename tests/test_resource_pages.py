"""Resource pages designed per kind, read as a browser gets them from the real app on the built graph:
prefectures (projects, totals by year and stage, chart), Nagano's project (sub-project × year × stage
table with the cross-check, KPIs and plan goals with not-in-source markers), and on every page the
inferred statements folded away, incoming links grouped by property, source sections by their labels.

Every expectation comes from SPARQL over the same build, never from figures written here.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup, Tag
from conftest import select
from pages import children, find, one, soup, text

from policygraph.web.html import T, safe_href
from policygraph.web.views.project import Check

ID = "https://w3id.org/policygraph/id/"
PROJECT = ID + "prefectural-project/20/070201"
INFERRED = "https://w3id.org/policygraph/graph/inferred"
PC = "<https://w3id.org/policygraph/id/code/cost-component/project-cost>"


def page(client, path: str, lang: str = "ja") -> BeautifulSoup:
    r = client.get(path, params={"lang": lang}, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[:300]
    client.cookies.clear()
    return soup(r.text)


def comma(amount: str) -> str:
    return f"{Decimal(amount):,.0f}"


def href(iri: str) -> str:
    found = safe_href(iri)
    assert found is not None
    return found


def links(node: Tag) -> dict[str, str]:
    """href → link text of every link under node."""
    return {a.attrs["href"]: text(a) for a in find(node, "a") if "href" in a.attrs}


# ---- Nagano's project: sub-projects × fiscal year × stage ------------------------------------

def _figures(store, program_pattern: str, year: str, stage: str) -> dict[str, list[str]]:
    rows = select(store, f"""SELECT DISTINCT ?x ?amount WHERE {{ {program_pattern}
        ?o pg:program ?x ; pg:fiscalYear/pg:year ?y ; pg:budgetStage/skos:notation "{stage}" ;
           pg:fundingSource/skos:notation "all" ; pg:costComponent {PC} ; pg:amount ?amount
        FILTER(STR(?y) = "{year}") }}""")
    found: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        found[r["x"]].append(r["amount"])
    return found


@pytest.mark.parametrize("stage", ["request", "draft"])
def test_sub_project_table_fy2025_equals_the_store(client, store, stage):
    doc = page(client, "/id/prefectural-project/20/070201")
    table = one(doc, "table", id="sub-project-budgets")
    assert text(one(table, "caption"))
    subs = {r["s"] for r in select(store, f"SELECT ?s WHERE {{ ?s pg:componentOf <{PROJECT}> }}")}
    rows = children(one(table, "tbody"), "tr")
    assert len(rows) == len(subs) and {r.attrs["data-iri"] for r in rows} == subs
    assert all(one(r, "th").attrs["scope"] == "row" for r in rows)
    heads = children(children(one(table, "thead"), "tr")[1], "th")
    col = [i for i, th in enumerate(heads) if th.attrs["data-year"] == "2025" and th.attrs["data-stage"] == stage]
    assert len(col) == 1, "one column for FY2025 at this stage"
    i = col[0]
    figures = _figures(store, f"?x pg:componentOf <{PROJECT}> .", "2025", stage)
    assert figures, "the store has FY2025 figures of the sub-projects at this stage"
    for row in rows:
        shown = text(children(row, "td")[i])
        amounts = figures.get(row.attrs["data-iri"])
        assert shown == (" / ".join(comma(a) for a in sorted(amounts, key=Decimal)) if amounts else
                         T["r-no-figure"][0] + "—")
    # the totals row, the project's printed figure and the check between them
    total = sum(Decimal(a[0]) for a in figures.values())
    printed = _figures(store, f"BIND(<{PROJECT}> AS ?x)", "2025", stage)[PROJECT]
    foot = {" ".join(tr["class"]): children(tr, "td")[i] for tr in children(one(table, "tfoot"), "tr")}
    assert text(foot["sum"]) == comma(str(total))
    assert text(foot["printed"]) == comma(printed[0])
    expected = "match" if total == Decimal(printed[0]) else "differs"
    assert foot["check"].attrs["data-status"] == expected
    assert (T["r-check-match"][0] in foot["check"].get_text()) == (expected == "match")


def test_cross_check_statuses():
    assert Check(10, 10, [10]).status == "match"
    differs = Check(10, 10, [12])
    assert differs.status == "differs" and differs.difference == -2
    assert Check(10, 10, []).status == "no-printed"
    assert Check(10, 11, [10]).status == "ambiguous" and Check(10, 10, [10, 11]).status == "ambiguous"


def test_project_budget_table_and_chart_are_kept(client, store):
    doc = page(client, "/id/prefectural-project/20/070201")
    budget = one(doc, "table", id="budget")
    draft = _figures(store, f"BIND(<{PROJECT}> AS ?x)", "2025", "draft")[PROJECT]
    assert comma(draft[0]) in budget.get_text()
    svg = find(doc, "svg", class_="chart")[0]
    assert svg.attrs["role"] == "img" and svg.attrs["aria-label"] and one(svg, "title").get_text()


# ---- KPIs and plan goals --------------------------------------------------------------

def test_not_in_source_marker_exactly_where_the_graph_has_no_value(client, store):
    rows = select(store, f"""SELECT ?o ?value WHERE {{
        {{ ?i pg:indicatorOf <{PROJECT}> }} UNION {{ <{PROJECT}> pg:contributesTo ?i . ?i a pg:PlanGoal }}
        ?o pg:indicator ?i . OPTIONAL {{ ?o pg:value ?value }} }}""")
    missing = {r["o"] for r in rows if r["value"] is None}
    valued = {r["o"] for r in rows if r["value"] is not None}
    assert missing and valued, "the project has both kinds of observation"
    doc = page(client, "/id/prefectural-project/20/070201")
    marked = {td.attrs["data-observation"] for td in find(doc, "td", class_="no-value")}
    shown = {td.attrs["data-observation"] for td in find(doc, "td", class_="value")}
    assert marked == missing and shown == valued
    value_of = {r["o"]: r["value"] for r in rows}
    for td in find(doc, "td", class_="value"):
        assert text(td) == value_of[td.attrs["data-observation"]]
    not_in_source = [td for td in find(doc, "td", class_="missing-in-source")]
    assert not_in_source and all(T["r-not-in-source"][0] in td.get_text() for td in not_in_source)
    for table in find(doc, "table", class_="indicators"):
        assert text(one(table, "caption"))


# ---- every page: inferred statements, incoming links, source sections ----------------------------

def _stated_and_inferred(node: Tag) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """property href → value hrefs, outside and inside the inferred fold."""
    stated: dict[str, set[str]] = defaultdict(set)
    inferred: dict[str, set[str]] = defaultdict(set)
    for table in find(node, "table", class_="props"):
        for tr in children(one(table, "tbody"), "tr"):
            prop = find(one(tr, "th"), "a")[0].attrs["href"]
            target = inferred if table.find_parent("details") is not None else stated
            target[prop] |= {a.attrs["href"] for a in find(one(tr, "td"), "a")}
    return stated, inferred


def test_inferred_only_statements_appear_only_in_the_fold(client, store):
    rows = select(store, f"""SELECT ?p ?o ?only WHERE {{ <{PROJECT}> ?p ?o FILTER(isIRI(?o))
        BIND(NOT EXISTS {{ GRAPH ?g {{ <{PROJECT}> ?p ?o }} FILTER(?g != <{INFERRED}>) }} AS ?only) }}""")
    only = {(r["p"], r["o"]) for r in rows if r["only"] == "true"}
    assert only, "the inferred graph alone holds some of the project's statements"
    doc = page(client, "/id/prefectural-project/20/070201")
    fold = one(doc, "details", id="inferred")
    stated, inferred = _stated_and_inferred(doc)
    for p, o in only:
        if p.endswith("#type"):
            continue
        assert href(o) in inferred[href(p)] and href(o) not in stated.get(href(p), set())
    for p, o in {(r["p"], r["o"]) for r in rows} - only:
        if not p.endswith("#type"):
            assert href(o) in stated[href(p)]
    assert f"({len(select(store, _inferred_count_query()))})" in one(fold, "summary").get_text()


def _inferred_count_query() -> str:
    """Every inferred-only statement the fold holds: the project's own, and incoming properties whose links
    are all inferred-only."""
    only = "NOT EXISTS {{ GRAPH ?g {{ {} }} FILTER(?g != <{}>) }}"
    out = only.format(f"<{PROJECT}> ?p ?o", INFERRED)
    into = only.format(f"?s ?q <{PROJECT}>", INFERRED)
    some_stated = f"EXISTS {{ ?s2 ?q <{PROJECT}> . GRAPH ?g2 {{ ?s2 ?q <{PROJECT}> }} FILTER(?g2 != <{INFERRED}>) }}"
    return f"""SELECT DISTINCT ?a ?b ?c WHERE {{
        {{ <{PROJECT}> ?p ?o FILTER({out}) BIND(<{PROJECT}> AS ?a) BIND(?p AS ?b) BIND(?o AS ?c) }}
        UNION {{ ?s ?q <{PROJECT}> FILTER(!({some_stated})) BIND(?s AS ?a) BIND(?q AS ?b) BIND(<{PROJECT}> AS ?c)
                 FILTER({into}) }} }}"""


def test_incoming_links_grouped_by_property(client, store):
    counts = {r["p"]: int(r["n"]) for r in select(store, f"""SELECT ?p (COUNT(DISTINCT ?s) AS ?n)
        WHERE {{ ?s ?p <{PROJECT}> }} GROUP BY ?p""")}
    doc = page(client, "/id/prefectural-project/20/070201")
    groups = find(doc, "div", class_="incoming-group")
    assert sorted(g.attrs["data-property"] for g in groups) == sorted(counts), "one group per property"
    for g in groups:
        assert one(g, "span", class_="count").get_text() == f"({counts[g.attrs['data-property']]:,})"


def test_long_incoming_groups_are_folded(client, store):
    iri = ID + "code/funding-source/all"
    n = int(select(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s pg:fundingSource <{iri}> }}")[0]["n"])
    assert n > 20
    doc = page(client, "/id/code/funding-source/all")
    group = one(doc, "div", data_property="https://w3id.org/policygraph/def#fundingSource")
    assert one(group, "span", class_="count").get_text() == f"({n:,})"
    shown = children(children(group, "ul")[0], "li")
    folded = find(one(group, "details"), "li")
    assert len(shown) == 20 and len(shown) + len(folded) == min(n, 100)  # a page holds 100 of each group


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_source_sections_shown_by_their_labels(client, store, lang):
    sections = select(store, f"""SELECT ?src ?label WHERE {{ <{PROJECT}> prov:wasDerivedFrom ?src .
        ?src a pg:SourceSection ; rdfs:label ?label FILTER(lang(?label) = "ja") }}""")
    assert sections
    doc = page(client, "/id/prefectural-project/20/070201", lang)
    stated, _ = _stated_and_inferred(doc)
    table = next(t for t in find(doc, "table", class_="props") if t.find_parent("details") is None)
    names = links(table)
    for r in sections:
        assert href(r["src"]) in stated[href("http://www.w3.org/ns/prov#wasDerivedFrom")]
        assert names[href(r["src"])] == r["label"], "the section by its label, not its IRI"


# ---- prefectures ---------------------------------------------------------------------

def test_tottori_lists_its_projects_and_totals_by_year_and_stage(client, store):
    pref = ID + "prefecture/31"
    query = f"SELECT ?x WHERE {{ ?x pg:prefecture <{pref}> ; a pg:PrefecturalProject }}"
    projects = {r["x"] for r in select(store, query)}
    doc = page(client, "/id/prefecture/31")
    table = one(doc, "table", id="projects")
    assert {find(one(tr, "th"), "a")[0].attrs["href"] for tr in children(one(table, "tbody"), "tr")} == {
        href(p) for p in projects}
    readings = select(store, f"""SELECT ?x ?y ?stage (COUNT(DISTINCT ?amount) AS ?n) (MIN(?amount) AS ?a) WHERE {{
        ?x pg:prefecture <{pref}> ; a pg:PrefecturalProject .
        ?o pg:program ?x ; pg:fiscalYear/pg:year ?y ; pg:budgetStage/skos:notation ?stage ;
           pg:fundingSource/skos:notation "all" ; pg:costComponent {PC} ; pg:amount ?amount }} GROUP BY ?x ?y ?stage""")
    expected: dict[tuple[str, str], tuple[Decimal, int]] = {}
    ambiguous = {(r["y"], r["stage"]) for r in readings if r["n"] != "1"}
    for r in readings:
        total, n = expected.get((r["y"], r["stage"]), (Decimal(0), 0))
        expected[(r["y"], r["stage"])] = (total + Decimal(r["a"]), n + 1)
    shown = _totals(one(doc, "table", id="totals"))
    assert set(shown) == set(expected)
    for key, (total, n) in expected.items():
        amount, projects_counted = shown[key]
        assert projects_counted == f"{n} / {len(projects)}"
        if key not in ambiguous:
            assert amount == comma(str(total))
    charted = [tr for tr in find(one(doc, "table", id="totals"), "tr", class_="charted")]
    bars = find(one(doc, "svg", class_="chart"), "rect")
    assert charted and len(bars) == len(charted)


def _totals(table: Tag) -> dict[tuple[str, str], tuple[str, str]]:
    """(fiscal year, stage notation) → (total, projects counted) as the table shows them."""
    found = {}
    year = ""
    for tr in children(one(table, "tbody"), "tr"):
        th = children(tr, "th")
        if th:
            year = text(th[0]).removeprefix("FY")
        cells = children(tr, "td")
        found[(year, tr.attrs["data-stage"])] = (text(cells[1]), text(cells[2]))
    return found


def test_prefecture_without_data_says_so(client, store):
    empty = select(store, """SELECT ?p WHERE { ?p a pg:Prefecture FILTER NOT EXISTS { ?x pg:prefecture ?p } }
        ORDER BY ?p LIMIT 1""")
    assert empty
    doc = page(client, href(empty[0]["p"]))
    assert T["r-no-projects"][0] in one(doc, "p", class_="no-data").get_text()
    assert not find(doc, "table", id="projects")


# ---- languages; sub-projects and initiatives ---------------------------------------------

def test_english_labels_where_they_exist(client, store):
    doc = page(client, "/id/prefectural-project/20/070201", "en")
    en = select(store, f"""SELECT ?s ?l WHERE {{ {{ BIND(<{PROJECT}> AS ?s) }} UNION {{ ?s pg:componentOf <{PROJECT}> }}
        ?s rdfs:label ?l FILTER(lang(?l) = "en") }}""")
    label = {r["s"]: r["l"] for r in en}
    assert text(one(doc, "h1")) == label[PROJECT]
    rows = children(one(one(doc, "table", id="sub-project-budgets"), "tbody"), "tr")
    for tr in rows:
        assert links(one(tr, "th"))[href(tr.attrs["data-iri"])] == label[tr.attrs["data-iri"]]
    ja = page(client, "/id/prefectural-project/20/070201", "ja")
    assert text(one(ja, "h1")) == select(store, f"""SELECT ?l WHERE {{ <{PROJECT}> rdfs:label ?l
        FILTER(lang(?l) = "ja") }}""")[0]["l"]


def test_initiative_page_shows_its_parents_and_no_budget_of_its_own(client, store):
    iri = ID + "initiative/20/070201/1/2"
    up = [r["x"] for r in select(store, f"SELECT ?x WHERE {{ <{iri}> pg:componentOf+ ?x }}")]
    doc = page(client, "/id/initiative/20/070201/1/2")
    crumb = one(doc, "p", class_="breadcrumb")
    assert set(links(crumb)) == {href(x) for x in up} and len(up) == 2
    assert not select(store, f"SELECT ?o WHERE {{ ?o pg:program <{iri}> }}")
    assert T["r-no-budget"][0] in one(doc, "p", class_="no-data").get_text()


def test_sub_project_page_has_its_budget(client, store):
    iri = ID + "sub-project/20/070201/2"
    draft = _figures(store, f"BIND(<{iri}> AS ?x)", "2025", "draft")[iri]
    doc = page(client, "/id/sub-project/20/070201/2")
    assert comma(draft[0]) in one(doc, "table", id="budget").get_text()
    assert href(PROJECT) in links(one(doc, "p", class_="breadcrumb"))


def test_an_observation_is_titled_by_what_it_observes(client, store):
    obs = select(store, f"""SELECT ?o ?name ?year WHERE {{ ?o pg:program <{PROJECT}> ; a pg:BudgetObservation ;
        pg:fiscalYear/rdfs:label ?year . <{PROJECT}> rdfs:label ?name
        FILTER(lang(?name) = "ja" && lang(?year) = "ja") FILTER NOT EXISTS {{ ?o rdfs:label ?l }} }} LIMIT 1""")
    assert obs
    title = one(page(client, href(obs[0]["o"])), "h1").get_text()
    assert title.startswith(obs[0]["name"] + " " + obs[0]["year"]) and "id:" not in title


def test_incoming_observations_are_named_by_year_stage_and_amount(client, store):
    rows = select(store, f"""SELECT ?o ?year ?amount WHERE {{ ?o pg:program <{PROJECT}> ; pg:amount ?amount ;
        pg:fiscalYear/rdfs:label ?year FILTER(lang(?year) = "ja") }}""")
    assert rows
    group = one(page(client, "/id/prefectural-project/20/070201"), "div", data_property="https://w3id.org/policygraph/def#program")
    names = links(group)
    for r in rows:
        name = names[href(r["o"])]
        assert name.startswith(r["year"]) and name.endswith(comma(r["amount"])) and "id:" not in name


def test_prefecture_by_project_columns_add_up_to_the_charted_totals(client, store):
    pref = ID + "prefecture/31"
    doc = page(client, "/id/prefecture/31")
    matrix = one(doc, "table", id="by-project")
    heads = find(one(matrix, "thead"), "th")[1:]
    charted = find(one(doc, "table", id="totals"), "tr", class_="charted")
    assert [th.attrs["data-stage"] for th in heads] == [tr.attrs["data-stage"] for tr in charted] and heads
    for i, th in enumerate(heads):
        year, stage = th.attrs["data-year"], th.attrs["data-stage"]
        figures = _figures(store, f"?x pg:prefecture <{pref}> ; a pg:PrefecturalProject .", year, stage)
        for tr in children(one(matrix, "tbody"), "tr"):
            amounts = figures.get(tr.attrs["data-iri"], [])
            assert text(children(tr, "td")[i]) == " / ".join(comma(a) for a in amounts)
        total = sum(Decimal(a[0]) for a in figures.values())
        assert text(find(one(matrix, "tfoot"), "td")[i]) == comma(str(total))


@pytest.mark.parametrize("path", ["prefecture/20", "prefectural-project/20/070201"])
def test_provenance_lists_sources_by_path_or_label(client, store, path):
    sources = select(store, f"""SELECT ?src ?path ?label WHERE {{ <{ID + path}> prov:wasDerivedFrom ?src
        OPTIONAL {{ ?src pg:sectionPath ?path }}
        OPTIONAL {{ ?src rdfs:label ?label FILTER(lang(?label) = "ja") }} }}""")
    assert sources and all(r["path"] or r["label"] for r in sources)
    shown = links(one(page(client, "/id/" + path), "ul", class_="provenance"))
    for r in sources:
        assert shown[href(r["src"])] == (r["path"] or r["label"])


def test_the_prefecture_list_counts_each_prefectures_projects(client, store):
    scheme = ID + "prefecture"
    members = {r["p"] for r in select(store, f"SELECT ?p WHERE {{ ?p skos:inScheme <{scheme}> ; a pg:Prefecture }}")}
    counts = {r["p"]: r["n"] for r in select(store, """SELECT ?p (COUNT(DISTINCT ?x) AS ?n) WHERE {
        ?x pg:prefecture ?p ; a pg:PrefecturalProject } GROUP BY ?p""")}
    index = one(page(client, "/id/prefecture"), "table", id="prefecture-index")
    rows = children(one(index, "tbody"), "tr")
    assert {tr.attrs["data-iri"] for tr in rows} == members and len(rows) == len(members)
    for tr in rows:
        assert text(children(tr, "td")[1]) == counts.get(tr.attrs["data-iri"], "—")
