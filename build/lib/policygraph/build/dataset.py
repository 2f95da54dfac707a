"""Build: records → RDF dataset → entailments → cross-checks (dumps.py writes the result).

One named graph per source document, plus the ontology, the reference tables, each curated
file and the inferred triples.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF

from policygraph import __version__
from policygraph.build.progress import Stages
from policygraph.quality.cross_checks import check_budgets
from policygraph.quality.inference import entailments
from policygraph.records.loader import DataSet, load_data
from policygraph.transform import ids
from policygraph.transform.alignments import write_alignments, write_continuity, write_counterparts
from policygraph.transform.graphs import to_store
from policygraph.transform.ids import PG, PREFIXES
from policygraph.transform.metadata import write_metadata
from policygraph.transform.national import write_national_plan
from policygraph.transform.pages import write_budget_pages, write_figures
from policygraph.transform.reference import write_reference
from policygraph.transform.sheet import write_sheet
from policygraph.transform.writer import Writer

PROGRAM_CLASSES = (PG.NationalProgram, PG.PrefecturalProject, PG.SubProject, PG.Initiative)


PACKAGED = Path(__file__).resolve().parents[1] / "project"  # the inputs an installed wheel carries (setup.py)


def project_root() -> Path:
    """The project whose data/, ontology/, shapes/ and queries/ the commands use: $POLICYGRAPH_ROOT
    (or the older $POLICYGRAPH_HOME), else the checkout this code runs from, else the copy an installed
    wheel carries, else the working directory."""
    for variable in ("POLICYGRAPH_ROOT", "POLICYGRAPH_HOME"):
        if value := os.environ.get(variable):
            return Path(value)
    checkout = Path(__file__).resolve().parents[3]
    for candidate in (checkout, PACKAGED):
        if (candidate / "ontology").is_dir():
            return candidate
    return Path.cwd()


def output_dir(project: Path) -> Path:
    """Where builds of ``project`` go by default: its dist/; for the copy an installed wheel carries
    (site-packages may be read-only, and is shared by every user) a directory in the user's cache."""
    if project.resolve() != PACKAGED:
        return project / "dist"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "policygraph" / __version__ / "dist"


@dataclass(frozen=True)
class ExtraInputs:
    """Record files from outside data/ to build with: a researcher's draft sheet (``build --sheet``),
    the tests' synthetic prefectures."""
    sheets: tuple[Path, ...] = ()
    alignments: tuple[Path, ...] = ()
    pages: tuple[Path, ...] = ()

    def files(self) -> list[Path]:
        return [*self.sheets, *self.alignments, *self.pages]


@dataclass
class Build:
    dataset: Dataset
    store: ox.Store
    data: DataSet
    inputs_hash: str
    counts: dict[str, int] = field(default_factory=dict)


def input_files(root: Path, extra: Sequence[Path] = ()) -> list[Path]:
    files = [*sorted((root / "ontology").glob("*.ttl")), *sorted((root / "shapes").glob("*.ttl")),
             *sorted((root / "data").rglob("*.yaml"))]
    return [f for f in files if "templates" not in f.parts] + list(extra)


def inputs_hash(files: list[Path]) -> str:
    h = hashlib.sha256(__version__.encode())
    for f in files:
        h.update(str(f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build_dataset(root: Path | None = None, extra: ExtraInputs | None = None, check: bool = True,
                  stages: Stages | None = None) -> Build:
    """Everything but writing: returns the rdflib dataset and a pyoxigraph store holding it.
    ``stages`` reports each step's time (the CLI passes one; many sheets make a long build)."""
    stages = stages or Stages(enabled=False)
    root = root or project_root()
    extra = extra or ExtraInputs()
    data = load_data(root / "data", list(extra.sheets), list(extra.alignments), list(extra.pages))
    stages.done(f"records: {len(data.sheets)} sheet(s), {len(data.budget_pages)} page set(s), "
                f"{len(data.national_plans)} national plan(s), "
                f"{len(data.alignments)} alignment file(s)")
    ds = Dataset()
    for prefix, ns in PREFIXES.items():
        ds.bind(prefix, ns)
    _read_turtle(ds.graph(ids.G_ONTOLOGY), root / "ontology")
    _read_turtle(ds.graph(ids.G_SHAPES), root / "shapes")  # published with the data: it documents a valid graph
    _write_sources(ds, data)
    _write_curated(ds, data)
    stages.done(f"RDF: {sum(len(g) for g in ds.graphs()):,} triples")
    inferred = ds.graph(ids.G_INFERRED)
    for t in entailments(_asserted(ds)):
        inferred.add(t)
    stages.done(f"OWL-RL entailments: {len(inferred):,} triples")
    store = to_store(ds)
    if check:
        check_budgets(store)
        stages.done("budget cross-checks")
    counts = {str(g.identifier): len(g) for g in ds.graphs() if len(g)}
    return Build(ds, store, data, inputs_hash(input_files(root, extra.files())), counts)


def _read_turtle(graph: Graph, folder: Path) -> None:
    for ttl in sorted(folder.glob("*.ttl")):
        graph.parse(ttl, format="turtle")


def _write_sources(ds: Dataset, data: DataSet) -> None:
    """The reference tables, and one graph per source document."""
    write_reference(data, Writer(ds.graph(ids.G_REFERENCE)))
    for _, plan in data.national_plans:
        write_national_plan(plan, Writer(ds.graph(ids.source_graph(plan.source.key))))
    for _, sheet in data.sheets:
        write_sheet(sheet, Writer(ds.graph(ids.source_graph(sheet.source.key))))
    for _, pages in data.budget_pages:
        write_budget_pages(pages, data.classification, Writer(ds.graph(ids.source_graph(pages.source.key))))
    for _, figures in data.figures:
        write_figures(figures, Writer(ds.graph(ids.source_graph(figures.source.key))))
    write_metadata(data.description, Writer(ds.graph(ids.G_META)))


def _write_curated(ds: Dataset, data: DataSet) -> None:
    """One graph per curated file; a link to a program no source defines is an error."""
    known = {s for g in ds.graphs() for c in PROGRAM_CLASSES for s in g.subjects(RDF.type, c)
             if isinstance(s, URIRef)}
    for path, af in data.alignments:
        write_alignments(af, path, data, Writer(ds.graph(ids.curated_graph(af.source.key))), known)
    for _, cf in data.continuity:
        write_continuity(cf, data, Writer(ds.graph(ids.curated_graph(cf.source.key))))
    for path, cp in data.counterparts:
        write_counterparts(cp, path, data, Writer(ds.graph(ids.curated_graph(cp.source.key))), known)


def _asserted(ds: Dataset) -> Graph:
    """Every asserted triple but the shapes': what the entailments are drawn from."""
    asserted = Graph()
    for g in ds.graphs():
        if g.identifier != ids.G_SHAPES:
            for t in g:
                asserted.add(t)
    return asserted
