"""Evaluate a model (or a LoRA adapter on it) on the prom-bench tasks in ``tasks/``, through lm-eval.

One call loads the model once (lm-eval's ``HFLM``) and runs each task in turn through lm-eval's evaluator,
over a ``TaskManager`` that indexes only ``tasks/`` (``include_defaults=False`` saves the ~6 s upstream index).
The tasks report fractions, as lm-eval tasks do; ``TaskResult.metrics`` are percent (0-100, as the
paper's tables) and ``TaskResult.samples`` keep the per-item fractions for paired bootstraps.

Data: ``data_dir=None`` reads each task's pinned hub source; a directory reads local files in the upstream
layout (``tasks/_prom_shared/loaders.py`` documents it), handed to the tasks as lm-eval task metadata
``data_dir`` (the same as ``lm_eval --metadata '{"data_dir": DIR}'``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prom_bench.benchmarks import BENCHMARKS, family_of
from prom_bench.budgets import BUDGETS, scaled_budget, token_inflation
from prom_bench.errors import UserError, unknown
from prom_bench.paths import demo_data_dir, tasks_dir

_FILTER = "none"


@dataclass
class TaskResult:
    """One evaluated task.

    Attributes:
        task: task name (``prom_xquad_th``).
        metrics: means in percent, 0-100: ``{"exact_match", "f1", "paper_exact_match", "paper_f1"}`` for QA,
            ``{"accuracy"}`` for MGSM.
        n: number of items scored.
        samples: per item, ``{"doc_id": int, "exact_match": 0/1, "f1": 0..1, "paper_exact_match": 0/1,
            "paper_f1": 0..1}`` or ``{"doc_id", "accuracy": 0/1}``, each with the ``prompt`` the model saw, the
            ``gold`` answers and the generated ``response``.
        version: the task's ``metadata.version``.
        max_gen_toks: the generation budget (tokens) the task ran with.
        dataset: where the items came from: ``{"source": "local", "path": ...}`` or
            ``{"source": "hub", "id": ..., "revision": ...}``, with ``name`` and ``split``.
        backend: what generated the answers (``engines``): ``{"name": "hf"|"vllm"|"openai-completions", ...}``.
    """

    task: str
    metrics: dict[str, float]
    n: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    version: Any = None
    dataset: dict[str, Any] = field(default_factory=dict)
    backend: dict[str, Any] = field(default_factory=dict)
    max_gen_toks: int | None = None  # the generation budget the task ran with


def task_manager(data_dir: Path | None = None, include_path: Path | None = None, extra_paths: list | None = None):
    """An lm-eval ``TaskManager`` over ``tasks/`` only (plus a declared language's own task folders), with
    ``data_dir`` as task metadata when given."""
    from lm_eval.tasks import TaskManager

    metadata = {"data_dir": str(Path(data_dir).expanduser().resolve())} if data_dir is not None else {}
    paths = [str(include_path or tasks_dir()), *(str(p) for p in extra_paths or [])]
    return TaskManager(include_path=paths if len(paths) > 1 else paths[0], include_defaults=False, metadata=metadata)


def resolve_data_dir(spec: str | None) -> Path | None:
    """Where evaluation items come from, for ``evaluate(data_dir=...)``: ``None``/``demo`` -> the bundled demo
    eval data (``None`` falls back to the hub when it is not bundled), ``hub`` -> None, else a folder."""
    demo = demo_data_dir() / "eval"
    if spec in (None, "demo"):
        if demo.is_dir():
            return demo
        if spec == "demo":
            raise UserError(
                f"no bundled demo evaluation data ({demo} is missing); give --data-dir DIR or --data-dir hub"
            )
        return None
    if spec == "hub":
        return None
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise UserError(f"data dir '{spec}' is not a directory; give a folder in the upstream layout, 'demo' or 'hub'")
    return path


def _tokenizer_of(lm):
    """The tokenizer generating for ``lm`` (HF and vLLM models and a completions server with a HF tokenizer)."""
    tokenizer = getattr(lm, "tokenizer", None)
    if tokenizer is None or not callable(tokenizer):
        raise UserError(
            "eval.budget=inflation needs the model's tokenizer, which this backend does not expose; "
            "set eval.budget=task or eval.max_gen_toks"
        )
    return tokenizer


def _lang_of(task: str) -> str:
    """``prom_indicqa_ta`` -> ``ta`` (the language suffix every prom task name ends with)."""
    return task.rsplit("_", 1)[-1]


def evaluate(
    model_path: str | Any,
    tasks: list[str],
    *,
    adapter: str | None = None,
    data_dir: Path | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    max_gen_toks: int | None = None,
    budget: str = "task",
    progress: Callable[[dict], None] | None = None,
    tokenizer: Any = None,
    lm_eval_output: Path | None = None,
    engine: Any = None,
    chat_template: bool = False,
    include_paths: list | None = None,
) -> list[TaskResult]:
    """Run ``tasks`` on one model, loaded once.

    Args:
        model_path: a local model folder or hub id, or an in-memory ``PreTrainedModel`` (then give ``tokenizer``).
        tasks: task names from ``tasks/`` (``prom_xquad_th``, ...); groups are not accepted here.
        adapter: a peft adapter folder to apply on top (lm-eval ``peft=``).
        data_dir: local data directory in the upstream layout; None reads the pinned hub sources.
        limit: evaluate only the first ``limit`` items of each task.
        batch_size: generation batch size (explicit: lm-eval's "auto" probes huge batches, slow on CPU).
        max_gen_toks: override each task's generation budget (tokens), e.g. to keep a CPU demo short.
        budget: "task" (each task's own ``max_gen_toks``) or "inflation" (each task's budget times the
            tokenizer's token inflation for the task's language, ``prom_bench.budgets``); ``max_gen_toks``
            overrides both.
        progress: called after each task with ``{"task", "index", "total", "result"}``.
        tokenizer: the tokenizer of an in-memory model.
        lm_eval_output: also write lm-eval's own ``results_<date>.json`` and ``samples_<task>_<date>.jsonl``
            here (the layout of ``lm_eval --output_path DIR --log_samples``).
        engine: where generations come from (``prom_bench.engines``); None: lm-eval's HF model, loaded here.
        chat_template: wrap each prompt in the model's chat template (lm-eval ``apply_chat_template``).
        include_paths: further task folders (a declared language's own task YAMLs).

    Returns:
        One ``TaskResult`` per task, in the order given.
    """
    if not tasks:
        raise UserError("no task to evaluate; valid: task names from tasks/ (prom-bench tasks list)")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UserError(
            f"data dir '{data_dir}' is not a directory; give a folder with xquad/, mlqa/, indicqa/ or mgsm/ inside"
        )
    if adapter is not None and not (Path(adapter) / "adapter_config.json").is_file():
        raise UserError(f"adapter '{adapter}' has no adapter_config.json; give the adapter folder a training run wrote")
    if batch_size < 1:
        raise UserError(f"batch size {batch_size} must be at least 1")
    _quiet_lm_eval()
    manager = task_manager(data_dir, extra_paths=include_paths)
    for name in tasks:
        if name not in manager.all_subtasks:
            raise unknown("task", name, manager.all_subtasks)
        family_of(name)
    if budget not in BUDGETS:
        raise unknown("generation budget", budget, BUDGETS)
    if engine is None:
        from prom_bench.engines.hf import HFEngine

        engine = HFEngine(batch_size=batch_size, tokenizer=tokenizer)
    lm, backend = engine.lm(model_path, adapter)
    if chat_template and not getattr(getattr(lm, "tokenizer", None), "chat_template", None):
        raise UserError(
            "eval.chat_template is true but the model's tokenizer has no chat template; set eval.chat_template=false"
        )
    results, outputs = [], []
    for index, name in enumerate(tasks):
        scale = None if max_gen_toks or budget == "task" else token_inflation(_tokenizer_of(lm), _lang_of(name))
        result = _run_task(
            lm,
            manager,
            name,
            data_dir=data_dir,
            limit=limit,
            max_gen_toks=max_gen_toks,
            keep=outputs,
            budget_scale=scale,
            chat_template=chat_template,
        )
        result.backend = dict(backend)
        results.append(result)
        if progress is not None:
            progress({"task": name, "index": index + 1, "total": len(tasks), "result": result})
    if lm_eval_output is not None:
        from prom_bench.lm_eval_files import write_results

        if not isinstance(model_path, (str, os.PathLike)):
            raise UserError("lm_eval_output needs a model path (lm-eval names its folder after model_args)")
        model_args = {"pretrained": str(model_path), **({"peft": str(adapter)} if adapter else {})}
        write_results(
            Path(lm_eval_output),
            outputs,
            model_args=model_args,
            limit=limit,
            batch_size=batch_size,
            max_gen_toks=max_gen_toks,
        )
    return results


def load_hf_lm(model_path: str | Any, *, adapter: str | None, batch_size: int, tokenizer: Any):
    """lm-eval's ``HFLM`` for a model path (with an optional peft adapter) or an in-memory model."""
    import torch
    from lm_eval.models.huggingface import HFLM as _HFLM

    class HFLM(_HFLM):
        """lm-eval's HF model without its per-request tqdm bar: callers show progress per task."""

        def generate_until(self, requests, disable_tqdm: bool = True):
            return super().generate_until(requests, disable_tqdm=True)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(model_path, (str, os.PathLike)):
        kwargs: dict[str, Any] = {
            "pretrained": str(model_path),
            "device": device,
            "batch_size": batch_size,
            "dtype": "float32" if device == "cpu" else "auto",
        }
        if adapter is not None:
            kwargs["peft"] = str(adapter)
        return HFLM(**kwargs)
    if tokenizer is None:
        raise UserError("an in-memory model needs its tokenizer (evaluate(model, tasks, tokenizer=tok))")
    if adapter is not None:
        raise UserError("adapter= applies to a model path; for an in-memory model, apply the adapter before passing it")
    return HFLM(pretrained=model_path, tokenizer=tokenizer, batch_size=batch_size)


def _run_task(
    lm,
    manager,
    name: str,
    *,
    data_dir: Path | None,
    limit: int | None,
    max_gen_toks: int | None,
    keep: list | None = None,
    budget_scale: float | None = None,
    chat_template: bool = False,
) -> TaskResult:
    # lm-eval's ``evaluator.evaluate`` on tasks prepared as ``simple_evaluate`` prepares them (zero-shot,
    # generation override, fixed seeds). ``simple_evaluate`` itself would also collect the environment
    # (``torch.utils.collect_env`` runs pip and more: ~2 s per call), once per task here.
    import random

    import numpy as np
    import torch
    from lm_eval.evaluator import evaluate as lm_eval_evaluate

    try:
        loaded = manager.load([name])
    except FileNotFoundError as exc:  # the task's loader names the missing file and the expected layout
        raise UserError(f"{name}: {exc}") from None
    except Exception as exc:
        if data_dir is not None:
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UserError(
            f"{name}: its hub data could not be loaded ({type(exc).__name__}: {first}); "
            "give a local data dir (--data-dir DIR in the upstream layout, or 'demo')"
        ) from exc
    task = loaded["tasks"][name]
    if budget_scale is not None:
        own = (task.get_config("generation_kwargs") or {}).get("max_gen_toks") or lm.max_gen_toks
        max_gen_toks = scaled_budget(own, budget_scale)
    if max_gen_toks:
        task.set_config(key="generation_kwargs", value={"max_gen_toks": max_gen_toks}, update=True)
    if task.get_config("num_fewshot") is None:
        task.set_config(key="num_fewshot", value=0)
    task.set_fewshot_seed(seed=1234)
    random.seed(0)
    np.random.seed(1234)
    torch.manual_seed(1234)
    output = lm_eval_evaluate(
        lm=lm,
        task_dict=loaded,
        limit=limit,
        log_samples=True,
        bootstrap_iters=0,
        verbosity="WARNING",
        apply_chat_template=chat_template,
    )
    if keep is not None:
        keep.append(output)
    names = BENCHMARKS[family_of(name)].recorded
    metrics_raw = output["results"][name]
    metrics = {m: round(100.0 * float(metrics_raw[f"{m},{_FILTER}"]), 4) for m in names}
    samples = [
        {
            "doc_id": int(s["doc_id"]),
            **{m: _as_number(s[m]) for m in names},
            "prompt": _prompt(s),
            "gold": _gold(s),
            "response": _response(s),
        }
        for s in output["samples"][name]
    ]
    samples.sort(key=lambda s: s["doc_id"])
    config = output["configs"][name]
    return TaskResult(
        task=name,
        metrics=metrics,
        n=len(samples),
        samples=samples,
        version=output["versions"].get(name),
        dataset=_dataset_of(config, data_dir),
        max_gen_toks=(config.get("generation_kwargs") or {}).get("max_gen_toks"),
    )


BACKEND = "hf"  # lm-eval's HuggingFace model; another backend (e.g. vLLM) is another setting of the identity


def eval_settings(
    *, limit: int | None, max_gen_toks: int | None, backend: str = BACKEND, chat_template: bool = False
) -> dict[str, Any]:
    """The evaluation settings of a run that can change its scores (the same for every task of the run).

    ``eval.format`` is the evaluation half of the prompt-format pair (``chat``: the prompts went through the
    model's chat template; ``plain``: the task's own prompt); the training half is the train setting ``format``.
    """
    return {
        "eval.limit": limit,
        "eval.max_gen_toks": max_gen_toks,
        "eval.backend": backend,
        "eval.format": "chat" if chat_template else "plain",
    }


def task_settings(result: TaskResult) -> dict[str, Any]:
    """What fixes one task's meaning: its data (by content), its version and the scorer's version.

    The data is identified by content (the SHA-256 of a local file, or the hub id and revision), so the
    same file at two paths is one data set; the task version pins the prompt and the scorer, and the
    normaliser version is recorded beside it as a second guard.
    """
    dataset = result.dataset or {}
    if dataset.get("source") == "local" and dataset.get("path") and Path(dataset["path"]).is_file():
        from prom_bench.model_identity import file_hash

        data = f"local:{file_hash(Path(dataset['path']))[:16]}"
    elif dataset.get("source") == "hub":
        data = f"hub:{dataset.get('id')}@{dataset.get('revision')}"
    else:
        data = dataset.get("source")
    return {
        "data": data,
        "task_version": result.version,
        "metric_version": _task_scoring().NORMALISER_VERSION,
    }


def _task_scoring():
    _task_loaders()  # puts tasks/ on sys.path
    from _prom_shared import scoring

    return scoring


def _prompt(sample: dict[str, Any]) -> str:
    """The prompt the model saw (the context of lm-eval's first request)."""
    arguments = sample.get("arguments") or []
    try:
        first = arguments[0]
        return str(first[0] if isinstance(first, (list, tuple)) else first)
    except (IndexError, KeyError, TypeError):
        return ""


def _gold(sample: dict[str, Any]) -> list[str]:
    """Every gold answer: QA items carry several (``doc.answers.text``); MGSM one number."""
    doc = sample.get("doc") or {}
    answers = doc.get("answers")
    if isinstance(answers, dict) and isinstance(answers.get("text"), list):
        return [str(a) for a in answers["text"]]
    if "answer_number" in doc:
        return [str(doc["answer_number"])]
    target = sample.get("target")
    return [str(t) for t in target] if isinstance(target, list) else [str(target)]


def _response(sample: dict[str, Any]) -> str:
    """The generated answer as scored: after lm-eval's stop sequences, without a character the budget cut."""
    responses = sample.get("filtered_resps") or [""]
    first = responses[0]
    return _task_scoring().drop_partial_character(first if isinstance(first, str) else str(first))


def _as_number(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() else value


def _dataset_of(config: dict[str, Any], data_dir: Path | None) -> dict[str, Any]:
    kwargs = config.get("dataset_kwargs") or {}
    family, lang, split = kwargs.get("family"), kwargs.get("lang"), kwargs.get("split")
    base = {"name": config.get("dataset_name"), "split": split}
    if data_dir is not None:
        path = _task_loaders().local_file(Path(data_dir).expanduser().resolve(), family, lang, split)
        return {"source": "local", "path": str(path), **base}
    return {
        "source": "hub",
        "id": config.get("dataset_path"),
        "url": kwargs.get("data_source"),
        "revision": kwargs.get("data_revision"),
        **base,
    }


def local_data_file(data_dir: Path, task: str) -> Path | None:
    """Where ``task``'s data sits under a local ``data_dir`` (upstream layout); None outside the registry."""
    family = next((f for f in BENCHMARKS if task.startswith(f"prom_{f}_")), None)
    if family is None:
        return None
    lang = task[len(f"prom_{family}_") :]
    return _task_loaders().local_file(Path(data_dir).expanduser().resolve(), family, lang, "test")


def _task_module(name: str):
    """``tasks/_prom_shared/<name>.py``: the package the tasks' ``utils.py`` import, so each rule is defined once."""
    import importlib
    import sys

    tasks = str(tasks_dir())
    if tasks not in sys.path:
        sys.path.insert(0, tasks)
    return importlib.import_module(f"_prom_shared.{name}")


def _task_loaders():
    """Where the local file layout is defined."""
    return _task_module("loaders")


def _task_scoring():
    """Where the scoring rules are defined."""
    return _task_module("scoring")


def _quiet_lm_eval() -> None:
    """lm-eval logs every task build at INFO and warns about custom datasets; keep the console for results."""
    for name in ("lm_eval", "lm-eval", "lm_eval.api.task", "lm_eval.evaluator"):
        logging.getLogger(name).setLevel(logging.ERROR)
