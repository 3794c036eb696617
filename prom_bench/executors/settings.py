"""``cluster.*`` settings: the resources of a unit and where its jobs go (the local and slurm executors)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from prom_bench.errors import UserError

EXECUTORS = ("inline", "local", "slurm")


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class ClusterConfig:
    gpus_per_unit: int = _setting(
        1,
        "GPUs one training unit uses (processes of accelerate launch); on a machine without GPUs, that many CPU "
        "processes over gloo",
    )
    nodes_per_unit: int = _setting(1, "nodes one training unit spans (slurm; srun + accelerate launch per node)")
    accelerate_config: str | None = _setting(
        None, "accelerate config for units with several GPUs: ddp (default), fsdp, zero2, zero3 or a YAML path"
    )
    cpus_per_gpu: int = _setting(1, "CPU cores per GPU (per training process); 8-16 on a typical GPU node")
    mem_gb: float | None = _setting(None, "memory per node of a job in GB (None = the partition's default)")
    time_limit: str = _setting("4:00:00", "wall-time limit of one job: MM, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS")
    partition: str | None = _setting(None, "SLURM partition (None = the cluster's default)")
    account: str | None = _setting(None, "SLURM account to charge")
    qos: str | None = _setting(None, "SLURM quality of service")
    sbatch: list[str] = field(
        default_factory=list,
        metadata={
            "help": "further sbatch parameters as KEY=VALUE (e.g. constraint=a100,exclusive=), given to sbatch as "
            "--KEY=VALUE"
        },
    )
    max_requeues: int = _setting(3, "how often a job that reached its time limit or was preempted is requeued")
    array_parallelism: int = _setting(64, "at most this many jobs of one array run at once")
    local_gpus: int | None = _setting(
        None,
        "GPUs the local executor packs units onto (None = every visible CUDA device; without GPUs, "
        "gpus_per_unit CPU slots, i.e. one unit at a time)",
    )
    tokens_per_gpu_s: float = _setting(
        236.0,
        "training throughput per GPU for the dry run's GPU-hour estimate, tokens/s (default: Stanford Alpaca's "
        "LLaMA-7B fine-tune, 52K examples x 3 epochs in 3 h on 8 A100-80GB; see prom_bench/dry_run.py)",
    )
    poll_s: float = _setting(10.0, "seconds between looks at the run folder while --wait follows a study")
    lease_heartbeat_s: float = _setting(10.0, "seconds between heartbeats of a held lease (NFS-safe locks)")
    lease_stale_s: float = _setting(90.0, "a lease unchanged this long is taken over (its owner died)")

    def __post_init__(self) -> None:
        for name in ("gpus_per_unit", "nodes_per_unit", "cpus_per_gpu", "max_requeues", "array_parallelism"):
            if getattr(self, name) < (0 if name == "max_requeues" else 1):
                raise UserError(f"cluster.{name} = {getattr(self, name)} must be at least 1")
        time_limit_minutes(self.time_limit)
        extra_sbatch(self.sbatch)

    @property
    def processes(self) -> int:
        return self.gpus_per_unit * self.nodes_per_unit


_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def time_limit_minutes(text: str) -> int:
    """SLURM's time formats in minutes (rounded up): ``90``, ``1:30:00``, ``2-00``, ``2-12:00`` ..."""
    match = _TIME.match(str(text).strip())
    if not match:
        raise UserError(
            f"cluster.time_limit '{text}' cannot be parsed; give MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
        )
    days, a, b, c = match.groups()
    a, b, c = int(a), int(b) if b else None, int(c) if c else None
    if days is not None:  # D-HH[:MM[:SS]]
        seconds = int(days) * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    elif c is not None:  # HH:MM:SS
        seconds = a * 3600 + b * 60 + c
    elif b is not None:  # MM:SS
        seconds = a * 60 + b
    else:  # MM
        seconds = a * 60
    if seconds <= 0:
        raise UserError(f"cluster.time_limit '{text}' is zero; give a positive limit such as 4:00:00")
    return -(-seconds // 60)


def extra_sbatch(items: list[str]) -> dict[str, str]:
    """``["constraint=a100", "exclusive="]`` -> ``{"constraint": "a100", "exclusive": ""}`` (submitit's form)."""
    out = {}
    for item in items:
        key, sep, value = str(item).lstrip("-").partition("=")
        if not key or not re.fullmatch(r"[a-z][a-z0-9-_]*", key):
            raise UserError(f"cluster.sbatch item '{item}' is not KEY=VALUE with an sbatch option name as KEY")
        out[key.replace("-", "_")] = value if sep else ""
    return out
