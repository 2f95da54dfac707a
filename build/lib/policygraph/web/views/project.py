"""Sections of a prefectural program's page: its place in the project (parent and components), the
sub-projects × fiscal year × stage budget table checked against the project's printed total, the
KPIs and plan goals with their values.

Totals and their check against the printed figure are computed here for display only; the graph
holds the printed figures alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import Request

from policygraph.web.views.budget_table import PROJECT_COST, stage_rank
from policygraph.web.graph import PG, Row, Site, select
from policygraph.web.views.sections import Builder, Section, Subject
from policygraph.web.views.statements import in_lang, label_of, prefixed

PREFECTURAL = {PG + "PrefecturalProject", PG + "SubProject", PG + "Initiative"}


def _text(row: Row, var: str, default: str = "") -> str:
    return row[var]["value"] if var in row else default


def _notation_key(notation: str) -> tuple[int | str, ...]:
    """1-10 after 1-9: notations compare number by number."""
    return tuple(int(p) if p.isdigit() else p for p in notation.replace(" ", "-").split("-"))


# ---- parent and components -------------------------------------------------------------------

@dataclass
class Part:
    iri: str
    name: str
    notation: str
    parts: list[Part] = field(default_factory=list)


@dataclass
class Structure:
    parents: list[Part]          # the nearest last
    parts: list[Part]            # components, each with its own components


async def parents(request: Request, subject: Subject) -> list[Section]:
    """The programs this one is a part of, the outermost first (a breadcrumb)."""
    if not subject.types & PREFECTURAL:
        return []
    rows = await select(request, f"""SELECT ?x ?x_l ?n (COUNT(?mid) AS ?depth) WHERE {{
        <{subject.iri}> pg:componentOf+ ?x . ?x pg:componentOf* ?mid . OPTIONAL {{ ?x skos:notation ?n }}
        {label_of("x", subject.lang)} }} GROUP BY ?x ?x_l ?n ORDER BY ?depth""")
    found = [Part(r["x"]["value"], _text(r, "x_l", prefixed(r["x"]["value"])), _text(r, "n")) for r in rows]
    return [Section("structure.html", Structure(found, []), {})] if found else []


async def components(request: Request, subject: Subject) -> list[Section]:
    """The program's components and theirs (a project's sub-projects and their initiatives)."""
    if not subject.types & PREFECTURAL:
        return []
    iri = subject.iri
    down = await select(request, f"""SELECT ?x ?x_l ?n ?parent WHERE {{
        {{ ?x pg:componentOf <{iri}> BIND(<{iri}> AS ?parent) }}
        UNION {{ ?parent pg:componentOf <{iri}> . ?x pg:componentOf ?parent }}
        OPTIONAL {{ ?x skos:notation ?n }} {label_of("x", subject.lang)} }}""")
    parts: dict[str, Part] = {}
    for r in down:
        parts.setdefault(r["x"]["value"], Part(r["x"]["value"], _text(r, "x_l", prefixed(r["x"]["value"])),
                                               _text(r, "n")))
    top: list[Part] = []
    for r in down:
        part, parent = parts[r["x"]["value"]], r["parent"]["value"]
        siblings = top if parent == iri else parts[parent].parts
        if part not in siblings:
            siblings.append(part)
    for group in [top, *(p.parts for p in parts.values())]:
        group.sort(key=lambda p: _notation_key(p.notation))
    if not top:
        return []
    return [Section("structure.html", Structure([], top), {"ja": "構成する事業", "en": "Components"})]


# ---- sub-projects × fiscal year × stage ----------------------------------------------------

@dataclass
class Column:
    year: str
    stage: str
    label: str


@dataclass
class Check:
    """The sum of the components in one column against the project's printed figure."""
    low: float                   # the sum (low = high unless a component's pages print different amounts)
    high: float
    printed: list[float]         # the project's printed figure (several where its pages differ)

    @property
    def status(self) -> str:
        if not self.printed:
            return "no-printed"
        if self.low != self.high or len(self.printed) > 1:
            return "ambiguous"
        return "match" if self.low == self.printed[0] else "differs"

    @property
    def difference(self) -> float:
        return self.low - self.printed[0] if self.printed else 0.0


@dataclass
class ComponentRow:
    iri: str
    name: str
    notation: str
    cells: list[list[float]]     # readings per column; empty where the graph has no figure


@dataclass
class ComponentTable:
    years: list[tuple[str, int]]   # (fiscal year, number of its columns)
    columns: list[Column]
    rows: list[ComponentRow]
    checks: list[Check]


