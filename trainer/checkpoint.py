"""Checkpoints: exact resume from safetensors and JSON only, the resolved config beside every one.

``checkpoints/step-N/`` holds nothing that is unpickled on load:

- ``model.safetensors``: the *trainable* weights (frozen ones, the LoRA base model or a frozen pivot head, are
  rebuilt from the base model, which keeps a LoRA checkpoint small);
- ``optimizer.safetensors`` + ``optimizer.json``: the optimizer's tensors (AdamW moments, step counts) and its
  param groups;
- ``scheduler.json``: the learning-rate scheduler's state;
- ``rng-<rank>.safetensors`` + ``rng-<rank>.json``: each process's torch (CPU and CUDA), NumPy and Python
  random states;
- ``trainer_state.json`` (the step; the data order is a function of seed and step, so the step is the data
  plan's position) and ``train_config.json``.

The folder is written under a temporary name and renamed when complete, so a crash never leaves a
half-written ``step-N`` that resume would pick up.

Loading trusts only those two formats: a checkpoint holding any other file (a ``.pkl`` or ``.bin`` pickle,
which runs code when loaded) is refused with one line naming it, unless ``trust_pickle_checkpoints`` is set.
Under FSDP and DeepSpeed the shards are saved by ``accelerate``'s ``save_state`` in its own format, which
pickles optimizer and RNG states; resuming such a checkpoint therefore needs that opt-in.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from trainer.config import SettingsError
from trainer.integrity import safetensors_problem

MODEL_FILE = "model.safetensors"  # also accelerate's name for the first prepared model
OPTIMIZER_TENSORS, OPTIMIZER_STATE = "optimizer.safetensors", "optimizer.json"
SCHEDULER_FILE = "scheduler.json"
STATE_FILE = "trainer_state.json"
CONFIG_FILE = "train_config.json"
SAFE_SUFFIXES = (".safetensors", ".json")  # formats that are parsed, never executed
# Settings that may differ between a checkpoint and the run resuming it without changing the maths.
RESUME_FREE = {"save_steps", "resume", "logging", "trust_pickle_checkpoints"}


def sharded(accelerator) -> bool:
    """FSDP and DeepSpeed shard weights and optimizer state: those checkpoints are accelerate's own."""
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def install_hooks(accelerator) -> None:
    """For accelerate's ``save_state`` (sharded runs): keep trainable weights only, and restore exactly those."""

    def keep_trainable(models, weights, output_dir):
        for model, state in zip(models, weights):
            names = {name for name, p in model.named_parameters() if p.requires_grad}
            for key in [k for k in state if k not in names]:
                del state[key]

    def load_trainable(models, input_dir):
        if not models:
            return
        model = models[0]
        _load_trainable(model, Path(input_dir))
        models.pop(0)  # loaded here; accelerate loads the rest (optimizer, scheduler, RNG)

    accelerator.register_save_state_pre_hook(keep_trainable)
    accelerator.register_load_state_pre_hook(load_trainable)


def save(accelerator, checkpoints_dir: Path, step: int, resolved_config: dict, model, optimizer, scheduler) -> Path:
    """Write ``checkpoints_dir/step-{step}`` atomically; every rank must call it."""
    final = checkpoints_dir / f"step-{step}"
    staging = checkpoints_dir / f".step-{step}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    accelerator.wait_for_everyone()
    if sharded(accelerator):
        accelerator.save_state(str(staging), safe_serialization=True)
    else:
        _save_rng(staging, accelerator.process_index)
        if accelerator.is_main_process:  # DDP replicas hold identical weights and optimizer state
            unwrapped = accelerator.unwrap_model(model)
            trainable = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
            weights = {k: v.detach().contiguous() for k, v in unwrapped.state_dict().items() if k in trainable}
            save_file(weights, str(staging / MODEL_FILE))
            _save_optimizer(optimizer.state_dict(), staging)
            (staging / SCHEDULER_FILE).write_text(json.dumps(scheduler.state_dict()))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (staging / CONFIG_FILE).write_text(json.dumps(resolved_config, indent=2))
        # the data order is a function of (seed, step): the step is the plan's position
        (staging / STATE_FILE).write_text(json.dumps({"step": step, "next_optimizer_step": step}))
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


