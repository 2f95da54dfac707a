"""Attack benchmark: what hostile clients cost an ordinary client of a default `policygraph serve`.

Starts `python -m policygraph serve` on a free 127.0.0.1 port (shipped data, default settings: 2 query
workers, 10 s query timeout, 1 s minimum timeout, 1024 MiB memory limit, client share 1) and, for
--seconds, runs --attackers threads per attack class, all from 127.0.0.1, each in a loop:

  crash      parser-crashing text (2,200 nested "{", 4,700 nested "("): expected 400 before any worker
  tiny-timeout  a 3-way cross-product COUNT with ?timeout=0.000001: raised to the 1 s minimum, 504
  memory     ORDER BY over a 3-way cross product: stopped at the memory limit, 400
  service    SERVICE to a loopback listener run here, hidden behind escapes, comments, a glued prefixed
             name, a "<" that is less-than …: expected 403; the listener must see no connection at all
             (each variant, run in an unconfined pyoxigraph, does connect to it)
  hang-up    a runaway query on a raw socket, closed after 0.3 s (the server logs 499 and frees the worker)
  slowloris  request headers one byte per second (expected: 408 and the connection closed at 10 s)

The attackers of one address share one worker (client share 1): while their queries run or their killed
workers reload, their further queries wait and may get 429. Meanwhile an ordinary client from 127.0.0.2
sends sequential requests the whole time: /sparql SELECTs, every named query that needs no parameter,
Linked Data pages and /health. /health is polled every second (from 127.0.0.3) to see how often the pool is
degraded (a worker reloading), and the RSS of the server's process tree (from /proc) every 0.5 s; the
server's JSON log gives what it answered the hang-ups and why it stopped workers. CPU use of the server,
of this script and of other processes is reported: on a shared machine, other work adds to latency.

Checks (exit 0 only if all pass): the ordinary client got no error (non-2xx or exception) and no answer
slower than 2 s; the listener saw 0 connections; the server is alive (and /health answers) at the end; no
process of the server's group is left after it is stopped. Writes benchmarks/results/attack.{md,json}
(see --out) and prints the Markdown; the server's log goes to benchmarks/out/attack-server.log.

    python benchmarks/attack.py                  # 60 s, one attacker thread per class
    python benchmarks/attack.py --attackers 2 --out benchmarks/results/attack-x2
    python benchmarks/attack.py --seconds 10     # smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import select
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

# these follow the sys.path change above (benchmarks/ first, as when run as a script)
from loadtest import (  # noqa: E402  (benchmarks/ on sys.path first)
    code_state,
    cpu_snapshot,
    fmt_ms,
    pct,
    stop_server,
    tree,
    write_report,
)
from run import free_port, wait  # noqa: E402  (benchmarks/ on sys.path first)

ID = "https://w3id.org/policygraph/id/"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MEMORY_HOG = "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g"
HANG_UP = "SELECT (COUNT(*) AS ?hang) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # its own text: its own log hash
CRASHES = ["SELECT * WHERE " + "{" * 2200 + "}" * 2200,
           "SELECT * WHERE { FILTER(" + "(" * 4700 + "1" + ")" * 4700 + ") }"]
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
SLOW = 2.0                 # s: an ordinary answer slower than this fails the bar
MAX_PER_THREAD = 100_000   # requests per thread, whatever the time
CLIENT_TIMEOUT = 30.0      # s, per request (queue wait 10 s + query 10 s fit)
EXPECTED = {"crash": "400", "tiny-timeout": "504 (429 while the share is held)",
            "memory": "400 (429 while the share is held)", "service": "403",
            "hang-up": "none; server log 499", "slowloris": "408 at 10 s"}
LOGGED = {"tiny-timeout": RUNAWAY, "memory": MEMORY_HOG, "hang-up": HANG_UP}  # the server logs their hash


@dataclass
class Rec:
    cls: str
    status: int | None     # None: no HTTP answer
    latency: float         # s
    t: float               # s since the attack started
    detail: str = ""


class Log:
    """Thread-safe list of records."""

    def __init__(self, t0: float):
        self.t0, self.lock = t0, threading.Lock()
        self.recs: list[Rec] = []

    def add(self, cls: str, status: int | None, start: float, detail: str = "") -> None:
        now = time.monotonic()
        with self.lock:
            self.recs.append(Rec(cls, status, now - start, start - self.t0, detail[:200]))


def detail_of(r: httpx.Response) -> str:
    if r.status_code < 300:
        return ""
    try:
        return str(r.json().get("detail", ""))
    except ValueError:
        return r.text


def timed(log: Log, cls: str, client: httpx.Client, method: str, url: str, **kw) -> None:
    start = time.monotonic()
    try:
        r = client.request(method, url, **kw)
        log.add(cls, r.status_code, start, detail_of(r))
    except httpx.HTTPError as e:
        log.add(cls, None, start, f"{type(e).__name__}: {e}")


# ------------------------------------------------------------------ the listener SERVICE must never reach


class Listener(threading.Thread):
    """A TCP listener on 127.0.0.1 that counts every connection it accepts (and closes it)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections, self.peers = 0, []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.peers.append(f"{peer[0]}:{peer[1]}")
            conn.close()
        self.sock.close()


