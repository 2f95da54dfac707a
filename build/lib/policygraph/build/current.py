"""The build a service publishes: the validated one in ``dist/`` while its inputs are unchanged, else a
new one (built, validated, written); and an on-disk Oxigraph store holding it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from policygraph.build.dataset import build_dataset, input_files, inputs_hash
from policygraph.build.dumps import write_dumps
from policygraph.quality.validate import build_data, load_shapes, render_text, validate_data


class InvalidGraph(RuntimeError):
    """The graph fails SHACL validation: it is never published."""


def current_build(root: Path, out: Path, log: Callable[[str], None] = print) -> dict:
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
        raise InvalidGraph("the graph fails SHACL validation and will not be published:\n" + render_text(report))
    write_dumps(build, out, validated=True)
    return json.loads(info_path.read_text())


def on_disk_store(path: Path, nquads: Path, build_id: str, log: Callable[[str], None] = print) -> Path:
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
