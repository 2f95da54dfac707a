"""A prefecture's budget-compilation pages (予算編成過程の公開) → RDF.

Each page becomes a pg:WebPage (its URL, title, the date it was read) inside the page set's
pg:SourceDocument, and every printed figure becomes its own observation: a cost-table cell is a
pg:BudgetObservation (component 事業費 / 人件費 / トータルコスト) or a pg:StaffObservation (人, by kind
of staff), the 要求額 and 査定 lines give the request, the prior-year budget, the 追加/復活/保留 and the
assessed amount. Each observation keeps the row label, column and printed text it was read from, so
the same figure printed on two pages stays two observations; SHACL warns where they disagree and
where a row's トータルコスト is not 事業費 + 人件費 as printed.
"""

from __future__ import annotations

import hashlib

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

from policygraph.records import labels as bl
from policygraph.transform import ids
from policygraph.transform.writer import Writer, decimal
from policygraph.records.eras import fiscal_year_labels
from policygraph.transform.ids import PG, QB
from policygraph.records.models import BudgetClassificationFile, BudgetPage, BudgetPagesFile, FiguresFile

PERSON = ids.code("unit", "person")

# The 要求額 on a page is a request for the initial budget, a supplementary one, or an adjustment (調整).
_REQUEST_STAGE = (("調整", "adjustment-request"), ("補正", "supplementary-request"), ("専決", "supplementary-request"))


def program_iri(pref: str, key: str) -> URIRef:
    return ids.iri("prefectural-project", pref, key)


def budget_item_iri(pref: str, key: str) -> URIRef:
    return ids.iri("budget-item", pref, key)


def write_budget_pages(pf: BudgetPagesFile, classification: BudgetClassificationFile | None, w: Writer) -> None:
    src, pref = pf.source, pf.source.prefecture
    doc = ids.source_document(src.key)
    w.typed(doc, PG.SourceDocument)
    w.label(doc, f"{src.publisher} {src.title}", src.title_en)
    w.add(doc, DCTERMS.title, Literal(src.title, lang="ja"))
    w.add(doc, DCTERMS.publisher, ids.prefecture(pref))
    w.add(doc, PG.prefecture, ids.prefecture(pref))
    w.add(doc, PG.pageUrl, URIRef(src.site))
    w.add(doc, PG.accessedOn, Literal(src.accessed.isoformat(), datatype=XSD.date))
    w.text(doc, PG.licenceNote, src.licence, lang="en")
    w.text(doc, PG.transcriptionNote, f"Read from {src.read_from}.", lang="en")
    budgets = w.dataset(ids.iri("dataset", "budget", src.key), PG.BudgetStructure,
                        f"予算額：{src.publisher} {src.title}", f"Budgets: {src.title_en}", doc)
    staff = w.dataset(ids.iri("dataset", "staff", src.key), PG.StaffStructure,
                      f"職員数：{src.publisher} {src.title}", f"Staff: {src.title_en}", doc)
    items = _budget_items(pf, classification, doc, w)
    names = {}
    for p in pf.programs:
        prog = program_iri(pref, p.key)
        names[p.key] = p.name_en
        w.typed(prog, PG.PrefecturalProject)
        w.label(prog, p.name, p.name_en)
        w.add(prog, PG.prefecture, ids.prefecture(pref))
        w.add(prog, PG.implementedBy, ids.prefecture(pref))
        w.add(prog, PG.managedBy, ids.organization(src.department))
        w.derived(prog, doc)
    for page in pf.pages:
        _page(page, src.key, pref, doc, budgets, staff, items, names[page.program], src.accessed.isoformat(), w)


