"""The national side of the resource pages, read as a browser gets them (the real app on the built graph):
the national plan as a tree with its budgets, plan sections, national programs with their aligned
prefectural programs, and alignments, counterparts and continuity links with both quotes side by side.

Every expectation comes from SPARQL on the same build, never from figures written here.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium, select
from pages import find, hrefs, one, soup

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app

ID = "https://w3id.org/policygraph/id/"
PLAN = ID + "national-plan/2008"


def href(iri: str) -> str:
    return "/id/" + iri.removeprefix(ID)


@pytest.fixture(scope="module")
def page(client):
    """A resource's HTML page as a tree, in Japanese unless asked otherwise (no cookie carried over)."""
    def get(iri: str, lang: str = "ja") -> BeautifulSoup:
        client.cookies.clear()
        r = client.get(href(iri), params={"lang": lang}, headers={"Accept": "text/html"})
        assert r.status_code == 200, (iri, r.status_code, r.text[:300])
        return soup(r.text)
    return get


@pytest.fixture(scope="module")
def plan_programs(store) -> dict[str, dict[str, str | None]]:
    rows = select(store, f"""SELECT ?p ?sec ?parent WHERE {{ ?p a pg:NationalProgram ; pg:planSection ?sec .
        ?sec skos:inScheme <{PLAN}> OPTIONAL {{ ?p pg:componentOf ?parent }} }}""")
    return {r["p"]: r for r in rows}


def test_plan_tree_holds_every_program_of_the_plan_once(page, plan_programs):
    rows = find(page(PLAN), "tr", class_="plan-program")
    listed = [r.attrs["data-program"] for r in rows]
    assert len(listed) == len(plan_programs) and set(listed) == set(plan_programs)
    for r in rows:  # each row links to the program's own page
        assert href(r.attrs["data-program"]) in hrefs(r)


def test_plan_tree_nests_programs_under_their_sections(page, store, plan_programs):
    broader = {r["s"]: r["b"] for r in select(store, f"""SELECT ?s ?b WHERE {{ ?s skos:inScheme <{PLAN}> ;
        a pg:PlanSection OPTIONAL {{ ?s skos:broader ?b }} }}""")}
    chapter, stack, last_program = None, [], {}
    doc = page(PLAN)
    seen_sections = set()
    for node in find(doc):
        if node.name == "h3" and "data-section" in node.attrs:
            chapter, stack = node.attrs["data-section"], []
            assert broader[chapter] is None, "a chapter is a top section of the plan"
            seen_sections.add(chapter)
        if node.name != "tr" or "data-section" not in node.attrs:
            continue
        depth = int(next(c for c in node["class"] if c.startswith("depth-"))[6:])
        above = (stack[depth - 1] if depth <= len(stack) else None) if depth else chapter
        if "plan-section" in " ".join(node["class"]):
            section = node.attrs["data-section"]
            assert broader[section] == above, f"{section} shown under {above}"
            stack[depth:] = [section]
            seen_sections.add(section)
        else:
            program = plan_programs[node.attrs["data-program"]]
            if program["parent"]:
                assert last_program[depth - 1] == program["parent"], f"{program['p']} not under its parent"
            else:
                assert program["sec"] == above, f"{program['p']} shown under {above}, not {program['sec']}"
            last_program[depth] = program["p"]
    assert seen_sections == set(broader), "every section of the plan is in the tree"


def test_printed_budgets_and_the_no_amount_marker(page, store):
    figures = select(store, f"""SELECT ?p ?year ?amount WHERE {{ ?p pg:planSection/skos:inScheme <{PLAN}> .
        ?b pg:program ?p ; pg:fiscalYear/pg:year ?year ; pg:amount ?amount }}""")
    years = sorted({r["year"] for r in figures}, reverse=True)
    printed = {(r["p"], r["year"]): float(r["amount"]) for r in figures}
    none = select(store, f"""SELECT ?p WHERE {{ ?p pg:planSection/skos:inScheme <{PLAN}> .
        FILTER NOT EXISTS {{ ?b pg:program ?p }} }}""")
    assert printed and none, "the plan has programs with and without printed amounts"
    doc = page(PLAN)
    for table in find(doc, "table", class_="plan-outline"):
        head = [th.get_text() for th in find(one(table, "thead"), "th")]
        assert [h.split("（")[0] for h in head[1:-1]] == [f"FY{y}" for y in years]
    rows = {r.attrs["data-program"]: [td for td in find(r, "td")][: len(years)]
            for r in find(doc, "tr", class_="plan-program")}
    for (program, year), amount in printed.items():
        assert rows[program][years.index(year)].get_text() == f"{amount:,.0f}"
    for r in none:
        assert all(td.get_text() == "額の記載なし" for td in rows[r["p"]]), r["p"]


