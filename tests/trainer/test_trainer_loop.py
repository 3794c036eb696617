"""The loop end to end on the tiny model: accumulation, lambda = 0, resume, outputs, 2 processes (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from trainer import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def make_examples(n: int = 8) -> list[dict]:
    """n English and n target instruction examples of varied lengths."""
    examples = []
    for i in range(n):
        examples.append(
            {
                "id": f"e{i}",
                "instruction": f"Count to {i + 1}.",
                "input": "",
                "output": " ".join(str(k) for k in range(i + 2)),
                "role": "english",
                "part": "s_e",
                "lang": "th",
            }
        )
        examples.append(
            {
                "id": f"t{i}",
                "instruction": f"นับถึง {i + 1}",
                "input": "ช้าๆ" if i % 2 else "",
                "output": " ".join(["หนึ่ง"] * (i + 1)),
                "role": "target",
                "part": "s_t" if i % 3 else "s_e2t",
                "lang": "th",
            }
        )
    return examples


def adapter_weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "adapter_model.safetensors"))


def assert_same_weights(a: dict, b: dict, exact: bool = False, **tolerance):
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            assert torch.equal(a[key], b[key]), key
        else:
            torch.testing.assert_close(a[key], b[key], msg=key, **tolerance)


# lr large enough that a wrong gradient moves the weights visibly; no dropout where runs must agree.
BASE = dict(lr=1e-2, lora_r=4, lora_alpha=8, lora_dropout=0.0, max_length=128, warmup_ratio=0.0, seed=1)


def test_grad_accum_8x1_equals_1x8(tiny_path, tmp_path):
    examples = make_examples(4)
    runs = {}
    for name, bs, accum in (("8x1", 1, 8), ("1x8", 8, 1)):
        cfg = TrainConfig(
            objective="pivot",
            pivot_layer=2,
            pivot_head="copy",
            per_device_batch_size=bs,
            grad_accum=accum,
            max_steps=2,
            **BASE,
        )
        runs[name] = train(cfg, tiny_path, examples, tmp_path / name, progress=lambda r: None)
    a, b = runs["8x1"], runs["1x8"]
    assert a.config["examples"] == 8  # one window = one epoch in both runs
    for step_a, step_b in zip(a.history, b.history):
        for key in ("loss", "loss_pivot", "loss_target"):
            assert step_a[key] == pytest.approx(step_b[key], rel=1e-5), key
    assert a.loss_pivot > 0 and a.loss_target > 0
    # second-step weights depend on the first step's gradients, so they compare the gradients too
    assert_same_weights(adapter_weights(a.adapter_path), adapter_weights(b.adapter_path), rtol=1e-4, atol=1e-6)


def test_grad_accum_8x1_equals_1x8_in_gradients(tiny_path):
    """The window's gradient: eight one-row micro-batches, each normalised by the window counts, against one of eight."""
    from trainer.data import BatchPlan
    from trainer.formatting import collate, encode
    from trainer.model import PromModel, load_causal_lm

    cfg = TrainConfig(**BASE)
    model, tokenizer = load_causal_lm(tiny_path, cfg)
    wrapper = PromModel(model, objective="pivot", pivot_layer=2, pivot_weight=0.5, label_smoothing=0.1)
    encoded = [encode(e, tokenizer, cfg.max_length) for e in make_examples(4)]
    grads, losses = [], []
    for bs, accum in ((1, 8), (8, 1)):
        plan = BatchPlan(encoded, per_device_batch_size=bs, world_size=1, grad_accum=accum, seed=0, homogeneous=False)
        window = plan.window(0)
        model.zero_grad()
        total = 0.0
        for micro in window:
            loss = wrapper(**collate(plan.local_rows(micro, 0), tokenizer.pad_token_id), counts=plan.counts(window))[
                "loss"
            ]
            loss.backward()
            total += loss.item()
        losses.append(total)
        grads.append({name: p.grad.clone() for name, p in model.named_parameters()})
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-5, atol=1e-7, msg=name)


def test_prom_with_lambda_zero_is_t_exactly(tiny_path, tmp_path):
    examples = make_examples(4)
    targets_only = [e for e in examples if e["role"] == "target"]
    common = dict(per_device_batch_size=2, grad_accum=2, max_steps=3, **{**BASE, "lora_dropout": 0.1})
    prom = train(
        TrainConfig(objective="pivot", pivot_weight=0.0, pivot_head="copy", **common),
        tiny_path,
        examples,
        tmp_path / "prom",
        progress=lambda r: None,
    )
    t = train(TrainConfig(objective="sft", **common), tiny_path, targets_only, tmp_path / "t", progress=lambda r: None)
    assert prom.config["english_examples"] == 0 and prom.config["examples"] == t.config["examples"]
    assert [r["loss"] for r in prom.history] == [r["loss"] for r in t.history]
    assert_same_weights(adapter_weights(prom.adapter_path), adapter_weights(t.adapter_path), exact=True)


class Interrupt(Exception):
    pass


