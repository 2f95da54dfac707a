"""The ``policygraph`` command: build, validate, serve, load, import."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from policygraph.build.dataset import build_dataset, project_root, write_dumps
from policygraph.quality.cross_checks import CrossCheckError
from policygraph.quality.inference import InconsistencyError
from policygraph.records.limits import InputFileError
from policygraph.records.loader import RecordError
from policygraph.build.progress import Stages
from policygraph.quality.validate import (ENGINES, InputError, UnsupportedShape, build_data, load_shapes, read_data, render_json,
                       render_text, render_turtle, validate_data)

RENDER = {"text": render_text, "json": render_json, "turtle": render_turtle}


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root) if args.root else project_root()


def _build_or_report(args: argparse.Namespace, stages: Stages | None = None):
    """Build the dataset; on bad input print why and return an exit code instead."""
    try:
        return build_dataset(_root(args), extra_sheets=[Path(p) for p in args.sheet], stages=stages)
    except RecordError as e:
        print(f"error: bad input:\n{e}", file=sys.stderr)
        return 2
    except (CrossCheckError, InconsistencyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    stages = Stages(enabled=not args.quiet)  # each step and its time, on stderr
    build = _build_or_report(args, stages)
    if isinstance(build, int):
        return build
    if not args.no_validate:
        try:
            report = validate_data(build_data(build, args.engine), load_shapes(_root(args)))
        except UnsupportedShape as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        stages.done(f"SHACL validation ({args.engine}): {len(report.results)} result(s)")
        if not report.conforms:
            print(render_text(report), file=sys.stderr)
            print("error: the graph fails validation; no dumps written (use --no-validate to write them anyway)",
                  file=sys.stderr)
            return 1
    out = Path(args.out) if args.out else _root(args) / "dist"
    sizes = write_dumps(build, out, validated=not args.no_validate)
    stages.done(f"dumps: {len(sizes)} files")
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
            data = read_data([Path(f) for f in args.files] + sorted((root / "ontology").glob("*.ttl")), args.engine)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    else:
        build = _build_or_report(args)
        if isinstance(build, int):
            return build
        data = build_data(build, args.engine)
    start = time.perf_counter()
    try:
        report = validate_data(data, load_shapes(root))
    except UnsupportedShape as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(RENDER[args.format](report))
    if args.format == "text":
        print(f"({len(data):,} triples validated in {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0 if report.conforms else 1


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from policygraph.web.app import Settings, create_app
    from policygraph.web.http_limits import deadline_protocol
    from policygraph.web.logs import configure as configure_logs
    from policygraph.store.engines import WorkerLimits
    from policygraph.store.named_queries import QueryFileError, load_queries
    from policygraph.build.current import InvalidGraph
    from policygraph.store.opening import ServeError, env, fail, make_engine

    root = _root(args)

    def setting(given, name: str, default, cast=str):  # an option given as 0 is 0, not the default
        return given if given is not None else env(name, default, cast)

    try:
        store = args.store or env("STORE")
        workers = setting(args.workers, "WORKERS", 2, int)
        spares = setting(args.spare_workers, "SPARE_WORKERS", 0, int)
        settings = Settings(
            query_timeout=setting(args.query_timeout, "QUERY_TIMEOUT", 10.0, float),
            min_query_timeout=setting(args.min_query_timeout, "MIN_QUERY_TIMEOUT", 1.0, float),
            queue_timeout=setting(args.queue_timeout, "QUEUE_TIMEOUT", 10.0, float),
            max_rows=setting(args.max_rows, "MAX_ROWS", 10_000, int),
            header_timeout=env("HEADER_TIMEOUT", 10.0, float), body_timeout=env("BODY_TIMEOUT", 30.0, float),
            service_allow=tuple(args.allow_service or [p for p in (env("SERVICE_ALLOW", "") or "").split(",") if p]),
        )
        host = setting(args.host, "HOST", "127.0.0.1")
        port = setting(args.port, "PORT", 8000, int)
        memory = setting(args.memory_limit, "MEMORY_LIMIT", 1024, int)
        share = setting(args.client_share, "CLIENT_SHARE", None, int)
        if workers < 1 or spares < 0 or memory < 64 or (share is not None and share < 0):
            raise ValueError("--workers must be at least 1, --spare-workers at least 0, --memory-limit at least "
                             "64 (MiB) and --client-share at least 0")
        queries = load_queries(root / "queries")  # a broken query file stops the start, naming the file
        configure_logs(env("LOG_LEVEL", "info"))
        engine, settings.build_id, settings.store_description = make_engine(
            store, root, root / "dist", workers, extra=tuple(Path(g) for g in args.graph), only_extra=args.only_graphs,
            spares=spares, limits=WorkerLimits(memory << 20, network=bool(settings.service_allow)),
            client_share=share if share != 0 else workers)
    except QueryFileError as e:
        return fail(str(e))
    except (ServeError, InvalidGraph) as e:
        return fail(str(e))
    except RecordError as e:
        print(f"error: bad input:\n{e}", file=sys.stderr)
        return 2
    except (CrossCheckError, InconsistencyError) as e:
        return fail(str(e))
    except ValueError as e:  # a setting out of range, named by Settings or above; a --graph file over a limit
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"serving {settings.store_description} at http://{host}:{port}/sparql "
          f"(timeout {settings.query_timeout:g} s, at most {settings.max_rows:,} rows)")
    try:
        dist = None if (store or "").startswith(("http://", "https://")) or args.only_graphs else root / "dist"
        uvicorn.run(create_app(engine, settings, queries, dist), host=host, port=port, log_level=env("LOG_LEVEL", "info"),
                    access_log=False,  # logs.RequestLog writes one structured line per request
                    http=deadline_protocol(settings.header_timeout, settings.body_timeout))
    finally:
        engine.close()
    return 0


def _load(args: argparse.Namespace) -> int:
    from policygraph.build.current import InvalidGraph, current_build
    from policygraph.store.loading import LoadError, load_remote
    from policygraph.store.opening import ServeError, fail

    root = _root(args)
    files = [Path(g) for g in args.graph]
    try:
        for f in files:
            if not f.is_file():
                raise ServeError(f"--graph {f}: no such file")
        if not args.only_graphs:
            current_build(root, root / "dist")
            files.insert(0, root / "dist" / "policygraph.nq")
        report = load_remote(files, args.to)
    except (ServeError, InvalidGraph, LoadError) as e:
        return fail(str(e))
    except InputFileError as e:  # a file over a limit (input_limits.py): unreadable input
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RecordError as e:
        print(f"error: bad input:\n{e}", file=sys.stderr)
        return 2
    print(f"loaded {report.triples:,} triples in {report.graphs} graphs into {args.to}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from policygraph.records.importer import ImportProblem, import_figures

    try:
        out, figures, programs = import_figures(Path(args.file), _root(args), args.key, args.title, args.title_en,
                                                out=Path(args.out) if args.out else None, force=args.force)
    except ImportProblem as e:
        print(f"error: bad input (nothing written):\n{e}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {figures} figures, {programs} programs")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policygraph", description="Knowledge graph of Japanese SME policy.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--root", help="project directory holding data/, ontology/, shapes/ (default: this checkout)")
        p.add_argument("--sheet", action="append", default=[], metavar="YAML",
                       help="add a prefectural sheet file from outside data/ (repeatable)")
        p.add_argument("--engine", choices=ENGINES, default="oxigraph",
                       help="SHACL engine: oxigraph (default; one SPARQL query per constraint, fast on big graphs) "
                            "or pyshacl")

    b = sub.add_parser("build", help="build the dataset from data/ and ontology/, validate it, write the dumps")
    b.add_argument("--out", help="output directory (default: dist/ in the project)")
    b.add_argument("--no-validate", action="store_true", help="write the dumps even if SHACL validation fails")
    b.add_argument("--quiet", action="store_true", help="do not print each step's time on stderr")
    common(b)
    b.set_defaults(func=_build)

    v = sub.add_parser("validate", help="validate RDF files (or, with none, the freshly built dataset) with SHACL",
                       description="Exit status: 0 valid, 1 violations, 2 unreadable input or usage error.")
    v.add_argument("files", nargs="*", help="RDF files (.trig .nq .nt .ttl .jsonld .rdf); validated with the ontology")
    v.add_argument("--format", choices=sorted(RENDER), default="text", help="report format (default: text)")
    common(v)
    v.set_defaults(func=_validate)

    s = sub.add_parser("serve", help="serve the graph: SPARQL endpoint (and, later, the API and Linked Data pages)",
                       description="Options override the environment variables POLICYGRAPH_STORE, _HOST, _PORT, "
                                   "_WORKERS, _SPARE_WORKERS, _QUERY_TIMEOUT, _MIN_QUERY_TIMEOUT, _QUEUE_TIMEOUT, _MAX_ROWS, _MEMORY_LIMIT, _CLIENT_SHARE, "
                                   "_SERVICE_ALLOW (comma-separated), _HEADER_TIMEOUT, _BODY_TIMEOUT, _LOG_LEVEL.")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 8000)")
    s.add_argument("--store", help="where queries run: omitted = embedded Oxigraph in memory; a directory = an "
                                   "on-disk Oxigraph store; http(s)://… = a remote SPARQL 1.1 query endpoint")
    s.add_argument("--workers", type=int, help="query worker processes for the embedded store (default 2)")
    s.add_argument("--spare-workers", type=int,
                   help="loaded, idle workers that take a killed worker's place at once (default 0; each holds the store)")
    s.add_argument("--query-timeout", type=float, help="seconds a query may run (default 10)")
    s.add_argument("--min-query-timeout", type=float,
                   help="a request's ?timeout below this is raised to it (default 1 s): tiny limits cannot drain the pool")
    s.add_argument("--memory-limit", type=int, metavar="MIB",
                   help="memory one query may add to its worker before it is stopped (default 1024 MiB)")
    s.add_argument("--client-share", type=int, metavar="N",
                   help="query workers one client address may hold at once, counting reloads after its stopped "
                        "queries (default: all but one; 0 = no limit)")
    s.add_argument("--queue-timeout", type=float,
                   help="seconds a request may wait for a free query worker before a 503 (default 10)")
    s.add_argument("--max-rows", type=int, help="rows or triples in one answer (default 10000)")
    s.add_argument("--allow-service", action="append", metavar="PREFIX",
                   help="endpoint IRI prefix that SERVICE may call (repeatable; default: none)")
    s.add_argument("--graph", action="append", default=[], metavar="FILE",
                   help="serve this RDF file too (any syntax; repeatable); triples go to graph/extra/<name>")
    s.add_argument("--only-graphs", action="store_true", help="serve only the --graph files, not the built dataset")
    s.add_argument("--root", help="project directory (default: this checkout)")
    s.set_defaults(func=_serve)

    ld = sub.add_parser("load", help="push the built dataset, graph by graph, to a SPARQL Graph Store endpoint")
    ld.add_argument("--to", required=True, metavar="URL", help="Graph Store Protocol endpoint, e.g. http://127.0.0.1:7878/store")
    ld.add_argument("--graph", action="append", default=[], metavar="FILE",
                    help="push this RDF file too (any syntax; repeatable); triples go to graph/extra/<name>")
    ld.add_argument("--only-graphs", action="store_true", help="push only the --graph files, not the built dataset")
    ld.add_argument("--root", help="project directory (default: this checkout)")
    ld.set_defaults(func=_load)

    im = sub.add_parser("import", help="turn a spreadsheet of budget figures (.csv or .xlsx) into data/figures/*.yaml",
                        description="One row per amount as printed. Columns (header row 1, any order): prefecture, "
                                    "program, program_en, program_key, fiscal_year, stage, component (optional), "
                                    "amount, unit, label, source_url, source_title, accessed, note (optional); see "
                                    "data/templates/figures.csv. CSV must be UTF-8 (a BOM is fine). For .xlsx only "
                                    "the first sheet is read, and a workbook whose other sheets hold data is "
                                    "refused. At most 5 MB and 20,000 rows. Exit status: 0 written, 2 bad input "
                                    "(every problem listed as FILE:ROW:COLUMN: message; nothing written).")
    im.add_argument("file", metavar="FILE", help="the spreadsheet: FILE.csv or FILE.xlsx")
    im.add_argument("--key", required=True, help="the source's key: lowercase ASCII, digits and - (e.g. tottori-pages)")
    im.add_argument("--title", required=True, help="the source's title in Japanese")
    im.add_argument("--title-en", required=True, help="the source's title in English")
    im.add_argument("--out", help="file to write (default: data/figures/<JIS code>-<KEY>.yaml in the project)")
    im.add_argument("--force", action="store_true", help="replace the output file if it exists")
    im.add_argument("--root", help="project directory (default: this checkout)")
    im.set_defaults(func=_import)

    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on a usage error, as documented
        return int(e.code or 0)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
