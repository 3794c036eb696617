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
from prom_bench.errors import UserError
from prom_bench.fileio import check_writable, write_json_atomic
from prom_bench.models import ModelRef, resolve
from prom_bench.preflight import check_run

STUDY_FILE = "study.json"


def run(
    config: RunConfig, *, force: bool = False, console: Console | None = None, wait: bool = True
) -> list[dict] | None:
    """Run every unit of ``config``; return the result records (fresh and cached).

    With an executor that submits (slurm) and ``wait=False``: submit, print the job ids, return None.
    """
    from prom_bench.engines import check_backend

    console = console or Console(stderr=True)
    check_backend(config.eval)
    # a destination that cannot be written fails now, not after the first unit has trained and evaluated
    check_writable(Path(config.out), "out folder")
    check_writable(Path(config.results), "results folder")
    quiet()
    started = time.perf_counter()
    check_run(config)  # every setting this model cannot run fails here, before any unit
    check(config)  # every unit's data and evaluation files exist, before any work
    executor = executors.get(config)
    executor.check()  # bad resources fail here, before the probe runs or anything is submitted
    plans = plan_study(config, console=console)
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


def plan_study(
    config: RunConfig, model: ModelRef | None = None, *, console: Console | None = None
) -> list[plan.UnitPlan]:
    """Every unit's plan: the model resolved, prompt formats resolved for it, regulation decided (the probe runs
    here when asked), ids computed."""
    model = model or resolve(config.model)
    config = resolve_formats(config, model)
    root = Path(config.out).resolve() / model.slug  # absolute: records point at their adapters
    decisions = _regulation(config, model, [methods.get(m) for m in config.methods], console or Console(stderr=True))
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


# --- checks before any work ------------------------------------------------------------------------------


def check(config: RunConfig) -> None:
    """What ``run`` checks before any work (``run --dry-run`` too): every unit's data and evaluation files.

    Checked: the sources of each part of each training unit's mixture (``resolve_sources``) and the local file
    of each task's data. The content is read when the unit runs (a bad record names its file and line then).
    """
    from prom_bench.data.build import resolve_sources
    from prom_bench.evaluation import local_data_file

    for method in [methods.get(m) for m in config.methods]:
        for lang in config.langs:
            if method.trains and method.mixture:
                resolve_sources(lang, method.name, config.data)
            data_dir = plan.eval_data_dir(config.eval.data_dir, lang)
            if data_dir is None:
                continue
            language = languages.get(lang)
            for task in languages.cells(lang, config.extra_cells):
                path = local_data_file(data_dir, task)
                if path is not None and not path.is_file():
                    demo = config.eval.data_dir == "demo" and not language.data.eval
                    raise UserError(
                        f"no evaluation data for {task} in {'the demo data' if demo else data_dir} (expected "
                        f"{path}); declare data.eval: FOLDER (the upstream layout, e.g. indicqa/indicqa.<code>.json) "
                        "in the language's languages file, or --set eval.data_dir=FOLDER|hub"
                    )


def resolve_formats(config: RunConfig, model: ModelRef) -> RunConfig:
    """The config with ``auto`` prompt formats resolved for ``model``, checked before any work.

    ``auto`` (``train.format``, ``eval.chat_template``) is the chat template where the model has one (an
    instruct model) and the plain prompts where it has none (a base model, the tiny test model). Records,
    identities and the saved config see the resolved pair only.
    """
    train_format, chat = config.train.format, config.eval.chat_template
    if train_format not in ("chat", "auto") and chat not in (True, "auto"):
        return config
    from transformers import AutoTokenizer

    has_template = bool(getattr(AutoTokenizer.from_pretrained(model.path), "chat_template", None))
    uses = [
        name for name, on in (("train.format=chat", train_format == "chat"), ("eval.chat_template", chat is True)) if on
    ]
    if uses and not has_template:
        verb = "needs" if len(uses) == 1 else "need"
        raise UserError(
            f"{' and '.join(uses)} {verb} the model's chat template, and {model.display}'s tokenizer has none; "
            "use train.format=alpaca and eval.chat_template=false (or auto)"
        )
    return dataclasses.replace(
        config,
        train=dataclasses.replace(
            config.train, format=("chat" if has_template else "alpaca") if train_format == "auto" else train_format
        ),
        eval=dataclasses.replace(config.eval, chat_template=has_template if chat == "auto" else chat),
    )


# --- regulation -------------------------------------------------------------------------------------------


def _regulation(
    config: RunConfig, model: ModelRef, methods_: list[methods.Method], console: Console
) -> dict[str, dict]:
    """Per language: does the model pivot through English? Only asked when a regulated method runs.

    A language with no cloze set to probe is decided here, with its reason printed (``no_cloze_decision``).
    """
    langs = sorted(config.langs) if any(m.regulated for m in methods_) else []
    if not langs:
        return {}
    undecidable = {}
    if config.regulation == "probe":
        from prom_bench.probe.cloze_source import no_cloze_decision

        for lang in langs:
            decision = no_cloze_decision(lang, config.probe)
            if decision is not None:
                console.print(f"[yellow]{decision['reason']}[/]", highlight=False)
                undecidable[lang] = decision
        langs = [lang for lang in langs if lang not in undecidable]
        if not langs:
            return undecidable
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
    return undecidable | {lang: {"source": "probe", **dataclasses.asdict(d)} for lang, d in decisions.items()}
