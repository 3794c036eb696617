"""Executors: where a study's planned units run. A new engine is one module with one class.

Every executor receives the same ``UnitPlan`` objects and runs each through ``prom_bench.unit.execute``
(in this process, in a worker process, or inside a SLURM job); none decides anything about a unit.

* ``inline``: this process, or ``workers`` CPU processes (the demo's default).
* ``local``: this machine's GPUs; units are packed onto free GPUs by ``cluster.gpus_per_unit``.
* ``slurm``: one SLURM job per unit (units sharing a training share a job), through submitit.
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console

from prom_bench.config import RunConfig
from prom_bench.plan import UnitPlan


class Executor(Protocol):
    def check(self) -> None:
        """Refuse bad resources with a ``UserError`` (one line) before anything starts or is submitted."""

    def run(self, plans: list[UnitPlan], *, force: bool, console: Console, wait: bool) -> list[dict] | None:
        """Run (or submit) the units; the records when they are all done, None when submitted and not waited on."""


def get(config: RunConfig) -> Executor:
    if config.executor == "local":
        from prom_bench.executors.local import LocalExecutor

        return LocalExecutor(config)
    if config.executor == "slurm":
        from prom_bench.executors.slurm import SlurmExecutor

        return SlurmExecutor(config)
    from prom_bench.executors.inline import InlineExecutor

    return InlineExecutor(config)
