"""Where every unit of a study stands, read from its run folder (the truth: no scheduler database needed).

* **done**: the unit's marker holds this plan's unit id and its records exist.
* **running**: its state file says so and its owner is alive (a live process on this host, a SLURM job
  still in the queue, or a heart-beating lease); step, loss terms and ETA come from the training's own log
  (``train_log.jsonl``).
* **failed**: its state file says failed (with the error's last line and the log), or its job left the
  queue without finishing the unit.
* **pending**: submitted (a job id is claimed for it) and not started, or in an inline run not reached yet.
* **not submitted**: a study planned for a scheduler with no job for this unit.

``sacct`` is not used: clusters without accounting storage (and this project's CI cluster) have none, and
the run folder already knows every unit's state.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prom_bench import lease
from prom_bench.plan import UnitPlan
from prom_bench.unit import finished, state_path

DONE, RUNNING, FAILED, PENDING, NOT_SUBMITTED = "done", "running", "failed", "pending", "not submitted"


@dataclass
class UnitStatus:
    name: str
    state: str
    phase: str = ""
    step: int | None = None
    total: int | None = None
    terms: str = ""
    eta_s: float | None = None
    job: str | None = None
    log: str | None = None
    error: str | None = None

    def line(self) -> str:
        """One plain line: ``t/th  running  training 3/6  loss=2.301  812 tok/s  ETA 0:00:12  job 42``."""
        parts = [self.name, self.state]
        if self.phase:
            parts.append(self.phase + (f" {self.step}/{self.total}" if self.step is not None else ""))
        if self.terms:
            parts.append(self.terms)
        if self.eta_s is not None:
            seconds = int(self.eta_s)
            parts.append(f"ETA {seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}")
        if self.job:
            parts.append(f"job {self.job}")
        if self.error:
            parts.append(self.error)
        if self.log and self.state == FAILED:
            parts.append(f"log {self.log}")
        return "  ".join(parts)


def claim_path(plan: UnitPlan) -> Path:
    """The submission claim of a unit's job (shared by the units of one job)."""
    return Path(plan.root) / "jobs" / f"{plan.work_key}.json"


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def unit_status(plan: UnitPlan, job_alive: Callable[[str], bool | None] | None = None) -> UnitStatus:
    """``job_alive(job_id)``: True/False from the scheduler's queue, None when it cannot be asked."""
    if finished(plan) is not None:
        return UnitStatus(plan.name, DONE)
    state = read_json(state_path(plan)) or {}
    claim = read_json(claim_path(plan)) or {}
    job = state.get("job") or claim.get("job")
    log = state.get("log") or claim.get("log")
    alive = job_alive(job) if (job and job_alive) else None
    if state.get("state") == FAILED and state.get("unit_id") == plan.unit_id:
        if claim.get("job") and claim.get("job") != state.get("job"):
            job = claim["job"]  # resubmitted since: the new job's state is what counts
            alive = job_alive(job) if job_alive else None
        elif alive:  # its job is still queued: requeued after a time limit or a preemption, it starts again
            return UnitStatus(plan.name, PENDING, phase="requeued", job=job, log=log)
        else:
            return UnitStatus(plan.name, FAILED, job=job, log=log, error=state.get("error"))
    if state.get("state") == "running" and state.get("unit_id") == plan.unit_id and _owner_alive(state, alive, plan):
        status = UnitStatus(plan.name, RUNNING, phase=state.get("phase", ""), job=job, log=log)
        if status.phase == "training" and state.get("train_dir"):
            _training_progress(Path(state["train_dir"]), status)
        return status
    if claim.get("unit_ids") and plan.unit_id in claim["unit_ids"]:
        job, log = claim.get("job"), claim.get("log") or log
        alive = job_alive(job) if (job and job_alive) else None
        if alive or (alive is None and job is None):
            return UnitStatus(plan.name, PENDING, job=job, log=log)
        if alive is None:
            return UnitStatus(plan.name, PENDING, job=job, log=log, error="(queue not reachable)")
        return UnitStatus(plan.name, FAILED, job=job, log=log, error=_last_line(log) or "job ended without finishing")
    if state.get("state") == "running":
        return UnitStatus(plan.name, FAILED, job=job, log=log, error="its process ended without finishing")
    return UnitStatus(plan.name, PENDING if not claim else NOT_SUBMITTED)


def _owner_alive(state: dict, alive: bool | None, plan: UnitPlan) -> bool:
    if alive is not None:
        return alive
    if state.get("host") == socket.gethostname() and state.get("pid"):
        try:
            os.kill(int(state["pid"]), 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    # another machine, no queue to ask: a lease on the unit's work that still beats
    for work in (plan.train.dir if plan.train else None, plan.eval.path):
        if work and lease.held(Path(work).parent / ".locks" / f"{Path(work).name}.lease"):
            return True
    return time.time() - float(state.get("time", 0)) < 300


def _training_progress(train_dir: Path, status: UnitStatus) -> None:
    """Step, loss terms and ETA from the last lines of ``train_log.jsonl`` (mean step time of the last few)."""
    from prom_bench.display import train_terms
    from trainer.loop import LOG_FILE

    log = train_dir / LOG_FILE
    lines = []
    try:
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line being written
    except FileNotFoundError:
        return
    if not lines:
        return
    last = lines[-1]
    status.step, status.total, status.terms = last.get("step"), last.get("total"), train_terms(last)
    recent = [r["seconds"] for r in lines[-5:] if isinstance(r.get("seconds"), (int, float))]
    if recent and status.total and status.step is not None:
        status.eta_s = (status.total - status.step) * sum(recent) / len(recent)


def _last_line(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = [line for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return None
    return lines[-1].strip() if lines else None


def study_plans(run_dir: Path) -> list[UnitPlan]:
    """Every unit plan of the studies under ``run_dir`` (an ``out`` folder or one model's folder in it)."""
    from prom_bench.pipeline import STUDY_FILE

    run_dir = Path(run_dir)
    studies = [run_dir / STUDY_FILE] if (run_dir / STUDY_FILE).is_file() else sorted(run_dir.glob(f"*/{STUDY_FILE}"))
    plans = []
    for study in studies:
        for unit in (read_json(study) or {}).get("units", []):
            text = Path(unit["plan"]).read_text() if Path(unit["plan"]).is_file() else None
            if text:
                plans.append(UnitPlan.from_json(text))
    return plans
