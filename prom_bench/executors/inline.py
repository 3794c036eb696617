"""``inline``: units in this process, or side by side in ``workers`` CPU processes (spawned)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from prom_bench import display
from prom_bench.config import RunConfig
from prom_bench.plan import UnitPlan
from prom_bench.unit import Outcome, execute


class InlineExecutor:
    def __init__(self, config: RunConfig) -> None:
        self.config = config

    def check(self) -> None:
        pass  # nothing beyond the plan: it runs here

    def run(self, plans: list[UnitPlan], *, force: bool, console: Console, wait: bool = True) -> list[dict]:
        """Methods are the outer loop of ``plans``, so ``base`` finishes first."""
        outcomes: dict[str, Outcome] = {}
        with display.progress(console, self.config.progress_every_s) as progress:
            overall = progress.add_task("[bold]units", total=len(plans))
            deferred = self.config.eval.backend != "hf"  # evaluated afterwards, on one engine per base model
            if self.config.workers <= 1:
                current = progress.add_task("", total=None)
                for plan in plans:
                    reporter = display.UnitReporter(progress.update, current, plan.name)
                    outcomes[plan.name] = execute(plan, force=force, report=reporter, prepare_only=deferred)
                    if not deferred:
                        progress.advance(overall)
                progress.update(current, visible=False)
            else:
                outcomes = _run_parallel(self.config.workers, plans, force, progress, overall, deferred)
            if deferred:
                outcomes = self._evaluate_on_one_engine(plans, force, progress, overall)
        self.skipped = sum(o.skipped for o in outcomes.values())
        return [r for plan in plans for r in outcomes[plan.name].records]

    def _evaluate_on_one_engine(self, plans: list[UnitPlan], force: bool, progress: Any, overall: Any) -> dict:
        """The LoRA units of a study share the base model, so one engine serves them all (merged adapters and
        full fine-tunes are models of their own); the base model's units first, so no engine starts twice."""
        from prom_bench.engines import open_engine
        from prom_bench.unit import finished, weights_to_evaluate

        outcomes = {}
        todo = []
        for plan in plans:  # finished units load their records: no engine is started for them
            if not force and finished(plan) is not None:
                outcomes[plan.name] = execute(plan)
                progress.advance(overall)
            else:
                todo.append(plan)
        if not todo:
            return outcomes
        weights = [weights_to_evaluate(p) for p in todo]
        order = sorted(todo, key=lambda p: weights_to_evaluate(p)[0] != p.model_path)
        current = progress.add_task("", total=None)
        with open_engine(self.config.eval, weights, log=lambda line: print(line, file=sys.stderr)) as engine:
            for plan in order:
                reporter = display.UnitReporter(progress.update, current, plan.name)
                outcomes[plan.name] = execute(plan, force=force, report=reporter, engine=engine)
                progress.advance(overall)
        progress.update(current, visible=False)
        return outcomes


def _run_parallel(
    workers: int, plans: list[UnitPlan], force: bool, progress: Any, overall: Any, prepare_only: bool = False
) -> dict:
    """Units in a process pool; each worker streams its progress events back through a queue.

    Only the plan's JSON crosses to the worker: what it runs is exactly what was planned here. The workers and
    the queue's manager die with this process (``processes.die_with_parent``), and any way out of here other
    than success (an error, Ctrl-C, SIGTERM) kills them first, so no unit goes on after the run was stopped.
    """
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing.managers import SyncManager

    from prom_bench.processes import die_with_parent, stop_pool

    ctx = mp.get_context("spawn")
    manager = SyncManager(ctx=ctx)
    manager.start(die_with_parent, (os.getpid(),))
    bars: dict[str, Any] = {}
    outcomes: dict[str, Outcome] = {}
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(threads, os.getpid()))
    clean = False
    try:
        events = manager.Queue()
        futures = {pool.submit(_unit_job, plan.to_json(), force, events, prepare_only): plan for plan in plans}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            while True:
                try:
                    name, fields = events.get_nowait()
                except queue_mod.Empty:
                    break
                if name not in bars:
                    bars[name] = progress.add_task(name, total=None)
                progress.update(bars[name], **fields)
            for future in finished:
                plan = futures[future]
                outcomes[plan.name] = future.result()  # re-raises a worker's error here, with its own message
                if plan.name in bars:
                    progress.update(bars[plan.name], visible=False)
                if not prepare_only:
                    progress.advance(overall)
        pool.shutdown(wait=True)
        clean = True
    finally:
        pids = set((getattr(pool, "_processes", None) or {}).keys())
        stop_pool(pool)  # a no-op after a clean shutdown; otherwise the workers are killed, not awaited
        manager.shutdown()
        if not clean:  # a worker killed mid-write leaves its stage: gone with it
            from prom_bench.fileio import remove_stages_of

            remove_stages_of(sorted({Path(p.root) for p in plans} | {Path(p.results) for p in plans}), pids)
    return outcomes


def _worker_init(threads: int, parent_pid: int) -> None:
    from prom_bench.processes import die_with_parent

    die_with_parent(parent_pid)
    import torch

    from prom_bench.pipeline import quiet

    torch.set_num_threads(threads)
    quiet()


def _unit_job(plan_json: str, force: bool, events: Any, prepare_only: bool = False) -> Outcome | None:
    plan = UnitPlan.from_json(plan_json)

    def send(_task: Any, **fields: Any) -> None:
        events.put((plan.name, fields))

    return execute(plan, force=force, report=display.UnitReporter(send, None, plan.name), prepare_only=prepare_only)
