"""The state after block n: captured by a hook, equal to hidden_states[n], once even under gradient checkpointing."""

from __future__ import annotations

import pytest
import torch
from torch.utils.checkpoint import checkpoint, set_checkpoint_early_stop
from trainer_helpers import random_batch, tiny_causal_lm

from trainer.capture import EarlyExitUnsupported, LayerCapture, stop_after_block
from trainer.model import PromModel, enable_gradient_checkpointing
from trainer.objectives import TokenCounts


@pytest.mark.parametrize("n", [1, 2, 3])
def test_captured_state_equals_hidden_states_n(n):
    model = tiny_causal_lm()
    batch = random_batch()
    capture = LayerCapture(model.model.layers[n - 1])
    with capture.armed():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    assert torch.equal(capture.state, out.hidden_states[n])
    capture.remove()


def test_capture_fires_once_per_arming():
    model = tiny_causal_lm()
    batch = random_batch()
    capture = LayerCapture(model.model.layers[1])
    with capture.armed():
        model(input_ids=batch["input_ids"])
    first = capture.state
    model(input_ids=batch["input_ids"] % 50 + 1)  # not armed: the kept state is untouched
    assert capture.state is first and capture.fired == 2


def test_gradient_checkpointing_gives_the_same_capture_loss_and_gradients():
    batch = random_batch()
    counts = TokenCounts(english=int(batch["english"].sum()), target=int(batch["target"].sum()))
    results = []
    for checkpointing in (False, True):
        model = tiny_causal_lm()
        if checkpointing:
            enable_gradient_checkpointing(model)
        wrapper = PromModel(model, objective="pivot", pivot_layer=2, pivot_weight=0.5, label_smoothing=0.1)
        out = wrapper(**batch, counts=counts)
        out["loss"].backward()
        results.append((out["loss"].detach(), {k: p.grad for k, p in model.named_parameters()}, wrapper._capture.fired))
    (plain_loss, plain_grads, _), (ckpt_loss, ckpt_grads, ckpt_fired) = results
    assert model.model.layers[0].gradient_checkpointing
    torch.testing.assert_close(ckpt_loss, plain_loss)
    for name, grad in plain_grads.items():
        torch.testing.assert_close(ckpt_grads[name], grad, msg=name)


def test_a_recomputation_that_reruns_the_hook_does_not_replace_the_captured_state():
    """Checkpoint wrappers around ``__call__`` (FSDP's, older transformers) fire hooks again in backward."""
    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh())
    capture = LayerCapture(block)
    x = torch.randn(3, 8, requires_grad=True)
    with capture.armed(), set_checkpoint_early_stop(False):  # recompute the whole call, hooks included
        out = checkpoint(block, x, use_reentrant=False)
        captured = capture.state
        (captured.square().sum() + out.sum()).backward()
    assert capture.fired == 2 and capture.state is captured  # recomputed in backward, kept the first
    grad = x.grad.clone()
    x.grad = None
    reference = block(x)
    (reference.square().sum() + reference.sum()).backward()
    torch.testing.assert_close(grad, x.grad)


def test_stop_after_block_restores_the_depth_and_refuses_a_model_that_ignores_it():
    model = tiny_causal_lm()
    batch = random_batch()
    with stop_after_block(model.model, 2):
        model.model(input_ids=batch["input_ids"])
    assert model.config.num_hidden_layers == 4 and not model.model.layers[2]._forward_pre_hooks
    original = type(model.model).forward

    def full_depth(self, input_ids=None, **kwargs):  # a decoder that loops over every block regardless
        hidden = self.embed_tokens(input_ids)
        position_ids = torch.arange(hidden.shape[1])[None]
        embeddings = self.rotary_emb(hidden, position_ids=position_ids)
        for layer in self.layers:
            hidden = layer(hidden, position_embeddings=embeddings, position_ids=position_ids)
        return hidden

    type(model.model).forward = full_depth
    try:
        with pytest.raises(EarlyExitUnsupported), stop_after_block(model.model, 2):
            model.model(input_ids=batch["input_ids"])
    finally:
        type(model.model).forward = original
    assert model.config.num_hidden_layers == 4
