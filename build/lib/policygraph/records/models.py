"""Typed records: the shape of every YAML file in data/.

Each model mirrors the document it transcribes, so a reviewer can hold the YAML
beside the PDF. Models forbid unknown keys and check what can be checked inside
one file (row totals, year names); checks across records (sub-project sums) run
on the built graph in checks.py.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from policygraph.records import labels as bl
from policygraph.records.eras import parse_fiscal_year


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A fiscal year written as the source writes it (R7, 令和７年度, 2025) becomes 2025.
FiscalYear = Annotated[int, BeforeValidator(lambda v: parse_fiscal_year(str(v)))]
JisCode = Annotated[str, Field(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")]
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9/-]*$")]


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


# ---------------------------------------------------------------- reference data

class Region(Record):
    key: Key
    name_ja: str
    name_en: str


class PrefectureRecord(Record):
    code: JisCode
    name_ja: str
    name_en: str
    region: Key


class ReferenceSource(Record):
    key: Key
    title: str
    title_en: str


class PrefecturesFile(Record):
    source: ReferenceSource
    regions: list[Region]
    prefectures: list[PrefectureRecord]

    @model_validator(mode="after")
    def _complete(self):
        codes = [p.code for p in self.prefectures]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate prefecture code")
        regions = {r.key for r in self.regions}
        for p in self.prefectures:
            if p.region not in regions:
                raise ValueError(f"prefecture {p.code}: unknown region {p.region!r}")
        return self


class Texts(Record):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)


class DatasetFile(Record):
    """data/reference/dataset.yaml: the dataset's title and licence, as every build states them."""
    title: Texts
    licence: str = Field(pattern=r"^https?://\S+$")
    rights: Texts


class FiscalYearsFile(Record):
    first: int
    last: int

    @model_validator(mode="after")
    def _order(self):
        if self.first > self.last:
            raise ValueError("first must not be after last")
        return self


class OrganizationRecord(Record):
    key: Key
    name_ja: str
    name_en: str
    alt_ja: list[str] = []
    sub_organization_of: Key | None = None
    note: str | None = None


class UnitRecord(Record):
    key: Key
    prefecture: JisCode
    name_ja: str
    name_en: str
    kind: Literal["department", "division"]
    unit_of: Key | None = None


class OrganizationsFile(Record):
    organizations: list[OrganizationRecord]
    units: list[UnitRecord] = []


# ---------------------------------------------------------------- national plan

class NationalBudget(Record):
    printed: str
    plan_year: int = Field(ge=0)
    prior_year: int | Literal["new"]

    @model_validator(mode="after")
    def _matches_print(self):
        # The figures must be the ones printed: 1,760,400千円（1,956,000千円）.
        digits = re.findall(r"[\d,]+(?=千円)", _nfkc(self.printed).replace(" ", ""))
        numbers = [int(d.replace(",", "")) for d in digits]
        expected = [self.plan_year] + ([] if self.prior_year == "new" else [self.prior_year])
        if numbers != expected:
            raise ValueError(f"amounts {expected} do not match the printed text {self.printed!r}")
        if self.prior_year == "new" and "新規" not in self.printed.replace(" ", "").replace("\u3000", ""):
            raise ValueError(f"prior_year is 'new' but the printed text does not say 新規: {self.printed!r}")
        return self


class PlanItem(Record):
    no: str
    title: str
    title_en: str
    kind: Literal["measure", "program"] = "program"
    budget: NationalBudget | None = None
    description: str | None = None
    items: list[PlanItem] = []

    @model_validator(mode="after")
    def _measures_have_no_budget(self):
        if self.kind == "measure" and self.budget is not None:
            raise ValueError(f"{self.no} {self.title}: a measure (heading) cannot carry a budget")
        return self


class PlanSectionRecord(Record):
    no: str
    title: str
    title_en: str
    items: list[PlanItem]


class Chapter(Record):
    number: int
    heading: str
    heading_en: str
    tier: Literal["national", "prefectural", "smrj"]
    implementation: str
    overview: str | None = None
    sections: list[PlanSectionRecord]


class DocumentSource(Record):
    key: Key
    file: str
    title: str
    title_en: str
    fiscal_year: FiscalYear


class NationalPlanFile(Record):
    source: DocumentSource
    chapters: list[Chapter]


# ---------------------------------------------------------------- prefectural sheet

Stage = Literal["request", "draft", "initial", "supplementary", "carried-over", "current", "settlement"]
Method = Literal["補助金", "委託", "直接", "負担金"]


