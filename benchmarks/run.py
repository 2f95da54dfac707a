"""Benchmarks: policygraph's API and /sparql against an Oxigraph server on the same data.

For each size it generates synthetic data (benchmarks/generate.py), serves it with the shipped
build through `policygraph serve --graph` and through `oxigraph serve-read-only
--union-default-graph`, both on 127.0.0.1, then runs every named query with its defaults:
through /queries/{name}, through policygraph's /sparql with the same text, and against Oxigraph.
Medians of --runs runs after a warm-up; ratios policygraph / Oxigraph; a throughput figure
(requests/s, 8 concurrent clients, --seconds each). Writes benchmarks/results/latest.{md,json}.

    python benchmarks/run.py --sizes 10k,100k,1m
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


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process and its children (VmHWM), MiB."""
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


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def throughput(url: str, make_request, seconds: float, clients: int = 8) -> tuple[float, int]:
    """Requests per second with ``clients`` threads for ``seconds``; also the count of non-2xx answers."""
    stop = time.monotonic() + seconds
    counts, errors = [0] * clients, [0] * clients

    def worker(i: int):
        with httpx.Client(timeout=30) as c:
            while time.monotonic() < stop:
                r = make_request(c)
                counts[i] += 1
                errors[i] += r.status_code >= 300

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
    # SHACL validation of the whole graph (shipped build + synthetic file) on the Oxigraph engine
    val_s, val_rss, val_rc = timed_command([sys.executable, "-m", "policygraph", "validate", "--engine", "oxigraph",
                                            str(nq), str(data)])
    print(f"  {size:>5} validation {val_s:.1f} s, peak RSS {val_rss:.0f} MiB, "
          f"{'valid' if val_rc == 0 else f'exit {val_rc}'}", flush=True)

    pg, pg_url, pg_ready_s = serve_policygraph(data)
    store_dir = out / f"oxigraph-{size}"
    ox_load_s = load_oxigraph(oxigraph, store_dir, [nq, data])
    ox_port = free_port()
    rdflib = None
    if parse_size(size) <= parse_size(args.rdflib_max):
        rdflib = RdflibEndpoint([nq, data], args.rdflib_cap)
        rdflib.start()
    ox = subprocess.Popen([oxigraph, "serve-read-only", "--location", str(store_dir), "--bind", f"127.0.0.1:{ox_port}",
                           "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ox_url = f"http://127.0.0.1:{ox_port}"
        wait(ox_url + "/query?query=ASK%7B%7D", ox)
        triples = httpx.get(pg_url + "/health").json()["triples"]
        urls = Urls(pg_url, ox_url)
        results = []
        for name, q in load_queries(ROOT / "queries").items():
            results.append(time_query(urls, name, q, args, rdflib))
            print_row(size, results[-1])
        return {"size": size, "quads_generated": quads, "triples_served": triples, "generate_s": gen_s,
                "policygraph_ready_s": pg_ready_s, "oxigraph_load_s": ox_load_s,
                "validation_s": val_s, "validation_peak_rss_mib": val_rss, "valid": val_rc == 0,
                "rdflib_load_s": rdflib.load_s if rdflib else None, "rdflib_cap_s": args.rdflib_cap,
                "policygraph_peak_rss_mib": peak_rss_mib(pg.pid), "queries": results,
                "throughput": measure_throughput(urls, args.seconds)}
    finally:
        for p in (pg, ox):
            p.terminate()
            p.wait(timeout=30)
        if rdflib:
            rdflib.stop()
        shutil.rmtree(store_dir, ignore_errors=True)


def serve_policygraph(data: Path) -> tuple[subprocess.Popen, str, float]:
    """`policygraph serve` over the build and ``data``: the process, its URL, and the seconds until it answered
    (start, load the build and the synthetic file in every worker)."""
    port = free_port()
    t0 = time.monotonic()
    pg = subprocess.Popen([sys.executable, "-m", "policygraph", "serve", "--port", str(port), "--graph", str(data),
                           "--workers", "2", "--query-timeout", "120", "--max-rows", "100000"],
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait(url + "/health", pg)
    return pg, url, time.monotonic() - t0


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


class Urls(NamedTuple):
    policygraph: str
    oxigraph: str


ACCEPT = {"Accept": "application/sparql-results+json"}


def time_query(urls: Urls, name: str, q: NamedQuery, args: argparse.Namespace,
               rdflib: RdflibEndpoint | None) -> dict:
    """Median times of one named query through the API, policygraph's /sparql and Oxigraph (and rdflib-endpoint)."""
    text = q.bind({})
    if q.pagination:
        text = q.page(text, 1, q.pagination)
    form = {"query": text}
    with httpx.Client(timeout=300) as c:
        api = median_ms(lambda: c.get(f"{urls.policygraph}/queries/{name}").raise_for_status(), args.runs)
        sparql = median_ms(lambda: c.post(f"{urls.policygraph}/sparql", data=form, headers=ACCEPT)
                           .raise_for_status(), args.runs)
        oxi = median_ms(lambda: c.post(f"{urls.oxigraph}/query", data=form, headers=ACCEPT).raise_for_status(),
                        args.runs)
    row = {"query": name, "api_ms": api, "sparql_ms": sparql, "oxigraph_ms": oxi,
           "api_ratio": api / oxi, "sparql_ratio": sparql / oxi}
    if rdflib:
        row.update(rdflib.median_ms(text, args.runs))
        rd = row["rdflib_ms"]
        row["rdflib_ratio"] = rd / sparql if rd is not None else None
    return row


def print_row(size: str, row: dict) -> None:
    rd = row.get("rdflib_ms")
    rd_note = ("" if "rdflib_ms" not in row else f"  rdflib-endpoint {rd:9.1f} ms" if rd is not None
               else f"  rdflib-endpoint {row['rdflib_failure']}")
    print(f"  {size:>5} {row['query']:38s} api {row['api_ms']:8.1f} ms  /sparql {row['sparql_ms']:8.1f} ms  "
          f"oxigraph {row['oxigraph_ms']:8.1f} ms{rd_note}", flush=True)


def measure_throughput(urls: Urls, seconds: float) -> dict:
    """Requests per second of 8 clients on the `prefectures` query: /sparql, the API, and Oxigraph."""
    probe = {"query": load_queries(ROOT / "queries")["prefectures"].bind({})}
    pg_rps, pg_err = throughput(urls.policygraph,
                                lambda c: c.post(f"{urls.policygraph}/sparql", data=probe, headers=ACCEPT), seconds)
    api_rps, api_err = throughput(urls.policygraph, lambda c: c.get(f"{urls.policygraph}/queries/prefectures"),
                                  seconds)
    ox_rps, ox_err = throughput(urls.oxigraph, lambda c: c.post(f"{urls.oxigraph}/query", data=probe, headers=ACCEPT),
                                seconds)
    return {"sparql_rps": pg_rps, "sparql_errors": pg_err, "api_rps": api_rps, "api_errors": api_err,
            "oxigraph_rps": ox_rps, "oxigraph_errors": ox_err, "clients": 8, "seconds": seconds}


def _rdflib_cells(q: dict, runs: int) -> tuple[str, str]:
    """The rdflib-endpoint time and ratio cells of a table row."""
    if "rdflib_ms" not in q:
        return "–", "–"
    failure = q["rdflib_failure"]
    if failure and failure.startswith(">"):
        cap_ms = float(failure.strip("> s")) * 1000
        return f"> {cap_ms:,.0f}", f"> {cap_ms / q['sparql_ms']:,.0f}"
    if failure:
        return f"error ({failure.split(':')[0]})", "–"
    done = "" if q["rdflib_runs"] >= runs else f" ({q['rdflib_runs']} runs)"
    return f"{q['rdflib_ms']:,.1f}{done}", f"{q['rdflib_ratio']:,.1f}"


def markdown(report: dict) -> str:
    lines = [f"Machine: {report['machine']}. Build of the shipped data (with SHACL validation): "
             f"{report['build_s']:.1f} s, peak RSS {report['build_peak_rss_mib']:.0f} MiB. "
             f"Medians of {report['runs']} runs after a warm-up, in ms. "
             "Oxigraph ratio = policygraph / `oxigraph serve-read-only` on the same query text (below 1: policygraph "
             "is faster); rdflib ratio = `rdflib-endpoint` / policygraph's /sparql (above 1: policygraph is faster; "
             "`>` marks a query stopped at the cap, fewer runs are shown when the runs used up the cap).", ""]
    for size in report["sizes"]:
        rd = (f"; rdflib-endpoint load {size['rdflib_load_s']:.1f} s" if size.get("rdflib_load_s") else
              "; rdflib-endpoint not run at this size")
        valid = "valid" if size["valid"] else "NOT VALID"
        lines += [f"**{size['size']}** — {size['triples_served']:,} triples served; SHACL validation "
                  f"{size['validation_s']:.1f} s ({valid}, peak RSS {size['validation_peak_rss_mib']:.0f} MiB); "
                  f"policygraph ready in {size['policygraph_ready_s']:.1f} s "
                  f"(peak RSS {size['policygraph_peak_rss_mib']:.0f} MiB incl. workers); "
                  f"oxigraph load + optimize {size['oxigraph_load_s']:.1f} s{rd}", "",
                  "| query | /queries API | /sparql | Oxigraph | rdflib-endpoint | API / Oxigraph | /sparql / Oxigraph "
                  "| rdflib-endpoint / policygraph |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for q in size["queries"]:
            rd_ms, rd_ratio = _rdflib_cells(q, report["runs"])
            lines.append(f"| {q['query']} | {q['api_ms']:,.1f} | {q['sparql_ms']:,.1f} | {q['oxigraph_ms']:,.1f} | "
                         f"{rd_ms} | {q['api_ratio']:.2f} | {q['sparql_ratio']:.2f} | {rd_ratio} |")
        refused = [q for q in size["queries"] if q.get("rdflib_failure") and not q["rdflib_failure"].startswith(">")]
        lines += [""] + [f"rdflib-endpoint failed `{q['query']}`: {q['rdflib_failure']}" for q in refused]
        t = size["throughput"]
        lines += ["", f"Throughput ({t['clients']} clients, {t['seconds']:g} s, `prefectures` query): /sparql "
                  f"{t['sparql_rps']:.0f} req/s ({t['sparql_errors']} non-2xx), /queries API {t['api_rps']:.0f} req/s "
                  f"({t['api_errors']} non-2xx), Oxigraph {t['oxigraph_rps']:.0f} req/s "
                  f"({t['oxigraph_errors']} non-2xx)", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1m")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for latest.md and latest.json")
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
              "runs": args.runs, "sizes": []}
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
