"""The ``policygraph`` command: build, validate, serve, query, load, import.

Thin on purpose: each command reads its options (the service's from config.py), calls the package and
prints the outcome. Exit status: 0 ok, 1 an invalid graph or a failure, 2 bad input or a usage error.
"""

from __future__ import annotations

import functools
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

import click
from pydantic.fields import FieldInfo

from policygraph.build.current import InvalidGraph
from policygraph.build.dataset import Build, ExtraInputs, build_dataset, output_dir
from policygraph.build.dumps import write_dumps
from policygraph.build.progress import Stages
from policygraph.config import ROOT_HELP, ConfigError, ServeConfig, cli_details, env_names, option_name, project_dir
from policygraph.quality.cross_checks import CrossCheckError
from policygraph.quality.inference import InconsistencyError
from policygraph.quality.validate import (
    ENGINES,
    InputError,
    UnsupportedShape,
    build_data,
    load_shapes,
    read_data,
    render_json,
    render_text,
    render_turtle,
    validate_data,
)
from policygraph.records.importer import ImportProblem, NewSource, import_figures
from policygraph.records.limits import InputFileError
from policygraph.records.loader import RecordError
from policygraph.store.loading import LoadError
from policygraph.store.named_queries import QueryFileError
from policygraph.store.opening import ServeError

RENDER = {"text": render_text, "json": render_json, "turtle": render_turtle}

# What an error means for the exit status, and how its message starts; the first match wins.
FAILURES: list[tuple[tuple[type[Exception], ...], int, str]] = [
    ((ImportProblem,), 2, "bad input (nothing written):\n"),
    ((RecordError,), 2, "bad input:\n"),
    ((CrossCheckError, InconsistencyError, InvalidGraph, ServeError, LoadError, QueryFileError), 1, ""),
    ((ConfigError, InputError, InputFileError, UnsupportedShape), 2, ""),
]


def reported(*more: tuple[tuple[type[Exception], ...], int, str]) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Turn the errors in FAILURES (and ``more``) into ``error: …`` on stderr and their exit status."""
    def wrap(command: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> int:
            try:
                return command(*args, **kwargs)
            except Exception as e:
                for kinds, status, prefix in (*FAILURES, *more):
                    if isinstance(e, kinds):
                        print(f"error: {prefix}{e}", file=sys.stderr)
                        return status
                raise
        return run
    return wrap


def config_option(flag: str, name: str, info: FieldInfo) -> Callable[[Callable[..., Any]], Any]:
    """A click option for a setting of config.py: its flag, type, help text and default come from there.
    The option's default is None (not given), so the environment and then the setting's default apply."""
    extra = cli_details(info)
    shown = extra.get("shown") or (f"{info.default:g}" if isinstance(info.default, float) else info.default)
    many = get_origin(info.annotation) is tuple
    kinds = {info.annotation, *get_args(info.annotation)}  # int | None: int
    if bool in kinds:  # --name/--no-name
        return click.option(f"{flag}/--no-{flag.removeprefix('--')}", name, default=None,
                            help=f"{info.description} (default: {'on' if info.default else 'off'})")
    kind = int if int in kinds else float if float in kinds else str
    return click.option(flag, name, type=kind, multiple=many, default=None, metavar=extra.get("metavar"),
                        help=f"{info.description} (default: {shown})")


root_option = click.option("--root", help=ROOT_HELP)


def sources_options(command: Callable[..., Any]) -> Any:
    """--root, --sheet and --engine: what build and validate read, and which SHACL engine checks it."""
    for decorate in (
        root_option,
        click.option("--sheet", multiple=True, metavar="YAML",
                     help="add a prefectural sheet file from outside data/ (repeatable)"),
        click.option("--engine", type=click.Choice(ENGINES), default="oxigraph",
                     help="SHACL engine: oxigraph (default; one SPARQL query per constraint, fast on big graphs) "
                          "or pyshacl"),
    ):
        command = decorate(command)
    return command


def graph_options(verb: str) -> Callable[[Callable[..., Any]], Any]:
    def decorate(command: Callable[..., Any]) -> Any:
        command = click.option("--only-graphs", is_flag=True,
                               help=f"{verb} only the --graph files, not the built dataset")(command)
        return click.option("--graph", multiple=True, metavar="FILE",
                            help=f"{verb} this RDF file too (any syntax; repeatable); triples go to "
                                 "graph/extra/<name>")(command)
    return decorate


def queries_options(command: Callable[..., Any]) -> Any:
    """--queries DIR (repeatable) and --only-queries: the folders of named queries served."""
    command = click.option("--only-queries", is_flag=True,
                           help="serve only the --queries folders, not the project's queries/")(command)
    return click.option("--queries", "query_dirs", multiple=True, metavar="DIR",
                        help="a folder of named queries (.rq/.sparql with grlc #+ decorators) to serve beside the "
                             "project's queries/ (repeatable; two queries of one name are refused)")(command)


def named_queries(project: Path, query_dirs: tuple[str, ...], only_queries: bool) -> dict[str, Any]:
    """The named queries served: the project's queries/ (unless ``only_queries``) and ``query_dirs``."""
    from policygraph.store.named_queries import load_queries  # noqa: PLC0415
    if only_queries and not query_dirs:
        raise click.UsageError("--only-queries needs --queries DIR")
    for d in query_dirs:
        if not Path(d).is_dir():
            raise click.UsageError(f"--queries {d}: no such folder")
    return load_queries(*(() if only_queries else (project / "queries",)), *(Path(d) for d in query_dirs))