class BudgetCell(Record):
    year: FiscalYear
    stage: Stage
    amount: int | None = Field(default=None, ge=0)
    printed: str | None = None

    @model_validator(mode="after")
    def _blank_is_printed(self):
        if self.amount is None and self.printed not in ("ー", "－", "-", "―"):
            raise ValueError("amount is missing: give it, or record the printed dash (printed: ー)")
        return self


class CostRow(Record):
    """One row of ６ 事業コスト."""
    year: FiscalYear
    stage: Literal["current", "request", "draft"]
    carried_over: int | None = Field(default=None, ge=0)
    initial: int = Field(ge=0)
    supplementary: int | None = Field(default=None, ge=0)
    total: int = Field(ge=0)
    general_revenue: int | None = Field(default=None, ge=0)
    settlement: int | None = Field(default=None, ge=0)
    staff: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _row_adds_up(self):
        parts = (self.carried_over or 0) + self.initial + (self.supplementary or 0)
        if parts != self.total:
            raise ValueError(
                f"{self.year} {self.stage}: 前年度繰越 + 当初 + 補正 = {parts:,} but 合計 is {self.total:,}"
            )
        if self.general_revenue is not None and self.general_revenue > self.total:
            raise ValueError(f"{self.year}: うち一般財源 {self.general_revenue:,} exceeds 合計 {self.total:,}")
        return self


class Output(Record):
    printed: str
    label: str
    quantity: Decimal = Field(ge=0)
    unit: str

    @model_validator(mode="after")
    def _matches_print(self):
        p = _nfkc(self.printed).replace(" ", "").replace(",", "")
        if not p.startswith(_nfkc(self.label).replace(" ", "")) or not p.endswith(f"{self.quantity}{self.unit}"):
            raise ValueError(f"label/quantity/unit do not match the printed text {self.printed!r}")
        return self


class InitiativeRecord(Record):
    no: int = Field(ge=1)
    name: str
    name_en: str
    methods: list[Method] = Field(min_length=1)
    summary: str
    outputs: list[Output] = []


class SubProjectRecord(Record):
    no: int = Field(ge=1)
    name: str
    name_en: str
    budget: list[BudgetCell]
    initiatives: list[InitiativeRecord]


class KpiColumn(Record):
    year: FiscalYear
    role: Literal["baseline", "actual", "estimate", "target"]


class KpiValue(Record):
    year: FiscalYear
    role: Literal["baseline", "actual", "estimate", "target"]
    value: Decimal
    printed: str


class KpiRecord(Record):
    no: int = Field(ge=1)
    name: str
    name_en: str
    unit: str | None = None
    rationale: str | None = None
    note: str | None = None
    values: list[KpiValue] = []


class TargetValue(Record):
    year: FiscalYear
    value: Decimal
    printed: str


class PolicyAreaRecord(Record):
    notation: str
    name: str
    name_en: str


class GoalRecord(Record):
    no: int = Field(ge=1)
    area: str
    name: str
    name_en: str
    printed: str | None = None
    principal: bool = False
    unit: str | None = None
    base_period: str | None = None
    baseline: TargetValue | None = None
    target: TargetValue | None = None


class UnattributedValue(Record):
    printed: str
    note: str


class PlanRecord(Record):
    key: Key
    name: str
    name_en: str
    areas: list[PolicyAreaRecord]
    goals: list[GoalRecord]
    unattributed: list[UnattributedValue] = []

    @model_validator(mode="after")
    def _areas_exist(self):
        notations = {a.notation for a in self.areas}
        for g in self.goals:
            if g.area not in notations:
                raise ValueError(f"goal {g.no}: unknown policy area {g.area!r}")
        return self


class Period(Record):
    from_: FiscalYear = Field(alias="from")
    to: FiscalYear | None = None
    printed: str


class Approach(Record):
    headings: list[str]
    items: list[str]


class ProjectRecord(Record):
    number: Annotated[str, Field(pattern=r"^\d{2} \d{2} \d{2}$")]
    name: str
    name_en: str
    department: Key
    division: Key
    period: Period
    situation: list[str] = []
    purpose: str
    approach: Approach | None = None
    changes_from_request: list[str] = []
    costs: list[CostRow]
    cost_quotes: list[str] = []
    kpi_columns: list[KpiColumn] = []
    kpis: list[KpiRecord] = []
    plan: PlanRecord | None = None
    sub_projects: list[SubProjectRecord] = []

    @property
    def key(self) -> str:
        return self.number.replace(" ", "")

    @field_validator("sub_projects")
    @classmethod
    def _numbered_once(cls, v):
        nos = [s.no for s in v]
        if len(set(nos)) != len(nos):
            raise ValueError("two sub-projects share a number")
        return v