def test_national_program_page_breadcrumb_budget_and_printed_text(page, store):
    program = select(store, f"""SELECT ?p ?sec ?printed ?amount WHERE {{ ?p pg:planSection ?sec .
        ?sec skos:inScheme <{PLAN}> . ?b pg:program ?p ; pg:amount ?amount ; pg:fiscalYear/pg:year ?year ;
        prov:wasDerivedFrom/pg:quote ?printed FILTER(STR(?year) = "2008") }} ORDER BY ?p LIMIT 1""")[0]
    path = [r["s"] for r in select(store, f"""SELECT ?s (COUNT(?mid) AS ?n) WHERE {{
        <{program["sec"]}> skos:broader* ?s . ?s skos:broader* ?mid }} GROUP BY ?s ORDER BY ?n""")]
    doc = page(program["p"])
    crumbs = hrefs(one(doc, "nav", class_="plan-crumbs"))
    assert crumbs == [href(PLAN), *(href(s) for s in path)], "plan › chapter › … › the program's section"
    budget = one(doc, "table", class_="plan-budget")
    row = next(tr for tr in find(budget, "tr") if find(tr, "th") and find(tr, "th")[0].get_text() == "FY2008")
    cells = [td.get_text() for td in find(row, "td")]
    assert cells[0] == f"{float(program['amount']):,.0f}" and cells[1] == program["printed"]


def _nagano_alignments(store) -> list[dict[str, str | None]]:
    return select(store, """SELECT ?a ?national ?local ?nev ?pev WHERE { ?a a pg:Alignment ;
        pg:nationalSide ?national ; pg:prefecturalSide ?local ; pg:nationalEvidence ?nev ;
        pg:prefecturalEvidence ?pev . ?local pg:prefecture <https://w3id.org/policygraph/id/prefecture/20> }""")


def test_every_nagano_program_page_shows_its_aligned_national_programs_with_both_quotes(page, store):
    alignments = _nagano_alignments(store)
    assert alignments
    pages: dict[str, list[dict[str, str | None]]] = {}
    for a in alignments:  # the program itself and every program it is a part of (sub-project, project)
        for r in select(store, f"SELECT ?up WHERE {{ <{a['local']}> pg:componentOf* ?up }}"):
            pages.setdefault(r["up"], []).append(a)
    assert any("/initiative/" in p for p in pages) and any("/prefectural-project/" in p for p in pages)
    for iri, expected in pages.items():
        cards = find(one(page(iri), "div", id="aligned-national"), "article", class_="claim-card")
        shown = {(c.attrs["data-national"], c.attrs["data-local"]): c for c in cards}
        assert len(cards) == len(expected), iri
        for a in expected:
            card = shown[(a["national"], a["local"])]
            quotes = [q.get_text() for q in find(card, "blockquote")]
            assert quotes == [a["nev"], a["pev"]], (iri, a["a"])
            assert href(a["national"]) in hrefs(card) and href(a["a"]) in hrefs(card)


def test_alignment_pages_put_both_quotes_side_by_side_with_their_sources(page, store):
    rows = select(store, """SELECT ?a ?national ?local ?nev ?pev ?nsrc ?psrc WHERE { ?a a pg:Alignment ;
        pg:nationalSide ?national ; pg:prefecturalSide ?local ; pg:nationalEvidence ?nev ; pg:prefecturalEvidence ?pev ;
        prov:wasDerivedFrom ?nsrc, ?psrc . ?national prov:wasDerivedFrom ?nsrc . ?local prov:wasDerivedFrom ?psrc }""")
    assert len({r["a"] for r in rows}) == len(select(store, "SELECT ?a WHERE { ?a a pg:Alignment }"))
    for r in rows:
        pair = one(page(r["a"]), "div", class_="pair")
        national, local = find(pair, "section", class_="side")
        assert [q.get_text() for q in find(national, "blockquote")] == [r["nev"]]
        assert [q.get_text() for q in find(local, "blockquote")] == [r["pev"]]
        assert href(r["national"]) in hrefs(national) and href(r["nsrc"]) in hrefs(national)
        assert href(r["local"]) in hrefs(local) and href(r["psrc"]) in hrefs(local)


def test_counterpart_and_continuity_pages(page, store):
    for r in select(store, """SELECT ?c ?first ?second ?fev ?sev WHERE { ?c a pg:Counterpart ; pg:firstSide ?first ;
            pg:secondSide ?second ; pg:firstEvidence ?fev ; pg:secondEvidence ?sev }"""):
        first, second = find(one(page(r["c"]), "div", class_="pair"), "section", class_="side")
        assert [q.get_text() for q in find(first, "blockquote")] == [r["fev"]] and href(r["first"]) in hrefs(first)
        assert [q.get_text() for q in find(second, "blockquote")] == [r["sev"]] and href(r["second"]) in hrefs(second)
    links = select(store, """SELECT ?l ?earlier ?later ?quote (GROUP_CONCAT(STR(?page)) AS ?pages) WHERE {
        ?l a pg:ProgramLink ; pg:earlierProgram ?earlier ; pg:laterProgram ?later ; pg:quote ?quote ;
        pg:evidencePage ?page } GROUP BY ?l ?earlier ?later ?quote""")
    assert links
    for r in links:
        doc = page(r["l"])
        earlier, later = find(one(doc, "div", class_="pair"), "section", class_="side")
        assert href(r["earlier"]) in hrefs(earlier) and href(r["later"]) in hrefs(later)
        assert [q.get_text() for q in find(doc, "blockquote", class_="evidence")] == [r["quote"]]
        assert {href(p) for p in r["pages"].split()} <= set(hrefs(doc)), "every evidence page is linked"


