"""Measures the design issue "The query pool at scale" asks about: workers forked from one process that
has loaded the store, instead of each worker loading its own copy.

Loads a dump into an in-memory pyoxigraph store once (the template), forks N workers from it, and
reports: the time from fork to a worker's first answer (what a killed worker's successor would cost),
each process's PSS, RSS and private memory after a heavy query (copy-on-write: what the workers share),
the whole group's PSS against one store, and the time to kill and reap a worker.

    python benchmarks/generate.py --triples 1m --out benchmarks/out/synthetic-1m.nq
    python benchmarks/fork_template.py benchmarks/out/synthetic-1m.nq --workers 3
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

import pyoxigraph as ox

ASK = "ASK { ?s ?p ?o }"
HEAVY = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 200000"  # touches a good part of the store's pages


def memory_mib(pid: int) -> dict[str, float]:
    """PSS, RSS and private memory of a process (Linux smaps_rollup), in MiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts[-1] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    private = fields.get("Private_Dirty", 0) + fields.get("Private_Clean", 0)
    return {"pss": fields["Pss"] / 1024, "rss": fields["Rss"] / 1024, "private": private / 1024}


def worker(store: ox.Store, out: int) -> None:
    """A forked worker: answer once (its readiness), run the heavy query, then wait to be measured."""
    os.write(out, b"1" if bool(store.query(ASK, use_default_graph_as_union=True)) else b"0")
    rows = sum(1 for _ in store.query(HEAVY, use_default_graph_as_union=True))  # type: ignore[union-attr]
    os.write(out, f"{rows:>12}".encode())
    signal.pause()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump", type=Path, help="an N-Quads file")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    started = time.perf_counter()
    store = ox.Store()
    store.bulk_load(path=str(args.dump), format=ox.RdfFormat.N_QUADS)
    one_store = memory_mib(os.getpid())
    print(f"template: loaded in {time.perf_counter() - started:.1f} s; {one_store}")
    workers = []
    for i in range(args.workers):
        read, write = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            worker(store, write)
        os.close(write)
        ready = os.read(read, 1)
        print(f"worker {i}: fork to first answer {1000 * (time.perf_counter() - started):.1f} ms (answer {ready!r}); "
              f"heavy query rows {int(os.read(read, 12))}")
        workers.append(pid)
    total = memory_mib(os.getpid())["pss"]
    for pid in workers:
        m = memory_mib(pid)
        total += m["pss"]
        print(f"worker {pid}: {m}")
    extra = total - one_store["pss"]
    print(f"whole group PSS {total:.0f} MiB = one store ({one_store['pss']:.0f} MiB) + {extra:.0f} MiB")
    started = time.perf_counter()
    os.kill(workers[0], signal.SIGKILL)
    os.waitpid(workers[0], 0)
    print(f"kill and reap a worker: {1000 * (time.perf_counter() - started):.1f} ms")
    for pid in workers[1:]:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