def service_variants(port: int) -> list[tuple[str, str]]:
    """(label, query): SERVICE to the listener, each written so that a naive check might miss it."""
    url, base = f"http://127.0.0.1:{port}/x", f"http://127.0.0.1:{port}/"
    variants = [
        ("escaped #", r"PREFIX ex: <http://e/> SELECT * WHERE { BIND(ex:a\# AS ?q) SERVICE <URL> { ?a ?b ?c } }"),
        ("SILENT", "SELECT * WHERE { SERVICE SILENT <URL> { ?a ?b ?c } }"),
        ("glued prefixed name", "PREFIX l: <BASE> SELECT * WHERE { SERVICEl:x { ?a ?b ?c } }"),
        ("'<' as less-than", "SELECT * WHERE { FILTER(1<2&&'>'!='#') SERVICE <URL> { ?a ?b ?c } }"),
        ("comment ended by CR", "SELECT * WHERE { # note\r SERVICE <URL> { ?a ?b ?c } }"),
        (r"\u in the IRI", r"SELECT * WHERE { SERVICE <http\u003A//127.0.0.1:PORT/x> { ?a ?b ?c } }"),
        ("escaped quote", r'SELECT * WHERE { BIND("\" # no comment" AS ?s) SERVICE <URL> { ?a ?b ?c } }'),
        ("lower case", "select * where { service <URL> { ?a ?b ?c } }"),
    ]
    return [(label, q.replace("URL", url).replace("BASE", base).replace("PORT", str(port))) for label, q in variants]


# ------------------------------------------------------------------ attackers (all from 127.0.0.1)


def attacker_client() -> httpx.Client:
    return httpx.Client(timeout=CLIENT_TIMEOUT, transport=httpx.HTTPTransport(local_address="127.0.0.1"))


def attack_crash(base: str, log: Log, until: float, _port: int) -> None:
    with attacker_client() as c:
        for i in range(MAX_PER_THREAD):
            if time.monotonic() >= until:
                return
            timed(log, "crash", c, "POST", base + "/sparql", data={"query": CRASHES[i % 2]}, headers=JSON_RESULTS)


def attack_tiny_timeout(base: str, log: Log, until: float, _port: int) -> None:
    with attacker_client() as c:
        for _ in range(MAX_PER_THREAD):
            if time.monotonic() >= until:
                return
            timed(log, "tiny-timeout", c, "GET", base + "/sparql", params={"query": RUNAWAY, "timeout": "0.000001"},
                  headers=JSON_RESULTS)


def attack_memory(base: str, log: Log, until: float, _port: int) -> None:
    with attacker_client() as c:
        for _ in range(MAX_PER_THREAD):
            if time.monotonic() >= until:
                return
            timed(log, "memory", c, "GET", base + "/sparql", params={"query": MEMORY_HOG}, headers=JSON_RESULTS)


