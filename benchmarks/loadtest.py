"""Load and soak test: a bounded mix of API, /sparql and Linked Data requests with runaway queries.

Starts `policygraph serve` on 127.0.0.1 (a free port; loopback only) over the shipped build plus a
synthetic file (benchmarks/generate.py), discovers real resources through /sparql, then sends a
weighted mix from --clients threads (one keep-alive httpx.Client each, each from its own loopback
address 127.0.0.10, .11 …, as distinct users) until --requests requests
are done or --seconds have passed, whichever comes first:

  * every named query with its defaults, with other parameter values, as CSV, and the /api resources;
  * /sparql GET and POST (form and application/sparql-query): SELECT as JSON and CSV, CONSTRUCT and
    DESCRIBE as Turtle, ASK;
  * Linked Data pages of real resources (prefectures, projects, sub-projects, initiatives, national
    programs, observations, KPIs, code-list concepts …) as HTML, Turtle and JSON-LD, the ontology,
    /dataset, /queries, the home page;
  * requests that must fail with a 4xx (bad query, update, unknown parameter, unknown IRI …);
  * one runaway query per --runaway-every requests (cross products that never finish), at most
    --runaway-concurrency at a time. The server answers a query that runs out of time with 504
    (app.py and api.py map QueryTimeout to 504; 503 means a worker died or the store is
    unavailable), so a runaway is "stopped" when it comes back 504 (or 400 from the memory limit)
    within its limit + --margin of getting a worker (the server's Server-Timing header says how long
    it waited in the queue, like any request; a stopped worker's successor is forked from the store
    process in ~0.1 s, no reload of the store).

The server's process tree: the uvicorn process (the pid started here), its spawned child the store
process (multiprocessing spawn_main; it loads the store once), possibly multiprocessing's resource
tracker (another child), and the query workers, forked children of the store process (grandchildren
of the uvicorn process; a stopped worker is killed and a successor forked). Workers share the store
process's pages copy-on-write, so RSS summed over the tree counts the store once per worker: the
server's memory is its PSS (proportional set size, /proc/PID/smaps_rollup: a shared page is split
among the processes that map it), reported with the RSS, in total and by role (uvicorn, store
process, query workers, resource tracker).

Before the run, every distinct request is sent once, then --warmup-requests more go out concurrently
with the same mix and runaways (the uvicorn process's threads and allocator arenas grow to their
working size under concurrency; this is ramp-up, not a leak), and only then is the memory baseline
taken. While it runs, the PSS and RSS of the server's process tree (re-listed every sample, since
workers are killed and forked again) are sampled every 0.5 s. Before and after the load the script
waits for the server to settle (the store process and all workers there, the tree idle), so "memory
flat" compares like with like, and a runaway query that was not really stopped shows up as a busy
CPU after the run. CPU time of the server tree (with its reaped processes: a killed worker's CPU
time goes to the store process's cutime/cstime), of this script and of everything else on the
machine is reported too: on a shared machine, other work skews latency and throughput (the report
says so). /health's `workers.kill_to_ready_ms` after the run gives how soon a stopped worker's
successor was ready.

Checks (exit 0 only if all pass): no 5xx on a non-runaway request, no lost request (every request
sent got an HTTP answer), memory flat (settled total PSS after the run within max(50 MiB, 10 %) of
the settled total PSS after the warm-up, and the uvicorn process's RSS within the same allowance),
every runaway stopped within its limit + margin, the server idle again after the run with its store
process and all its workers, every other request answered with the status class it should have, and
no live server process left 5 s after shutdown. Writes
benchmarks/results/loadtest.{md,json} (see --out) and prints the Markdown. The server's log goes to
benchmarks/out/loadtest-server.log.

    python benchmarks/loadtest.py --size 100k
    python benchmarks/loadtest.py --size 1m --requests 10000 --seconds 300 --out benchmarks/results/loadtest-1m
    # another commit's server code, e.g. to compare before/after a change:
    mkdir -p /tmp/pg-old && git archive <commit> src | tar -x -C /tmp/pg-old
    python benchmarks/loadtest.py --server-pythonpath /tmp/pg-old/src --out benchmarks/results/loadtest-old
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Container
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

# these follow the sys.path change above: benchmarks/ and this checkout's src/ come first
from generate import generate, parse_size  # noqa: E402  (benchmarks/ on sys.path first)
from run import free_port, wait, wait_lookups  # noqa: E402  (benchmarks/ on sys.path first)

from policygraph.store.named_queries import load_queries  # noqa: E402  (this checkout's src/ first)

ID = "https://w3id.org/policygraph/id/"
PREFIXES = ("PREFIX pg: <https://w3id.org/policygraph/def#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> ")
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
TIMEOUT_STATUS = 504  # QueryTimeout -> ApiError(504) in app.py, ApiProblem(504) in api.py
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ requests


@dataclass
class Req:
    kind: str
    method: str
    path: str
    params: list | None = None
    data: dict | None = None          # a form body
    content: bytes | None = None      # a raw body
    headers: dict = field(default_factory=dict)
    expect: str = "2xx"               # "2xx", "4xx" or "timeout" (a runaway)
    limit: float | None = None        # a runaway's time limit on the server, s
    label: str = ""                   # a runaway's variant

    def describe(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.params or [])
        body = self.data.get("query", "") if self.data else (self.content or b"").decode()
        accept = self.headers.get("Accept")
        return (f"{self.method} {self.path}{'?' + q if q else ''}" + (f" [Accept: {accept}]" if accept else "")
                + (f" body: {body}" if body else ""))


@dataclass
class Record:
    i: int
    kind: str
    expect: str
    status: int | None       # None: no HTTP answer (transport error or client timeout)
    latency: float           # s
    started: float           # s since the run's start
    detail: str = ""
    request: str = ""
    label: str = ""
    limit: float | None = None
    queued: float = 0.0      # s the server says the query waited for a worker (Server-Timing "queue")


def sparql_post(kind: str, query: str, accept: str, raw: bool = False, expect: str = "2xx") -> Req:
    if raw:
        return Req(kind, "POST", "/sparql", content=query.encode(), expect=expect,
                   headers={"Accept": accept, "Content-Type": "application/sparql-query"})
    return Req(kind, "POST", "/sparql", data={"query": query}, headers={"Accept": accept}, expect=expect)


def sparql_get(kind: str, query: str, accept: str, expect: str = "2xx", extra: list | None = None) -> Req:
    return Req(kind, "GET", "/sparql", params=[("query", query)] + (extra or []), headers={"Accept": accept},
               expect=expect)


def select(base: str, query: str, client: httpx.Client) -> list[dict]:
    r = client.post(base + "/sparql", data={"query": PREFIXES + query}, headers=JSON_RESULTS)
    if r.status_code != 200:
        raise RuntimeError(f"discovery query failed: HTTP {r.status_code} {r.text[:300]}\n  query: {query}")
    return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]


def discover(base: str, rng: random.Random, per_class: int = 8) -> dict[str, list[str]]:
    """Real resource IRIs of each kind, sampled from the live server."""
    classes = {
        "prefecture": "pg:Prefecture", "project": "pg:PrefecturalProject", "sub-project": "pg:SubProject",
        "initiative": "pg:Initiative", "national-program": "pg:NationalProgram", "kpi": "pg:KPI",
        "plan-goal": "pg:PlanGoal", "policy-area": "pg:PolicyArea", "alignment": "pg:Alignment",
        "region": "pg:Region", "fiscal-year": "pg:FiscalYear", "source": "pg:SourceDocument",
        "concept": "skos:Concept", "budget-observation": "pg:BudgetObservation",
        "indicator-observation": "pg:IndicatorObservation", "planned-output": "pg:PlannedOutput",
    }
    found: dict[str, list[str]] = {}
    with httpx.Client(timeout=120) as c:
        for name, cls in classes.items():  # small answers only: random offsets into the class
            where = f'{{ ?s a {cls} FILTER(STRSTARTS(STR(?s), "{ID}")) }}'
            n = int(select(base, f"SELECT (COUNT(*) AS ?n) WHERE {where}", c)[0]["n"])
            offsets = sorted(rng.sample(range(n), min(per_class, n)))
            found[name] = sorted({r["s"] for o in offsets
                                  for r in select(base, f"SELECT ?s WHERE {where} OFFSET {o} LIMIT 1", c)})
        # observations of sampled projects, so they are not all from the first prefecture in the index
        obs = []
        for p in found["project"][:6]:
            obs += [r["o"] for r in select(base, f"SELECT ?o WHERE {{ ?o pg:program <{p}> }} LIMIT 20", c)]
        if obs:
            sampled = rng.sample(obs, min(8, len(obs)))
            found["budget-observation"] = sorted(set(found["budget-observation"]) | set(sampled))
        found["prefecture-code"] = sorted(r["code"] for r in select(
            base, "SELECT ?code WHERE { ?p a pg:Prefecture ; skos:notation ?code }", c))
    return found


# kind -> weight: one request is drawn by kind weight, then uniformly within the kind (in this order)
WEIGHTS = {"named: defaults": 16, "named: parameters": 14, "named: CSV/TSV": 3, "/api resources": 6,
           "/sparql SELECT json": 12, "/sparql SELECT csv/tsv": 4, "/sparql CONSTRUCT/DESCRIBE ttl": 6,
           "/sparql ASK": 4, "LD page HTML": 14, "LD page Turtle/JSON-LD": 9, "ontology, /dataset, home": 3,
           "expected 4xx": 3}
SPARQL_JSON = "application/sparql-results+json"
PREFECTURE_LIST = PREFIXES + ('SELECT ?p ?label WHERE { ?p a pg:Prefecture ; rdfs:label ?label '
                              'FILTER(lang(?label) = "ja") } ORDER BY ?p')

Mix = dict[str, tuple[float, list[Req]]]


def build_mix(found: dict[str, list[str]], rng: random.Random) -> Mix:
    """kind -> (weight, requests); one request is drawn by kind weight, then uniformly within the kind."""
    queries = load_queries(ROOT / "queries")
    codes = [c for c in found["prefecture-code"] if c.isdigit()] or ["20"]
    some = [i for k in ("prefecture", "project", "national-program", "sub-project", "concept") for i in found[k][:3]]
    groups = {"named: defaults": [Req("named: defaults", "GET", f"/queries/{n}") for n in queries],
              "named: parameters": named_with_parameters(queries, found, codes, rng),  # rng: before api
              "named: CSV/TSV": named_as_csv(),
              "/api resources": api_requests(found, codes, rng),
              "/sparql SELECT json": sparql_selects(found, some),
              "/sparql SELECT csv/tsv": sparql_csv(found),
              "/sparql CONSTRUCT/DESCRIBE ttl": sparql_graphs(some),
              "/sparql ASK": sparql_asks(some),
              **linked_data_pages(found),
              "ontology, /dataset, home": site_pages(),
              "expected 4xx": bad_requests()}
    return {kind: (weight, groups[kind]) for kind, weight in WEIGHTS.items() if groups[kind]}


def named_with_parameters(names: Container[str], found: dict[str, list[str]], codes: list[str],
                          rng: random.Random) -> list[Req]:
    """Named queries (those that exist) with parameter values other than their defaults."""
    params: list[Req] = []

    def q(name: str, *pairs):
        if name in names:
            params.append(Req("named: parameters", "GET", f"/queries/{name}", params=list(pairs)))

    projects = found["project"] + found["sub-project"]
    for p in projects[:6]:
        q("budget-trend", ("program", p))
    for p in found["project"][:4]:
        q("kpis-and-goals", ("project", p))
    for p in found["national-program"][:4]:
        q("national-program-alignments", ("program", p))
        q("program", ("program", p))
    for p in found["project"][:3]:
        q("program", ("program", p))
    for code in rng.sample(codes, min(6, len(codes))):
        q("prefecture-projects", ("pref", code))
    q("prefecture-projects", ("pref", "20"), ("page", "2"), ("page_size", "50"))
    for text in ("合成", "支援", "事業", "Synthetic", "長野", "創業"):
        q("search", ("text", text))
    q("search", ("text", "事業"), ("page", "3"))
    for t in ("implements", "succeeds", "same-function", "related"):
        q("alignments", ("type", t))
    q("alignments", ("pref", "20"))
    for tier in ("national", "prefectural", "smrj"):
        q("national-programs", ("tier", tier))
        q("coverage", ("tier", tier))
    for stage in ("request", "initial", "current", "settlement"):
        q("compare-budget-by-policy-area", ("stage", stage))
        q("compare-budget-by-national-program", ("stage", stage))
    for year in ("2016", "2020", "2024", "2025"):
        q("planned-outputs", ("year", year))
    q("smrj-and-regional-hubs", ("page", "1"))
    return params


def named_as_csv() -> list[Req]:
    kind = "named: CSV/TSV"
    return [*(Req(kind, "GET", f"/queries/{n}.csv") for n in ("prefectures", "coverage", "alignments")),
            Req(kind, "GET", "/queries/national-programs", headers={"Accept": "text/tab-separated-values"})]


def api_requests(found: dict[str, list[str]], codes: list[str], rng: random.Random) -> list[Req]:
    kind = "/api resources"
    api = [Req(kind, "GET", "/api/programs", params=[("tier", "national")]),
           Req(kind, "GET", "/api/prefectures"),
           Req(kind, "GET", "/api/compare", params=[("by", "national-program"), ("stage", "initial")]),
           Req(kind, "GET", "/api/compare", params=[("by", "policy-area")]),
           Req(kind, "GET", "/api/programs/2008/3-2-2-a"),
           Req(kind, "GET", "/api/programs/prefectural-project/20/070201")]
    api += [Req(kind, "GET", f"/api/prefectures/{c}/projects") for c in rng.sample(codes, min(4, len(codes)))]
    api += [Req(kind, "GET", "/api/programs/" + p[len(ID):]) for p in found["project"][:3]]
    return api


def sparql_selects(found: dict[str, list[str]], some: list[str]) -> list[Req]:
    kind = "/sparql SELECT json"
    sel: list[Req] = []
    for iri in some:
        text = f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} LIMIT 50"
        sel += [sparql_post(kind, text, SPARQL_JSON), sparql_get(kind, text, SPARQL_JSON)]
    for p in found["project"][:4]:
        text = (PREFIXES + f"SELECT ?stage (COUNT(*) AS ?n) (SUM(?a) AS ?total) WHERE {{ ?o pg:program <{p}> ; "
                "pg:budgetStage ?stage ; pg:amount ?a } GROUP BY ?stage ORDER BY ?stage")
        sel.append(sparql_post(kind, text, SPARQL_JSON, raw=True))
    sel += [sparql_post(kind, PREFECTURE_LIST, SPARQL_JSON), sparql_get(kind, PREFECTURE_LIST, "application/json")]
    return sel


def sparql_csv(found: dict[str, list[str]]) -> list[Req]:
    kind = "/sparql SELECT csv/tsv"
    return [sparql_get(kind, PREFECTURE_LIST, "text/csv"),
            sparql_post(kind, PREFECTURE_LIST, "text/tab-separated-values"),
            sparql_get(kind, PREFECTURE_LIST, "", extra=[("format", "csv")]),
            *(sparql_post(kind, f"SELECT ?o ?p WHERE {{ ?o ?p <{p}> }} LIMIT 200", "text/csv")
              for p in found["project"][:3])]


def sparql_graphs(some: list[str]) -> list[Req]:
    kind = "/sparql CONSTRUCT/DESCRIBE ttl"
    construct: list[Req] = []
    for iri in some:
        text = f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}"
        construct += [sparql_post(kind, text, "text/turtle"), sparql_get(kind, f"DESCRIBE <{iri}>", "text/turtle")]
    return construct


def sparql_asks(some: list[str]) -> list[Req]:
    kind = "/sparql ASK"
    ask: list[Req] = []
    for iri in some[:8]:
        ask += [sparql_get(kind, f"ASK {{ <{iri}> ?p ?o }}", SPARQL_JSON),
                sparql_post(kind, PREFIXES + f"ASK {{ <{iri}> a pg:NoSuchClass }}", "application/sparql-results+xml")]
    return ask


def linked_data_pages(found: dict[str, list[str]]) -> dict[str, list[Req]]:
    """The "LD page HTML" and "LD page Turtle/JSON-LD" kinds: every discovered resource's page."""
    ld_iris = [i for k, v in found.items() if k != "prefecture-code" for i in v if i.startswith(ID)]
    html_kind, rdf_kind = "LD page HTML", "LD page Turtle/JSON-LD"
    pages = [Req(html_kind, "GET", "/id/" + i[len(ID):], headers={"Accept": "text/html"}) for i in ld_iris]
    pages += [Req(html_kind, "GET", "/id/" + i[len(ID):], params=[("lang", "en")], headers={"Accept": "text/html"})
              for i in found["prefecture"][:3] + found["project"][:3]]
    rdf = [Req(rdf_kind, "GET", "/id/" + i[len(ID):], headers={"Accept": "text/turtle"}) for i in ld_iris]
    rdf += [Req(rdf_kind, "GET", "/id/" + i[len(ID):], params=[("format", "jsonld")]) for i in ld_iris[::4]]
    return {html_kind: pages, rdf_kind: rdf}


