"""Small queries: policygraph's /sparql against `oxigraph serve-read-only`, and where our time goes.

Serves the shipped build plus a synthetic file (benchmarks/generate.py) on 127.0.0.1:
`oxigraph serve-read-only --union-default-graph` on the same files; `policygraph serve` three times —
as it starts by default (lookups answered in process, store/lookups.py), with `--no-lookups` (every
query through a worker) and with `--response-cache 64` (after the first round every request is a
hit); "least Python": uvicorn with an app that parses the request, runs the request check and the
query on Oxigraph's store and serialises it with Oxigraph, nothing else — the least a Python front
that checks queries can cost; and the floor: uvicorn with an app that answers every request with a
fixed body. Then sends ASK and single-resource lookups to all, interleaved (each round in a fresh
random order, one keep-alive httpx client), and reports medians and ratios to Oxigraph.

The split of policygraph's own time is measured in this process on the same data (no HTTP): the
request check, reading the request, the whole app answering with an engine that replies at once
(the framework: middleware, routing, negotiation, headers), the hand-off to a query worker and back
(engine.arun minus the engine's own time), the query in pyoxigraph with serialisation, and the whole
app answering the lookup in process.

    python benchmarks/overhead.py --size 1m --rounds 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from loadtest import data_file  # noqa: E402
from run import free_port, load_oxigraph, wait, wait_lookups  # noqa: E402

from policygraph.store.embedded import EmbeddedEngine, StoreSource, execute  # noqa: E402
from policygraph.store.engines import Job, Result  # noqa: E402
from policygraph.web.app import create_app  # noqa: E402
from policygraph.web.settings import Settings  # noqa: E402
from policygraph.web.sparql import check_query, parse_request  # noqa: E402

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
FLOOR_APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/sparql-results+json")]})
    await send({"type": "http.response.body", "body": b'{"head":{},"boolean":true}'})
'''

# the least a Python front that checks the query can cost: uvicorn, the request check, the query on the
# Oxigraph store the server reads (read-only) and Oxigraph's JSON/Turtle serialiser; no headers, no log
LEAN_APP = '''
import os, sys
from urllib.parse import parse_qsl
import pyoxigraph as ox
sys.path.insert(0, os.environ["POLICYGRAPH_SRC"])
from policygraph.store.query_check import inspect
store = ox.Store.read_only(os.environ["LEAN_STORE"])

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:  # the benchmark POSTs a form, as SPARQLWrapper does
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    query = dict(parse_qsl(body.decode()))["query"]
    if not inspect(query).lookup:
        raise ValueError("not a lookup")
    res = store.query(query, use_default_graph_as_union=True)
    body = (res.serialize(format=ox.RdfFormat.TURTLE) if isinstance(res, ox.QueryTriples)
            else res.serialize(format=ox.QueryResultsFormat.JSON))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
'''


def queries(subject: str) -> dict[str, tuple[str, str]]:
    """name → (query, Accept): ASK and the lookups a Linked Data client makes of one resource."""
    json_, turtle = "application/sparql-results+json", "text/turtle"
    return {
        "ASK {}": ("ASK {}", json_),
        "ASK resource": (f"ASK {{ <{subject}> ?p ?o }}", json_),
        "label": (f"SELECT ?label WHERE {{ <{subject}> <{RDFS}label> ?label }}", json_),
        "resource ?p ?o": (f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}", json_),
        "DESCRIBE": (f"DESCRIBE <{subject}>", turtle),
    }


def a_subject(url: str) -> str:
    """A project from the synthetic data (it has a label and a dozen statements)."""
    q = "SELECT ?s WHERE { ?s a <https://w3id.org/policygraph/def#PrefecturalProject> } ORDER BY ?s LIMIT 501"
    r = httpx.post(url, data={"query": q}, headers={"Accept": "application/sparql-results+json"}, timeout=60)
    return r.json()["results"]["bindings"][-1]["s"]["value"]  # the 501st, or the last of smaller data


def interleaved(targets: dict[str, str], text: str, accept: str, rounds: int, rng: random.Random) -> dict[str, float]:
    """Median ms per target, each round sending the query once to every target in a random order."""
    times: dict[str, list[float]] = {name: [] for name in targets}
    order = list(targets)
    with httpx.Client(timeout=30) as c:
        for i in range(rounds + 20):
            rng.shuffle(order)
            for name in order:
                start = time.perf_counter()
                c.post(targets[name], data={"query": text}, headers={"Accept": accept}).raise_for_status()
                if i >= 20:  # warm-up rounds
                    times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def start(cmd: list[str], url: str, **kw) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    wait(url, proc)
    return proc


def serve_policygraph(data: Path, *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "policygraph", "serve", "--port", str(port), "--graph", str(data), *options]
    proc = start(cmd, f"http://127.0.0.1:{port}/health", cwd=ROOT)
    wait_lookups(f"http://127.0.0.1:{port}")
    return proc, f"http://127.0.0.1:{port}/sparql"


# ---------------------------------------------------------------- the split, in this process


class AnswersAtOnce:
    """An engine that replies without running anything: what is left of a request is the framework."""
    triples = 1

    async def arun(self, job: Job, timeout: float, wait: float | None = None, client: str | None = None,
                   gone: object = None) -> Result:
        return Result(b'{"head":{},"boolean":true}')

    def answer_now(self, job: Job) -> None:
        return None

    def status(self) -> None:
        return None


def per_call_us(fn, n: int) -> float:
    for _ in range(min(200, n)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


async def per_await_us(fn, n: int) -> float:
    for _ in range(min(200, n)):
        await fn()
    start = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - start) / n * 1e6


def scope_for(text: str) -> tuple[dict, bytes]:
    body = urlencode({"query": text}).encode()
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/sparql", "raw_path": b"/sparql", "root_path": "", "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/sparql-results+json"),
                        (b"content-type", b"application/x-www-form-urlencoded"),
                        (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80)}, body


async def split(data: Path, text: str, n: int) -> dict[str, float]:
    """µs per request of each stage of policygraph's answer to ``text`` (see the module's text)."""
    from starlette.requests import Request  # noqa: PLC0415

    settings = Settings()
    scope, body = scope_for(text)

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        pass

    app = create_app(AnswersAtOnce(), settings)  # type: ignore[arg-type]
    out = {"request check": per_call_us(lambda: check_query(text, settings), n),
           "reading the request": await per_await_us(lambda: parse_request(Request({**scope, "app": app}, receive),
                                                                         settings), n),
           "framework (whole app, engine answering at once)": await per_await_us(
               lambda: app(dict(scope), receive, send), n)}
    engine = EmbeddedEngine(StoreSource(data), workers=1, lookups=True)
    try:
        job = Job(text, "json", None, None, settings.max_rows)
        store = StoreSource(data).open()
        out["query + serialisation (pyoxigraph, in process)"] = per_call_us(lambda: execute(store, job), n)
        out["hand-off to a worker and back"] = (await per_await_us(lambda: engine.arun(job, 10), n)
                                                - out["query + serialisation (pyoxigraph, in process)"])
        while engine.status()["lookups"] != "ready":
            await asyncio.sleep(0.5)
        lookups = create_app(engine, settings)
        out["whole app, the lookup answered in process (on-disk copy)"] = await per_await_us(
            lambda: lookups(dict(scope), receive, send), n)
    finally:
        engine.close()
    return out


# ---------------------------------------------------------------- report


def markdown(report: dict) -> str:
    lines = [f"Machine: {report['machine']}. {report['triples']:,} triples; medians of {report['rounds']} interleaved "
             "rounds (one keep-alive httpx client), ms (and the ratio to the Oxigraph server). policygraph: "
             "lookups answered in process; pool: `--no-lookups`, every query through a worker; cached: "
             "`--response-cache 64`; least Python: uvicorn, the request check, the query and Oxigraph's "
             "serialiser, nothing else; floor: uvicorn returning a fixed body.", "",
             "| query | Oxigraph server | policygraph | pool | cached | least Python | floor |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in report["queries"].items():
        ox = row["oxigraph"]
        cells = [f"{ox:.2f}"] + [f"{row[k]:.2f} ({row[k] / ox:.2f}×)"
                                 for k in ("policygraph", "pool", "cached", "lean", "floor")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Where policygraph's time goes (µs per request, in process, `{report['split_query']}`):", "",
              "| stage | µs |", "| --- | ---: |"]
    lines += [f"| {stage} | {us:.0f} |" for stage, us in report["split"].items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1m")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "overhead")
    args = ap.parse_args()
    data = data_file(args.size, args.seed)
    assert data is not None
    oxigraph = str(Path(sys.executable).parent / "oxigraph")
    store_dir = HERE / "out" / f"oxigraph-{args.size}"
    load_oxigraph(oxigraph, store_dir, [ROOT / "dist" / "policygraph.nq", data])
    floor_dir = HERE / "out"
    (floor_dir / "overhead_floor.py").write_text(FLOOR_APP)
    (floor_dir / "overhead_lean.py").write_text(LEAN_APP)
    procs: list[subprocess.Popen] = []
    try:
        ox_port, floor_port, lean_port = free_port(), free_port(), free_port()
        procs.append(start([oxigraph, "serve-read-only", "--location", str(store_dir), "--bind",
                            f"127.0.0.1:{ox_port}", "--union-default-graph"], f"http://127.0.0.1:{ox_port}/"))
        procs.append(start([sys.executable, "-m", "uvicorn", "overhead_floor:app", "--port", str(floor_port),
                            "--log-level", "warning", "--no-access-log"], f"http://127.0.0.1:{floor_port}/",
                           cwd=floor_dir))
        procs.append(start([sys.executable, "-m", "uvicorn", "overhead_lean:app", "--port", str(lean_port),
                            "--log-level", "warning", "--no-access-log"], f"http://127.0.0.1:{lean_port}/",
                           cwd=floor_dir, env={**os.environ, "POLICYGRAPH_SRC": str(ROOT / "src"),
                                               "LEAN_STORE": str(store_dir)}))
        pg, pg_url = serve_policygraph(data)
        procs.append(pg)
        pool, pool_url = serve_policygraph(data, "--no-lookups")
        procs.append(pool)
        cached, cached_url = serve_policygraph(data, "--response-cache", "64")
        procs.append(cached)
        targets = {"oxigraph": f"http://127.0.0.1:{ox_port}/query", "policygraph": pg_url, "pool": pool_url,
                   "cached": cached_url, "lean": f"http://127.0.0.1:{lean_port}/",
                   "floor": f"http://127.0.0.1:{floor_port}/"}
        subject = a_subject(pg_url)
        triples = httpx.get(pg_url.replace("/sparql", "/health")).json()["triples"]
        rng = random.Random(args.seed)
        rows = {}
        for name, (text, accept) in queries(subject).items():
            rows[name] = interleaved(targets, text, accept, args.rounds, rng)
            print(f"{name:16s} " + "  ".join(f"{k} {v:.3f}" for k, v in rows[name].items()), flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    split_query = queries(subject)["ASK resource"][0]
    report = {"machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python "
                         f"{platform.python_version()}", "size": args.size, "triples": triples, "rounds": args.rounds,
              "queries": rows, "split_query": split_query,
              "split": asyncio.run(split(data, split_query, 3000))}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    text = markdown(report)
    args.out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
