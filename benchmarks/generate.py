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
from pathlib import Path

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
            _prefecture(w, rng, code, per_pref, nationals, *shape)
            total += w.n
            bar.update(pref, total, note=f"{pref}/47 prefectures")
    bar.finish(total)
    tmp.replace(out)
    return total


def _obs(w: Writer, program: str, year: int, stage: str, amount: int, dataset: str, section: str, funding="all") -> None:
    o = f"<{program[1:-1].replace(ID, ID + 'budget/')}/{year}/{stage}/{funding}>"
    w.q(o, RDF_TYPE, f"<{PG}BudgetObservation>")
    w.q(o, RDF_TYPE, f"<{QB}Observation>")
    w.q(o, f"<{QB}dataSet>", dataset)
    w.q(o, f"<{PG}program>", program)
    w.q(o, f"<{PG}fiscalYear>", f"<{ID}fiscal-year/{year}>")
    w.q(o, f"<{PG}budgetStage>", f"<{ID}code/budget-stage/{stage}>")
    w.q(o, f"<{PG}fundingSource>", f"<{ID}code/funding-source/{funding}>")
    w.q(o, f"<{PG}costComponent>", f"<{ID}code/cost-component/project-cost>")
    w.q(o, f"<{PG}amount>", f'"{amount}.0"{DEC}')
    w.q(o, f"<{PG}unitOfMeasure>", f"<{ID}code/unit/thousand-yen>")
    w.q(o, f"<{PG}currency>", '"JPY"')
    w.q(o, PROV, section)


