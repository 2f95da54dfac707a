"""Synthetic policy-shaped data for benchmarks: all 47 prefectures × projects × fiscal years.

Writes N-Quads, one named graph per prefecture, in policygraph's own ontology and valid against
its shapes: sub-projects add up to their project, 予算現額 = 繰越 + 当初 + 補正, every observation
has provenance, every labelled resource a Japanese label. KPIs carry target and actual values,
sub-projects are aligned to the real national plan's programs. Deterministic for a seed.
Never writes into data/: the files are benchmark inputs, not facts.

    python benchmarks/generate.py --triples 1m --out benchmarks/out/synthetic-1m.nq
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from policygraph.build.dataset import build_dataset
from policygraph.build.progress import Progress

ID = "https://w3id.org/policygraph/id/"
PG = "https://w3id.org/policygraph/def#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "<http://www.w3.org/ns/prov#wasDerivedFrom>"
DCT = "http://purl.org/dc/terms/"
QB = "http://purl.org/linked-data/cube#"
DEC = "^^<http://www.w3.org/2001/XMLSchema#decimal>"
YEARS = list(range(2016, 2026))
# Project shapes (years with budgets, sub-projects, initiatives each) and their measured size in quads;
# the small shape lets 47 prefectures fit in 10k triples.
SHAPES = [((1, 2, 1), 210), ((3, 3, 2), 680)]
PREFECTURE_OVERHEAD = 60


def parse_size(text: str) -> int:
    text = text.lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


@functools.cache  # a build takes seconds and its programs do not change between calls in one process
def national_programs() -> tuple[str, ...]:
    """The real national plan's program IRIs (alignment targets), read from the shipped build."""
    store = build_dataset(check=False).store
    query = f"SELECT ?p WHERE {{ ?p a <{PG}NationalProgram> }} ORDER BY ?p"
    return tuple(r["p"].value for r in store.query(query, use_default_graph_as_union=True))


class Writer:
    def __init__(self, fh, graph: str):
        self.fh, self.g, self.n = fh, f"<{graph}>", 0

    def q(self, s: str, p: str, o: str) -> None:
        self.fh.write(f"{s} {p} {o} {self.g} .\n")
        self.n += 1


def lit(text: str, lang: str = "ja") -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + f'"@{lang}'


def generate(target: int, out: Path, seed: int = 1, progress: bool = True) -> int:
    rng = random.Random(seed)
    nationals = national_programs()
    per_prefecture = target / 47 - PREFECTURE_OVERHEAD
    shape, size = SHAPES[1] if per_prefecture >= SHAPES[1][1] else SHAPES[0]
    per_pref = max(1, round(per_prefecture / size))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    total = 0
    bar = Progress("  generating", total=47, unit="quads", enabled=progress)
    with tmp.open("w", encoding="utf-8") as fh:
        for pref in range(1, 48):
            code = f"{pref:02d}"
            w = Writer(fh, f"https://w3id.org/policygraph/graph/source/synthetic-{code}")
            _prefecture(Prefecture(w, rng, code, nationals, Shape(*shape)), per_pref)
            total += w.n
            bar.update(pref, total, note=f"{pref}/47 prefectures")
    bar.finish(total)
    tmp.replace(out)
    return total


class Shape(NamedTuple):
    years: int          # fiscal years with budgets, per project
    sub_projects: int   # per project
    initiatives: int    # per sub-project


@dataclass
class Prefecture:
    """What every resource of one synthetic prefecture is written with."""

    w: Writer
    rng: random.Random
    code: str
    nationals: tuple[str, ...]
    shape: Shape

    def __post_init__(self) -> None:
        key = f"synthetic-{self.code}"
        self.pref = f"<{ID}prefecture/{self.code}>"
        self.doc = f"<{ID}source/{key}>"
        self.section = f"<{ID}source/{key}/section/all>"
        self.dataset = f"<{ID}dataset/budget/{key}>"
        self.unit = f"<{ID}organization/{self.code}/synthetic-ka>"
        self.plan = f"<{ID}prefectural-plan/{self.code}/synthetic>"


class Part(NamedTuple):
    node: str
    cls: str            # SubProject or Initiative
    label: str
    notation: str


