"""Resource pages designed per kind, read as a browser gets them from the real app on the built graph:
prefectures (projects, totals by year and stage, chart), Nagano's project (sub-project × year × stage
table with the cross-check, KPIs and plan goals with not-in-source markers), and on every page the
inferred statements folded away, incoming links grouped by property, source sections by their labels.

Every expectation comes from SPARQL over the same build, never from figures written here.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from conftest import select

from policygraph.web.html import T, safe_href
from policygraph.web.views.project import Check

ID = "https://w3id.org/policygraph/id/"
PROJECT = ID + "prefectural-project/20/070201"
INFERRED = "https://w3id.org/policygraph/graph/inferred"
PC = "<https://w3id.org/policygraph/id/code/cost-component/project-cost>"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants in document order with this tag and these attributes (class_ matches one class)."""
        found = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and all(_has(c, k, v) for k, v in attrs.items()):
                    found.append(c)
                found.extend(c.all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}>"
        return found[0]

    def inside(self, tag: str) -> bool:
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node is not None

    def children_named(self, tag: str) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node) and c.tag == tag]


def _has(node: Node, key: str, value: str) -> bool:
    if key == "class_":
        return value in node.attrs.get("class", "").split()
    return node.attrs.get(key.replace("_", "-")) == value


class Tree(HTMLParser):
    """The page as a tree of nodes (enough of HTML for our own well-formed templates)."""

    def __init__(self, page: str):
        super().__init__()
        self.root = self.node = Node("#root", {}, None)
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_endtag(self, tag):
        node = self.node
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def page(client, path: str, lang: str = "ja") -> Node:
    r = client.get(path, params={"lang": lang}, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[:300]
    client.cookies.clear()
    return Tree(r.text).root


def comma(amount: str) -> str:
    return f"{Decimal(amount):,.0f}"


def href(iri: str) -> str:
    found = safe_href(iri)
    assert found is not None
    return found


def links(node: Node) -> dict[str, str]:
    """href → link text of every link under node."""
    return {a.attrs["href"]: a.text().strip() for a in node.all("a") if "href" in a.attrs}


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
    table = doc.one("table", id="sub-project-budgets")
    assert table.one("caption").text().strip()
    subs = {r["s"] for r in select(store, f"SELECT ?s WHERE {{ ?s pg:componentOf <{PROJECT}> }}")}
    rows = table.one("tbody").children_named("tr")
    assert len(rows) == len(subs) and {r.attrs["data-iri"] for r in rows} == subs
    assert all(r.one("th").attrs["scope"] == "row" for r in rows)
    heads = table.one("thead").children_named("tr")[1].children_named("th")
    col = [i for i, th in enumerate(heads) if th.attrs["data-year"] == "2025" and th.attrs["data-stage"] == stage]
    assert len(col) == 1, "one column for FY2025 at this stage"
    i = col[0]
    figures = _figures(store, f"?x pg:componentOf <{PROJECT}> .", "2025", stage)
    assert figures, "the store has FY2025 figures of the sub-projects at this stage"
    for row in rows:
        shown = row.children_named("td")[i].text().strip()
        amounts = figures.get(row.attrs["data-iri"])
        assert shown == (" / ".join(comma(a) for a in sorted(amounts, key=Decimal)) if amounts else
                         T["r-no-figure"][0] + "—")
    # the totals row, the project's printed figure and the check between them
    total = sum(Decimal(a[0]) for a in figures.values())
    printed = _figures(store, f"BIND(<{PROJECT}> AS ?x)", "2025", stage)[PROJECT]
    foot = {tr.attrs["class"]: tr.children_named("td")[i] for tr in table.one("tfoot").children_named("tr")}
    assert foot["sum"].text().strip() == comma(str(total))
    assert foot["printed"].text().strip() == comma(printed[0])
    expected = "match" if total == Decimal(printed[0]) else "differs"
    assert foot["check"].attrs["data-status"] == expected
    assert (T["r-check-match"][0] in foot["check"].text()) == (expected == "match")


def test_cross_check_statuses():
    assert Check(10, 10, [10]).status == "match"
    differs = Check(10, 10, [12])
    assert differs.status == "differs" and differs.difference == -2
    assert Check(10, 10, []).status == "no-printed"
    assert Check(10, 11, [10]).status == "ambiguous" and Check(10, 10, [10, 11]).status == "ambiguous"


def test_project_budget_table_and_chart_are_kept(client, store):
    doc = page(client, "/id/prefectural-project/20/070201")
    budget = doc.one("table", id="budget")
    draft = _figures(store, f"BIND(<{PROJECT}> AS ?x)", "2025", "draft")[PROJECT]
    assert comma(draft[0]) in budget.text()
    svg = doc.all("svg", class_="chart")[0]
    assert svg.attrs["role"] == "img" and svg.attrs["aria-label"] and svg.one("title").text()


# ---- KPIs and plan goals --------------------------------------------------------------

def test_not_in_source_marker_exactly_where_the_graph_has_no_value(client, store):
    rows = select(store, f"""SELECT ?o ?value WHERE {{
        {{ ?i pg:indicatorOf <{PROJECT}> }} UNION {{ <{PROJECT}> pg:contributesTo ?i . ?i a pg:PlanGoal }}
        ?o pg:indicator ?i . OPTIONAL {{ ?o pg:value ?value }} }}""")
    missing = {r["o"] for r in rows if r["value"] is None}
    valued = {r["o"] for r in rows if r["value"] is not None}
    assert missing and valued, "the project has both kinds of observation"
    doc = page(client, "/id/prefectural-project/20/070201")
    marked = {td.attrs["data-observation"] for td in doc.all("td", class_="no-value")}
    shown = {td.attrs["data-observation"] for td in doc.all("td", class_="value")}
    assert marked == missing and shown == valued
    value_of = {r["o"]: r["value"] for r in rows}
    for td in doc.all("td", class_="value"):
        assert td.text().strip() == value_of[td.attrs["data-observation"]]
    not_in_source = [td for td in doc.all("td", class_="missing-in-source")]
    assert not_in_source and all(T["r-not-in-source"][0] in td.text() for td in not_in_source)
    for table in doc.all("table", class_="indicators"):
        assert table.one("caption").text().strip()


# ---- every page: inferred statements, incoming links, source sections ----------------------------

def _stated_and_inferred(node: Node) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """property href → value hrefs, outside and inside the inferred fold."""
    stated: dict[str, set[str]] = defaultdict(set)
    inferred: dict[str, set[str]] = defaultdict(set)
    for table in node.all("table", class_="props"):
        for tr in table.one("tbody").children_named("tr"):
            prop = tr.one("th").all("a")[0].attrs["href"]
            target = inferred if table.inside("details") else stated
            target[prop] |= {a.attrs["href"] for a in tr.one("td").all("a")}
    return stated, inferred


def test_inferred_only_statements_appear_only_in_the_fold(client, store):
    rows = select(store, f"""SELECT ?p ?o ?only WHERE {{ <{PROJECT}> ?p ?o FILTER(isIRI(?o))
        BIND(NOT EXISTS {{ GRAPH ?g {{ <{PROJECT}> ?p ?o }} FILTER(?g != <{INFERRED}>) }} AS ?only) }}""")
    only = {(r["p"], r["o"]) for r in rows if r["only"] == "true"}
    assert only, "the inferred graph alone holds some of the project's statements"
    doc = page(client, "/id/prefectural-project/20/070201")
    fold = doc.one("details", id="inferred")
    stated, inferred = _stated_and_inferred(doc)
    for p, o in only:
        if p.endswith("#type"):
            continue
        assert href(o) in inferred[href(p)] and href(o) not in stated.get(href(p), set())
    for p, o in {(r["p"], r["o"]) for r in rows} - only:
        if not p.endswith("#type"):
            assert href(o) in stated[href(p)]
    assert f"({len(select(store, _inferred_count_query()))})" in fold.one("summary").text()


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
    groups = doc.all("div", class_="incoming-group")
    assert sorted(g.attrs["data-property"] for g in groups) == sorted(counts), "one group per property"
    for g in groups:
        assert g.one("span", class_="count").text() == f"({counts[g.attrs['data-property']]:,})"


def test_long_incoming_groups_are_folded(client, store):
    iri = ID + "code/funding-source/all"
    n = int(select(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s pg:fundingSource <{iri}> }}")[0]["n"])
    assert n > 20
    doc = page(client, "/id/code/funding-source/all")
    group = doc.one("div", data_property="https://w3id.org/policygraph/def#fundingSource")
    assert group.one("span", class_="count").text() == f"({n:,})"
    shown = group.children_named("ul")[0].children_named("li")
    folded = group.one("details").all("li")
    assert len(shown) == 20 and len(shown) + len(folded) == min(n, 100)  # a page holds 100 of each group


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_source_sections_shown_by_their_labels(client, store, lang):
    sections = select(store, f"""SELECT ?src ?label WHERE {{ <{PROJECT}> prov:wasDerivedFrom ?src .
        ?src a pg:SourceSection ; rdfs:label ?label FILTER(lang(?label) = "ja") }}""")
    assert sections
    doc = page(client, "/id/prefectural-project/20/070201", lang)
    stated, _ = _stated_and_inferred(doc)
    table = next(t for t in doc.all("table", class_="props") if not t.inside("details"))
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
    table = doc.one("table", id="projects")
    assert {tr.one("th").all("a")[0].attrs["href"] for tr in table.one("tbody").children_named("tr")} == {
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
    shown = _totals(doc.one("table", id="totals"))
    assert set(shown) == set(expected)
    for key, (total, n) in expected.items():
        amount, projects_counted = shown[key]
        assert projects_counted == f"{n} / {len(projects)}"
        if key not in ambiguous:
            assert amount == comma(str(total))
    charted = [tr for tr in doc.one("table", id="totals").all("tr", class_="charted")]
    bars = doc.one("svg", class_="chart").all("rect")
    assert charted and len(bars) == len(charted)


def _totals(table: Node) -> dict[tuple[str, str], tuple[str, str]]:
    """(fiscal year, stage notation) → (total, projects counted) as the table shows them."""
    found = {}
    year = ""
    for tr in table.one("tbody").children_named("tr"):
        th = tr.children_named("th")
        if th:
            year = th[0].text().strip().removeprefix("FY")
        cells = tr.children_named("td")
        found[(year, tr.attrs["data-stage"])] = (cells[1].text().strip(), cells[2].text().strip())
    return found


def test_prefecture_without_data_says_so(client, store):
    empty = select(store, """SELECT ?p WHERE { ?p a pg:Prefecture FILTER NOT EXISTS { ?x pg:prefecture ?p } }
        ORDER BY ?p LIMIT 1""")
    assert empty
    doc = page(client, href(empty[0]["p"]))
    assert T["r-no-projects"][0] in doc.one("p", class_="no-data").text()
    assert not doc.all("table", id="projects")


# ---- languages; sub-projects and initiatives ---------------------------------------------

def test_english_labels_where_they_exist(client, store):
    doc = page(client, "/id/prefectural-project/20/070201", "en")
    en = select(store, f"""SELECT ?s ?l WHERE {{ {{ BIND(<{PROJECT}> AS ?s) }} UNION {{ ?s pg:componentOf <{PROJECT}> }}
        ?s rdfs:label ?l FILTER(lang(?l) = "en") }}""")
    label = {r["s"]: r["l"] for r in en}
    assert doc.one("h1").text().strip() == label[PROJECT]
    rows = doc.one("table", id="sub-project-budgets").one("tbody").children_named("tr")
    for tr in rows:
        assert links(tr.one("th"))[href(tr.attrs["data-iri"])] == label[tr.attrs["data-iri"]]
    ja = page(client, "/id/prefectural-project/20/070201", "ja")
    assert ja.one("h1").text().strip() == select(store, f"""SELECT ?l WHERE {{ <{PROJECT}> rdfs:label ?l
        FILTER(lang(?l) = "ja") }}""")[0]["l"]


def test_initiative_page_shows_its_parents_and_no_budget_of_its_own(client, store):
    iri = ID + "initiative/20/070201/1/2"
    up = [r["x"] for r in select(store, f"SELECT ?x WHERE {{ <{iri}> pg:componentOf+ ?x }}")]
    doc = page(client, "/id/initiative/20/070201/1/2")
    crumb = doc.one("p", class_="breadcrumb")
    assert set(links(crumb)) == {href(x) for x in up} and len(up) == 2
    assert not select(store, f"SELECT ?o WHERE {{ ?o pg:program <{iri}> }}")
    assert T["r-no-budget"][0] in doc.one("p", class_="no-data").text()


def test_sub_project_page_has_its_budget(client, store):
    iri = ID + "sub-project/20/070201/2"
    draft = _figures(store, f"BIND(<{iri}> AS ?x)", "2025", "draft")[iri]
    doc = page(client, "/id/sub-project/20/070201/2")
    assert comma(draft[0]) in doc.one("table", id="budget").text()
    assert href(PROJECT) in links(doc.one("p", class_="breadcrumb"))


def test_an_observation_is_titled_by_what_it_observes(client, store):
    obs = select(store, f"""SELECT ?o ?name ?year WHERE {{ ?o pg:program <{PROJECT}> ; a pg:BudgetObservation ;
        pg:fiscalYear/rdfs:label ?year . <{PROJECT}> rdfs:label ?name
        FILTER(lang(?name) = "ja" && lang(?year) = "ja") FILTER NOT EXISTS {{ ?o rdfs:label ?l }} }} LIMIT 1""")
    assert obs
    title = page(client, href(obs[0]["o"])).one("h1").text()
    assert title.startswith(obs[0]["name"] + " " + obs[0]["year"]) and "id:" not in title


def test_incoming_observations_are_named_by_year_stage_and_amount(client, store):
    rows = select(store, f"""SELECT ?o ?year ?amount WHERE {{ ?o pg:program <{PROJECT}> ; pg:amount ?amount ;
        pg:fiscalYear/rdfs:label ?year FILTER(lang(?year) = "ja") }}""")
    assert rows
    group = page(client, "/id/prefectural-project/20/070201").one(
        "div", data_property="https://w3id.org/policygraph/def#program")
    names = links(group)
    for r in rows:
        name = names[href(r["o"])]
        assert name.startswith(r["year"]) and name.endswith(comma(r["amount"])) and "id:" not in name


def test_prefecture_by_project_columns_add_up_to_the_charted_totals(client, store):
    pref = ID + "prefecture/31"
    doc = page(client, "/id/prefecture/31")
    matrix = doc.one("table", id="by-project")
    heads = matrix.one("thead").all("th")[1:]
    charted = doc.one("table", id="totals").all("tr", class_="charted")
    assert [th.attrs["data-stage"] for th in heads] == [tr.attrs["data-stage"] for tr in charted] and heads
    for i, th in enumerate(heads):
        year, stage = th.attrs["data-year"], th.attrs["data-stage"]
        figures = _figures(store, f"?x pg:prefecture <{pref}> ; a pg:PrefecturalProject .", year, stage)
        for tr in matrix.one("tbody").children_named("tr"):
            amounts = figures.get(tr.attrs["data-iri"], [])
            assert tr.children_named("td")[i].text().strip() == " / ".join(comma(a) for a in amounts)
        total = sum(Decimal(a[0]) for a in figures.values())
        assert matrix.one("tfoot").all("td")[i].text().strip() == comma(str(total))


@pytest.mark.parametrize("path", ["prefecture/20", "prefectural-project/20/070201"])
def test_provenance_lists_sources_by_path_or_label(client, store, path):
    sources = select(store, f"""SELECT ?src ?path ?label WHERE {{ <{ID + path}> prov:wasDerivedFrom ?src
        OPTIONAL {{ ?src pg:sectionPath ?path }}
        OPTIONAL {{ ?src rdfs:label ?label FILTER(lang(?label) = "ja") }} }}""")
    assert sources and all(r["path"] or r["label"] for r in sources)
    shown = links(page(client, "/id/" + path).one("ul", class_="provenance"))
    for r in sources:
        assert shown[href(r["src"])] == (r["path"] or r["label"])


def test_the_prefecture_list_counts_each_prefectures_projects(client, store):
    scheme = ID + "prefecture"
    members = {r["p"] for r in select(store, f"SELECT ?p WHERE {{ ?p skos:inScheme <{scheme}> ; a pg:Prefecture }}")}
    counts = {r["p"]: r["n"] for r in select(store, """SELECT ?p (COUNT(DISTINCT ?x) AS ?n) WHERE {
        ?x pg:prefecture ?p ; a pg:PrefecturalProject } GROUP BY ?p""")}
    rows = page(client, "/id/prefecture").one("table", id="prefecture-index").one("tbody").children_named("tr")
    assert {tr.attrs["data-iri"] for tr in rows} == members and len(rows) == len(members)
    for tr in rows:
        assert tr.children_named("td")[1].text().strip() == counts.get(tr.attrs["data-iri"], "—")