def _prefecture(w: Writer, rng: random.Random, code: str, projects: int, nationals: tuple[str, ...],
                years: int, n_subs: int, n_inits: int) -> None:
    pref = f"<{ID}prefecture/{code}>"
    key = f"synthetic-{code}"
    doc = f"<{ID}source/{key}>"
    w.q(doc, RDF_TYPE, f"<{PG}SourceDocument>")
    w.q(doc, LABEL, lit(f"合成データ {code}"))
    w.q(doc, f"<{DCT}title>", lit(f"合成データ {code}"))
    section = f"<{ID}source/{key}/section/all>"
    w.q(section, RDF_TYPE, f"<{PG}SourceSection>")
    w.q(section, f"<{DCT}isPartOf>", doc)
    w.q(section, f"<{PG}sectionPath>", '"synthetic"')
    dataset = f"<{ID}dataset/budget/{key}>"
    w.q(dataset, RDF_TYPE, f"<{QB}DataSet>")
    w.q(dataset, f"<{QB}structure>", f"<{PG}BudgetStructure>")
    unit = f"<{ID}organization/{code}/synthetic-ka>"
    w.q(unit, RDF_TYPE, "<http://www.w3.org/ns/org#OrganizationalUnit>")
    w.q(unit, LABEL, lit("合成課"))
    w.q(unit, "<http://www.w3.org/ns/org#unitOf>", pref)
    plan = f"<{ID}prefectural-plan/{code}/synthetic>"
    w.q(plan, RDF_TYPE, f"<{PG}SupportPlan>")
    w.q(plan, RDF_TYPE, f"<{SKOS}ConceptScheme>")
    w.q(plan, LABEL, lit("合成総合計画"))
    areas = []
    for a in (1, 2):
        area = f"<{ID}policy-area/{code}/synthetic/{a}>"
        areas.append(area)
        w.q(area, RDF_TYPE, f"<{PG}PolicyArea>")
        w.q(area, LABEL, lit(f"施策分野{a}"))
        w.q(area, f"<{SKOS}notation>", f'"{a}"')
        w.q(area, f"<{SKOS}inScheme>", plan)
        goal = f"<{ID}plan-goal/{code}/synthetic/{a}>"
        w.q(goal, RDF_TYPE, f"<{PG}PlanGoal>")
        w.q(goal, LABEL, lit(f"達成目標{a}"))
        w.q(goal, f"<{PG}policyArea>", area)
        w.q(goal, f"<{SKOS}inScheme>", plan)
        w.q(goal, PROV, section)
        _indicator(w, goal, 2025, "target", rng.randint(1, 100), section)
    for n in range(1, projects + 1):
        assert n < 10_000, "project numbers have room for 9,999 projects a prefecture"
        number = f"9{n // 1000 % 10} {n // 100 % 10}{n // 10 % 10} {n % 10}0"  # 款項目 "NN NN NN", as the shapes want
        proj_key = number.replace(" ", "")
        project = f"<{ID}prefectural-project/{code}/{proj_key}>"
        w.q(project, RDF_TYPE, f"<{PG}PrefecturalProject>")
        w.q(project, LABEL, lit(f"合成事業{n}"))
        w.q(project, LABEL, lit(f"Synthetic project {n}", "en"))
        w.q(project, f"<{PG}projectNumber>", f'"{number}"')
        w.q(project, f"<{PG}prefecture>", pref)
        w.q(project, f"<{PG}managedBy>", unit)
        w.q(project, f"<{PG}contributesTo>", rng.choice(areas))
        w.q(project, PROV, section)
        subs = []
        for s in range(1, n_subs + 1):
            sub = f"<{ID}sub-project/{code}/{proj_key}/{s}>"
            subs.append(sub)
            _part(w, sub, "SubProject", f"合成細事業{n}-{s}", str(s), pref, project, section)
            w.q(sub, f"<{PG}alignedWith>", f"<{rng.choice(nationals)}>")
            for i in range(1, n_inits + 1):
                ini = f"<{ID}initiative/{code}/{proj_key}/{s}/{i}>"
                _part(w, ini, "Initiative", f"合成取組{n}-{s}-{i}", f"{s}-{i}", pref, sub, section)
                w.q(ini, f"<{PG}deliveryMethod>", f"<{ID}code/delivery-method/{rng.choice(['subsidy', 'commission', 'direct', 'contribution'])}>")
                out = f"<{ID}planned-output/{code}/{proj_key}/{s}/{i}/2025/1>"
                w.q(out, RDF_TYPE, f"<{PG}PlannedOutput>")
                w.q(out, LABEL, lit(f"合成アウトプット{n}-{s}-{i}"))
                w.q(out, f"<{SKOS}prefLabel>", lit("合成アウトプット"))
                w.q(out, f"<{PG}outputOf>", ini)
                w.q(out, f"<{PG}fiscalYear>", f"<{ID}fiscal-year/2025>")
                w.q(out, f"<{PG}quantity>", f'"{rng.randint(1, 500)}.0"{DEC}')
                w.q(out, f"<{PG}unitText>", lit("回"))
                w.q(out, PROV, section)
        for year in rng.sample(YEARS, years):
            parts = {stage: [rng.randint(100, 50_000) for _ in subs] for stage in ("request", "draft", "initial")}
            for stage, amounts in parts.items():
                for sub, amount in zip(subs, amounts):
                    _obs(w, sub, year, stage, amount, dataset, section)
                _obs(w, project, year, stage, sum(amounts), dataset, section)
            carried, supp = rng.randint(0, 5000), rng.randint(0, 5000)
            _obs(w, project, year, "carried-over", carried, dataset, section)
            _obs(w, project, year, "supplementary", supp, dataset, section)
            current = carried + sum(parts["initial"]) + supp
            _obs(w, project, year, "current", current, dataset, section)
            _obs(w, project, year, "settlement", rng.randint(current // 2, current), dataset, section)
        kpi = f"<{ID}kpi/{code}/{proj_key}/1>"
        w.q(kpi, RDF_TYPE, f"<{PG}KPI>")
        w.q(kpi, LABEL, lit(f"合成成果指標{n}"))
        w.q(kpi, f"<{PG}indicatorOf>", project)
        w.q(kpi, f"<{SKOS}inScheme>", plan)
        w.q(kpi, PROV, section)
        for year, role in ((2023, "actual"), (2024, "actual"), (2025, "target")):
            _indicator(w, kpi, year, role, rng.randint(1, 1000), section)


def _part(w: Writer, node: str, cls: str, label: str, notation: str, pref: str, parent: str, section: str) -> None:
    """A sub-project or initiative: typed, labelled, numbered, linked both ways to its parent."""
    w.q(node, RDF_TYPE, f"<{PG}{cls}>")
    w.q(node, LABEL, lit(label))
    w.q(node, f"<{SKOS}notation>", f'"{notation}"')
    w.q(node, f"<{PG}prefecture>", pref)
    w.q(node, f"<{PG}componentOf>", parent)
    w.q(parent, f"<{PG}hasComponent>", node)
    w.q(node, PROV, section)


def _indicator(w: Writer, indicator: str, year: int, role: str, value: int, section: str) -> None:
    o = f"<{indicator[1:-1].replace(ID, ID + 'indicator-observation/')}/{year}/{role}>"
    w.q(o, RDF_TYPE, f"<{PG}IndicatorObservation>")
    w.q(o, f"<{PG}indicator>", indicator)
    w.q(o, f"<{PG}fiscalYear>", f"<{ID}fiscal-year/{year}>")
    w.q(o, f"<{PG}valueRole>", f"<{ID}code/value-role/{role}>")
    w.q(o, f"<{PG}value>", f'"{value}.0"{DEC}')
    w.q(o, f"<{PG}valueStatus>", f"<{ID}code/value-status/reported>")
    w.q(o, PROV, section)


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
