"""The run configuration: one source of truth for every setting.

Each setting is a dataclass field with a default and a ``help`` text; presets (``presets/*.yaml``), a user's
config file and ``--set section.key=value`` overrides are layered on top, in that order, and the resolved
config is saved with every result. ``prom-bench config`` prints every setting with its help.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prom_bench.budgets import BUDGETS
from prom_bench.errors import UserError, unknown
from prom_bench.languages import PAPER_LANGS, parse_langs, register_files
from prom_bench.methods import parse_methods
from prom_bench.paths import PACKAGE_DIR

PRESETS_DIR = PACKAGE_DIR / "presets"


def setting(default: Any = dataclasses.MISSING, help: str = "", **kwargs: Any) -> Any:
    """A dataclass field with its help text (shown by ``prom-bench config`` and saved nowhere else)."""
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass
class EvalConfig:
    data_dir: str | None = setting(
        "demo",
        help="evaluation data: 'demo' (the project's small offline sets), 'hub' "
        "(pinned Hugging Face datasets), or a folder in the upstream layout (xquad/, mgsm/, mlqa/, indicqa/)",
    )
    limit: int | None = setting(None, help="evaluate at most this many items per task (None = all)")
    batch_size: int = setting(8, help="generation batch size (the paper used 8)")
    max_gen_toks: int | None = setting(None, help="cap on generated tokens per answer (None = each task's own)")
    budget: str = setting(
        "task",
        help="generation budget when max_gen_toks is unset: 'task' (each task's own) or 'inflation' (each "
        "task's budget times the tokenizer's measured tokens per English token for the language, so an "
        "answer in a costly script gets as much room as an English one)",
    )
    chat_template: bool | str = setting(
        False,
        help="wrap each prompt in the model's chat template (lm-eval's apply_chat_template): true, false, or "
        "auto (true when the model has a chat template); pair it with train.format",
    )
    backend: str = setting(
        "hf",
        help="what generates the answers: 'hf' (lm-eval's Hugging Face model, the reference) or 'vllm' (lm-eval's "
        "vLLM model, one engine per base model for all its adapters; needs the [vllm] extra); tasks, prompts, "
        "stop sequences and scoring are the same for both",
    )
    tensor_parallel_size: int = setting(1, help="vllm: GPUs one engine spreads each model over")
    data_parallel_size: int = setting(
        1, help="vllm: engine replicas sharing the items (lm-eval runs them through Ray; needs `pip install ray`)"
    )
    gpu_memory_utilization: float = setting(
        0.9, help="vllm: fraction of each GPU's memory the engine may take (weights, activations, KV cache)"
    )
    max_model_len: int | None = setting(
        None, help="vllm: context length of the engine, prompt plus answer (None = the model's own)"
    )
    max_lora_rank: int | None = setting(
        None,
        help="vllm: largest LoRA rank the engine serves, one of 1, 8, 16, 32, 64, 128, 256, 320, 512 (None = the "
        "largest rank among the adapters evaluated, from their adapter_config.json)",
    )

    def __post_init__(self) -> None:
        self.validate()  # an engine setting is checked wherever an EvalConfig is made (run, eval, a plan)

    def validate(self) -> None:
        """Checks that need only the settings; one ``UserError`` line naming the bad value."""
        from prom_bench.engines import BACKENDS
        from prom_bench.engines.lora import VLLM_LORA_RANKS

        if self.budget not in BUDGETS:
            raise unknown("value for 'eval.budget'", str(self.budget), BUDGETS)
        if self.backend not in BACKENDS:
            raise unknown("value for 'eval.backend'", str(self.backend), BACKENDS)
        for name in ("tensor_parallel_size", "data_parallel_size"):
            if getattr(self, name) < 1:
                raise UserError(f"eval.{name} = {getattr(self, name)} must be at least 1")
        if not 0.0 < self.gpu_memory_utilization <= 1.0:
            raise UserError(f"eval.gpu_memory_utilization = {self.gpu_memory_utilization} must be in (0, 1]")
        if self.max_model_len is not None and self.max_model_len < 1:
            raise UserError(f"eval.max_model_len = {self.max_model_len} must be at least 1")
        if self.max_lora_rank is not None and self.max_lora_rank not in VLLM_LORA_RANKS:
            valid = ", ".join(map(str, VLLM_LORA_RANKS))
            raise UserError(f"eval.max_lora_rank = {self.max_lora_rank} is not a rank vLLM accepts; valid: {valid}")
        for name in ("limit", "max_gen_toks"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"setting 'eval.{name}' = {value} must be at least 1 (or null: no cap)")
        if self.batch_size < 1:
            raise UserError(f"setting 'eval.batch_size' = {self.batch_size} must be at least 1")
        if self.data_dir not in (None, "demo", "hub") and not Path(self.data_dir).expanduser().is_dir():
            raise UserError(
                f"setting 'eval.data_dir' = '{self.data_dir}' is not a folder; give 'demo', 'hub' or a folder in "
                "the upstream layout"
            )

    def identity(self) -> dict[str, Any]:
        """The settings that can change an answer, for content ids: engine sizing (parallelism, memory, LoRA
        slots) cannot; the backend can (engines differ slightly), and is left out at 'hf' so that ids made
        before backends existed stay valid."""
        sizing = ("tensor_parallel_size", "data_parallel_size", "gpu_memory_utilization", "max_lora_rank")
        values = {k: v for k, v in dataclasses.asdict(self).items() if k not in sizing}
        if values["backend"] == "hf":
            del values["backend"]
        if values["max_model_len"] is None:
            del values["max_model_len"]
        for key, default in (("budget", "task"), ("chat_template", False)):  # settings added later, at their
            if values.get(key) == default:  # defaults, leave the ids of earlier runs as they were
                del values[key]
        return values


def eval_config_from(values: dict[str, Any], overrides: list[str] | None = None) -> EvalConfig:
    """An ``EvalConfig`` from ``{key: value}`` and then ``--set KEY=VALUE`` items (keys with or without ``eval.``),
    checked as a run's settings are."""
    plain = {k: v for k, v in values.items() if v is not None}
    for item in overrides or []:
        key, value = _parse_override(item)
        plain[key.removeprefix("eval.")] = value
    return EvalConfig(**_coerce_fields(EvalConfig, plain, "eval."))