def _obs(p: Prefecture, program: str, year: int, stage: str, amount: int) -> None:
    w = p.w
    o = f"<{program[1:-1].replace(ID, ID + 'budget/')}/{year}/{stage}/all>"
    w.q(o, RDF_TYPE, f"<{PG}BudgetObservation>")
    w.q(o, RDF_TYPE, f"<{QB}Observation>")
    w.q(o, f"<{QB}dataSet>", p.dataset)
    w.q(o, f"<{PG}program>", program)
    w.q(o, f"<{PG}fiscalYear>", f"<{ID}fiscal-year/{year}>")
    w.q(o, f"<{PG}budgetStage>", f"<{ID}code/budget-stage/{stage}>")
    w.q(o, f"<{PG}fundingSource>", f"<{ID}code/funding-source/all>")
    w.q(o, f"<{PG}costComponent>", f"<{ID}code/cost-component/project-cost>")
    w.q(o, f"<{PG}amount>", f'"{amount}.0"{DEC}')
    w.q(o, f"<{PG}unitOfMeasure>", f"<{ID}code/unit/thousand-yen>")
    w.q(o, f"<{PG}currency>", '"JPY"')
    w.q(o, PROV, p.section)


def _prefecture(p: Prefecture, projects: int) -> None:
    areas = _prefecture_resources(p)
    for n in range(1, projects + 1):
        assert n < 10_000, "project numbers have room for 9,999 projects a prefecture"
        _project(p, n, areas)


def _prefecture_resources(p: Prefecture) -> list[str]:
    """Source document and section, budget data set, unit, plan with two policy areas and goals."""
    w = p.w
    w.q(p.doc, RDF_TYPE, f"<{PG}SourceDocument>")
    w.q(p.doc, LABEL, lit(f"合成データ {p.code}"))
    w.q(p.doc, f"<{DCT}title>", lit(f"合成データ {p.code}"))
    w.q(p.section, RDF_TYPE, f"<{PG}SourceSection>")
    w.q(p.section, f"<{DCT}isPartOf>", p.doc)
    w.q(p.section, f"<{PG}sectionPath>", '"synthetic"')
    w.q(p.dataset, RDF_TYPE, f"<{QB}DataSet>")
    w.q(p.dataset, f"<{QB}structure>", f"<{PG}BudgetStructure>")
    w.q(p.unit, RDF_TYPE, "<http://www.w3.org/ns/org#OrganizationalUnit>")
    w.q(p.unit, LABEL, lit("合成課"))
    w.q(p.unit, "<http://www.w3.org/ns/org#unitOf>", p.pref)
    w.q(p.plan, RDF_TYPE, f"<{PG}SupportPlan>")
    w.q(p.plan, RDF_TYPE, f"<{SKOS}ConceptScheme>")
    w.q(p.plan, LABEL, lit("合成総合計画"))
    areas = []
    for a in (1, 2):
        area = f"<{ID}policy-area/{p.code}/synthetic/{a}>"
        areas.append(area)
        w.q(area, RDF_TYPE, f"<{PG}PolicyArea>")
        w.q(area, LABEL, lit(f"施策分野{a}"))
        w.q(area, f"<{SKOS}notation>", f'"{a}"')
        w.q(area, f"<{SKOS}inScheme>", p.plan)
        goal = f"<{ID}plan-goal/{p.code}/synthetic/{a}>"
        w.q(goal, RDF_TYPE, f"<{PG}PlanGoal>")
        w.q(goal, LABEL, lit(f"達成目標{a}"))
        w.q(goal, f"<{PG}policyArea>", area)
        w.q(goal, f"<{SKOS}inScheme>", p.plan)
        w.q(goal, PROV, p.section)
        _indicator(p, goal, 2025, "target", p.rng.randint(1, 100))
    return areas


def _project(p: Prefecture, n: int, areas: list[str]) -> None:
    w = p.w
    number = f"9{n // 1000 % 10} {n // 100 % 10}{n // 10 % 10} {n % 10}0"  # 款項目 "NN NN NN", as the shapes want
    key = number.replace(" ", "")
    project = f"<{ID}prefectural-project/{p.code}/{key}>"
    w.q(project, RDF_TYPE, f"<{PG}PrefecturalProject>")
    w.q(project, LABEL, lit(f"合成事業{n}"))
    w.q(project, LABEL, lit(f"Synthetic project {n}", "en"))
    w.q(project, f"<{PG}projectNumber>", f'"{number}"')
    w.q(project, f"<{PG}prefecture>", p.pref)
    w.q(project, f"<{PG}managedBy>", p.unit)
    w.q(project, f"<{PG}contributesTo>", p.rng.choice(areas))
    w.q(project, PROV, p.section)
    subs = [_sub_project(p, project, f"{p.code}/{key}", n, s) for s in range(1, p.shape.sub_projects + 1)]
    for year in p.rng.sample(YEARS, p.shape.years):
        _budgets(p, project, subs, year)
    kpi = f"<{ID}kpi/{p.code}/{key}/1>"
    w.q(kpi, RDF_TYPE, f"<{PG}KPI>")
    w.q(kpi, LABEL, lit(f"合成成果指標{n}"))
    w.q(kpi, f"<{PG}indicatorOf>", project)
    w.q(kpi, f"<{SKOS}inScheme>", p.plan)
    w.q(kpi, PROV, p.section)
    for year, role in ((2023, "actual"), (2024, "actual"), (2025, "target")):
        _indicator(p, kpi, year, role, p.rng.randint(1, 1000))