def site_pages() -> list[Req]:
    kind = "ontology, /dataset, home"
    return [Req(kind, "GET", "/ontology", headers={"Accept": "text/html"}),
            Req(kind, "GET", "/ontology", headers={"Accept": "text/turtle"}),
            Req(kind, "GET", "/dataset", headers={"Accept": "text/html"}),
            Req(kind, "GET", "/dataset", headers={"Accept": "text/turtle"}),
            Req(kind, "GET", "/queries"),
            Req(kind, "GET", "/", headers={"Accept": "text/html"}),
            Req(kind, "GET", "/sparql", headers={"Accept": "text/turtle"})]  # service description


def bad_requests() -> list[Req]:
    """Requests that must fail with a 4xx."""
    kind, insert = "expected 4xx", "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    return [sparql_post(kind, "SELECT * WHERE { ?s ?p }", SPARQL_JSON, expect="4xx"),
            sparql_post(kind, insert, SPARQL_JSON, expect="4xx"),
            Req(kind, "POST", "/sparql", content=insert.encode(), expect="4xx",
                headers={"Content-Type": "application/sparql-update"}),
            sparql_get(kind, "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", SPARQL_JSON,
                       expect="4xx"),
            sparql_get(kind, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "image/png", expect="4xx"),
            Req(kind, "GET", "/queries/search", params=[("bogus", "1")], expect="4xx"),
            Req(kind, "GET", "/queries/planned-outputs", params=[("year", "abc")], expect="4xx"),
            Req(kind, "GET", "/queries/no-such-query", expect="4xx"),
            Req(kind, "GET", "/id/prefecture/99", headers={"Accept": "text/html"}, expect="4xx"),
            Req(kind, "GET", "/id/prefecture/99", headers={"Accept": "text/turtle"}, expect="4xx"),
            Req(kind, "GET", "/api/prefectures/99/projects", expect="4xx")]


