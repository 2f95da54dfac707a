"""Sections for the national side of the graph: the national plan as a tree with its budgets, a plan
section's path and children, a national program's budgets and aligned prefectural programs, the
curated links (alignment, counterpart, continuity) with both quotes side by side, and on prefectural
programs the national programs they are aligned with.

Every figure and quote shown is read from the graph; where the plan prints no amount the page says
so, and no total is added up here (the plan prints none).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import Request

from policygraph.web.graph import PG, Row, select
from policygraph.web.views.sections import Builder, Section, Subject

ALL_FUNDS = "https://w3id.org/policygraph/id/code/funding-source/all"
PROJECT_COST = "https://w3id.org/policygraph/id/code/cost-component/project-cost"
PREFECTURAL_KINDS = {PG + "PrefecturalProject", PG + "SubProject", PG + "Initiative"}


def _v(row: Row, key: str) -> str | None:
    return row[key]["value"] if key in row else None


def _iri(iri: str) -> str:
    """An IRI for a query; the subject's IRI passed resources.py's path check, this guards the rest."""
    if any(c in iri for c in '<>"{}|\\^` \n'):
        raise ValueError(f"not an IRI to put in a query: {iri!r}")
    return f"<{iri}>"


def _named(var: str, lang: str, prop: str = "rdfs:label|skos:prefLabel") -> str:
    """SPARQL binding ?{var}_name: the label in the page's language, else the Japanese one. Only where
    ?{var} is bound: inside the OPTIONAL that binds it (an unbound ?{var} would match every label)."""
    return (f'OPTIONAL {{ ?{var} {prop} ?{var}_l1 FILTER(lang(?{var}_l1) = "{lang}") }} '
            f'OPTIONAL {{ ?{var} {prop} ?{var}_l2 FILTER(lang(?{var}_l2) = "ja") }} '
            f"BIND(COALESCE(?{var}_l1, ?{var}_l2) AS ?{var}_name) ")


@dataclass
class Ref:
    """A resource to link to, with what the page calls it."""
    iri: str
    name: str

    @classmethod
    def of(cls, row: Row, var: str) -> Ref | None:
        iri = _v(row, var)
        return cls(iri, _v(row, var + "_name") or iri.rsplit("/", 1)[-1]) if iri else None


def _number(path: str | None, name: str) -> str:
    """The heading number as printed (（２）, ①, ア): the last step of the source's section path,
    unless the label already starts with it (第３ 国の事業)."""
    last = (path or "").split(" > ")[-1].strip()
    return "" if not last or name.startswith(last) else last


# ------------------------------------------------------------------ the plan as a tree


@dataclass
class Figure:
    """One printed budget figure (千円) and the words it was printed as."""
    amount: float
    printed: str | None = None
    place: Ref | None = None


@dataclass
class ProgramNode:
    ref: Ref
    notation: str
    number: str
    section: str
    parent: str | None
    new_in: str | None = None
    budgets: dict[str, Figure] = field(default_factory=dict)   # fiscal year → figure
    alignments: int = 0
    parts: list[ProgramNode] = field(default_factory=list)


@dataclass
class SectionNode:
    ref: Ref
    notation: str
    number: str
    broader: str | None
    children: list[SectionNode] = field(default_factory=list)
    programs: list[ProgramNode] = field(default_factory=list)


@dataclass
class Line:
    """A row of the plan's outline table: a section heading or a program, at its depth."""
    depth: int
    section: SectionNode | None = None
    program: ProgramNode | None = None


def _program_lines(program: ProgramNode, depth: int) -> list[Line]:
    return [Line(depth, program=program), *(line for part in program.parts for line in _program_lines(part, depth + 1))]


@dataclass
class PlanTree:
    """A plan's sections, nested, each with its programs (a program's parts nested under it)."""
    plan: Ref
    years: list[str]                                  # the fiscal years of the plan's figures, latest first
    chapters: list[SectionNode]
    sections: dict[str, SectionNode]
    programs: dict[str, ProgramNode]

    def outline(self, section: SectionNode, depth: int = 0) -> list[Line]:
        """Everything under ``section`` in the plan's printed order (sections and programs interleave)."""
        items: list[SectionNode | ProgramNode] = [*section.children, *section.programs]
        lines: list[Line] = []
        for item in sorted(items, key=lambda n: _sort_key(n.notation)):
            if isinstance(item, SectionNode):
                lines += [Line(depth, section=item), *self.outline(item, depth + 1)]
            else:
                lines += _program_lines(item, depth)
        return lines

    def path_to(self, section: str) -> list[SectionNode]:
        """The sections from the chapter down to ``section``."""
        path: list[SectionNode] = []
        node: SectionNode | None = self.sections.get(section)
        while node is not None:
            path.insert(0, node)
            node = self.sections.get(node.broader) if node.broader else None
        return path