def _section_types() -> dict[str, type]:
    # Imported here: these sections belong to other modules, which import config-free code only.
    from prom_bench.data import DataSources
    from prom_bench.executors.settings import ClusterConfig
    from prom_bench.probe.config import ProbeConfig
    from trainer import TrainConfig

    return {
        "data": DataSources,
        "train": TrainConfig,
        "eval": EvalConfig,
        "probe": ProbeConfig,
        "cluster": ClusterConfig,
    }


@dataclass
class RunConfig:
    """Everything a ``prom-bench run`` needs; sections are the trainer's, the data's, the probe's and eval's."""

    model: str = setting(
        "default",
        help=(
            "model: 'default' (SmolLM2-135M-Instruct, offline), 'tiny' (random, for tests), a local folder or a hub id"
        ),
    )
    methods: list[str] = setting(
        ["base", "t", "t+e", "prom"], help="methods to compare (base, t, t+e, prom, prom-noreg, or the paper's names)"
    )
    langs: list[str] = setting(list(PAPER_LANGS), help="target languages ('all' = the paper's nine)")
    controls: list[str] = setting(
        [],
        help="control languages evaluated on the base model beside the study ('en': prom_xquad_en, prom_mgsm_en), "
        "so the tables show the harness measuring the model where it is strong",
    )
    languages_file: list[str] = setting(
        [],
        help="YAML files declaring more languages (or a built-in one's own data), in the format of "
        "prom_bench/languages.yaml; check one with 'prom-bench languages validate FILE'",
    )
    extra_cells: bool = setting(
        False, help="also evaluate each language's cells beyond the paper's (extra_tasks, e.g. IndicQA bn and te)"
    )
    out: str = setting("runs/demo", help="folder for run artifacts: mixtures, adapters, evaluation logs")
    results: str = setting(
        "leaderboards/results", help="results store: one JSON record per model, method, language, task and settings"
    )
    seed: int = setting(0, help="seed for data order, initialisation and sampling")
    seeds: list[int] = setting(
        [],
        help="run every unit once per seed, with seed and train.seed both set to it (e.g. 0,1,2); tables show "
        "the mean, sd and count over seeds. Empty = one run with 'seed'",
    )
    model_name: str | None = setting(
        None, help="name recorded and shown for the model (default: resolved from the model: alias, hub id, folder)"
    )
    workers: int = setting(1, help="units run side by side in this many processes (threads split evenly between them)")
    executor: str = setting(
        "inline",
        help="where units run: 'inline' (this process, or 'workers' CPU processes), 'local' (this machine's GPUs, "
        "packed by cluster.gpus_per_unit), 'slurm' (one SLURM job per unit, through submitit)",
    )
    progress_every_s: float = setting(
        10.0, help="when stderr is not a terminal (SLURM, nohup, CI): seconds between plain progress lines"
    )
    regulation: str = setting(
        "probe",
        help="where lambda=0 comes from for regulated methods: 'probe' (measure on this model), "
        "'paper' (the paper's LLaMA2-7B table), or 'none' (never 0)",
    )
    data: Any = None
    train: Any = None
    eval: EvalConfig = field(default_factory=EvalConfig)
    probe: Any = None
    cluster: Any = None

    def __post_init__(self) -> None:
        types_ = _section_types()
        for name in ("data", "train", "probe", "cluster"):
            if getattr(self, name) is None:
                setattr(self, name, types_[name]())

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


