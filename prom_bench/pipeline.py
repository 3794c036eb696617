"""``prom-bench run``: languages x methods -> data -> train -> evaluate -> record, resumable.

Every piece of work is content-addressed under ``<out>/<model>/``:
``data/<id>/`` (a built mixture), ``train/<id>/`` (an adapter), ``eval/<id>.json`` (task results), and
``units/<method>/<lang>.json`` (a finished unit, with the id of its resolved config). A rerun skips what is
already there with the same id, so an interrupted run continues where it stopped, and two units whose
effective work is identical share it: PROM with lambda = 0 trains exactly what ``t`` trains.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prom_bench import languages, methods
from prom_bench.config import RunConfig, fingerprint
from prom_bench.methods import S_E, Method
from prom_bench.models import ModelRef, resolve
from prom_bench.paths import demo_data_dir


@dataclass
class Unit:
    """One cell of the study: a method on a language."""

    method: Method
    lang: str
    pivot_weight: float | None = None   # effective lambda after regulation (pivot objective only)
    regulation: dict[str, Any] | None = None
    records: list[dict] = field(default_factory=list)
    skipped: bool = False

    @property
    def name(self) -> str:
        return f"{self.method.name}/{self.lang}"


def run(config: RunConfig, *, force: bool = False, console: Console | None = None) -> list[dict]:
    """Run every unit of ``config``; return the result records (fresh and cached)."""
    console = console or Console(stderr=True)
    model = resolve(config.model)
    root = Path(config.out) / model.slug
    units = [Unit(methods.get(m), lang) for lang in config.langs for m in config.methods]
    decisions = _regulation(config, model, units, console)

    with _progress(console) as progress:
        overall = progress.add_task("units", total=len(units))
        current = progress.add_task("", total=None, visible=False)
        for unit in units:
            progress.update(current, description=unit.name, completed=0, total=None, visible=True)
            _run_unit(config, model, root, unit, decisions, force, _Reporter(progress, current, unit.name))
            progress.advance(overall)
        progress.update(current, visible=False)
    done = sum(not u.skipped for u in units)
    console.print(f"{done} unit(s) run, {len(units) - done} already done; results in {config.results}")
    return [r for u in units for r in u.records]


# --- one unit ---------------------------------------------------------------------------------------------

def _run_unit(config: RunConfig, model: ModelRef, root: Path, unit: Unit, decisions: dict, force: bool,
              report: _Reporter) -> None:
    from prom_bench import results

    train_settings = _effective_train(config, unit, decisions)
    unit_id = fingerprint({"model": model.path, "method": unit.method.name, "lang": unit.lang,
                           "data": config.data, "train": train_settings, "eval": config.eval, "seed": config.seed})
    marker = root / "units" / unit.method.name / f"{unit.lang}.json"
    if not force and marker.is_file():
        saved = json.loads(marker.read_text())
        if saved.get("unit_id") == unit_id and all(Path(p).is_file() for p in saved.get("records", [])):
            unit.records = results.load_records([Path(p) for p in saved["records"]])
            unit.skipped = True
            return

    adapter = None
    if train_settings is not None:
        mixture_dir = _build_data(config, root, unit, train_settings, force, report)
        adapter = _train(config, model, root, mixture_dir, train_settings, force, report)
    task_results = _evaluate(config, model, root, unit, adapter, force, report)

    settings = _record_settings(unit, train_settings)
    paths = []
    for task_result in task_results:
        record = results.record_from(
            model=model, method=unit.method.name, lang=unit.lang, task_result=task_result, settings=settings,
            config=config.to_dict() | {"unit_id": unit_id, "effective_train": train_settings,
                                       "regulation": unit.regulation, "adapter": str(adapter) if adapter else None},
            seed=config.seed,
        )
        paths.append(str(results.write_record(Path(config.results), record)))
        unit.records.append(record)
    _write_json(marker, {"unit_id": unit_id, "records": paths, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})


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
    if method.objective == "pivot":
        lam = float(config.train.pivot_weight)
        if method.regulated:
            unit.regulation = decisions[unit.lang]
            if not unit.regulation["pivots"]:
                lam = 0.0
        unit.pivot_weight = lam
        if lam == 0.0:
            parts = [p for p in parts if p != S_E]
            train.update(objective="sft", pivot_weight=0.0)
        else:
            train.update(objective="pivot", pivot_weight=lam)
    else:
        train.update(objective="sft")
    return {"parts": parts, **train}


def _record_settings(unit: Unit, train: dict[str, Any] | None) -> dict[str, Any]:
    """The settings that tell records of the same method and cell apart (Table 4's rows)."""
    if train is None:
        return {}
    keys = ("pivot_layer", "label_smoothing", "pivot_head", "lora", "lr", "epochs", "max_steps")
    settings = {k: train[k] for k in keys if k in train}
    if unit.method.objective == "pivot":
        settings["pivot_weight"] = unit.pivot_weight
        settings["regulated"] = unit.method.regulated
    return settings


def _build_data(config: RunConfig, root: Path, unit: Unit, train: dict, force: bool, report: _Reporter) -> Path:
    from prom_bench.data import build_mixture, write_mixture

    data_id = fingerprint({"lang": unit.lang, "parts": train["parts"], "data": config.data, "seed": config.seed})
    out = root / "data" / data_id
    if force or not (out / "train.jsonl").is_file():
        report.step("building data")
        mixture = build_mixture(unit.lang, train["parts"], config.data)
        write_mixture(mixture, out)
    return out


def _train(config: RunConfig, model: ModelRef, root: Path, mixture_dir: Path, train: dict, force: bool,
           report: _Reporter) -> Path:
    from trainer import TrainConfig
    from trainer import train as run_training

    train_id = fingerprint({"model": model.path, "mixture": mixture_dir.name, "train": train})
    out = root / "train" / train_id
    done = out / "train_result.json"
    if not force and done.is_file():
        return Path(json.loads(done.read_text())["weights"])
    report.step("training")
    settings = {k: v for k, v in train.items() if k != "parts"}
    examples = [json.loads(line) for line in (mixture_dir / "train.jsonl").read_text(encoding="utf-8").splitlines() if line]
    result = run_training(TrainConfig(**settings), model.path, examples, out, progress=report.train)
    weights = result.adapter_path or result.model_path
    _write_json(done, {"weights": str(weights), "steps": result.steps, "train_seconds": result.train_seconds})
    return Path(weights)


def _evaluate(config: RunConfig, model: ModelRef, root: Path, unit: Unit, adapter: Path | None, force: bool,
              report: _Reporter) -> list[Any]:
    from prom_bench.evaluation import TaskResult, evaluate

    tasks = [t for t in languages.get(unit.lang).tasks]
    data_dir = _eval_data_dir(config.eval.data_dir)
    eval_id = fingerprint({"model": model.path, "adapter": str(adapter), "tasks": tasks, "eval": config.eval})
    cached = root / "eval" / f"{eval_id}.json"
    if not force and cached.is_file():
        return [TaskResult(**t) for t in json.loads(cached.read_text())]
    report.step(f"evaluating {', '.join(tasks)}")
    task_results = evaluate(model.path, tasks, adapter=str(adapter) if adapter else None, data_dir=data_dir,
                            limit=config.eval.limit, batch_size=config.eval.batch_size,
                            max_gen_toks=config.eval.max_gen_toks, progress=report.eval)
    _write_json(cached, [dataclasses.asdict(t) for t in task_results])
    return task_results


def _eval_data_dir(spec: str | None) -> Path | None:
    if spec in (None, "hub"):
        return None
    if spec == "demo":
        return demo_data_dir() / "eval"
    return Path(spec)


# --- regulation -------------------------------------------------------------------------------------------

def _regulation(config: RunConfig, model: ModelRef, units: list[Unit], console: Console) -> dict[str, dict]:
    """Per language: does the model pivot through English? Only asked when a regulated method runs."""
    langs = sorted({u.lang for u in units if u.method.regulated})
    if not langs:
        return {}
    if config.regulation == "none":
        return {lang: {"source": "none", "pivots": True} for lang in langs}
    if config.regulation == "paper":
        return {lang: {"source": "paper (LLaMA2-7B)", "pivots": languages.get(lang).pivots_llama2_7b is not False}
                for lang in langs}
    from prom_bench.probe import regulation

    decisions = regulation(model, langs, config.probe)
    return {lang: {"source": "probe", "pivots": d.pivot_weight(1.0) > 0, **_decision_dict(d)} for lang, d in decisions.items()}


def _decision_dict(decision: Any) -> dict[str, Any]:
    data = dataclasses.asdict(decision) if dataclasses.is_dataclass(decision) else dict(vars(decision))
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, type(None), list))}


# --- plumbing ---------------------------------------------------------------------------------------------

class _Reporter:
    """Routes a unit's training and evaluation progress onto the run's second progress bar."""

    def __init__(self, progress: Progress, task: Any, name: str) -> None:
        self.progress, self.task, self.name = progress, task, name

    def step(self, what: str) -> None:
        self.progress.update(self.task, description=f"{self.name}: {what}", completed=0, total=None)

    def train(self, event: dict[str, Any]) -> None:
        losses = "  ".join(f"{k}={v:.3f}" for k, v in event.items() if k.startswith("loss") and v is not None)
        speed = f"  {event['tokens_per_s']:.0f} tok/s" if event.get("tokens_per_s") else ""
        self.progress.update(self.task, description=f"{self.name}: training  {losses}{speed}",
                             completed=event.get("step", 0), total=event.get("total"))

    def eval(self, event: dict[str, Any]) -> None:
        self.progress.update(self.task, completed=event.get("done", 0), total=event.get("total"))


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


ProgressFn = Callable[[dict[str, Any]], None]
