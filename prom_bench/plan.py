"""Units as plans: each unit's work (data, training, evaluation) decided once, as plain JSON-able data.

A ``UnitPlan`` holds everything a unit needs and nothing that must be worked out again where it runs: the
effective method and data parts, the training settings with lambda after regulation (and the decision's
evidence), every content-addressed path and id, and the record's settings and provenance config. The same
plan runs in this process, in a local worker, or inside a cluster job (``prom_bench.unit.execute``); it
travels as JSON (``to_json`` / ``from_json``), so a job on another machine reads exactly what was decided.

"PROM with lambda = 0 is t" is decided here, in ``_effective_train``, and nowhere else.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prom_bench import languages, methods
from prom_bench.config import RunConfig, fingerprint
from prom_bench.methods import S_E, Method
from prom_bench.models import ModelRef

PIVOT_ONLY = ("pivot_layer", "label_smoothing", "pivot_weight", "pivot_head", "early_exit")


@dataclass
class DataPlan:
    """The mixture a unit trains on: built once per (language, parts, sources, seed)."""

    id: str
    dir: str
    lang: str
    method: str  # the method whose mixture is exactly these parts (PROM with lambda = 0 builds t's data)
    parts: list[str]
    sources: dict[str, Any]  # DataSources fields


@dataclass
class TrainPlan:
    """One training: the trainer's settings as they will run, and where its output goes."""

    id: str
    dir: str
    settings: dict[str, Any]  # TrainConfig fields (objective and lambda after regulation)
    weights: str  # dir/adapter (LoRA) or dir/model (full fine-tuning), what evaluation loads
    processes: int = 1  # training processes (GPUs; gloo CPU processes on a machine without GPUs)
    accelerate_config: str | None = None  # ddp, fsdp, zero2, zero3 or a YAML path, for processes > 1


@dataclass
class EvalPlan:
    """The evaluation of one model (+ adapter) on a language's tasks."""

    id: str
    path: str  # the cached task results (JSON)
    tasks: list[str]
    adapter: str | None
    data_dir: str | None
    limit: int | None
    batch_size: int
    max_gen_toks: int | None
    budget: str = "task"  # eval.budget: a task's own generation budget, or scaled by the tokenizer's inflation
    chat_template: bool = False  # eval.chat_template, resolved for the model (never "auto" here)
    include_paths: list[str] = field(default_factory=list)  # a declared language's own task YAMLs


@dataclass
class UnitPlan:
    """One cell of the study, method x language, with every decision already taken."""

    method: str
    lang: str
    seed: int | None  # the unit's own seed (``--seeds``), None: the run's seed (and for untrained units)
    unit_id: str
    model_spec: str
    model_path: str
    model_display: str
    root: str  # <out>/<model slug>, absolute
    results: str  # the results store
    record_seed: int | None  # the seed a record carries (None for an untrained model: nothing to vary)
    data: DataPlan | None
    train: TrainPlan | None
    eval: EvalPlan
    pivot_weight: float | None  # effective lambda after regulation (pivot objective only)
    regulation: dict[str, Any] | None  # the decision and its evidence (regulated methods only)
    record_settings: dict[str, Any]  # data.sha256 is added once the mixture exists (a fact, not a decision)
    record_config: dict[str, Any]  # provenance: the resolved run config and this unit's effective work
    model_id: dict[str, Any]  # the model's identity (results.record_from's model_id)
    eval_limit: int | None
    languages_files: list[str] = field(default_factory=list)  # registered where the unit runs, before any work
    extra: dict[str, Any] = field(default_factory=dict)  # room for dimensions added later, e.g. seeds

    @property
    def name(self) -> str:
        return f"{self.method}/{self.lang}" + ("" if self.seed is None else f"/seed {self.seed}")

    @property
    def marker(self) -> Path:
        """The file that says this unit is finished (its unit id and record paths)."""
        stem = self.lang if self.seed is None else f"{self.lang}.seed{self.seed}"
        return Path(self.root) / "units" / self.method / f"{stem}.json"

    @property
    def model(self) -> ModelRef:
        return ModelRef(self.model_spec, self.model_path, self.model_display)

    @property
    def work_key(self) -> str:
        """Units with the same key share all their costly work (a training, or an evaluation of the base model)."""
        return f"train-{self.train.id}" if self.train else f"eval-{self.eval.id}"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> UnitPlan:
        raw = json.loads(text)
        raw["data"] = DataPlan(**raw["data"]) if raw["data"] else None
        raw["train"] = TrainPlan(**raw["train"]) if raw["train"] else None
        raw["eval"] = EvalPlan(**raw["eval"])
        return cls(**raw)