def runaways(timeout: float) -> list[Req]:
    """Queries that never finish on any store; each must come back 504 within its limit (or 400 from
    the memory limit, if it passes that first)."""
    cross3 = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    sort2 = "SELECT ?a ?d WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"  # also eats memory until killed
    ask3 = 'ASK { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i FILTER(STR(?a) = CONCAT(STR(?d), STR(?g), "#nowhere")) }'
    short = min(1.0, timeout)
    out = [sparql_post("runaway", cross3, "application/sparql-results+json", expect="timeout"),
           sparql_get("runaway", cross3, "application/sparql-results+json", expect="timeout",
                      extra=[("timeout", f"{short:g}")]),
           sparql_post("runaway", sort2, "text/csv", raw=True, expect="timeout"),
           sparql_get("runaway", ask3, "application/sparql-results+json", expect="timeout")]
    labels = ["3-way cross-product COUNT, POST form", f"3-way cross-product COUNT, GET ?timeout={short:g}",
              "ORDER BY over a cross product, POST sparql-query", "ASK over a 3-way cross product, GET"]
    for r, label in zip(out, labels, strict=True):
        r.label = label
        r.limit = short if "timeout" in dict(r.params or []) else timeout
    return out


def send(client: httpx.Client, base: str, req: Req, i: int, t0: float) -> Record:
    start = time.perf_counter()
    status, detail, queued = None, "", 0.0
    try:
        r = client.request(req.method, base + req.path, params=req.params, data=req.data, content=req.content,
                           headers=req.headers)
        status = r.status_code
        for metric in r.headers.get("server-timing", "").split(","):
            name, _, ms = metric.strip().partition(";dur=")
            if name == "queue":
                queued = float(ms) / 1000
        if status >= 300:
            try:
                detail = str(r.json().get("detail", ""))[:200]
            except ValueError:
                detail = r.text[:200]
    except httpx.HTTPError as e:
        detail = f"{type(e).__name__}: {e}"[:200]
    return Record(i, req.kind, req.expect, status, time.perf_counter() - start, start - t0, detail,
                  req.describe()[:300], req.label, req.limit, queued)


# ------------------------------------------------------------------ the server's process tree


def threads_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[17])
    except (OSError, IndexError, ValueError):
        return 0


class Proc(NamedTuple):
    rss: int          # bytes (stat's rss field)
    ticks: int        # its own CPU time (utime + stime)
    ppid: int
    child_ticks: int  # CPU time of its reaped children (cutime + cstime)
    state: str        # "R", "S", "Z" …


