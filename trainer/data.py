"""The data order: which examples form each micro-batch at each step, on each rank.

The order is a pure function of (seed, epoch), so resuming needs only the step number, and a run on one
process and a run on k processes with the same global micro-batch see the same examples at the same step.
A *global* micro-batch holds ``per_device_batch_size * world_size`` examples; rank r takes its r-th slice.
Epochs follow one another as one stream of micro-batches; step k takes micro-batches
``k*grad_accum .. k*grad_accum + grad_accum - 1`` of that stream.

With ``homogeneous=True`` (English early exit) every global micro-batch holds one role only, so all ranks
run the same depth at the same time: FSDP's collectives would hang if one rank stopped at block n while
another went on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from trainer.config import SettingsError
from trainer.formatting import ENGLISH, IGNORE, Encoded
from trainer.objectives import TokenCounts


@dataclass(frozen=True)
class MicroBatch:
    """A global micro-batch: example indices (all ranks) and its role (``english``, ``target`` or ``mixed``)."""

    rows: tuple[int, ...]
    role: str


class BatchPlan:
    """Deterministic micro-batches over ``examples`` for a given seed and global micro-batch size.

    Args:
        examples: the encoded training examples.
        per_device_batch_size: examples per micro-batch on one rank.
        world_size: number of ranks.
        grad_accum: micro-batches per optimizer step.
        seed: seeds the per-epoch permutation.
        homogeneous: one role per micro-batch (for English early exit).
    """

    def __init__(
        self,
        examples: list[Encoded],
        *,
        per_device_batch_size: int,
        world_size: int,
        grad_accum: int,
        seed: int,
        homogeneous: bool,
    ):
        if not examples:
            raise SettingsError("no training examples (after filtering and truncation)")
        self.examples = examples
        self.per_device = per_device_batch_size
        self.world_size = world_size
        self.global_batch = per_device_batch_size * world_size
        self.grad_accum = grad_accum
        self.seed = seed
        self.homogeneous = homogeneous
        self._epochs: dict[int, list[MicroBatch]] = {}
        self.micro_per_epoch = len(self.epoch(0))

    def epoch(self, index: int) -> list[MicroBatch]:
        """The micro-batches of epoch ``index``, in order."""
        if index not in self._epochs:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + index)
            order = torch.randperm(len(self.examples), generator=generator).tolist()
            if not self.homogeneous:
                batches = [
                    MicroBatch(tuple(order[i : i + self.global_batch]), "mixed")
                    for i in range(0, len(order), self.global_batch)
                ]
            else:
                batches = []
                for role_id, role in ((ENGLISH, "english"), (1 - ENGLISH, "target")):
                    rows = [i for i in order if self.examples[i].role == role_id]
                    batches += [
                        MicroBatch(tuple(rows[i : i + self.global_batch]), role)
                        for i in range(0, len(rows), self.global_batch)
                    ]
                shuffle = torch.randperm(len(batches), generator=generator).tolist()
                batches = [batches[i] for i in shuffle]
            self._epochs = {index: batches}  # only the current epoch is kept
        return self._epochs[index]

    def steps_for(self, epochs: float) -> int:
        """Optimizer steps that cover ``epochs`` passes (the last step may be short of micro-batches)."""
        return max(1, math.ceil(epochs * self.micro_per_epoch / self.grad_accum))

    def window(self, step: int) -> list[MicroBatch]:
        """The global micro-batches of optimizer step ``step`` (0-based)."""
        first = step * self.grad_accum
        return [
            self.epoch(k // self.micro_per_epoch)[k % self.micro_per_epoch]
            for k in range(first, first + self.grad_accum)
        ]

    def counts(self, window: list[MicroBatch]) -> TokenCounts:
        """Supervised tokens of the window over all ranks, by role: every rank computes the same numbers."""
        english = target = 0
        for batch in window:
            for i in batch.rows:
                n = self.examples[i].n_supervised
                if self.examples[i].role == ENGLISH:
                    english += n
                else:
                    target += n
        return TokenCounts(english=english, target=target, world_size=self.world_size)

    def local_rows(self, batch: MicroBatch, rank: int) -> list[Encoded]:
        """This rank's slice of a global micro-batch.

        A short last micro-batch may leave a rank with nothing; it then runs one fully masked copy of an
        example, which contributes zero loss but keeps the ranks' collectives in step.
        """
        rows = [self.examples[i] for i in batch.rows[rank * self.per_device : (rank + 1) * self.per_device]]
        if not rows:
            first = self.examples[batch.rows[0]]
            rows = [Encoded(first.input_ids, [IGNORE] * len(first.labels), first.role)]
        return rows

    def tokens(self, window: list[MicroBatch]) -> int:
        """Tokens (prompt and response, no padding) the window feeds through the model on all ranks."""
        return sum(len(self.examples[i].input_ids) for batch in window for i in batch.rows)
