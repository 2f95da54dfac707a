"""The comparison page: prefectures × fiscal years, grouped by aligned national program, budget
classification, policy area or program: /compare (a form, a table and a chart) and /compare.csv.

Figures are 事業費 (project cost) from all funding sources, in thousand yen, at one budget stage per
column: the stage chosen, or (``stage=auto``) the first stage in the budget process that the
prefecture has that year, named in the column's heading. Figures of different stages or cost
components are never added. A program counts through its lowest level with figures (a project's
sub-projects when they have figures for that year and stage, else the project), so nothing is
counted twice within a group; a figure printed differently on several pages counts once, at its
largest reading, and is marked. Which chosen prefectures have no figures for which chosen years is
said in words. Every value comes from the graph; bad parameters are a 400 naming the parameter.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from policygraph.transform.ids import ID
from policygraph.web.errors import Problem
from policygraph.web.graph import Site, in_language, select, site_of
from policygraph.web.html import lang_of, render, translate
from policygraph.web.views.budget_table import stage_rank

router = APIRouter(include_in_schema=False)

GROUPINGS = ("national-program", "classification", "policy-area", "program")
AUTO = "auto"
MAX_PREFECTURES, MAX_YEARS = 47, 30
CHART_BARS = 120   # the chart stops here (the table has every cell)
SERIES = 8         # colours of the chart (style.css: .series-0 … .series-7)
CODE = str(ID) + "code/"
PROJECT_COST, ALL_FUNDS = CODE + "cost-component/project-cost", CODE + "funding-source/all"
_SAFE_IRI = re.compile(r"^https://w3id\.org/policygraph/id/[A-Za-z0-9._~/-]+$")

# Prefectures (all 47) with how many 事業費 figures the graph holds for each, and the years and
# stages present per prefecture: the form's choices.
PREFECTURES = f"""SELECT ?p ?code ?l (COUNT(DISTINCT ?o) AS ?figures) WHERE {{
  ?p a pg:Prefecture ; skos:notation ?code ; rdfs:label ?l .
  OPTIONAL {{ ?x pg:prefecture ?p . ?o a pg:BudgetObservation ; pg:program ?x ;
     pg:costComponent <{PROJECT_COST}> ; pg:fundingSource <{ALL_FUNDS}> }} }} GROUP BY ?p ?code ?l"""
COVERAGE = f"""SELECT DISTINCT ?code ?year ?stage WHERE {{
  ?o a pg:BudgetObservation ; pg:program/pg:prefecture/skos:notation ?code ; pg:fiscalYear/pg:year ?year ;
     pg:budgetStage/skos:notation ?stage ; pg:costComponent <{PROJECT_COST}> ; pg:fundingSource <{ALL_FUNDS}> }}"""
STAGES = f"""SELECT DISTINCT ?stage WHERE {{ ?s skos:notation ?stage
  FILTER(STRSTARTS(STR(?s), "{CODE}budget-stage/")) }}"""
# The figures of the chosen prefectures and years, with the observation's budget classification (目)
# if printed. (Which level of a program counts is decided in Python: a NOT EXISTS here took 60 ms.)
FIGURES = """SELECT ?program ?code ?year ?stage ?amount ?cls WHERE {{ {values}
  ?program pg:prefecture/skos:notation ?code .
  ?o pg:program ?program ; pg:fiscalYear ?fy ; pg:budgetStage ?s ; pg:amount ?amount ;
     pg:costComponent <{cost}> ; pg:fundingSource <{funds}> .
  ?fy pg:year ?year . ?s skos:notation ?stage .
  OPTIONAL {{ ?o pg:budgetClassification ?cls }} }}"""
PARTS = """SELECT ?program ?part WHERE {{ VALUES ?program {{ {iris} }} ?program pg:hasComponent ?part }}"""
# program → group, for the groupings the program itself carries (its parts' alignments count for it,
# a part serves the policy areas of the project it belongs to)
MEMBERS = {
    "national-program": "?program pg:hasComponent*/pg:alignedWith ?g . ?g a pg:NationalProgram .",
    "policy-area": "?program (^pg:hasComponent)*/pg:contributesTo ?g . ?g a pg:PolicyArea .",
}
LABELS = """SELECT ?g ?l WHERE {{ VALUES ?g {{ {iris} }} ?g rdfs:label ?l }}"""
# a budget item (目) is named with its 款 and 項: 商工費 › 工鉱業費 › 中小企業振興費
CLASS_LABELS = """SELECT ?g ?l ?kl ?nl WHERE {{ VALUES ?g {{ {iris} }} ?g rdfs:label ?l .
  OPTIONAL {{ ?g skos:broader ?k . ?k rdfs:label ?kl FILTER(lang(?kl) = lang(?l))
    OPTIONAL {{ ?k skos:broader ?n . ?n rdfs:label ?nl FILTER(lang(?nl) = lang(?kl)) }} }} }}"""


def invalid(parameter: str, detail: str) -> Problem:
    return Problem(400, "invalid parameter", detail, parameter=parameter)


@dataclass
class Prefecture:
    code: str
    iri: str
    labels: dict[str, str] = field(default_factory=dict)
    figures: int = 0
    years: set[str] = field(default_factory=set)

    def name(self, lang: str) -> str:
        return in_language(self.labels, lang) or self.code


@dataclass
class Options:
    """What the form offers: the prefectures (with and without figures), years and stages."""
    prefectures: dict[str, Prefecture]
    years: list[str]
    stages: list[str]            # stages any figure has, in budget-process order
    known_stages: set[str]       # every stage of the code list (a valid choice even without figures)

    @property
    def with_data(self) -> list[Prefecture]:
        return [p for p in self.prefectures.values() if p.figures]

    @property
    def without_data(self) -> list[Prefecture]:
        return [p for p in self.prefectures.values() if not p.figures]

    def example(self) -> dict[str, list[str]] | None:
        """The latest year that most prefectures with figures share, and those prefectures."""
        by_year: dict[str, list[str]] = defaultdict(list)
        for p in self.with_data:
            for y in p.years:
                by_year[y].append(p.code)
        if not by_year:
            return None
        year = max(by_year, key=lambda y: (len(by_year[y]), y))
        return {"pref": sorted(by_year[year]), "year": [year]}


async def options_of(request: Request) -> Options:
    prefectures: dict[str, Prefecture] = {}
    for r in await select(request, PREFECTURES):
        p = prefectures.setdefault(r["code"]["value"], Prefecture(r["code"]["value"], r["p"]["value"]))
        p.labels.setdefault(r["l"].get("xml:lang", "ja"), r["l"]["value"])
        p.figures = int(r["figures"]["value"])
    years, stages = set(), set()
    for r in await select(request, COVERAGE, max_rows=100_000):
        years.add(r["year"]["value"])
        stages.add(r["stage"]["value"])
        if r["code"]["value"] in prefectures:
            prefectures[r["code"]["value"]].years.add(r["year"]["value"])
    known = {r["stage"]["value"] for r in await select(request, STAGES)}
    return Options(dict(sorted(prefectures.items())), sorted(years), sorted(stages, key=stage_rank), known | stages)


@dataclass
class Choice:
    prefectures: list[str]
    years: list[str]
    stage: str
    group: str

    def query(self) -> list[tuple[str, str]]:
        return ([("pref", p) for p in self.prefectures] + [("year", y) for y in self.years]
                + [("stage", self.stage), ("group", self.group)])


def _many(request: Request, name: str, pattern: str, limit: int, what: str) -> list[str]:
    values = [v.strip() for v in request.query_params.getlist(name) if v.strip()]
    if len(values) > limit:
        raise invalid(name, f"{name}: at most {limit} values, not {len(values)}")
    for v in values:
        if not re.fullmatch(pattern, v):
            raise invalid(name, f"{name}: {v[:50]!r} is not {what}")
    return sorted(set(values))


def choice_of(request: Request, options: Options) -> Choice:
    """The request's choices, checked against what the graph holds (400 naming the parameter)."""
    prefs = _many(request, "pref", r"[0-9]{2}", MAX_PREFECTURES, "a two-digit JIS prefecture code (01–47)")
    unknown = [p for p in prefs if p not in options.prefectures]
    if unknown:
        raise invalid("pref", f"pref: no prefecture with code {unknown[0]!r} (01–47)")
    years = _many(request, "year", r"[0-9]{4}", MAX_YEARS, "a fiscal year of four digits (2025)")
    stage = request.query_params.get("stage", AUTO)
    if stage != AUTO and stage not in options.known_stages:
        raise invalid("stage", f"stage: {stage[:50]!r} is not {AUTO} or a budget stage of the code list")
    group = request.query_params.get("group", GROUPINGS[0])
    if group not in GROUPINGS:
        raise invalid("group", f"group: {group[:50]!r} is not one of {', '.join(GROUPINGS)}")
    return Choice(prefs, years, stage, group)


