"""``TrainConfig``: every training setting, its default and its help text, in one place.

The CLI help, the saved ``train_config.json`` and the docs all come from the ``help`` metadata here. Checks
that need only the config run in :meth:`TrainConfig.validate`; checks that need the model (pivot layer range,
LoRA target modules) run in :func:`validate_for_model`. Both run before the first step and raise
``SettingsError`` (a ``ValueError``) with one line naming the bad value and what is valid.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

OBJECTIVES = ("sft", "pivot")
PIVOT_HEADS = ("shared", "copy", "frozen")
SCHEDULERS = ("cosine", "linear")
PRECISIONS = ("fp32", "bf16")
TRUNCATIONS = ("right", "drop")
TRACKERS = ("none", "tensorboard", "wandb")
FORMATS = ("alpaca", "chat")  # prompt formats of trainer.formatting


class TrainingDiverged(ValueError):
    """The loss or the weights became non-finite (a learning rate too high, say): one line, nothing saved."""


class SettingsError(ValueError):
    """A bad setting, input file or output folder, said in one line naming the bad value and what is valid.

    Callers show it to the user as it is; any other exception from the trainer is a bug and keeps its traceback.
    """


@dataclass
class TrainConfig:
    """Settings of one training run. Defaults: LoRA on a laptop-sized budget; the paper's PROM hyper-parameters."""

    objective: str = field(
        default="sft",
        metadata={
            "help": "sft: token-mean cross-entropy over all supervised tokens (t, t+e); "
            "pivot: PROM, lambda * L_n,e + L_N,t"
        },
    )
    pivot_layer: int | float = field(
        default=0.75,
        metadata={
            "help": "n: block whose output feeds the pivot loss; an int is a 1-based block "
            "index (paper: 24 of 32), a float in (0, 1) a fraction of depth (0.75 = 24/32)"
        },
    )
    label_smoothing: float = field(
        default=0.1, metadata={"help": "alpha: label smoothing of the English layer-n loss, in [0, 1)"}
    )
    pivot_weight: float = field(
        default=0.1,
        metadata={"help": "lambda: weight of the English layer-n loss (>= 0); 0 drops English data entirely"},
    )
    pivot_head: str = field(
        default="shared",
        metadata={
            "help": "head applied to layer n after the final norm: shared (the model's lm_head, "
            "the logit lens the probe measures), copy (trainable copy, dropped after "
            "training), frozen (copy of the pretrained head, never trained)"
        },
    )
    early_exit: bool = field(
        default=False, metadata={"help": "role-homogeneous micro-batches; English ones stop at block n (pivot only)"}
    )
    format: str = field(
        default="alpaca",
        metadata={
            "help": "prompt format of the training examples: alpaca (the paper's template) or chat (the "
            "model's own chat template, for instruct models; pair with eval.chat_template=true); prom-bench run "
            "also takes auto (chat where the model has a chat template)"
        },
    )
    lora: bool = field(default=True, metadata={"help": "train LoRA adapters (peft) instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "v_proj"],
        metadata={"help": "module names LoRA adapts (e.g. q_proj v_proj, as in Bactrian-X)"},
    )
    lr: float = field(default=2e-4, metadata={"help": "peak learning rate of AdamW (paper, full fine-tuning: 2e-5)"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(
        default=0.03, metadata={"help": "fraction of optimizer steps spent warming up linearly"}
    )
    scheduler: str = field(default="cosine", metadata={"help": "learning-rate decay after warm-up: cosine or linear"})
    epochs: float = field(default=3.0, metadata={"help": "passes over the data (used when max_steps is -1)"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps to run; -1 = derive from epochs"})
    per_device_batch_size: int = field(default=4, metadata={"help": "examples per micro-batch on each process"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "clip the global gradient norm to this; 0 = no clipping"}
    )
    max_length: int = field(default=512, metadata={"help": "maximum tokens per example (prompt + response + EOS)"})
    truncation: str = field(
        default="right",
        metadata={
            "help": "over-long examples: right (cut the end; drop if no response token "
            "is left) or drop (skip the example)"
        },
    )
    precision: str = field(
        default="fp32", metadata={"help": "fp32, or bf16 (autocast; frozen LoRA base weights stored in bf16)"}
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "recompute block activations in backward to save memory"}
    )
    logits_chunk_size: int = field(
        default=1024,
        metadata={
            "help": "supervised positions per logits chunk; more than one chunk "
            "recomputes each chunk's logits in backward instead of storing them"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed of weights init (LoRA, dropout) and of the data order"})
    save_steps: int = field(
        default=0, metadata={"help": "checkpoint every this many steps into checkpoints/step-N; 0 = none"}
    )
    resume: bool = field(
        default=True, metadata={"help": "continue from the newest checkpoint in the output folder if there is one"}
    )
    logging: str = field(
        default="none",
        metadata={
            "help": "experiment tracker through accelerate: none, tensorboard or wandb (train_log.jsonl, one JSON "
            "line per step, is written beside the weights whatever this is)"
        },
    )
    trust_pickle_checkpoints: bool = field(
        default=False,
        metadata={
            "help": "resume from a checkpoint that holds pickle files (.pkl, .bin: accelerate's own format, used "
            "under FSDP/DeepSpeed); unpickling runs code, so only for checkpoints you made yourself"
        },
    )

    def validate(self) -> None:
        """Checks that need only the config. Raises ``SettingsError`` with one line."""
        _choice("objective", self.objective, OBJECTIVES)
        _choice("pivot_head", self.pivot_head, PIVOT_HEADS)
        _choice("scheduler", self.scheduler, SCHEDULERS)
        _choice("precision", self.precision, PRECISIONS)
        _choice("truncation", self.truncation, TRUNCATIONS)
        _choice("logging", self.logging, TRACKERS)
        _choice("format", self.format, FORMATS)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise SettingsError(f"label_smoothing (alpha) {self.label_smoothing} is outside [0, 1)")
        for name in ("pivot_layer", "label_smoothing", "pivot_weight", "lr", "weight_decay", "warmup_ratio", "epochs"):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isfinite(value):
                raise SettingsError(f"{name} {value} is not a finite number")
        for name in ("lora_dropout", "max_grad_norm"):
            if not math.isfinite(getattr(self, name)):
                raise SettingsError(f"{name} {getattr(self, name)} is not a finite number")
        if not self.pivot_weight >= 0.0 or math.isinf(self.pivot_weight):
            raise SettingsError(f"pivot_weight (lambda) {self.pivot_weight} must be a finite number >= 0")
        if isinstance(self.pivot_layer, bool) or not isinstance(self.pivot_layer, (int, float)):
            raise SettingsError(
                f"pivot_layer {self.pivot_layer!r} must be a block index (int) or a fraction of depth in (0, 1)"
            )
        if isinstance(self.pivot_layer, float) and not 0.0 < self.pivot_layer < 1.0:
            raise SettingsError(
                f"pivot_layer {self.pivot_layer} as a fraction of depth must be in (0, 1); give an int for a "
                "block index"
            )
        if isinstance(self.pivot_layer, int) and self.pivot_layer < 1:
            raise SettingsError(f"pivot_layer {self.pivot_layer} is outside 1..N-1 (blocks are numbered from 1)")
        if self.early_exit and self.objective != "pivot":
            raise SettingsError(
                "early_exit needs objective 'pivot' (only the pivot loss stops English micro-batches at block n)"
            )
        for name in ("per_device_batch_size", "grad_accum", "max_length", "logits_chunk_size", "lora_r"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} {getattr(self, name)} must be >= 1")
        if self.max_steps == 0 or self.max_steps < -1:
            raise SettingsError(f"max_steps {self.max_steps} must be -1 (use epochs) or >= 1")
        if self.max_steps == -1 and not self.epochs > 0:
            raise SettingsError(f"epochs {self.epochs} must be > 0 when max_steps is -1")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise SettingsError(f"warmup_ratio {self.warmup_ratio} is outside [0, 1)")
        if not self.lr > 0:
            raise SettingsError(f"lr {self.lr} must be > 0")
        if self.weight_decay < 0:
            raise SettingsError(f"weight_decay {self.weight_decay} must be >= 0")
        if self.max_grad_norm < 0:
            raise SettingsError(f"max_grad_norm {self.max_grad_norm} must be >= 0 (0 = no clipping)")
        if self.lora_alpha <= 0:
            raise SettingsError(f"lora_alpha {self.lora_alpha} must be > 0")
        for target in self.lora_target_modules:
            if not isinstance(target, str) or not target.strip():
                raise SettingsError(f"lora_target_modules entry {target!r} is not a module name (e.g. q_proj)")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise SettingsError(f"lora_dropout {self.lora_dropout} is outside [0, 1)")
        if self.lora and not self.lora_target_modules:
            raise SettingsError("lora_target_modules is empty; name at least one module, e.g. q_proj v_proj")
        if self.save_steps < 0:
            raise SettingsError(f"save_steps {self.save_steps} must be >= 0")
        _check_tracker(self.logging)

    @property
    def uses_pivot(self) -> bool:
        """Whether the layer-n term is computed at all (``pivot`` with lambda > 0)."""
        return self.objective == "pivot" and self.pivot_weight > 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. a saved config); unknown keys fail with one line."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SettingsError(
                f"unknown TrainConfig setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}"
            )
        return cls(**values)


def resolve_pivot_layer(pivot_layer: int | float, num_layers: int) -> int:
    """The 1-based block n whose output feeds the pivot loss.

    A fraction f maps to round(f * N), half up, kept within 1..N-1 so that one fraction fits every depth:
    0.75 of 32 blocks is 24 (the paper), of 30 blocks 23, of 2 blocks 1. A block index must lie in 1..N-1
    (n = N would be the ordinary last-layer loss), else ``SettingsError``.
    """
    if isinstance(pivot_layer, float) and num_layers >= 2:
        n = min(num_layers - 1, max(1, math.floor(pivot_layer * num_layers + 0.5)))
    else:
        n = int(pivot_layer)
    if not 1 <= n <= num_layers - 1:
        raise SettingsError(
            f"pivot_layer {pivot_layer} gives block {n}, outside 1..{num_layers - 1} for this {num_layers}-block model"
        )
    return n


# The packages accelerate needs for each tracker (any one of them will do).
TRACKER_PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}


def _check_tracker(name: str) -> None:
    """A tracker that is not installed fails here, before any work, not as a warning after the model loads."""
    import importlib.util

    packages = TRACKER_PACKAGES.get(name, ())
    if packages and not any(importlib.util.find_spec(p) is not None for p in packages):
        raise SettingsError(
            f"logging '{name}' needs the {packages[0]} package, which is not installed; "
            f"pip install {packages[0]}, or set logging to none (the per-step log train_log.jsonl is always written)"
        )


def _choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise SettingsError(f"unknown {name} '{value}'; valid: {', '.join(valid)}")
