"""Alpaca formatting on a real SentencePiece tokenizer: masking, EOS, roles, truncation, the label shift."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from trainer.formatting import (
    ENGLISH,
    IGNORE,
    PROMPT_NO_INPUT,
    PROMPT_WITH_INPUT,
    TARGET,
    collate,
    encode,
    prompt_text,
    translation_example,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_path):
    return AutoTokenizer.from_pretrained(tiny_path)


EXAMPLE = {
    "id": "1",
    "instruction": "Name a colour.",
    "input": "",
    "output": "Blue is a colour.",
    "role": "english",
    "part": "s_e",
}


def test_prompt_is_masked_response_and_eos_supervised(tokenizer):
    encoded = encode(EXAMPLE, tokenizer, max_length=512)
    prompt = tokenizer(PROMPT_NO_INPUT.format(instruction="Name a colour."))["input_ids"]
    response = tokenizer("Blue is a colour.", add_special_tokens=False)["input_ids"]
    assert encoded.input_ids == prompt + response + [tokenizer.eos_token_id]
    assert encoded.labels == [IGNORE] * len(prompt) + response + [tokenizer.eos_token_id]
    assert encoded.role == ENGLISH and encoded.n_supervised == len(response) + 1


def test_input_field_selects_the_alpaca_template_with_input():
    assert prompt_text({**EXAMPLE, "input": "red, blue"}) == PROMPT_WITH_INPUT.format(
        instruction="Name a colour.", input="red, blue"
    )
    assert prompt_text(EXAMPLE).endswith("### Response:\n")


def test_translation_examples_are_target_role_instructions(tokenizer):
    example = translation_example("Hello.", "สวัสดี", "Thai", id="x")
    assert example["instruction"] == "Translate the following sentences from English to Thai."
    assert example["role"] == "target" and example["part"] == "s_e2t"
    assert encode(example, tokenizer, 512).role == TARGET


def test_truncation_right_cuts_the_response_and_drop_skips(tokenizer):
    long = {**EXAMPLE, "output": "word " * 200}
    full = encode(long, tokenizer, max_length=10_000)
    cut = encode(long, tokenizer, max_length=64)
    assert len(cut.input_ids) == 64 and cut.input_ids == full.input_ids[:64] and cut.labels == full.labels[:64]
    assert encode(long, tokenizer, max_length=64, truncation="drop") is None
    prompt_length = len(tokenizer(prompt_text(long))["input_ids"])
    assert encode(long, tokenizer, max_length=prompt_length) is None  # nothing left to learn from


def test_unknown_role_fails_with_one_line(tokenizer):
    with pytest.raises(ValueError, match=r"role 'spanish'; valid: english, target"):
        encode({**EXAMPLE, "role": "spanish"}, tokenizer, 512)


def test_collate_pads_right_and_scores_position_i_on_token_i_plus_1(tokenizer):
    rows = [encode(EXAMPLE, tokenizer, 512), encode({**EXAMPLE, "output": "Red.", "role": "target"}, tokenizer, 512)]
    batch = collate(rows, pad_id=tokenizer.pad_token_id or 0)
    width = len(rows[0].input_ids)
    assert batch["input_ids"].shape == (2, width)
    for i, row in enumerate(rows):
        length = len(row.input_ids)
        assert batch["attention_mask"][i].sum() == length
        assert batch["targets"][i, : length - 1].tolist() == row.labels[1:]
        assert (batch["targets"][i, length - 1 :] == IGNORE).all()
    assert batch["english"][0].sum() == rows[0].n_supervised and not batch["english"][1].any()
    assert batch["target"][1].sum() == rows[1].n_supervised and not batch["target"][0].any()
    supervised = batch["targets"] != IGNORE
    assert torch.equal(supervised, batch["english"] | batch["target"])
