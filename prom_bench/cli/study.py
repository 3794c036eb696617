"""Commands: ``status`` (every unit of a study and where it stands) and ``cancel`` (its queued or running jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from prom_bench.cli.app import app
from prom_bench.errors import UserError

RUN = typer.Argument(help="the study's run folder (the 'out' setting, e.g. runs/demo) or one model's folder in it")


def _plans(run: Path):
    from prom_bench.status import study_plans

    plans = study_plans(run)
    if not plans:
        raise UserError(f"'{run}' holds no study (no study.json in it or its model folders); give a run's 'out' folder")
    return plans


@app.command("status")
def status_command(run: Annotated[Path, RUN] = Path("runs/demo")) -> None:
    """Every unit of a study: pending, running (step, loss, ETA from the training's log), done, failed (log, last
    line)."""
    from prom_bench.status import unit_status

    plans = _plans(run)
    alive = _queue_probe()
    statuses = [unit_status(plan, alive) for plan in plans]
    console = Console(highlight=False, soft_wrap=True)
    for status in statuses:
        console.print(status.line(), markup=False)
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status.state] = counts.get(status.state, 0) + 1
    console.print(", ".join(f"{n} {state}" for state, n in counts.items()), markup=False)


@app.command("cancel")
def cancel_command(run: Annotated[Path, RUN] = Path("runs/demo")) -> None:
    """Cancel the SLURM jobs of a study that are still queued or running."""
    from prom_bench.executors import slurm
    from prom_bench.status import claim_path, read_json

    plans = _plans(run)
    queue = slurm.squeue_states()
    if queue is None:
        raise UserError("no SLURM reachable: squeue failed; nothing was cancelled")
    jobs = sorted(
        {claim["job"] for plan in plans if (claim := read_json(claim_path(plan))) and claim.get("job") in queue}
    )
    slurm.cancel(jobs)
    Console(highlight=False).print(f"cancelled {len(jobs)} job(s)" + (f": {', '.join(jobs)}" if jobs else ""))


def _queue_probe():
    """``job_alive`` when SLURM answers, else None (state then comes from the run folder alone)."""
    import shutil

    if shutil.which("squeue") is None:
        return None
    from prom_bench.executors.slurm import job_alive

    return job_alive