SECTIONS = ("data", "train", "eval", "probe", "cluster")


def load(
    preset: str = "demo",
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    flags: dict[str, Any] | None = None,
) -> RunConfig:
    """Preset, then the user's file, then ``--set`` overrides, then dedicated CLI flags (which may not clash)."""
    raw = _read_yaml(_preset_path(preset))
    if config_file is not None:
        _merge(raw, _read_yaml(config_file))
    set_keys: set[str] = set()
    for item in overrides or []:
        key, value = _parse_override(item)
        set_keys.add(key.split(".")[0] if key.split(".")[0] not in SECTIONS else key)
        _merge(raw, _nest(key, value))
    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key in set_keys:
            raise UserError(f"'{key}' is given twice (--{key.replace('_', '-')} and --set {key}=...); give it once")
        if key == "languages_file":  # a flag adds to the files a config names
            value = [*(raw.get(key) or []), *value]
        _merge(raw, {key: value})
    return build(raw)


def sweep_configs(
    preset: str,
    config_file: Path | None,
    overrides: list[str] | None,
    grid: list[str] | None,
    *,
    lang: str,
    method: str = "prom",
    baseline: str = "t",
) -> list[RunConfig]:
    """The runs of a Table 4 sweep on one language: ``baseline`` once, then ``method`` at every combination of
    the grid (``train.KEY=V1,V2,...`` items). Each point is a full run config, so a regulated method decides
    lambda at each point's own block n."""
    if not grid:
        raise UserError("give at least one --grid KEY=V1,V2 (e.g. --grid train.pivot_weight=0.1,0.3)")
    if parse_methods(method) not in (["prom"], ["prom-noreg"]):
        raise unknown("swept method", method, ("prom", "prom-noreg"))
    axes = []
    for item in grid:
        key, sep, values = item.partition("=")
        if not sep or not values or not key.startswith("train."):
            raise UserError(f"--grid '{item}' is not train.KEY=V1,V2,... (only training settings are swept)")
        axes.append([f"{key}={v.strip()}" for v in values.split(",") if v.strip()])
        if not axes[-1]:
            raise UserError(f"--grid '{item}' lists no values (e.g. --grid train.pivot_weight=0.1,0.3)")
    base = list(overrides or [])
    configs = [load(preset, config_file, base, {"methods": baseline, "langs": lang})]
    configs += [
        load(preset, config_file, base + list(combo), {"methods": method, "langs": lang})
        for combo in itertools.product(*axes)
    ]
    for config in configs:  # Table 4 compares PROM settings; the English control belongs to a study run
        config.controls = []
    return configs


def build(raw: dict[str, Any]) -> RunConfig:
    """A RunConfig from a nested dict, rejecting unknown keys and values of the wrong type with one line."""
    types_ = _section_types()
    top = _coerce_fields(RunConfig, {k: v for k, v in raw.items() if k not in SECTIONS}, "")
    # Declared languages first: the languages and data below may name them.
    top["languages_file"] = [str(Path(p).expanduser().resolve()) for p in top.get("languages_file") or []]
    register_files(top["languages_file"])
    sections = {
        name: _coerce_fields(types_.get(name, EvalConfig), raw.get(name) or {}, f"{name}.") for name in SECTIONS
    }
    sections = {name: (types_ | {"eval": EvalConfig})[name](**values) for name, values in sections.items()}
    config = RunConfig(**top, **sections)
    validate(config)
    return config


def validate(config: RunConfig) -> None:
    """Every check that needs only the settings, section by section (each section's own ``validate``).

    Runs whenever a config is built, so ``--dry-run`` and ``config`` reject what ``run`` would reject, before
    any work. Checks that need the model are ``prom_bench.preflight``'s.
    """
    config.methods = parse_methods(config.methods)
    config.langs = parse_langs(config.langs)
    if len(set(config.seeds)) != len(config.seeds):
        raise UserError(f"seeds {config.seeds} repeat a seed; give each seed once (e.g. 0,1,2)")
    config.controls = parse_langs(config.controls, allow_english=True) if config.controls else []
    if config.workers < 1:
        raise UserError(f"workers = {config.workers} must be at least 1")
    if config.eval.chat_template not in (True, False, "auto"):
        raise unknown("value for 'eval.chat_template'", str(config.eval.chat_template), ("true", "false", "auto"))
    if config.train.format not in ("alpaca", "chat", "auto"):
        raise unknown("value for 'train.format'", str(config.train.format), ("alpaca", "chat", "auto"))

    from prom_bench.executors.settings import EXECUTORS

    if config.executor not in EXECUTORS:
        raise unknown("executor", config.executor, EXECUTORS)
    if config.regulation not in ("probe", "paper", "none"):
        raise unknown("regulation source", config.regulation, ("probe", "paper", "none"))
    if config.probe.layer is not None:  # n is one setting: a run decides at the block it trains at
        raise UserError(
            f"probe.layer = {config.probe.layer} has no effect in a run: regulation is decided at the block the "
            "units train at; set train.pivot_layer instead (probe.layer is for 'prom-bench probe --layer')"
        )
    for name in ("out", "results"):
        if not str(getattr(config, name)).strip():
            raise UserError(f"setting '{name}' is empty; give a folder")
    # Each method sets the objective of its own training, so the section is checked as the pivot objective uses
    # it (every setting in play; early_exit allowed); a bad objective name is still named as such.
    train = config.train
    if train.objective in ("sft", "pivot"):
        train = dataclasses.replace(train, objective="pivot")
    if train.format == "auto":  # resolved per model before any work (pipeline.resolve_formats)
        train = dataclasses.replace(train, format="alpaca")
    from trainer.config import SettingsError

    try:  # the trainer never imports prom_bench: its checks raise SettingsError (any other error is a bug)
        train.validate()
    except SettingsError as exc:
        raise UserError(f"train settings: {exc}") from None
    config.data.validate()
    config.eval.validate()
    config.probe.validate()


