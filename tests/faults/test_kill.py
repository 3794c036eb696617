"""A killed run leaves no process behind and its rerun duplicates nothing; two runs at once write each record once.

Real processes: ``prom-bench run`` with 2 workers (the demo default: a spawn pool and a queue manager) in
its own session, killed by SIGTERM and by SIGKILL once it has written its first record; afterwards no
process of that session may be alive (the workers, the manager and the resource tracker included).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from fault_helpers import (
    TINY,
    assert_each_record_once,
    error_lines,
    kill_session,
    record_files,
    run_cli,
    session_processes,
    start_cli,
    wait_until,
)

LANGS = "el,sw,th,ar"  # four units, six records (th and ar have two tasks each)
RECORDS = 6


def _args(tmp_path: Path, workers: int) -> list:
    return [
        "run",
        *TINY,
        "--methods",
        "base",
        "--langs",
        LANGS,
        "--set",
        f"workers={workers}",
        "--out",
        tmp_path / "runs",
        "--results",
        tmp_path / "results",
    ]


def _spawned(sid: int) -> list[tuple[int, str]]:
    return [(pid, cmd) for pid, cmd in session_processes(sid) if "multiprocessing" in cmd]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_two_worker_run_leaves_no_process_and_rerun_duplicates_nothing(tmp_path, signum):
    results = tmp_path / "results"
    proc = start_cli(_args(tmp_path, workers=2), tmp_path)
    try:
        # two workers and the manager (spawned), and the first record written: the run is mid-way
        started = wait_until(lambda: len(_spawned(proc.pid)) >= 3 and record_files(results), timeout=300, poll=0.05)
        assert started, f"the run did not get going: {session_processes(proc.pid)}; {proc.stderr.read()[-2000:]}"
        before = session_processes(proc.pid)
        assert len(record_files(results)) < RECORDS, "the run finished before the kill; nothing was tested"
        os.kill(proc.pid, signum)
        proc.wait(timeout=30)
        gone = wait_until(lambda: not session_processes(proc.pid), timeout=5)
        assert gone, f"survivors of {signum!r}: {session_processes(proc.pid)} (running before: {before})"
    finally:
        kill_session(proc)
    stderr = proc.stderr.read()
    if signum == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert "Traceback" not in stderr
        assert [line.split(";")[0] for line in error_lines(stderr)] == ["error: stopped by SIGTERM"]
    assert not [p for p in results.rglob(".*") if p.is_file()]  # no half-written record

    rerun = run_cli(_args(tmp_path, workers=1), tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_each_record_once(results, RECORDS)


def test_two_concurrent_runs_on_one_folder_write_each_record_once(tmp_path):
    args = _args(tmp_path, workers=1)
    args[args.index("--langs") + 1] = "el,sw"
    procs = [start_cli(args, tmp_path) for _ in range(2)]
    try:
        outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            kill_session(p)
    assert [code for code, _ in outcomes] == [0, 0], outcomes[0][1][-2000:] + outcomes[1][1][-2000:]
    assert_each_record_once(tmp_path / "results", 2)