def tree(root: int) -> dict[int, Proc]:
    """pid -> Proc for a process and all its descendants (children, grandchildren …), listed afresh."""
    info: dict[int, Proc] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        f = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
        info[int(d)] = Proc(int(f[21]) * PAGE, int(f[11]) + int(f[12]), int(f[1]), int(f[13]) + int(f[14]), f[0])
    children: dict[int, list[int]] = defaultdict(list)
    for pid, p in info.items():
        children[p.ppid].append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in info:
            out[pid] = info[pid]
            todo += children[pid]
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# roles in the server's tree, in report order; "tracker" and "other" only where there are any
ROLE_NAMES = {"uvicorn": "uvicorn", "store": "store process", "workers": "query workers",
              "tracker": "resource tracker", "other": "other"}
NOUNS = {"store": ("store process", "store processes"), "workers": ("query worker", "query workers"),
         "tracker": ("resource tracker", "resource trackers")}


def in_role_order(role: dict[int, str]) -> list[tuple[int, str]]:
    return sorted(role.items(), key=lambda kv: (list(ROLE_NAMES).index(kv[1]), kv[0]))


def roles(root: int, procs: dict[int, Proc]) -> dict[int, str]:
    """pid -> role of each live (not zombie) process of the tree: "uvicorn" (the root), "store" (a child
    started by multiprocessing spawn), "tracker" (multiprocessing's resource tracker), "workers" (children
    of a store process: forked, same command line) or "other"."""
    live = {pid: p for pid, p in procs.items() if p.state != "Z"}
    out = {root: "uvicorn"} if root in live else {}
    for pid, p in live.items():
        if p.ppid == root:
            cmd = cmdline(pid)
            out[pid] = "tracker" if "resource_tracker" in cmd else "store" if "spawn_main" in cmd else "other"
    for pid, p in live.items():
        out.setdefault(pid, "workers" if out.get(p.ppid) == "store" else "other")
    return out


def pss_rss(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) bytes of a process (/proc/PID/smaps_rollup), or None if it has gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kb = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        if key in ("Pss", "Rss"):
            kb[key] = int(rest.split()[0])
    return (kb["Pss"] << 10, kb["Rss"] << 10) if len(kb) == 2 else None


@dataclass
class Look:
    """One look at the server tree's memory, MiB by role (uvicorn, store, workers, then tracker and other
    if any) and "total": PSS (shared pages counted once) and RSS; and the live pids of each role."""
    pss: dict[str, float]
    rss: dict[str, float]
    pids: dict[str, tuple[int, ...]]


def look_at(root: int) -> Look:
    procs = tree(root)
    pss = dict.fromkeys(("uvicorn", "store", "workers"), 0.0)
    rss = dict(pss)
    pids: dict[str, list[int]] = defaultdict(list)
    for pid, role in in_role_order(roles(root, procs)):
        m = pss_rss(pid)
        if m is None:  # gone since the listing (a killed worker)
            continue
        pss[role] = pss.get(role, 0.0) + m[0] / 2**20
        rss[role] = rss.get(role, 0.0) + m[1] / 2**20
        pids[role].append(pid)
    pss["total"], rss["total"] = sum(pss.values()), sum(rss.values())
    return Look(pss, rss, {k: tuple(sorted(v)) for k, v in pids.items()})


@dataclass
class Sample:
    t: float                  # s since the sampler started
    done: int                 # requests done
    pss: dict[str, float]     # MiB by role and "total"
    rss: dict[str, float]
    workers: tuple[int, ...]  # query workers' pids
    stores: tuple[int, ...]   # store processes' pids
    threads: int              # the uvicorn process's threads


class Sampler(threading.Thread):
    """PSS and RSS of the server tree by role every `every` s."""

    def __init__(self, pid: int, done, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.done, self.every = pid, done, every
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        while not self.stop.is_set():
            look = look_at(self.pid)
            self.samples.append(Sample(time.monotonic() - self.t0, self.done(), look.pss, look.rss,
                                       look.pids.get("workers", ()), look.pids.get("store", ()),
                                       threads_of(self.pid)))
            self.stop.wait(self.every)


def count_roles(pid: int) -> Counter[str]:
    return Counter(roles(pid, tree(pid)).values())


def settle(pid: int, workers: int, max_wait: float, quiet: float = 0.10) -> dict:
    """Wait until the server tree has one store process and `workers` query workers and used under `quiet`
    of a core for 1 s; then its memory by role (median of 3 looks)."""
    start = time.monotonic()
    while True:
        a = tree(pid)
        time.sleep(1.0)
        b = tree(pid)
        cpu = sum(p.ticks - (a[q].ticks if q in a else 0) for q, p in b.items()) / TICKS
        n = Counter(roles(pid, b).values())
        ok = n["workers"] == workers and n["store"] == 1 and cpu < quiet
        waited = time.monotonic() - start
        if ok or waited > max_wait:
            looks = []
            for _ in range(3):
                looks.append(look_at(pid))
                time.sleep(0.2)
            return {"settled": ok, "seconds": waited, "cpu_cores": cpu, "workers": n["workers"],
                    "store_processes": n["store"], "processes": describe_children(pid),
                    "pss_mib": median_of(looks, "pss"), "rss_mib": median_of(looks, "rss")}


def median_of(looks: list[Look], kind: str) -> dict[str, float]:
    """Role (and "total") -> the median MiB over `looks` ("pss" or "rss"; a role missing from a look: 0)."""
    keys = dict.fromkeys(k for x in looks for k in getattr(x, kind))
    return {k: statistics.median(getattr(x, kind).get(k, 0.0) for x in looks) for k in keys}


def describe_children(pid: int) -> str:
    """'1 store process + 2 query workers + 1 resource tracker': what the server's descendants are."""
    kinds: Counter[tuple[str, str]] = Counter()
    for p, role in in_role_order(roles(pid, tree(pid))):
        if role != "uvicorn":
            kinds[NOUNS.get(role) or (cmdline(p)[:60],) * 2] += 1
    return " + ".join(f"{n} {names[n > 1]}" for names, n in kinds.items()) or "none"


def stop_server(proc: subprocess.Popen) -> int:
    """Terminate the server; kill what is still alive of its process group (zombies waiting for init
    to reap them are not counted). Returns how many live processes were left and killed."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    live: list[int] = []
    for _ in range(50):  # workers may take a moment to notice their parent is gone
        live = [p for p in group(proc.pid) if _state(p) not in ("Z", None)]
        if not live:
            return 0
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    return len(live)


def group(pgid: int) -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit() and _pgid(int(d)) == pgid]


def _state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2]


def cpu_snapshot(server: int) -> tuple[float, float, float]:
    """(machine busy s, server tree s, this process s) so far. The server tree's time includes that of
    its reaped processes, through their parent's cutime/cstime: a killed query worker's goes to the store
    process (which reaps its forks), a replaced store process's to the uvicorn process."""
    f = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f[:8])
    busy = (user + nice + system + irq + softirq + steal) / TICKS
    tree_s = sum(p.ticks + p.child_ticks for p in tree(server).values())
    t = os.times()
    return busy, tree_s / TICKS, t.user + t.system


