"""Settings of the two analyses, the language probe and the interference measurement.

They live apart from ``lens.py`` and ``interference.py`` so that reading them (the CLI's help, the run
config) does not import torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from prom_bench.errors import UserError, unknown

UNDETERMINED_POLICIES = ("pivot", "no-pivot", "paper")
# Why "pivot": PROM's pivoted objective is the paper's regime for every language; lambda = 0 is the exception
# the paper grants only on evidence that a language does not go through English. Without evidence, copying
# the paper's LLaMA2-7B table would decide for another model by fiat, and "no-pivot" would turn PROM into t.
UNDETERMINED_DEFAULT = "pivot"
_DEFAULT_LAYER = 0.75  # the trainer's TrainConfig.pivot_layer default: the paper's 24 of 32


@dataclass
class ProbeConfig:
    """Settings of the language probe and of the regulation decision."""

    shots: int = field(
        default=5, metadata={"help": "solved cloze items before each query (the paper: 5-shot; Wendler et al.: 2)"}
    )
    layer: float = field(
        default=_DEFAULT_LAYER,
        metadata={
            "help": "n, the layer the decision reads: an int is a 1-based block "
            "index, a float in (0, 1) a fraction of depth (same as "
            "train.pivot_layer; 0.75 = the paper's 24 of 32)"
        },
    )
    floor: float = field(
        default=1e-3,
        metadata={
            "help": "below this, a mean probability is noise: when both P_en and P_target "
            "at layer n are under it the decision is 'undetermined' (1e-3 is about "
            "10x the mass a uniform guess puts on a 5-10 token set of a 32-50k vocabulary)"
        },
    )
    undetermined: str = field(
        default=UNDETERMINED_DEFAULT,
        metadata={
            "help": "what an undetermined language gets: pivot (keep lambda, the paper's default regime), no-pivot "
            "(lambda = 0), or paper (the paper's LLaMA2-7B table)"
        },
    )
    n_examples: int = field(default=0, metadata={"help": "cloze items per language (0 = all after filtering)"})
    data: str = field(
        default="demo",
        metadata={
            "help": "cloze data: 'demo' (the project's own sets) or a folder with "
            "{lang}.tsv, Wendler {lang}/clean.csv or Romanlens {lang}/clean_cloze.csv"
        },
    )
    batch_size: int = field(
        default=8, metadata={"help": "prompts per forward pass (memory: batch x vocab fp32 per layer)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the shot sampling"})

    def validate(self) -> None:
        if self.shots < 0:
            raise UserError(f"probe shots {self.shots} must be >= 0")
        bad_type = isinstance(self.layer, bool) or not isinstance(self.layer, (int, float))
        if bad_type or not math.isfinite(self.layer) or self.layer <= 0:
            raise UserError(
                f"probe layer {self.layer!r} must be a 1-based block index or a fraction of depth in (0, 1)"
            )
        if isinstance(self.layer, float) and not self.layer < 1.0 and not float(self.layer).is_integer():
            raise UserError(f"probe layer {self.layer} as a fraction of depth must be in (0, 1)")
        if not 0.0 <= self.floor < 1.0:  # NaN fails this too
            raise UserError(f"probe floor {self.floor} must be in [0, 1)")
        if self.undetermined not in UNDETERMINED_POLICIES:
            raise unknown("undetermined policy", self.undetermined, UNDETERMINED_POLICIES)
        if self.batch_size < 1:
            raise UserError(f"probe batch_size {self.batch_size} must be >= 1")
        if self.n_examples < 0:
            raise UserError(f"probe n_examples {self.n_examples} must be >= 0 (0 = all)")
        if self.data != "demo" and not Path(self.data).expanduser().is_dir():
            raise UserError(f"probe data '{self.data}' is not a folder; give 'demo' or a folder of cloze files")


@dataclass
class InterferenceConfig:
    """Settings of the gradient-similarity measurement."""

    pairs: int = field(default=8, metadata={"help": "K: English/target batch pairs per checkpoint"})
    batch_size: int = field(default=4, metadata={"help": "examples per batch"})
    max_length: int = field(
        default=640,
        metadata={
            "help": "tokens per example (prompt + response + EOS), cut on the right; the "
            "default fits every demo example in SmolLM2's vocabulary, so "
            "English and target responses are supervised in full"
        },
    )
    data: str = field(
        default="demo",
        metadata={
            "help": "instructions: 'demo' (prom_bench/demo_data/instructions) or a folder "
            "with en.jsonl and {lang}.jsonl sharing ids"
        },
    )
    seed: int = field(
        default=0, metadata={"help": "seed of the batch sampling (the same batches for every checkpoint)"}
    )

    def validate(self) -> None:
        for name in ("pairs", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise UserError(f"interference {name} {getattr(self, name)} must be >= 1")
        if self.data != "demo" and not Path(self.data).expanduser().is_dir():
            raise UserError(
                f"interference data '{self.data}' is not a folder; give 'demo' or a folder with en.jsonl and "
                "{lang}.jsonl"
            )
