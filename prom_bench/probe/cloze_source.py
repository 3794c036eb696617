"""The probe's cloze set for a declared language: its own set, or one built from a word list by translation.

A languages file may give a language ``data.cloze`` (a set in a format ``probe.data`` reads) or
``data.words``: a word list, tab-separated with a header ``word_en, word[, prompt_en]``: an English word, the
same concept's target-language word, and optionally an English cloze sentence with ``___`` for the word
(``When we are thirsty we drink "___".``). Without ``prompt_en`` the project's English cloze sentence for that
word is used (``demo_data/cloze/en.tsv``, 32 everyday nouns). The English sentences, and the label
``Answer:``, are translated by the backend ``probe.translate`` names (through the translation cache, so a
rebuild costs nothing), and each item becomes ``<translated sentence> <translated Answer:> "<word>"``.
Items whose translation lost the blank, or already holds the answer, are dropped and counted.

With neither, the probe cannot decide for that language: ``no_cloze_decision`` says so, in one line naming
what to provide, and which default (``probe.undetermined``) the run applies instead.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from prom_bench import languages
from prom_bench.errors import UserError
from prom_bench.paths import cache_dir, demo_data_dir
from prom_bench.probe.config import ProbeConfig

BLANK = "___"
ANSWER_EN = "Answer:"


def has_cloze(lang: str, source: str = "demo", translate: str = "") -> bool:
    """Whether the probe has (or can build) a cloze set for ``lang`` from ``source``."""
    if source != "demo":
        return True  # a folder the user named: probe.data reports what it lacks
    declared = languages.get(lang).data
    return bool(
        declared.cloze or (demo_data_dir() / "cloze" / f"{lang}.tsv").is_file() or (declared.words and translate)
    )


def no_cloze_decision(lang: str, cfg: ProbeConfig) -> dict | None:
    """The recorded regulation of a language the probe cannot measure (no cloze set), or None when it can."""
    if has_cloze(lang, cfg.data, cfg.translate):
        return None
    language = languages.get(lang)
    policy = cfg.undetermined
    pivots = (language.pivots_llama2_7b is not False) if policy == "paper" else policy == "pivot"
    if language.data.words:
        missing = "a word list (data.words) but no translation backend to build a cloze set from it (probe.translate)"
    else:
        missing = "no cloze set (data.cloze, or a word list data.words with probe.translate)"
    reason = (
        f"probe cannot decide for {language.name} ({lang}): {missing}; default applied: probe.undetermined={policy} "
        f"(lambda {'kept' if pivots else '= 0'})"
    )
    return {
        "source": "probe",
        "lang": lang,
        "pivots": pivots,
        "status": "undetermined",
        "reason": reason,
        "policy": policy,
    }


def cloze_path(lang: str, translate: str) -> Path | None:
    """The cloze file or folder to read for ``lang``'s ``demo`` source: declared, built from words, or None."""
    declared = languages.get(lang).data
    if declared.cloze:
        return Path(declared.cloze)
    if (demo_data_dir() / "cloze" / f"{lang}.tsv").is_file():
        return None  # the project's own set
    if declared.words and translate:
        return build_from_words(lang, Path(declared.words), translate)
    language = languages.get(lang)
    raise UserError(
        f"no cloze set for {language.name} ({lang}): declare data.cloze: FILE, or data.words: FILE with a "
        "translation backend (probe --translate, or run --set probe.translate=google|hf|file:PATH), in its "
        "languages file (see tasks/CONTRIBUTING.md)"
    )


