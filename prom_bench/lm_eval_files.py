"""lm-eval's own result files, both ways: read ``results_*.json`` + ``samples_*.jsonl`` as records, and write them.

A folder written by plain ``lm_eval --include_path tasks/ --output_path OUT --log_samples`` holds
``OUT/<model>/results_<date>.json`` (scores as fractions under keys like ``"f1,none"``, the task configs and
versions, the run's config with ``model_args`` and ``limit``) and, per task, ``samples_<task>_<date>.jsonl``
(one item per line: ``doc_id``, ``doc``, ``arguments`` (the prompt), ``filtered_resps``, per-item metrics).
``records_from_results`` turns the prom tasks of such a file into records as ``prom-bench eval`` writes them
(percent metrics, per-item samples with prompt, gold answers and response, the model's identity), so
``prom-bench table`` and ``report`` show them beside prom-bench's own; other tasks (and groups) are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prom_bench.errors import UserError

RESULTS_GLOB = "results_*.json"


def is_results_file(path: Path) -> bool:
    return path.name.startswith("results_") and path.suffix == ".json"


def results_files(folder: Path) -> list[Path]:
    """lm-eval results files under ``folder`` (hidden folders skipped)."""
    folder = Path(folder)
    return sorted(
        p for p in folder.rglob(RESULTS_GLOB) if not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _model_args(config: dict) -> dict[str, str]:
    args = config.get("model_args") or {}
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    out = {}
    for item in str(args).split(","):
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class _Ref:
    """What ``model_identity.identity`` needs of a model (a ``ModelRef`` without resolving it)."""

    path: str
    display: str
    revision: str | None = None


def _model(args: dict[str, str], results: dict) -> tuple[_Ref, str | None]:
    from prom_bench.models import local_display

    pretrained = args.get("pretrained") or results.get("model_name") or "unknown"
    local = Path(pretrained).expanduser()
    if local.is_dir():
        ref = _Ref(str(local.resolve()), local_display(local.resolve()))
    else:
        ref = _Ref(pretrained, pretrained, args.get("revision"))
    return ref, args.get("peft")


def _method_of_adapter(adapter: str | None, where: Path) -> str:
    if adapter is None:
        return "base"
    from prom_bench import model_card

    card = model_card.read(Path(adapter))
    if card is None:
        raise UserError(
            f"{where}: the adapter '{adapter}' has no prom-bench card (card.json), so its method is unknown; "
            "evaluate it with `prom-bench eval --adapter DIR --method NAME` instead"
        )
    return card["method"]


def _samples(path: Path, metrics: tuple[str, ...]) -> list[dict]:
    from prom_bench.evaluation import _as_number, _gold, _prompt, _response

    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            sample = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"corrupt lm-eval samples file {path}: line {number} is not JSON ({exc.msg})") from None
        arguments = sample.get("arguments")
        if isinstance(arguments, dict):  # lm-eval flattens [[prompt, kwargs]] to {"gen_args_0": {"arg_0": ...}}
            sample["arguments"] = [[a.get("arg_0"), a.get("arg_1")] for a in arguments.values()]
        out.append(
            {
                "doc_id": int(sample["doc_id"]),
                **{m: _as_number(sample[m]) for m in metrics if m in sample},
                "prompt": _prompt(sample),
                "gold": _gold(sample),
                "response": _response(sample),
            }
        )
    return sorted(out, key=lambda s: s["doc_id"])


def _task_data(config: dict, task: str) -> dict[str, Any]:
    """Where the task's items came from, as ``TaskResult.dataset`` says it (a local file or a hub revision)."""
    from prom_bench.evaluation import _task_loaders

    kwargs = config.get("dataset_kwargs") or {}
    data_dir = (config.get("metadata") or {}).get("data_dir")
    base = {"name": config.get("dataset_name"), "split": kwargs.get("split")}
    if data_dir:
        try:
            path = _task_loaders().local_file(
                Path(data_dir).expanduser().resolve(), kwargs.get("family"), kwargs.get("lang"), kwargs.get("split")
            )
        except Exception:  # the folder is gone or elsewhere: identify the data by what was written
            return {"source": "local (not found here)", "path": str(data_dir), **base}
        return {"source": "local", "path": str(path), **base}
    return {"source": "hub", "id": config.get("dataset_path"), "revision": kwargs.get("data_revision"), **base}