class SheetSource(Record):
    key: Key
    file: str
    title: str
    title_en: str
    prefecture: JisCode
    fiscal_year: FiscalYear
    edition: Literal["request", "draft", "supplementary", "review"]
    printed: str | None = None


class PrefecturalSheetFile(Record):
    source: SheetSource
    units: list[UnitRecord] = []   # departments/divisions not yet in data/reference/organizations.yaml
    project: ProjectRecord


# ---------------------------------------------------------------- budget classification (款・項)

class ClassItem(Record):
    key: Key
    name: str
    name_en: str


class ClassSection(ClassItem):
    items: list[ClassItem]


class BudgetClassificationFile(Record):
    source: ReferenceSource
    sections: list[ClassSection]

    def item_of(self, section: str, item: str) -> tuple[ClassSection, ClassItem] | None:
        """The 款 and 項 named as printed, or None."""
        for s in self.sections:
            for i in s.items:
                if s.name == section and i.name == item:
                    return s, i
        return None


# ---------------------------------------------------------------- budget-compilation pages

class PagesSource(Record):
    """A prefecture's set of budget-compilation pages (予算編成過程の公開): one web source."""
    key: Key
    prefecture: JisCode
    title: str
    title_en: str
    publisher: str
    site: Annotated[str, Field(pattern=r"^https?://[^\s]+/$")]
    department: Key           # the unit every page's 部・課・担当 names (data/reference/organizations.yaml)
    accessed: date
    read_from: str
    licence: str


class PagesProgram(Record):
    key: Key
    name: str
    name_en: str


class BudgetItem(Record):
    """A 目 as the pages print it, with our ASCII key."""
    key: Key
    name: str
    name_en: str


class PrintedRow(Record):
    label: str
    values: list[str] = Field(min_length=1)


_DOC_ID = re.compile(r"/([0-9a-f]{32})$")
_URL_YEAR = re.compile(r"/(?:shin)?(R\d+|\d{2})[Yy]osan_")


class BudgetPage(Record):
    """One page: a program in one fiscal year, every field as printed."""
    id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
    fiscal_year: FiscalYear
    heading: str | None = None
    title: str | None = None
    budget: str | None = None
    kind: str | None = None
    classification: dict[Literal["款", "項", "目"], str] | None = None
    program: Key
    name: str
    organisation: str | None = None
    columns: list[str] = []
    rows: list[PrintedRow] = []
    request: str | None = None
    assessment: str | None = None
    not_shown: list[str] = []
    second_reading: Literal["match", "not-found", "not-done"]

    @model_validator(mode="after")
    def _readable(self):
        m = _DOC_ID.search(self.url)
        if not m or m.group(1) != self.id:
            raise ValueError(f"id {self.id!r} is not the last segment of the url")
        if (u := _URL_YEAR.search(self.url)) and parse_fiscal_year(
                f"R{u.group(1)[1:]}" if u.group(1).startswith("R") else f"H{u.group(1)}") != self.fiscal_year:
            raise ValueError(f"fiscal_year {self.fiscal_year} is not the year of the url's database {u.group(0)!r}")
        if self.classification is not None and set(self.classification) != {"款", "項", "目"}:
            raise ValueError("classification needs 款, 項 and 目")
        if self.rows and not self.columns:
            raise ValueError("rows need columns")
        for c in self.columns:
            bl.column_kind(c)
        for i, row in enumerate(self.rows):
            if len(row.values) > len(self.columns):
                raise ValueError(f"rows[{i}]: {len(row.values)} values for {len(self.columns)} columns")
            bl.read_row_label(row.label, self.fiscal_year)
            for c, v in zip(self.columns, row.values, strict=False):  # a row may leave its last cells empty
                (bl.read_amount if bl.column_kind(c)[0] == "component" else bl.read_persons)(v)
        if self.request:
            bl.read_request_line(self.request)
        if self.assessment:
            bl.read_assessment(self.assessment)
        if not self.rows and not self.request:
            raise ValueError("a page needs a cost table or a 要求額 line: it has no figure")
        return self


class BudgetPagesFile(Record):
    source: PagesSource
    programs: list[PagesProgram]
    classification: list[BudgetItem] = []
    pages: list[BudgetPage]

    @model_validator(mode="after")
    def _keys(self):
        programs = [p.key for p in self.programs]
        if len(set(programs)) != len(programs):
            raise ValueError("two programs share a key")
        ids = [p.id for p in self.pages]
        if len(set(ids)) != len(ids):
            raise ValueError("two pages share an id (the same page entered twice)")
        items = {i.name for i in self.classification}
        for p in self.pages:
            if p.program not in programs:
                raise ValueError(f"page {p.id}: program {p.program!r} is not in programs")
            if p.classification and p.classification["目"] not in items:
                raise ValueError(f"page {p.id}: 目 {p.classification['目']!r} is not in classification")
            if not p.url.startswith(self.source.site):
                raise ValueError(f"page {p.id}: url is not under the source's site {self.source.site}")
        return self


