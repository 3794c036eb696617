"""Merging an adapter vLLM cannot serve: the merged model computes what base + adapter computes, once."""

from __future__ import annotations

import torch

from prom_bench.engines.merge import adapter_hash, merged_model


def test_merged_model_equals_the_adapter_on_the_base_and_is_cached(tiny, make_adapter, tmp_path, monkeypatch):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path))
    adapter = make_adapter(4, ["lm_head"])
    out, key = merged_model(tiny.path, adapter)
    assert (out / "config.json").is_file() and key == adapter_hash(adapter, tiny.path)

    ids = torch.tensor([[1, 415, 2936, 9060, 285, 1142, 28723, 13]])
    # reference: peft's own forward through the unmerged adapter (LoRA delta and the saved lm_head)
    base = AutoModelForCausalLM.from_pretrained(tiny.path, dtype=torch.float32)
    unmerged = PeftModel.from_pretrained(base, str(adapter)).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    plain = AutoModelForCausalLM.from_pretrained(tiny.path, dtype=torch.float32).eval()
    with torch.no_grad():
        expected, got, without = unmerged(ids).logits, merged(ids).logits, plain(ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert (got - without).abs().max() > 1e-3  # the adapter really changes the model

    stamp = (out / "model.safetensors").stat().st_mtime_ns
    again, again_key = merged_model(tiny.path, adapter)
    assert (again, again_key) == (out, key) and (out / "model.safetensors").stat().st_mtime_ns == stamp


def test_hash_follows_the_adapter_content(make_adapter, tiny):
    assert adapter_hash(make_adapter(4), tiny.path) != adapter_hash(make_adapter(8), tiny.path)