def _sort_key(notation: str) -> list[tuple[int, str]]:
    """3-2-10 after 3-2-9; a, b after the numbers."""
    return [(int(p), "") if p.isdigit() else (1 << 30, p) for p in notation.split("-")]


async def _sections(request: Request, plan: str, lang: str) -> dict[str, SectionNode]:
    rows = await select(request, f"""SELECT ?s ?n ?broader ?path ?s_name WHERE {{
        ?s skos:inScheme {_iri(plan)} ; a pg:PlanSection ; skos:notation ?n .
        OPTIONAL {{ ?s skos:broader ?broader }} OPTIONAL {{ ?s prov:wasDerivedFrom/pg:sectionPath ?path }}
        {_named("s", lang)} }}""")
    nodes: dict[str, SectionNode] = {}
    for r in rows:
        ref = Ref.of(r, "s")
        assert ref is not None
        nodes.setdefault(ref.iri, SectionNode(ref, r["n"]["value"], _number(_v(r, "path"), ref.name),
                                              _v(r, "broader")))
    return nodes


async def _programs(request: Request, plan: str, lang: str) -> dict[str, ProgramNode]:
    rows = await select(request, f"""SELECT ?p ?n ?sec ?parent ?path ?new ?p_name WHERE {{
        ?sec skos:inScheme {_iri(plan)} . ?p pg:planSection ?sec ; skos:notation ?n .
        OPTIONAL {{ ?p pg:componentOf ?parent }} OPTIONAL {{ ?p prov:wasDerivedFrom/pg:sectionPath ?path }}
        OPTIONAL {{ ?p pg:newInFiscalYear/pg:year ?new }} {_named("p", lang)} }}""")
    nodes: dict[str, ProgramNode] = {}
    for r in rows:
        ref = Ref.of(r, "p")
        assert ref is not None
        nodes.setdefault(ref.iri, ProgramNode(ref, r["n"]["value"], _number(_v(r, "path"), ref.name),
                                              r["sec"]["value"], _v(r, "parent"), _v(r, "new")))
    return nodes


async def _figures(request: Request, plan: str, programs: dict[str, ProgramNode]) -> None:
    """Each program's 事業費 by fiscal year as the plan prints it (starting from the plan's programs:
    Oxigraph would otherwise scan every prefecture's budget observations first)."""
    rows = await select(request, f"""SELECT ?p ?year ?amount ?printed ?place ?place_name WHERE {{
        ?sec skos:inScheme {_iri(plan)} . ?p pg:planSection ?sec .
        ?b pg:program ?p ; pg:fiscalYear/pg:year ?year ; pg:amount ?amount ;
           pg:fundingSource <{ALL_FUNDS}> ; pg:costComponent <{PROJECT_COST}> .
        OPTIONAL {{ ?b prov:wasDerivedFrom ?place OPTIONAL {{ ?place pg:quote ?printed }}
                   OPTIONAL {{ ?place pg:sectionPath ?place_name }} }} }}""")
    for r in rows:
        program = programs.get(r["p"]["value"])
        if program is not None:
            program.budgets.setdefault(r["year"]["value"], Figure(float(r["amount"]["value"]), _v(r, "printed"),
                                                                  Ref.of(r, "place")))
    counts = await select(request, f"""SELECT ?p (COUNT(DISTINCT ?a) AS ?n) WHERE {{
        ?sec skos:inScheme {_iri(plan)} . ?p pg:planSection ?sec . ?a pg:nationalSide ?p }} GROUP BY ?p""")
    for r in counts:
        if r["p"]["value"] in programs:
            programs[r["p"]["value"]].alignments = int(r["n"]["value"])