def build(config: RunConfig, model: ModelRef, root: Path, decisions: dict[str, dict]) -> list[UnitPlan]:
    """Every unit of ``config``, methods as the outer loop (``base`` first), then languages, then seeds.

    An untrained model has no seed to vary (greedy decoding, fixed evaluation seeds): one unit, seed None.
    """
    seeds = list(config.seeds) or [None]
    cells = [
        (m, lang, seed)
        for m in config.methods
        for lang in config.langs
        for seed in (seeds if methods.get(m).trains else [None])
    ]
    # the English control: the base model only (one model, no seed), unless the study already has it
    cells += [("base", lang, None) for lang in config.controls if ("base", lang, None) not in cells]
    return [plan_unit(config, model, root, methods.get(m), lang, decisions, seed) for m, lang, seed in cells]


def for_seed(config: RunConfig, seed: int | None) -> RunConfig:
    """The unit's config: with ``--seeds``, both the run's seed and the trainer's seed are the unit's."""
    if seed is None:
        return config
    return dataclasses.replace(config, seed=seed, train=dataclasses.replace(config.train, seed=seed))


def plan_unit(
    config: RunConfig,
    model: ModelRef,
    root: Path,
    method: Method,
    lang: str,
    decisions: dict[str, dict],
    seed: int | None = None,
) -> UnitPlan:
    """One unit's plan; the ids are the content addresses of its data, training and evaluation."""
    from prom_bench.model_identity import identity

    config = for_seed(config, seed)
    regulation = decisions[lang] if method.regulated else None
    train, lam = _effective_train(config, method, regulation)
    processes = config.cluster.processes
    declared = _declared(lang)
    # more processes at the same per-device batch is a larger global batch: another training (1 keeps old ids)
    world = {"world_size": processes} if train is not None and processes > 1 else {}
    unit_id = fingerprint(
        {
            "model": model.path,
            "method": method.name,
            "lang": lang,
            "data": config.data,
            "train": train,
            "eval": config.eval.identity(),
            "seed": config.seed,
            "model_name": config.model_name,  # a new name rewrites the records (the work itself is reused)
            **world,
            **declared,
            **({"extra_cells": True} if config.extra_cells else {}),
        }
    )
    data_plan = train_plan = None
    if train is not None:
        data_id = fingerprint(
            {"lang": lang, "parts": train["parts"], "data": config.data, "seed": config.seed, **declared}
        )
        data_plan = DataPlan(
            id=data_id,
            dir=str(root / "data" / data_id),
            lang=lang,
            method=next(m.name for m in methods.METHODS.values() if set(m.mixture) == set(train["parts"])),
            parts=list(train["parts"]),
            sources=dataclasses.asdict(config.data),
        )
        train_id = fingerprint({"model": model.path, "mixture": data_id, "train": train, **world})
        train_dir = root / "train" / train_id
        settings = {k: v for k, v in train.items() if k != "parts"}
        train_plan = TrainPlan(
            id=train_id,
            dir=str(train_dir),
            settings=settings,
            weights=str(train_dir / ("adapter" if settings.get("lora", True) else "model")),
            processes=processes,
            accelerate_config=config.cluster.accelerate_config,
        )
    adapter = train_plan.weights if train_plan else None
    tasks = list(languages.cells(lang, config.extra_cells))
    data_dir = eval_data_dir(config.eval.data_dir, lang)
    # "samples": 2 = samples carry prompt and gold answers; caches written before that are not reused
    eval_id = fingerprint(
        {
            "model": model.path,
            "adapter": str(adapter),
            "tasks": tasks,
            "eval": config.eval.identity(),
            "samples": 2,
            **({"data_dir": str(data_dir)} if declared else {}),
        }
    )
    include_path = languages.get(lang).include_path
    eval_plan = EvalPlan(
        id=eval_id,
        path=str(root / "eval" / f"{eval_id}.json"),
        tasks=tasks,
        adapter=adapter,
        data_dir=str(data_dir) if data_dir is not None else None,
        limit=config.eval.limit,
        batch_size=config.eval.batch_size,
        max_gen_toks=config.eval.max_gen_toks,
        budget=config.eval.budget,
        chat_template=bool(config.eval.chat_template),
        include_paths=[include_path] if include_path else [],
    )
    record_config = config.to_dict() | {
        "unit_id": unit_id,
        "effective_train": train,
        "regulation": regulation,
        "adapter": adapter,
    }
    return UnitPlan(
        method=method.name,
        lang=lang,
        seed=seed,
        unit_id=unit_id,
        model_spec=model.spec,
        model_path=model.path,
        model_display=model.display,
        root=str(root),
        results=str(config.results),
        record_seed=config.seed if train is not None else None,
        data=data_plan,
        train=train_plan,
        eval=eval_plan,
        pivot_weight=lam,
        regulation=regulation,
        record_settings=_record_settings(config, method, train, lam),
        record_config=record_config,
        model_id=identity(model, name=config.model_name),
        eval_limit=config.eval.limit,
        languages_files=list(config.languages_file),
    )