def attack_service(base: str, log: Log, until: float, listener_port: int) -> None:
    variants = service_variants(listener_port)
    with attacker_client() as c:
        for i in range(MAX_PER_THREAD):
            if time.monotonic() >= until:
                return
            _, query = variants[i % len(variants)]
            how = (i // len(variants)) % 3  # GET, POST form, POST application/sparql-query in turn
            if how == 0:
                timed(log, "service", c, "GET", base + "/sparql", params={"query": query}, headers=JSON_RESULTS)
            elif how == 1:
                timed(log, "service", c, "POST", base + "/sparql", data={"query": query}, headers=JSON_RESULTS)
            else:
                timed(log, "service", c, "POST", base + "/sparql", content=query.encode(),
                      headers={**JSON_RESULTS, "Content-Type": "application/sparql-query"})


def attack_hang_up(base: str, log: Log, until: float, _port: int) -> None:
    host, port = base.removeprefix("http://").split(":")
    request = (f"GET /sparql?{httpx.QueryParams({'query': HANG_UP})} HTTP/1.1\r\nHost: {host}\r\n"
               "Accept: application/sparql-results+json\r\n\r\n").encode()
    for _ in range(MAX_PER_THREAD):
        if time.monotonic() >= until:
            return
        start = time.monotonic()
        try:
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(request)
                time.sleep(0.3)
            log.add("hang-up", None, start, "hung up after 0.3 s")
        except OSError as e:
            log.add("hang-up", None, start, f"connect failed: {e}")
            time.sleep(0.3)


def attack_slowloris(base: str, log: Log, until: float, _port: int) -> None:
    """One connection at a time, its headers one byte per second, until the server answers or closes it
    (at most 20 s per connection; the one open at the end of the run is seen through too)."""
    host, port = base.removeprefix("http://").split(":")
    text = f"GET /health HTTP/1.1\r\nHost: {host}\r\nX-Slow: " + "z" * 200
    for _ in range(MAX_PER_THREAD):
        if time.monotonic() >= until:
            return
        start, answer, closed = time.monotonic(), b"", False
        try:
            with socket.create_connection((host, int(port)), timeout=5) as s:
                for ch in text.encode():
                    if time.monotonic() >= start + 20:
                        break
                    try:
                        s.sendall(bytes([ch]))
                    except OSError:
                        closed = True
                        break
                    if select.select([s], [], [], 1.0)[0]:
                        try:
                            chunk = s.recv(4096)
                        except OSError:
                            chunk = b""
                        answer += chunk
                        if not chunk or answer.endswith(b"}"):
                            closed = True
                            break
        except OSError as e:
            log.add("slowloris", None, start, f"{type(e).__name__}: {e}")
            time.sleep(1)
            continue
        status = None
        if answer.startswith(b"HTTP/1.1 "):
            status = int(answer[9:12])
        if status is None and not closed:  # the server let it hold the connection for 20 s
            log.add("slowloris (no answer in 20 s)", None, start, "")
        else:
            log.add("slowloris", status, start, answer.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))


ATTACKS = {"crash": attack_crash, "tiny-timeout": attack_tiny_timeout, "memory": attack_memory,
           "service": attack_service, "hang-up": attack_hang_up, "slowloris": attack_slowloris}


# ------------------------------------------------------------------ the ordinary client (127.0.0.2)


def ordinary_requests(base: str) -> list[tuple[str, str, str, dict]]:
    """(class, method, path, httpx kwargs) in the order the ordinary client cycles through them."""
    with httpx.Client(timeout=30) as c:
        listed = c.get(base + "/queries").json()["queries"]
    named = [q["name"] for q in listed if all(not p["required"] or p["default"] is not None for p in q["parameters"])]
    pref = f"<{ID}prefecture/20>"
    labels = f"SELECT ?label WHERE {{ {pref} <http://www.w3.org/2000/01/rdf-schema#label> ?label }}"
    props = f"SELECT ?p ?o WHERE {{ {pref} ?p ?o }} LIMIT 50"
    sparql = [("ordinary /sparql SELECT", "GET", "/sparql", {"params": {"query": labels}, "headers": JSON_RESULTS}),
              ("ordinary /sparql SELECT", "POST", "/sparql", {"data": {"query": props}, "headers": JSON_RESULTS})]
    pages = [("ordinary LD page", "GET", "/id/prefecture/20", {"headers": {"Accept": "text/html"}}),
             ("ordinary LD page", "GET", "/id/prefectural-project/20/070201", {"headers": {"Accept": "text/html"}}),
             ("ordinary LD page", "GET", "/id/prefecture/20", {"headers": {"Accept": "text/turtle"}})]
    health: tuple[str, str, str, dict] = ("ordinary /health", "GET", "/health", {})
    out: list[tuple[str, str, str, dict]] = []
    for i, name in enumerate(named):  # interleave so every class comes round often
        out += [("ordinary named query", "GET", f"/queries/{name}", {}), sparql[i % 2], pages[i % 3]]
        if i % 3 == 2:
            out.append(health)
    return out