@dataclass
class Figure:
    """One program's 事業費 for one year and stage: the largest reading, and whether readings differ."""
    program: str
    code: str
    year: str
    stage: str
    amount: Decimal
    disagree: bool = False
    groups: set[str] = field(default_factory=set)


async def figures_of(request: Request, choice: Choice) -> list[Figure]:
    values = (" VALUES ?code { " + " ".join(f'"{p}"' for p in choice.prefectures) + " }"
              " VALUES ?year { " + " ".join(f'"{y}"^^<http://www.w3.org/2001/XMLSchema#gYear>'
                                            for y in choice.years) + " }")
    if choice.stage != AUTO:
        values += f' VALUES ?stage {{ "{choice.stage}" }}'
    rows = await select(request, FIGURES.format(values=values, cost=PROJECT_COST, funds=ALL_FUNDS), max_rows=100_000)
    readings: dict[tuple[str, str, str, str], list[Decimal]] = defaultdict(list)
    classes: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for r in rows:
        key = (r["program"]["value"], r["code"]["value"], r["year"]["value"], r["stage"]["value"])
        readings[key].append(Decimal(r["amount"]["value"]))
        if "cls" in r:
            classes[key].add(r["cls"]["value"])
    figures = await _lowest_level([Figure(*key, max(a), min(a) != max(a), classes[key])
                                   for key, a in readings.items()], request)
    return _one_stage(figures) if choice.stage == AUTO else figures