async def plan_tree(request: Request, plan: str, lang: str) -> PlanTree | None:
    """The plan's tree, or None when the graph gives it no sections."""
    sections = await _sections(request, plan, lang)
    if not sections:
        return None
    programs = await _programs(request, plan, lang)
    await _figures(request, plan, programs)
    names = await select(request, f"SELECT ?s ?s_name WHERE {{ BIND({_iri(plan)} AS ?s) {_named('s', lang)} }}")
    plan_ref = Ref.of(names[0], "s") if names else None
    for p in sorted(programs.values(), key=lambda p: _sort_key(p.notation)):
        if p.parent in programs:
            programs[p.parent].parts.append(p)
        elif p.section in sections:
            sections[p.section].programs.append(p)
    chapters = []
    for s in sorted(sections.values(), key=lambda s: _sort_key(s.notation)):
        if s.broader in sections:
            sections[s.broader].children.append(s)
        else:
            chapters.append(s)
    years = sorted({y for p in programs.values() for y in p.budgets}, reverse=True)
    return PlanTree(plan_ref or Ref(plan, plan), years, chapters, sections, programs)


# ------------------------------------------------------------------ curated links, side by side


@dataclass
class Place:
    """Where a side's evidence was read: a section of a document (with its heading path) or a page."""
    ref: Ref
    path: str | None
    document: Ref | None
    url: str | None


@dataclass
class Side:
    program: Ref
    prefecture: Ref | None
    quote: str | None
    places: list[Place] = field(default_factory=list)


@dataclass
class Claim:
    """An alignment (national | prefectural), a counterpart (first | second) or a continuity link
    (earlier | later): what is claimed, by whom, and each side with its quote and its source."""
    ref: Ref
    kind: str
    type: Ref | None
    rationale: str | None
    rationale_lang: str
    note: str | None
    note_lang: str
    asserted_by: Ref | None
    curated_in: Ref | None
    quote: str | None
    evidence_kind: Ref | None
    left: Side
    right: Side
    pages: list[Place] = field(default_factory=list)   # evidence pages about neither side


# kind: (class, left side, right side, left quote, right quote, type property); a continuity link has one
# quote for both sides (pg:quote), so its side quotes name a property nothing has
KINDS = {
    "alignment": ("pg:Alignment", "pg:nationalSide", "pg:prefecturalSide", "pg:nationalEvidence",
                  "pg:prefecturalEvidence", "pg:alignmentType"),
    "counterpart": ("pg:Counterpart", "pg:firstSide", "pg:secondSide", "pg:firstEvidence", "pg:secondEvidence",
                    "pg:alignmentType"),
    "link": ("pg:ProgramLink", "pg:earlierProgram", "pg:laterProgram", "pg:none", "pg:none", "pg:continuityType"),
}
KIND_OF_TYPE = {PG + "Alignment": "alignment", PG + "Counterpart": "counterpart", PG + "ProgramLink": "link"}


def _in_lang(var: str, prop: str, lang: str) -> str:
    """?{var}: the claim's text in the page's language, else Japanese, else any."""
    return (f'OPTIONAL {{ ?c {prop} ?{var}1 FILTER(lang(?{var}1) = "{lang}") }} '
            f'OPTIONAL {{ ?c {prop} ?{var}2 FILTER(lang(?{var}2) = "ja") }} '
            f"OPTIONAL {{ ?c {prop} ?{var}3 }} BIND(COALESCE(?{var}1, ?{var}2, ?{var}3) AS ?{var}) ")


def _claim_query(kind: str, pattern: str, lang: str) -> str:
    cls, left, right, left_q, right_q, type_p = KINDS[kind]
    return f"""SELECT ?c ?c_name ?l ?l_name ?r ?r_name ?lq ?rq ?type ?type_name ?rationale ?note ?agent ?agent_name
        ?doc ?doc_name ?quote ?ek ?ek_name ?lp ?lp_name ?rp ?rp_name WHERE {{
        {pattern} ?c a {cls} ; {left} ?l ; {right} ?r .
        OPTIONAL {{ ?c {left_q} ?lq }} OPTIONAL {{ ?c {right_q} ?rq }} OPTIONAL {{ ?c pg:quote ?quote }}
        OPTIONAL {{ ?c {type_p} ?type {_named("type", lang)} }}
        OPTIONAL {{ ?c pg:evidenceKind ?ek {_named("ek", lang)} }}
        OPTIONAL {{ ?c prov:wasAttributedTo ?agent {_named("agent", lang)}
                   OPTIONAL {{ ?c prov:wasDerivedFrom ?doc . ?doc dcterms:creator ?agent {_named("doc", lang)} }} }}
        OPTIONAL {{ ?l pg:prefecture ?lp {_named("lp", lang)} }}
        OPTIONAL {{ ?r pg:prefecture ?rp {_named("rp", lang)} }}
        {_in_lang("rationale", "pg:rationale", lang)} {_in_lang("note", "rdfs:comment", lang)}
        {"".join(_named(v, lang) for v in ("c", "l", "r"))}
        }} ORDER BY ?c"""


