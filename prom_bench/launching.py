"""Multi-process training through the trainer's launcher (``-m trainer.launch`` on every process).

On GPUs: ``accelerate launch`` with a shipped config (single_device, ddp, fsdp, zero2, zero3) or a YAML path;
across nodes with ``--num_machines``, ``--machine_rank`` (this node's rank) and the main node's address. On
a machine without GPUs: ``torchrun`` starts N CPU processes, which accelerate joins over gloo (``accelerate
launch --cpu`` would start one). ``prom-bench train --num-processes`` and the study's units with
``cluster.gpus_per_unit > 1`` both come through here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prom_bench.errors import UserError, unknown

ACCELERATE_CONFIGS = ("single_device", "ddp", "fsdp", "zero2", "zero3")


@dataclass(frozen=True)
class Machines:
    """Where the processes of one training live: ``count`` nodes, this one being ``rank``."""

    count: int = 1
    rank: int = 0
    main_address: str | None = None
    main_port: int = 29500


def accelerate_config_path(name: str) -> Path:
    import trainer

    if name in ACCELERATE_CONFIGS:
        return Path(trainer.__file__).parent / "accelerate_configs" / f"{name}.yaml"
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    if path.suffix in (".yaml", ".yml"):
        raise UserError(f"accelerate config file '{name}' does not exist")
    raise unknown("accelerate config", name, ACCELERATE_CONFIGS)


def command(
    config_path: Path,
    model_path: str,
    data: Path,
    out: Path,
    num_processes: int | None,
    accelerate_config: str | None,
    machines: Machines = Machines(),
    *,
    gpus: bool | None = None,
) -> tuple[list[str], dict | None]:
    """The launch command and its environment (None: inherit). ``num_processes`` is the total over machines."""
    if gpus is None:
        import torch

        gpus = torch.cuda.is_available()
    env = None
    if accelerate_config is None and not gpus:
        per_node = max(1, (num_processes or 1) // machines.count)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(per_node)]
        if machines.count > 1:
            cmd += [
                "--nnodes",
                str(machines.count),
                "--node_rank",
                str(machines.rank),
                "--master_addr",
                str(machines.main_address),
                "--master_port",
                str(machines.main_port),
            ]
        else:
            cmd += ["--standalone"]
        env = {**os.environ, "ACCELERATE_USE_CPU": "true"}
    else:
        name = accelerate_config or ("ddp" if (num_processes or 1) > 1 else "single_device")
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config_path(name))]
        if num_processes is not None:
            cmd += ["--num_processes", str(num_processes)]
        if machines.count > 1:
            # static rendezvous: every node passes its own rank (a YAML's machine_rank: 0 would be wrong on all
            # nodes but the first)
            cmd += [
                "--num_machines",
                str(machines.count),
                "--machine_rank",
                str(machines.rank),
                "--main_process_ip",
                str(machines.main_address),
                "--main_process_port",
                str(machines.main_port),
            ]
    cmd += ["-m", "trainer.launch", "--config", str(config_path), "--model", model_path]
    cmd += ["--data", str(data), "--output-dir", str(out)]
    return cmd, env


def launch(
    train_settings: dict,
    model_path: str,
    data: Path,
    out: Path,
    num_processes: int | None,
    accelerate_config: str | None,
    machines: Machines = Machines(),
    *,
    echo: Callable[[str], None] | None = None,
    poll: Callable[[], None] | None = None,
) -> None:
    """Run the launch and wait; the trainer's one-line errors come back as ``UserError``.

    ``echo`` receives the launched processes' stderr lines (default: this process's stderr); ``poll`` is
    called about once a second while they run (the pipeline reads the training's log there).
    """
    if num_processes is not None and num_processes < 1:
        raise UserError(f"--num-processes {num_processes} must be at least 1")
    if accelerate_config is not None:
        accelerate_config_path(accelerate_config)  # a bad name or a missing file fails before anything is written
    echo = echo or sys.stderr.write
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=out, delete=False) as handle:
        json.dump(train_settings, handle)
        config_path = Path(handle.name)
    cmd, env = command(config_path, model_path, data, out, num_processes, accelerate_config, machines)
    error_line, proc = None, None
    try:
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        reader = _LineReader(proc.stderr)
        while True:
            for line in reader.lines(timeout=1.0):
                if line.startswith("error: ") and error_line is None:
                    error_line = line[len("error: ") :].strip()
                if error_line is None:  # after the one-line error, accelerate's own traceback is noise
                    echo(line)
            if poll is not None:
                poll()
            if reader.closed and proc.poll() is not None:
                break
        proc.wait()
    finally:
        if proc is not None and proc.poll() is None:  # interrupted: leave no training processes behind
            proc.terminate()
            proc.wait()
        config_path.unlink(missing_ok=True)
    if poll is not None:
        poll()
    if error_line is not None:
        raise UserError(error_line)
    if proc.returncode != 0:
        raise UserError(f"training launch exited with status {proc.returncode} (see its output above)")


class _LineReader:
    """Lines of a pipe, read by a thread so that the caller can wait with a timeout."""

    def __init__(self, stream) -> None:
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue()
        self.closed = False
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def lines(self, timeout: float):
        import queue

        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if item is None:
                self.closed = True
                return
            yield item
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
