"""Dumps: every serialisation of a build, written to a temporary directory beside the target and
swapped in only when every file is complete, so a failed build never leaves a half-written dist/."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

from policygraph import __version__
from policygraph.build.dataset import Build
from policygraph.transform.graphs import union_graph

# Dump file → (rdflib format, media type). N-Triples and Turtle hold the union of all graphs.
DUMPS = {
    "policygraph.trig": ("trig", "application/trig"),
    "policygraph.nq": ("nquads", "application/n-quads"),
    "policygraph.nt": ("nt", "application/n-triples"),
    "policygraph.ttl": ("turtle", "text/turtle"),
    "policygraph.jsonld": ("json-ld", "application/ld+json"),
}


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
