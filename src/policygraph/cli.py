"""The ``policygraph`` command: build, validate."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .build import build_dataset, project_root, union_graph, write_dumps
from .checks import CrossCheckError
from .inference import InconsistencyError
from .loader import RecordError
from .validate import InputError, load_shapes, read_rdf, render_json, render_text, render_turtle, validate_graph

RENDER = {"text": render_text, "json": render_json, "turtle": render_turtle}


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root) if args.root else project_root()


def _build_or_report(args: argparse.Namespace):
    """Build the dataset; on bad input print why and return an exit code instead."""
    try:
        return build_dataset(_root(args), extra_sheets=[Path(p) for p in args.sheet])
    except RecordError as e:
        print(f"error: bad input:\n{e}", file=sys.stderr)
        return 2
    except (CrossCheckError, InconsistencyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    build = _build_or_report(args)
    if isinstance(build, int):
        return build
    if not args.no_validate:
        report = validate_graph(union_graph(build.dataset, with_shapes=False), load_shapes(_root(args)))
        if not report.conforms:
            print(render_text(report), file=sys.stderr)
            print("error: the graph fails validation; no dumps written (use --no-validate to write them anyway)",
                  file=sys.stderr)
            return 1
    out = Path(args.out) if args.out else _root(args) / "dist"
    sizes = write_dumps(build, out)
    print(f"built {sum(build.counts.values()):,} triples in {len(build.counts)} graphs "
          f"({'not validated' if args.no_validate else 'valid'}; {time.perf_counter() - start:.1f} s)")
    for graph, n in sorted(build.counts.items()):
        print(f"  {n:>7,}  {graph}")
    for name, size in sizes.items():
        print(f"  wrote {out / name} ({size:,} bytes)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    root = _root(args)
    if args.files:
        try:
            data = read_rdf([Path(f) for f in args.files])
            data += read_rdf(sorted((root / "ontology").glob("*.ttl")))
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    else:
        build = _build_or_report(args)
        if isinstance(build, int):
            return build
        data = union_graph(build.dataset, with_shapes=False)
    start = time.perf_counter()
    report = validate_graph(data, load_shapes(root))
    print(RENDER[args.format](report))
    if args.format == "text":
        print(f"({len(data):,} triples validated in {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0 if report.conforms else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policygraph", description="Knowledge graph of Japanese SME policy.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--root", help="project directory holding data/, ontology/, shapes/ (default: this checkout)")
        p.add_argument("--sheet", action="append", default=[], metavar="YAML",
                       help="add a prefectural sheet file from outside data/ (repeatable)")

    b = sub.add_parser("build", help="build the dataset from data/ and ontology/, validate it, write the dumps")
    b.add_argument("--out", help="output directory (default: dist/ in the project)")
    b.add_argument("--no-validate", action="store_true", help="write the dumps even if SHACL validation fails")
    common(b)
    b.set_defaults(func=_build)

    v = sub.add_parser("validate", help="validate RDF files (or, with none, the freshly built dataset) with SHACL",
                       description="Exit status: 0 valid, 1 violations, 2 unreadable input or usage error.")
    v.add_argument("files", nargs="*", help="RDF files (.trig .nq .nt .ttl .jsonld .rdf); validated with the ontology")
    v.add_argument("--format", choices=sorted(RENDER), default="text", help="report format (default: text)")
    common(v)
    v.set_defaults(func=_validate)

    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on a usage error, as documented
        return int(e.code or 0)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