def ordinary(base: str, log: Log, until: float, reqs: list, count: int = MAX_PER_THREAD) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(timeout=CLIENT_TIMEOUT, transport=transport) as c:
        for i in range(count):
            if time.monotonic() >= until:
                return
            cls, method, path, kw = reqs[i % len(reqs)]
            timed(log, cls, c, method, base + path, **kw)


# ------------------------------------------------------------------ watching the server


class Watch(threading.Thread):
    """/health every second (from 127.0.0.3) and the server tree's RSS every 0.5 s."""

    def __init__(self, base: str, pid: int):
        super().__init__(daemon=True)
        self.base, self.pid = base, pid
        self.health: list[dict] = []
        self.rss: list[tuple[float, float, int]] = []  # (t, MiB, processes)
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        transport = httpx.HTTPTransport(local_address="127.0.0.3")
        with httpx.Client(timeout=5, transport=transport) as c:
            for i in range(100_000):
                if self.stop.is_set():
                    return
                t = time.monotonic() - self.t0
                procs = tree(self.pid)
                self.rss.append((t, sum(v[0] for v in procs.values()) / 2**20, len(procs)))
                if i % 2 == 0:
                    start = time.monotonic()
                    try:
                        h = c.get(self.base + "/health").json()
                        w = h.get("workers") or {}
                        self.health.append({"t": round(t, 2), "status": h.get("status"), "live": w.get("live"),
                                            "busy": w.get("busy"), "starting": w.get("starting"),
                                            "ms": round((time.monotonic() - start) * 1000, 1)})
                    except (httpx.HTTPError, ValueError) as e:
                        self.health.append({"t": round(t, 2), "status": f"error: {type(e).__name__}",
                                            "ms": round((time.monotonic() - start) * 1000, 1)})
                self.stop.wait(0.5)


def rss_mib(pid: int) -> float:
    return sum(v[0] for v in tree(pid).values()) / 2**20


def wait_healthy(base: str, seconds: float = 30) -> tuple[bool, float, dict]:
    start = time.monotonic()
    last: dict = {}
    while time.monotonic() - start < seconds:
        try:
            last = httpx.get(base + "/health", timeout=5).json()
            if last.get("status") == "ok":
                return True, time.monotonic() - start, last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    return False, time.monotonic() - start, last


def server_log_summary(path: Path) -> dict:
    """Statuses by client address and path, and worker stops by reason, from the server's JSON log."""
    by_client: dict[str, Counter] = defaultdict(Counter)
    by_hash: dict[str, Counter] = defaultdict(Counter)
    stops: Counter[str] = Counter()
    tracebacks, errors = 0, []
    for line in path.read_text(errors="replace").splitlines():
        tracebacks += line.startswith("Traceback")
        if not line.startswith("{"):
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("event") == "request":
            by_client[str(e.get("client"))][f"{e.get('method')} {e.get('path')} {e.get('status')}"] += 1
            if e.get("query_hash"):
                by_hash[e["query_hash"]][str(e.get("status"))] += 1
        elif e.get("event") == "worker-stopped":
            stops[e.get("reason")] += 1
        if e.get("level") in ("error", "critical"):
            errors.append(line[:300])
    logged = {cls: dict(by_hash[hashlib.sha256(q.encode()).hexdigest()[:16]].most_common())
              for cls, q in LOGGED.items()}
    return {"requests_by_client": {k: dict(v.most_common()) for k, v in sorted(by_client.items())},
            "server_statuses_by_class": logged,
            "worker_stops_by_reason": dict(stops), "tracebacks": tracebacks, "error_lines": errors[:20]}


