"""Open the store a service runs on: the validated build in memory, an on-disk Oxigraph store, or a
remote SPARQL endpoint, plus any extra RDF files. A graph that fails SHACL validation is never published."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from policygraph.build.current import current_build, on_disk_store
from policygraph.records.limits import check_rdf_file
from policygraph.store.embedded import TIDY_OVER, EmbeddedEngine, StoreSource, WorkerLimits
from policygraph.store.engines import Engine, EngineUnavailable, QueryError, QueryTimeout
from policygraph.store.loading import files_id
from policygraph.store.remote import RemoteEngine


class ServeError(RuntimeError):
    """The service cannot start (invalid graph, unreachable store …); the message says why."""


@dataclass(frozen=True)
class StoreSpec:
    """What to serve: ``store`` None (the build, in memory), a path (an on-disk store holding the
    build) or an http(s) URL (a remote endpoint); ``extra`` RDF files alongside the build, or alone
    with ``only_extra``."""
    store: str | None = None
    extra: tuple[Path, ...] = ()
    only_extra: bool = False


@dataclass(frozen=True)
class PoolOptions:
    """The embedded engine's worker pool (see EmbeddedEngine)."""
    workers: int = 2
    spares: int = 0
    limits: WorkerLimits = field(default_factory=WorkerLimits)
    client_share: int | None = None
    extra: int | None = None
    lookups: bool = False  # lookups in process (store/lookups.py): for a service, not a one-off query

    def engine(self, source: StoreSource) -> EmbeddedEngine:
        return EmbeddedEngine(source, self.workers, self.spares, limits=self.limits, client_share=self.client_share,
                              extra=self.extra, tidy_over=TIDY_OVER, lookups=self.lookups)


def remote_engine(endpoint: str, build: dict, log: Callable[[str], None]) -> tuple[Engine, str, str]:
    """The engine for a remote store that holds the build's graphs (checked here, at start)."""
    engine = RemoteEngine(endpoint, tuple(sorted(build["graphs"])))
    try:
        held = engine.held()
    except (EngineUnavailable, QueryError, QueryTimeout) as e:
        raise ServeError(f"the remote store {endpoint} did not answer: {e}") from None
    if not held:
        raise ServeError(f"the remote store {endpoint} holds none of the build's {len(engine.graphs)} graphs; load "
                         "them with `policygraph load --to <its Graph Store endpoint>`")
    if missing := sorted(set(engine.graphs) - set(held)):
        log(f"warning: the remote store lacks {len(missing)} of the build's graphs: {', '.join(missing)}")
    return engine, f"remote-{build['inputs_hash']}", f"remote SPARQL endpoint {endpoint}"


def make_engine(spec: StoreSpec, root: Path, out: Path, pool: PoolOptions,
                log: Callable[[str], None] = print) -> tuple[Engine, str, str]:
    """(engine, build id, description) for what ``spec`` names; the build is the validated one in
    ``out``, rebuilt from ``root`` when its inputs changed."""
    extra = spec.extra
    for f in extra:
        if not f.is_file():
            raise ServeError(f"--graph {f}: no such file")
        check_rdf_file(f)  # here, before a worker process parses it (a file over a limit could crash it)
    if spec.store and spec.store.startswith(("http://", "https://")):
        if extra:
            raise ServeError("--graph needs the embedded store (load extra files into the remote store yourself)")
        return remote_engine(spec.store, current_build(root, out, log), log)
    if spec.only_extra:
        if not extra:
            raise ServeError("--only-graphs needs at least one --graph FILE")
        log(f"serving only {len(extra)} file(s); they are not validated (run `policygraph validate FILE` first)")
        engine = pool.engine(StoreSource(None, extra=extra))
        return engine, files_id(list(extra)), "embedded Oxigraph (extra graphs only)"
    build_id = current_build(root, out, log)["inputs_hash"]
    nquads = out / "policygraph.nq"
    if spec.store:
        path = on_disk_store(Path(spec.store), nquads, build_id, log)
        return pool.engine(StoreSource(path, on_disk=True)), build_id, f"embedded Oxigraph on disk ({path})"
    if extra:
        log(f"adding {len(extra)} extra file(s), not validated (run `policygraph validate FILE` first)")
        build_id = f"{build_id}-{files_id(list(extra))}"
    return pool.engine(StoreSource(nquads, extra=extra)), build_id, "embedded Oxigraph (in memory)"
