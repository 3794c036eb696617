"""``prom-bench run``: languages x methods -> data -> train -> evaluate -> record, resumable.

The study is planned first (``prom_bench.plan``: one ``UnitPlan`` per unit, every decision taken, lambda after
regulation included), then handed to an executor (``prom_bench.executors``: inline, local GPUs, SLURM) that
runs each plan through ``prom_bench.unit.execute``.

Every piece of work is content-addressed under ``<out>/<model>/``:
``data/<id>/`` (a built mixture), ``train/<id>/`` (an adapter), ``eval/<id>.json`` (task results), and
``units/<method>/<lang>.json`` (a finished unit, with the id of its resolved config). A rerun skips what is
already there with the same id, so an interrupted run continues where it stopped, and two units whose
effective work is identical share it: PROM with lambda = 0 trains exactly what ``t`` trains.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from rich.console import Console

from prom_bench import executors, languages, methods, plan
from prom_bench.config import RunConfig
from prom_bench.fileio import write_json_atomic
from prom_bench.models import ModelRef, resolve

STUDY_FILE = "study.json"


def run(
    config: RunConfig, *, force: bool = False, console: Console | None = None, wait: bool = True
) -> list[dict] | None:
    """Run every unit of ``config``; return the result records (fresh and cached).

    With an executor that submits (slurm) and ``wait=False``: submit, print the job ids, return None.
    """
    console = console or Console(stderr=True)
    quiet()
    started = time.perf_counter()
    executor = executors.get(config)
    executor.check()  # bad resources fail here, before the probe runs or anything is submitted
    plans = plan_study(config)
    write_study(plans)
    records = executor.run(plans, force=force, console=console, wait=wait)
    if records is not None:
        skipped = getattr(executor, "skipped", 0)
        console.print(
            f"{len(plans) - skipped} unit(s) run, {skipped} already done, in {time.perf_counter() - started:.0f} s; "
            f"results in {config.results}"
        )
    return records


def sweep(configs: list[RunConfig], *, console: Console | None = None) -> list[dict]:
    """Run each config of a sweep (``config.sweep_configs``) in turn; return all their records."""
    console = console or Console(stderr=True)
    records = []
    for i, config in enumerate(configs, 1):
        console.print(f"[bold]sweep {i}/{len(configs)}[/]")
        records += run(config, console=console)
    return records


def plan_study(config: RunConfig, model: ModelRef | None = None) -> list[plan.UnitPlan]:
    """Every unit's plan: the model resolved, regulation decided (the probe runs here when asked), ids computed."""
    model = model or resolve(config.model)
    root = Path(config.out).resolve() / model.slug  # absolute: records point at their adapters
    decisions = _regulation(config, model, [methods.get(m) for m in config.methods])
    return plan.build(config, model, root, decisions)


def write_study(plans: list[plan.UnitPlan]) -> Path:
    """``<root>/study.json``: every unit's plan, for ``prom-bench status`` and ``cancel``; plans one file each."""
    root = Path(plans[0].root)
    for unit_plan in plans:
        write_json_atomic(plan_path(unit_plan), dataclasses.asdict(unit_plan), indent=2, default=str)
    study = {"units": [{"name": p.name, "plan": str(plan_path(p)), "unit_id": p.unit_id} for p in plans]}
    return write_json_atomic(root / STUDY_FILE, study, indent=2)


def plan_path(unit_plan: plan.UnitPlan) -> Path:
    return unit_plan.marker.with_name(f"{unit_plan.lang}.plan.json")


def quiet() -> None:
    """Library chatter (HF progress bars, lm-eval info logs) would tear the run's own progress display."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # deprecation notices between HF libraries
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # lm-eval's request bars; the run has its own display
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("lm-eval", "lm_eval", "transformers", "datasets", "accelerate", "peft", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass


# --- regulation -------------------------------------------------------------------------------------------


def _regulation(config: RunConfig, model: ModelRef, methods_: list[methods.Method]) -> dict[str, dict]:
    """Per language: does the model pivot through English? Only asked when a regulated method runs."""
    langs = sorted(config.langs) if any(m.regulated for m in methods_) else []
    if not langs:
        return {}
    if config.regulation == "none":
        return {lang: {"source": "none", "pivots": True} for lang in langs}
    if config.regulation == "paper":
        return {
            lang: {"source": "paper (LLaMA2-7B)", "pivots": languages.get(lang).pivots_llama2_7b is not False}
            for lang in langs
        }
    from prom_bench.probe.lens import regulation

    # Decided at the block the units train at (train.pivot_layer, the trainer's resolver), so a sweep over n
    # decides at each n. A Decision's fields are plain JSON values, its evidence included: recorded as they are.
    decisions = regulation(model, langs, config.probe, config.train.pivot_layer)
    return {lang: {"source": "probe", **dataclasses.asdict(d)} for lang, d in decisions.items()}
