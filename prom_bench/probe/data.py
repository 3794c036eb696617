"""Cloze data for the language probe: the project's own sets and two published formats, into k-shot prompts.

Every source becomes ``ClozeItem``s: a target-language sentence with a blank, followed by a target-language
"Answer:" and the answer word in quotes (Wendler et al. 2024's format). A prompt is k solved items, one per
line, then the query item cut just after the quote that opens its answer, so the next token starts the word.

Sources (``ProbeConfig.data``):
- ``demo``: ``prom_bench/demo_data/cloze/{lang}.tsv`` (columns ``concept, word_en, word, blank_prompt``).
- a folder holding, for the language, ``{lang}.tsv`` (the demo format), ``{lang}/clean.csv`` (Wendler:
  ``word_original`` English, ``word_translation`` target, ``blank_prompt_translation_masked``) or
  ``{lang}/clean_cloze.csv`` (Romanlens: same columns; ``word_translation`` may list comma-separated synonyms,
  the first is the answer; its ``lang`` column is unreliable and ignored), directly or under ``wendler/`` or
  ``romanlens/``.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from prom_bench.errors import UserError
from prom_bench.paths import demo_data_dir


@dataclass(frozen=True)
class ClozeItem:
    """One solved cloze item. ``solved`` ends with the quoted answer; ``query`` stops right after its opening quote."""

    lang: str
    concept: str
    word: str  # the answer in the target language
    word_en: str  # the same concept's English word
    solved: str
    query: str


def cloze_dir() -> Path:
    """The project's own cloze sets."""
    return demo_data_dir() / "cloze"


def load_cloze(lang: str, source: str = "demo", translate: str = "") -> list[ClozeItem]:
    """Cloze items of ``lang`` from ``source`` ('demo' or a folder, see the module docstring).

    For ``demo``, a language declared in a languages file reads its own set, or one built from its word list
    by the ``translate`` backend (``prom_bench.probe.cloze_source``).
    """
    if source == "demo" and lang != "en":
        from prom_bench.probe.cloze_source import cloze_path

        declared = cloze_path(lang, translate)
        if declared is not None and declared.is_file():
            return (_read_csv if declared.suffix == ".csv" else _read_tsv)(lang, declared)
        if declared is not None:
            source = str(declared)
    root = cloze_dir() if source == "demo" else Path(source).expanduser()
    if not root.is_dir():
        raise UserError(
            f"cloze data folder '{source}' does not exist; give 'demo' or a folder with {{lang}}.tsv, "
            "{lang}/clean.csv (Wendler) or {lang}/clean_cloze.csv (Romanlens)"
        )
    for base in (root, root / "wendler", root / "romanlens"):
        if (base / f"{lang}.tsv").is_file():
            return _read_tsv(lang, base / f"{lang}.tsv")
        if (base / lang / "clean.csv").is_file():
            return _read_csv(lang, base / lang / "clean.csv")
        if (base / lang / "clean_cloze.csv").is_file():
            return _read_csv(lang, base / lang / "clean_cloze.csv")
    raise UserError(
        f"no cloze data for language '{lang}' in '{source}' (looked for {lang}.tsv, {lang}/clean.csv, "
        f"{lang}/clean_cloze.csv, also under wendler/ and romanlens/)"
    )


def _read_tsv(lang: str, path: Path) -> list[ClozeItem]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        item for row in rows if (item := _item(lang, row["concept"], row["word"], row["word_en"], row["blank_prompt"]))
    ]


def _read_csv(lang: str, path: Path) -> list[ClozeItem]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    items = []
    for row in rows:
        if (row.get("error") or "no error") != "no error":
            continue
        word = row["word_translation"].split(",")[0].strip()
        # Some Romanlens rows carry CSV quoting twice (""___""); one level of quotes is the format.
        masked = row["blank_prompt_translation_masked"]
        while '""' in masked:
            masked = masked.replace('""', '"')
        item = _item(lang, row["word_original"], word, row["word_original"].strip(), masked)
        if item:
            items.append(item)
    return items


def _item(lang: str, concept: str, word: str, word_en: str, solved: str) -> ClozeItem | None:
    """Cut the query at the answer's opening quote; ``None`` when the answer is not found after the blank."""
    solved, word = solved.strip(), word.strip()
    blank = solved.find("_")  # "___" in most sets, a single "_" in Wendler's zh
    cut = solved.rfind(f'"{word}"')
    if not word or blank < 0 or cut < blank:
        return None
    return ClozeItem(lang, concept.strip(), word, word_en.strip(), solved, solved[: cut + 1])


def build_prompts(items: list[ClozeItem], shots: int, seed: int) -> list[str]:
    """One k-shot prompt per item: ``shots`` other solved items (one per line), then the item's query.

    A shot that contains the query's answer (in either language) is never chosen: it would let the model
    copy the answer from its context. Fewer shots are used when too few items qualify.
    """
    prompts = []
    for index, item in enumerate(items):
        rng = random.Random(f"{seed}:{item.lang}:{index}")
        pool = [
            other
            for other in items
            if other is not item and item.word not in other.solved and item.word_en.lower() not in other.solved.lower()
        ]
        chosen = rng.sample(pool, min(shots, len(pool)))
        prompts.append("\n".join([*(c.solved for c in chosen), item.query]))
    return prompts
