"""``slurm``: one SLURM job per unit through submitit; units that share a training share one job.

**Jobs.** A job runs a unit's three steps (data, training, evaluation) one after the other: they use the same
resources, and separate jobs per step would pay the queue's latency (and a requeue cycle) two more times and
pass artifacts between jobs for nothing. Units whose training is the same (PROM with lambda = 0 and ``t``)
are one job, so no GPU waits idle for a training another job is doing. Jobs of the same shape (training or
evaluation only) are submitted as one job array.

**Resources** come from ``cluster.*``: ``gpus_per_unit`` GPUs per node (on a partition without GPUs, that
many CPU training processes over gloo), ``nodes_per_unit`` nodes (one task per node; each node's task
starts ``accelerate launch`` with its own ``--machine_rank``), ``cpus_per_gpu`` cores per training process,
``mem_gb``, ``time_limit``, ``partition``, ``account``, ``qos`` and further ``sbatch`` parameters.

**Time limits and preemption.** submitit signals the job ``signal_delay_s`` before its limit (and on
preemption where the cluster sends the signal); the job's ``checkpoint()`` asks for the same work again,
and submitit requeues it (at most ``max_requeues`` times). The requeued job finds the training's newest
checkpoint (``train.save_steps``) and continues from it; finished steps are skipped by their markers.

**Submitting once.** Before a job is submitted its units are *claimed*: ``<root>/jobs/<work>.json`` is
created with ``os.link`` (atomic on NFS, unlike ``flock``), so two ``run`` commands on the same folder, even
on two machines, submit each job once. A claim whose job has left the queue without finishing its units is
stale and is replaced (that is what a rerun resubmits); one still being written (no job id yet) is left
alone for two minutes. State is read from the run folder and ``squeue``; ``sacct`` is never needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from rich.console import Console

from prom_bench.config import RunConfig
from prom_bench.errors import UserError, unknown
from prom_bench.executors.follow import UnitsFailed, follow, groups_of
from prom_bench.executors.settings import extra_sbatch, time_limit_minutes
from prom_bench.fileio import write_json_atomic
from prom_bench.lease import owner_info
from prom_bench.plan import UnitPlan
from prom_bench.status import claim_path, read_json
from prom_bench.unit import finished

SUBMITTING_GRACE_S = 120.0  # a claim without a job id younger than this: another run is submitting it
LIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD"}
LIVE_STATES |= {"RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESV_DEL_HOLD", "SPECIAL_EXIT", "STOPPED"}


class SlurmExecutor:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.cluster = config.cluster
        self.skipped = 0

    # --- checks before anything is submitted --------------------------------------------------------------
    def check(self) -> None:
        node = node_resources(self.cluster.partition)
        c = self.cluster
        if node["gpus"]:
            if c.gpus_per_unit > node["gpus"]:
                raise UserError(
                    f"cluster.gpus_per_unit = {c.gpus_per_unit} is larger than a node of partition "
                    f"'{node['partition']}' ({node['gpus']} GPUs per node)"
                )
        elif c.gpus_per_unit * c.cpus_per_gpu > node["cpus"]:
            raise UserError(
                f"cluster.gpus_per_unit = {c.gpus_per_unit} is larger than a node of partition '{node['partition']}' "
                f"(no GPUs there: {c.gpus_per_unit} CPU training processes x {c.cpus_per_gpu} cpus_per_gpu > "
                f"{node['cpus']} CPUs)"
            )
        if c.mem_gb is not None and node["mem_mb"] and c.mem_gb * 1024 > node["mem_mb"]:
            raise UserError(
                f"cluster.mem_gb = {c.mem_gb} is more than a node of partition '{node['partition']}' has "
                f"({node['mem_mb'] / 1024:.0f} GB)"
            )
        if node["max_minutes"] is not None and time_limit_minutes(c.time_limit) > node["max_minutes"]:
            raise UserError(
                f"cluster.time_limit '{c.time_limit}' is longer than partition '{node['partition']}' allows "
                f"({node['max_minutes']} minutes)"
            )
        self.node = node

    # --- submit, then maybe follow ----------------------------------------------------------------------
    def run(self, plans: list[UnitPlan], *, force: bool, console: Console, wait: bool) -> list[dict] | None:
        groups = groups_of(plans, force=force)
        self.skipped = sum(finished(p) is not None for p in plans) if not force else 0
        queue = squeue_states()
        mine = [g for g in groups if claim(g, queue, force=force)]
        submitted = self._submit(mine, force) if mine else []
        for job_id, group in submitted:
            console.print(f"submitted job {job_id}: {', '.join(p.name for p in group)}", highlight=False)
        others = len(groups) - len(mine)
        if others:
            console.print(f"{others} job(s) already queued or running for this study (not submitted again)")
        if not groups:
            console.print("every unit is already done")
        if not wait:
            console.print(f"follow with: prom-bench status {self.config.out}", highlight=False)
            return None
        return follow(plans, console, every_s=self.config.progress_every_s, poll_s=self.cluster.poll_s, alive=job_alive)

    def _submit(self, groups: list[list[UnitPlan]], force: bool) -> list[tuple[str, list[UnitPlan]]]:
        import submitit

        from prom_bench.pipeline import plan_path

        root = Path(groups[0][0].root)
        folder = root / "slurm"
        out: list[tuple[str, list[UnitPlan]]] = []
        # one array per resource shape: units that train need the unit's GPUs; evaluation alone needs one
        for trains in (True, False):
            shape = [g for g in groups if (g[0].train is not None) == trains]
            if not shape:
                continue
            executor = submitit.SlurmExecutor(folder=str(folder), max_num_timeout=self.cluster.max_requeues)
            executor.update_parameters(**self.parameters(trains))
            jobs = []
            try:
                with executor.batch():
                    for group in shape:
                        work = UnitJob([str(plan_path(p)) for p in group], force, self.config.progress_every_s)
                        jobs.append(executor.submit(work))
            except Exception as exc:
                for group in shape:
                    release(group)
                raise UserError(f"sbatch refused the jobs: {_one_line(exc)}") from None
            for job, group in zip(jobs, shape):
                write_claim(group, job.job_id, str(job.paths.stderr))
                out.append((job.job_id, group))
        return out

    def parameters(self, trains: bool) -> dict:
        """submitit's sbatch parameters for a job that trains (the unit's resources) or only evaluates."""
        c = self.cluster
        gpus_here = bool(getattr(self, "node", {}).get("gpus"))
        gpus = c.gpus_per_unit if trains else 1
        params: dict = {
            "job_name": "prom-bench",
            "time": time_limit_minutes(c.time_limit),
            "nodes": c.nodes_per_unit if trains else 1,
            "ntasks_per_node": 1,  # one task per node; it starts the node's training processes itself
            "cpus_per_task": gpus * c.cpus_per_gpu,
            "signal_delay_s": 60 if time_limit_minutes(c.time_limit) > 5 else 15,
            "array_parallelism": c.array_parallelism,
        }
        if gpus_here:
            params["gpus_per_node"] = gpus
        if c.mem_gb is not None:
            params["mem"] = f"{int(c.mem_gb)}GB"
        for key in ("partition", "account", "qos"):
            if getattr(c, key):
                params[key] = getattr(c, key)
        extra = extra_sbatch(c.sbatch)
        if extra:
            params["additional_parameters"] = extra
        return params


class UnitJob:
    """What a job runs: the unit plans of one job, in order. Checkpointable: requeued on timeout/preemption."""

    def __init__(self, plan_paths: list[str], force: bool = False, every_s: float = 10.0) -> None:
        self.plan_paths, self.force, self.every_s = plan_paths, force, every_s

    def __call__(self) -> int:
        from prom_bench.executors.job import follower, run_plans

        log = _own_log()
        if int(os.environ.get("SLURM_NNODES", "1")) > 1 and int(os.environ.get("SLURM_NODEID", "0")) > 0:
            return follower(self.plan_paths)  # another node of a multi-node training: its share of the processes
        code = run_plans(self.plan_paths, force=self.force, every_s=self.every_s, log=log)
        if code:
            raise RuntimeError(f"a unit of this job failed (see {log})")
        return code

    def checkpoint(self, *args, **kwargs):
        """Called by submitit when the limit nears: the same work again; training resumes from its checkpoint."""
        import submitit

        return submitit.helpers.DelayedSubmission(UnitJob(self.plan_paths, False, self.every_s))


# --- claims: each job submitted once ------------------------------------------------------------------------


def claim(group: list[UnitPlan], queue: dict[str, str] | None, *, force: bool = False) -> bool:
    """True when this process now owns the submission of ``group``'s job (see the module's docstring)."""
    path = claim_path(group[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    unit_ids = sorted(p.unit_id for p in group)
    for _ in range(5):
        content = {"job": None, "log": None, "unit_ids": unit_ids, "submitter": owner_info(), "time": time.time()}
        if _create(path, content):
            return True
        existing = read_json(path)
        if existing is None:
            time.sleep(0.2)
            continue
        if sorted(existing.get("unit_ids", [])) == unit_ids and not force:
            job = existing.get("job")
            if job is None and time.time() - float(existing.get("time", 0)) < SUBMITTING_GRACE_S:
                return False  # another run is submitting it right now
            if job is not None and (queue is None or queue.get(job) in LIVE_STATES):
                return False  # queued or running (or the queue cannot be asked: do not risk a duplicate)
            if job is not None and all(finished(p) is not None for p in group):
                return False
        elif force and existing.get("job") and queue is not None and queue.get(existing["job"]) in LIVE_STATES:
            return False
        _remove_if_unchanged(path, existing)
    return False


def write_claim(group: list[UnitPlan], job_id: str, log: str) -> None:
    path = claim_path(group[0])
    content = read_json(path) or {}
    content.update(job=job_id, log=log, time=time.time())
    write_json_atomic(path, content, indent=2)  # rename over the claim: atomic on NFS too


def release(group: list[UnitPlan]) -> None:
    claim_path(group[0]).unlink(missing_ok=True)


def _create(path: Path, content: dict) -> bool:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(content, indent=2))
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        return tmp.stat().st_nlink == 2
    finally:
        tmp.unlink(missing_ok=True)


def _remove_if_unchanged(path: Path, seen: dict) -> None:
    """Move a stale claim aside; if it changed since we judged it (someone else replaced it), put it back."""
    grave = path.with_name(f".{path.name}.stale.{uuid.uuid4().hex}")
    try:
        os.rename(path, grave)
    except FileNotFoundError:
        return
    if read_json(grave) != seen:
        with contextlib.suppress(FileExistsError):
            os.link(grave, path)
    grave.unlink(missing_ok=True)


# --- the cluster ------------------------------------------------------------------------------------------


def _slurm(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def node_resources(partition: str | None) -> dict:
    """CPUs, GPUs, memory and time limit of the partition's largest node; one line when SLURM is unreachable."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        raise UserError("no SLURM reachable: sinfo/sbatch are not on PATH; use --executor inline or local here")
    try:
        result = _slurm(["sinfo", "-h", "-o", "%P|%c|%G|%m|%l|%a"])
    except subprocess.TimeoutExpired:
        raise UserError("no SLURM reachable: sinfo did not answer within 30 s") from None
    if result.returncode != 0:
        raise UserError(f"no SLURM reachable: sinfo failed ({_one_line(result.stderr) or result.returncode})")
    rows = [line.split("|") for line in result.stdout.splitlines() if line.count("|") == 5]
    if not rows:
        raise UserError("no SLURM reachable: sinfo lists no partition")
    names = {r[0].rstrip("*") for r in rows}
    if partition is None:
        defaults = [r for r in rows if r[0].endswith("*")] or rows
        partition = defaults[0][0].rstrip("*")
    elif partition not in names:
        raise unknown("SLURM partition", partition, sorted(names))
    mine = [r for r in rows if r[0].rstrip("*") == partition]
    return {
        "partition": partition,
        "cpus": max(_int(r[1]) for r in mine),
        "gpus": max(_gpus(r[2]) for r in mine),
        "mem_mb": max(_int(r[3]) for r in mine),
        "max_minutes": _minutes(mine[0][4]),
    }