def records_from_results(path: Path) -> list[dict]:
    """The prom tasks of one lm-eval ``results_*.json`` (and its ``samples_*`` files) as records."""
    from prom_bench.benchmarks import BENCHMARKS
    from prom_bench.evaluation import TaskResult, eval_settings, family_of, task_settings
    from prom_bench.model_identity import identity
    from prom_bench.results import _package_versions, adapter_settings, adapter_train_config, record_from

    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"corrupt lm-eval results file {path}: not valid JSON ({exc})") from None
    if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
        raise UserError(f"{path} is not an lm-eval results file (no 'results' object)")
    config = results.get("config") or {}
    args = _model_args(config)
    ref, adapter = _model(args, results)
    method = _method_of_adapter(adapter, path)
    model_id = identity(ref, adapter=adapter if adapter and Path(adapter).is_dir() else None)
    stamp = path.stem[len("results_") :]
    limit = config.get("limit")
    limit = int(limit) if isinstance(limit, (int, float)) and limit >= 1 else None
    gen_kwargs = config.get("gen_kwargs") or {}
    if isinstance(gen_kwargs, str):
        gen_kwargs = dict(item.split("=", 1) for item in gen_kwargs.split(",") if "=" in item)
    max_gen_toks = gen_kwargs.get("max_gen_toks")
    date = results.get("date")
    date = (
        datetime.fromtimestamp(float(date), timezone.utc).isoformat(timespec="seconds")
        if isinstance(date, (int, float))
        else None
    )
    records = []
    for task, values in results["results"].items():
        if not re.fullmatch(rf"prom_({'|'.join(BENCHMARKS)})_[a-z]+", task):
            continue  # groups (prom_qa) and other tasks
        bench = BENCHMARKS[family_of(task)]
        if not all(f"{m},none" in values for m in bench.metrics):
            continue
        # the paper's measure too, when the tasks reported it (task version 2.0 on)
        metrics_names = bench.metrics + tuple(m for m in bench.paper_metrics if f"{m},none" in values)
        samples_file = path.parent / f"samples_{task}_{stamp}.jsonl"
        samples = _samples(samples_file, metrics_names) if samples_file.is_file() else []
        task_config = (results.get("configs") or {}).get(task) or {}
        n_samples = (results.get("n-samples") or {}).get(task) or {}
        outcome = TaskResult(
            task=task,
            metrics={m: round(100.0 * float(values[f"{m},none"]), 4) for m in metrics_names},
            n=int(n_samples.get("effective") or len(samples)),
            samples=samples,
            version=(results.get("versions") or {}).get(task),
            dataset=_task_data(task_config, task),
        )
        settings = eval_settings(
            limit=limit,
            max_gen_toks=int(max_gen_toks) if max_gen_toks else None,
            backend=str(config.get("model") or "hf"),
        )
        if adapter:
            settings = {**adapter_settings(adapter), **settings}
        record = record_from(
            outcome,
            model=ref,
            method=method,
            settings=settings,
            task_settings=task_settings(outcome),
            model_id=model_id,
            limit=limit,
            config={"source": "lm-eval results file", "file": str(path), **config},
            date=date,
            seed=(adapter_train_config(adapter) or {}).get("seed") if adapter else None,
        )
        record["provenance"]["packages"] = {
            **_package_versions(),
            "lm_eval": results.get("lm_eval_version") or _package_versions().get("lm_eval"),
            "transformers": results.get("transformers_version") or _package_versions().get("transformers"),
        }
        record["provenance"]["git_commit"] = results.get("git_hash")
        records.append(record)
    return records


# --------------------------------------------------------------------------------------------------- write
def write_results(
    out_dir: Path,
    outputs: list[dict],
    *,
    model_args: dict[str, Any],
    limit: int | None,
    batch_size: int,
    max_gen_toks: int | None,
) -> Path | None:
    """Write lm-eval's own ``results_<date>.json`` and ``samples_<task>_<date>.jsonl`` for ``outputs``.

    Args:
        outputs: the per-task outputs of ``lm_eval.evaluator.evaluate`` (``results``, ``configs``, ``versions``,
            ``n-shot``, ``higher_is_better``, ``n-samples``, ``samples``), one per task.
        model_args: lm-eval ``model_args`` of the model (``pretrained``, ``peft``, ...).

    Returns:
        The results file written (under ``out_dir/<model name sanitised>/``, as lm-eval lays it out).
    """
    from lm_eval.loggers import EvaluationTracker

    merged: dict[str, Any] = {
        k: {} for k in ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples")
    }
    samples: dict[str, list] = {}
    for output in outputs:
        for key in merged:
            merged[key].update(output.get(key) or {})
        samples.update(output.get("samples") or {})
    args_text = ",".join(f"{k}={v}" for k, v in model_args.items())
    merged["config"] = {
        "model": "hf",
        "model_args": args_text,
        "batch_size": batch_size,
        "limit": limit,
        "gen_kwargs": {"max_gen_toks": max_gen_toks} if max_gen_toks else None,
        "bootstrap_iters": 0,
    }
    merged["date"] = datetime.now(timezone.utc).timestamp()
    tracker = EvaluationTracker(output_path=str(out_dir))
    # lm-eval names the model folder from model_args exactly as its CLI does
    tracker.general_config_tracker.log_experiment_args(
        model_source="hf",
        model_args=args_text,
        system_instruction=None,
        chat_template=None,
        fewshot_as_multiturn=False,
    )
    tracker.save_results_aggregated(results=merged, samples=samples)
    for task, task_samples in samples.items():
        tracker.save_results_samples(task_name=task, samples=task_samples)
    folder = Path(out_dir) / tracker.general_config_tracker.model_name_sanitized
    written = sorted(folder.glob(f"results_{tracker.date_id}.json"))
    return written[0] if written else None


# ---------------------------------------------------------------------------------------------------- read
def load_all(paths: list[Path]) -> list[dict]:
    """prom-bench records and lm-eval results under ``paths`` (folders searched for both, or single files)."""
    from prom_bench.results import RECORD_SUFFIX, load_record, record_files

    records: list[dict] = []
    for path in map(Path, paths):
        if path.is_dir():
            records += [load_record(p) for p in record_files([path])]
            for results_file in results_files(path):
                records += records_from_results(results_file)
        elif path.is_file() and is_results_file(path):
            records += records_from_results(path)
        elif path.is_file() or path.name.endswith(RECORD_SUFFIX):
            records += [load_record(p) for p in record_files([path])]
        else:
            raise UserError(
                f"results path '{path}' does not exist; give a results directory, *{RECORD_SUFFIX} files or "
                "lm-eval results_*.json files"
            )
    return records
