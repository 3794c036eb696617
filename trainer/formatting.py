"""Prompt formatting (Alpaca, or the model's chat template), prompt masking and per-token roles.

The paper follows Alpaca (and x-LLM uses the Alpaca template for every language): the prompt is masked out of
the loss, the response is supervised and EOS is appended so the model learns to stop. Instruct models are
adapted in their own chat template instead (``format="chat"``): the instruction (and input) is the user turn,
the output the assistant turn, and the supervised part is the assistant's content up to and including the
template's end-of-turn token (ChatML's ``<|im_end|>``, SmolLM2's EOS), so the model learns to stop exactly as
it does in chat. Each example carries one role, ``english`` (s_e) or ``target`` (s_t and s_e->t), which every
supervised token of it inherits.

Prompt and response are tokenised separately and concatenated, so the mask boundary is exact whatever the
tokenizer does at the seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainer.config import FORMATS, SettingsError

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


def chat_messages(example: dict) -> list[dict[str, str]]:
    """The user turn of an example: the instruction, then its input (if any) after a blank line."""
    user = example["instruction"] + (f"\n\n{example['input']}" if example.get("input") else "")
    return [{"role": "user", "content": user}]


def _chat_parts(example: dict, tokenizer) -> tuple[list[int], list[int]]:
    """``(prompt ids, supervised response ids)`` of an example under the tokenizer's chat template."""
    if not getattr(tokenizer, "chat_template", None):
        raise SettingsError("format 'chat' needs a tokenizer with a chat template; this one has none (use 'alpaca')")
    messages = chat_messages(example)
    prompt_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": example["output"]}], tokenize=False
    )
    if not full_text.startswith(prompt_text):
        raise SettingsError(
            "the chat template does not render the prompt (with add_generation_prompt) as the start of the whole "
            "conversation, so the prompt cannot be masked; use format 'alpaca' with this model"
        )
    # The template's text holds its own special tokens (BOS, turn markers): none are added on top.
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    if eos in response:  # supervise through the end of turn; what follows it (a newline) belongs to no answer
        response = response[: response.index(eos) + 1]
    else:
        response = [*response, eos]
    return prompt, response


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


def encode(example: dict, tokenizer, max_length: int, truncation: str = "right", fmt: str = "alpaca") -> Encoded | None:
    """Tokenise one example; ``None`` when truncation leaves no supervised token (or ``drop`` meets a long one).

    Args:
        example: a training example dict (instruction, input, output, role).
        tokenizer: a Hugging Face tokenizer with an EOS token.
        max_length: cap on prompt + response + EOS tokens.
        truncation: ``right`` cuts the sequence at ``max_length``; ``drop`` skips examples longer than it.
        fmt: ``alpaca`` (the paper's template) or ``chat`` (the tokenizer's chat template).
    """
    role = example.get("role")
    if role not in ROLES:
        raise SettingsError(f"example {example.get('id', '?')!r} has role {role!r}; valid: {', '.join(ROLES)}")
    if tokenizer.eos_token_id is None:
        raise SettingsError("the tokenizer has no EOS token; the response must end with one")
    if fmt == "chat":
        prompt, response = _chat_parts(example, tokenizer)
    elif fmt == "alpaca":
        prompt = tokenizer(prompt_text(example), add_special_tokens=True)["input_ids"]
        response = tokenizer(example["output"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    else:
        raise SettingsError(f"unknown format '{fmt}'; valid: {', '.join(FORMATS)}")
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