def _place(r: Row) -> Place:
    ref = Ref.of(r, "src")
    assert ref is not None
    return Place(ref, _v(r, "path"), Ref.of(r, "doc") if _v(r, "doc") != ref.iri else None, _v(r, "url"))


async def _places(request: Request, claims: dict[str, Claim], lang: str) -> None:
    """Each side's source: the section (or page) the claim and that side's program both come from, or
    an evidence page about that program."""
    if not claims:
        return
    values = " ".join(_iri(c) for c in claims)
    sides = " ".join(p for spec in KINDS.values() for p in spec[1:3])
    rows = await select(request, f"""SELECT DISTINCT ?c ?via ?side ?src ?src_name ?path ?doc ?doc_name ?url WHERE {{
        VALUES ?c {{ {values} }}
        {{ VALUES ?sp {{ {sides} }} ?c ?sp ?side ; prov:wasDerivedFrom ?src . ?side prov:wasDerivedFrom ?src
           BIND("section" AS ?via) }}
        UNION {{ ?c pg:evidencePage ?src OPTIONAL {{ ?src pg:aboutProgram ?side }} BIND("page" AS ?via) }}
        OPTIONAL {{ ?src pg:sectionPath ?path }} OPTIONAL {{ ?src dcterms:isPartOf ?whole }}
        BIND(COALESCE(?whole, ?src) AS ?doc)
        OPTIONAL {{ ?src pg:pageUrl ?own_url }} OPTIONAL {{ ?doc pg:pageUrl ?doc_url }}
        BIND(COALESCE(?own_url, ?doc_url) AS ?url)
        {_named("src", lang)} {_named("doc", lang)} }} ORDER BY ?c ?src""")
    for r in rows:
        claim, side, place = claims[r["c"]["value"]], _v(r, "side"), _place(r)
        matched = [s for s in (claim.left, claim.right) if s.program.iri == side]
        for s in matched:
            if all(p.ref.iri != place.ref.iri for p in s.places):
                s.places.append(place)
        if not matched and r["via"]["value"] == "page" and all(p.ref.iri != place.ref.iri for p in claim.pages):
            claim.pages.append(place)


async def claims(request: Request, kind: str, pattern: str, lang: str) -> list[Claim]:
    """The claims of ``kind`` matching ``pattern`` (a SPARQL group on ?c), each with both sides' sources."""
    found: dict[str, Claim] = {}
    for r in await select(request, _claim_query(kind, pattern, lang)):
        if r["c"]["value"] in found:
            continue
        ref, left, right = Ref.of(r, "c"), Ref.of(r, "l"), Ref.of(r, "r")
        assert ref is not None and left is not None and right is not None
        found[ref.iri] = Claim(
            ref, kind, Ref.of(r, "type"), _v(r, "rationale"), r.get("rationale", {}).get("xml:lang", "ja"),
            _v(r, "note"), r.get("note", {}).get("xml:lang", "ja"), Ref.of(r, "agent"), Ref.of(r, "doc"),
            _v(r, "quote"), Ref.of(r, "ek"), Side(left, Ref.of(r, "lp"), _v(r, "lq")),
            Side(right, Ref.of(r, "rp"), _v(r, "rq")))
    await _places(request, found, lang)
    return sorted(found.values(), key=lambda c: (_natural(c.right.program.iri), _natural(c.left.program.iri)))