def _budget_items(pf: BudgetPagesFile, classification: BudgetClassificationFile | None, doc: URIRef,
                  w: Writer) -> dict[str, URIRef]:
    """The prefecture's 目 as a SKOS scheme, each under the statutory 項 the pages print it under."""
    pref = pf.source.prefecture
    scheme = ids.iri("budget-item", pref)
    w.typed(scheme, SKOS.ConceptScheme)
    w.label(scheme, f"歳出予算の目（{pf.source.publisher}）", f"Budget items (目) of prefecture {pref}", concept=True)
    w.add(scheme, PG.prefecture, ids.prefecture(pref))
    w.derived(scheme, doc)
    under = {p.classification["目"]: p.classification for p in pf.pages if p.classification}
    out = {}
    for item in pf.classification:
        node = budget_item_iri(pref, item.key)
        out[item.name] = node
        w.typed(node, PG.BudgetItem, SKOS.Concept)
        w.label(node, item.name, item.name_en, concept=True)
        w.add(node, SKOS.inScheme, scheme)
        w.add(node, PG.prefecture, ids.prefecture(pref))
        w.derived(node, doc)
        c = under.get(item.name)
        found = classification.item_of(c["款"], c["項"]) if (c and classification) else None
        if found:
            w.add(node, SKOS.broader, ids.iri("budget-classification", found[0].key, found[1].key))
    return out


def _page(page: BudgetPage, key: str, pref: str, doc: URIRef, budgets: URIRef, staff: URIRef,
          items: dict[str, URIRef], name_en: str, accessed: str, w: Writer) -> None:
    page_key = f"{key}/page/{page.id}"
    node = ids.source_document(page_key)
    prog = program_iri(pref, page.program)
    year = page.fiscal_year
    era = fiscal_year_labels(year)[0]
    w.typed(node, PG.WebPage, PG.SourceDocument)
    w.label(node, f"{page.title or page.name}（{era}）", f"{name_en} (FY{year}), budget compilation page")
    w.add(node, DCTERMS.title, Literal(page.title or page.name, lang="ja"))
    w.add(node, DCTERMS.isPartOf, doc)
    w.add(node, PG.pageUrl, URIRef(page.url))
    w.add(node, PG.accessedOn, Literal(accessed, datatype=XSD.date))
    w.add(node, PG.fiscalYear, ids.fiscal_year(year))
    w.add(node, PG.aboutProgram, prog)
    w.add(node, PG.prefecture, ids.prefecture(pref))
    w.text(node, PG.printedName, page.name)
    w.text(node, PG.budgetKind, page.kind)
    w.text(node, PG.organisationText, page.organisation)
    w.text(node, PG.pageHeading, page.heading)
    w.add(node, PG.secondReading, Literal(page.second_reading))
    for note in page.not_shown:
        w.text(node, PG.notShown, note, lang="en")
    item = items.get(page.classification["目"]) if page.classification else None
    w.add(node, PG.budgetClassification, item)

    def cell(section: URIRef, y: int, stage: str, component: str, amount: int, row: str, column: str | None,
             printed: str | None = None) -> None:
        place = str(section).rsplit("/", 1)[1]  # row-2, request, assessment: a page may print a figure twice
        obs = w.budget(budgets, prog, y, stage, amount, section, component=component, page=f"{page.id}/{place}")
        _printed(obs, row, column, printed, item, w)

    for i, row in enumerate(page.rows, 1):
        r = bl.read_row_label(row.label, year)
        label = row.label or "（行見出しなし）"
        s = w.section(page_key, f"row-{i}", f"事業費・人件費 > {label}", " ".join([row.label, *row.values]).strip())
        for column, printed in zip(page.columns, row.values):
            kind, code = bl.column_kind(column)
            if kind == "component":
                cell(s, r.year, r.stage, code, bl.read_amount(printed), row.label, column, printed)
            else:
                obs = ids.staff_observation(prog, r.year, r.stage, code, f"{page.id}/row-{i}")
                w.typed(obs, PG.StaffObservation, QB.Observation)
                w.add(obs, QB.dataSet, staff)
                w.add(obs, PG.program, prog)
                w.add(obs, PG.fiscalYear, ids.fiscal_year(r.year))
                w.add(obs, PG.budgetStage, ids.code("budget-stage", r.stage))
                w.add(obs, PG.staffKind, ids.code("staff-kind", code))
                w.add(obs, PG.staffCount, decimal(bl.read_persons(printed)))
                w.add(obs, PG.unitOfMeasure, PERSON)
                _printed(obs, row.label, column, printed, None, w)
                w.derived(obs, s)
    if page.request:
        req = bl.read_request_line(page.request)
        s = w.section(page_key, "request", "要求額", page.request)
        stage = next((st for word, st in _REQUEST_STAGE if word in (page.kind or "")), "request")
        if req.adjustments and stage == "request":
            stage = "adjustment-request"
        # The line's figures are 事業費: the page's 要求額 is the 事業費(A) of its request row.
        cell(s, year, stage, "project-cost", req.requested, "要求額", None)
        if req.prior_year is not None:
            cell(s, year - 1, "prior-year-budget", "project-cost", req.prior_year, "前年度予算額", None)
        for adj, amount in req.adjustments:
            cell(s, year, adj, "project-cost", amount, {"addition": "追加", "restoration": "復活",
                                                       "held-request": "保留"}[adj], None)
        for f in req.funding:
            w.add(node, PG.financedBy, ids.code("revenue-source", f))
    if page.assessment:
        a = bl.read_assessment(page.assessment)
        s = w.section(page_key, "assessment", "査定", page.assessment)
        w.add(node, PG.assessedAt, ids.code("assessment-level", a.assessor))
        w.add(node, PG.assessmentResult, ids.code("assessment-result", a.result))
        if a.amount is not None and a.stage:
            cell(s, year, a.stage, "project-cost", a.amount, {"assessed": "計上額", "held": "保留額"}[a.stage], None)


