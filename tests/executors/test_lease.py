"""Leases (NFS-safe exclusive ownership): one winner among racers, heartbeats keep a lease, stale ones are taken."""

from __future__ import annotations

import json
import multiprocessing as mp
import time

from prom_bench.lease import Lease, held, read


def _race(path: str, start: float, out) -> None:
    while time.time() < start:
        pass
    lease = Lease(path, heartbeat_s=0.2)
    won = lease.try_acquire()
    out.put(won)
    if won:
        time.sleep(1.0)  # hold it while the others try
        lease.release()


def test_only_one_of_racing_processes_acquires(tmp_path):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 3.0
    procs = [ctx.Process(target=_race, args=(str(tmp_path / "work.lease"), start, out)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    wins = [out.get(timeout=5) for _ in procs]
    assert sum(wins) == 1, wins
    assert not (tmp_path / "work.lease").exists()  # released by its holder
    assert not list(tmp_path.glob("work.lease.*"))  # no temporary files left


def test_a_heart_beating_lease_is_kept_and_a_silent_one_taken_over(tmp_path):
    path = tmp_path / "work.lease"
    holder = Lease(path, heartbeat_s=0.2, stale_s=1.0)
    assert holder.try_acquire()
    waiter = Lease(path, heartbeat_s=0.2, stale_s=1.0)
    began = time.monotonic()
    try:
        waiter.acquire(timeout=3.0)
        raise AssertionError("a live lease was taken over")
    except TimeoutError:
        pass
    assert time.monotonic() - began >= 3.0
    assert held(path, stale_s=1.0)["token"] == holder.owner["token"]

    # an owner on another machine that stopped beating (a lost node): stale after stale_s of no change
    holder._stop.set()
    holder._thread.join()
    path.write_text(json.dumps({**holder.owner, "host": "another-node"}))
    began = time.monotonic()
    waiter.acquire(timeout=10.0)
    assert 1.0 <= time.monotonic() - began < 5.0
    assert read(path)["token"] == waiter.owner["token"]
    assert holder.lost
    waiter.release()
    assert not path.exists()


def test_a_lease_of_a_dead_local_process_is_taken_at_once(tmp_path):
    path = tmp_path / "work.lease"
    proc = mp.get_context("spawn").Process(target=time.sleep, args=(0,))
    proc.start()
    proc.join()
    path.write_text(json.dumps({"host": __import__("socket").gethostname(), "pid": proc.pid, "token": "x"}))
    began = time.monotonic()
    with Lease(path, stale_s=60.0) as lease:
        assert read(path)["token"] == lease.owner["token"]
    assert time.monotonic() - began < 5.0