def squeue_states() -> dict[str, str] | None:
    """``{job id: state}`` of every queued or running job (array tasks as ``<array>_<index>``); None if unreachable."""
    try:
        result = _slurm(["squeue", "-h", "-r", "-o", "%i|%T"])
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return dict(line.split("|", 1) for line in result.stdout.splitlines() if "|" in line)


_QUEUE_CACHE: dict = {"at": 0.0, "states": None}


def job_alive(job_id: str) -> bool | None:
    """Whether a job is still queued or running (None when the queue cannot be asked); one squeue per 2 s."""
    if time.monotonic() - _QUEUE_CACHE["at"] > 2.0:
        _QUEUE_CACHE.update(at=time.monotonic(), states=squeue_states())
    states = _QUEUE_CACHE["states"]
    return None if states is None else states.get(job_id) in LIVE_STATES


def cancel(job_ids: list[str]) -> None:
    if job_ids:
        result = _slurm(["scancel", *job_ids])
        if result.returncode != 0:
            raise UserError(f"scancel failed: {_one_line(result.stderr)}")


def _gpus(gres: str) -> int:
    total = 0
    for item in gres.split(","):
        match = re.match(r"gpu(?::[^:(]+)?:(\d+)", item.strip())
        if match:
            total += int(match.group(1))
    return total


def _int(text: str) -> int:
    match = re.match(r"(\d+)", text.strip())
    return int(match.group(1)) if match else 0


def _minutes(limit: str) -> int | None:
    limit = limit.strip()
    if limit in ("infinite", "UNLIMITED", "n/a", ""):
        return None
    try:
        return time_limit_minutes(limit)
    except UserError:
        return None


def _own_log() -> str | None:
    try:
        import submitit

        return str(submitit.JobEnvironment().paths.stderr)
    except Exception:
        return None


def _one_line(error: object) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else ""


__all__ = ["SlurmExecutor", "UnitJob", "UnitsFailed", "cancel", "claim", "job_alive", "squeue_states"]