def untrusted_files(checkpoint: Path) -> list[Path]:
    """Files of a checkpoint that are neither safetensors nor JSON (pickles, which run code when loaded)."""
    return sorted(p for p in checkpoint.rglob("*") if p.is_file() and p.suffix not in SAFE_SUFFIXES)


def restore(
    accelerator,
    checkpoint: Path,
    resolved_config: dict,
    model,
    optimizer,
    scheduler,
    *,
    trust_pickle: bool = False,
) -> int:
    """Load a checkpoint into the prepared objects; returns its step.

    Refuses one made with other settings, and one holding a file that is not safetensors or JSON (unless
    ``trust_pickle``), with a one-line ``SettingsError``.
    """
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
    untrusted = untrusted_files(checkpoint)
    if untrusted and not trust_pickle:
        raise SettingsError(
            f"checkpoint file {untrusted[0]} is not safetensors or JSON, and loading a pickle can run any code; "
            "not loaded. Delete it, use a fresh output folder, or set trust_pickle_checkpoints=true for a "
            "checkpoint you made yourself"
        )
    if (checkpoint / OPTIMIZER_TENSORS).is_file() and not sharded(accelerator):
        _load_trainable(accelerator.unwrap_model(model), checkpoint)
        optimizer.load_state_dict(_load_optimizer(checkpoint, optimizer.state_dict()))
        scheduler.load_state_dict(json.loads((checkpoint / SCHEDULER_FILE).read_text()))
        _load_rng(checkpoint, accelerator.process_index)
    else:  # accelerate's own format (sharded runs), reached only with trust_pickle when it holds pickles
        accelerator.load_state(str(checkpoint))
    return json.loads((checkpoint / STATE_FILE).read_text())["step"]


# --- the pieces -----------------------------------------------------------------------------------------------


def _load_trainable(model, checkpoint: Path) -> None:
    state = load_file(str(checkpoint / MODEL_FILE))
    names = {name for name, p in model.named_parameters() if p.requires_grad}
    if set(state) != names:
        raise SettingsError(
            f"checkpoint {checkpoint} holds different trainable weights than this run "
            f"({len(set(state) ^ names)} names differ); use a fresh output folder"
        )
    model.load_state_dict(state, strict=False)


def _save_optimizer(state: dict, folder: Path) -> None:
    """Tensors of ``optimizer.state_dict()`` to safetensors, everything else (param groups, scalars) to JSON."""
    tensors, scalars = {}, {}
    for index, per_param in state["state"].items():
        for name, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    save_file(tensors, str(folder / OPTIMIZER_TENSORS))
    (folder / OPTIMIZER_STATE).write_text(json.dumps({"param_groups": state["param_groups"], "scalars": scalars}))


def _load_optimizer(checkpoint: Path, current: dict) -> dict:
    """The saved optimizer state in ``state_dict`` form; tuples (AdamW's betas) come back as tuples."""
    saved = json.loads((checkpoint / OPTIMIZER_STATE).read_text())
    per_param: dict[int, dict] = {}
    items = list(load_file(str(checkpoint / OPTIMIZER_TENSORS)).items()) + list(saved["scalars"].items())
    for key, value in items:
        index, name = key.split(".", 1)
        per_param.setdefault(int(index), {})[name] = value
    groups = []
    for group, now in zip(saved["param_groups"], current["param_groups"]):
        groups.append({k: tuple(v) if isinstance(now.get(k), tuple) else v for k, v in group.items()})
    return {"state": per_param, "param_groups": groups}


def _save_rng(folder: Path, rank: int) -> None:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    name, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["numpy.keys"] = torch.from_numpy(keys.astype(np.int64))
    version, internal, gauss_next = random.getstate()
    save_file(tensors, str(folder / f"rng-{rank}.safetensors"))
    (folder / f"rng-{rank}.json").write_text(
        json.dumps(
            {
                "python": [version, list(internal), gauss_next],
                "numpy": {"name": name, "pos": pos, "has_gauss": has_gauss, "cached_gaussian": cached},
            }
        )
    )


def _load_rng(checkpoint: Path, rank: int) -> None:
    tensors = load_file(str(checkpoint / f"rng-{rank}.safetensors"))
    states = json.loads((checkpoint / f"rng-{rank}.json").read_text())
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k[5:]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    np_state = states["numpy"]
    np.random.set_state(
        (
            np_state["name"],
            tensors["numpy.keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
