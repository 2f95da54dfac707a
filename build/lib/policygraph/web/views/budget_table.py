"""Budget figures for pages: a program's 事業費 by fiscal year and stage, and the bar chart drawn from them.

Stages are never added to one another: a table's column, a chart's bar and a total each name one stage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import Request

from policygraph.web.graph import select

PROJECT_COST = "https://w3id.org/policygraph/id/code/cost-component/project-cost"
# The order a budget moves through (request → assessed → draft → initial → … → settlement), for columns
STAGE_ORDER = ["request", "supplementary-request", "adjustment-request", "addition", "restoration", "held-request",
               "assessed", "held", "draft", "plan-stated", "initial", "final", "already-assessed", "standing",
               "supplementary", "revised", "carried-over", "current", "prior-year-budget", "budget-unspecified",
               "unlabelled", "settlement"]
FUNDINGS = ("all", "general-revenue")


def stage_rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


@dataclass
class Bar:
    label: str
    value: float
    y: int
    width: int


@dataclass
class Chart:
    """A horizontal bar chart's geometry; templates/macros.html draws it as inline SVG with ``title``
    as its text alternative (the page shows the same numbers in a table)."""
    bars: list[Bar] = field(default_factory=list)
    title: str = ""
    width: int = 640
    row: int = 22
    label_width: int = 190

    @property
    def height(self) -> int:
        return self.row * len(self.bars) + 10

    @classmethod
    def of(cls, series: list[tuple[str, float]], title: str = "") -> Chart:
        chart = cls(title=title)
        top = max((v for _, v in series), default=0) or 1
        for i, (label, value) in enumerate(series):
            width = max(1, int((chart.width - chart.label_width - 110) * value / top))
            chart.bars.append(Bar(label, value, 5 + i * chart.row, width))
        return chart


@dataclass
class Budget:
    """A program's 事業費 by fiscal year (rows, with うち一般財源 below) and stage (columns); a figure
    printed on several pages is one value, or each reading where the pages differ."""
    stages: list[tuple[str, str]]                       # (notation, label)
    rows: list[tuple[str, str, list[list[float]]]]      # (funding, fiscal year, readings per stage)
    chart: Chart


async def program_budget(request: Request, iri: str, lang: str, chart_title: str = "") -> Budget | None:
    """The budget table of one program (any pg:program of a budget observation), or None without figures."""
    # 事業費 only: 人件費 and トータルコスト are on the observations' own pages
    rows = await select(request, f"""SELECT DISTINCT ?year ?stage ?stage_label ?funding ?amount WHERE {{
        ?o pg:program <{iri}> ; pg:fiscalYear/pg:year ?year ; pg:budgetStage ?s ;
           pg:fundingSource/skos:notation ?funding ; pg:costComponent <{PROJECT_COST}> ; pg:amount ?amount .
        ?s skos:notation ?stage ; skos:prefLabel ?stage_label FILTER(lang(?stage_label) = "{lang}") }}""")
    if not rows:
        return None
    label = {r["stage"]["value"]: r["stage_label"]["value"] for r in rows}
    stages = sorted(label, key=stage_rank)
    years = sorted({r["year"]["value"] for r in rows})
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        cells[(r["year"]["value"], r["stage"]["value"], r["funding"]["value"])].append(float(r["amount"]["value"]))
    table = [(funding, y, [sorted(cells.get((y, s, funding), [])) for s in stages])
             for y in years for funding in FUNDINGS if any((y, s, funding) in cells for s in stages)]
    series = [(f"FY{y} {label[s]}", max(cells[(y, s, "all")])) for y in years for s in stages if (y, s, "all") in cells]
    return Budget([(s, label[s]) for s in stages], table, Chart.of(series, chart_title))
