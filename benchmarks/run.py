"""Benchmarks: policygraph's API and /sparql against an Oxigraph server on the same data.

For each size it generates synthetic data (benchmarks/generate.py), validates it with SHACL (up to
--validate-max), serves it with the shipped build through `policygraph serve --graph` and through
`oxigraph serve-read-only --union-default-graph` (and rdflib-endpoint up to --rdflib-max), all on
127.0.0.1, then runs every named query with its defaults: through /queries/{name}, through
policygraph's /sparql with the same text, and against Oxigraph. Medians of --runs runs after a
warm-up; a query over the time limit (QUERY_TIMEOUT) is recorded as such, not retried. Then the
server tree's memory (PSS and RSS of uvicorn, the store process and its forked workers), one
runaway query that the server kills (kill-to-ready of its worker), and a throughput figure
(requests/s, 8 concurrent clients, --seconds each). Writes latest.{md,json} into --out.

    python benchmarks/run.py --sizes 10k,100k,1m
    python benchmarks/run.py --sizes 5m --runs 3 --seconds 10 --out benchmarks/results/run-5m
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from generate import generate, parse_size  # noqa: E402

from policygraph.store.named_queries import NamedQuery, load_queries  # noqa: E402

QUERY_TIMEOUT = 120  # seconds: policygraph's --query-timeout, and the client's cap on Oxigraph
# a cross join of the whole store thrice: runs far past its ?timeout=1 at any size
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, proc: subprocess.Popen, seconds: float = 600) -> float:
    start = time.monotonic()
    while True:
        try:
            httpx.get(url, timeout=2)
            return time.monotonic() - start
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}") from None
            if time.monotonic() - start > seconds:
                raise RuntimeError(f"{url} not ready after {seconds} s") from None
            time.sleep(0.2)


def wait_lookups(base: str, seconds: float = 1200) -> float:
    """Seconds until /health says lookups are answered in process (the service builds an on-disk copy of
    the store after it is ready, store/lookups.py): measurements wait for it, so the copy's load does not
    share the cores with them. 0 when the engine has no lookups (a remote store, --no-lookups)."""
    start = time.monotonic()
    while (httpx.get(base + "/health", timeout=10).json().get("workers") or {}).get("lookups") == "copying":
        if time.monotonic() - start > seconds:
            raise RuntimeError(f"lookups not ready after {seconds} s")
        time.sleep(0.5)
    return time.monotonic() - start


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process and its direct children (VmHWM), MiB. Kept for loadtest.py; it
    misses the query workers (the store process's children) and a sum of RSS counts the store once per
    process that maps it: run.py reports tree_memory() instead."""
    total = 0
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    pids = [pid, *(int(p) for p in children)]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def tree_pids(root: int) -> list[int]:
    """A process and all its descendants, by the ppid in /proc/*/stat: the query workers are children
    of the store process, not of uvicorn."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # after "pid (comm) state"
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def pss_rss_kib(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) of a process in KiB (/proc/PID/smaps_rollup), or None if it has gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]  # after the header line
    except OSError:
        return None
    kib = {key: int(rest.split()[0]) for key, _, rest in (line.partition(":") for line in lines)
           if key in ("Pss", "Rss")}
    return (kib["Pss"], kib["Rss"]) if len(kib) == 2 else None


def tree_memory(root: int) -> dict:
    """PSS and RSS totals (MiB) of a process tree. PSS splits a shared page among the processes that map
    it, so the store the workers share copy-on-write with the store process counts once; RSS counts it
    in every one of them."""
    pss = rss = n = 0
    for pid in tree_pids(root):
        if (m := pss_rss_kib(pid)) is not None:
            pss, rss, n = pss + m[0], rss + m[1], n + 1
    return {"pss_mib": pss / 1024, "rss_mib": rss / 1024, "processes": n}


def store_process_rss_mib(root: int) -> float | None:
    """RSS of the store process (uvicorn's child started by multiprocessing spawn), MiB: one loaded store."""
    for pid in tree_pids(root)[1:]:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        # the workers have its command line too, but are its children
        if ppid == root and b"spawn_main" in cmd and (m := pss_rss_kib(pid)):
            return m[1] / 1024
    return None


def median_ms(send, runs: int, cap: float) -> tuple[float | None, str | None]:
    """Median ms of ``runs`` requests after a warm-up, or (None, why) at the first that fails: a query
    over the time limit would cost the limit again on every run. ``cap``: the client's timeout, s."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        try:
            r = send()
        except httpx.TimeoutException:
            return None, f"> {cap:g} s"
        except httpx.TransportError as e:
            return None, type(e).__name__
        if r.status_code != 200:
            return None, _failure(r)
        if i:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), None


def _failure(r: httpx.Response) -> str:
    """"HTTP nnn", with the error's name when the server gave one: policygraph answers a query stopped
    at its memory limit with 400, like a bad one."""
    try:
        error = r.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return f"HTTP {r.status_code}" + (f" ({error})" if isinstance(error, str) else "")


def throughput(url: str, make_request, seconds: float, clients: int = 8) -> tuple[float, int]:
    """Requests per second with ``clients`` threads for ``seconds``; also the count of non-2xx answers."""
    stop = time.monotonic() + seconds
    counts, errors = [0] * clients, [0] * clients

    def worker(i: int):
        with httpx.Client(timeout=30) as c:
            while time.monotonic() < stop:
                try:
                    failed = make_request(c).status_code >= 300
                except httpx.TransportError:  # a timeout at a large size: an error, not a lost thread
                    failed = True
                counts[i] += 1
                errors[i] += failed

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds, sum(errors)


class RdflibEndpoint:
    """`rdflib-endpoint serve` (rdflib's in-memory Dataset, union default graph) on the same files.

    It evaluates queries on its event loop, so a slow query blocks the server and goes on after the
    client gives up: a query over the cap is recorded as such and the server is restarted."""

    def __init__(self, files: list[Path], cap: float):
        self.files, self.cap, self.proc, self.url = files, cap, None, ""
        self.load_s = 0.0

    def start(self) -> None:
        port = free_port()
        exe = shutil.which("rdflib-endpoint") or str(Path(sys.executable).parent / "rdflib-endpoint")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port), *map(str, self.files)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}/"
        wait(self.url + "?query=ASK%7B%7D", self.proc)
        self.load_s = self.load_s or time.monotonic() - t0

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def median_ms(self, text: str, runs: int) -> dict:
        """Median of up to ``runs`` runs after a warm-up, stopping once the runs have used the cap.
        ``failure`` says why there is no median: the warm-up passed the cap, or rdflib refused the query."""
        headers = {"Accept": "application/sparql-results+json"}
        times: list[float] = []
        spent = 0.0
        with httpx.Client(timeout=self.cap) as c:
            for i in range(runs + 1):
                start = time.perf_counter()
                try:
                    r = c.post(self.url, data={"query": text}, headers=headers)
                except httpx.TimeoutException:
                    self.stop()
                    self.start()
                    return {"rdflib_ms": None, "rdflib_runs": 0, "rdflib_failure": f"> {self.cap:g} s"}
                if r.status_code != 200:
                    return {"rdflib_ms": None, "rdflib_runs": 0,
                            "rdflib_failure": f"HTTP {r.status_code}: {r.text.strip()[:120]}"}
                elapsed = time.perf_counter() - start
                spent += elapsed
                if i:
                    times.append(elapsed * 1000)
                if spent > self.cap and times:
                    break
        return {"rdflib_ms": statistics.median(times), "rdflib_runs": len(times), "rdflib_failure": None}


def timed_command(argv: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS MiB, exit code) of a command, measured by a fresh Python that runs only it."""
    probe = ("import resource, subprocess, sys, time; t = time.monotonic(); "
             "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
             "print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, rc)")
    out = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, rss, rc = out.stdout.split()
    return float(seconds), float(rss), int(rc)


def bench_size(size: str, args, oxigraph: str) -> dict:
    out = HERE / "out"
    data = out / f"synthetic-{size}.nq"
    t0 = time.monotonic()
    quads = generate(parse_size(size), data, seed=args.seed)
    gen_s = time.monotonic() - t0
    nq = ROOT / "dist" / "policygraph.nq"
    validation = validate(size, [nq, data], args.validate_max)

    pg, pg_url, pg_ready_s = serve_policygraph(data)
    # at once, before Oxigraph's load competes for the machine
    memory = {"ready": tree_memory(pg.pid), "store_process_rss_mib": store_process_rss_mib(pg.pid)}
    store_dir = out / f"oxigraph-{size}"
    ox, rdflib = OxigraphServer(oxigraph, store_dir), None
    try:
        ox_load_s = load_oxigraph(oxigraph, store_dir, [nq, data])
        if parse_size(size) <= parse_size(args.rdflib_max):
            rdflib = RdflibEndpoint([nq, data], args.rdflib_cap)
            rdflib.start()
        ox.start()
        triples = httpx.get(pg_url + "/health").json()["triples"]
        results, targets = [], Targets(pg_url, ox, rdflib)
        for name, q in load_queries(ROOT / "queries").items():
            results.append(time_query(targets, name, q, args))
            print_row(size, results[-1])
        memory["after_timings"] = tree_memory(pg.pid)  # before the runaway replaces a worker with a fresh fork
        ox_memory = tree_memory(ox.proc.pid)
        kill = kill_to_ready(pg_url)
        ready, after = memory["ready"], memory["after_timings"]
        print(f"  {size:>5} memory PSS {ready['pss_mib']:.0f} → {after['pss_mib']:.0f} MiB, "
              f"RSS {ready['rss_mib']:.0f} → {after['rss_mib']:.0f} MiB; runaway HTTP {kill['status']}, "
              f"kill-to-ready {kill['last_100_median']} ms", flush=True)
        return {"size": size, "quads_generated": quads, "triples_served": triples, "generate_s": gen_s,
                "policygraph_ready_s": pg_ready_s, "oxigraph_load_s": ox_load_s, **validation,
                "rdflib_load_s": rdflib.load_s if rdflib else None, "rdflib_cap_s": args.rdflib_cap,
                "policygraph_memory": memory, "oxigraph_memory_after_timings": ox_memory,
                "oxigraph_restarts": ox.restarts, "kill_to_ready": kill, "queries": results,
                "throughput": measure_throughput(pg_url, ox.url, args.seconds)}
    finally:
        pg.terminate()
        pg.wait(timeout=30)
        ox.stop()
        if rdflib:
            rdflib.stop()
        shutil.rmtree(store_dir, ignore_errors=True)


def validate(size: str, files: list[Path], most: str) -> dict:
    """SHACL validation of the whole graph (shipped build + synthetic file) on the Oxigraph engine, for
    sizes up to ``most``: above, it is not run (at 5M it takes minutes and GiBs)."""
    if parse_size(size) > parse_size(most):
        print(f"  {size:>5} validation not run (above --validate-max {most})", flush=True)
        return {"validation_s": None, "validation_peak_rss_mib": None, "valid": None}
    val_s, val_rss, val_rc = timed_command([sys.executable, "-m", "policygraph", "validate", "--engine", "oxigraph",
                                            *map(str, files)])
    print(f"  {size:>5} validation {val_s:.1f} s, peak RSS {val_rss:.0f} MiB, "
          f"{'valid' if val_rc == 0 else f'exit {val_rc}'}", flush=True)
    return {"validation_s": val_s, "validation_peak_rss_mib": val_rss, "valid": val_rc == 0}


def serve_policygraph(data: Path) -> tuple[subprocess.Popen, str, float]:
    """`policygraph serve` over the build and ``data``: the process, its URL, and the seconds until it answered
    (start, load the build and the synthetic file in the store process, fork the workers from it)."""
    port = free_port()
    t0 = time.monotonic()
    pg = subprocess.Popen([sys.executable, "-m", "policygraph", "serve", "--port", str(port), "--graph", str(data),
                           "--workers", "2", "--query-timeout", str(QUERY_TIMEOUT), "--max-rows", "100000",
                           # the benchmark's clients all come from 127.0.0.1: let them use both workers
                           "--client-share", "0"],
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait(url + "/health", pg)
    ready = time.monotonic() - t0
    wait_lookups(url)
    return pg, url, ready


def load_oxigraph(oxigraph: str, store_dir: Path, files: list[Path]) -> float:
    """Seconds to load ``files`` into a fresh Oxigraph store and optimize it."""
    shutil.rmtree(store_dir, ignore_errors=True)
    t0 = time.monotonic()
    subprocess.run([oxigraph, "load", "--location", str(store_dir), *(a for f in files for a in ("--file", str(f)))],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # as Oxigraph advises after a bulk load (several times faster aggregations): fair to the baseline
    subprocess.run([oxigraph, "optimize", "--location", str(store_dir)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


class OxigraphServer:
    """`oxigraph serve-read-only --union-default-graph` on a loaded store. Its --timeout-s does not stop an
    aggregate in time (given 1 s, a COUNT over a cross join ran 40 s, then answered 200 with an error in
    the body), and a query goes on after its client has gone: one over the client's cap is recorded as
    such and the server restarted, so that it does not hold a core through the next timings."""

    def __init__(self, exe: str, store_dir: Path):
        self.exe, self.store_dir, self.proc, self.url, self.restarts = exe, store_dir, None, "", 0

    def start(self) -> None:
        port = free_port()
        self.proc = subprocess.Popen([self.exe, "serve-read-only", "--location", str(self.store_dir),
                                      "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        wait(self.url + "/query?query=ASK%7B%7D", self.proc)

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1


class Targets(NamedTuple):
    policygraph: str  # its URL
    oxigraph: OxigraphServer
    rdflib: RdflibEndpoint | None


ACCEPT = {"Accept": "application/sparql-results+json"}


def time_query(targets: Targets, name: str, q: NamedQuery, args: argparse.Namespace) -> dict:
    """Median times of one named query through the API, policygraph's /sparql and Oxigraph (and rdflib-endpoint).
    A target without a time has its ``<target>_failure`` instead, and the row's other targets are still timed."""
    text = q.bind({})
    if q.pagination:
        text = q.page(text, 1, q.pagination)
    form = {"query": text}
    pg_url, ox, rdflib = targets
    row: dict = {"query": name}
    # policygraph answers 504 at QUERY_TIMEOUT itself; the client's longer cap is for a server that hangs
    cap = QUERY_TIMEOUT + 60
    with httpx.Client(timeout=cap) as c:
        row["api_ms"], row["api_failure"] = median_ms(lambda: c.get(f"{pg_url}/queries/{name}"), args.runs, cap)
        row["sparql_ms"], row["sparql_failure"] = median_ms(
            lambda: c.post(f"{pg_url}/sparql", data=form, headers=ACCEPT), args.runs, cap)
    for target in ("api", "sparql"):
        if row[f"{target}_failure"] == "HTTP 504 (query timeout)":
            row[f"{target}_failure"] = f"HTTP 504 (> {QUERY_TIMEOUT} s)"
    with httpx.Client(timeout=QUERY_TIMEOUT) as c:  # a read timeout: aggregates send nothing until done
        row["oxigraph_ms"], row["oxigraph_failure"] = median_ms(
            lambda: c.post(f"{ox.url}/query", data=form, headers=ACCEPT), args.runs, QUERY_TIMEOUT)
    if row["oxigraph_failure"] and not row["oxigraph_failure"].startswith("HTTP"):
        ox.restart()  # it may still be running the query, or be gone
    oxi = row["oxigraph_ms"]
    for target in ("api", "sparql"):
        ms = row[f"{target}_ms"]
        row[f"{target}_ratio"] = ms / oxi if ms is not None and oxi is not None else None
    if rdflib:
        row.update(rdflib.median_ms(text, args.runs))
        rd, sparql = row["rdflib_ms"], row["sparql_ms"]
        row["rdflib_ratio"] = rd / sparql if rd is not None and sparql is not None else None
    return row


def kill_to_ready(url: str, seconds: float = 60) -> dict:
    """One runaway query sent to /sparql with timeout=1: the server answers 504 and kills its worker. Then
    /health until the pool is whole again, and its kill-to-ready times in ms: median and max over the last
    100 kills, so queries stopped at the time limit earlier in the run count too."""
    t0 = time.monotonic()
    r = httpx.post(url + "/sparql", data={"query": RUNAWAY, "timeout": "1"}, headers=ACCEPT, timeout=60)
    answered = time.monotonic()
    while True:
        pool = httpx.get(url + "/health", timeout=10).json()["workers"]
        whole = pool["live"] >= pool["configured"] and not pool["starting"]
        if whole or time.monotonic() - answered > seconds:
            break
        time.sleep(0.01)
    return {"status": r.status_code, "answer_s": answered - t0, "whole": whole,
            "whole_after_answer_ms": (time.monotonic() - answered) * 1000, **pool["kill_to_ready_ms"]}


def print_row(size: str, row: dict) -> None:
    def cell(target: str) -> str:
        ms = row[f"{target}_ms"]
        return f"{ms:8.1f} ms" if ms is not None else row[f"{target}_failure"]

    rd_note = "" if "rdflib_ms" not in row else f"  rdflib-endpoint {cell('rdflib')}"
    print(f"  {size:>5} {row['query']:38s} api {cell('api')}  /sparql {cell('sparql')}  "
          f"oxigraph {cell('oxigraph')}{rd_note}", flush=True)


def measure_throughput(pg_url: str, ox_url: str, seconds: float) -> dict:
    """Requests per second of 8 clients on the `prefectures` query: /sparql, the API, and Oxigraph."""
    probe = {"query": load_queries(ROOT / "queries")["prefectures"].bind({})}
    pg_rps, pg_err = throughput(pg_url, lambda c: c.post(f"{pg_url}/sparql", data=probe, headers=ACCEPT), seconds)
    api_rps, api_err = throughput(pg_url, lambda c: c.get(f"{pg_url}/queries/prefectures"), seconds)
    ox_rps, ox_err = throughput(ox_url, lambda c: c.post(f"{ox_url}/query", data=probe, headers=ACCEPT), seconds)
    return {"sparql_rps": pg_rps, "sparql_errors": pg_err, "api_rps": api_rps, "api_errors": api_err,
            "oxigraph_rps": ox_rps, "oxigraph_errors": ox_err, "clients": 8, "seconds": seconds}


def _rdflib_cells(q: dict, runs: int) -> tuple[str, str]:
    """The rdflib-endpoint time and ratio cells of a table row."""
    if "rdflib_ms" not in q:
        return "–", "–"
    failure = q["rdflib_failure"]
    if failure and failure.startswith(">"):
        cap_ms = float(failure.strip("> s")) * 1000
        return f"> {cap_ms:,.0f}", f"> {cap_ms / q['sparql_ms']:,.0f}" if q["sparql_ms"] else "–"
    if failure:
        return f"error ({failure.split(':')[0]})", "–"
    done = "" if q["rdflib_runs"] >= runs else f" ({q['rdflib_runs']} runs)"
    return f"{q['rdflib_ms']:,.1f}{done}", f"{q['rdflib_ratio']:,.1f}" if q["rdflib_ratio"] is not None else "–"


def _ms_cell(q: dict, target: str) -> str:
    return f"{q[f'{target}_ms']:,.1f}" if q[f"{target}_ms"] is not None else q[f"{target}_failure"]


def _ratio_cell(ratio: float | None) -> str:
    return f"{ratio:.2f}" if ratio is not None else "–"


def _summary_row(size: dict) -> str:
    """One size's row of the summary table (its columns are explained under the table)."""
    if size["valid"] is None:
        val = "not run"
    else:
        val = (f"{size['validation_s']:.1f} s, {'valid' if size['valid'] else 'NOT VALID'}, "
               f"{size['validation_peak_rss_mib']:.0f} MiB")
    mem = size["policygraph_memory"]
    ready, after = mem["ready"], mem["after_timings"]
    store = mem["store_process_rss_mib"]
    k = size["kill_to_ready"]
    if k["status"] != 504 or k["last_100_median"] is None:
        kill = f"no kill (HTTP {k['status']})"
    else:
        kill = f"{k['last_100_median']:,.0f} / {k['last_100_max']:,.0f}" + ("" if k["whole"] else " (pool not whole)")
    rd = f"{size['rdflib_load_s']:.1f}" if size.get("rdflib_load_s") else "not run"
    cells = [size["size"], f"{size['triples_served']:,}", f"{size['generate_s']:.1f}", val,
             f"{size['policygraph_ready_s']:.1f}", f"{ready['pss_mib']:,.0f}", f"{ready['rss_mib']:,.0f}",
             f"{store:,.0f}" if store is not None else "–", f"{after['pss_mib']:,.0f}", f"{after['rss_mib']:,.0f}",
             kill, f"{size['oxigraph_load_s']:.1f}", f"{size['oxigraph_memory_after_timings']['pss_mib']:,.0f}", rd]
    return "| " + " | ".join(cells) + " |"


def markdown(report: dict) -> str:
    cap = report["query_timeout_s"]
    lines = [f"Machine: {report['machine']}. Build of the shipped data (with SHACL validation): "
             f"{report['build_s']:.1f} s, peak RSS {report['build_peak_rss_mib']:.0f} MiB. policygraph serves with "
             f"2 query workers and a {cap} s query time limit.", "",
             "| size | triples served | generate (s) | SHACL validation | policygraph ready (s) | PSS at ready (MiB) "
             "| RSS at ready (MiB) | one store: store process RSS at ready (MiB) | PSS after timings (MiB) "
             "| RSS after timings (MiB) | kill → ready, median / max (ms) | Oxigraph load + optimize (s) "
             "| Oxigraph PSS after timings (MiB) | rdflib-endpoint load (s) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
             *map(_summary_row, report["sizes"]), "",
             "- **triples served**: the count /health reports (the shipped build and the synthetic quads).",
             "- **generate**: writing the synthetic N-Quads (benchmarks/generate.py).",
             "- **SHACL validation**: `policygraph validate --engine oxigraph` over the build and the synthetic "
             f"file: seconds, verdict, peak RSS; not run above --validate-max ({report['validate_max']}).",
             "- **policygraph ready**: from starting `policygraph serve --graph` to its first answer (the store "
             "process has loaded the store and forked the query workers).",
             "- **PSS / RSS at ready, after timings**: totals over the whole server tree (uvicorn, the store "
             "process, the query workers forked from it, multiprocessing's resource tracker), from "
             "/proc/PID/smaps_rollup, right after ready and after every query below has run. PSS splits a "
             "shared page among the processes that map it, so the store the workers share copy-on-write counts "
             "once; RSS counts it in every process, so it overstates the memory used.",
             "- **one store**: the store process's RSS right after ready, a proxy for one loaded store "
             "(with the Python interpreter), for reference.",
             "- **kill → ready**: after the timings, a runaway query (`" + RUNAWAY + "`) sent to /sparql with "
             "`timeout=1` is answered 504 after about 1 s and its worker killed; the time from the kill to its "
             "successor's readiness as /health reports it (median / max of the last 100 kills, which include "
             "any query stopped at the time limit earlier in the run).",
             "- **Oxigraph load + optimize**: `oxigraph load` of the same files into a fresh store, then "
             "`oxigraph optimize`.",
             "- **Oxigraph PSS after timings**: the `oxigraph serve-read-only` process (one process, no "
             "sharing).",
             f"- **rdflib-endpoint load**: until `rdflib-endpoint serve` answered; not run above --rdflib-max "
             f"({report['rdflib_max']}).", "",
             f"Query tables: medians of {report['runs']} runs after a warm-up, in ms, of each named query with its "
             "defaults (first page). **/queries API**: `GET /queries/{name}`; **/sparql**: the same query text "
             "POSTed to policygraph's /sparql; **Oxigraph**: the same text POSTed to `oxigraph serve-read-only "
             "--union-default-graph`; **rdflib-endpoint**: the same text POSTed to `rdflib-endpoint serve` (`>` "
             f"marks a query stopped at its {report['rdflib_cap_s']:g} s cap, fewer runs are shown when the runs "
             "used up the cap). **API / Oxigraph**, **/sparql / Oxigraph**: policygraph's time over Oxigraph's "
             "(below 1: policygraph is faster); **rdflib-endpoint / policygraph**: rdflib-endpoint's time over "
             "/sparql's (above 1: policygraph is faster). A cell without a time says why, and its ratios are "
             f"`–`: `HTTP 504 (> {cap} s)` policygraph stopped the query at its time limit, `HTTP 400 (query "
             "memory limit)` it stopped the query for using more memory than its worker may add (--memory-limit), "
             f"`> {cap} s` the client gave up on Oxigraph (which was then restarted), `HTTP nnn (…)` another error "
             "answer. Throughput: requests answered per second, each client sending its next request on the "
             "previous answer; failed: answered other than 2xx, or not within 30 s.", ""]
    for size in report["sizes"]:
        restarts = f"; Oxigraph restarted {size['oxigraph_restarts']} times" if size["oxigraph_restarts"] else ""
        lines += [f"**{size['size']}** — {size['triples_served']:,} triples served{restarts}", "",
                  "| query | /queries API | /sparql | Oxigraph | rdflib-endpoint | API / Oxigraph | /sparql / Oxigraph "
                  "| rdflib-endpoint / policygraph |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for q in size["queries"]:
            rd_ms, rd_ratio = _rdflib_cells(q, report["runs"])
            lines.append(f"| {q['query']} | {_ms_cell(q, 'api')} | {_ms_cell(q, 'sparql')} | "
                         f"{_ms_cell(q, 'oxigraph')} | {rd_ms} | {_ratio_cell(q['api_ratio'])} | "
                         f"{_ratio_cell(q['sparql_ratio'])} | {rd_ratio} |")
        refused = [q for q in size["queries"] if q.get("rdflib_failure") and not q["rdflib_failure"].startswith(">")]
        lines += [""] + [f"rdflib-endpoint failed `{q['query']}`: {q['rdflib_failure']}" for q in refused]
        t = size["throughput"]
        lines += ["", f"Throughput ({t['clients']} clients, {t['seconds']:g} s, `prefectures` query): /sparql "
                  f"{t['sparql_rps']:.0f} req/s ({t['sparql_errors']} failed), /queries API {t['api_rps']:.0f} req/s "
                  f"({t['api_errors']} failed), Oxigraph {t['oxigraph_rps']:.0f} req/s "
                  f"({t['oxigraph_errors']} failed)", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1m")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for latest.md and latest.json")
    ap.add_argument("--validate-max", default="1m",
                    help="largest size validated with SHACL (larger: not run; at 5m it takes minutes and GiBs)")
    ap.add_argument("--rdflib-max", default="100k", help="largest size also served by rdflib-endpoint (0: never)")
    ap.add_argument("--rdflib-cap", type=float, default=30, help="seconds one query may take on rdflib-endpoint")
    args = ap.parse_args()
    oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    started = time.monotonic()
    build_s, build_rss, rc = timed_command([sys.executable, "-m", "policygraph", "build"])
    if rc:
        raise SystemExit("policygraph build failed")
    cores = len(os.sched_getaffinity(0))  # what nproc prints
    report = {"build_s": build_s, "build_peak_rss_mib": build_rss,
              "machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}",
              "runs": args.runs, "query_timeout_s": QUERY_TIMEOUT, "validate_max": args.validate_max,
              "rdflib_max": args.rdflib_max, "rdflib_cap_s": args.rdflib_cap, "sizes": []}
    for size in args.sizes.split(","):
        report["sizes"].append(bench_size(size.strip(), args, oxigraph))
    report["total_s"] = time.monotonic() - started
    results = args.out
    results.mkdir(parents=True, exist_ok=True)
    (results / "latest.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (results / "latest.md").write_text(table + "\n")
    print(table)
    print(f"\n(total {report['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