# ------------------------------------------------------------------ the run


def summarise(recs: list[Rec]) -> dict:
    out = {}
    for cls in dict.fromkeys(r.cls for r in sorted(recs, key=lambda r: (not r.cls.startswith("ordinary"), r.cls))):
        rs = [r for r in recs if r.cls == cls]
        lat = [r.latency * 1000 for r in rs]
        out[cls] = {"count": len(rs), "statuses": dict(Counter(str(r.status) for r in rs).most_common()),
                    "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "max_ms": max(lat, default=float("nan"))}
    return out


@dataclass
class Run:
    """One attack run: the server, the listener SERVICE must never reach and the ordinary client's requests."""

    base: str
    proc: subprocess.Popen
    listener: Listener
    reqs: list[tuple[str, str, str, dict]]


def attack(args) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = HERE / "out" / "attack-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "policygraph", "serve", "--port", str(port)]
    report: dict = {"config": {"seconds": args.seconds, "attackers_per_class": args.attackers},
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "server_command": " ".join(["python", *cmd[1:]]), "code": code_state(dict(os.environ)),
                    "server_log": str(log_path.relative_to(ROOT))}
    listener = Listener()
    listener.start()
    checks: list[tuple[str, bool, str]] = []
    with log_path.open("w") as server_log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            run = Run(base, proc, listener, prepare(base, proc, listener, report))
            log, watch = run_attack(run, args, report)
            checks += assess(run, log, watch, report)
        finally:
            left = stop_server(proc)
            listener.stop.set()
            listener.join(timeout=5)
    checks.append(("no leftover processes", left == 0,
                   f"{left} live process(es) of the server's group after it was stopped"
                   + (" (killed)" if left else "")))
    report["checks"] = [{"check": c, "pass": bool(p), "detail": d} for c, p, d in checks]
    report["listener_connections"] = listener.connections
    report["server_log_summary"] = server_log_summary(log_path)
    return report


def prepare(base: str, proc: subprocess.Popen, listener: Listener, report: dict) -> list[tuple[str, str, str, dict]]:
    """Wait for the server, list the ordinary client's requests and send each once (the baseline)."""
    report["ready_s"] = wait(base + "/health", proc, 300)
    report["health_at_start"] = httpx.get(base + "/health", timeout=10).json()
    print(f"server ready in {report['ready_s']:.1f} s, pid {proc.pid}; listener on 127.0.0.1:{listener.port}",
          flush=True)
    reqs = ordinary_requests(base)
    report["ordinary_requests"] = [f"{m} {p}" + (f" [{kw['headers']['Accept']}]" if "Accept" in
                                                 kw.get("headers", {}) else "") for _, m, p, kw in reqs]
    report["service_variants"] = [{"label": label, "query": q} for label, q in service_variants(listener.port)]
    # warm-up: every ordinary request once before the attack (its latencies are the baseline)
    warm = Log(time.monotonic())
    ordinary(base, warm, time.monotonic() + 60, reqs, count=len(reqs))
    report["baseline"] = summarise(warm.recs)
    time.sleep(1)
    report["rss_start_mib"] = rss_mib(proc.pid)
    return reqs


def run_attack(run: Run, args, report: dict) -> tuple[Log, Watch]:
    """The attackers and the ordinary client for args.seconds, watched; then wait for the server to settle."""
    t0 = time.monotonic()
    until = t0 + args.seconds
    log = Log(t0)
    watch = Watch(run.base, run.proc.pid)
    watch.t0 = t0
    watch.start()
    threads = [threading.Thread(target=fn, args=(run.base, log, until, run.listener.port), daemon=True,
                                name=f"{name}-{k}") for name, fn in ATTACKS.items() for k in range(args.attackers)]
    threads.append(threading.Thread(target=ordinary, args=(run.base, log, until, run.reqs), daemon=True,
                                    name="ordinary"))
    print(f"attack: {len(threads) - 1} attacker threads for {args.seconds:g} s …", flush=True)
    cpu0 = cpu_snapshot(run.proc.pid)
    for t in threads:
        t.start()
    for t in threads:  # in-flight requests end within CLIENT_TIMEOUT
        t.join(timeout=max(0.0, until - time.monotonic()) + CLIENT_TIMEOUT + 5)
    wall = time.monotonic() - t0
    machine, server_cpu, own_cpu = ((b - a) / wall for a, b in zip(cpu0, cpu_snapshot(run.proc.pid), strict=True))
    report["cpu_cores"] = {"server": server_cpu, "benchmark": own_cpu, "machine_cores": os.cpu_count(),
                           "other_processes": max(0.0, machine - server_cpu - own_cpu)}
    report["rss_right_after_mib"] = rss_mib(run.proc.pid)
    healthy, settle_s, last = wait_healthy(run.base)
    watch.stop.set()
    watch.join(timeout=10)
    report["rss_end_mib"] = rss_mib(run.proc.pid)
    report["run_seconds"] = wall
    report["threads_still_running"] = [t.name for t in threads if t.is_alive()]
    report["health_after"] = {"ok": healthy, "seconds_to_ok": settle_s, "last": last}
    return log, watch


def assess(run: Run, log: Log, watch: Watch, report: dict) -> list[tuple[str, bool, str]]:
    """Summaries of the records, the pool and the memory into the report; the checks made while the server runs."""
    alive = run.proc.poll() is None
    recs = log.recs
    report["classes"] = summarise(recs)
    normal = [r for r in recs if r.cls.startswith("ordinary")]
    errors = [r for r in normal if r.status is None or not 200 <= r.status < 300]
    slow = [r for r in normal if r.latency > SLOW]
    report["ordinary"] = ordinary_summary(normal, errors, slow)
    report["pool"] = pool_summary(watch.health)
    report["rss"] = rss_summary(watch.rss, report)
    healthy, settle_s, last = (report["health_after"][k] for k in ("ok", "seconds_to_ok", "last"))
    listener = run.listener
    return [
        ("ordinary client: no error", not errors and bool(normal),
         f"{len(errors)} of {len(normal):,} requests got a non-2xx answer or none"),
        ("ordinary client: no request over 2 s", not slow and bool(normal),
         f"{len(slow)} of {len(normal):,} took over {SLOW:g} s; max {report['ordinary']['max_ms']:,.0f} ms"),
        ("SERVICE listener: no connection", listener.connections == 0,
         f"{listener.connections} connection(s) to 127.0.0.1:{listener.port}"
         + (f" from {', '.join(listener.peers[:5])}" if listener.peers else "")),
        ("server alive at the end", alive and healthy,
         f"process {'running' if alive else f'exited with {run.proc.returncode}'}; /health "
         + (f"ok {settle_s:.1f} s after the attack" if healthy else f"not ok after {settle_s:.0f} s: {last}")),
    ]


def ordinary_summary(normal: list[Rec], errors: list[Rec], slow: list[Rec]) -> dict:
    return {"requests": len(normal), "errors": len(errors), "over_2s": len(slow),
            "max_ms": max((r.latency * 1000 for r in normal), default=float("nan")),
            "p50_ms": pct([r.latency * 1000 for r in normal], 50),
            "p95_ms": pct([r.latency * 1000 for r in normal], 95),
            "error_examples": [asdict(r) for r in errors[:20]],
            "slow_examples": [asdict(r) for r in sorted(slow, key=lambda r: -r.latency)[:20]]}


def pool_summary(h: list[dict]) -> dict:
    """How often /health said the pool was degraded (a worker reloading) or did not answer."""
    return {"health_polls": len(h), "degraded": sum(x["status"] == "degraded" for x in h),
            "not_ok": sum(x["status"] not in ("ok", "degraded") for x in h),
            "max_health_ms": max((x["ms"] for x in h), default=float("nan")), "polls": h}


def rss_summary(samples: list[tuple[float, float, int]], report: dict) -> dict:
    return {"start_mib": report["rss_start_mib"], "peak_mib": max((x[1] for x in samples), default=0),
            "right_after_mib": report["rss_right_after_mib"], "end_mib": report["rss_end_mib"],
            "max_processes": max((x[2] for x in samples), default=0),
            "samples": [(round(t, 2), round(m, 1), n) for t, m, n in samples]}


def markdown(rep: dict) -> str:
    c, o, p, m, cpu = rep["config"], rep["ordinary"], rep["pool"], rep["rss"], rep["cpu_cores"]
    stops = rep["server_log_summary"]["worker_stops_by_reason"]
    logged = rep["server_log_summary"]["server_statuses_by_class"]
    lines = [f"### Attack benchmark — {c['seconds']:g} s, {c['attackers_per_class']} attacker thread(s) per class",
             "",
             (f"Machine: {rep['machine']}. Code: {rep['code']}. Server: `{rep['server_command']}` "
              f"(default settings), ready in {rep['ready_s']:.1f} s; attackers from 127.0.0.1, the ordinary client "
              f"from 127.0.0.2 (sequential, {len(rep['ordinary_requests'])} distinct requests in turn). "
              f"Ran {rep['run_seconds']:.1f} s."),
             "",
             "| class | requests | statuses | expected | server log | p50 ms | p95 ms | max ms |",
             "| --- | ---: | --- | --- | --- | ---: | ---: | ---: |"]
    for cls, k in rep["classes"].items():
        sts = ", ".join(f"{s}×{n}" for s, n in k["statuses"].items())
        exp = "2xx" if cls.startswith("ordinary") else EXPECTED.get(cls, "–")
        srv = ", ".join(f"{s}×{n}" for s, n in logged.get(cls, {}).items()) or "–"
        lines.append(f"| {cls} | {k['count']:,} | {sts} | {exp} | {srv} | {fmt_ms(k['p50_ms'])} | "
                     f"{fmt_ms(k['p95_ms'])} | {fmt_ms(k['max_ms'])} |")
    lines += ["",
              (f"Ordinary client: {o['requests']:,} requests, {o['errors']} errors, {o['over_2s']} over 2 s, "
              f"p50 {fmt_ms(o['p50_ms'])} ms, p95 {fmt_ms(o['p95_ms'])} ms, max {fmt_ms(o['max_ms'])} ms "
              f"(before the attack, one pass: max "
              f"{fmt_ms(max(v['max_ms'] for v in rep['baseline'].values()))} ms)."),
              f"Pool (/health every second): degraded in {p['degraded']} of {p['health_polls']} polls "
              f"({p['degraded'] / max(1, p['health_polls']):.0%})"
              + (f", {p['not_ok']} polls failed" if p["not_ok"] else "")
              + f"; /health answered in at most {fmt_ms(p['max_health_ms'])} ms. Workers stopped (server log): "
              + (", ".join(f"{r} {n}" for r, n in sorted(stops.items())) or "none") + ".",
              (f"Server RSS (process tree, MiB): start {m['start_mib']:.0f}, peak {m['peak_mib']:.0f}, right after "
              f"{m['right_after_mib']:.0f}, end {m['end_mib']:.0f} (at most {m['max_processes']} processes)."),
              (f"CPU during the attack, in cores (of {cpu['machine_cores']}): server {cpu['server']:.2f} (incl. killed "
               f"workers), this benchmark {cpu['benchmark']:.2f}, other processes on the machine "
               f"{cpu['other_processes']:.2f}."),
              (f"SERVICE listener: {rep['listener_connections']} connections "
              f"({len(rep['service_variants'])} variants, GET / POST form / POST sparql-query in turn)."),
              "", "Checks:", ""]
    for ch in rep["checks"]:
        lines.append(f"- **{'PASS' if ch['pass'] else 'FAIL'}** {ch['check']}: {ch['detail']}")
    s = rep["server_log_summary"]
    lines.append(f"- server log ({rep['server_log']}): {s['tracebacks']} tracebacks, "
                 f"{len(s['error_lines'])} error lines")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="length of the attack, s (default 60)")
    ap.add_argument("--attackers", type=int, default=1, help="attacker threads per class (default 1)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "attack",
                    help="results path without extension (default benchmarks/results/attack)")
    args = ap.parse_args()
    if not (0 < args.seconds <= 3600 and 1 <= args.attackers <= 16):
        ap.error("--seconds must be in (0, 3600] and --attackers in [1, 16]")
    return write_report(attack(args), markdown, args.out)


if __name__ == "__main__":
    sys.exit(main())
