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
from dataclasses import dataclass, replace

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

from policygraph.records import labels as bl
from policygraph.transform import ids
from policygraph.transform.writer import Writer, decimal
from policygraph.records.eras import fiscal_year_labels
from policygraph.transform.ids import PG, QB
from policygraph.records.models import (
    BudgetClassificationFile,
    BudgetPage,
    BudgetPagesFile,
    FiguresFile,
    PrintedRow,
)

PERSON = ids.code("unit", "person")

# The 要求額 on a page is a request for the initial budget, a supplementary one, or an adjustment (調整).
_REQUEST_STAGE = (("調整", "adjustment-request"), ("補正", "supplementary-request"), ("専決", "supplementary-request"))
_ADJUSTMENT_ROW = {"addition": "追加", "restoration": "復活", "held-request": "保留"}


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
    pages = _Pages(w, src.key, pref, doc, budgets, staff, _budget_items(pf, classification, doc, w),
                   src.accessed.isoformat())
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
        _PageWriter(page, names[page.program], pages).write()


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


@dataclass(frozen=True)
class _Pages:
    """The page set being written: its key, prefecture and document, its two data sets, its 目, the
    date it was read, and the graph."""
    w: Writer
    key: str
    pref: str
    doc: URIRef
    budgets: URIRef
    staff: URIRef
    items: dict[str, URIRef]
    accessed: str


@dataclass(frozen=True)
class _Cell:
    """Where a figure stands on the page: row label and column as printed, and the cell's own text."""
    row: str
    column: str | None = None
    printed: str | None = None


