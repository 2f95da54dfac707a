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
from policygraph.store.engines import rdf_file_format


class LoadError(RuntimeError):
    """A file cannot be read or the remote store refused it; the message says which and why."""


@dataclass
class LoadReport:
    graphs: int
    triples: int


class _CountingReader:
    """A binary file that counts the bytes read from it, so the parser's progress can be shown."""

    def __init__(self, path: Path):
        self.fh = open(path, "rb")  # noqa: SIM115 - closed by read_graphs
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.fh.read(n)
        self.read_bytes += len(chunk)
        return chunk


def read_graphs(files: list[Path]) -> dict:
    """Triples by graph from RDF files of any syntax (a triples-only file goes to graph/extra/<stem>),
    with a progress bar over the bytes read."""
    graphs: dict = {}
    for f in files:  # every file within the nesting and entity limits (else InputFileError) before any is read
        try:
            fmt, _ = rdf_file_format(f)
        except ValueError as e:
            raise LoadError(str(e)) from None
        check_rdf_file(f, fmt)
    total = sum(f.stat().st_size for f in files)
    bar = Progress("reading", total=total, unit="triples", enabled=total > 20_000_000)
    done, triples = 0, 0
    for f in files:
        try:
            fmt, target = rdf_file_format(f)
        except ValueError as e:
            raise LoadError(str(e)) from None
        reader = _CountingReader(f)
        try:
            for q in ox.parse(reader, format=fmt):
                graphs.setdefault(target or q.graph_name, []).append(ox.Triple(q.subject, q.predicate, q.object))
                triples += 1
                if triples % 50_000 == 0:
                    bar.update(done + reader.read_bytes, triples)
        except SyntaxError as e:
            raise LoadError(f"{f}: not valid {fmt.name}: {e}") from None
        finally:
            reader.fh.close()
        done += reader.read_bytes
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
