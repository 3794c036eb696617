"""Each loss term against an independent reference: full logits from the model's own forward and F.cross_entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from trainer_helpers import random_batch, tiny_causal_lm

from trainer.model import ENGLISH_ONLY, PromModel
from trainer.objectives import TokenCounts, head_cross_entropy_sum, token_mean

N, ALPHA, LAMBDA = 2, 0.1, 0.3


def _counts(batch, world_size=1):
    return TokenCounts(english=int(batch["english"].sum()), target=int(batch["target"].sum()), world_size=world_size)


def _reference_pivot_terms(model, batch, n=N, alpha=ALPHA):
    """PROM's two terms the obvious way: every hidden state, full logits at both layers, masked token means."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    layer_n_logits = model.lm_head(model.model.norm(out.hidden_states[n]))  # shape: [b, s, v]
    english, target = batch["english"], batch["target"]
    l_ne = F.cross_entropy(layer_n_logits[english], batch["targets"][english], label_smoothing=alpha)
    l_nt = F.cross_entropy(out.logits[target], batch["targets"][target])
    return l_ne, l_nt


def _grads(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("chunk_size", [1024, 5])
def test_head_cross_entropy_sum_matches_f_cross_entropy_in_value_and_gradient(chunk_size):
    torch.manual_seed(0)
    head = nn.Linear(16, 50)
    hidden = torch.randn(23, 16, requires_grad=True)
    targets = torch.randint(0, 50, (23,))
    ours = head_cross_entropy_sum(hidden, head, targets, label_smoothing=0.2, chunk_size=chunk_size)
    ours.backward()
    ours_grads = (hidden.grad.clone(), head.weight.grad.clone())
    hidden.grad = None
    head.zero_grad()
    reference = F.cross_entropy(head(hidden), targets, label_smoothing=0.2, reduction="sum")
    reference.backward()
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(ours_grads[0], hidden.grad)
    torch.testing.assert_close(ours_grads[1], head.weight.grad)


def test_empty_selection_gives_zero_with_a_graph():
    head = nn.Linear(8, 10)
    loss = head_cross_entropy_sum(torch.randn(0, 8, requires_grad=True), head, torch.zeros(0, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and torch.count_nonzero(head.weight.grad) == 0


def test_token_mean_scales_by_world_size_and_tolerates_no_tokens():
    assert token_mean(torch.tensor(6.0), 3, world_size=2).item() == 4.0
    assert token_mean(torch.tensor(6.0), 0).item() == 0.0


@pytest.mark.parametrize("head_mode", ["shared", "copy", "frozen"])
def test_pivot_loss_equals_reference_terms_and_gradients(head_mode):
    model = tiny_causal_lm()
    batch = random_batch()
    wrapper = PromModel(
        model,
        objective="pivot",
        pivot_layer=N,
        pivot_weight=LAMBDA,
        label_smoothing=ALPHA,
        pivot_head=head_mode,
        chunk_size=7,
    )
    out = wrapper(**batch, counts=_counts(batch))
    out["loss"].backward()
    ours = _grads(model)
    counts = _counts(batch)
    model.zero_grad()
    l_ne, l_nt = _reference_pivot_terms(model, batch)
    torch.testing.assert_close(out["pivot_sum"] / counts.english, l_ne.detach())
    torch.testing.assert_close(out["target_sum"] / counts.target, l_nt.detach())
    torch.testing.assert_close(out["loss"].detach(), (LAMBDA * l_ne + l_nt).detach())
    # The copied heads start as lm_head, so the values match; gradients differ by where they land.
    reference = LAMBDA * l_ne + l_nt if head_mode == "shared" else l_nt + LAMBDA * _layer_n_only(model, batch)
    reference.backward()
    expected = _grads(model)
    assert set(ours) == set(expected)
    for name in expected:
        torch.testing.assert_close(ours[name], expected[name], msg=name)
    if head_mode == "copy":
        assert wrapper.pivot_head.weight.grad is not None and wrapper.pivot_head.weight.requires_grad
    if head_mode == "frozen":
        assert not wrapper.pivot_head.weight.requires_grad and wrapper.pivot_head.weight.grad is None


def _layer_n_only(model, batch):
    """L_n,e with the head held fixed (what copy/frozen heads give the model's own weights)."""
    out = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    logits = F.linear(model.model.norm(out.hidden_states[N]), model.lm_head.weight.detach())
    english = batch["english"]
    return F.cross_entropy(logits[english], batch["targets"][english], label_smoothing=ALPHA)


def test_sft_loss_is_the_token_mean_over_every_supervised_token():
    model = tiny_causal_lm()
    batch = random_batch()
    out = PromModel(model, objective="sft")(**batch, counts=_counts(batch))
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    mask = batch["english"] | batch["target"]
    torch.testing.assert_close(out["loss"], F.cross_entropy(logits[mask], batch["targets"][mask]))


def test_normalisation_uses_the_window_counts_not_the_micro_batch():
    """Two micro-batches, each normalised by the window's counts, sum to the loss of the whole window at once."""
    model = tiny_causal_lm()
    batch = random_batch(rows=4, english_rows=(0, 3))
    wrapper = PromModel(model, objective="pivot", pivot_layer=N, pivot_weight=LAMBDA, label_smoothing=ALPHA)
    counts = _counts(batch)
    whole = wrapper(**batch, counts=counts)["loss"]
    halves = sum(
        wrapper(**{k: v[rows] for k, v in batch.items()}, counts=counts)["loss"] for rows in (slice(0, 1), slice(1, 4))
    )
    torch.testing.assert_close(halves, whole)


def test_a_batch_without_english_tokens_gives_a_finite_loss_and_the_target_gradient():
    model = tiny_causal_lm()
    batch = random_batch(english_rows=())
    wrapper = PromModel(
        model, objective="pivot", pivot_layer=N, pivot_weight=LAMBDA, label_smoothing=ALPHA, pivot_head="copy"
    )
    out = wrapper(**batch, counts=_counts(batch))
    assert torch.isfinite(out["loss"]) and out["pivot_sum"].item() == 0.0
    out["loss"].backward()
    ours = _grads(model)
    model.zero_grad()
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    F.cross_entropy(logits[batch["target"]], batch["targets"][batch["target"]]).backward()
    for name, grad in _grads(model).items():
        torch.testing.assert_close(ours[name], grad, msg=name)
    assert torch.count_nonzero(wrapper.pivot_head.weight.grad) == 0


def test_pivot_with_lambda_zero_is_the_last_layer_loss_on_target_tokens():
    model = tiny_causal_lm()
    batch = random_batch(english_rows=())
    counts = _counts(batch)
    prom = PromModel(model, objective="pivot", pivot_layer=N, pivot_weight=0.0)(**batch, counts=counts)["loss"]
    sft = PromModel(model, objective="sft")(**batch, counts=counts)["loss"]
    assert torch.equal(prom, sft)


def test_early_exit_gives_the_same_english_loss_and_gradients_without_running_later_blocks():
    model = tiny_causal_lm()
    batch = random_batch(english_rows=(0, 1, 2, 3))
    counts = _counts(batch)
    wrapper = PromModel(model, objective="pivot", pivot_layer=N, pivot_weight=LAMBDA, label_smoothing=ALPHA)
    full = wrapper(**batch, counts=counts)
    full["loss"].backward()
    full_grads = _grads(model)
    model.zero_grad()
    calls = []
    hooks = [block.register_forward_hook(lambda *a, i=i: calls.append(i)) for i, block in enumerate(model.model.layers)]
    early = wrapper(**batch, counts=counts, role=ENGLISH_ONLY)
    for hook in hooks:
        hook.remove()
    early["loss"].backward()
    assert calls == list(range(N))  # blocks 1..n only
    torch.testing.assert_close(early["loss"], full["loss"])
    early_grads = _grads(model)
    for name, grad in full_grads.items():
        if any(f"layers.{i}." in name for i in range(N, 4)):  # blocks n+1..N: nothing to learn from English
            assert torch.count_nonzero(grad) == 0, name
            assert name not in early_grads or torch.count_nonzero(early_grads[name]) == 0, name
        else:
            torch.testing.assert_close(early_grads[name], grad, msg=name)
