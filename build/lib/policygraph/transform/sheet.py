"""A prefectural project sheet (事業改善シート) → RDF.

project → sub-projects (細事業) → initiatives (取組) → planned outputs; the cost table and the
sub-project budgets as Data Cube observations; KPIs and plan goals as SKOS indicators with
indicator observations, where a value the source lacks is an observation with no pg:value
and pg:valueStatus missing-in-source (never a zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from policygraph.transform import ids
from policygraph.transform.writer import Writer, decimal
from policygraph.transform.reference import write_units
from policygraph.records.eras import fiscal_year_short
from policygraph.transform.ids import PG, QB
from policygraph.records.models import (
    GoalRecord,
    KpiRecord,
    PlanRecord,
    PrefecturalSheetFile,
    ProjectRecord,
    SubProjectRecord,
)

METHODS = {"補助金": "subsidy", "委託": "commission", "直接": "direct", "負担金": "contribution"}
COST_ROWS = {"current": "予算額", "request": "要求", "draft": "予算案"}
STATUS_REPORTED = ids.code("value-status", "reported")
STATUS_MISSING = ids.code("value-status", "missing-in-source")
STATUS_AMBIGUOUS = ids.code("value-status", "ambiguous-in-source")


def project_iri(pref: str, key: str) -> URIRef:
    return ids.iri("prefectural-project", pref, key)


def sub_project_iri(pref: str, key: str, no: int) -> URIRef:
    return ids.iri("sub-project", pref, key, no)


def initiative_iri(pref: str, key: str, sub: int, no: int) -> URIRef:
    return ids.iri("initiative", pref, key, sub, no)


def write_sheet(sheet: PrefecturalSheetFile, w: Writer) -> None:
    src, proj = sheet.source, sheet.project
    pref, key = src.prefecture, proj.key
    doc = ids.source_document(src.key)
    w.typed(doc, PG.SourceDocument)
    title = f"{src.title} {proj.number} {proj.name}"
    w.label(doc, title, f"{src.title_en}: {proj.number} {proj.name_en}")
    w.add(doc, DCTERMS.title, Literal(title, lang="ja"))
    w.add(doc, PG.fileName, Literal(src.file))
    w.add(doc, DCTERMS.creator, ids.prefecture(pref))
    w.add(doc, PG.prefecture, ids.prefecture(pref))
    w.add(doc, PG.fiscalYear, ids.fiscal_year(src.fiscal_year))
    w.add(doc, PG.edition, ids.code("budget-stage", src.edition))
    w.text(doc, PG.quote, src.printed)

    write_units(sheet.units, w)
    budgets = w.dataset(ids.iri("dataset", "budget", src.key), PG.BudgetStructure,
                        f"予算額：{title}", f"Budgets: {proj.number} {proj.name_en} (FY{src.fiscal_year} sheet)", doc)
    ctx = _Sheet(w, pref, key, src.key, doc, src.fiscal_year, project_iri(pref, key), budgets)
    _project(proj, ctx)
    _costs(proj, ctx)
    for sp in proj.sub_projects:
        _sub_project(sp, ctx)
    _kpis(proj, ctx)
    if proj.plan:
        _plan(proj, proj.plan, ctx)


@dataclass(frozen=True)
class _Sheet:
    """The sheet being written: prefecture, project key and IRI, the document, its year, the budget
    data set and the graph."""
    w: Writer
    pref: str
    key: str
    doc_key: str
    doc: URIRef
    year: int
    project: URIRef
    budgets: URIRef

    def section(self, path: str, heading: str, quote: str | None = None) -> URIRef:
        return self.w.section(self.doc_key, path, heading, quote)


def _project(proj: ProjectRecord, ctx: _Sheet) -> None:
    w, project, pref, sec = ctx.w, ctx.project, ctx.pref, ctx.section
    w.typed(project, PG.PrefecturalProject)
    w.label(project, proj.name, proj.name_en)
    w.add(project, PG.projectNumber, Literal(proj.number))
    w.add(project, PG.prefecture, ids.prefecture(pref))
    w.add(project, PG.implementedBy, ids.prefecture(pref))
    w.add(project, PG.managedBy, ids.organization(proj.division))
    w.add(project, PG.managedBy, ids.organization(proj.department))
    w.add(project, PG.startFiscalYear, ids.fiscal_year(proj.period.from_))
    if proj.period.to:
        w.add(project, PG.endFiscalYear, ids.fiscal_year(proj.period.to))
    w.text(project, PG.purpose, proj.purpose)
    for s in proj.situation:
        w.text(project, PG.situation, s)
    for c in proj.changes_from_request:
        w.text(project, PG.changeFromRequest, c)
    if proj.approach:
        for h in proj.approach.headings + proj.approach.items:
            w.text(project, SKOS.note, h)
    header = "事業改善シート 見出し（事業名・部局・実施期間）"
    w.derived(project, sec("header", header, f"実施期間 {proj.period.printed}"))
    w.derived(project, sec("1-2", "１ 現状と課題 / ２ 事業目的", proj.purpose))


def _costs(proj: ProjectRecord, ctx: _Sheet) -> None:
    w, project, budgets = ctx.w, ctx.project, ctx.budgets
    staff_ds = w.dataset(ids.iri("dataset", "staff", ctx.doc_key), PG.StaffStructure,
                         "職員数", "Staff numbers", ctx.doc)
    quotes = iter(proj.cost_quotes)
    for row in proj.costs:
        row_name = f"{fiscal_year_short(row.year)}年度 {COST_ROWS[row.stage]}"
        s = ctx.section(f"6/{row.year}/{row.stage}", f"６ 事業コスト > {row_name}", next(quotes, None))
        if row.stage == "current":  # a year's budget row: 繰越 + 当初 + 補正 = 予算現額
            for stage, amount in (("carried-over", row.carried_over), ("initial", row.initial),
                                  ("supplementary", row.supplementary), ("current", row.total)):
                if amount is not None:
                    w.budget(budgets, ids.BudgetKey(project, row.year, stage), amount, s)
        else:  # the 要求 / 予算案 row of the sheet's own year
            w.budget(budgets, ids.BudgetKey(project, row.year, row.stage), row.initial, s)
        if row.general_revenue is not None:
            w.budget(budgets, ids.BudgetKey(project, row.year, row.stage, funding="general-revenue"),
                     row.general_revenue, s)
        if row.settlement is not None:
            w.budget(budgets, ids.BudgetKey(project, row.year, "settlement"), row.settlement, s)
        if row.staff is not None:
            obs = ids.staff_observation(project, row.year, row.stage)
            w.typed(obs, PG.StaffObservation, QB.Observation)
            w.add(obs, QB.dataSet, staff_ds)
            w.add(obs, PG.program, project)
            w.add(obs, PG.fiscalYear, ids.fiscal_year(row.year))
            w.add(obs, PG.budgetStage, ids.code("budget-stage", row.stage))
            w.add(obs, PG.staffKind, ids.code("staff-kind", "all-staff"))  # the sheet's 職員数: no breakdown
            w.add(obs, PG.staffCount, decimal(row.staff))
            w.derived(obs, s)


def _sub_project(sp: SubProjectRecord, ctx: _Sheet) -> None:
    w, project, pref, key, year, sec = ctx.w, ctx.project, ctx.pref, ctx.key, ctx.year, ctx.section
    node = sub_project_iri(pref, key, sp.no)
    w.typed(node, PG.SubProject)
    w.label(node, sp.name, sp.name_en)
    w.add(node, SKOS.notation, Literal(str(sp.no)))
    w.add(node, PG.prefecture, ids.prefecture(pref))
    w.add(project, PG.hasComponent, node)
    w.add(node, PG.componentOf, project)
    s = sec(f"sub-projects/{sp.no}", f"細事業一覧 > 細事業No.{sp.no}", sp.name)
    w.derived(node, s)
    for cell in sp.budget:
        if cell.amount is None:  # printed as ー: no budget that year; recorded as a note, not a zero
            note = f"{cell.year}年度 {cell.stage}: 「{cell.printed}」と記載（予算計上なし）"
            w.text(node, PG.transcriptionNote, note)
        else:
            w.budget(ctx.budgets, ids.BudgetKey(node, cell.year, cell.stage), cell.amount, s)
    for ini in sp.initiatives:
        it = initiative_iri(pref, key, sp.no, ini.no)
        w.typed(it, PG.Initiative)
        w.label(it, ini.name, ini.name_en)
        w.add(it, SKOS.notation, Literal(f"{sp.no}-{ini.no}"))
        w.add(it, PG.prefecture, ids.prefecture(pref))
        w.add(node, PG.hasComponent, it)
        w.add(it, PG.componentOf, node)
        w.text(it, DCTERMS.description, ini.summary)
        for m in ini.methods:
            w.add(it, PG.deliveryMethod, ids.code("delivery-method", METHODS[m]))
        si = sec(f"sub-projects/{sp.no}/{ini.no}", f"細事業一覧 > 細事業No.{sp.no} > 取組No.{ini.no}", ini.name)
        w.derived(it, si)
        for n, out in enumerate(ini.outputs, 1):
            o = ids.iri("planned-output", pref, key, sp.no, ini.no, year, n)
            w.typed(o, PG.PlannedOutput)
            w.label(o, out.printed)
            w.add(o, SKOS.prefLabel, Literal(out.label, lang="ja"))
            w.add(o, PG.outputOf, it)
            w.add(o, PG.fiscalYear, ids.fiscal_year(year))
            w.add(o, PG.quantity, decimal(out.quantity))
            w.text(o, PG.unitText, out.unit)
            w.derived(o, si)


@dataclass(frozen=True)
class _Indicator:
    """A KPI or plan goal whose values are being written: its IRI, the prefix of its observations' IRIs,
    its unit, the section it was read from, and the graph."""
    w: Writer
    iri: URIRef
    base: URIRef
    unit: str | None
    section: URIRef

    def observe(self, year: int | None, role: str, value: Decimal | float | None, status: URIRef,
                note: str | None = None) -> None:
        """One value of the indicator; a value the source does not give is absent, with its status."""
        w = self.w
        obs = URIRef(f"{self.base}/{year if year else 'unknown-year'}/{role}")
        w.typed(obs, PG.IndicatorObservation, QB.Observation)
        w.add(obs, PG.indicator, self.iri)
        if year:
            w.add(obs, PG.fiscalYear, ids.fiscal_year(year))
        w.add(obs, PG.valueRole, ids.code("value-role", role))
        if value is not None:
            w.add(obs, PG.value, decimal(value))
        w.add(obs, PG.valueStatus, status)
        w.text(obs, PG.unitText, self.unit)
        w.text(obs, PG.transcriptionNote, note, lang="en")
        w.derived(obs, self.section)


def _kpis(proj: ProjectRecord, ctx: _Sheet) -> None:
    if not proj.kpis:
        return
    w = ctx.w
    scheme = ids.iri("kpi-scheme", ctx.pref, ctx.key)
    w.typed(scheme, SKOS.ConceptScheme)
    w.label(scheme, f"成果指標：{proj.name}", f"KPIs: {proj.name_en}", concept=True)
    w.derived(scheme, ctx.doc)
    s = ctx.section("4", "４ 成果指標")
    for k in proj.kpis:
        _kpi(k, proj, scheme, s, ctx)


def _kpi(k: KpiRecord, proj: ProjectRecord, scheme: URIRef, s: URIRef, ctx: _Sheet) -> None:
    w = ctx.w
    kpi = ids.iri("kpi", ctx.pref, ctx.key, k.no)
    w.typed(kpi, PG.KPI, SKOS.Concept)
    w.label(kpi, k.name, k.name_en, concept=True)
    w.add(kpi, SKOS.notation, Literal(str(k.no)))
    w.add(kpi, SKOS.inScheme, scheme)
    w.add(kpi, PG.indicatorOf, ctx.project)
    w.text(kpi, PG.targetRationale, k.rationale)
    w.text(kpi, PG.unitText, k.unit)
    w.text(kpi, PG.transcriptionNote, k.note, lang="en")
    w.derived(kpi, s)
    given = {(v.year, v.role): v for v in k.values}
    indicator = _Indicator(w, kpi, ids.iri("indicator-observation", "kpi", ctx.pref, ctx.key, k.no), k.unit, s)
    for col in proj.kpi_columns:
        v = given.get((col.year, col.role))
        if v is not None:
            indicator.observe(col.year, col.role, v.value, STATUS_REPORTED)
        else:
            indicator.observe(col.year, col.role, None, STATUS_MISSING,
                              "No value in the extracted text of the source sheet.")


@dataclass(frozen=True)
class _PlanScope:
    """The prefectural plan a sheet contributes to: its key and scheme, the section naming it, and the
    values the sheet prints that cannot be attributed to one goal."""
    key: str
    scheme: URIRef
    section: URIRef
    unattributed: str | None


def _plan(proj: ProjectRecord, plan: PlanRecord, ctx: _Sheet) -> None:
    w, pref, project = ctx.w, ctx.pref, ctx.project
    scheme = ids.iri("prefectural-plan", pref, plan.key)
    w.typed(scheme, PG.SupportPlan, SKOS.ConceptScheme)
    w.label(scheme, plan.name, plan.name_en, concept=True)
    w.add(scheme, PG.prefecture, ids.prefecture(pref))
    s = ctx.section("5", "５ 本事業が貢献する総合５か年計画の施策分野と達成目標")
    w.derived(scheme, s)
    areas = {}
    for a in plan.areas:
        area = ids.iri("policy-area", pref, plan.key, ids.notation_key(a.notation))
        areas[a.notation] = area
        w.typed(area, PG.PolicyArea, SKOS.Concept)
        w.label(area, a.name, a.name_en, concept=True)
        w.add(area, SKOS.notation, Literal(a.notation))
        w.add(area, SKOS.inScheme, scheme)
        w.add(area, SKOS.topConceptOf, scheme)
        w.add(project, PG.contributesTo, area)
        w.derived(area, s)
    unattributed = "; ".join(f"{u.printed}: {u.note}" for u in plan.unattributed) or None
    scope = _PlanScope(plan.key, scheme, s, unattributed)
    for g in plan.goals:
        _goal(g, areas[g.area], scope, ctx)


def _goal(g: GoalRecord, area: URIRef, plan: _PlanScope, ctx: _Sheet) -> None:
    w, s = ctx.w, plan.section
    goal = ids.iri("plan-goal", ctx.pref, plan.key, g.no)
    w.typed(goal, PG.PlanGoal, SKOS.Concept)
    w.label(goal, g.name, g.name_en, concept=True)
    w.add(goal, SKOS.notation, Literal(str(g.no)))
    w.add(goal, SKOS.inScheme, plan.scheme)
    w.add(goal, PG.policyArea, area)
    w.add(goal, SKOS.broader, area)
    w.add(goal, PG.isPrincipalGoal, Literal(g.principal))
    w.text(goal, PG.unitText, g.unit)
    w.text(goal, PG.basePeriod, g.base_period)
    w.add(ctx.project, PG.contributesTo, goal)
    w.derived(goal, s)
    indicator = _Indicator(w, goal, ids.iri("indicator-observation", "plan-goal", ctx.pref, plan.key, g.no),
                           g.unit, s)
    if g.target:
        indicator.observe(g.target.year, "target", g.target.value, STATUS_REPORTED)
    if g.baseline:
        indicator.observe(g.baseline.year, "baseline", g.baseline.value, STATUS_REPORTED)
    elif plan.unattributed:
        indicator.observe(None, "baseline", None, STATUS_AMBIGUOUS, "The sheet prints a value that may belong "
                          f"here but cannot be attributed: {plan.unattributed}")
    else:
        indicator.observe(None, "baseline", None, STATUS_MISSING,
                          "No baseline value in the extracted text of the source sheet.")
