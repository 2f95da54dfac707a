"""A national SME support plan → RDF.

The plan's outline becomes a SKOS scheme of pg:PlanSection concepts (chapters, （１）
sections, ① measures); every item that is a program becomes a pg:NationalProgram, placed
in its section and tier, with its budget as Data Cube observations. IRIs follow the
section path: 第３ ２．（２）② ア → national-program/2008/3-2-2-a.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from policygraph.transform import ids
from policygraph.transform.writer import Writer
from policygraph.transform.ids import PG
from policygraph.records.models import Chapter, NationalPlanFile, PlanItem

TIER_IMPLEMENTER = {"national": "kuni", "smrj": "smrj", "prefectural": None}


def plan_iri(year: int) -> URIRef:
    return ids.iri("national-plan", year)


def program_iri(year: int, path: str) -> URIRef:
    return ids.iri("national-program", year, path)


def section_iri(year: int, path: str) -> URIRef:
    return ids.iri("plan-section", year, path)


def write_national_plan(plan: NationalPlanFile, w: Writer) -> None:
    src = plan.source
    year = src.fiscal_year
    doc = ids.source_document(src.key)
    w.typed(doc, PG.SourceDocument)
    w.label(doc, src.title, src.title_en)
    w.add(doc, DCTERMS.title, Literal(src.title, lang="ja"))
    w.add(doc, PG.fileName, Literal(src.file))
    w.add(doc, DCTERMS.creator, ids.organization("meti"))
    w.add(doc, PG.fiscalYear, ids.fiscal_year(year))

    scheme = plan_iri(year)
    w.typed(scheme, PG.SupportPlan, SKOS.ConceptScheme)
    w.label(scheme, src.title, src.title_en, concept=True)
    w.add(scheme, DCTERMS.source, doc)
    w.add(scheme, PG.fiscalYear, ids.fiscal_year(year))
    w.derived(scheme, doc)

    budgets = w.dataset(ids.iri("dataset", "budget", src.key), PG.BudgetStructure,
                        f"予算額：{src.title}", f"Budgets: {src.title_en}", doc)
    plan_ctx = _Plan(w, year, src.key, scheme, budgets)
    for ch in plan.chapters:
        _chapter(ch, plan_ctx)


@dataclass(frozen=True)
class _Plan:
    """The plan being written: its year and document, its scheme and budget data set, the graph."""
    w: Writer
    year: int
    doc_key: str
    scheme: URIRef
    budgets: URIRef


@dataclass(frozen=True)
class _Place:
    """Where an item sits: its parent's key and heading path, section, program (if any) and tier."""
    key: str
    heading_path: str
    section: URIRef
    program: URIRef | None
    tier: str


def _chapter(ch: Chapter, plan: _Plan) -> None:
    w, year, scheme = plan.w, plan.year, plan.scheme
    path = str(ch.number)
    marker = f"第{'０１２３４５６７８９'[ch.number]}"
    heading = f"{marker} {ch.heading}"
    sec = section_iri(year, path)
    w.typed(sec, PG.PlanSection, SKOS.Concept)
    w.label(sec, heading, ch.heading_en, concept=True)
    w.add(sec, SKOS.notation, Literal(path))
    w.add(sec, SKOS.inScheme, scheme)
    w.add(sec, SKOS.topConceptOf, scheme)
    w.add(scheme, SKOS.hasTopConcept, sec)
    w.text(sec, DCTERMS.description, ch.implementation)
    w.text(sec, SKOS.scopeNote, ch.overview)
    w.derived(sec, w.section(plan.doc_key, path, heading))
    for s in ch.sections:
        key = f"{path}-{ids.marker_key(s.no)}"
        heading_path = f"{heading} > ２．事業の概要 > {s.no}"
        node = section_iri(year, key)
        w.typed(node, PG.PlanSection, SKOS.Concept)
        w.label(node, s.title, s.title_en, concept=True)
        w.add(node, SKOS.notation, Literal(key))
        w.add(node, SKOS.inScheme, scheme)
        w.add(node, SKOS.broader, sec)
        w.derived(node, w.section(plan.doc_key, key, heading_path))
        for item in s.items:
            _item(item, _Place(key, heading_path, node, None, ch.tier), plan)


def _item(item: PlanItem, parent: _Place, plan: _Plan) -> None:
    w, year = plan.w, plan.year
    key = f"{parent.key}-{ids.marker_key(item.no)}"
    heading_path = f"{parent.heading_path} > {item.no}"
    src_section = w.section(plan.doc_key, key, heading_path, quote=item.title)
    section, program = parent.section, None
    if item.kind == "measure":
        section = section_iri(year, key)
        w.typed(section, PG.PlanSection, SKOS.Concept)
        w.label(section, item.title, item.title_en, concept=True)
        w.add(section, SKOS.notation, Literal(key))
        w.add(section, SKOS.inScheme, plan.scheme)
        w.add(section, SKOS.broader, parent.section)
        w.text(section, SKOS.definition, item.description)
        w.derived(section, src_section)
    else:
        program = program_iri(year, key)
        w.typed(program, PG.NationalProgram)
        w.label(program, item.title, item.title_en)
        w.add(program, SKOS.notation, Literal(key))
        w.add(program, PG.planSection, parent.section)
        w.add(program, PG.tier, ids.code("tier", parent.tier))
        if implementer := TIER_IMPLEMENTER[parent.tier]:
            w.add(program, PG.implementedBy, ids.organization(implementer))
        w.text(program, DCTERMS.description, item.description)
        if parent.program is not None:
            w.add(parent.program, PG.hasComponent, program)
            w.add(program, PG.componentOf, parent.program)
        w.derived(program, src_section)
        _budget(item, program, f"{key}/budget", f"{heading_path} （予算額）", plan)
    for child in item.items:
        _item(child, _Place(key, heading_path, section, program, parent.tier), plan)


def _budget(item: PlanItem, program: URIRef, path: str, heading: str, plan: _Plan) -> None:
    """The plan's budget for a program: this year's, and last year's unless the program is new."""
    if not item.budget:
        return
    w, year = plan.w, plan.year
    section = w.section(plan.doc_key, path, heading, quote=item.budget.printed)
    w.budget(plan.budgets, ids.BudgetKey(program, year, "plan-stated"), item.budget.plan_year, section)
    if item.budget.prior_year == "new":
        w.add(program, PG.newInFiscalYear, ids.fiscal_year(year))
    else:
        w.budget(plan.budgets, ids.BudgetKey(program, year - 1, "plan-stated"), item.budget.prior_year, section)
