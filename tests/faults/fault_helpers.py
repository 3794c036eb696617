"""Helpers of the fault suite: a tiny study, the CLI in a real process, process lookups, mounts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prom_bench.results import RECORD_SUFFIX, load_records, record_key

ROOT = Path(__file__).resolve().parents[2]
# The smallest study that still exercises every step: the tiny model, two eval items, 8 generated tokens.
TINY = ["--model", "tiny", "--set", "regulation=paper", "--set", "eval.limit=2", "--set", "eval.max_gen_toks=8"]
TINY += ["--set", "train.max_steps=2", "--set", "controls=[]"]  # the study alone, no English control


def cli_env(home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    if home is not None:
        env["PROM_BENCH_HOME"] = str(home)
    return env


def start_cli(args: list[str], cwd: Path, home: Path | None = None, **popen) -> subprocess.Popen:
    """``prom-bench ARGS`` in its own process and session (so its descendants can be found after a kill)."""
    return subprocess.Popen(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *map(str, args)],
        cwd=cwd,
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,
    )


def run_cli(args: list[str], cwd: Path, timeout: float = 300, home: Path | None = None) -> subprocess.CompletedProcess:
    proc = start_cli(args, cwd, home)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def error_lines(stderr: str) -> list[str]:
    """The lines a failure printed (progress bars and warnings aside)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def session_processes(sid: int) -> list[tuple[int, str]]:
    """Live (non-zombie) processes of session ``sid``: ``[(pid, command)]``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state not in ("Z", "X"):
            found.append((int(entry.name), cmd.strip()))
    return found


def wait_until(predicate, timeout: float, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


def record_files(results: Path) -> list[Path]:
    return sorted(p for p in results.rglob(f"*{RECORD_SUFFIX}") if not p.name.startswith("."))


def assert_each_record_once(results: Path, expected: int) -> None:
    records = load_records([results])
    keys = [record_key(r) for r in records]
    assert len(keys) == len(set(keys)), f"duplicated records: {sorted(keys)}"
    assert len(records) == expected
    assert not [p for p in results.rglob(".*") if p.is_file()], "a stage was left behind"


def tmpfs_mounts(tmp_path: Path):
    """Generator behind the ``tmpfs`` fixture: yields ``mount(size, ro=False) -> Path``, unmounts after."""
    mounts: list[Path] = []

    def mount(size: str = "1m", *, ro: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounts)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if ro else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'}); needs root")
        mounts.append(point)
        return point

    yield mount
    for point in reversed(mounts):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def dead_pid() -> int:
    """The pid of a process that has exited (for stages left by a killed writer)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def kill_session(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