async def _lowest_level(figures: list[Figure], request: Request) -> list[Figure]:
    """Drop a program's figure where its parts have figures for the same year and stage: they count instead."""
    iris = " ".join(sorted({f"<{f.program}>" for f in figures if _SAFE_IRI.match(f.program)}))
    if not iris:
        return figures
    parts: dict[str, set[str]] = defaultdict(set)
    for r in await select(request, PARTS.format(iris=iris), max_rows=100_000):
        parts[r["program"]["value"]].add(r["part"]["value"])
    held = {(f.program, f.year, f.stage) for f in figures}
    return [f for f in figures if not any((p, f.year, f.stage) in held for p in parts[f.program])]


def _one_stage(figures: list[Figure]) -> list[Figure]:
    """Per prefecture and year, only the figures of the first stage (in the budget process) it has."""
    first: dict[tuple[str, str], str] = {}
    for f in figures:
        key = (f.code, f.year)
        if key not in first or stage_rank(f.stage) < stage_rank(first[key]):
            first[key] = f.stage
    return [f for f in figures if first[(f.code, f.year)] == f.stage]


async def assign_groups(request: Request, figures: list[Figure], group: str) -> None:
    """Put each figure in the groups of the chosen grouping (none: the table's last row)."""
    if group == "program":
        for f in figures:
            f.groups = {f.program}
    elif group in MEMBERS:
        programs = sorted({f.program for f in figures if _SAFE_IRI.match(f.program)})
        members: dict[str, set[str]] = defaultdict(set)
        if programs:
            iris = " ".join(f"<{p}>" for p in programs)
            for r in await select(request, f"SELECT DISTINCT ?program ?g WHERE {{ VALUES ?program {{ {iris} }} "
                                            f"{MEMBERS[group]} }}", max_rows=100_000):
                members[r["program"]["value"]].add(r["g"]["value"])
        for f in figures:
            f.groups = members[f.program]
    # classification: the figures carry their 目 already


