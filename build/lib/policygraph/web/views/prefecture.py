"""The prefecture page's section: its projects, and their 事業費 summed by fiscal year and stage.

A total adds up one stage of one year only, over the projects that have a figure at that stage;
the page says how many projects each total covers. The chart shows one bar a year: the stage most
of that year's projects have a figure for, the budget the year ran on (当初予算) first on a tie; a total
its pages print differently is not charted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import Request

from policygraph.web.views.budget_table import PROJECT_COST, Chart, stage_rank
from policygraph.web.graph import PG, Row, select
from policygraph.web.views.sections import Builder, Section, Subject
from policygraph.web.views.statements import in_lang, label_of, prefixed


@dataclass
class Project:
    iri: str
    name: str
    number: str
    years: list[str]        # fiscal years with a 事業費 figure
    cells: list[list[float]] = field(default_factory=list)   # readings at each charted (year, stage)


@dataclass
class Total:
    year: str
    stage: str
    label: str
    low: float              # the sum; low < high where a project's pages print different amounts
    high: float
    projects: int
    charted: bool = False


@dataclass
class PrefectureData:
    projects: list[Project]
    totals: list[Total]
    chart: Chart

    @property
    def numbered(self) -> bool:
        return any(p.number for p in self.projects)

    @property
    def charted(self) -> list[Total]:
        return [t for t in self.totals if t.charted]

    @property
    def years(self) -> list[tuple[str, list[Total]]]:
        by_year: dict[str, list[Total]] = defaultdict(list)
        for t in self.totals:
            by_year[t.year].append(t)
        return list(by_year.items())


async def _projects(request: Request, iri: str, lang: str) -> list[Project]:
    rows = await select(request, f"""SELECT ?x ?x_l ?n WHERE {{ ?x pg:prefecture <{iri}> ; a pg:PrefecturalProject .
        OPTIONAL {{ ?x pg:projectNumber ?n }} {label_of("x", lang)} }}""")
    found = {r["x"]["value"]: Project(r["x"]["value"], r["x_l"]["value"] if "x_l" in r else prefixed(r["x"]["value"]),
                                      r["n"]["value"] if "n" in r else "", []) for r in rows}
    return sorted(found.values(), key=lambda p: (p.number, p.name))


Readings = dict[tuple[str, str, str], list[float]]   # (fiscal year, stage, project) → the amounts printed


def _readings(rows: list[Row]) -> tuple[Readings, dict[str, str]]:
    readings: Readings = defaultdict(list)
    labels: dict[str, str] = {}
    for r in rows:
        readings[(r["year"]["value"], r["stage"]["value"], r["x"]["value"])].append(float(r["amount"]["value"]))
        labels[r["stage"]["value"]] = r["stage_l"]["value"] if "stage_l" in r else r["stage"]["value"]
    return readings, labels


def _totals(readings: Readings, labels: dict[str, str]) -> list[Total]:
    sums: dict[tuple[str, str], Total] = {}
    for (year, stage, _), amounts in readings.items():
        total = sums.setdefault((year, stage), Total(year, stage, labels[stage], 0, 0, 0))
        total.low, total.high, total.projects = total.low + min(amounts), total.high + max(amounts), total.projects + 1
    return sorted(sums.values(), key=lambda t: (t.year, stage_rank(t.stage)))


# On a tie in the chart, the budget a year was run on rather than a step towards it
CHART_PREFERENCE = ["initial", "draft", "final", "revised", "current", "settlement", "assessed", "request"]


def _preference(stage: str) -> int:
    return CHART_PREFERENCE.index(stage) if stage in CHART_PREFERENCE else len(CHART_PREFERENCE) + stage_rank(stage)


def _chart(totals: list[Total], title: str) -> Chart:
    best: dict[str, Total] = {}
    # per year: the stage covering most projects (CHART_PREFERENCE on a tie); a total the pages print
    # differently is left out of the chart (the table shows both sums)
    for t in (t for t in totals if t.low == t.high):
        if t.year not in best or (-t.projects, _preference(t.stage)) < (-best[t.year].projects,
                                                                        _preference(best[t.year].stage)):
            best[t.year] = t
    for t in best.values():
        t.charted = True
    return Chart.of([(f"FY{t.year} {t.label}", t.low) for t in best.values()], title)


async def prefecture(request: Request, subject: Subject) -> list[Section]:
    if PG + "Prefecture" not in subject.types:
        return []
    iri, lang = subject.iri, subject.lang
    projects = await _projects(request, iri, lang)
    rows = await select(request, f"""SELECT DISTINCT ?x ?year ?stage ?stage_l ?amount WHERE {{
        ?x pg:prefecture <{iri}> ; a pg:PrefecturalProject .
        ?o pg:program ?x ; pg:fiscalYear/pg:year ?year ; pg:budgetStage ?s ; pg:fundingSource/skos:notation "all" ;
           pg:costComponent <{PROJECT_COST}> ; pg:amount ?amount .
        ?s skos:notation ?stage {in_lang("?s", "skos:prefLabel", "?stage_l", lang)} }}""", max_rows=100_000)
    readings, labels = _readings(rows)
    totals = _totals(readings, labels)
    title = {"ja": "年度別の事業費合計（千円）", "en": "Project costs by fiscal year (thousand yen)"}[lang]
    data = PrefectureData(projects, totals, _chart(totals, title))
    for p in projects:  # each project's figures in the chart's columns: they add up to the charted totals
        p.years = sorted({year for (year, _, x) in readings if x == p.iri})
        p.cells = [sorted(readings.get((t.year, t.stage, p.iri), [])) for t in data.charted]
    return [Section("prefecture.html", data, {"ja": "この都道府県の事業", "en": "Projects of this prefecture"})]


@dataclass
class Member:
    """A prefecture in the index: how much of it the dataset holds."""
    iri: str
    code: str
    name: str
    projects: int = 0
    years: tuple[str, str] | None = None    # first and last fiscal year with a figure


async def prefecture_index(request: Request, subject: Subject) -> list[Section]:
    """The prefecture code list (/id/prefecture): every prefecture with its projects and years of figures."""
    rows = await select(request, f"""SELECT ?p ?p_l ?code WHERE {{ ?p skos:inScheme <{subject.iri}> ; a pg:Prefecture ;
        skos:notation ?code . {label_of("p", subject.lang)} }} ORDER BY ?code""")
    if not rows:
        return []
    members = {r["p"]["value"]: Member(r["p"]["value"], r["code"]["value"], r["p_l"]["value"] if "p_l" in r else
                                       r["code"]["value"]) for r in rows}
    held = await select(request, f"""SELECT ?p (COUNT(DISTINCT ?x) AS ?n) (MIN(STR(?y)) AS ?first)
        (MAX(STR(?y)) AS ?last) WHERE {{ ?p skos:inScheme <{subject.iri}> .
        ?x pg:prefecture ?p ; a pg:PrefecturalProject .
        OPTIONAL {{ ?o pg:program ?x ; pg:fiscalYear/pg:year ?y }} }} GROUP BY ?p""")
    for r in held:
        member = members.get(r["p"]["value"])
        if member:
            member.projects = int(r["n"]["value"])
            member.years = (r["first"]["value"], r["last"]["value"]) if "first" in r else None
    heading = {"ja": "都道府県とこのデータセットの事業", "en": "Prefectures and their projects in this dataset"}
    return [Section("prefecture_index.html", list(members.values()), heading)]


BUILDERS: list[Builder] = [prefecture, prefecture_index]
