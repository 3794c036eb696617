"""The results store: one JSON record per (model, method, language, task, settings, seed).

A record is plain data, so the paper's numbers (``leaderboards/paper``) and the records of our own runs
are read, compared and rendered by the same code::

    {"schema": 1, "model": "SmolLM2-135M-Instruct", "model_path": "...", "method": "prom", "lang": "th",
     "task": "prom_xquad_th", "benchmark": "xquad",
     "model_id": {"name": ..., "source": "local", "content_hash": "...", "revision": null, "key": "9c1e..."},
     "seed": 0, "limit": null, "limited": false,
     "settings": {"pivot_layer": 24, "label_smoothing": 0.1, "pivot_weight": 0.1, "lora_r": 8, ...,
                  "data.sha256": "...", "eval.limit": null, "eval.max_gen_toks": 24, "eval.backend": "hf"},
     "settings_id": "3f2a9c0d1e",
     "task_settings": {"data": "local:1c9e...", "task_version": 1.0, "metric_version": "1"},
     "task_settings_id": "77ab01c2d3", "metrics": {"exact_match": 10.7, "f1": 22.5},   # percent, 0-100
     "n": 1190, "samples": [{"doc_id": 0, "exact_match": 1, "f1": 1.0, "prompt": ..., "gold": [...],
                             "response": ...}, ...],                                  # per-item, 0-1
     "provenance": {"config": {...}, "dataset": {...}, "task_version": 1, "packages": {...},
                    "git_commit": "...", "git_dirty": false, "seed": 0, "date": "2026-01-01T00:00:00+00:00"}}

Identity (``record_key``): a record measures one model (``model_id.key``: hub id and revision, or the content
hash of a local folder), one method, language and task, one ``settings_id`` and one ``seed``. ``settings``
hold every setting of the run that can change a score except the seed (training, data sources and
revisions, evaluation limit, generation budget, backend); ``task_settings`` what fixes the task's meaning
(its data by content hash, task and scorer versions). Records that differ only in
their seed are repeats of one result (tables show their mean and sd), and records that differ in anything
else are different results. ``limited`` marks a smoke test (``--limit`` cut the evaluation set); tables
leave such records out unless asked.

On disk a record lives at ``<results>/<model slug>/<method>/<lang>/<task>__<settings_id>__<key>.record.json``,
``<key>`` a hash of the record's identity (``record_key``), so a result has one file, whatever the crash or
the concurrency: a record is staged, fsynced and linked into place with an exclusive create, so of two runs
writing the same result one writes it and the other finds it there, and a rerun after a crash writes
nothing twice. A *different* result for the same identity (``--force``, a re-evaluation) replaces the file
atomically. Stores written before this layout hold time-stamped names (``<task>__<settings_id>__<stamp>``);
they are read as before, and readers keep the latest record of each key (``latest_records``). Readers never
look at hidden files (stages in progress).

Reading checks each record and refuses, in one line naming the file, one the tables could not place or
would misreport: a NaN or infinite metric, a method the registry does not know, a task outside the four
benchmarks (or of another benchmark than it claims). Nothing is dropped without a word.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import math
import re
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prom_bench import methods
from prom_bench.benchmarks import BENCHMARKS, family_of
from prom_bench.errors import UserError
from prom_bench.fileio import write_once, write_text_atomic

SCHEMA = 1
RECORD_SUFFIX = ".record.json"
DEFAULT_RESULTS_DIR = Path("leaderboards") / "results"  # relative to the working directory, like the pipeline
REQUIRED_KEYS = (
    "schema",
    "model",
    "method",
    "lang",
    "task",
    "benchmark",
    "settings",
    "settings_id",
    "metrics",
    "n",
    "samples",
    "provenance",
)
# Packages whose versions decide what a score means; recorded with every result.
PROVENANCE_PACKAGES = ("torch", "transformers", "peft", "accelerate", "lm_eval", "datasets", "vllm", "prom-bench")
_CHECKOUT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------- building
def _canonical(value: Any) -> Any:
    """Numbers compared by value: ``0.0`` and ``0`` (or ``24.0`` and ``24``) give the same settings_id."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def settings_id(settings: Mapping[str, Any]) -> str:
    """A short, stable hash of the settings that distinguish runs (key order and 0 vs 0.0 do not matter)."""
    text = json.dumps(_canonical(dict(settings)), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# Settings that are facts of one cell's own data rather than settings of the run: every language's mixture has
# its own content, so ``data.sha256`` differs across the cells of one run by nature. They stay in the record's
# identity (a change of data never replaces a result); tables group a run's cells without them.
CELL_FACTS = frozenset({"data.sha256"})


def run_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings shared by every cell of a run: ``settings`` without the cell's own facts (``CELL_FACTS``)."""
    return {k: v for k, v in settings.items() if k not in CELL_FACTS}


def run_id(record: Mapping[str, Any]) -> str:
    """The run a record belongs to, across languages: the hash of its ``run_settings``."""
    return settings_id(run_settings(record.get("settings") or {}))


@functools.lru_cache(maxsize=1)
def _package_versions() -> dict[str, str | None]:
    """Versions of the packages a score depends on; read once per process (callers copy the dict)."""
    versions: dict[str, str | None] = {}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    """Commit and dirtiness of the checkout prom_bench runs from; (None, None) for an installed wheel."""
    if not (_CHECKOUT / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_CHECKOUT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = (
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=_CHECKOUT,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            != ""
        )
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, dirty


def record_from(
    result: Any = None,
    *,
    model: Any,
    method: str,
    lang: str | None = None,
    task: str | None = None,
    metrics: Mapping[str, float] | None = None,
    n: int | None = None,
    samples: list[dict] | None = None,
    settings: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    dataset: Mapping[str, Any] | None = None,
    task_version: Any = None,
    seed: int | None = None,
    limit: int | None = None,
    model_id: Mapping[str, Any] | None = None,
    task_settings: Mapping[str, Any] | None = None,
    date: str | None = None,
    **extra: Any,
) -> dict:
    """Build a record with full provenance, the one way the pipeline and ``prom-bench eval`` make records.

    Args:
        result: optional ``evaluation.TaskResult`` (anything with ``task, metrics, n, samples, version,
            dataset``); explicit keyword arguments override its fields.
        model: a ``models.ModelRef`` (``display`` and ``path`` are used) or a display name.
        method: a method name or paper alias; stored under its canonical name.
        lang: target language code; defaults to the last part of the task name.
        metrics: percent (0-100), e.g. ``{"exact_match": 10.7, "f1": 22.5}`` or ``{"accuracy": 4.4}``.
        samples: per-item scores, 0-1, keyed by ``doc_id`` (used by the paired bootstrap).
        settings: the resolved training settings that distinguish runs (pivot_layer, label_smoothing,
            pivot_weight after regulation, ...); their hash is ``settings_id``.
        config: the full resolved run config, kept as provenance.
        seed: the run's seed (part of the record's identity; repeats over seeds are aggregated by tables).
        limit: the evaluation's ``--limit`` (None = every item); a record cut by it is ``limited``.
        model_id: ``model_identity.identity(...)`` of the model; computed from ``model`` when not given.
        task_settings: what fixes this task's meaning (data by content, task and scorer versions:
            ``evaluation.task_settings``); part of the identity, hashed as ``task_settings_id``.
        extra: further top-level fields (the schema allows additions).

    Returns:
        A record dict, ready for ``write_record``.
    """
    task = task or getattr(result, "task", None)
    if not task:
        raise UserError("record_from needs a task name (or a TaskResult that has one)")
    metrics = dict(metrics if metrics is not None else getattr(result, "metrics", None) or {})
    samples = list(samples if samples is not None else getattr(result, "samples", None) or [])
    n = n if n is not None else getattr(result, "n", None)
    dataset = dict(dataset if dataset is not None else getattr(result, "dataset", None) or {})
    if task_version is None:
        task_version = getattr(result, "version", None)
    settings = _canonical(dict(settings or {}))
    model_path = getattr(model, "path", None)
    if model_id is None:
        model_id = _identity_of(model)
    display = model_id.get("name") or getattr(model, "display", None) or str(model)
    commit, dirty = _git_state()
    record = {
        "schema": SCHEMA,
        "model": display,
        "model_path": str(model_path) if model_path is not None else None,
        "method": methods.get(method).name,
        "lang": lang or task.rsplit("_", 1)[-1],
        "task": task,
        "benchmark": family_of(task),
        "model_id": dict(model_id),
        "seed": seed,
        "limit": limit,
        "limited": limit is not None and (int(n) if n is not None else len(samples)) >= limit,
        "settings": settings,
        "settings_id": settings_id(settings),
        "task_settings": _canonical(dict(task_settings or {})),
        "task_settings_id": settings_id(task_settings or {}),
        "metrics": metrics,
        "n": int(n) if n is not None else len(samples),
        "samples": samples,
        "provenance": {
            "config": dict(config or {}),
            "dataset": dataset,
            "task_version": task_version,
            # what generated the answers: {"name": "hf" | "vllm" | "openai-completions", engine details}
            "backend": dict(getattr(result, "backend", None) or {}),
            "packages": dict(_package_versions()),
            "git_commit": commit,
            "git_dirty": dirty,
            "seed": seed,
            "date": date or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }
    record.update(extra)
    return record


# Training settings that cannot change a score: bookkeeping, and memory/speed trade-offs that compute the same.
# The seed is left out too: it is the record's own field (repeats over seeds are aggregated, not kept apart).
TRAIN_KEYS_NOT_SCORED = ("save_steps", "resume", "logging", "gradient_checkpointing", "logits_chunk_size", "seed")
PIVOT_ONLY_KEYS = ("pivot_layer", "label_smoothing", "pivot_weight", "pivot_head", "early_exit")


def train_settings(train: Mapping[str, Any]) -> dict[str, Any]:
    """The training settings of a record's identity, from a (resolved) TrainConfig dict."""
    from trainer import TrainConfig

    fields = {f.name for f in dataclasses.fields(TrainConfig)} | {"parts"}
    out = {k: v for k, v in train.items() if k in fields and k not in TRAIN_KEYS_NOT_SCORED}
    if out.get("objective") == "sft":  # settings of the pivot loss mean nothing here: keep them out
        out = {k: v for k, v in out.items() if k not in PIVOT_ONLY_KEYS}
    return out


def adapter_train_config(adapter: str | Path | None) -> dict | None:
    """The train_config.json a training run writes beside its adapter (or inside it), if any."""
    if adapter is None:
        return None
    for candidate in (Path(adapter) / "train_config.json", Path(adapter).parent / "train_config.json"):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    return None


def adapter_settings(adapter: str | Path | None) -> dict[str, Any]:
    """The training settings of an adapter's records (as ``prom-bench run`` names them), from its
    train_config.json; the trainer's seed is the record's seed, not a setting."""
    if adapter is None:
        return {}
    config = adapter_train_config(adapter)
    return {"adapter": str(adapter)} if config is None else train_settings(config)


def _identity_of(model: Any) -> dict[str, Any]:
    """A model's identity from a ``ModelRef`` (content-hashed) or, for a bare name, the name alone."""
    if getattr(model, "path", None) is not None:
        from prom_bench.model_identity import identity

        return identity(model)
    name = str(model)
    return {"name": name, "key": hashlib.sha256(f"name:{name}".encode()).hexdigest()[:10]}


# ----------------------------------------------------------------------------------------------- writing
def slug(text: str) -> str:
    """A file-name-safe form of a model name, method or task (``t+e`` stays ``t+e``)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", str(text)).strip("-.").lower() or "unnamed"


def _check(record: Mapping[str, Any], where: str) -> None:
    """One clear line naming the first thing wrong with a record (``where`` names the file or 'record')."""
    if not isinstance(record, Mapping):
        raise UserError(f"corrupt result record {where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise UserError(f"corrupt result record {where}: missing {', '.join(repr(k) for k in missing)}")
    if record["schema"] != SCHEMA:
        raise UserError(f"result record {where} has schema {record['schema']!r}; this prom-bench reads schema {SCHEMA}")
    for key, kind in (("settings", Mapping), ("metrics", Mapping), ("provenance", Mapping), ("samples", list)):
        if not isinstance(record[key], kind):
            raise UserError(
                f"corrupt result record {where}: '{key}' must be a JSON {'list' if kind is list else 'object'}"
            )
    for name, value in record["metrics"].items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UserError(f"corrupt result record {where}: metric '{name}' is {value!r}, not a number")
        if value is not None and not math.isfinite(value):  # our writer never writes one (allow_nan=False)
            raise UserError(f"corrupt result record {where}: metric '{name}' is {value}, not a finite number")
    # A record the tables cannot place would be dropped without a word: refused instead, naming the file.
    if record["method"] not in methods.METHODS:
        raise UserError(
            f"result record {where} has unknown method {record['method']!r}; valid: {', '.join(methods.METHODS)}"
        )
    if not isinstance(record["task"], str) or record["benchmark"] not in BENCHMARKS:
        raise UserError(
            f"result record {where} has task {record['task']!r} of unknown benchmark {record['benchmark']!r}; "
            f"valid: {', '.join(BENCHMARKS)}"
        )
    try:
        expected = family_of(record["task"])
    except UserError:
        expected = None
    if expected != record["benchmark"]:
        raise UserError(
            f"result record {where} has task {record['task']!r}, which is not a {record['benchmark']} task "
            f"(tasks are named like prom_{record['benchmark']}_<lang>)"
        )


def record_path(results_dir: Path, record: Mapping[str, Any]) -> Path:
    """Where the record of this identity lives: the same path for every write of the same ``record_key``."""
    key = hashlib.sha256(json.dumps(list(record_key(record)), default=str).encode()).hexdigest()[:12]
    name = f"{slug(record['task'])}__{record['settings_id']}__{key}{RECORD_SUFFIX}"
    return Path(results_dir) / slug(record["model"]) / slug(record["method"]) / slug(record["lang"]) / name


def _same_result(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two records of one identity hold the same result (their provenance dates may differ)."""
    return all(a.get(k) == b.get(k) for k in ("metrics", "n", "samples", "settings"))


def write_record(results_dir: Path, record: dict) -> Path:
    """Write one record once (staged, fsynced, exclusive create) and return its path.

    Idempotent: writing a record whose identity is already on disk with the same result changes nothing
    (a rerun after a crash, two concurrent runs); a different, not older result for that identity replaces it
    atomically (``--force``, a re-evaluation).
    """
    record = dict(record)
    record.setdefault("settings_id", settings_id(record.get("settings") or {}))
    _check(record, "record")
    path = record_path(Path(results_dir), record)
    text = json.dumps(record, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    if write_once(path, text, fsync=True):
        return path
    try:
        existing = load_record(path)
    except UserError:
        existing = None  # a corrupt file of this identity: replaced by the good record below
    if existing is not None and (_same_result(existing, record) or _date(existing) > _date(record)):
        return path  # this result is already there, or a newer one is (the latest counts, as in latest_records)
    write_text_atomic(path, text, fsync=True)
    return path


def _date(record: Mapping[str, Any]) -> str:
    return str(record.get("provenance", {}).get("date") or "")


# ----------------------------------------------------------------------------------------------- reading
def record_files(paths: Iterable[Path]) -> list[Path]:
    """The record files named by ``paths`` (files as given; directories searched for ``*.record.json``)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob(f"*{RECORD_SUFFIX}")
                    if not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"results path '{path}' does not exist; give a results directory or *{RECORD_SUFFIX} files")
    return files


def load_record(path: Path) -> dict:
    """One record file; a ``UserError`` naming the file when it is not a valid record."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"corrupt result record {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise UserError(f"corrupt result record {path}: not UTF-8 text") from None
    _check(record, str(path))
    return record


def load_records(paths: list[Path]) -> list[dict]:
    """All records under ``paths`` (files or directories), in file order; duplicates are kept.

    Raises:
        UserError: a path that does not exist, or a file that is not a valid record (names the file).
    """
    return [load_record(path) for path in record_files(paths)]


def seed_of(record: Mapping[str, Any]) -> int | None:
    """The record's seed (older records keep it in provenance only)."""
    seed = record.get("seed")
    return seed if seed is not None else (record.get("provenance") or {}).get("seed")


def model_key(record: Mapping[str, Any]) -> str:
    """The model's identity hash; records written before identities existed are identified by their name."""
    key = (record.get("model_id") or {}).get("key")
    return key or hashlib.sha256(f"name:{record['model']}".encode()).hexdigest()[:10]


def is_limited(record: Mapping[str, Any]) -> bool:
    """A smoke test: ``--limit`` cut its evaluation set."""
    return bool(record.get("limited"))


def task_settings_id(record: Mapping[str, Any]) -> str:
    """Hash of the task's data, version and scorer (older records: of their task version alone)."""
    if record.get("task_settings_id"):
        return record["task_settings_id"]
    return settings_id({"task_version": (record.get("provenance") or {}).get("task_version")})


def record_key(record: Mapping[str, Any]) -> tuple:
    """What a record measures: (model, model key, method, lang, task, settings_id, task_settings_id, seed).

    Everything that can change a score is in it: the model's identity, the run's settings (training, data,
    evaluation limit, generation budget, backend), the task's data, version and scorer, and the seed.
    """
    return (
        record["model"],
        model_key(record),
        record["method"],
        record["lang"],
        record["task"],
        record["settings_id"],
        task_settings_id(record),
        seed_of(record),
    )


def identity_id(record: Mapping[str, Any]) -> str:
    """A short, stable hash of ``record_key``: one value per distinct result (e.g. for file names)."""
    text = json.dumps([str(part) for part in record_key(record)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def latest_records(records: Iterable[dict]) -> list[dict]:
    """One record per key, the one with the latest provenance date (a rerun replaces an older result)."""
    best: dict[tuple, dict] = {}
    for record in records:
        key = record_key(record)
        date = str(record.get("provenance", {}).get("date") or "")
        if key not in best or date >= str(best[key].get("provenance", {}).get("date") or ""):
            best[key] = record
    return list(best.values())


def to_frame(records: Iterable[Mapping[str, Any]]):
    """The records as a pandas DataFrame: one row per record, one column per metric and per setting.

    Columns: model, method, lang, task, benchmark, settings_id, n, model_key, seed, limited, <metric>...
    (percent), settings.<name>..., date, git_commit. Samples stay out (they are per item).
    """
    import pandas as pd

    rows = []
    for record in records:
        provenance = record.get("provenance", {})
        row = {key: record[key] for key in ("model", "method", "lang", "task", "benchmark", "settings_id", "n")}
        row.update(model_key=model_key(record), seed=seed_of(record), limited=is_limited(record))
        row.update(record["metrics"])
        row.update({f"settings.{name}": value for name, value in record["settings"].items()})
        row.update(date=provenance.get("date"), git_commit=provenance.get("git_commit"))
        rows.append(row)
    return pd.DataFrame(rows)
