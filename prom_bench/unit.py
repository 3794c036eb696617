"""Running one planned unit: data -> train -> evaluate -> records -> the unit's marker.

``execute`` takes a ``UnitPlan`` and does what it says, wherever it runs (this process, a local worker, a
SLURM job): every id and path comes from the plan. Shared pieces of work (PROM with lambda = 0 reuses t's
training) are held by leases (``prom_bench.lease``), which also hold across machines on a shared filesystem.

Besides the marker (``units/<method>/<lang>.json``, written last, the proof that the unit is done), a unit
keeps ``units/<method>/<lang>.state.json`` up to date: its phase, who runs it, and on failure the error's
last line and the log to read. ``prom-bench status`` reads both.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from prom_bench import languages
from prom_bench.errors import UserError
from prom_bench.fileio import read_json_checked, shape, warn, write_json_atomic
from prom_bench.lease import Lease, slurm_job_id
from prom_bench.plan import UnitPlan

STATE_SUFFIX = ".state.json"


class Reporter(Protocol):
    def step(self, what: str) -> None: ...
    def train(self, event: dict[str, Any]) -> None: ...
    def eval(self, event: dict[str, Any]) -> None: ...


class Silent:
    def step(self, what: str) -> None:
        pass

    def train(self, event: dict[str, Any]) -> None:
        pass

    def eval(self, event: dict[str, Any]) -> None:
        pass


@dataclasses.dataclass
class Outcome:
    records: list[dict]
    skipped: bool


def state_path(plan: UnitPlan) -> Path:
    return plan.marker.with_name(plan.marker.stem + STATE_SUFFIX)


def finished(plan: UnitPlan) -> list[Path] | None:
    """The record paths of a unit already done with this very plan (same unit id), else None."""
    if not plan.marker.is_file():
        return None
    saved = read_json_checked(plan.marker, _marker_problem, what="unit marker")
    if saved is None:
        return None
    paths = [Path(p) for p in saved["records"]]
    if saved["unit_id"] == plan.unit_id and all(p.is_file() for p in paths):
        return paths
    return None


def execute(
    plan: UnitPlan,
    *,
    force: bool = False,
    report: Reporter | None = None,
    log: str | None = None,
    engine: Any = None,
    prepare_only: bool = False,
) -> Outcome | None:
    """Run ``plan`` (or load its records when it is already done); ``log`` names the file a failure points at.

    ``prepare_only``: data and training only (None is returned), so that the evaluations of many units can run
    afterwards on one shared ``engine`` (a vLLM engine per base model, see ``prom_bench.engines``).
    """
    from prom_bench import model_card, results
    from prom_bench.evaluation import task_settings

    languages.register_files(plan.languages_files)  # a worker or a cluster job starts from the built-in table
    report = report or Silent()
    if not force and (done := finished(plan)) is not None:
        try:
            records = results.load_records(done)
            return None if prepare_only else Outcome(records, skipped=True)
        except UserError as exc:  # a record of the unit is damaged: the unit is redone and rewrites it
            warn(f"{exc}; redoing unit {plan.name}")
    _set_state(plan, "running", phase="starting", log=log)
    settings = dict(plan.record_settings)
    try:
        if plan.train is not None:
            _build_data(plan, force, report)
            from prom_bench.model_identity import file_hash

            settings["data.sha256"] = file_hash(Path(plan.data.dir) / "train.jsonl")[:16]
            _set_state(plan, "running", phase="training", log=log)
            _train(plan, force, report)
            with lease_for(Path(plan.train.weights)):  # units may share one training (PROM with lambda = 0, t)
                model_card.write(
                    Path(plan.train.weights),
                    base=plan.model,
                    lang=plan.lang,
                    train={"parts": plan.data.parts, **plan.train.settings},
                    mixture_dir=Path(plan.data.dir),
                )
        if prepare_only:
            return None
        _set_state(plan, "running", phase="evaluating", log=log)
        task_results = _evaluate(plan, force, report, engine)
        records, paths = [], []
        for task_result in task_results:
            record = results.record_from(
                task_result,
                model=plan.model,
                method=plan.method,
                lang=plan.lang,
                settings=settings,
                task_settings=task_settings(task_result),
                model_id=plan.model_id,
                limit=plan.eval_limit,
                seed=plan.record_seed,
                config=plan.record_config,
            )
            paths.append(str(results.write_record(Path(plan.results), record)))
            records.append(record)
        if plan.train is not None:
            with lease_for(Path(plan.train.weights)):
                model_card.add_scores(Path(plan.train.weights), records)
    except BaseException as exc:
        _set_state(plan, "failed", error=_last_line(exc), log=log)
        raise
    write_json_atomic(
        plan.marker,
        {
            "unit_id": plan.unit_id,
            "records": paths,
            "weights": plan.train.weights if plan.train else None,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
        indent=2,
    )
    state_path(plan).unlink(missing_ok=True)
    return Outcome(records, skipped=False)


def lease_for(path: Path) -> Lease:
    """The lease on a piece of work at ``path`` (``<parent>/.locks/<name>.lease``)."""
    return Lease(Path(path).parent / ".locks" / f"{Path(path).name}.lease")


# --- the three steps --------------------------------------------------------------------------------------


def _build_data(plan: UnitPlan, force: bool, report: Reporter) -> None:
    from prom_bench.data import DataSources, build_mixture, write_mixture

    out = Path(plan.data.dir)
    with lease_for(out):
        if force or not (out / "train.jsonl").is_file():
            report.step("building data")
            write_mixture(build_mixture(plan.lang, plan.data.method, DataSources(**plan.data.sources)), out)


def _train(plan: UnitPlan, force: bool, report: Reporter) -> None:
    out = Path(plan.train.dir)
    done = out / "train_result.json"
    with lease_for(out):  # PROM with lambda = 0 and t share this training; the second waits, then reuses it
        if not force and read_json_checked(done, _train_result_problem, what="training result") is not None:
            return
        report.step("training")
        mixture = Path(plan.data.dir) / "train.jsonl"
        if plan.train.processes > 1:
            _train_launched(plan, mixture, out, report)
            result = json.loads(done.read_text())
            summary = {"weights": plan.train.weights, "steps": result["steps"]}
            summary["train_seconds"] = result["train_seconds"]
        else:
            from trainer import TrainConfig
            from trainer import train as run_training
            from trainer.config import SettingsError, TrainingDiverged

            examples = [json.loads(line) for line in mixture.read_text(encoding="utf-8").splitlines() if line]
            try:  # the trainer's one-line settings errors are the user's (e.g. a pivot_layer this model lacks)
                result = run_training(
                    TrainConfig(**plan.train.settings), plan.model_path, examples, out, progress=report.train
                )
            except (SettingsError, TrainingDiverged) as exc:  # the user's to fix: a bad setting, a diverged run
                raise UserError(f"training {out.name} failed: {exc}") from None
            summary = {"weights": plan.train.weights, "steps": result.steps, "train_seconds": result.train_seconds}
        write_json_atomic(done, summary, indent=2, default=str)


def _train_launched(plan: UnitPlan, mixture: Path, out: Path, report: Reporter) -> None:
    """Several processes through the trainer's launcher; progress is read back from the training's own log."""
    from prom_bench.launching import launch
    from trainer.loop import LOG_FILE

    machines = slurm_machines()
    log = out / LOG_FILE
    seen = [0]  # bytes of the log already reported

    def poll() -> None:
        """Report the log's new complete lines. A resumed training rewrites the log (keeping the steps up to
        its checkpoint): a shorter file is read again from the start, and a line that does not parse (read
        across that rewrite) is skipped, since progress must never stop a training."""
        if not log.is_file():
            return
        if log.stat().st_size < seen[0]:
            seen[0] = 0
        with open(log, "rb") as handle:
            handle.seek(seen[0])
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break
                seen[0] += len(raw)
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    report.train(event)

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "launch.log", "a", encoding="utf-8") as launch_log:  # the processes' own stderr, for failures
        launch(
            plan.train.settings,
            plan.model_path,
            mixture,
            out,
            plan.train.processes,
            plan.train.accelerate_config,
            machines,
            echo=launch_log.write,
            poll=poll,
        )


def slurm_machines():
    """The nodes of this SLURM job, this one's rank and the first node as rendezvous (one node: none)."""
    from prom_bench.launching import Machines

    count = int(os.environ.get("SLURM_NNODES", "1"))
    if count <= 1:
        return Machines()
    import subprocess

    hosts = subprocess.run(
        ["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]], capture_output=True, text=True, check=True
    ).stdout.split()
    port = 20000 + int(os.environ.get("SLURM_JOB_ID", "0")) % 20000  # jobs sharing a node do not collide
    return Machines(count=count, rank=int(os.environ.get("SLURM_NODEID", "0")), main_address=hosts[0], main_port=port)


def _evaluate(plan: UnitPlan, force: bool, report: Reporter, engine: Any = None) -> list[Any]:
    from prom_bench.evaluation import TaskResult, evaluate

    cached = Path(plan.eval.path)
    with lease_for(cached):
        tasks = plan.eval.tasks
        saved = None if force else read_json_checked(cached, lambda d: _eval_cache_problem(d, tasks), what="eval cache")
        if saved is not None:
            return [TaskResult(**t) for t in saved]
        report.step(f"evaluating {', '.join(plan.eval.tasks)}")
        model_path, adapter_path = weights_to_evaluate(plan)
        task_results = evaluate(
            model_path,
            plan.eval.tasks,
            adapter=adapter_path,
            data_dir=Path(plan.eval.data_dir) if plan.eval.data_dir else None,
            limit=plan.eval.limit,
            batch_size=plan.eval.batch_size,
            max_gen_toks=plan.eval.max_gen_toks,
            budget=plan.eval.budget,
            chat_template=plan.eval.chat_template,
            include_paths=plan.eval.include_paths or None,
            progress=report.eval,
            engine=engine,
        )
        write_json_atomic(cached, [dataclasses.asdict(t) for t in task_results], indent=2, default=str)
    return task_results


def weights_to_evaluate(plan: UnitPlan) -> tuple[str, str | None]:
    """``(model path, adapter or None)``: a trained LoRA adapter on the base model, or a fully fine-tuned
    model by its own path."""
    trained = plan.eval.adapter
    if trained is None:
        return plan.model_path, None
    if not (Path(trained) / "adapter_config.json").is_file() and (Path(trained) / "config.json").is_file():
        return str(trained), None
    return plan.model_path, str(trained)


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


# --- state ------------------------------------------------------------------------------------------------


def _set_state(plan: UnitPlan, state: str, **fields: Any) -> None:
    write_json_atomic(
        state_path(plan),
        {
            "state": state,
            "unit_id": plan.unit_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "job": slurm_job_id(),
            "train_dir": plan.train.dir if plan.train else None,
            "time": time.time(),
            **fields,
        },
        indent=2,
    )


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1]}" if text else type(exc).__name__
