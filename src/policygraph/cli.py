"""The ``policygraph`` command."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .build import build_dataset, project_root, write_dumps
from .checks import CrossCheckError
from .inference import InconsistencyError
from .loader import RecordError


def _build(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else project_root()
    start = time.perf_counter()
    try:
        build = build_dataset(root, extra_sheets=[Path(p) for p in args.sheet])
    except RecordError as e:
        print(f"error: bad input:\n{e}", file=sys.stderr)
        return 2
    except (CrossCheckError, InconsistencyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else root / "dist"
    sizes = write_dumps(build, out)
    total = sum(build.counts.values())
    print(f"built {total:,} triples in {len(build.counts)} graphs ({time.perf_counter() - start:.1f} s)")
    for graph, n in sorted(build.counts.items()):
        print(f"  {n:>7,}  {graph}")
    for name, size in sizes.items():
        print(f"  wrote {out / name} ({size:,} bytes)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policygraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the RDF dataset from data/ and ontology/ and write the dumps")
    b.add_argument("--out", help="output directory (default: dist/ in the project)")
    b.add_argument("--root", help="project directory holding data/ and ontology/ (default: this checkout)")
    b.add_argument("--sheet", action="append", default=[], metavar="YAML",
                   help="add a prefectural sheet file from outside data/ (repeatable)")
    b.set_defaults(func=_build)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
