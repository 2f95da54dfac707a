"""Build: records → RDF dataset → entailments → cross-checks → dumps.

One named graph per source document, plus the ontology, the reference tables, each curated
file and the inferred triples. Dumps are written to a temporary directory beside the target
and moved into place only when every file is complete, so a failed build never leaves a
half-written dist/.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF

from policygraph import __version__
from policygraph.transform import ids
from policygraph.quality.cross_checks import check_budgets
from policygraph.transform.writer import Writer
from policygraph.transform.graphs import to_store, union_graph
from policygraph.transform.metadata import write_metadata
from policygraph.transform.ids import PG, PREFIXES
from policygraph.quality.inference import entailments
from policygraph.records.loader import DataSet, load_data
from policygraph.build.progress import Stages
from policygraph.transform.alignments import write_alignments, write_continuity, write_counterparts
from policygraph.transform.national import write_national_plan
from policygraph.transform.pages import write_budget_pages, write_figures
from policygraph.transform.reference import write_reference
from policygraph.transform.sheet import write_sheet

PROGRAM_CLASSES = (PG.NationalProgram, PG.PrefecturalProject, PG.SubProject, PG.Initiative)

# Dump file → (rdflib format, media type). N-Triples and Turtle hold the union of all graphs.
DUMPS = {
    "policygraph.trig": ("trig", "application/trig"),
    "policygraph.nq": ("nquads", "application/n-quads"),
    "policygraph.nt": ("nt", "application/n-triples"),
    "policygraph.ttl": ("turtle", "text/turtle"),
    "policygraph.jsonld": ("json-ld", "application/ld+json"),
}


def project_root() -> Path:
    """The checkout that holds data/ and ontology/ (POLICYGRAPH_HOME overrides)."""
    if home := os.environ.get("POLICYGRAPH_HOME"):
        return Path(home)
    here = Path(__file__).resolve().parents[3]
    return here if (here / "ontology").is_dir() else Path.cwd()


@dataclass
class Build:
    dataset: Dataset
    store: ox.Store
    data: DataSet
    inputs_hash: str
    counts: dict[str, int] = field(default_factory=dict)


def _new_dataset() -> Dataset:
    ds = Dataset()
    for prefix, ns in PREFIXES.items():
        ds.bind(prefix, ns)
    return ds


def input_files(root: Path, extra: list[Path] = ()) -> list[Path]:
    files = [*sorted((root / "ontology").glob("*.ttl")), *sorted((root / "shapes").glob("*.ttl")),
             *sorted((root / "data").rglob("*.yaml"))]
    return [f for f in files if "templates" not in f.parts] + list(extra)


def inputs_hash(files: list[Path]) -> str:
    h = hashlib.sha256(__version__.encode())
    for f in files:
        h.update(str(f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build_dataset(root: Path | None = None, extra_sheets: list[Path] = (), check: bool = True,
                  extra_alignments: list[Path] = (), stages: Stages | None = None,
                  extra_pages: list[Path] = ()) -> Build:
    """Everything but writing: returns the rdflib dataset and a pyoxigraph store holding it.
    ``stages`` reports each step's time (the CLI passes one; many sheets make a long build)."""
    stages = stages or Stages(enabled=False)
    root = root or project_root()
    data = load_data(root / "data", extra_sheets, extra_alignments, extra_pages)
    stages.done(f"records: {len(data.sheets)} sheet(s), {len(data.budget_pages)} page set(s), "
                f"{len(data.national_plans)} national plan(s), "
                f"{len(data.alignments)} alignment file(s)")
    ds = _new_dataset()

    onto = ds.graph(ids.G_ONTOLOGY)
    for ttl in sorted((root / "ontology").glob("*.ttl")):
        onto.parse(ttl, format="turtle")
    shapes = ds.graph(ids.G_SHAPES)  # published with the data: it documents what a valid graph is
    for ttl in sorted((root / "shapes").glob("*.ttl")):
        shapes.parse(ttl, format="turtle")
    write_reference(data, Writer(ds.graph(ids.G_REFERENCE)))
    for _, plan in data.national_plans:
        write_national_plan(plan, Writer(ds.graph(ids.source_graph(plan.source.key))))
    for _, sheet in data.sheets:
        write_sheet(sheet, Writer(ds.graph(ids.source_graph(sheet.source.key))))
    for _, pages in data.budget_pages:
        write_budget_pages(pages, data.classification, Writer(ds.graph(ids.source_graph(pages.source.key))))
    for _, figures in data.figures:
        write_figures(figures, Writer(ds.graph(ids.source_graph(figures.source.key))))
    write_metadata(Writer(ds.graph(ids.G_META)))
    known = {s for g in ds.graphs() for c in PROGRAM_CLASSES for s in g.subjects(RDF.type, c)}
    for path, af in data.alignments:
        write_alignments(af, path, data, Writer(ds.graph(ids.curated_graph(af.source.key))), known)
    for _, cf in data.continuity:
        write_continuity(cf, data, Writer(ds.graph(ids.curated_graph(cf.source.key))))
    for path, cp in data.counterparts:
        write_counterparts(cp, path, data, Writer(ds.graph(ids.curated_graph(cp.source.key))), known)

    asserted = Graph()
    stages.done(f"RDF: {sum(len(g) for g in ds.graphs()):,} triples")
    for g in ds.graphs():
        if g.identifier != ids.G_SHAPES:
            for t in g:
                asserted.add(t)
    inferred = ds.graph(ids.G_INFERRED)
    for t in entailments(asserted):
        inferred.add(t)
    stages.done(f"OWL-RL entailments: {len(inferred):,} triples")

    store = to_store(ds)
    if check:
        check_budgets(store)
        stages.done("budget cross-checks")
    counts = {str(g.identifier): len(g) for g in ds.graphs() if len(g)}
    return Build(ds, store, data, inputs_hash(input_files(root, [*extra_sheets, *extra_alignments, *extra_pages])), counts)




