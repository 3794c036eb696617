"""Checkpoints: exact resume, safetensors, the resolved config beside every one.

``checkpoints/step-N/`` is written by ``accelerate``'s ``save_state`` (model weights as safetensors, optimizer,
scheduler, the RNG states of every process) plus ``train_config.json`` and ``trainer_state.json`` (the step;
the data order is a function of seed and step). Only *trainable* weights are stored: frozen ones (the LoRA
base model, a frozen pivot head) are rebuilt from the base model, which keeps a LoRA checkpoint small.
The folder is written under a temporary name and renamed when complete, so a crash never leaves a
half-written ``step-N`` that resume would pick up.

Under FSDP and DeepSpeed, accelerate saves sharded model and optimizer state its own way; the trainable-only
filter applies to the single-process and DDP layouts.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file

from trainer.config import SettingsError
from trainer.integrity import safetensors_problem

MODEL_FILE = "model.safetensors"  # accelerate's name for the first prepared model
STATE_FILE = "trainer_state.json"
CONFIG_FILE = "train_config.json"
# Settings that may differ between a checkpoint and the run resuming it without changing the maths.
RESUME_FREE = {"save_steps", "resume", "logging"}


def install_hooks(accelerator) -> None:
    """Make ``save_state`` keep trainable weights only and ``load_state`` check and restore exactly those."""

    def keep_trainable(models, weights, output_dir):
        for model, state in zip(models, weights):
            names = {name for name, p in model.named_parameters() if p.requires_grad}
            for key in [k for k in state if k not in names]:
                del state[key]

    def load_trainable(models, input_dir):
        if not models:
            return
        model = models[0]
        state = load_file(str(Path(input_dir) / MODEL_FILE))
        names = {name for name, p in model.named_parameters() if p.requires_grad}
        if set(state) != names:
            raise SettingsError(
                f"checkpoint {input_dir} holds different trainable weights than this run "
                f"({len(set(state) ^ names)} names differ); use a fresh output folder"
            )
        model.load_state_dict(state, strict=False)
        models.pop(0)  # loaded here; accelerate loads the rest (optimizer, scheduler, RNG)

    accelerator.register_save_state_pre_hook(keep_trainable)
    accelerator.register_load_state_pre_hook(load_trainable)


def save(accelerator, checkpoints_dir: Path, step: int, resolved_config: dict) -> Path:
    """Write ``checkpoints_dir/step-{step}`` atomically; every rank must call it."""
    final = checkpoints_dir / f"step-{step}"
    staging = checkpoints_dir / f".step-{step}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(staging, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(staging), safe_serialization=True)
    if accelerator.is_main_process:
        (staging / CONFIG_FILE).write_text(json.dumps(resolved_config, indent=2))
        (staging / STATE_FILE).write_text(json.dumps({"step": step}))
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    accelerator.wait_for_everyone()
    return final


def latest(checkpoints_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step, if any; a damaged one is reported and passed over."""
    done = [p for p in checkpoints_dir.glob("step-*") if (p / STATE_FILE).is_file()]
    for found in sorted(done, key=lambda p: int(p.name.split("-")[1]), reverse=True):
        problem = _damage(found)
        if problem is None:
            return found
        print(f"warning: checkpoint {found} is damaged ({problem}); resuming from an earlier one", file=sys.stderr)
    return None


def _damage(checkpoint: Path) -> str | None:
    """What makes a checkpoint unusable (a truncated tensor file or state), or None."""
    for name in (STATE_FILE, CONFIG_FILE):
        try:
            json.loads((checkpoint / name).read_text())
        except (OSError, ValueError) as exc:
            return f"{name} unreadable ({type(exc).__name__})"
    for tensors in sorted(checkpoint.glob("*.safetensors")):
        problem = safetensors_problem(tensors)
        if problem:
            return problem
    return None


def restore(accelerator, checkpoint: Path, resolved_config: dict) -> int:
    """Load a checkpoint into the prepared objects; returns its step. Refuses one made with other settings."""
    saved = json.loads((checkpoint / CONFIG_FILE).read_text())
    differ = sorted(
        k for k in set(saved) | set(resolved_config) if k not in RESUME_FREE and saved.get(k) != resolved_config.get(k)
    )
    if differ:
        key = differ[0]
        raise SettingsError(
            f"checkpoint {checkpoint.name} was made with other settings ({key}: {saved.get(key)!r} there, "
            f"{resolved_config.get(key)!r} now); use a fresh output folder or resume=False"
        )
    accelerator.load_state(str(checkpoint))
    return json.loads((checkpoint / STATE_FILE).read_text())["step"]
