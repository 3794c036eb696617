"""Capturing the state after block n, and stopping the forward there.

A forward hook on ``layers[n-1]`` keeps only that block's output (``output_hidden_states`` would keep all
N+1 states). transformers >= 5 checkpoints a block's ``forward`` with its hooks outside, but wrappers that
checkpoint ``__call__`` (FSDP's ``checkpoint_wrapper``, older transformers) fire the hook again when backward
recomputes the block: the capture is armed for one forward and disarms itself on first fire, so a recomputed
copy never replaces the state the loss was built from. Checkpointing must be non-reentrant (the trainer
enables that kind): a reentrant one runs the first forward under ``no_grad``, leaving a state with no graph.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class LayerCapture:
    """Holds the output of one block for one forward pass.

    Usage::

        capture = LayerCapture(layers[n - 1])
        with capture.armed():
            model(...)
        state = capture.state  # shape: [b, s, d]
    """

    def __init__(self, block: nn.Module):
        self.state: torch.Tensor | None = None
        self.fired = 0
        self._armed = False
        self._handle = block.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        self.fired += 1
        if self._armed:
            self.state = output[0] if isinstance(output, tuple) else output
            self._armed = False

    @contextmanager
    def armed(self):
        """Capture the next forward's output (and only it); the state stays readable after the block."""
        self.state, self._armed = None, True
        try:
            yield self
        finally:
            self._armed = False

    def remove(self) -> None:
        self._handle.remove()


class EarlyExitUnsupported(RuntimeError):
    """The model's forward ran a block past n although its config said it has only n blocks."""


@contextmanager
def stop_after_block(decoder: nn.Module, n: int):
    """Run ``decoder`` through blocks 1..n only, then its final norm.

    Llama-family decoders in transformers loop over ``layers[: config.num_hidden_layers]``, so lowering that
    number for one forward stops the stack without touching the module tree (FSDP and ZeRO-3 keep their
    wrapped blocks; the skipped ones simply take no part in this micro-batch, on every rank alike). A guard on
    block n+1 turns a model whose forward ignores the setting into a clear error instead of a silent full pass.
    """
    config = decoder.config
    depth = config.num_hidden_layers

    def guard(module, args):
        raise EarlyExitUnsupported(
            f"{type(decoder).__name__} does not stop at config.num_hidden_layers; "
            "early_exit is unsupported for this architecture, turn it off"
        )

    handle = decoder.layers[n].register_forward_pre_hook(guard)
    config.num_hidden_layers = n
    try:
        yield
    finally:
        config.num_hidden_layers = depth
        handle.remove()