def _sub_project(p: Prefecture, project: str, path: str, n: int, s: int) -> str:
    """A sub-project aligned to a national program, with its initiatives and their planned outputs."""
    w = p.w
    sub = f"<{ID}sub-project/{path}/{s}>"
    _part(p, Part(sub, "SubProject", f"合成細事業{n}-{s}", str(s)), project)
    w.q(sub, f"<{PG}alignedWith>", f"<{p.rng.choice(p.nationals)}>")
    for i in range(1, p.shape.initiatives + 1):
        ini = f"<{ID}initiative/{path}/{s}/{i}>"
        _part(p, Part(ini, "Initiative", f"合成取組{n}-{s}-{i}", f"{s}-{i}"), sub)
        method = p.rng.choice(["subsidy", "commission", "direct", "contribution"])
        w.q(ini, f"<{PG}deliveryMethod>", f"<{ID}code/delivery-method/{method}>")
        out = f"<{ID}planned-output/{path}/{s}/{i}/2025/1>"
        w.q(out, RDF_TYPE, f"<{PG}PlannedOutput>")
        w.q(out, LABEL, lit(f"合成アウトプット{n}-{s}-{i}"))
        w.q(out, f"<{SKOS}prefLabel>", lit("合成アウトプット"))
        w.q(out, f"<{PG}outputOf>", ini)
        w.q(out, f"<{PG}fiscalYear>", f"<{ID}fiscal-year/2025>")
        w.q(out, f"<{PG}quantity>", f'"{p.rng.randint(1, 500)}.0"{DEC}')
        w.q(out, f"<{PG}unitText>", lit("回"))
        w.q(out, PROV, p.section)
    return sub


def _budgets(p: Prefecture, project: str, subs: list[str], year: int) -> None:
    """One year's figures that add up: sub-projects to the project, 予算現額 = 繰越 + 当初 + 補正."""
    parts = {stage: [p.rng.randint(100, 50_000) for _ in subs] for stage in ("request", "draft", "initial")}
    for stage, amounts in parts.items():
        for sub, amount in zip(subs, amounts, strict=True):
            _obs(p, sub, year, stage, amount)
        _obs(p, project, year, stage, sum(amounts))
    carried, supp = p.rng.randint(0, 5000), p.rng.randint(0, 5000)
    _obs(p, project, year, "carried-over", carried)
    _obs(p, project, year, "supplementary", supp)
    current = carried + sum(parts["initial"]) + supp
    _obs(p, project, year, "current", current)
    _obs(p, project, year, "settlement", p.rng.randint(current // 2, current))


def _part(p: Prefecture, part: Part, parent: str) -> None:
    """A sub-project or initiative: typed, labelled, numbered, linked both ways to its parent."""
    w, node = p.w, part.node
    w.q(node, RDF_TYPE, f"<{PG}{part.cls}>")
    w.q(node, LABEL, lit(part.label))
    w.q(node, f"<{SKOS}notation>", f'"{part.notation}"')
    w.q(node, f"<{PG}prefecture>", p.pref)
    w.q(node, f"<{PG}componentOf>", parent)
    w.q(parent, f"<{PG}hasComponent>", node)
    w.q(node, PROV, p.section)


def _indicator(p: Prefecture, indicator: str, year: int, role: str, value: int) -> None:
    w = p.w
    o = f"<{indicator[1:-1].replace(ID, ID + 'indicator-observation/')}/{year}/{role}>"
    w.q(o, RDF_TYPE, f"<{PG}IndicatorObservation>")
    w.q(o, f"<{PG}indicator>", indicator)
    w.q(o, f"<{PG}fiscalYear>", f"<{ID}fiscal-year/{year}>")
    w.q(o, f"<{PG}valueRole>", f"<{ID}code/value-role/{role}>")
    w.q(o, f"<{PG}value>", f'"{value}.0"{DEC}')
    w.q(o, f"<{PG}valueStatus>", f"<{ID}code/value-status/reported>")
    w.q(o, PROV, p.section)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--triples", default="100k", help="approximate size: 10k, 100k, 1m, 5m …")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    start = time.monotonic()
    n = generate(parse_size(args.triples), args.out, args.seed)
    print(f"wrote {n:,} quads to {args.out} in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