# ---------------------------------------------------------------- figures (a researcher's spreadsheet)

FigureStage = Literal["request", "draft", "initial", "supplementary", "current", "settlement", "assessed", "final",
                      "revised", "prior-year-budget", "supplementary-request"]


class FiguresSource(Record):
    """A file of single figures, each from a named public source (made by ``policygraph import``)."""
    key: Key
    prefecture: JisCode
    title: str
    title_en: str


class Figure(Record):
    """One amount as printed, where it was printed, and what it is."""
    program: Key
    fiscal_year: FiscalYear
    stage: FigureStage
    component: Literal["project-cost", "personnel-cost", "total-cost"] = "project-cost"
    amount: Annotated[str, Field(pattern=r"^[0-9]{1,3}(,[0-9]{3})*$|^[0-9]+$")]  # as printed, no unit; ASCII digits
    unit: Literal["千円", "円"]
    label: str = Field(min_length=1)     # the row or column label the amount is printed under
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
    title: str = Field(min_length=1)     # the page's or document's title
    accessed: date
    note: str | None = None

    @property
    def value(self) -> int:
        return int(self.amount.replace(",", ""))


class FiguresFile(Record):
    source: FiguresSource
    programs: list[PagesProgram] = Field(min_length=1)
    figures: list[Figure] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys(self):
        keys = [p.key for p in self.programs]
        if len(set(keys)) != len(keys):
            raise ValueError("two programs share a key")
        for i, f in enumerate(self.figures):
            if f.program not in keys:
                raise ValueError(f"figures[{i}]: program {f.program!r} is not in programs")
        return self


# ---------------------------------------------------------------- alignments

class AlignmentRecord(Record):
    key: Key
    national: Annotated[str, Field(pattern=r"^[345](-\d+)+(-[a-z])?$")]
    # a sheet's sub-project (1) or initiative (1/2), or a program key of a budget-pages file
    prefectural: Annotated[str, Field(pattern=r"^\d+(/\d+)?$|^[a-z][a-z0-9-]*$")]
    type: Literal["implements", "succeeds", "same-function", "related"]
    rationale: str = Field(min_length=10)
    rationale_en: str = Field(min_length=10)
    national_evidence: str = Field(min_length=2)
    prefectural_evidence: str = Field(min_length=2)


class AlignmentSource(Record):
    key: Key
    title: str
    title_en: str
    asserted_by: Key
    national_source: Key
    prefectural_source: Key


class AlignmentsFile(Record):
    source: AlignmentSource
    alignments: list[AlignmentRecord]


# ---------------------------------------------------------------- continuity (renames, mergers)

class ContinuityRecord(Record):
    key: Key
    earlier: Key
    later: Key
    type: Literal["renamed", "merged-into", "continued-by"]
    evidence: Literal["page-states", "shared-subsidy", "same-figures"]
    page: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    second_page: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    quote: str = Field(min_length=2, max_length=80)   # a short phrase as printed, not the page's prose
    note_en: str = Field(min_length=10)

    @model_validator(mode="after")
    def _two_programs(self):
        if self.earlier == self.later:
            raise ValueError("earlier and later are the same program")
        if self.evidence != "page-states" and self.second_page is None:
            raise ValueError(f"{self.evidence} evidence compares two pages: give second_page")
        return self


class ContinuitySource(Record):
    key: Key
    title: str
    title_en: str
    asserted_by: Key
    pages_source: Key


class ContinuityFile(Record):
    source: ContinuitySource
    links: list[ContinuityRecord]


# ---------------------------------------------------------------- counterparts (prefecture ↔ prefecture)

# A program of a source: a sheet's sub-project (8) or initiative (8/2), or a program key of a pages/figures file.
ProgramRef = Annotated[str, Field(pattern=r"^\d+(/\d+)?$|^[a-z][a-z0-9-]*$")]


class CounterpartRecord(Record):
    key: Key
    first: ProgramRef
    second: ProgramRef
    type: Literal["same-function", "related"]
    rationale: str = Field(min_length=10)
    rationale_en: str = Field(min_length=10)
    first_evidence: str = Field(min_length=2)
    second_evidence: str = Field(min_length=2)


class CounterpartSource(Record):
    key: Key
    title: str
    title_en: str
    asserted_by: Key
    first_source: Key
    second_source: Key


class CounterpartsFile(Record):
    source: CounterpartSource
    counterparts: list[CounterpartRecord]