async def group_labels(request: Request, iris: set[str], group: str) -> dict[str, dict[str, str]]:
    """Each group's name by language (a 目 with its 款 and 項)."""
    safe = sorted(i for i in iris if _SAFE_IRI.match(i))
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    if not safe:
        return labels
    query = CLASS_LABELS if group == "classification" else LABELS
    for r in await select(request, query.format(iris=" ".join(f"<{i}>" for i in safe)), max_rows=100_000):
        parts = [r[k]["value"] for k in ("nl", "kl", "l") if k in r]
        labels[r["g"]["value"]].setdefault(r["l"].get("xml:lang", "ja"), " › ".join(parts))
    return labels


@dataclass
class Column:
    code: str
    year: str
    stage: str
    prefecture: str
    heading: str          # 長野県 2025年度
    stage_label: str


@dataclass
class Cell:
    amount: Decimal = Decimal(0)
    programs: int = 0
    disagree: bool = False

    def add(self, f: Figure) -> None:
        self.amount += f.amount
        self.programs += 1
        self.disagree = self.disagree or f.disagree


@dataclass
class Group:
    iri: str | None       # None: the figures in no group of the grouping
    name: str
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)


@dataclass
class Missing:
    prefecture: str
    years: list[str]
    every_year: bool


@dataclass
class Comparison:
    choice: Choice
    columns: list[Column]
    groups: list[Group]
    total: Group
    missing: list[Missing]
    mixed_stages: bool
    shared_groups: bool   # a program can be in several groups: the rows can add up to more than the total
    chart: Chart


def _columns(figures: list[Figure], options: Options, site: Site, lang: str) -> list[Column]:
    keys = sorted({(f.code, f.year, f.stage) for f in figures}, key=lambda k: (k[0], k[1], stage_rank(k[2])))
    year = translate("cmp-fy", lang)
    return [Column(code, y, stage, options.prefectures[code].name(lang),
                   f"{options.prefectures[code].name(lang)} {year.format(y)}",
                   site.label(CODE + "budget-stage/" + stage, lang)) for code, y, stage in keys]


def _missing(choice: Choice, figures: list[Figure], options: Options, lang: str) -> list[Missing]:
    held = {(f.code, f.year) for f in figures}
    out = []
    for code in choice.prefectures:
        years = [y for y in choice.years if (code, y) not in held]
        if years:
            out.append(Missing(options.prefectures[code].name(lang), years, len(years) == len(choice.years)))
    return out


def _groups(figures: list[Figure], labels: dict[str, dict[str, str]], choice: Choice, lang: str,
            options: Options) -> list[Group]:
    groups: dict[str | None, Group] = {}
    for f in figures:
        keys: list[str | None] = [*sorted(f.groups)] or [None]
        for key in keys:
            name = (in_language(labels.get(key, {}), lang) or key) if key else translate("cmp-none-" + choice.group,
                                                                                          lang)
            groups.setdefault(key, Group(key, name)).cells.setdefault((f.code, f.year), Cell()).add(f)
    code = {f.program: f.code for f in figures}
    if choice.group == "program":  # a program's row says whose it is; rows by prefecture, then name
        for row in groups.values():
            if row.iri:
                row.name = f"{row.name}（{options.prefectures[code[row.iri]].name(lang)}）"
    # national programs and policy areas in their plan's order (their IRIs follow it), the rest by name
    by_iri = choice.group in ("national-program", "policy-area")
    return sorted(groups.values(), key=lambda g: (g.iri is None, code.get(g.iri or "", ""),
                                                  _natural(g.iri or "" if by_iri else g.name)))


