"""Adapters on the tiny model, made here (random, non-zero LoRA weights), and the vLLM availability check."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest


def vllm_missing() -> str | None:
    """Why the real-engine tests cannot run here (None: they can)."""
    if importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed (tests marked vllm run in the environment `bash .ci/vllm-env` builds)"
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return "vLLM is importable but has no 'vllm' distribution metadata (see .ci/vllm-env)"
    return None


@pytest.fixture(scope="session")
def tiny():
    from prom_bench import models

    return models.resolve("tiny")


def make_tiny_for_vllm(tiny, out: Path) -> Path:
    """The tiny model's architecture with attention heads of 32 (vLLM's CPU attention has no kernel for the
    tiny model's 16), random, on the same tokenizer."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny.path)
    config.head_dim = 32
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny.path).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny32(tiny, tmp_path_factory):
    from prom_bench import models

    return models.resolve(str(make_tiny_for_vllm(tiny, tmp_path_factory.mktemp("tiny32") / "tiny-llama-h32")))


@pytest.fixture(scope="session")
def make_adapter(tiny, tmp_path_factory):
    """``make_adapter(rank, modules_to_save=None, base=tiny)``: a peft LoRA adapter folder on a tiny model."""
    made: dict[tuple, Path] = {}

    def make(rank: int, modules_to_save: list[str] | None = None, base=None) -> Path:
        base = base or tiny
        key = (rank, tuple(modules_to_save or ()), base.path)
        if key in made:
            return made[key]
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        torch.manual_seed(rank)
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32)
        config = LoraConfig(
            r=rank,
            lora_alpha=2 * rank,
            target_modules=["q_proj", "v_proj"],
            modules_to_save=modules_to_save,
            init_lora_weights=False,  # random A and B: the adapter changes the outputs
            task_type="CAUSAL_LM",
        )
        peft_model = get_peft_model(model, config)
        out = tmp_path_factory.mktemp(f"adapter-r{rank}")
        peft_model.save_pretrained(out)
        made[key] = out
        return out

    return make