def test_resume_after_an_interruption_reproduces_the_uninterrupted_weights(tiny_path, tmp_path):
    examples = make_examples(4)
    # dropout on: resume must restore the RNG, not only weights, optimizer, scheduler and data position
    cfg = TrainConfig(
        objective="pivot",
        pivot_layer=2,
        pivot_head="copy",
        early_exit=True,
        per_device_batch_size=2,
        grad_accum=2,
        max_steps=5,
        save_steps=2,
        **{**BASE, "lora_dropout": 0.1},
    )
    whole = train(cfg, tiny_path, examples, tmp_path / "whole", progress=lambda r: None)

    def stop_at_step_3(record):
        if record["step"] == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg, tiny_path, examples, tmp_path / "resumed", progress=stop_at_step_3)
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir()) == ["step-2"]
    resumed = train(cfg, tiny_path, examples, tmp_path / "resumed", progress=lambda r: None)
    assert [r["step"] for r in resumed.history] == [3, 4, 5]
    # the per-step log of the resumed run holds every step once, as the uninterrupted run's does
    logged = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "train_log.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3, 4, 5]
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history[2:]]
    assert_same_weights(adapter_weights(resumed.adapter_path), adapter_weights(whole.adapter_path), exact=True)
    checkpoint = tmp_path / "resumed" / "checkpoints" / "step-4"
    # safetensors and JSON only: nothing in a checkpoint is unpickled on resume
    assert {p.name for p in checkpoint.iterdir()} == {
        "model.safetensors",
        "optimizer.safetensors",
        "optimizer.json",
        "scheduler.json",
        "rng-0.safetensors",
        "rng-0.json",
        "train_config.json",
        "trainer_state.json",
    }
    saved = load_file(str(checkpoint / "model.safetensors"))
    assert "pivot_head.weight" in saved and all("lora_" in k or k == "pivot_head.weight" for k in saved)
    with pytest.raises(
        ValueError, match=r"checkpoint step-4 was made with other settings \(lr: 0.01 there, 0.02 now\)"
    ):
        train(TrainConfig(**{**cfg.to_dict(), "lr": 2e-2}), tiny_path, examples, tmp_path / "resumed")


def test_outputs_lora_adapter_for_peft_and_full_model(tiny_path, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    examples = make_examples(2)
    lora = train(
        TrainConfig(
            objective="pivot",
            pivot_layer=0.5,
            pivot_head="copy",
            max_steps=1,
            precision="bf16",
            gradient_checkpointing=True,
            **BASE,
        ),
        tiny_path,
        examples,
        tmp_path / "lora",
        progress=lambda r: None,
    )
    assert torch.isfinite(torch.tensor(lora.loss))
    config = json.loads((tmp_path / "lora" / "train_config.json").read_text())
    assert config["pivot_layer_resolved"] == 2 and config["objective"] == "pivot" and config["num_layers"] == 4
    assert not any("pivot_head" in k for k in adapter_weights(lora.adapter_path))  # the copy served training only
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_path), str(lora.adapter_path))
    assert any("lora_B" in name and torch.count_nonzero(p) for name, p in adapted.named_parameters())
    full = train(
        TrainConfig(objective="sft", lora=False, max_steps=1, **BASE),
        tiny_path,
        examples,
        tmp_path / "full",
        progress=lambda r: None,
    )
    assert full.adapter_path is None and (full.model_path / "model.safetensors").is_file()
    trained = AutoModelForCausalLM.from_pretrained(str(full.model_path))
    base = AutoModelForCausalLM.from_pretrained(tiny_path)
    assert not torch.equal(trained.model.layers[0].mlp.up_proj.weight, base.model.layers[0].mlp.up_proj.weight)


def test_two_cpu_processes_match_one_with_the_same_global_batch(tiny_path, tmp_path):
    examples = make_examples(4)
    settings = dict(
        objective="pivot", pivot_layer=2, pivot_head="copy", early_exit=True, grad_accum=2, max_steps=2, **BASE
    )
    one = train(
        TrainConfig(per_device_batch_size=4, **settings), tiny_path, examples, tmp_path / "one", progress=lambda r: None
    )
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in examples))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(TrainConfig(per_device_batch_size=2, **settings).to_dict()))
    # accelerate launch --cpu starts one process; torchrun starts two, which accelerate joins over gloo
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "ACCELERATE_USE_CPU": "true"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "trainer.launch",
            "--config",
            str(config),
            "--model",
            tiny_path,
            "--data",
            str(data),
            "--output-dir",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads((tmp_path / "two" / "train_result.json").read_text())
    assert two["config"]["world_size"] == 2 and one.config["world_size"] == 1
    for a, b in zip(one.history, two["history"]):
        for key in ("loss", "loss_pivot", "loss_target"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), key
    assert_same_weights(
        adapter_weights(one.adapter_path), adapter_weights(tmp_path / "two" / "adapter"), rtol=1e-4, atol=1e-6
    )
