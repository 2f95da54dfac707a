"""Open the store a service runs on: the validated build in memory, an on-disk Oxigraph store, or a
remote SPARQL endpoint, plus any extra RDF files. A graph that fails SHACL validation is never published."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from policygraph.build.current import current_build, on_disk_store
from policygraph.records.limits import check_rdf_file
from policygraph.store.loading import files_id


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