def fingerprint(obj: Any) -> str:
    """Short stable hash of a JSON-able object (the identity of a unit, a training, an evaluation)."""
    return hashlib.sha256(json.dumps(_jsonable(obj), sort_keys=True).encode()).hexdigest()[:12]


def describe() -> list[tuple[str, str, str]]:
    """``(key, default, help)`` for every setting: the source of ``prom-bench config`` and the README table."""
    rows = []
    for f in dataclasses.fields(RunConfig):
        if f.name not in SECTIONS:
            rows.append((f.name, _show(_default(f)), f.metadata.get("help", "")))
    for name, cls in (_section_types() | {"eval": EvalConfig}).items():
        for f in dataclasses.fields(cls):
            rows.append((f"{name}.{f.name}", _show(_default(f)), f.metadata.get("help", "")))
    return rows


def presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


# --- helpers ----------------------------------------------------------------------------------------------


def _preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise unknown("preset", name, presets())
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"config file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"config file '{path}' cannot be read ({exc.__class__.__name__}); give a UTF-8 YAML file"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"config file '{path}'{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file '{path}' must hold a mapping of settings, not a {type(data).__name__}")
    return data


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set '{item}' is not KEY=VALUE (e.g. --set train.lr=2e-5)")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def _nest(key: str, value: Any) -> dict[str, Any]:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _coerce_fields(cls: type, values: dict[str, Any], prefix: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise UserError(f"setting '{prefix.rstrip('.')}' must be a mapping of settings")
    fields = {f.name: f for f in dataclasses.fields(cls) if cls is not RunConfig or f.name not in SECTIONS}
    hints = typing.get_type_hints(cls)
    out = {}
    valid = [prefix + k for k in fields]
    if cls is RunConfig:  # the sections' keys are valid too: name them, and where to see them all
        valid += [f"{name}.<key>" for name in SECTIONS]
    for key, value in values.items():
        if key not in fields:
            hint = " (every key: prom-bench config)" if cls is RunConfig else ""
            raise UserError(str(unknown("setting", prefix + str(key), valid)) + hint)
        out[key] = _coerce(value, hints.get(key, Any), prefix + key)
    return out


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check and gently convert a value to a field's type (``1`` for a float, ``'a,b'`` for a list)."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if hint is Any:
        return value
    if value is None:  # 'KEY=' or 'KEY=null': only where the setting may be unset
        if type(None) in typing.get_args(hint):
            return None
        raise UserError(f"setting '{name}' has no value; give a {_tname(hint)}")
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _coerce(value, arg, name)
            except UserError:
                continue
        raise UserError(
            f"setting '{name}' = {value!r} has the wrong type; expected {' or '.join(_tname(a) for a in args)}"
        )
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"setting '{name}' = {value!r} must be a list (YAML list or comma-separated)")
        inner = typing.get_args(hint)[0] if typing.get_args(hint) else Any
        return [_coerce(v, inner, name) for v in value]
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise unknown(f"value for '{name}'", str(value), [str(a) for a in typing.get_args(hint)])
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"setting '{name}' = {value!r} must be true or false")
    if hint in (int, float) and isinstance(value, str):
        try:  # YAML 1.1 reads '3e-4' as a string
            value = hint(value)
        except ValueError:
            raise UserError(f"setting '{name}' = {value!r} has the wrong type; expected {_tname(hint)}") from None
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value  # an int stays an int: pivot_layer=24 is a block index, 0.75 a fraction of depth
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    raise UserError(f"setting '{name}' = {value!r} has the wrong type; expected {_tname(hint)}")


def _tname(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "null" if value is None else str(value)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj
