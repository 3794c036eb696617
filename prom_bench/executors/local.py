"""``local``: one machine with G GPUs; units are packed onto free GPUs by ``cluster.gpus_per_unit``.

Each unit (units sharing a training are one group) runs in its own worker process,
``python -m prom_bench.executors.job PLAN.json ...``, with ``CUDA_VISIBLE_DEVICES`` naming its GPUs; a unit
with more than one GPU trains through ``accelerate launch`` (``cluster.accelerate_config``) inside it. Groups
start in plan order whenever enough GPUs are free (first fit). On a machine without GPUs the slots are CPU
slots (``cluster.local_gpus``, default ``gpus_per_unit``: one unit at a time) and a unit with
``gpus_per_unit: 2`` trains in two gloo processes. Worker output goes to ``<root>/local/<work>.log``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from prom_bench.config import RunConfig
from prom_bench.errors import UserError
from prom_bench.executors.follow import follow, groups_of
from prom_bench.plan import UnitPlan


class LocalExecutor:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.skipped = 0

    def gpus(self) -> tuple[int, bool]:
        """(slots, whether they are CUDA devices)."""
        import torch

        count = torch.cuda.device_count()
        if self.config.cluster.local_gpus is not None:
            return self.config.cluster.local_gpus, count > 0
        if count:
            return count, True
        return self.config.cluster.gpus_per_unit, False

    def check(self) -> None:
        slots, cuda = self.gpus()
        need = self.config.cluster.gpus_per_unit
        if self.config.cluster.nodes_per_unit > 1:
            raise UserError(
                f"cluster.nodes_per_unit = {self.config.cluster.nodes_per_unit}: the local executor has one node; "
                "use --executor slurm for multi-node units"
            )
        if need > slots:
            what = "GPUs" if cuda else "CPU slots (cluster.local_gpus)"
            raise UserError(f"cluster.gpus_per_unit = {need} is larger than this machine ({slots} {what})")

    def run(self, plans: list[UnitPlan], *, force: bool, console: Console, wait: bool = True) -> list[dict]:
        from prom_bench.pipeline import plan_path
        from prom_bench.unit import finished

        self.skipped = sum(finished(p) is not None for p in plans) if not force else 0
        slots, cuda = self.gpus()
        free = list(range(slots))
        queue = groups_of(plans, force=force)
        running: list[tuple[subprocess.Popen, list[int], object]] = []
        log_dir = Path(plans[0].root) / "local"
        log_dir.mkdir(parents=True, exist_ok=True)
        threads = max(1, (os.cpu_count() or 1) // max(1, slots))

        def tick() -> bool:
            for proc, gpus, handle in list(running):
                if proc.poll() is not None:
                    running.remove((proc, gpus, handle))
                    handle.close()
                    free.extend(gpus)
            while queue:
                group = queue[0]
                need = self.config.cluster.gpus_per_unit if group[0].train is not None else 1
                if need > len(free):
                    break
                queue.pop(0)
                gpus = sorted(free)[:need]
                for g in gpus:
                    free.remove(g)
                env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
                if cuda:
                    env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
                log = log_dir / f"{group[0].work_key}.log"
                handle = open(log, "a", encoding="utf-8")
                args = [sys.executable, "-m", "prom_bench.executors.job", *[str(plan_path(p)) for p in group]]
                args += ["--every", str(self.config.progress_every_s), "--log", str(log)]
                if force:
                    args.append("--force")
                proc = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env=env)
                running.append((proc, gpus, handle))
            return bool(running or queue)

        try:
            return follow(plans, console, every_s=self.config.progress_every_s, poll_s=0.5, tick=tick)
        finally:
            for proc, _gpus, handle in running:  # interrupted: no orphaned workers
                proc.terminate()
                proc.wait()
                handle.close()
