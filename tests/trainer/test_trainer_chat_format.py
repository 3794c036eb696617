"""The chat prompt format: the prompt part of the model's own template is masked, the answer and end of turn
are supervised; checked on SmolLM2's ChatML template and on the tiny model with a template given here."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from trainer.formatting import IGNORE, encode

EXAMPLE = {
    "id": "1",
    "instruction": "Translate the following sentences from English to Hindi.",
    "input": "The weather is nice today.",
    "output": "आज मौसम अच्छा है।",
    "role": "target",
}
# A Zephyr-style template (no system turn), written for this test: the tiny model's tokenizer has none.
ZEPHYR = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def _supervised(encoded):
    return [t for t, label in zip(encoded.input_ids, encoded.labels) if label != IGNORE]


def _check(tokenizer, end_of_turn: str, exact: bool):
    user = f"{EXAMPLE['instruction']}\n\n{EXAMPLE['input']}"
    messages = [{"role": "user", "content": user}]
    prompt_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    encoded = encode(EXAMPLE, tokenizer, max_length=512, fmt="chat")
    # Masked: exactly the template's prompt, system turn and generation header included.
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    assert encoded.labels[: len(prompt_ids)] == [IGNORE] * len(prompt_ids)
    assert encoded.input_ids[: len(prompt_ids)] == prompt_ids
    # Supervised: the answer and the end-of-turn token, nothing after it.
    supervised = _supervised(encoded)
    assert supervised == encoded.input_ids[len(prompt_ids) :]
    assert tokenizer.decode(supervised) == EXAMPLE["output"] + end_of_turn
    assert supervised[-1] == tokenizer.eos_token_id
    # And the whole sequence is the template's rendering of the conversation, up to the end of turn: token for
    # token on a byte-level BPE; a SentencePiece tokenizer starts the separately tokenised answer with its
    # word-start marker (the Alpaca format's seam too), so there it is compared as text.
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": EXAMPLE["output"]}], tokenize=False
    )
    if exact:
        whole = tokenizer(full, add_special_tokens=False)["input_ids"]
        assert encoded.input_ids == whole[: len(encoded.input_ids)]
    else:
        assert full.startswith(tokenizer.decode(encoded.input_ids).replace("\n ", "\n"))
    return encoded, prompt_text


def test_chat_format_on_the_tiny_model_with_a_template(tiny_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_path)
    tokenizer.chat_template = ZEPHYR
    encoded, prompt_text = _check(tokenizer, "</s>", exact=False)
    assert prompt_text.startswith("<|user|>\n") and prompt_text.endswith("<|assistant|>\n")
    # the Alpaca format of the same example supervises the same answer after another prompt
    alpaca = encode(EXAMPLE, tokenizer, max_length=512, fmt="alpaca")
    assert tokenizer.decode(_supervised(alpaca)) == EXAMPLE["output"] + "</s>"
    assert alpaca.input_ids != encoded.input_ids


def test_chat_format_needs_a_template(tiny_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_path)
    tokenizer.chat_template = None
    with pytest.raises(ValueError, match="format 'chat' needs a tokenizer with a chat template"):
        encode(EXAMPLE, tokenizer, max_length=512, fmt="chat")
    with pytest.raises(ValueError, match="unknown format 'chatml'; valid: alpaca, chat"):
        encode(EXAMPLE, tokenizer, max_length=512, fmt="chatml")


@pytest.mark.slow
def test_chat_format_on_smollm2_chatml():
    from prom_bench.models import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("default").path)
    encoded, prompt_text = _check(tokenizer, "<|im_end|>", exact=True)
    # ChatML with SmolLM2's default system turn; its end of turn is the tokenizer's EOS
    assert prompt_text.startswith("<|im_start|>system\n") and prompt_text.endswith("<|im_start|>assistant\n")
    assert tokenizer.eos_token == "<|im_end|>"
    # truncation inside the answer keeps the prompt masked and only the answer's first tokens supervised
    short = encode(EXAMPLE, tokenizer, max_length=len(encoded.input_ids) - 3, fmt="chat")
    assert short.labels == encoded.labels[: len(short.labels)]
