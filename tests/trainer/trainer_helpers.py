"""Helpers for the trainer tests: a tiny LLaMA built in-process (no tokenizer) and collated-style batches."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

VOCAB = 97


def tiny_causal_lm(layers: int = 4, seed: int = 0, tie: bool = False) -> LlamaForCausalLM:
    """A random 4-block LLaMA, hidden 32, vocab 97, fp32, in training mode with dropout-free layers."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tie,
        pad_token_id=0,
        use_cache=False,
    )
    model = LlamaForCausalLM(config)
    model.train()
    return model


def random_batch(seed: int = 0, rows: int = 4, length: int = 12, english_rows=(0, 1)) -> dict[str, torch.Tensor]:
    """A collated-style batch: right padding, prompt positions unsupervised, rows in ``english_rows`` English."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, VOCAB, (rows, length), generator=generator)
    attention_mask = torch.ones(rows, length, dtype=torch.long)
    targets = torch.roll(input_ids, -1, dims=1)
    for r in range(rows):
        pad = r  # row r has r padded positions at the end
        if pad:
            attention_mask[r, length - pad :] = 0
            input_ids[r, length - pad :] = 0
        targets[r, : 3 + r % 2] = -100  # the prompt
        targets[r, length - pad - 1 :] = -100  # the last real position predicts nothing; padding neither
    supervised = targets != -100
    english_row = torch.zeros(rows, dtype=torch.bool)
    english_row[list(english_rows)] = True
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "targets": targets,
        "english": supervised & english_row[:, None],
        "target": supervised & ~english_row[:, None],
    }
