"""The query pool's workers are forked from one process that has loaded the store (store/template.py):
they share its pages, and a stopped worker's successor is forked again, never loaded again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.engines import EngineBusy, EngineUnavailable, Job, QueryMemoryLimit, QueryTimeout
from policygraph.store.template import running

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])


def kib(pid: int, *fields: str) -> int:
    values = {line.split(":")[0]: int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text()
              .splitlines() if line.endswith("kB")}
    return sum(values.get(f, 0) for f in fields)


@pytest.fixture
def engine(dist):
    e = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=2)
    yield e
    e.close()


def idle(engine) -> set[int]:
    return {w.process.pid for w in list(engine._idle.queue)}


def test_workers_are_children_of_the_store_process_and_share_its_pages(engine):
    template = engine._template.process.pid
    workers = idle(engine)
    assert len(workers) == 2 and all(parent_of(pid) == template for pid in workers)
    for pid in workers:  # the loaded store is shared copy-on-write: most of a worker's memory is not its own
        assert kib(pid, "Shared_Clean", "Shared_Dirty") > kib(pid, "Private_Clean", "Private_Dirty")


def test_a_stopped_worker_is_forked_again_not_loaded_again(engine):
    template, triples, before = engine._template.process.pid, engine.triples, idle(engine)
    assert engine.status()["kill_to_ready_ms"]["last_100_max"] is None
    with pytest.raises(QueryTimeout):
        engine.run(Job(RUNAWAY, "json"), 1)
    deadline = time.monotonic() + 30
    while (engine._starting or len(idle(engine)) < 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    after = idle(engine)
    stopped, successor = before - after, after - before
    while any(running(pid) for pid in stopped) and time.monotonic() < deadline:  # killed, maybe still ending
        time.sleep(0.01)
    assert len(stopped) == 1 and not any(running(pid) for pid in stopped)
    assert len(successor) == 1 and parent_of(successor.pop()) == template
    # the same store process: nothing was loaded again
    assert engine._template.process.pid == template and engine._template.alive() and engine.triples == triples
    assert b'"boolean": true' in engine.run(Job("ASK { ?s ?p ?o }", "json"), 5).body
    assert engine.status()["kill_to_ready_ms"]["last_100_max"] is not None  # /health shows what it cost


def test_the_store_process_is_started_again_when_it_has_gone(engine):
    old = engine._template.process
    old.kill()
    old.join(5)
    workers = idle(engine)
    for w in list(engine._idle.queue):  # as if the kernel's OOM killer took them all
        w.process.kill()
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b'"boolean": true' in engine.run(Job("ASK { ?s ?p ?o }", "json"), 10).body
    assert engine._template.process.pid != old.pid and engine._template.alive()


def test_runaways_of_other_clients_do_not_hold_an_ordinary_query(engine):
    """Two clients' runaways hold both workers for 30 s; a third client's query is answered by a worker
    forked for it, while both runaways still run, and that worker is gone afterwards."""
    async def scenario() -> None:
        runaways = [asyncio.create_task(engine.arun(Job(RUNAWAY, "json"), 30, client=c)) for c in ("a", "b")]
        while len(engine._running) < 2:
            await asyncio.sleep(0.01)
        answer = await engine.arun(Job("ASK { ?s ?p ?o }", "json"), 30, wait=30, client="c")
        assert b'"boolean": true' in answer.body
        assert not any(r.done() for r in runaways), "answered only once a runaway had ended"
        assert engine.status()["extra"]["running"] == 0, "the extra worker lives on after its query"
        for r in runaways:
            r.cancel()
        await asyncio.gather(*runaways, return_exceptions=True)

    asyncio.run(scenario())


def test_a_client_holding_a_worker_gets_no_extra_one(engine):
    """The extra worker is for clients that hold none: a runaway client's second query waits for its own."""
    async def scenario() -> None:
        runaways = [asyncio.create_task(engine.arun(Job(RUNAWAY, "json"), 30, client=c)) for c in ("a", "b")]
        while len(engine._running) < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(EngineBusy):
            await engine.arun(Job("ASK { ?s ?p ?o }", "json"), 30, wait=1.5, client="a")
        for r in runaways:
            r.cancel()
        await asyncio.gather(*runaways, return_exceptions=True)

    asyncio.run(scenario())


def test_waiting_requests_are_served_in_order(dist):
    """A worker given back goes to the request that has waited longest, not to one that just came."""
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1, extra=0)
    ask = Job("ASK { ?s ?p ?o }", "json")

    async def scenario() -> list[str]:
        order: list[str] = []

        async def query(client: str) -> None:
            await engine.arun(ask, 10, wait=10, client=client)
            order.append(client)

        held = engine._take("holder")
        waited = asyncio.create_task(query("waited"))
        while not engine._waiting:
            await asyncio.sleep(0.001)
        engine._give_back(held, "holder")
        newcomer = asyncio.create_task(query("newcomer"))
        await asyncio.gather(waited, newcomer)
        return order

    try:
        assert asyncio.run(scenario()) == ["waited", "newcomer"]
    finally:
        engine.close()


def test_a_worker_that_kept_much_memory_after_a_query_is_replaced_by_a_fresh_fork(dist):
    big = Job("SELECT * WHERE { ?s ?p ?o } ORDER BY STR(?o)", "json", max_rows=100_000)
    for recycle_over, replaced in ((1 << 20, True), (1 << 30, False)):
        engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1, recycle_over=recycle_over)
        try:
            before = idle(engine)
            engine.run(big, 30)
            deadline = time.monotonic() + 5  # the successor is forked while the old worker stays in the pool
            while idle(engine) in (before, set()) and time.monotonic() < deadline:
                time.sleep(0.01)
            after = idle(engine)
            assert (after != before) is replaced, f"recycle_over={recycle_over}"
            assert len(after) == 1 and parent_of(after.pop()) == engine._template.process.pid
        finally:
            engine.close()


def test_an_engine_abort_is_not_reported_as_the_memory_limit(engine):
    """pyoxigraph 0.5.13 aborts (SIGABRT, as an allocation past the cap does) sorting mixed terms."""
    try:
        engine.run(Job("SELECT * WHERE { ?s ?p ?o } ORDER BY ?o", "json", max_rows=100_000), 30)
    except EngineUnavailable as e:
        assert not isinstance(e, QueryMemoryLimit) and "aborted" in str(e)


def test_a_quiet_pool_replaces_workers_that_hold_memory_of_their_own(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1, tidy_over=1 << 20)
    try:
        before = idle(engine)
        engine.run(Job("SELECT * WHERE { ?s ?p ?o } ORDER BY STR(?o)", "json", max_rows=100_000), 30)
        deadline = time.monotonic() + 30
        while (idle(engine) in (before, set()) or engine._starting) and time.monotonic() < deadline:
            time.sleep(0.05)
        after = idle(engine)
        assert after and after != before and parent_of(after.pop()) == engine._template.process.pid
    finally:
        engine.close()
