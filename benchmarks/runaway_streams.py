"""Runaway streams: what two clients sending runaway queries back to back cost an ordinary client.

Starts `policygraph serve` (default settings: 2 workers, 10 s query limit) over the shipped build
plus a synthetic file on 127.0.0.1. For --seconds, two clients (each from its own loopback address)
send runaway queries one after another — each is stopped at the limit and sent again at once —
while a third client sends ordinary lookups (ASK, a label, a named query) one after another. Reports
the ordinary client's answers, errors and waits, each runaway's status and time, and the pool's
kill-to-ready time from /health. Passes (exit 0) when the ordinary client got no error and waited
no longer than --max-wait for any answer.

    python benchmarks/runaway_streams.py --size 1m --seconds 20
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from loadtest import data_file  # noqa: E402
from run import free_port, wait, wait_lookups  # noqa: E402

RUNAWAYS = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "ASK { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i FILTER(?c = ?i && ?a != ?g) }",
]


def ordinary_requests(base: str) -> list[tuple[str, dict]]:
    """(path, params): a label, an ASK, a named query — what a Linked Data client or the pages ask."""
    subject = "https://w3id.org/policygraph/id/prefecture/20"
    label = f"SELECT ?l WHERE {{ <{subject}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"
    return [("/sparql", {"query": label}), ("/sparql", {"query": f"ASK {{ <{subject}> ?p ?o }}"}),
            ("/queries/prefectures", {})]


def runaway_client(base: str, address: str, until: float, out: list[dict]) -> None:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(timeout=60, transport=transport) as c:
        i = 0
        while time.monotonic() < until:
            start = time.monotonic()
            r = c.post(base + "/sparql", data={"query": RUNAWAYS[i % len(RUNAWAYS)]},
                       headers={"Accept": "application/sparql-results+json"})
            out.append({"client": address, "status": r.status_code, "seconds": time.monotonic() - start})
            i += 1


def ordinary_client(base: str, until: float, out: list[dict]) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.30")
    requests = ordinary_requests(base)
    with httpx.Client(timeout=60, transport=transport) as c:
        i = 0
        while time.monotonic() < until:
            path, params = requests[i % len(requests)]
            start = time.monotonic()
            try:
                status = c.get(base + path, params=params, headers={"Accept": "application/json"}).status_code
            except httpx.HTTPError as e:
                status = f"{type(e).__name__}"
            out.append({"request": path, "status": status, "seconds": time.monotonic() - start})
            i += 1
            time.sleep(0.02)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1m")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--max-wait", type=float, default=2.5, help="longest acceptable wait of the ordinary client, s")
    ap.add_argument("--no-lookups", action="store_true",
                    help="serve with --no-lookups: the label and ASK go to the pool too (the pool's own test)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "runaway-streams")
    args = ap.parse_args()
    data = data_file(args.size, args.seed)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "policygraph", "serve", "--port", str(port)] + (["--graph", str(data)] if data else [])
    cmd += ["--no-lookups"] if args.no_lookups else []
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(base + "/health", server)
        wait_lookups(base)
        health = httpx.get(base + "/health").json()
        for path, params in ordinary_requests(base):  # warm the pages and the workers
            httpx.get(base + path, params=params).raise_for_status()
        until = time.monotonic() + args.seconds
        runaways: list[dict] = []
        ordinary: list[dict] = []
        threads = [threading.Thread(target=runaway_client, args=(base, f"127.0.0.{20 + k}", until, runaways))
                   for k in range(2)]
        threads.append(threading.Thread(target=ordinary_client, args=(base, until, ordinary)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = httpx.get(base + "/health").json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    waits = [r["seconds"] for r in ordinary]
    errors = [r for r in ordinary if r["status"] != 200]
    report = {"machine": f"{platform.machine()}, 2 cores, Python {platform.python_version()}",
              "triples": health["triples"], "seconds": args.seconds, "workers": health["workers"],
              "ordinary": {"requests": len(ordinary), "errors": len(errors), "error_examples": errors[:5],
                           "median_ms": statistics.median(waits) * 1000, "max_s": max(waits),
                           "over_1s": sum(w > 1 for w in waits)},
              "runaways": {"sent": len(runaways), "statuses": {str(s): sum(r["status"] == s for r in runaways)
                                                               for s in {r["status"] for r in runaways}},
                           "max_s": max((r["seconds"] for r in runaways), default=None)},
              "kill_to_ready_ms": after["workers"]["kill_to_ready_ms"],
              "pass": not errors and max(waits) <= args.max_wait}
    o, r = report["ordinary"], report["runaways"]
    text = (f"Runaway streams — {report['triples']:,} triples, {args.seconds:g} s, default settings "
            f"({health['workers']['configured']} workers, 10 s limit). Machine: {report['machine']}.\n\n"
            f"- two clients sent {r['sent']} runaways back to back: statuses {r['statuses']}, longest "
            f"{r['max_s']:.1f} s\n"
            f"- the ordinary client: {o['requests']} requests, {o['errors']} errors, median {o['median_ms']:.1f} ms, "
            f"longest wait {o['max_s']:.2f} s, {o['over_1s']} over 1 s\n"
            f"- a stopped worker's successor ready in (ms, last 100): {report['kill_to_ready_ms']}\n"
            f"- **{'PASS' if report['pass'] else 'FAIL'}**: no error and no wait over {args.max_wait:g} s\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    args.out.with_suffix(".md").write_text(text)
    print(text)
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
