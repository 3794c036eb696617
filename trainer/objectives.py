"""The training objectives as small functions on tensors.

SFT (``t``, ``t+e``): token-mean cross-entropy over all supervised tokens.
Pivot (``prom``): ``L = lambda * L_n,e + L_N,t`` where ``L_n,e`` is label-smoothed cross-entropy of the pivot
head on the (final-normed) state after block n at English tokens, and ``L_N,t`` the ordinary last-layer
cross-entropy at target tokens.

Each term is a *sum* over the micro-batch divided by its token count over the whole gradient-accumulation
window and all ranks, so that summing micro-batches (and averaging ranks, as DDP does) gives exactly the
window's token mean, whatever the batch composition: otherwise the effective lambda would drift with how
many English tokens a micro-batch happens to hold.

Logits are computed only at supervised positions and ``chunk_size`` positions at a time, so no
[batch, seq, vocab] tensor exists; with more than one chunk, each chunk's logits are recomputed in backward
rather than stored, which bounds logits memory at [chunk_size, vocab].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


@dataclass(frozen=True)
class TokenCounts:
    """Supervised tokens of one gradient-accumulation window, summed over all ranks."""

    english: int
    target: int
    world_size: int = 1

    @property
    def total(self) -> int:
        return self.english + self.target


def head_cross_entropy_sum(
    hidden: torch.Tensor,
    head: nn.Module,
    targets: torch.Tensor,
    *,
    label_smoothing: float = 0.0,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """Summed cross-entropy of ``head(hidden)`` against ``targets``, in fp32, chunk by chunk.

    Args:
        hidden: states at supervised positions only. # shape: [t, d]
        head: the vocabulary projection (called as a module, so FSDP / ZeRO-3 gather its weight).
        targets: next-token ids. # shape: [t]
        label_smoothing: alpha of ``F.cross_entropy``.
        chunk_size: positions per logits chunk.

    Returns:
        A scalar: the sum over the t positions (0 with a graph when t = 0, so every rank reaches the same
        parameters in backward).
    """
    if hidden.shape[0] <= chunk_size:
        return _chunk_loss(hidden, targets, head, label_smoothing)
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.shape[0], chunk_size):
        piece = slice(start, start + chunk_size)
        total = total + checkpoint(
            _chunk_loss, hidden[piece], targets[piece], head, label_smoothing, use_reentrant=False
        )
    return total


def _chunk_loss(hidden: torch.Tensor, targets: torch.Tensor, head: nn.Module, label_smoothing: float) -> torch.Tensor:
    logits = head(hidden).float()  # shape: [chunk, v]
    return F.cross_entropy(logits, targets, reduction="sum", label_smoothing=label_smoothing)


def token_mean(loss_sum: torch.Tensor, count: int, world_size: int = 1) -> torch.Tensor:
    """This micro-batch's share of a window mean: ``sum / count * world_size``.

    The ``world_size`` factor undoes DDP's gradient averaging across ranks, so the averaged gradient is the
    gradient of the global window mean. A term with no tokens in the window contributes ``0 * sum``.
    """
    if count == 0:
        return loss_sum * 0.0
    return loss_sum * (world_size / count)


def sft_loss(target_sum: torch.Tensor, counts: TokenCounts) -> torch.Tensor:
    """SFT: every supervised token, whatever its role, through the last layer; window token mean."""
    return token_mean(target_sum, counts.total, counts.world_size)


def pivot_loss(
    pivot_sum: torch.Tensor, target_sum: torch.Tensor, counts: TokenCounts, pivot_weight: float
) -> torch.Tensor:
    """PROM: ``lambda * L_n,e + L_N,t``, each term normalised by its own window token count."""
    return pivot_weight * token_mean(pivot_sum, counts.english, counts.world_size) + token_mean(
        target_sum, counts.target, counts.world_size
    )