def _natural(text: str) -> list[tuple[int, str]]:
    """A sort key that puts 5-2-4 before 5-2-10."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"([0-9]+)", text)]


async def compare(request: Request, choice: Choice, options: Options, site: Site) -> Comparison:
    lang = lang_of(request)
    figures = await figures_of(request, choice) if choice.prefectures and choice.years else []
    await assign_groups(request, figures, choice.group)
    names = {g for f in figures for g in f.groups}
    labels = await group_labels(request, names, choice.group)
    total = Group(None, translate("cmp-total", lang))
    for f in figures:
        total.cells.setdefault((f.code, f.year), Cell()).add(f)
    columns = _columns(figures, options, site, lang)
    groups = _groups(figures, labels, choice, lang, options)
    return Comparison(choice, columns, groups, total, _missing(choice, figures, options, lang),
                      len({c.stage for c in columns}) > 1, any(len(f.groups) > 1 for f in figures),
                      Chart.of(groups, columns))


@dataclass
class Bar:
    label: str            # the group's name on its first bar, else empty
    column: str
    value: Decimal
    y: int
    width: int
    series: int           # its colour: the column's


@dataclass
class Chart:
    """Horizontal bars, one per table cell with a figure, grouped by row; templates draw it as SVG."""
    bars: list[Bar] = field(default_factory=list)
    legend: list[tuple[int, str]] = field(default_factory=list)   # (series, column heading)
    cut: bool = False
    width: int = 760
    height: int = 10
    row: int = 22
    label_width: int = 230

    @classmethod
    def of(cls, groups: list[Group], columns: list[Column]) -> Chart:
        chart = cls()
        colour = {(c.code, c.year): i % SERIES for i, c in enumerate(columns)}
        chart.legend = [(colour[(c.code, c.year)], c.heading) for c in columns]
        cells = [(g, c) for g in groups for c in columns if (c.code, c.year) in g.cells]
        chart.cut = len(cells) > CHART_BARS
        top = max((g.cells[(c.code, c.year)].amount for g, c in cells), default=Decimal(0)) or Decimal(1)
        y, previous = 5, None
        for g, c in cells[:CHART_BARS]:
            first = g is not previous
            y += 12 if first and previous is not None else 0   # a gap between groups
            value = g.cells[(c.code, c.year)].amount
            width = max(1, int((chart.width - chart.label_width - 150) * value / top))
            chart.bars.append(Bar(_short(g.name) if first else "", c.heading, value, y, width,
                                  colour[(c.code, c.year)]))
            y, previous = y + chart.row, g
        chart.height = y + 5
        return chart


def _short(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_links(choice: Choice, lang: str) -> dict[str, str]:
    query = urlencode([*choice.query(), ("lang", lang)])
    return {"csv": f"/compare.csv?{query}", "self": f"/compare?{query}"}


@router.get("/compare")
async def compare_page(request: Request) -> HTMLResponse:
    site, options = await site_of(request), await options_of(request)
    choice = choice_of(request, options)
    result = await compare(request, choice, options, site) if choice.prefectures and choice.years else None
    example = options.example()
    context = {"site": site, "options": options, "choice": choice, "result": result, "groupings": GROUPINGS,
               "auto": AUTO, "links": page_links(choice, lang_of(request)),
               "example": urlencode([(k, v) for k, vs in example.items() for v in vs]) if example else None}
    return render(request, "compare.html", context)


def csv_rows(result: Comparison) -> list[list[str]]:
    head = ["grouping", "group", "group_iri", "prefecture_code", "prefecture", "fiscal_year", "stage",
            "amount_thousand_yen", "programs", "readings_differ"]
    rows = [head]
    for g in result.groups:
        for c in result.columns:
            cell = g.cells.get((c.code, c.year))
            if cell:
                rows.append([result.choice.group, g.name, g.iri or "", c.code, c.prefecture, c.year,
                             c.stage, str(cell.amount), str(cell.programs), "yes" if cell.disagree else ""])
    return rows


@router.get("/compare.csv")
async def compare_csv(request: Request) -> Response:
    """The page's table as tidy CSV (one line per group, prefecture and year), UTF-8 with a BOM for Excel."""
    site, options = await site_of(request), await options_of(request)
    choice = choice_of(request, options)
    for name, given in (("pref", choice.prefectures), ("year", choice.years)):
        if not given:
            raise invalid(name, f"{name}: choose at least one")
    result = await compare(request, choice, options, site)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(csv_rows(result))
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="compare.csv"'})

