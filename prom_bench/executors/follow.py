"""Following units that run elsewhere (local worker processes, SLURM jobs) from their run folder."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console

from prom_bench import display
from prom_bench.plan import UnitPlan
from prom_bench.status import DONE, FAILED, unit_status
from prom_bench.unit import finished


class UnitsFailed(RuntimeError):
    """Some units failed; the message has one line per failed unit (its error and its log)."""


def groups_of(plans: list[UnitPlan], *, force: bool = False) -> list[list[UnitPlan]]:
    """Units not yet done, grouped by the costly work they share (one job or worker per group), order kept."""
    groups: dict[str, list[UnitPlan]] = {}
    for plan in plans:
        if force or finished(plan) is None:
            groups.setdefault(plan.work_key, []).append(plan)
    return list(groups.values())


def follow(
    plans: list[UnitPlan],
    console: Console,
    *,
    every_s: float,
    poll_s: float,
    alive: Callable[[str], bool | None] | None = None,
    tick: Callable[[], bool] | None = None,
) -> list[dict]:
    """Show every unit's state until all are done or failed; then the records, or ``UnitsFailed``.

    ``tick`` (the local executor starts its workers there) is called every poll and returns True while it
    still has work in hand; following ends only when it has none.
    """
    from prom_bench import results

    with display.progress(console, every_s) as progress:
        overall = progress.add_task("[bold]units", total=len(plans))
        tasks = {plan.name: progress.add_task(plan.name, total=None) for plan in plans}
        while True:
            busy = tick() if tick else False
            statuses = [unit_status(plan, alive) for plan in plans]
            for status in statuses:
                progress.update(
                    tasks[status.name],
                    description=status.line(),
                    completed=status.step or 0,
                    total=status.total,
                    visible=status.state not in (DONE,),
                )
            progress.update(overall, completed=sum(s.state == DONE for s in statuses))
            if not busy and all(s.state in (DONE, FAILED) for s in statuses):
                break
            time.sleep(poll_s)
    failed = [s for s in statuses if s.state == FAILED]
    if failed:
        raise UnitsFailed(f"{len(failed)} unit(s) failed:\n" + "\n".join(s.line() for s in failed))
    return [r for plan in plans for r in results.load_records(finished(plan))]
