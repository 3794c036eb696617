"""``run --dry-run`` prints the whole plan offline, fast: units, jobs and resources, mixtures, GPU-hours."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_paper_plan_offline_in_under_ten_seconds(tmp_path):
    args = [sys.executable, "-c", "from prom_bench.cli import main; main()", "run", "--preset", "paper", "--dry-run"]
    args += ["--langs", "all", "--executor", "slurm", "--set", "cluster.gpus_per_unit=8", "--out", str(tmp_path / "r")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    began = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    seconds = time.perf_counter() - began
    assert proc.returncode == 0, proc.stderr
    assert seconds < 10, seconds
    out = proc.stdout
    assert "45 unit(s)" in out  # 9 languages x 5 methods
    # the paper's regulation: lambda = 0 for ar, ta, ml, te, so PROM there shares t's training (one job)
    assert re.search(r"prom/ar\s+trains (\w+)\s+lambda=0", out)
    assert "prom/ar + t/ar" in out or "t/ar + prom/ar" in out
    jobs = int(re.search(r"(\d+) job\(s\)", out).group(1))
    # 45 units; PROM with lambda = 0 (4 languages) shares t's training, and where the model pivots (5 languages)
    # PROM and its no-regulation ablation train the very same thing: one job each
    assert jobs == 45 - 4 - 5
    assert "1 node(s) x 8 GPU(s)" in out and "time limit 4:00:00" in out
    assert "~108,010 examples" in out  # Alpaca + its translation + NTREX + FLORES dev/devtest, estimated offline
    gpu_hours = float(re.search(r"GPU-hours for training\S*: ([\d,.]+)", out).group(1).replace(",", ""))
    assert gpu_hours > 100
    assert not (tmp_path / "r").exists()
