"""What scheduling a study through SLURM costs over running it in this process, side by side in one run.

    OMP_NUM_THREADS=1 SLURM_CONF=... python benchmarks/scheduling_overhead.py
    python benchmarks/scheduling_overhead.py --langs th,ar --methods t,prom --max-steps 2 --limit 2

Runs the same tiny study twice into fresh folders: ``--executor inline`` (one process) and ``--executor slurm
--wait`` (submitit jobs on the cluster ``SLURM_CONF`` names, e.g. the one ``.ci/slurm-up`` starts), each as a
``prom-bench run`` command, timing the whole command (planning, submission, queueing, each job's Python and
model start-up, polling). The order alternates over ``--repeats`` so that drift on a shared machine hits both.
The last line is ``slurm/inline wall time R (inline A s, slurm B s)``, medians over the repeats.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(executor: str, args: argparse.Namespace, folder: Path) -> float:
    command = [sys.executable, "-c", "from prom_bench.cli import main; main()", "run", "--executor", executor]
    command += ["--model", "tiny", "--langs", args.langs, "--methods", args.methods]
    command += ["--out", str(folder / "runs"), "--results", str(folder / "results")]
    for item in (
        f"train.max_steps={args.max_steps}",
        f"eval.limit={args.limit}",
        "eval.max_gen_toks=8",
        "regulation=paper",
        "workers=1",
        "cluster.poll_s=1",
        "controls=[]",  # the study alone, without the demo preset's English control
    ):
        command += ["--set", item]
    if executor == "slurm":
        command.append("--wait")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    began = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        sys.exit(f"{executor} run failed:\n{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--langs", default="th,ar")
    parser.add_argument("--methods", default="t,prom")
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("sbatch") is None:
        sys.exit("no SLURM here: start a cluster (.ci/slurm-up) and export its SLURM_CONF")
    times: dict[str, list[float]] = {"inline": [], "slurm": []}
    # the tiny model is materialised once, outside the timing
    subprocess.run([sys.executable, "-c", "from prom_bench.models import resolve; resolve('tiny')"], check=True)
    for repeat in range(args.repeats):
        order = ("inline", "slurm") if repeat % 2 == 0 else ("slurm", "inline")
        for executor in order:
            with tempfile.TemporaryDirectory(prefix=f"sched-{executor}-") as folder:
                seconds = one(executor, args, Path(folder))
            times[executor].append(seconds)
            print(f"{executor:<7} {seconds:7.1f} s", flush=True)
    inline, slurm = statistics.median(times["inline"]), statistics.median(times["slurm"])
    units = len(args.langs.split(",")) * len(args.methods.split(","))
    print(f"{units} units, {args.max_steps} training steps, {args.limit} items per task")
    print(f"slurm/inline wall time {slurm / inline:.2f} (inline {inline:.1f} s, slurm {slurm:.1f} s)")


if __name__ == "__main__":
    main()
