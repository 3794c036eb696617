"""Alpaca prompt formatting, prompt masking and per-token roles.

The paper follows Alpaca (and x-LLM uses the Alpaca template for every language): the prompt is masked out of
the loss, the response is supervised and EOS is appended so the model learns to stop. Each example carries
one role, ``english`` (s_e) or ``target`` (s_t and s_e->t), which every supervised token of it inherits.

Prompt and response are tokenised separately and concatenated, so the mask boundary is exact whatever the
tokenizer does at the seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainer.config import SettingsError

PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)
TRANSLATION_INSTRUCTION = "Translate the following sentences from English to {language}."

IGNORE = -100
ROLES = {"english": 0, "target": 1}
ENGLISH, TARGET = ROLES["english"], ROLES["target"]


@dataclass(frozen=True)
class Encoded:
    """One tokenised example: ``labels`` is ``IGNORE`` on the prompt, the token id on the response and EOS."""

    input_ids: list[int]
    labels: list[int]
    role: int

    @property
    def n_supervised(self) -> int:
        """Supervised tokens = predictions the loss counts (every label but the first position's)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE)


def prompt_text(example: dict) -> str:
    """The Alpaca prompt of an example (instruction, optional input), up to and including ``### Response:``."""
    if example.get("input"):
        return PROMPT_WITH_INPUT.format(instruction=example["instruction"], input=example["input"])
    return PROMPT_NO_INPUT.format(instruction=example["instruction"])


def translation_example(source: str, translation: str, language: str, **fields) -> dict:
    """An English->target translation sample (s_e->t) as an instruction, role ``target``."""
    return {
        "instruction": TRANSLATION_INSTRUCTION.format(language=language),
        "input": source,
        "output": translation,
        "role": "target",
        "part": "s_e2t",
        **fields,
    }


def encode(example: dict, tokenizer, max_length: int, truncation: str = "right") -> Encoded | None:
    """Tokenise one example; ``None`` when truncation leaves no supervised token (or ``drop`` meets a long one).

    Args:
        example: a training example dict (instruction, input, output, role).
        tokenizer: a Hugging Face tokenizer with an EOS token.
        max_length: cap on prompt + response + EOS tokens.
        truncation: ``right`` cuts the sequence at ``max_length``; ``drop`` skips examples longer than it.
    """
    role = example.get("role")
    if role not in ROLES:
        raise SettingsError(f"example {example.get('id', '?')!r} has role {role!r}; valid: {', '.join(ROLES)}")
    if tokenizer.eos_token_id is None:
        raise SettingsError("the tokenizer has no EOS token; the response must end with one")
    prompt = tokenizer(prompt_text(example), add_special_tokens=True)["input_ids"]
    response = tokenizer(example["output"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    input_ids = prompt + response
    labels = [IGNORE] * len(prompt) + response
    if len(input_ids) > max_length:
        if truncation == "drop":
            return None
        input_ids, labels = input_ids[:max_length], labels[:max_length]
    encoded = Encoded(input_ids, labels, ROLES[role])
    return encoded if encoded.n_supervised > 0 else None


def collate(rows: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a micro-batch and shift labels so position i is scored on token i+1.

    Returns:
        ``input_ids`` and ``attention_mask`` [b, s]; ``targets`` [b, s] (the next token, ``IGNORE`` where not
        supervised); ``english`` and ``target`` [b, s] bool masks of supervised positions by role.
    """
    width = max(len(r.input_ids) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    roles = torch.tensor([r.role for r in rows], dtype=torch.long)
    for i, row in enumerate(rows):
        length = len(row.input_ids)
        input_ids[i, :length] = torch.tensor(row.input_ids)
        attention_mask[i, :length] = 1
        targets[i, : length - 1] = torch.tensor(row.labels[1:])
    supervised = targets != IGNORE
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "targets": targets,
        "english": supervised & (roles == ENGLISH)[:, None],
        "target": supervised & (roles == TARGET)[:, None],
    }
