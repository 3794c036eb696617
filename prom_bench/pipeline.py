"""``prom-bench run``: languages x methods -> data -> train -> evaluate -> record, resumable.

Every piece of work is content-addressed under ``<out>/<model>/``:
``data/<id>/`` (a built mixture), ``train/<id>/`` (an adapter), ``eval/<id>.json`` (task results), and
``units/<method>/<lang>.json`` (a finished unit, with the id of its resolved config). A rerun skips what is
already there with the same id, so an interrupted run continues where it stopped, and two units whose
effective work is identical share it: PROM with lambda = 0 trains exactly what ``t`` trains.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prom_bench import languages, methods, model_card
from prom_bench.config import RunConfig, fingerprint
from prom_bench.errors import UserError
from prom_bench.fileio import check_writable, read_json_checked, shape, warn, write_json_atomic
from prom_bench.methods import S_E, Method
from prom_bench.models import ModelRef, resolve


@dataclass
class Unit:
    """One cell of the study: a method on a language, with one seed (None: the config's own seed)."""

    method: Method
    lang: str
    seed: int | None = None
    pivot_weight: float | None = None  # effective lambda after regulation (pivot objective only)
    regulation: dict[str, Any] | None = None
    records: list[dict] = field(default_factory=list)
    skipped: bool = False

    @property
    def name(self) -> str:
        return f"{self.method.name}/{self.lang}" + ("" if self.seed is None else f"/seed {self.seed}")


def _for_seed(config: RunConfig, seed: int | None) -> RunConfig:
    """The unit's config: with ``--seeds``, both the run's seed and the trainer's seed are the unit's."""
    if seed is None:
        return config
    return dataclasses.replace(config, seed=seed, train=dataclasses.replace(config.train, seed=seed))


def run(config: RunConfig, *, force: bool = False, console: Console | None = None) -> list[dict]:
    """Run every unit of ``config``; return the result records (fresh and cached).

    Units run in ``config.workers`` processes (one thread each: on small CPUs two 1-thread workers give
    about 1.9x the throughput of one process); methods are the outer loop, so ``base`` finishes first.
    """
    from prom_bench.engines import check_backend
    from prom_bench.preflight import check_run

    console = console or Console(stderr=True)
    check_backend(config.eval)
    # a destination that cannot be written fails now, not after the first unit has trained and evaluated
    check_writable(Path(config.out), "out folder")
    check_writable(Path(config.results), "results folder")
    _quiet()
    check_run(config)  # every setting this model cannot run fails here, before any unit
    check(config)  # every unit's data and evaluation files exist, before any work
    model = resolve(config.model)
    config = resolve_formats(config, model)
    root = Path(config.out).resolve() / model.slug  # absolute: records point at their adapters
    seeds = list(config.seeds) or [None]
    # An untrained model has no seed to vary (greedy decoding, fixed evaluation seeds): one unit, seed None.
    units = [
        Unit(methods.get(m), lang, seed)
        for m in config.methods
        for lang in config.langs
        for seed in (seeds if methods.get(m).trains else [None])
    ]
    # the English control: the base model only (one model, no seed), unless the study already has it
    units += [Unit(methods.get("base"), lang) for lang in config.controls if ("base", lang) not in _names(units)]
    decisions = _regulation(config, model, units, console)
    started = time.perf_counter()

    with _progress(console) as progress:
        overall = progress.add_task("[bold]units", total=len(units))
        deferred: list[_Pending] = []
        if config.workers <= 1:
            current = progress.add_task("", total=None)
            for unit in units:
                pending = _run_unit(
                    config, model, root, unit, decisions, force, _Reporter(progress.update, current, unit.name)
                )
                deferred += [pending] if pending else []
                progress.advance(overall)
            progress.update(current, visible=False)
        else:
            deferred = _run_parallel(config, model, root, units, decisions, force, progress, overall)
        if deferred:
            _evaluate_on_one_engine(config, model, root, deferred, force, progress)
    done = sum(not u.skipped for u in units)
    console.print(
        f"{done} unit(s) run, {len(units) - done} already done, in {time.perf_counter() - started:.0f} s; "
        f"results in {config.results}"
    )
    return [r for u in units for r in u.records]


def sweep(configs: list[RunConfig], *, console: Console | None = None) -> list[dict]:
    """Run each config of a sweep (``config.sweep_configs``) in turn; return all their records."""
    console = console or Console(stderr=True)
    records = []
    for i, config in enumerate(configs, 1):
        console.print(f"[bold]sweep {i}/{len(configs)}[/]")
        records += run(config, console=console)
    return records


def _names(units: list[Unit]) -> set[tuple[str, str]]:
    return {(u.method.name, u.lang) for u in units}


def _run_parallel(
    config: RunConfig,
    model: ModelRef,
    root: Path,
    units: list[Unit],
    decisions: dict,
    force: bool,
    progress: Progress,
    overall: Any,
) -> list[_Pending]:
    """Units in a process pool; each worker streams its progress events back through a queue. Returns the
    units whose evaluation waits for one shared engine.

    The workers and the queue's manager die with this process (``processes.die_with_parent``), and any way
    out of here other than success (an error, Ctrl-C, SIGTERM) kills them first, so no unit goes on
    training and writing results after the run was stopped.
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
    threads = max(1, (os.cpu_count() or 1) // config.workers)
    deferred: list[_Pending] = []
    pool = ProcessPoolExecutor(
        config.workers, mp_context=ctx, initializer=_worker_init, initargs=(threads, os.getpid(), config.languages_file)
    )
    try:
        events = manager.Queue()
        futures = {pool.submit(_unit_job, config, model, root, unit, decisions, force, events): unit for unit in units}
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
                unit = futures[future]
                done_unit, waiting = future.result()  # re-raises a worker's error here, with its own message
                deferred += [waiting] if waiting else []
                unit.records, unit.skipped, unit.pivot_weight = (
                    done_unit.records,
                    done_unit.skipped,
                    done_unit.pivot_weight,
                )
                if unit.name in bars:
                    progress.update(bars[unit.name], visible=False)
                progress.advance(overall)
        pool.shutdown(wait=True)
    finally:
        stop_pool(pool)  # a no-op after a clean shutdown; otherwise the workers are killed, not awaited
        manager.shutdown()
    return deferred


def _worker_init(threads: int, parent_pid: int, languages_files: list[str]) -> None:
    from prom_bench.processes import die_with_parent

    die_with_parent(parent_pid)
    import torch

    torch.set_num_threads(threads)
    languages.register_files(languages_files)  # a spawned worker starts from the built-in table
    _quiet()


def _unit_job(
    config: RunConfig, model: ModelRef, root: Path, unit: Unit, decisions: dict, force: bool, events: Any
) -> tuple[Unit, _Pending | None]:
    def send(_task: Any, **fields: Any) -> None:
        events.put((unit.name, fields))

    pending = _run_unit(config, model, root, unit, decisions, force, _Reporter(send, None, unit.name))
    return unit, pending


def _quiet() -> None:
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


# --- one unit ---------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """A unit trained (or needing no training) whose evaluation and records are still to come."""

    unit: Unit
    unit_id: str
    train_settings: dict[str, Any] | None
    adapter: Path | None
    mixture_dir: Path | None
    marker: Path  # the unit's done-marker, written once its records are
    config: RunConfig  # the unit's own (its seed applied)


def _run_unit(
    config: RunConfig, model: ModelRef, root: Path, unit: Unit, decisions: dict, force: bool, report: _Reporter
) -> _Pending | None:
    """Data, training and (with the ``hf`` backend) evaluation and records of one unit.

    With another backend the unit is returned unevaluated: every unit of the study is evaluated afterwards on
    one engine per base model (``_evaluate_on_one_engine``), so that engines are not started per unit and
    training never competes with an engine for the GPU.
    """
    from prom_bench import results

    config = _for_seed(config, unit.seed)
    train_settings = _effective_train(config, unit, decisions)
    unit_id = fingerprint(
        {
            "model": model.path,
            "method": unit.method.name,
            "lang": unit.lang,
            "data": config.data,
            "train": train_settings,
            "eval": config.eval.identity(),
            "seed": config.seed,
            "model_name": config.model_name,  # a new name rewrites the records (the work itself is reused)
            **_declared(unit.lang),
            **({"extra_cells": True} if config.extra_cells else {}),
        }
    )
    marker = (
        root
        / "units"
        / unit.method.name
        / (f"{unit.lang}.json" if unit.seed is None else f"{unit.lang}.seed{unit.seed}.json")
    )
    saved = None if force else read_json_checked(marker, _marker_problem, what="unit marker")
    if saved and saved["unit_id"] == unit_id and all(Path(p).is_file() for p in saved["records"]):
        try:
            unit.records = results.load_records([Path(p) for p in saved["records"]])
            unit.skipped = True
            return None
        except UserError as exc:  # a record of the unit is damaged: the unit is redone and rewrites it
            warn(f"{exc}; redoing unit {unit.name}")
            unit.records = []

    adapter = mixture_dir = None
    if train_settings is not None:
        mixture_dir = _build_data(config, root, unit, train_settings, force, report)
        adapter = _train(config, model, root, mixture_dir, train_settings, force, report)
        with _locked(adapter):  # units in parallel may share one training (PROM with lambda = 0 and t)
            model_card.write(adapter, base=model, lang=unit.lang, train=train_settings, mixture_dir=mixture_dir)
    pending = _Pending(unit, unit_id, train_settings, adapter, mixture_dir, marker, config)
    if config.eval.backend != "hf":
        return pending
    _finish_unit(model, root, pending, force, report, engine=None)
    return None


def _finish_unit(model: ModelRef, root: Path, pending: _Pending, force: bool, report: _Reporter, engine: Any) -> None:
    """Evaluate a prepared unit, write its records, its scores on the model card and its done-marker."""
    from prom_bench import results
    from prom_bench.evaluation import task_settings
    from prom_bench.model_identity import identity

    config, unit, adapter, train_settings = pending.config, pending.unit, pending.adapter, pending.train_settings
    task_results = _evaluate(config, model, root, unit, adapter, force, report, engine)
    settings = _record_settings(config, unit, train_settings, pending.mixture_dir)
    model_id = identity(model, name=config.model_name)
    paths = []
    for task_result in task_results:
        record = results.record_from(
            task_result,
            model=model,
            method=unit.method.name,
            lang=unit.lang,
            settings=settings,
            task_settings=task_settings(task_result),
            model_id=model_id,
            limit=config.eval.limit,
            seed=config.seed if train_settings is not None else None,
            config=config.to_dict()
            | {
                "unit_id": pending.unit_id,
                "effective_train": train_settings,
                "regulation": unit.regulation,
                "adapter": str(adapter) if adapter else None,
            },
        )
        paths.append(str(results.write_record(Path(config.results), record)))
        unit.records.append(record)
    if adapter is not None:
        with _locked(adapter):
            model_card.add_scores(adapter, unit.records)
    _write_json(
        pending.marker,
        {
            "unit_id": pending.unit_id,
            "records": paths,
            "weights": str(adapter) if adapter else None,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )


def _evaluate_on_one_engine(
    config: RunConfig, model: ModelRef, root: Path, deferred: list[_Pending], force: bool, progress: Progress
) -> None:
    """Evaluate the prepared units on one engine per base model: the LoRA units of a study share the base
    model, so one engine serves them all (merged adapters and full fine-tunes are models of their own)."""
    from prom_bench.engines import open_engine

    plan = [_weights(model, p.adapter) for p in deferred]
    bar = progress.add_task(f"[bold]evaluating ({config.eval.backend})", total=len(deferred))
    current = progress.add_task("", total=None)
    # the base model's units first, then each other model's: an engine is never started twice for one model
    order = sorted(deferred, key=lambda p: _weights(model, p.adapter)[0] != model.path)
    with open_engine(config.eval, plan, log=progress.console.print) as engine:
        for pending in order:
            report = _Reporter(progress.update, current, pending.unit.name)
            _finish_unit(model, root, pending, force, report, engine)
            progress.advance(bar)
    progress.update(current, visible=False)


def _weights(model: ModelRef, trained: Path | None) -> tuple[str, str | None]:
    """``(model path, adapter or None)`` to evaluate: a trained LoRA adapter on the base model, or a fully
    fine-tuned model by its own path."""
    if trained is None:
        return model.path, None
    if not (Path(trained) / "adapter_config.json").is_file() and (Path(trained) / "config.json").is_file():
        return str(trained), None
    return model.path, str(trained)


def _effective_train(config: RunConfig, unit: Unit, decisions: dict) -> dict[str, Any] | None:
    """The training settings this unit really uses (None for ``base``), with lambda after regulation.

    PROM with lambda = 0 is exactly ``t`` (English data contributes nothing, so it is not even loaded):
    it is normalised to ``t``'s settings so that the two share one training.
    """
    method = unit.method
    if not method.trains:
        return None
    train = dataclasses.asdict(config.train)
    parts = list(method.mixture)
    pivot_only = ("pivot_layer", "label_smoothing", "pivot_weight", "pivot_head", "early_exit")
    if method.objective == "pivot":
        lam = float(config.train.pivot_weight)
        if method.regulated:
            unit.regulation = decisions[unit.lang]
            if not unit.regulation["pivots"]:
                lam = 0.0
        unit.pivot_weight = lam
        if lam == 0.0:
            parts = [p for p in parts if p != S_E]
            train.update(objective="sft")
        else:
            train.update(objective="pivot", pivot_weight=lam)
    else:
        train.update(objective="sft")
    if train["objective"] == "sft":  # settings of the pivot loss mean nothing here: keep them out of the identity
        train = {k: v for k, v in train.items() if k not in pivot_only}
    return {"parts": parts, **train}


def _record_settings(
    config: RunConfig, unit: Unit, train: dict[str, Any] | None, mixture_dir: Path | None
) -> dict[str, Any]:
    """Every setting of a unit that can change its scores, except the seed (the record's own field).

    Training settings keep their names (``pivot_layer``, ``lora_r``, ...: Table 4's columns), data settings
    are ``data.*`` (with ``data.sha256``, the built mixture's content hash, which also pins the resolved
    hub revisions), evaluation settings ``eval.*``. A trainer seed that differs from the run's seed is
    ``train.seed``. The batch size of evaluation is left out: it changes padding, not what is measured.
    """
    from prom_bench.evaluation import eval_settings
    from prom_bench.results import train_settings

    settings: dict[str, Any] = {}
    if train is not None:
        settings.update(train_settings(train))
        if train.get("seed", config.seed) != config.seed:
            settings["train.seed"] = train["seed"]
        if unit.method.objective == "pivot":
            settings["pivot_weight"] = unit.pivot_weight
            settings["regulated"] = unit.method.regulated
        data = {k: v for k, v in dataclasses.asdict(config.data).items() if k != "data_dir"}
        settings.update({f"data.{k}": v for k, v in data.items()})
        if mixture_dir is not None and (mixture_dir / "train.jsonl").is_file():
            from prom_bench.model_identity import file_hash

            settings["data.sha256"] = file_hash(mixture_dir / "train.jsonl")[:16]
    settings.update(
        eval_settings(
            limit=config.eval.limit,
            max_gen_toks=config.eval.max_gen_toks,
            backend=config.eval.backend,
            chat_template=bool(config.eval.chat_template),
        )
    )
    return settings


def _build_data(config: RunConfig, root: Path, unit: Unit, train: dict, force: bool, report: _Reporter) -> Path:
    from prom_bench.data import build_mixture, write_mixture

    data_id = fingerprint(
        {"lang": unit.lang, "parts": train["parts"], "data": config.data, "seed": config.seed, **_declared(unit.lang)}
    )
    out = root / "data" / data_id
    with _locked(out):
        if force or not (out / "train.jsonl").is_file():
            report.step("building data")
            # the method whose mixture is exactly these parts (PROM with lambda = 0 builds t's data)
            data_method = next(m.name for m in methods.METHODS.values() if set(m.mixture) == set(train["parts"]))
            mixture = build_mixture(unit.lang, data_method, config.data)
            write_mixture(mixture, out)
    return out


def _train(
    config: RunConfig, model: ModelRef, root: Path, mixture_dir: Path, train: dict, force: bool, report: _Reporter
) -> Path:
    from trainer import TrainConfig
    from trainer import train as run_training
    from trainer.config import SettingsError, TrainingDiverged

    train_id = fingerprint({"model": model.path, "mixture": mixture_dir.name, "train": train})
    out = root / "train" / train_id
    done = out / "train_result.json"
    with _locked(out):  # PROM with lambda = 0 and t share this training; the second waits, then reuses it
        saved = None if force else read_json_checked(done, _train_result_problem, what="training result")
        if saved is not None:
            return Path(saved["weights"])
        report.step("training")
        settings = {k: v for k, v in train.items() if k != "parts"}
        examples = [
            json.loads(line) for line in (mixture_dir / "train.jsonl").read_text(encoding="utf-8").splitlines() if line
        ]
        try:  # the trainer's one-line errors (a bad setting, a diverged run) are the user's to fix
            result = run_training(TrainConfig(**settings), model.path, examples, out, progress=report.train)
        except (SettingsError, TrainingDiverged) as exc:
            raise UserError(f"training {out.name} failed: {exc}") from None
        weights = result.adapter_path or result.model_path
        _write_json(done, {"weights": str(weights), "steps": result.steps, "train_seconds": result.train_seconds})
    return Path(weights)


def _evaluate(
    config: RunConfig,
    model: ModelRef,
    root: Path,
    unit: Unit,
    adapter: Path | None,
    force: bool,
    report: _Reporter,
    engine: Any = None,
) -> list[Any]:
    from prom_bench.evaluation import TaskResult, evaluate

    tasks = list(languages.cells(unit.lang, config.extra_cells))
    data_dir = _eval_data_dir(config.eval.data_dir, unit.lang)
    # "samples": 2 = samples carry prompt and gold answers; caches written before that are not reused
    eval_id = fingerprint(
        {
            "model": model.path,
            "adapter": str(adapter),
            "tasks": tasks,
            "eval": config.eval.identity(),
            "samples": 2,
            **({"data_dir": str(data_dir)} if _declared(unit.lang) else {}),
        }
    )
    cached = root / "eval" / f"{eval_id}.json"
    with _locked(cached):
        saved = None if force else read_json_checked(cached, lambda d: _eval_cache_problem(d, tasks), what="eval cache")
        if saved is not None:
            return [TaskResult(**t) for t in saved]
        report.step(f"evaluating {', '.join(tasks)}")
        model_path, adapter_path = _weights(model, adapter)
        task_results = evaluate(
            model_path,
            tasks,
            adapter=adapter_path,
            data_dir=data_dir,
            limit=config.eval.limit,
            batch_size=config.eval.batch_size,
            max_gen_toks=config.eval.max_gen_toks,
            budget=config.eval.budget,
            chat_template=config.eval.chat_template,
            include_paths=[languages.get(unit.lang).include_path] if languages.get(unit.lang).include_path else None,
            progress=report.eval,
            engine=engine,
        )
        _write_json(cached, [dataclasses.asdict(t) for t in task_results])
    return task_results


def _marker_problem(data: Any) -> str | None:
    return shape(data, dict, unit_id=str, records=list) or (
        None if all(isinstance(p, str) for p in data["records"]) else "'records' must list paths"
    )


def _train_result_problem(data: Any) -> str | None:
    problem = shape(data, dict, weights=str)
    if problem is None and not Path(data["weights"]).exists():
        problem = f"its weights {data['weights']} are missing"
    return problem


def _eval_cache_problem(data: Any, tasks: list[str]) -> str | None:
    """One result per task, each with its fields: ``{}`` or ``[]`` would make a unit record nothing, forever."""
    from prom_bench.evaluation import TaskResult

    problem = shape(data, list)
    if problem is not None:
        return problem
    if not all(isinstance(t, dict) for t in data):
        return "each task result must be a JSON object"
    if sorted(str(t.get("task")) for t in data) != sorted(tasks):
        return f"results for {', '.join(tasks)} were expected"
    fields = {f.name: f.default is dataclasses.MISSING for f in dataclasses.fields(TaskResult)}
    for t in data:
        wrong = [k for k in t if k not in fields] + [k for k, required in fields.items() if required and k not in t]
        if wrong:
            return f"a task result has the wrong field '{wrong[0]}'"
    return None


def _eval_data_dir(spec: str | None, lang: str) -> Path | None:
    """The evaluation data of ``lang``'s unit: ``demo`` is the language's declared folder where it has one."""
    from prom_bench.evaluation import resolve_data_dir

    declared = languages.get(lang).data.eval
    if spec in (None, "demo") and declared:
        return Path(declared)
    return resolve_data_dir(spec)


def _declared(lang: str) -> dict[str, Any]:
    """A declared language's own data, part of every identity it enters (empty for the built-in table)."""
    declared = languages.get(lang).data.declared()
    return {"language_data": declared} if declared else {}


def check(config: RunConfig) -> None:
    """What ``run`` checks before any work (``run --dry-run`` too): every unit's data and evaluation files."""
    _preflight(config, [Unit(methods.get(m), lang) for m in config.methods for lang in config.langs])


def _preflight(config: RunConfig, units: list[Unit]) -> None:
    """Raise the one-line error of the first unit whose training or evaluation data is missing.

    Checked: the sources of each part of each training unit's mixture (``resolve_sources``) and the local file
    of each task's data. The content is read when the unit runs (a bad record names its file and line then).
    """
    from prom_bench.data.build import resolve_sources
    from prom_bench.evaluation import local_data_file

    for unit in units:
        if unit.method.trains:
            data_method = unit.method.name if unit.method.mixture else None
            if data_method:
                resolve_sources(unit.lang, data_method, config.data)
        data_dir = _eval_data_dir(config.eval.data_dir, unit.lang)
        if data_dir is None:
            continue
        language = languages.get(unit.lang)
        for task in languages.cells(unit.lang, config.extra_cells):
            path = local_data_file(data_dir, task)
            if path is not None and not path.is_file():
                where = "the demo data" if config.eval.data_dir == "demo" and not language.data.eval else str(data_dir)
                raise UserError(
                    f"no evaluation data for {task} in {where} (expected {path}); declare data.eval: FOLDER (the "
                    "upstream layout, e.g. indicqa/indicqa.<code>.json) in the language's languages file, or "
                    "--set eval.data_dir=FOLDER|hub"
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
    resolved = dataclasses.replace(
        config,
        train=dataclasses.replace(
            config.train, format=("chat" if has_template else "alpaca") if train_format == "auto" else train_format
        ),
        eval=dataclasses.replace(config.eval, chat_template=has_template if chat == "auto" else chat),
    )
    return resolved


# --- regulation -------------------------------------------------------------------------------------------


def _regulation(config: RunConfig, model: ModelRef, units: list[Unit], console: Console) -> dict[str, dict]:
    """Per language: does the model pivot through English? Only asked when a regulated method runs."""
    langs = sorted({u.lang for u in units if u.method.regulated})
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


# --- plumbing ---------------------------------------------------------------------------------------------


class _Reporter:
    """Routes a unit's training and evaluation progress onto a progress bar (``update(task, **fields)``)."""

    def __init__(self, update: Callable[..., None], task: Any, name: str) -> None:
        self.update, self.task, self.name = update, task, name

    def step(self, what: str) -> None:
        self.update(self.task, description=f"{self.name}: {what}", completed=0, total=None)

    def train(self, event: dict[str, Any]) -> None:
        losses = "  ".join(f"{k}={v:.3f}" for k, v in event.items() if k.startswith("loss") and isinstance(v, float))
        speed = f"  {event['tokens_per_s']:.0f} tok/s" if event.get("tokens_per_s") else ""
        self.update(
            self.task,
            description=f"{self.name}: training  {losses}{speed}",
            completed=event.get("step", 0),
            total=event.get("total"),
        )

    def eval(self, event: dict[str, Any]) -> None:
        self.update(self.task, completed=event.get("index", 0), total=event.get("total"))


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@contextlib.contextmanager
def _locked(path: Path):
    """Exclusive lock on ``<path>.lock`` across processes (units in parallel may share a piece of work)."""
    lock = path.parent / ".locks" / f"{path.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_json(path: Path, data: Any) -> None:
    write_json_atomic(path, data, indent=2, default=str)
