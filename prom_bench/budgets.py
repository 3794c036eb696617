"""Generation budgets that fit the model's tokenizer: a task's budget, counted in this language's tokens.

A task's ``max_gen_toks`` is a number of tokens, and an English-centric tokenizer spends far more tokens on
some scripts than on English (SmolLM2: Thai 8.9, Telugu 15.8 tokens per English token), so the same budget
that holds a whole English answer stops a Thai one a few letters in. With ``eval.budget = inflation`` each
task's budget is scaled by the tokenizer's measured inflation for the task's language: the number of tokens
this tokenizer spends on the language per token it spends on English, over the project's parallel sentences
(``demo_data/parallel``: the same 24 sentences in English and each language).
"""

from __future__ import annotations

import math
from pathlib import Path

from prom_bench.errors import UserError
from prom_bench.paths import demo_data_dir

BUDGETS = ("task", "inflation")


def parallel_dir() -> Path:
    return demo_data_dir() / "parallel"


def token_inflation(tokenizer, lang: str, folder: Path | None = None) -> float:
    """Tokens per English token for ``lang`` on line-aligned parallel text (at least 1: never a smaller budget)."""
    if lang == "en":
        return 1.0
    folder = Path(folder or parallel_dir())
    source, target = folder / "en.txt", folder / f"{lang}.txt"
    if not target.is_file():
        raise UserError(
            f"no parallel text for '{lang}' to measure its token inflation ({target} is missing); "
            "add the file (one sentence per line, aligned with en.txt) or set eval.budget=task"
        )
    return _inflation(tokenizer, source.read_text(encoding="utf-8"), target.read_text(encoding="utf-8"))


def _inflation(tokenizer, english: str, other: str) -> float:
    def count(text: str) -> int:
        return sum(len(tokenizer(line, add_special_tokens=False).input_ids) for line in text.splitlines() if line)

    return max(1.0, count(other) / max(1, count(english)))


def scaled_budget(task_budget: int, inflation: float) -> int:
    """The task's budget in this language's tokens (rounded up)."""
    return math.ceil(task_budget * inflation)