def peak_rss_mib(pid: int) -> float:
    """Sum of the peak resident memory (VmHWM) of the live processes of the tree, MiB (RSS: counts the
    store once per worker)."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            total += next((int(line.split()[1]) for line in Path(f"/proc/{p}/status").read_text().splitlines()
                           if line.startswith("VmHWM:")), 0)
    return total / 1024


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


# ------------------------------------------------------------------ the run


@dataclass(frozen=True)
class Load:
    """What the client threads send, and how: the server, the weighted mix, the runaway queries (one per
    `runaway_every` requests, at most `runaway_concurrency` in flight) and the client-side options."""

    base: str
    mix: Mix
    runs: list[Req]
    clients: int
    client_timeout: float
    runaway_every: int
    runaway_concurrency: int
    progress: int

    @classmethod
    def from_args(cls, base: str, mix: Mix, runs: list[Req], args) -> Load:
        return cls(base, mix, runs, clients=args.clients, client_timeout=args.client_timeout,
                   runaway_every=args.runaway_every, runaway_concurrency=args.runaway_concurrency,
                   progress=args.progress)


@dataclass(frozen=True)
class Batch:
    """One stretch of load: `requests` requests or `seconds`, whichever ends first; `seed` draws the mix."""

    requests: int
    seconds: float
    seed: int


class Schedule:
    """Hands out request numbers until the count or the time is up; every `every`-th is a runaway,
    deferred while `concurrency` runaways are already in flight."""

    def __init__(self, load: Load, batch: Batch):
        self.total, self.deadline = batch.requests, time.monotonic() + batch.seconds
        self.every, self.concurrency = load.runaway_every, load.runaway_concurrency
        self.kinds = list(load.mix)
        self.weights = [load.mix[k][0] for k in self.kinds]
        self.mix, self.runs, self.seed = load.mix, load.runs, batch.seed
        self.lock = threading.Lock()
        self.next = self.pending = self.in_flight = self.sent_runaways = 0
        self.stopped_by = "request count"

    def take(self) -> tuple[int, Req] | None:
        with self.lock:
            if self.next >= self.total:
                return None
            if time.monotonic() >= self.deadline:
                self.stopped_by = "time cap"
                return None
            i = self.next
            self.next += 1
            if self.every and i % self.every == self.every // 2:
                self.pending += 1
            if self.pending and (not self.concurrency or self.in_flight < self.concurrency):
                self.pending -= 1
                self.in_flight += 1
                req = self.runs[self.sent_runaways % len(self.runs)]
                self.sent_runaways += 1
                return i, req
        rng = random.Random(self.seed * 1_000_003 + i)
        kind = rng.choices(self.kinds, self.weights)[0]
        return i, rng.choice(self.mix[kind][1])

    def runaway_done(self):
        with self.lock:
            self.in_flight -= 1


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]  # nearest rank


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x."""
    if len(points) < 3:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def data_file(size: str, seed: int) -> Path | None:
    if size.lower() in ("0", "none", ""):
        return None
    out = HERE / "out" / (f"synthetic-{size}.nq" if seed == 1 else f"synthetic-{size}-seed{seed}.nq")
    if out.exists() and out.stat().st_mtime >= (HERE / "generate.py").stat().st_mtime:
        print(f"reusing {out.relative_to(ROOT)}", flush=True)
        return out
    print(f"generating {out.relative_to(ROOT)} …", flush=True)
    generate(parse_size(size), out, seed=seed)
    return out


def code_state(env: dict) -> str:
    """Which policygraph code the server runs: this checkout's commit (and whether src/ or queries/ had
    uncommitted changes) or another directory given with --server-pythonpath (queries/ and data/ are
    always this checkout's)."""
    where = subprocess.run([sys.executable, "-c", "import policygraph; print(policygraph.__file__)"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=False).stdout.strip()
    src = Path(where).resolve().parent.parent if where else None
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src", "queries"], cwd=ROOT, capture_output=True,
                           text=True, check=False).stdout.splitlines()
    if src != (ROOT / "src").resolve():
        q = sum(" queries/" in f" {line[3:]}" for line in dirty)
        return (f"policygraph from {src}; queries/ from this checkout ({head}"
                + (f" + {q} uncommitted change(s)" if q else "") + ")")
    return f"{head}" + (f" + uncommitted changes in {len(dirty)} file(s) under src/ or queries/" if dirty else "")


def server_command(args, port: int, data: Path | None) -> tuple[list[str], dict[str, str]]:
    """The server's command line and environment."""
    cmd = [sys.executable, "-m", "policygraph", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.workers), "--query-timeout", f"{args.timeout:g}"]
    if data:
        cmd += ["--graph", str(data)]
    env = {**os.environ, "POLICYGRAPH_LOG_LEVEL": args.log_level}
    if args.server_pythonpath:  # e.g. a `git archive` of another commit's src/, to test that code
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.server_pythonpath), env.get("PYTHONPATH")]))
    return cmd, env


def loadtest(args) -> dict:
    data = data_file(args.size, args.seed)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = HERE / "out" / "loadtest-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd, env = server_command(args, port, data)
    report: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "server_command": " ".join(cmd[1:]), "code": code_state(env),
                    "server_log": str(log_path.relative_to(ROOT))}
    t_start = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            wait_ready(base, proc, t_start, report)
            load = plan_load(base, args, report)
            workers = warm_up(load, proc.pid, args, report)
            records, sampler = measured_run(load, proc.pid, args, workers, report)
            report.update(analyse(records, sampler, report, args))
        finally:
            report["leftover_processes_killed"] = left = stop_server(proc)
            if "checks" in report:
                report["checks"].append({"check": "no server process left after shutdown", "pass": left == 0,
                                         "detail": f"{left} live process(es) of the server's group 5 s after it exited"
                                                   + (" (killed)" if left else "")})
    text = log_path.read_text(errors="replace")
    report["server_log_tracebacks"] = text.count("Traceback (most recent call last)")
    report["server_log_errors"] = [line for line in text.splitlines() if line.startswith(("ERROR", "CRITICAL"))][:20]
    return report


def wait_ready(base: str, proc: subprocess.Popen, t_start: float, report: dict) -> None:
    """Wait for /health; record the start-up time and the size."""
    wait(base + "/health", proc)
    report["ready_s"] = time.monotonic() - t_start
    health = httpx.get(base + "/health", timeout=10).json()
    report["triples"] = health.get("triples")
    print(f"server ready in {report['ready_s']:.1f} s: {report['triples']:,} triples, pid {proc.pid}", flush=True)
    report["lookups_ready_s"] = wait_lookups(base)
    print(f"lookups in process {report['lookups_ready_s']:.1f} s later", flush=True)


def plan_load(base: str, args, report: dict) -> Load:
    """Discover real resources, build the weighted mix and the runaways."""
    rng = random.Random(args.seed)
    found = discover(base, rng)
    mix = build_mix(found, rng)
    runs = runaways(args.timeout)
    report["mix"] = {k: {"weight": w, "distinct_requests": len(r)} for k, (w, r) in mix.items()}
    report["runaway_variants"] = [{"label": r.label, "request": r.describe()[:300], "limit_s": r.limit}
                                  for r in runs]
    return Load.from_args(base, mix, runs, args)


def warm_up(load: Load, pid: int, args, report: dict) -> int:
    """Every distinct request once, sequentially, then a concurrent ramp-up with the same mix and runaways
    (threads, allocator arenas and worker respawns reach their working size); neither is counted in the
    run. Then wait for the server to settle (the memory baseline). Returns the server's query workers."""
    warm: list[Record] = []
    with httpx.Client(timeout=args.client_timeout) as c:
        for _, reqs in load.mix.values():
            for req in reqs:
                warm.append(send(c, load.base, req, -1, time.perf_counter()))
    workers = max(args.workers, count_roles(pid)["workers"])  # more with spare workers; never fewer
    report["child_processes"] = describe_children(pid)
    report["after_sequential_warmup"] = settle(pid, workers, args.settle)
    ramp, _, _ = drive(load, Batch(args.warmup_requests, args.warmup_seconds, args.seed + 7919))
    warm += ramp
    report["warmup"] = {"requests": len(warm), "concurrent": len(ramp),
                        "queries_stopped": sum(map(stopped_query, warm)),
                        "by_status": dict(Counter(str(r.status) for r in warm)),
                        "unexpected": [asdict(r) for r in warm if not ok_status(r)]}
    print(f"warm-up: {len(warm)} requests ({len(ramp)} concurrent), statuses {report['warmup']['by_status']}",
          flush=True)
    report["before"] = settle(pid, workers, args.settle)
    return workers


