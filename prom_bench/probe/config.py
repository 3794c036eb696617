"""Settings of the language probe and of the regulation decision.

They live apart from ``lens.py`` so that reading them (the CLI's help, the run config) does not import torch.
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


@dataclass
class ProbeConfig:
    """Settings of the language probe and of the regulation decision."""

    shots: int = field(
        default=5, metadata={"help": "solved cloze items before each query (the paper: 5-shot; Wendler et al.: 2)"}
    )
    layer: int | float | None = field(
        default=None,
        metadata={
            "help": "n, the block the decision reads: unset = the block training uses (train.pivot_layer, "
            "resolved by the trainer); set it only for a standalone 'prom-bench probe' at another block: an int "
            "is a 1-based block index, a float in (0, 1) a fraction of depth (0.75 = the paper's 24 of 32)"
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
    translate: str = field(
        default="",
        metadata={
            "help": "translation backend that builds a cloze set from a declared language's word list "
            "(data.words): google, hf[:MODEL] or file:PATH; empty = none, and such a language is undetermined"
        },
    )

    def validate(self) -> None:
        if self.shots < 0:
            raise UserError(f"probe shots {self.shots} must be >= 0")
        if self.layer is not None:  # unset = the block training uses
            bad_type = isinstance(self.layer, bool) or not isinstance(self.layer, (int, float))
            if bad_type or not math.isfinite(self.layer) or self.layer <= 0:
                raise UserError(
                    f"probe layer {self.layer!r} must be a 1-based block index or a fraction of depth in (0, 1)"
                )
            if isinstance(self.layer, float) and not self.layer < 1.0:
                raise UserError(
                    f"probe layer {self.layer} as a fraction of depth must be in (0, 1); give an int for a block index"
                )
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
