"""Start the service: reuse or make a validated build, open the store, run uvicorn.

Settings come from command-line options, else environment variables (POLICYGRAPH_*),
else defaults. A graph that fails SHACL validation is never published.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from policygraph.build.dataset import build_dataset, input_files, inputs_hash, write_dumps
from policygraph.records.limits import check_rdf_file
from policygraph.quality.validate import build_data, load_shapes, render_text, validate_data


class ServeError(RuntimeError):
    """The service cannot start (invalid graph, unreachable store …); the message says why."""


def env(name: str, default=None, cast=str):
    value = os.environ.get(f"POLICYGRAPH_{name}")
    if value is None or value == "":
        return default
    try:
        return cast(value)
    except ValueError:
        raise ValueError(f"environment variable POLICYGRAPH_{name}={value!r} is not a valid {cast.__name__}") from None


def current_build(root: Path, out: Path, log=print) -> dict:
    """The build in ``out`` if its inputs are unchanged and it was validated; else build, validate, write."""
    info_path = out / "build-info.json"
    wanted = inputs_hash(input_files(root))
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("inputs_hash") == wanted and info.get("validated") and (out / "policygraph.nq").exists():
            log(f"reusing the validated build in {out} ({info['triples']:,} triples)")
            return info
    log("building the graph …")
    build = build_dataset(root)
    report = validate_data(build_data(build), load_shapes(root))
    if not report.conforms:
        raise ServeError("the graph fails SHACL validation and will not be published:\n" + render_text(report))
    write_dumps(build, out, validated=True)
    return json.loads(info_path.read_text())


def on_disk_store(path: Path, nquads: Path, build_id: str, log=print) -> Path:
    """An on-disk Oxigraph store at ``path`` holding this build (loaded once, then reused)."""
    marker = path / "policygraph-build.txt"
    if marker.exists() and marker.read_text().strip() == build_id:
        return path
    log(f"loading the build into the on-disk store {path} …")
    store = ox.Store(str(path))
    store.clear()
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    store.optimize()  # several times faster aggregations after a bulk load
    store.flush()
    del store
    marker.write_text(build_id + "\n")
    return path


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
    from policygraph.build.progress import Progress
    from policygraph.store.engines import rdf_file_format

    graphs: dict = {}
    for f in files:  # every file within the nesting and entity limits (else InputFileError) before any is read
        try:
            fmt, _ = rdf_file_format(f)
        except ValueError as e:
            raise ServeError(str(e)) from None
        check_rdf_file(f, fmt)
    total = sum(f.stat().st_size for f in files)
    bar = Progress("reading", total=total, unit="triples", enabled=total > 20_000_000)
    done, triples = 0, 0
    for f in files:
        try:
            fmt, target = rdf_file_format(f)
        except ValueError as e:
            raise ServeError(str(e)) from None
        reader = _CountingReader(f)
        try:
            for q in ox.parse(reader, format=fmt):
                graphs.setdefault(target or q.graph_name, []).append(ox.Triple(q.subject, q.predicate, q.object))
                triples += 1
                if triples % 50_000 == 0:
                    bar.update(done + reader.read_bytes, triples)
        except SyntaxError as e:
            raise ServeError(f"{f}: not valid {fmt.name}: {e}") from None
        finally:
            reader.fh.close()
        done += reader.read_bytes
    bar.finish(triples)
    return graphs


def load_remote(files: list[Path], target: str, log=print) -> LoadReport:
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
            raise ServeError(f"{url}: HTTP {e.code} {e.reason}: {e.read()[:300]!r}") from None
        except urllib.error.URLError as e:
            raise ServeError(f"{url}: {e.reason}") from None
        total += len(triples)
        rate = total / max(time.monotonic() - start, 1e-6)
        log(f"  [{i}/{len(graphs)}] {len(triples):>8,} triples → {graph}  ({total / want:4.0%}, {rate:,.0f} triples/s)")
    return LoadReport(len(graphs), total)


def files_id(files: list[Path]) -> str:
    """An identity for served files from their names, sizes and times, without reading gigabytes."""
    import hashlib
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def make_engine(store: str | None, root: Path, out: Path, workers: int, log=print,
                extra: tuple[Path, ...] = (), only_extra: bool = False, spares: int = 0, **pool):
    """(engine, build id, description) for a store spec: None (in memory), a path, or an http(s) URL.
    ``extra`` RDF files are served alongside the build (or alone, with ``only_extra``); ``pool`` goes
    to EmbeddedEngine (limits, client_share)."""
    from policygraph.store.engines import EmbeddedEngine, RemoteEngine, StoreSource

    for f in extra:
        if not f.is_file():
            raise ServeError(f"--graph {f}: no such file")
        check_rdf_file(f)  # here, before a worker process parses it (a file over a limit could crash it)
    if store and store.startswith(("http://", "https://")):
        if extra:
            raise ServeError("--graph needs the embedded store (load extra files into the remote store yourself)")
        return RemoteEngine(store), "remote-" + store, f"remote SPARQL endpoint {store}"
    if only_extra:
        if not extra:
            raise ServeError("--only-graphs needs at least one --graph FILE")
        ident = files_id(list(extra))
        log(f"serving only {len(extra)} file(s); they are not validated (run `policygraph validate FILE` first)")
        return EmbeddedEngine(StoreSource(None, extra=tuple(extra)), workers, spares, **pool), ident, "embedded Oxigraph (extra graphs only)"
    info = current_build(root, out, log)
    build_id = info["inputs_hash"]
    nquads = out / "policygraph.nq"
    if store:
        path = on_disk_store(Path(store), nquads, build_id, log)
        return EmbeddedEngine(StoreSource(path, on_disk=True), workers, spares, **pool), build_id, f"embedded Oxigraph on disk ({path})"
    if extra:
        log(f"adding {len(extra)} extra file(s), not validated (run `policygraph validate FILE` first)")
        build_id = f"{build_id}-{files_id(list(extra))}"
    return EmbeddedEngine(StoreSource(nquads, extra=tuple(extra)), workers, spares, **pool), build_id, "embedded Oxigraph (in memory)"


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