def read_words(path: Path) -> list[tuple[str, str, str]]:
    """``(word_en, word, prompt_en)`` rows of a word list; ``prompt_en`` is '' where not given."""
    from prom_bench.data.files import read_text

    rows = list(csv.reader(io.StringIO(read_text(path)), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or [c.strip() for c in rows[0][:2]] != ["word_en", "word"]:
        raise UserError(f"{path}:1: expected a header 'word_en<TAB>word[<TAB>prompt_en]'")
    out = []
    for number, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) not in (2, 3) or not row[0].strip() or not row[1].strip():
            raise UserError(f"{path}:{number}: expected word_en<TAB>word[<TAB>prompt_en] with both words non-empty")
        prompt = row[2].strip() if len(row) == 3 else ""
        if prompt and BLANK not in prompt:
            raise UserError(f"{path}:{number}: prompt_en '{prompt[:40]}' has no blank '{BLANK}' where the word goes")
        out.append((row[0].strip(), row[1].strip(), prompt))
    if not out:
        raise UserError(f"{path}: no words; expected rows word_en<TAB>word[<TAB>prompt_en]")
    return out


def _english_prompts() -> dict[str, str]:
    """The project's English cloze sentence per English word, without its ``Answer: "..."`` tail."""
    from prom_bench.probe.data import load_cloze

    prompts = {}
    for item in load_cloze("en", "demo"):
        prompts[item.word_en.lower()] = item.solved.rsplit(ANSWER_EN, 1)[0].strip()
    return prompts


def make_backend(spec: str):
    """``google``, ``hf[:MODEL]`` or ``file:PATH`` -> a translation backend."""
    from prom_bench.data.backends import make_backend as _make

    name, _, arg = spec.partition(":")
    if name == "file":
        return _make("file", file=arg or None)
    if name == "hf":
        return _make("hf", model=arg or None)
    return _make(name)


def build_from_words(lang: str, words: Path, translate: str) -> Path:
    """Translate the English cloze sentences of ``words`` into ``lang``; write and return the cloze TSV."""
    from prom_bench.data.cache import TranslationCache
    from prom_bench.fileio import write_text_atomic

    rows = read_words(words)
    english = _english_prompts()
    backend = make_backend(translate)
    items, no_prompt = [], 0
    for word_en, word, prompt in rows:
        prompt = prompt or english.get(word_en.lower(), "")
        if not prompt:
            no_prompt += 1
            continue
        items.append((word_en, word, prompt))
    if not items:
        raise UserError(
            f"{words}: none of its English words has a cloze sentence; add a prompt_en column, or use words among "
            "the project's 32 (book, water, sun, ...: prom_bench/demo_data/cloze/en.tsv)"
        )
    cache = TranslationCache(backend.id, lang)
    segments = list(dict.fromkeys([ANSWER_EN, *(p for _, _, p in items)]))
    missing = [s for s in segments if s not in cache]
    for start in range(0, len(missing), max(1, int(getattr(backend, "batch_size", 32)))):
        batch = missing[start : start + max(1, int(getattr(backend, "batch_size", 32)))]
        cache.put_many(list(zip(batch, backend.translate(batch, "en", lang))))
    label = cache.get(ANSWER_EN).strip()
    lines, dropped = ["concept\tword_en\tword\tblank_prompt"], 0
    for word_en, word, prompt in items:
        sentence = " ".join(cache.get(prompt).split())
        if BLANK not in sentence or word in sentence or "\t" in sentence:
            dropped += 1  # the blank was lost in translation, or the answer is already in the sentence
            continue
        lines.append(f'{word_en}\t{word_en}\t{word}\t{sentence} {label} "{word}".')
    if len(lines) == 1:
        raise UserError(f"{words}: every translated cloze sentence lost its blank '{BLANK}' or holds the answer")
    digest = hashlib.sha256(f"{backend.id}\n{words.read_bytes().hex()}".encode()).hexdigest()[:12]
    out = cache_dir() / "cloze" / f"{lang}-{digest}" / f"{lang}.tsv"
    write_text_atomic(out, "\n".join(lines) + "\n")
    if no_prompt or dropped:
        (out.parent / "README.md").write_text(
            f"Built from {words} by {backend.id}: {len(lines) - 1} items; {no_prompt} words without an English "
            f"sentence and {dropped} translations without the blank (or with the answer) left out.\n",
            encoding="utf-8",
        )
    return out