def test_prefectural_program_pages_show_their_counterparts_and_continuity(page, store):
    rows = select(store, """SELECT ?c ?side ?q1 ?q2 WHERE {
        { ?c a pg:Counterpart ; pg:firstEvidence ?q1 ; pg:secondEvidence ?q2 { ?c pg:firstSide ?side }
          UNION { ?c pg:secondSide ?side } }
        UNION { ?c a pg:ProgramLink ; pg:quote ?q1
                { ?c pg:earlierProgram ?side } UNION { ?c pg:laterProgram ?side } } }""")
    assert rows
    for r in rows:
        card = one(page(r["side"]), "article", data_claim=r["c"])
        assert [q.get_text() for q in find(card, "blockquote")] == [q for q in (r["q1"], r["q2"]) if q]
        assert href(r["c"]) in hrefs(card)


def test_national_program_page_lists_aligned_programs_by_prefecture(page, store):
    rows = select(store, """SELECT ?national ?local ?pref ?pev WHERE { ?a a pg:Alignment ; pg:nationalSide ?national ;
        pg:prefecturalSide ?local ; pg:prefecturalEvidence ?pev . ?local pg:prefecture ?pref }""")
    by_program: dict[str, list[dict[str, str | None]]] = {}
    for r in rows:
        by_program.setdefault(r["national"], []).append(r)
    for national, expected in by_program.items():
        doc = page(national)
        headings = find(doc, "h3", class_="prefecture")
        assert {h for r in expected for h in [href(r["pref"])]} == {hrefs(h)[0] for h in headings}
        cards = {c.attrs["data-local"]: c for c in find(doc, "article", class_="claim-card")}
        assert set(cards) == {r["local"] for r in expected}
        for r in expected:
            assert r["pev"] in [q.get_text() for q in find(cards[r["local"]], "blockquote")]


def test_plan_section_page_shows_its_path_and_everything_under_it(page, store):
    section = ID + "plan-section/2008/3-2"
    under = {r["p"] for r in select(store, f"""SELECT ?p WHERE {{ ?p pg:planSection ?s .
        ?s skos:broader* <{section}> }}""")}
    doc = page(section)
    assert hrefs(one(doc, "nav", class_="plan-crumbs")) == [href(PLAN), href(ID + "plan-section/2008/3")]
    assert {r.attrs["data-program"] for r in find(doc, "tr", class_="plan-program")} == under


def test_english_page_uses_english_labels_where_they_exist(page, store):
    labels = {r["p"]: r for r in select(store, f"""SELECT ?p ?ja ?en WHERE {{ ?p pg:planSection/skos:inScheme <{PLAN}> ;
        rdfs:label ?ja FILTER(lang(?ja) = "ja") OPTIONAL {{ ?p rdfs:label ?en FILTER(lang(?en) = "en") }} }}""")}
    assert any(r["en"] for r in labels.values())
    for lang in ("en", "ja"):
        doc = page(PLAN, lang)
        for row in find(doc, "tr", class_="plan-program"):
            expected = labels[row.attrs["data-program"]]
            name = next(a for a in find(row, "a") if a.attrs["href"] == href(expected["p"])).get_text()
            assert name == (expected["en"] or expected["ja"] if lang == "en" else expected["ja"])
        assert ("no amount printed" in doc.get_text()) == (lang == "en")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
def test_in_a_browser_the_evidence_for_every_nagano_alignment_is_readable_and_pages_fit_a_phone(dist, store):
    from selenium.webdriver.common.by import By

    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    browser = chromium()
    try:
        with Server(create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)) as site:
            browser.get(site.url + "/id/prefecture/20")
            project = ID + "prefectural-project/20/070201"
            browser.find_element(By.CSS_SELECTOR, f'a[href="{href(project)}"]').click()
            for a in _nagano_alignments(store):
                card = browser.find_element(
                    By.CSS_SELECTOR, f'article.claim-card[data-national="{a["national"]}"][data-local="{a["local"]}"]')
                quotes = card.find_elements(By.TAG_NAME, "blockquote")
                assert [q.text for q in quotes] == [a["nev"], a["pev"]] and all(q.is_displayed() for q in quotes)
            browser.find_element(By.CSS_SELECTOR, "article.claim-card p.more a").click()
            assert len(browser.find_elements(By.CSS_SELECTOR, "div.pair blockquote")) == 2
            browser.set_window_size(390, 900)
            for iri in (PLAN, ID + "plan-section/2008/3-2", ID + "national-program/2008/3-2-2-a", project,
                        ID + "alignment/regional-hub-one-stop-network", ID + "program-link/31/bcp-merged"):
                browser.get(site.url + href(iri))
                wide = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                assert wide <= 0, f"{iri} is {wide} px wider than a 390 px window"
    finally:
        browser.quit()
        engine.close()