class _PageWriter:
    """One budget-compilation page: the page itself, its cost table, its 要求額 line and its 査定."""

    def __init__(self, page: BudgetPage, name_en: str, pages: _Pages):
        self.page, self.name_en, self.pages, self.w = page, name_en, pages, pages.w
        self.key = f"{pages.key}/page/{page.id}"
        self.node = ids.source_document(self.key)
        self.prog = program_iri(pages.pref, page.program)
        self.item = pages.items.get(page.classification["目"]) if page.classification else None

    def write(self) -> None:
        self._describe()
        for i, row in enumerate(self.page.rows, 1):
            self._row(i, row)
        if self.page.request:
            self._request(self.page.request)
        if self.page.assessment:
            self._assessment(self.page.assessment)

    def _describe(self) -> None:
        w, page, node, year = self.w, self.page, self.node, self.page.fiscal_year
        era = fiscal_year_labels(year)[0]
        w.typed(node, PG.WebPage, PG.SourceDocument)
        w.label(node, f"{page.title or page.name}（{era}）", f"{self.name_en} (FY{year}), budget compilation page")
        w.add(node, DCTERMS.title, Literal(page.title or page.name, lang="ja"))
        w.add(node, DCTERMS.isPartOf, self.pages.doc)
        w.add(node, PG.pageUrl, URIRef(page.url))
        w.add(node, PG.accessedOn, Literal(self.pages.accessed, datatype=XSD.date))
        w.add(node, PG.fiscalYear, ids.fiscal_year(year))
        w.add(node, PG.aboutProgram, self.prog)
        w.add(node, PG.prefecture, ids.prefecture(self.pages.pref))
        w.text(node, PG.printedName, page.name)
        w.text(node, PG.budgetKind, page.kind)
        w.text(node, PG.organisationText, page.organisation)
        w.text(node, PG.pageHeading, page.heading)
        w.add(node, PG.secondReading, Literal(page.second_reading))
        for note in page.not_shown:
            w.text(node, PG.notShown, note, lang="en")
        w.add(node, PG.budgetClassification, self.item)

    def _amount(self, section: URIRef, key: ids.BudgetKey, amount: int, cell: _Cell) -> None:
        place = str(section).rsplit("/", 1)[1]  # row-2, request, assessment: a page may print a figure twice
        key = replace(key, page=f"{self.page.id}/{place}")
        _printed(self.w.budget(self.pages.budgets, key, amount, section), cell, self.item, self.w)

    def _row(self, i: int, row: PrintedRow) -> None:
        w, prog = self.w, self.prog
        r = bl.read_row_label(row.label, self.page.fiscal_year)
        label = row.label or "（行見出しなし）"
        s = w.section(self.key, f"row-{i}", f"事業費・人件費 > {label}", " ".join([row.label, *row.values]).strip())
        for column, printed in zip(self.page.columns, row.values, strict=False):
            kind, code = bl.column_kind(column)
            cell = _Cell(row.label, column, printed)
            if kind == "component":
                key = ids.BudgetKey(prog, r.year, r.stage, component=code)
                self._amount(s, key, bl.read_amount(printed), cell)
                continue
            obs = ids.staff_observation(prog, r.year, r.stage, code, f"{self.page.id}/row-{i}")
            w.typed(obs, PG.StaffObservation, QB.Observation)
            w.add(obs, QB.dataSet, self.pages.staff)
            w.add(obs, PG.program, prog)
            w.add(obs, PG.fiscalYear, ids.fiscal_year(r.year))
            w.add(obs, PG.budgetStage, ids.code("budget-stage", r.stage))
            w.add(obs, PG.staffKind, ids.code("staff-kind", code))
            w.add(obs, PG.staffCount, decimal(bl.read_persons(printed)))
            w.add(obs, PG.unitOfMeasure, PERSON)
            _printed(obs, cell, None, w)
            w.derived(obs, s)

    def _request(self, line: str) -> None:
        year, req = self.page.fiscal_year, bl.read_request_line(line)
        s = self.w.section(self.key, "request", "要求額", line)
        stage = next((st for word, st in _REQUEST_STAGE if word in (self.page.kind or "")), "request")
        if req.adjustments and stage == "request":
            stage = "adjustment-request"
        # The line's figures are 事業費: the page's 要求額 is the 事業費(A) of its request row.
        self._amount(s, ids.BudgetKey(self.prog, year, stage), req.requested, _Cell("要求額"))
        if req.prior_year is not None:
            self._amount(s, ids.BudgetKey(self.prog, year - 1, "prior-year-budget"), req.prior_year,
                         _Cell("前年度予算額"))
        for adj, amount in req.adjustments:
            self._amount(s, ids.BudgetKey(self.prog, year, adj), amount, _Cell(_ADJUSTMENT_ROW[adj]))
        for f in req.funding:
            self.w.add(self.node, PG.financedBy, ids.code("revenue-source", f))

    def _assessment(self, line: str) -> None:
        a = bl.read_assessment(line)
        s = self.w.section(self.key, "assessment", "査定", line)
        self.w.add(self.node, PG.assessedAt, ids.code("assessment-level", a.assessor))
        self.w.add(self.node, PG.assessmentResult, ids.code("assessment-result", a.result))
        if a.amount is not None and a.stage:
            key = ids.BudgetKey(self.prog, self.page.fiscal_year, a.stage)
            self._amount(s, key, a.amount, _Cell({"assessed": "計上額", "held": "保留額"}[a.stage]))


def _printed(obs: URIRef, cell: _Cell, item: URIRef | None, w: Writer) -> None:
    """Where the figure stands on the page: row label and column as printed, and the cell's own text."""
    w.add(obs, PG.rowLabel, Literal(cell.row))
    w.add(obs, PG.columnLabel, Literal(cell.column) if cell.column else None)
    w.add(obs, PG.printedValue, Literal(cell.printed) if cell.printed else None)
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
        key = ids.BudgetKey(program_iri(pref, f.program), f.fiscal_year, f.stage, component=f.component,
                            page=f"{page_key.rsplit('/', 1)[1]}/figure-{i}")
        obs = w.budget(budgets, key, f.value, s, unit="yen" if f.unit == "円" else "thousand-yen")
        _printed(obs, _Cell(f.label, None, f"{f.amount}{f.unit}"), None, w)
        w.text(obs, PG.transcriptionNote, f.note)