def write_dumps(build: Build, out: Path, validated: bool = False) -> dict[str, int]:
    """Write every dump into a fresh directory, then swap it in for ``out``."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-tmp-{_owner()}-", dir=out.parent))
    try:
        union = union_graph(build.dataset)
        sizes = {}
        for name, (fmt, _) in DUMPS.items():
            target = tmp / name
            source = build.dataset if fmt in ("trig", "nquads", "json-ld") else union
            source.serialize(destination=target, format=fmt, encoding="utf-8")
            sizes[name] = target.stat().st_size
        info = {
            "version": __version__,
            "inputs_hash": build.inputs_hash,
            "validated": validated,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "triples": len(union),
            "graphs": build.counts,
            "files": sizes,
        }
        (tmp / "build-info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        _swap_in(tmp, out)
        return sizes
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _owner() -> str:
    """Who makes a build's temporary folders: host (no '-' in it) and process id."""
    return f"{re.sub(r'[^A-Za-z0-9.]', '_', socket.gethostname()) or 'host'}-{os.getpid()}"


def _clear_leftovers(out: Path) -> None:
    """Remove what interrupted builds into ``out`` left beside it (.dist-tmp-<host>-<pid>-*,
    .dist-old-<host>-<pid>; from older versions .dist-old-<pid>, and .dist-XXXXXXXX once a day
    old), but only if that process has
    ended: a concurrent build's folders stay, and so do another host's (its pids mean nothing
    here). If ``out`` is missing, a dead build's old copy of it is put back instead."""
    if os.name != "posix":
        return  # os.kill(pid, 0) would end the process on Windows
    host, _ = _owner().rsplit("-", 1)
    pattern = re.compile(rf"\.{re.escape(out.name)}-(tmp|old)-(?:([A-Za-z0-9._]+)-)?(\d+)(?:-.*)?")
    unowned = re.compile(rf"\.{re.escape(out.name)}-[a-z0-9_]{{8}}")  # before owners were named: mkdtemp's own
    for p in sorted(out.parent.iterdir()):
        if unowned.fullmatch(p.name) and p.is_dir() and not p.is_symlink() and time.time() - p.stat().st_mtime > 86_400:
            shutil.rmtree(p, ignore_errors=True)  # a day old: no build runs that long
            continue
        m = pattern.fullmatch(p.name)
        if not m or (m[2] or host) != host or not p.is_dir() or p.is_symlink() or _alive(int(m[3])):
            continue
        if m[1] == "old" and not out.exists():
            try:
                os.replace(p, out)
                continue
            except OSError:
                pass
        shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or not a pid): leave its folder alone
    return True


def _swap_in(new: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{_owner()}")
        os.replace(out, old)
    os.replace(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


