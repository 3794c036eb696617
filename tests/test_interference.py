"""Gradient similarity: cosine against torch, self-similarity 1, only the last block gets gradients, weights loading."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from prom_bench.errors import UserError
from prom_bench.interference import (
    InterferenceConfig,
    batch_gradient,
    batch_pairs,
    cosine,
    gradient_similarity,
    last_block_params,
    load_weights,
    parallel_examples,
)
from trainer.formatting import collate, encode


@pytest.fixture
def tiny_copy(tiny):
    model, tokenizer = tiny
    return copy.deepcopy(model), tokenizer  # last_block_params changes requires_grad flags


def test_cosine_matches_torch():
    torch.manual_seed(0)
    a, b = torch.randn(1000), torch.randn(1000)
    assert cosine(a, b) == pytest.approx(torch.nn.functional.cosine_similarity(a, b, dim=0).item(), abs=1e-6)
    assert cosine(a, -a) == pytest.approx(-1.0)


def test_a_batch_is_similar_to_itself(tiny_copy):
    model, tokenizer = tiny_copy
    english, target = parallel_examples("th")
    cfg = InterferenceConfig(pairs=2, batch_size=2, max_length=96)
    same = gradient_similarity(model, tokenizer, english, english, cfg)
    assert same == pytest.approx([1.0, 1.0], abs=1e-6)
    cross = gradient_similarity(model, tokenizer, english, target, cfg)
    assert all(-1.0 <= c < 0.999 for c in cross)


def test_only_the_last_block_needs_grad(tiny_copy):
    model, tokenizer = tiny_copy
    english, _ = parallel_examples("sw")
    params = last_block_params(model)
    rows = [encode(ex, tokenizer, 96) for ex in english[:2]]
    grad = batch_gradient(model, params, collate(rows, tokenizer.pad_token_id))
    assert grad.dtype == torch.float32 and grad.numel() == sum(p.numel() for p in model.model.layers[-1].parameters())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("model.layers.3.") for n in trainable)


def test_batch_pairs_are_parallel_and_seeded():
    cfg = InterferenceConfig(pairs=5, batch_size=4, seed=3)
    pairs = batch_pairs(10, cfg)
    assert len(pairs) == 5 and all(len(p) == 4 for p in pairs) and pairs == batch_pairs(10, cfg)
    assert sorted(pairs[0] + pairs[1] + pairs[2][:2]) == list(range(10))  # one permutation before any reuse


def test_adapter_is_merged(tiny_ref, tiny, tmp_path):
    from peft import LoraConfig, get_peft_model

    model, tokenizer = tiny
    peft_model = get_peft_model(
        copy.deepcopy(model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    merged, _ = load_weights(tiny_ref, tmp_path / "adapter")
    batch = tokenizer(["Hello there"], return_tensors="pt")
    with torch.no_grad():
        expected = peft_model(**batch).logits
        base = model(**batch).logits
        got = merged(**batch).logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(got, base, atol=1e-4)


def test_run_checkpoints_follow_the_pipeline_layout(tmp_path):
    from prom_bench.interference import run_checkpoints

    train_dir = tmp_path / "runs" / "SmolLM2" / "train" / "abc123"
    for step in (2, 4):
        (train_dir / "checkpoints" / f"step-{step}").mkdir(parents=True)
        (train_dir / "checkpoints" / f"step-{step}" / "trainer_state.json").write_text(json.dumps({"step": step}))
    (train_dir / "checkpoints" / ".step-6.tmp").mkdir()  # an unfinished save is not a checkpoint
    (train_dir / "adapter").mkdir()
    (train_dir / "train_result.json").write_text(json.dumps({"weights": str(train_dir / "adapter"), "steps": 6}))
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"method": "prom", "provenance": {"config": {"adapter": str(train_dir / "adapter")}}}))
    marker = tmp_path / "runs" / "SmolLM2" / "units" / "prom" / "th.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"records": [str(record)]}))
    expected = [
        (2, train_dir / "checkpoints" / "step-2"),
        (4, train_dir / "checkpoints" / "step-4"),
        (6, train_dir / "adapter"),
    ]
    assert run_checkpoints(tmp_path / "runs", "prom", "th") == expected  # the run's out folder
    assert run_checkpoints(tmp_path / "runs" / "SmolLM2", "prom", "th") == expected  # or out/<model>
    with pytest.raises(UserError, match="no finished unit t\\+e/th"):
        run_checkpoints(tmp_path / "runs", "t+e", "th")


def test_checkpoint_and_final_adapter_load_alike(tiny_ref, tmp_path):
    """A trainer checkpoint (accelerate state, trainable weights only) rebuilds the same model as the final adapter."""
    from trainer import TrainConfig, train

    english, target = parallel_examples("sw")
    examples = [{**e, "part": "s_e"} for e in english[:4]] + [{**t, "part": "s_t"} for t in target[:4]]
    cfg = TrainConfig(
        objective="sft", max_steps=1, save_steps=1, per_device_batch_size=4, max_length=128, lr=1e-2, warmup_ratio=0.0
    )
    result = train(cfg, tiny_ref.path, examples, tmp_path / "out", progress=lambda event: None)
    from_checkpoint, _ = load_weights(tiny_ref, tmp_path / "out" / "checkpoints" / "step-1")
    from_adapter, _ = load_weights(tiny_ref, result.adapter_path)
    base, _ = load_weights(tiny_ref, None)
    batch = {"input_ids": torch.tensor([[1, 345, 678, 910]])}
    with torch.no_grad():
        got, expected, untouched = (m(**batch).logits for m in (from_checkpoint, from_adapter, base))
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, untouched)