def measured_run(load: Load, pid: int, args, workers: int, report: dict) -> tuple[list[Record], Sampler]:
    """The load itself, with the server tree's memory sampled throughout and its CPU use measured."""
    done = [0]
    sampler = Sampler(pid, lambda: done[0])
    sampler.start()
    cpu0 = cpu_snapshot(pid)
    records, sched, wall = drive(load, Batch(args.requests, args.seconds, args.seed), done)
    cpu1 = cpu_snapshot(pid)
    machine, server_cpu, client_cpu = ((b - a) / wall for a, b in zip(cpu0, cpu1, strict=True))
    report["cpu_cores"] = {"server": server_cpu, "load_generator": client_cpu,
                           "other_processes": max(0.0, machine - server_cpu - client_cpu),
                           "machine_cores": os.cpu_count()}
    report["after"] = settle(pid, workers, args.settle)
    sampler.stop.set()
    sampler.join()
    health = httpx.get(load.base + "/health", timeout=10)
    ok_health = health.status_code
    try:
        report["kill_to_ready_ms"] = (health.json().get("workers") or {}).get("kill_to_ready_ms")
    except ValueError:
        report["kill_to_ready_ms"] = None
    report["peak_rss_mib_live"] = peak_rss_mib(pid)
    report["run"] = {"sent": sched.next, "answered": sum(r.status is not None for r in records),
                     "records": len(records), "seconds": wall, "stopped_by": sched.stopped_by,
                     "runaways_sent": sched.sent_runaways, "runaways_deferred_unsent": sched.pending,
                     "health_after": ok_health, "workers": workers}
    return records, sampler