@click.group(help="Knowledge graph of Japanese SME policy.")
def cli() -> None:
    pass


def _build_sources(root: str | None, sheet: tuple[str, ...], stages: Stages | None = None) -> tuple[Path, Build]:
    project = project_dir(root)
    return project, build_dataset(project, ExtraInputs(sheets=tuple(Path(p) for p in sheet)), stages=stages)


@cli.command(help="build the dataset from data/ and ontology/, validate it, write the dumps")
@click.option("--out", help="output directory (default: dist/ in the project)")
@click.option("--no-validate", is_flag=True, help="write the dumps even if SHACL validation fails")
@click.option("--quiet", is_flag=True, help="do not print each step's time on stderr")
@sources_options
@reported()
def build(out: str | None, no_validate: bool, quiet: bool,  # noqa: PLR0913, PLR0917 - one per option
          root: str | None, sheet: tuple[str, ...], engine: str) -> int:
    start = time.perf_counter()
    stages = Stages(enabled=not quiet)  # each step and its time, on stderr
    project, built = _build_sources(root, sheet, stages)
    if not no_validate:
        report = validate_data(build_data(built, engine), load_shapes(project))
        stages.done(f"SHACL validation ({engine}): {len(report.results)} result(s)")
        if not report.conforms:
            print(render_text(report), file=sys.stderr)
            print("error: the graph fails validation; no dumps written (use --no-validate to write them anyway)",
                  file=sys.stderr)
            return 1
    folder = Path(out) if out else output_dir(project)
    sizes = write_dumps(built, folder, validated=not no_validate)
    stages.done(f"dumps: {len(sizes)} files")
    print(f"built {sum(built.counts.values()):,} triples in {len(built.counts)} graphs "
          f"({'not validated' if no_validate else 'valid'}; {time.perf_counter() - start:.1f} s)")
    for graph, n in sorted(built.counts.items()):
        print(f"  {n:>7,}  {graph}")
    for name, size in sizes.items():
        print(f"  wrote {folder / name} ({size:,} bytes)")
    return 0


@cli.command(help="validate RDF files (or, with none, the freshly built dataset) with SHACL",
             epilog="FILES: RDF files (.trig .nq .nt .ttl .jsonld .rdf), validated with the ontology. "
                    "Exit status: 0 valid, 1 violations, 2 unreadable input or usage error.")
@click.argument("files", nargs=-1)
@click.option("--format", "form", type=click.Choice(sorted(RENDER)), default="text",
              help="report format (default: text)")