def _effective_train(
    config: RunConfig, method: Method, regulation: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, float | None]:
    """The training settings this unit really uses (None for ``base``) and lambda after regulation.

    PROM with lambda = 0 is exactly ``t`` (English data contributes nothing, so it is not even loaded):
    it is normalised to ``t``'s settings so that the two share one training.
    """
    if not method.trains:
        return None, None
    train = dataclasses.asdict(config.train)
    parts = list(method.mixture)
    lam = None
    if method.objective == "pivot":
        lam = float(config.train.pivot_weight)
        if regulation is not None and not regulation["pivots"]:
            lam = 0.0
        if lam == 0.0:
            parts = [p for p in parts if p != S_E]
            train.update(objective="sft")
        else:
            train.update(objective="pivot", pivot_weight=lam)
    else:
        train.update(objective="sft")
    if train["objective"] == "sft":  # settings of the pivot loss mean nothing here: keep them out of the identity
        train = {k: v for k, v in train.items() if k not in PIVOT_ONLY}
    return {"parts": parts, **train}, lam


def _record_settings(
    config: RunConfig, method: Method, train: dict[str, Any] | None, lam: float | None
) -> dict[str, Any]:
    """Every setting of a unit that can change its scores, except the seed (the record's own field).

    Training settings keep their names (``pivot_layer``, ``lora_r``, ...: Table 4's columns), data settings
    are ``data.*`` (``data.sha256``, the built mixture's content hash, is added when the mixture exists),
    evaluation settings ``eval.*``. A trainer seed that differs from the run's seed is ``train.seed``. The
    batch size of evaluation is left out: it changes padding, not what is measured.
    """
    from prom_bench.evaluation import eval_settings
    from prom_bench.results import train_settings

    settings: dict[str, Any] = {}
    if train is not None:
        settings.update(train_settings(train))
        if train.get("seed", config.seed) != config.seed:
            settings["train.seed"] = train["seed"]
        if method.objective == "pivot":
            settings["pivot_weight"] = lam
            settings["regulated"] = method.regulated
        data = {k: v for k, v in dataclasses.asdict(config.data).items() if k != "data_dir"}
        settings.update({f"data.{k}": v for k, v in data.items()})
    settings.update(
        eval_settings(
            limit=config.eval.limit,
            max_gen_toks=config.eval.max_gen_toks,
            backend=config.eval.backend,
            chat_template=bool(config.eval.chat_template),
        )
    )
    return settings


def eval_data_dir(spec: str | None, lang: str) -> Path | None:
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