def drive(load: Load, batch: Batch, done: list | None = None) -> tuple[list[Record], Schedule, float]:
    """Send batch.requests requests (or for batch.seconds) from load.clients threads; (records, schedule,
    wall seconds)."""
    records: list[Record] = []
    lock = threading.Lock()
    done = done if done is not None else [0]
    t0 = time.perf_counter()
    sched = Schedule(load, batch)

    def worker(k: int):
        # each thread is a client of its own (its own loopback address): the server gives one client
        # address at most its share of the workers
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{10 + k}")
        with httpx.Client(timeout=load.client_timeout, transport=transport) as c:
            while (job := sched.take()) is not None:
                i, req = job
                try:
                    rec = send(c, load.base, req, i, t0)
                finally:
                    if req.expect == "timeout":
                        sched.runaway_done()
                with lock:
                    records.append(rec)
                    done[0] += 1
                    if load.progress and done[0] % load.progress == 0:
                        print(f"  {done[0]:>6} requests, {time.perf_counter() - t0:6.1f} s", flush=True)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(load.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records, sched, time.perf_counter() - t0


def ok_status(r: Record) -> bool:
    if r.status is None:
        return False
    if r.expect == "timeout":
        stopped = r.status == TIMEOUT_STATUS or (r.status == 400 and "memory" in r.detail)  # memory limit first
        # its limit counts from when it got a worker: a runaway waits in the queue like any request
        return stopped and r.latency - r.queued <= (r.limit or 0.0) + r_margin[0]
    if r.expect == "4xx":
        return 400 <= r.status < 500
    return 200 <= r.status < 300


def stopped_query(r: Record) -> bool:
    """Whether the server stopped this request's query (and so killed its worker and forked a successor):
    its time limit, its memory limit or its worker's death."""
    return ((r.status == TIMEOUT_STATUS and r.detail.startswith("the query ran longer"))
            or (r.status == 400 and "memory" in r.detail) or (r.status == 503 and "died" in r.detail))


# a runaway must come back within its limit + --margin (main() sets it): a stopped worker's successor is
# forked in ~0.1 s, so a client's next runaway no longer waits for a reload of the store
r_margin = [1.0]


def analyse(records: list[Record], sampler: Sampler, report: dict, args) -> dict:
    kinds: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        kinds[r.kind].append(r)
    rows = {}
    for kind, rs in sorted(kinds.items(), key=lambda kv: (kv[0] == "runaway", kv[0])):
        lat = [r.latency * 1000 for r in rs if r.status is not None]
        rows[kind] = {"requests": len(rs), "2xx": sum(200 <= (r.status or 0) < 300 for r in rs),
                      "3xx": sum(300 <= (r.status or 0) < 400 for r in rs),
                      "4xx": sum(400 <= (r.status or 0) < 500 for r in rs),
                      "5xx": sum((r.status or 0) >= 500 for r in rs),
                      "lost": sum(r.status is None for r in rs), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
                      "p99_ms": pct(lat, 99), "max_ms": max(lat, default=float("nan"))}
    normal = [r for r in records if r.expect != "timeout"]
    run_recs = [r for r in records if r.expect == "timeout"]
    lat = [r.latency * 1000 for r in normal if r.status is not None]
    rows["all but runaways"] = {"requests": len(normal), **{c: sum(rows[k][c] for k in rows if k != "runaway")
                                                            for c in ("2xx", "3xx", "4xx", "5xx", "lost")},
                                "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "p99_ms": pct(lat, 99),
                                "max_ms": max(lat, default=float("nan"))}
    problems = Counter((r.kind, r.status, r.detail) for r in normal if not ok_status(r))
    unexpected_5xx = [r for r in normal if (r.status or 0) >= 500]
    runaway_by_variant = {}
    for label in dict.fromkeys(r.label for r in run_recs):
        rs = [r for r in run_recs if r.label == label]
        runaway_by_variant[label] = {"count": len(rs), "limit_s": rs[0].limit,
                                     "statuses": dict(Counter(str(r.status) for r in rs)),
                                     "stopped": sum(ok_status(r) for r in rs),
                                     "median_s": statistics.median(r.latency for r in rs),
                                     "max_s": max(r.latency for r in rs)}

    # memory over the run: samples taken while requests were in flight
    s = sampler.samples
    load = [x for x in s if x.t <= report["run"]["seconds"] + (s[0].t if s else 0)] or s
    half = load[len(load) // 2:]
    total_slope = slope([(x.done, x.pss["total"]) for x in half])
    parent_slope = slope([(x.done, x.rss["uvicorn"]) for x in half])
    workers_seen = {p for x in s for p in x.workers}
    before, after = report["before"], report["after"]
    growth = after["pss_mib"]["total"] - before["pss_mib"]["total"]  # PSS: the store once, however many workers
    allowed = max(50.0, 0.10 * before["pss_mib"]["total"])
    p_growth = after["rss_mib"]["uvicorn"] - before["rss_mib"]["uvicorn"]  # one process: its own RSS
    killed = "the query ran longer"  # the server's detail for a query stopped at its time limit

    def during(kind: str, f) -> dict[str, float]:
        keys = dict.fromkeys(k for x in s for k in getattr(x, kind))
        return {k: f((getattr(x, kind).get(k, 0.0) for x in s), default=float("nan")) for k in keys}

    memory = {"pss_before_settled_mib": before["pss_mib"], "rss_before_settled_mib": before["rss_mib"],
              "pss_after_settled_mib": after["pss_mib"], "rss_after_settled_mib": after["rss_mib"],
              "pss_after_sequential_warmup_mib": report["after_sequential_warmup"]["pss_mib"],
              "rss_after_sequential_warmup_mib": report["after_sequential_warmup"]["rss_mib"],
              "pss_growth_mib": growth, "allowed_growth_mib": allowed, "uvicorn_rss_growth_mib": p_growth,
              "pss_max_during_mib": during("pss", max), "rss_max_during_mib": during("rss", max),
              "pss_min_during_mib": during("pss", min), "rss_min_during_mib": during("rss", min),
              "slope_total_pss_mib_per_1000_req": None if total_slope is None else total_slope * 1000,
              "slope_uvicorn_rss_mib_per_1000_req": None if parent_slope is None else parent_slope * 1000,
              "samples": len(s), "worker_processes_seen": len(workers_seen),
              "store_processes_seen": len({p for x in s for p in x.stores}),
              "parent_threads_max": max((x.threads for x in s), default=0),
              "parent_threads_end": s[-1].threads if s else 0,
              "queries_killed_at_limit": {"runaways": sum(r.detail.startswith(killed) for r in run_recs),
                                          "other": sum(r.detail.startswith(killed) for r in normal)},
              # query workers seen in the samples but not in the first: successors forked after a stop
              # (one that lived under 0.5 s may be missed)
              "worker_respawns": len(workers_seen - set(s[0].workers)) if s else 0,
              "peak_rss_mib_live_vmhwm": report["peak_rss_mib_live"]}
    stopped_all = report["warmup"]["queries_stopped"] + sum(map(stopped_query, records))
    kill_to_ready = {**(report["kill_to_ready_ms"] or {}), "queries_stopped_incl_warmup": stopped_all,
                     "replacements": min(100, stopped_all)}  # /health keeps the last 100
    run = report["run"]
    lost = run["sent"] - run["answered"]
    warm_5xx = sum((r.status or 0) >= 500 for r in report_warm(report))
    stopped = sum(ok_status(r) for r in run_recs)
    past_limit = max((r.latency - r.queued - (r.limit or 0.0) for r in run_recs), default=0)
    checks = [
        ("zero unexpected 5xx", not unexpected_5xx,
         f"{len(unexpected_5xx)} 5xx among {len(normal):,} non-runaway requests"
         + (f" (+{warm_5xx} in the warm-up)" if report_warm(report) else "")),
        ("zero lost requests", lost == 0 and run["records"] == run["sent"],
         f"{run['sent']:,} sent, {run['answered']:,} answered, {lost} without an HTTP answer"),
        ("memory flat", growth <= allowed and p_growth <= allowed,
         f"settled total PSS {before['pss_mib']['total']:.0f} → {after['pss_mib']['total']:.0f} MiB "
         f"({growth:+.0f}; allowed +{allowed:.0f}); uvicorn process RSS {before['rss_mib']['uvicorn']:.0f} → "
         f"{after['rss_mib']['uvicorn']:.0f} MiB ({p_growth:+.0f})"),
        ("every runaway stopped by the timeout", bool(run_recs) and all(ok_status(r) for r in run_recs),
         f"{stopped}/{len(run_recs)} answered {TIMEOUT_STATUS} (or 400 memory limit) within limit + "
         f"{args.margin:g} s of getting a worker; max {past_limit:+.2f} s past the limit"),
        ("server idle again with all workers", after["settled"] and run["health_after"] == 200,
         f"{after['seconds']:.1f} s after the load: {after['store_processes']} store process, "
         f"{after['workers']}/{run['workers']} query workers ({after['processes']}), "
         f"{after['cpu_cores'] * 100:.0f}% of a core; /health {run['health_after']}"),
        ("every other request got its expected status", not problems,
         f"{sum(problems.values())} of {len(normal):,} did not"),
    ]
    return {"kinds": rows, "runaways": runaway_by_variant, "memory": memory, "kill_to_ready": kill_to_ready,
            "checks": [{"check": c, "pass": bool(p), "detail": d} for c, p, d in checks],
            "problems": [{"kind": k, "status": s_, "detail": d, "count": n}
                         for (k, s_, d), n in problems.most_common()],
            "unexpected_5xx_examples": [asdict(r) for r in unexpected_5xx[:20]],
            "runaway_records": [asdict(r) for r in run_recs],
            "memory_samples": [{"t": round(x.t, 2), "done": x.done,
                                "pss_mib": {k: round(v, 1) for k, v in x.pss.items()},
                                "rss_mib": {k: round(v, 1) for k, v in x.rss.items()},
                                "workers": len(x.workers), "threads": x.threads} for x in s]}


def report_warm(report: dict) -> list[Record]:
    return [Record(**r) for r in report.get("warmup", {}).get("unexpected", [])]


def fmt_ms(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def markdown(rep: dict) -> str:
    c, run, m = rep["config"], rep["run"], rep["memory"]
    lines = [f"### Load test — {c['size']} ({rep['triples']:,} triples), {c['workers']} query workers, "
             f"query timeout {c['timeout']:g} s",
             "",
             f"Machine: {rep['machine']}. Code: {rep['code']}. Server ready in {rep['ready_s']:.1f} s. "
             f"{c['clients']} client threads (keep-alive), loopback. {run['sent']:,} requests in "
             f"{run['seconds']:.1f} s = {run['sent'] / run['seconds']:.0f} req/s (stopped by the "
             f"{run['stopped_by']}; caps {c['requests']:,} requests / {c['seconds']:g} s), after a warm-up of "
             f"{rep['warmup']['requests']} requests ({rep['warmup']['concurrent']} of them concurrent). "
             f"One runaway per {c['runaway_every']} requests, at most {c['runaway_concurrency'] or 'any'} "
             f"at a time: {run['runaways_sent']} sent"
             + (f", {run['runaways_deferred_unsent']} still deferred at the end"
                if run['runaways_deferred_unsent'] else "")
             + ".", "",
             "| kind | requests | 2xx | 4xx | 5xx | lost | p50 ms | p95 ms | p99 ms | max ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind, k in rep["kinds"].items():
        name = f"**{kind}**" if kind == "all but runaways" else kind
        lines.append(f"| {name} | {k['requests']:,} | {k['2xx']:,} | {k['4xx']:,} | {k['5xx']:,} | {k['lost']} | "
                     f"{fmt_ms(k['p50_ms'])} | {fmt_ms(k['p95_ms'])} | {fmt_ms(k['p99_ms'])} | {fmt_ms(k['max_ms'])} |")
    cpu = rep["cpu_cores"]
    lines += ["", f"CPU during the run, in cores (of {cpu['machine_cores']}): server {cpu['server']:.2f} (uvicorn, "
              f"store process, query workers incl. stopped ones), load generator {cpu['load_generator']:.2f}, "
              f"other processes on the machine {cpu['other_processes']:.2f}"
              + (" — **the machine was busy with other work; latency and throughput figures are affected**"
                 if cpu["other_processes"] > 0.25 else "") + "."]
    lines += ["", f"Runaway queries (expected: HTTP {TIMEOUT_STATUS}, or 400 at the memory limit, within the limit + "
              f"{c['margin']:g} s):", "",
              "| runaway | limit s | sent | statuses | stopped in time | median s | max s |",
              "| --- | ---: | ---: | --- | ---: | ---: | ---: |"]
    for label, v in rep["runaways"].items():
        sts = ", ".join(f"{k}×{n}" for k, n in sorted(v["statuses"].items()))
        lines.append(f"| {label} | {v['limit_s']:g} | {v['count']} | {sts} | {v['stopped']}/{v['count']} | "
                     f"{v['median_s']:.2f} | {v['max_s']:.2f} |")
    k2r = rep["kill_to_ready"]
    lines += ["", "No query stopped, no worker replaced." if not k2r["queries_stopped_incl_warmup"] else
              "/health reports no replacement." if k2r.get("last_100_median") is None else
              f"A stopped worker's successor ready in median {k2r['last_100_median']:.1f} ms, max "
              f"{k2r['last_100_max']:.1f} ms over the last {k2r['replacements']} replacements (/health "
              f"`workers.kill_to_ready_ms`; the server stopped {k2r['queries_stopped_incl_warmup']} queries during "
              "the load test, warm-up included, and keeps the last 100)."]
    slope_t, slope_p = m["slope_total_pss_mib_per_1000_req"], m["slope_uvicorn_rss_mib_per_1000_req"]
    settled = {"after the sequential warm-up": ("pss_after_sequential_warmup_mib", "rss_after_sequential_warmup_mib"),
               "after the concurrent warm-up (baseline)": ("pss_before_settled_mib", "rss_before_settled_mib"),
               "after the run": ("pss_after_settled_mib", "rss_after_settled_mib"),
               "during the run: min": ("pss_min_during_mib", "rss_min_during_mib"),
               "during the run: max": ("pss_max_during_mib", "rss_max_during_mib")}
    cols = [r for r in ROLE_NAMES if any(r in m[k] for keys in settled.values() for k in keys)]
    before_p, before_r, after_p, after_r = (m[k] for k in ("pss_before_settled_mib", "rss_before_settled_mib",
                                                            "pss_after_settled_mib", "rss_after_settled_mib"))

    def row(name: str, pss: dict, rss: dict, fmt: str = ".0f") -> str:
        cells = [f"{pss.get(k, 0.0):{fmt}} / {rss.get(k, 0.0):{fmt}}" for k in cols]
        return f"| {name} | {pss['total']:{fmt}} | {rss['total']:{fmt}} | " + " | ".join(cells) + " |"

    lines += ["", "Memory of the server's process tree, MiB. **PSS** counts shared pages once: the server's real "
              "footprint; **RSS** counts the store once per worker (the query workers are forks of the store "
              "process and share its pages copy-on-write). Per role: PSS / RSS. Settled: the store process and "
              "all workers there, the tree under 10% of a core (min and max during the run: of each column "
              "separately).", "",
              "| settled | total PSS | total RSS | " + " | ".join(ROLE_NAMES[k] for k in cols) + " |",
              "| --- | ---: | ---: | " + " | ".join("---:" for _ in cols) + " |",
              *(row(name, m[kp], m[kr]) for name, (kp, kr) in list(settled.items())[:3]),
              row("**change** (baseline → after the run)", {k: after_p.get(k, 0.0) - before_p.get(k, 0.0)
                                                           for k in after_p | before_p},
                  {k: after_r.get(k, 0.0) - before_r.get(k, 0.0) for k in after_r | before_r}, "+.0f"),
              *(row(name, m[kp], m[kr]) for name, (kp, kr) in list(settled.items())[3:]), "",
              f"- processes: {rep['child_processes']} under the uvicorn process (after the run: "
              f"{rep['after']['processes']}); uvicorn {m['parent_threads_max']} threads at most; "
              f"{m['samples']} samples every 0.5 s",
              f"- {m['worker_respawns']} query workers forked during the run (seen in the samples; "
              f"{m['store_processes_seen']} store process(es) seen); workers killed at the time limit: "
              f"{m['queries_killed_at_limit']['runaways']} running a runaway, {m['queries_killed_at_limit']['other']} "
              "running an ordinary query",
              "- slope over the second half (least squares): "
              + ("–" if slope_t is None else f"{slope_t:+.1f} MiB PSS / 1000 requests for the tree, ")
              + ("" if slope_p is None else f"{slope_p:+.2f} MiB RSS for the uvicorn process"),
              f"- settling: {rep['before']['seconds']:.1f} s before the run, {rep['after']['seconds']:.1f} s after it",
              ""]
    if rep["problems"]:
        lines += ["Requests that did not get their expected status (kind, status, detail, count):", ""]
        for p in rep["problems"][:15]:
            lines.append(f"- {p['kind']}: {p['status']} × {p['count']} — {p['detail'][:160]}")
        lines.append("")
    lines += ["Checks:", ""]
    for ch in rep["checks"]:
        lines.append(f"- **{'PASS' if ch['pass'] else 'FAIL'}** {ch['check']}: {ch['detail']}")
    lines.append(f"- server log ({rep['server_log']}): {rep['server_log_tracebacks']} tracebacks, "
                 f"{len(rep['server_log_errors'])} ERROR lines")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="100k",
                    help="synthetic data size (10k, 100k, 1m …); 0 or none: shipped data only")
    ap.add_argument("--requests", type=int, default=4000, help="requests in the run (default 4000)")
    ap.add_argument("--seconds", type=float, default=120, help="hard cap on the run's duration (default 120)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    ap.add_argument("--timeout", type=float, default=2.0, help="the server's --query-timeout, s (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="the server's query workers (default 2, its own default)")
    ap.add_argument("--runaway-every", type=int, default=200, help="one runaway query per K requests (0: none)")
    ap.add_argument("--runaway-concurrency", type=int, default=1,
                    help="runaways in flight at once; later ones wait for a slot (0: no limit; default 1)")
    ap.add_argument("--warmup-requests", type=int, default=400,
                    help="concurrent warm-up requests (same mix, with runaways) before the baseline (default 400)")
    ap.add_argument("--warmup-seconds", type=float, default=60, help="cap on the concurrent warm-up, s (default 60)")
    ap.add_argument("--margin", type=float, default=1.0, help="a runaway must stop within its limit + this, s")
    ap.add_argument("--client-timeout", type=float, default=30.0, help="client-side timeout per request, s")
    ap.add_argument("--settle", type=float, default=90.0, help="longest wait for the server to settle, s")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--server-pythonpath", type=Path,
                    help="put this directory first on the server's PYTHONPATH (to load test another checkout's src/; "
                         "queries/ and data/ still come from this checkout)")
    ap.add_argument("--progress", type=int, default=1000, help="print progress every N requests (0: never)")
    ap.add_argument("--log-level", default="warning", help="the server's log level (default warning)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "loadtest",
                    help="results path without extension (default benchmarks/results/loadtest)")
    args = ap.parse_args()
    r_margin[0] = args.margin
    return write_report(loadtest(args), markdown, args.out)


def write_report(report: dict, markdown, out: Path) -> int:
    """Write ``out``.json and ``out``.md, print the Markdown; exit status 0 if every check passed."""
    table = markdown(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    Path(f"{out}.md").write_text(table + "\n")
    print()
    print(table)
    return 0 if all(c["pass"] for c in report["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
