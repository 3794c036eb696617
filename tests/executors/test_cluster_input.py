"""Bad cluster input: one line, exit 2, before anything is submitted (real sinfo where a cluster answers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prom_bench.executors.settings import extra_sbatch, time_limit_minutes

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONF = Path(os.environ.get("TMPDIR", "/tmp")) / "prom-bench-slurm" / "slurm.conf"


def _run(tmp_path, *sets: str, env: dict | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-c", "from prom_bench.cli import main; main()", "run", "--executor", "slurm"]
    args += ["--model", "tiny", "--langs", "th", "--methods", "base", "--set", "regulation=paper"]
    args += ["--out", str(tmp_path / "runs"), "--results", str(tmp_path / "results")]
    for item in sets:
        args += ["--set", item]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


def _cluster_env() -> dict:
    env = dict(os.environ)
    if "SLURM_CONF" not in env and DEFAULT_CONF.is_file():
        env["SLURM_CONF"] = str(DEFAULT_CONF)
    try:
        if subprocess.run(["sinfo", "-h"], env=env, capture_output=True, timeout=20).returncode == 0:
            return env
    except (OSError, subprocess.TimeoutExpired):
        pass
    pytest.skip("no SLURM cluster answers (start one with .ci/slurm-up)")


def _assert_refused(result: subprocess.CompletedProcess, tmp_path: Path, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not (tmp_path / "runs").exists()  # nothing planned, claimed or submitted


@pytest.mark.parametrize(
    "text, minutes",
    [("90", 90), ("1:30", 2), ("4:00:00", 240), ("2-00", 2880), ("1-12:30", 2190), ("0-00:00:30", 1)],
)
def test_slurm_time_formats(text, minutes):
    assert time_limit_minutes(text) == minutes


def test_extra_sbatch_parameters():
    assert extra_sbatch(["constraint=a100", "--exclusive", "gres-flags=enforce-binding"]) == {
        "constraint": "a100",
        "exclusive": "",
        "gres_flags": "enforce-binding",
    }


def test_unparsable_time_limit(tmp_path):
    _assert_refused(_run(tmp_path, "cluster.time_limit=4h"), tmp_path, "cluster.time_limit '4h'", "HH:MM:SS")


def test_no_slurm_reachable(tmp_path):
    """A real sinfo that reaches no controller (its configuration does not exist)."""
    result = _run(tmp_path, env={"SLURM_CONF": str(tmp_path / "absent.conf")})
    _assert_refused(result, tmp_path, "no SLURM reachable")


def test_unknown_partition(tmp_path):
    result = _run(tmp_path, "cluster.partition=gpu-a100", env=_cluster_env())
    _assert_refused(result, tmp_path, "unknown SLURM partition 'gpu-a100'", "valid: debug")


def test_more_gpus_per_unit_than_a_node(tmp_path):
    env = _cluster_env()
    cpus = int(subprocess.run(["sinfo", "-h", "-o", "%c"], env=env, capture_output=True, text=True).stdout.split()[0])
    result = _run(tmp_path, f"cluster.gpus_per_unit={cpus + 1}", env=env)
    _assert_refused(result, tmp_path, f"cluster.gpus_per_unit = {cpus + 1} is larger than a node")
