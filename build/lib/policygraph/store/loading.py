"""Reading RDF files of any syntax into graphs, and loading them into a remote store (Graph Store
Protocol)."""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from policygraph.build.progress import Progress
from policygraph.records.limits import check_rdf_file


class LoadError(RuntimeError):
    """A file cannot be read or the remote store refused it; the message says which and why."""


@dataclass
class LoadReport:
    graphs: int
    triples: int


EXTRA_GRAPH = "https://w3id.org/policygraph/graph/extra/"
GraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


def rdf_file_format(f: Path) -> tuple[ox.RdfFormat, ox.NamedNode | None]:
    """A file's RDF syntax (by extension) and, for a triples-only syntax, the graph its triples go
    to (graph/extra/<file stem>); None for a dataset syntax, whose quads keep their graphs."""
    fmt = ox.RdfFormat.from_extension(f.suffix.lstrip("."))
    if fmt is None:
        raise ValueError(f"{f}: unknown RDF syntax for extension {f.suffix!r}")
    return fmt, None if fmt.supports_datasets else ox.NamedNode(EXTRA_GRAPH + f.stem)


def _checked_format(f: Path) -> tuple[ox.RdfFormat, ox.NamedNode | None]:
    try:
        return rdf_file_format(f)
    except ValueError as e:
        raise LoadError(str(e)) from None


def read_graphs(files: list[Path]) -> dict[GraphName, list[ox.Triple]]:
    """Triples by graph from RDF files of any syntax (a triples-only file goes to graph/extra/<stem>),
    with a progress bar over the bytes read."""
    for f in files:  # every file within the nesting and entity limits (else InputFileError) before any is read
        check_rdf_file(f, _checked_format(f)[0])
    graphs: dict[GraphName, list[ox.Triple]] = {}
    total = sum(f.stat().st_size for f in files)
    bar = Progress("reading", total=total, unit="triples", enabled=total > 20_000_000)
    done, triples = 0, 0
    for f in files:
        fmt, target = _checked_format(f)
        with f.open("rb") as fh:
            try:
                for q in ox.parse(fh, format=fmt):
                    graphs.setdefault(target or q.graph_name, []).append(q.triple)
                    triples += 1
                    if triples % 50_000 == 0:
                        bar.update(done + fh.tell(), triples)  # the parser's position: bytes it has read
            except SyntaxError as e:
                raise LoadError(f"{f}: not valid {fmt.name}: {e}") from None
        done += f.stat().st_size
    bar.finish(triples)
    return graphs


def load_remote(files: list[Path], target: str, log: Callable[[str], None] = print) -> LoadReport:
    """Push every named graph to a SPARQL 1.1 Graph Store HTTP Protocol endpoint (PUT ?graph=IRI),
    one whole graph per request: splitting a graph would split its blank nodes too."""
    graphs = read_graphs(files)
    total, want = 0, sum(len(t) for t in graphs.values())
    start = time.monotonic()
    for i, (graph, triples) in enumerate(sorted(graphs.items(), key=lambda kv: str(kv[0])), 1):
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        param = "default" if isinstance(graph, ox.DefaultGraph) else "graph=" + urllib.parse.quote(graph.value, safe="")
        url = f"{target}{'&' if '?' in target else '?'}{param}"
        req = urllib.request.Request(url, data=body, method="PUT",
                                     headers={"Content-Type": "application/n-triples"})
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            raise LoadError(f"{url}: HTTP {e.code} {e.reason}: {e.read()[:300]!r}") from None
        except urllib.error.URLError as e:
            raise LoadError(f"{url}: {e.reason}") from None
        total += len(triples)
        rate = total / max(time.monotonic() - start, 1e-6)
        log(f"  [{i}/{len(graphs)}] {len(triples):>8,} triples → {graph}  ({total / want:4.0%}, {rate:,.0f} triples/s)")
    return LoadReport(len(graphs), total)


def files_id(files: list[Path]) -> str:
    """An identity for served files from their names, sizes and times, without reading gigabytes."""
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]