@sources_options
@reported()
def validate(files: tuple[str, ...], form: str, root: str | None, sheet: tuple[str, ...], engine: str) -> int:
    if files:
        project = project_dir(root)
        data = read_data([Path(f) for f in files] + sorted((project / "ontology").glob("*.ttl")), engine)
    else:
        project, built = _build_sources(root, sheet)
        data = build_data(built, engine)
    start = time.perf_counter()
    report = validate_data(data, load_shapes(project))
    print(RENDER[form](report))
    if form == "text":
        print(f"({len(data):,} triples validated in {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0 if report.conforms else 1


def _serve_options(command: Callable[..., Any]) -> Any:
    """Every setting of ServeConfig that has a flag, in the order config.py declares them."""
    for name, info in reversed(ServeConfig.model_fields.items()):
        if flag := option_name(name, info):
            command = config_option(flag, name, info)(command)
    return command


@cli.command(help="serve the graph: SPARQL endpoint, named queries, Linked Data pages",
             epilog=f"Options override the environment variables {', '.join(env_names())}.")
@_serve_options
@graph_options("serve")
@queries_options
@root_option
@reported(((ValueError,), 2, ""))  # a setting the web layer or the worker pool refuses
def serve(graph: tuple[str, ...], only_graphs: bool, query_dirs: tuple[str, ...], only_queries: bool,
          root: str | None, **given: Any) -> int:
    import uvicorn  # noqa: PLC0415 - the server and the pool only when serving

    from policygraph.store.opening import PoolOptions, StoreSpec, make_engine  # noqa: PLC0415
    from policygraph.web.app import create_app  # noqa: PLC0415
    from policygraph.web.http_limits import deadline_protocol  # noqa: PLC0415
    from policygraph.web.logs import configure as configure_logs  # noqa: PLC0415

    config = ServeConfig.load(**given)
    project, settings = project_dir(root), config.web_settings()
    queries = named_queries(project, query_dirs, only_queries)  # a broken file stops the start, naming it
    configure_logs(config.log_level)
    engine, settings.build_id, settings.store_description = make_engine(
        StoreSpec(config.store, tuple(Path(g) for g in graph), only_graphs), project, output_dir(project),
        PoolOptions(config.workers, config.spare_workers, config.worker_limits(), config.client_share_limit(),
                    config.extra_workers, config.lookups))
    print(f"serving {settings.store_description} at http://{config.host}:{config.port}/sparql "
          f"(timeout {settings.query_timeout:g} s, at most {settings.max_rows:,} rows)")
    # uvicorn raises the stop signal again after its graceful shutdown; SIGTERM's default action would
    # end the process there, before the engine is closed (the store process, the lookups' copy on disk)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        dist = None if config.remote or only_graphs else output_dir(project)
        uvicorn.run(create_app(engine, settings, queries, dist), host=config.host, port=config.port,
                    log_level=config.log_level.lower(),
                    access_log=False,  # logs.RequestLog writes one structured line per request
                    http=deadline_protocol(settings.header_timeout, settings.body_timeout))
    finally:
        engine.close()
    return 0


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # the shell's status for a process a signal ended


SOLUTIONS, GRAPHS = ("table", "json", "xml", "csv", "tsv"), ("turtle", "ntriples", "jsonld", "rdfxml")


def _query_text(text: str | None, file: str | None, name: str | None, params: tuple[str, ...],
                queries: Callable[[], dict[str, Any]]) -> str:
    """The SPARQL to run: the argument (``-``: standard input), a file, or a named query of ``queries``
    bound to its parameters; exactly one of them."""
    given = [x for x in (text, file, name) if x is not None]
    if len(given) != 1:
        raise click.UsageError("give one query: QUERY (or - for standard input), --file FILE or --name NAME")
    if params and name is None:
        raise click.UsageError("--param goes with --name")
    if text == "-":
        return sys.stdin.read()
    if file is not None:
        try:
            return Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.UsageError(f"--file {file}: {e}") from None
    if name is None:
        return text or ""
    served = queries()
    if name not in served:
        raise click.UsageError(f"--name {name}: no such named query; there are {', '.join(sorted(served))}")
    values = dict(p.split("=", 1) for p in params if "=" in p)
    if len(values) != len(params):
        raise click.UsageError("--param takes NAME=VALUE")
    return served[name].bind(values)


@cli.command(help="run a SPARQL query, or a named query, and print the answer",
             epilog="The query is checked and run as the service runs it (read-only, no SERVICE, the time and "
                    "row limits). Output: a table (default; CONSTRUCT and DESCRIBE print Turtle) or the format "
                    "given. Exit status: 0 answered, 1 stopped (time or memory limit) or the store failed, 2 a bad "
                    "query, parameter or option.")
@click.argument("text", required=False, metavar="QUERY")
@click.option("--file", "file_", metavar="FILE", help="read the query from FILE")
@click.option("--name", metavar="NAME", help="run the named query NAME (queries/NAME.rq)")
@click.option("--param", multiple=True, metavar="NAME=VALUE", help="a named query's parameter (repeatable)")
@click.option("--format", "form", type=click.Choice(SOLUTIONS + GRAPHS), default="table", help="output format")
@click.option("--store", metavar="SPEC", help="a directory (on-disk Oxigraph store) or http(s):// endpoint; "
                                               "default: the built dataset in memory")
@click.option("--timeout", type=float, default=ServeConfig.model_fields["query_timeout"].default,
              help="seconds the query may run (default: the service's)")
@click.option("--max-rows", type=int, default=ServeConfig.model_fields["max_rows"].default,
              help="rows or triples printed at most (default: the service's)")
@graph_options("query")
@queries_options
@root_option
@reported(((click.UsageError,), 2, ""))
def query(text: str | None, file_: str | None, name: str | None, param: tuple[str, ...],  # noqa: PLR0913, PLR0917
          form: str, store: str | None, timeout: float, max_rows: int, graph: tuple[str, ...], only_graphs: bool,
          query_dirs: tuple[str, ...], only_queries: bool, root: str | None) -> int:
    import asyncio  # noqa: PLC0415

    from policygraph.store.engines import (  # noqa: PLC0415
        EngineUnavailable,
        Job,
        QueryError,
        QueryMemoryLimit,
        QueryTimeout,
    )
    from policygraph.store.named_queries import ParameterError  # noqa: PLC0415
    from policygraph.store.opening import PoolOptions, StoreSpec, make_engine  # noqa: PLC0415
    from policygraph.store.query_check import Limits, Refused, check  # noqa: PLC0415

    project = project_dir(root)
    try:
        sparql = _query_text(text, file_, name, param, lambda: named_queries(project, query_dirs, only_queries))
        info = check(sparql, Limits())
    except (Refused, ParameterError) as e:
        raise click.UsageError(str(e)) from None
    graph_form = info.form in ("CONSTRUCT", "DESCRIBE")
    if form == "table" and graph_form:
        form = "turtle"
    if (form in GRAPHS) != graph_form:
        raise click.UsageError(f"--format {form} does not fit a {info.form} query; use one of "
                               + ", ".join(GRAPHS if graph_form else SOLUTIONS))
    engine, _, _ = make_engine(StoreSpec(store, tuple(Path(g) for g in graph), only_graphs), project,
                               output_dir(project), PoolOptions(workers=1),
                               log=lambda line: print(line, file=sys.stderr))
    try:
        result = asyncio.run(engine.arun(Job(sparql, form, max_rows=max_rows), timeout))
    except QueryError as e:
        raise click.UsageError(str(e)) from None
    except (QueryTimeout, QueryMemoryLimit, EngineUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    sys.stdout.buffer.write(result.body)
    sys.stdout.flush()
    if result.truncated and form != "table":
        print(f"warning: the answer was cut at {max_rows:,} rows (--max-rows)", file=sys.stderr)
    return 0


@cli.command(help="push the built dataset, graph by graph, to a SPARQL Graph Store endpoint")
@click.option("--to", required=True, metavar="URL",
              help="Graph Store Protocol endpoint, e.g. http://127.0.0.1:7878/store")
@graph_options("push")
@root_option
@reported()
def load(to: str, graph: tuple[str, ...], only_graphs: bool, root: str | None) -> int:
    from policygraph.build.current import current_build  # noqa: PLC0415
    from policygraph.store.loading import load_remote  # noqa: PLC0415

    project = project_dir(root)
    files = [Path(g) for g in graph]
    for f in files:
        if not f.is_file():
            raise ServeError(f"--graph {f}: no such file")
    if not only_graphs:
        current_build(project, output_dir(project))
        files.insert(0, output_dir(project) / "policygraph.nq")
    report = load_remote(files, to)
    print(f"loaded {report.triples:,} triples in {report.graphs} graphs into {to}")
    return 0


@cli.command("import", help="turn a spreadsheet of budget figures (.csv or .xlsx) into data/figures/*.yaml",
             epilog="FILE: the spreadsheet, FILE.csv or FILE.xlsx. One row per amount as printed. Columns "
                    "(header row 1, any order): prefecture, program, program_en, program_key, fiscal_year, stage, "
                    "component (optional), amount, unit, label, "
                    "source_url, source_title, accessed, note (optional); see data/templates/figures.csv. CSV "
                    "must be UTF-8 (a BOM is fine). For .xlsx only the first sheet is read, and a workbook whose "
                    "other sheets hold data is refused. At most 5 MB and 20,000 rows. Exit status: 0 written, 2 "
                    "bad input (every problem listed as FILE:ROW:COLUMN: message; nothing written).")
@click.argument("file", metavar="FILE")
@click.option("--key", required=True, help="the source's key: lowercase ASCII, digits and - (e.g. tottori-pages)")
@click.option("--title", required=True, help="the source's title in Japanese")
@click.option("--title-en", required=True, help="the source's title in English")
@click.option("--out", help="file to write (default: data/figures/<JIS code>-<KEY>.yaml in the project)")
@click.option("--force", is_flag=True, help="replace the output file if it exists")
@root_option
@reported()
def import_(file: str, out: str | None, force: bool, root: str | None, **names: str) -> int:
    written, figures, programs = import_figures(Path(file), project_dir(root), NewSource(**names),
                                                out=Path(out) if out else None, force=force)
    print(f"wrote {written}: {figures} figures, {programs} programs")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (usage errors print click's message and return 2)."""
    try:
        status = cli.main(args=argv, prog_name="policygraph", standalone_mode=False)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        print("Aborted!", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