async def component_budgets(request: Request, subject: Subject) -> list[Section]:
    if not subject.types & PREFECTURAL:
        return []
    iri, lang = subject.iri, subject.lang
    figures = await select(request, f"""SELECT DISTINCT ?x ?year ?stage ?stage_l ?amount WHERE {{
        {{ ?x pg:componentOf <{iri}> }} UNION {{ BIND(<{iri}> AS ?x) }}
        ?o pg:program ?x ; pg:fiscalYear/pg:year ?year ; pg:budgetStage ?s ; pg:fundingSource/skos:notation "all" ;
           pg:costComponent <{PROJECT_COST}> ; pg:amount ?amount .
        ?s skos:notation ?stage {in_lang("?s", "skos:prefLabel", "?stage_l", lang)} }}""", max_rows=100_000)
    if not any(r["x"]["value"] != iri for r in figures):
        return []
    parts = await select(request, f"""SELECT ?x ?x_l ?n WHERE {{ ?x pg:componentOf <{iri}> .
        OPTIONAL {{ ?x skos:notation ?n }} {label_of("x", lang)} }}""")
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    labels: dict[str, str] = {}
    for r in figures:
        year, stage = r["year"]["value"], r["stage"]["value"]
        cells[(r["x"]["value"], year, stage)].append(float(r["amount"]["value"]))
        labels[stage] = _text(r, "stage_l", stage)
    keys = sorted({(y, s) for (x, y, s) in cells if x != iri}, key=lambda k: (k[0], stage_rank(k[1])))
    columns = [Column(y, s, labels[s]) for y, s in keys]
    rows = sorted((ComponentRow(r["x"]["value"], _text(r, "x_l", prefixed(r["x"]["value"])), _text(r, "n"),
                                [sorted(cells.get((r["x"]["value"], c.year, c.stage), [])) for c in columns])
                   for r in {r["x"]["value"]: r for r in parts}.values()), key=lambda r: _notation_key(r.notation))
    checks = [Check(sum(min(c) for c in (row.cells[i] for row in rows) if c),
                    sum(max(c) for c in (row.cells[i] for row in rows) if c),
                    sorted(cells.get((iri, col.year, col.stage), []))) for i, col in enumerate(columns)]
    years = [(y, sum(1 for c in columns if c.year == y)) for y in dict.fromkeys(c.year for c in columns)]
    return [Section("component_budgets.html", ComponentTable(years, columns, rows, checks),
                    {"ja": "細事業別の事業費（千円）", "en": "Budget by sub-project (thousand yen)"})]


# ---- KPIs and plan goals ----------------------------------------------------------------

@dataclass
class Slot:
    year: str        # empty: the source gives no year (a baseline of unknown year)
    role: str
    label: str


@dataclass
class Reading:
    observation: str
    value: str | None
    status: str      # the value-status code: reported, missing-in-source, ambiguous-in-source …
    status_label: str
    note: int        # the number of its transcription note under the table, 0 for none


@dataclass
class IndicatorRow:
    iri: str
    name: str
    unit: str
    cells: list[Reading | None]


@dataclass
class IndicatorTable:
    kind: str        # kpi | plan-goal
    slots: list[Slot]
    rows: list[IndicatorRow]
    notes: list[str] = field(default_factory=list)   # the transcription notes, each once, numbered from 1


ROLE_ORDER = ["baseline", "actual", "estimate", "target"]


async def indicators(request: Request, subject: Subject) -> list[Section]:
    if not subject.types & PREFECTURAL:
        return []
    iri, lang, site = subject.iri, subject.lang, subject.site
    rows = await select(request, f"""SELECT ?kind ?i ?i_l ?unit ?o ?year ?role ?status ?value ?note WHERE {{
        {{ ?i pg:indicatorOf <{iri}> ; a pg:KPI BIND("kpi" AS ?kind) }}
        UNION {{ <{iri}> pg:contributesTo ?i . ?i a pg:PlanGoal BIND("plan-goal" AS ?kind) }}
        ?o pg:indicator ?i ; pg:valueRole ?role ; pg:valueStatus ?status .
        OPTIONAL {{ ?o a pg:IndicatorObservation ; pg:fiscalYear/pg:year ?year }}
        OPTIONAL {{ ?o pg:value ?value }} OPTIONAL {{ ?o pg:transcriptionNote ?note }}
        OPTIONAL {{ ?i pg:unitText ?unit }} {label_of("i", lang)} }}""")
    tables = []
    for kind in ("kpi", "plan-goal"):
        mine = [r for r in rows if r["kind"]["value"] == kind]
        if mine:
            tables.append(_indicator_table(kind, mine, site, lang))
    if not tables:
        return []
    return [Section("indicators.html", tables, {"ja": "成果指標と計画の目標", "en": "KPIs and plan goals"})]


def _role(role_iri: str) -> str:
    return role_iri.rsplit("/", 1)[-1]


def _indicator_table(kind: str, rows: list[Row], site: Site, lang: str) -> IndicatorTable:
    slot_keys = sorted({(_text(r, "year"), _role(r["role"]["value"])) for r in rows},
                       key=lambda k: (k[0] or "0", ROLE_ORDER.index(k[1]) if k[1] in ROLE_ORDER else 9))
    role_iri = {_role(r["role"]["value"]): r["role"]["value"] for r in rows}
    slots = [Slot(y, role, site.label(role_iri[role], lang)) for y, role in slot_keys]
    table: dict[str, IndicatorRow] = {}
    notes: dict[str, int] = {}
    for r in rows:
        i = r["i"]["value"]
        row = table.setdefault(i, IndicatorRow(i, _text(r, "i_l", prefixed(i)), _text(r, "unit"),
                                               [None] * len(slots)))
        at = slot_keys.index((_text(r, "year"), _role(r["role"]["value"])))
        status, note = r["status"]["value"], _text(r, "note")
        if note:
            notes.setdefault(note, len(notes) + 1)
        row.cells[at] = Reading(r["o"]["value"], r["value"]["value"] if "value" in r else None,
                                _role(status), site.label(status, lang), notes.get(note, 0))
    ordered = sorted(table.values(), key=lambda r: _notation_key(r.iri.rsplit("/", 1)[-1]))
    return IndicatorTable(kind, slots, ordered, list(notes))


# national_views.aligned_national_programs shows the aligned national programs of these pages
BUILDERS: list[Builder] = [parents, component_budgets, indicators, components]
