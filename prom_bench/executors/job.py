"""Inside a worker or a job: run plan files, in order, with plain progress lines on stderr.

``python -m prom_bench.executors.job PLAN.json [PLAN.json ...]`` (the local executor starts this) or
``run_plans([...])`` (a SLURM job, through submitit). Units in one call share their costly work (a training),
so they run one after the other. Exit status 1 when a unit failed; its state file names the error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from prom_bench import display
from prom_bench.plan import UnitPlan
from prom_bench.unit import execute


def run_plans(plan_paths: list[str], *, force: bool = False, every_s: float = 10.0, log: str | None = None) -> int:
    import torch

    from prom_bench.pipeline import quiet

    threads = int(os.environ.get("SLURM_CPUS_PER_TASK") or os.environ.get("OMP_NUM_THREADS") or 1)
    torch.set_num_threads(threads)
    quiet()
    failed = 0
    for path in plan_paths:
        plan = UnitPlan.from_json(Path(path).read_text())
        with display.PlainProgress(every_s=every_s, stream=sys.stderr) as progress:
            task = progress.add_task(plan.name)
            try:
                execute(plan, force=force, report=display.UnitReporter(progress.update, task, plan.name), log=log)
            except Exception as exc:
                print(f"{plan.name}: failed: {exc}", file=sys.stderr)
                failed += 1
            else:
                progress.update(task, description=f"{plan.name}: done", completed=0, total=None)
    return 1 if failed else 0


def follower(plan_paths: list[str], *, poll_s: float = 2.0) -> int:
    """A node other than the first of a multi-node job: start this node's training processes, nothing else.

    The first node builds the data, holds the unit's lease, evaluates and records; here the same training is
    joined with this node's ``--machine_rank`` once its mixture exists.
    """
    import time

    from prom_bench.launching import launch
    from prom_bench.unit import slurm_machines

    for path in plan_paths:
        plan = UnitPlan.from_json(Path(path).read_text())
        if plan.train is None or (Path(plan.train.dir) / "train_result.json").is_file():
            continue
        mixture = Path(plan.data.dir) / "train.jsonl"
        while not mixture.is_file():
            time.sleep(poll_s)
        launch(
            plan.train.settings,
            plan.model_path,
            mixture,
            Path(plan.train.dir),
            plan.train.processes,
            plan.train.accelerate_config,
            slurm_machines(),
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m prom_bench.executors.job")
    parser.add_argument("plans", nargs="+", help="plan files (JSON) to run in order")
    parser.add_argument("--force", action="store_true", help="redo the work even where it is done")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between progress lines")
    parser.add_argument("--log", default=None, help="the log file a failure points at")
    args = parser.parse_args(argv)
    return run_plans(args.plans, force=args.force, every_s=args.every, log=args.log)


if __name__ == "__main__":
    sys.exit(main())