def _printed(obs: URIRef, row: str, column: str | None, printed: str | None, item: URIRef | None,
             w: Writer) -> None:
    """Where the figure stands on the page: row label and column as printed, and the cell's own text."""
    w.add(obs, PG.rowLabel, Literal(row))
    w.add(obs, PG.columnLabel, Literal(column) if column else None)
    w.add(obs, PG.printedValue, Literal(printed) if printed else None)
    w.add(obs, PG.budgetClassification, item)


def write_figures(ff: FiguresFile, w: Writer) -> None:
    """A figures file (from ``policygraph import``): each figure an observation derived from its page."""
    src, pref = ff.source, ff.source.prefecture
    doc = ids.source_document(src.key)
    w.typed(doc, PG.SourceDocument)
    w.label(doc, src.title, src.title_en)
    w.add(doc, DCTERMS.title, Literal(src.title, lang="ja"))
    w.add(doc, PG.prefecture, ids.prefecture(pref))
    budgets = w.dataset(ids.iri("dataset", "budget", src.key), PG.BudgetStructure,
                        f"予算額：{src.title}", f"Budgets: {src.title_en}", doc)
    for p in ff.programs:
        prog = program_iri(pref, p.key)
        w.typed(prog, PG.PrefecturalProject)
        w.label(prog, p.name, p.name_en)
        w.add(prog, PG.prefecture, ids.prefecture(pref))
        w.add(prog, PG.implementedBy, ids.prefecture(pref))
        w.derived(prog, doc)
    pages: dict[str, URIRef] = {}
    for i, f in enumerate(ff.figures, 1):
        page_key = f"{src.key}/page/{hashlib.sha256(f.url.encode()).hexdigest()[:16]}"
        page = ids.source_document(page_key)
        if f.url not in pages:
            pages[f.url] = page
            w.typed(page, PG.WebPage, PG.SourceDocument)
            w.label(page, f.title)
            w.add(page, DCTERMS.title, Literal(f.title, lang="ja"))
            w.add(page, DCTERMS.isPartOf, doc)
            w.add(page, PG.pageUrl, URIRef(f.url))
            w.add(page, PG.accessedOn, Literal(f.accessed.isoformat(), datatype=XSD.date))
            w.add(page, PG.fiscalYear, ids.fiscal_year(f.fiscal_year))
            w.add(page, PG.aboutProgram, program_iri(pref, f.program))
            w.add(page, PG.prefecture, ids.prefecture(pref))
        s = w.section(page_key, f"figure-{i}", f.label, f"{f.label} {f.amount}{f.unit}")
        obs = w.budget(budgets, program_iri(pref, f.program), f.fiscal_year, f.stage, f.value, s,
                       component=f.component, page=f"{page_key.rsplit('/', 1)[1]}/figure-{i}",
                       unit="yen" if f.unit == "円" else "thousand-yen")
        _printed(obs, f.label, None, f"{f.amount}{f.unit}", None, w)
        w.text(obs, PG.transcriptionNote, f.note)