def _natural(iri: str) -> list[tuple[int, str]]:
    """initiative/20/070201/2/1 before …/10/1."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", iri) if part]


# ------------------------------------------------------------------ builders


@dataclass
class ProgramPage:
    """A national program: where it sits in the plan, its figures, its parts, who is aligned with it."""
    tree: PlanTree
    path: list[SectionNode]
    parent: ProgramNode | None
    program: ProgramNode
    by_prefecture: list[tuple[Ref | None, list[Claim]]]


async def _plan_of(request: Request, iri: str, via: str) -> str | None:
    rows = await select(request, f"SELECT ?plan WHERE {{ {_iri(iri)} {via} ?plan }} LIMIT 1")
    return _v(rows[0], "plan") if rows else None


async def national_plan(request: Request, subject: Subject) -> list[Section]:
    if PG + "SupportPlan" not in subject.types:
        return []
    tree = await plan_tree(request, subject.iri, subject.lang)
    if tree is None:
        return []
    return [Section("plan_tree.html", tree, {"ja": "計画の体系と予算額", "en": "The plan's outline and budgets"})]


async def _tree_of(request: Request, subject: Subject, kind: str, via: str) -> PlanTree | None:
    """The tree of the plan a subject of this kind belongs to (reached by the path via), or None."""
    if PG + kind not in subject.types:
        return None
    plan = await _plan_of(request, subject.iri, via)
    return await plan_tree(request, plan, subject.lang) if plan else None


async def plan_section(request: Request, subject: Subject) -> list[Section]:
    tree = await _tree_of(request, subject, "PlanSection", "skos:inScheme")
    if tree is None or subject.iri not in tree.sections:
        return []
    data = {"tree": tree, "path": tree.path_to(subject.iri), "node": tree.sections[subject.iri]}
    heading = {"ja": "計画上の位置と下位項目", "en": "Place in the plan and contents"}
    return [Section("plan_section.html", data, heading)]


def _grouped(found: list[Claim]) -> list[tuple[Ref | None, list[Claim]]]:
    groups: dict[str, list[Claim]] = defaultdict(list)
    prefectures: dict[str, Ref | None] = {}
    for c in found:
        key = c.right.prefecture.iri if c.right.prefecture else ""
        groups[key].append(c)
        prefectures[key] = c.right.prefecture
    return [(prefectures[k], groups[k]) for k in sorted(groups)]


async def national_program(request: Request, subject: Subject) -> list[Section]:
    tree = await _tree_of(request, subject, "NationalProgram", "pg:planSection/skos:inScheme")
    if tree is None or subject.iri not in tree.programs:
        return []
    program = tree.programs[subject.iri]
    found = await claims(request, "alignment", f"?c pg:nationalSide {_iri(subject.iri)} .", subject.lang)
    page = ProgramPage(tree, tree.path_to(program.section), tree.programs.get(program.parent or ""), program,
                       _grouped(found))
    return [Section("national_program.html", page, {})]


async def claim_page(request: Request, subject: Subject) -> list[Section]:
    kind = next((KIND_OF_TYPE[t] for t in subject.types if t in KIND_OF_TYPE), None)
    if kind is None:
        return []
    found = await claims(request, kind, f"BIND({_iri(subject.iri)} AS ?c)", subject.lang)
    return [Section("alignment_claim.html", found[0], {})] if found else []


async def aligned_national_programs(request: Request, subject: Subject) -> list[Section]:
    """On a prefectural project, sub-project or initiative: the national programs it, or a part of it, is
    aligned with, each with both quotes."""
    if not PREFECTURAL_KINDS & subject.types:
        return []
    pattern = f"{_iri(subject.iri)} pg:hasComponent* ?local . ?c pg:prefecturalSide ?local ."
    found = await claims(request, "alignment", pattern, subject.lang)
    return [Section("alignment_list.html", {"claims": found, "here": subject.iri},
                    {"ja": "対応する国の事業", "en": "Aligned national programs"})] if found else []


async def other_links(request: Request, subject: Subject) -> list[Section]:
    """On a prefectural program: its counterparts in other prefectures and the programs it continues or is
    continued by, each claim with both sides (a part's claims too, as for alignments)."""
    if not PREFECTURAL_KINDS & subject.types:
        return []
    here = f"{_iri(subject.iri)} pg:hasComponent* ?x ."
    found = [*await claims(request, "counterpart", f"{here} {{ ?c pg:firstSide ?x }} UNION {{ ?c pg:secondSide ?x }}",
                           subject.lang),
             *await claims(request, "link", f"{here} {{ ?c pg:earlierProgram ?x }} UNION {{ ?c pg:laterProgram ?x }}",
                           subject.lang)]
    return [Section("alignment_others.html", {"claims": found, "here": subject.iri},
                    {"ja": "他県の対応事業と事業の継続関係", "en": "Counterparts and continuity"})] if found else []


BUILDERS: list[Builder] = [national_plan, plan_section, national_program, claim_page, aligned_national_programs,
                           other_links]
