"""Token sets: SentencePiece (the tiny model's Mistral tokenizer) and byte-level BPE (the default model's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from prom_bench.paths import cache_dir
from prom_bench.probe.tokens import TokenSets, is_byte_level, vocab_bytes

# One answer word per script of the nine languages, and English.
WORDS = {
    "ar": "كتاب",
    "bn": "বই",
    "el": "βιβλίο",
    "ml": "പുസ്തകം",
    "mr": "पुस्तक",
    "sw": "kitabu",
    "ta": "புத்தகம்",
    "te": "పుస్తకం",
    "th": "หนังสือ",
    "en": "book",
}


def _check(tokenizer) -> None:
    sets = TokenSets(tokenizer)
    raw = vocab_bytes(tokenizer)
    english = set(sets.of("book"))
    for lang, word in WORDS.items():
        ids = sets.of(word)
        assert ids, lang
        utf8, spaced = word.encode(), (" " + word).encode()
        for i in ids:  # every member writes a prefix of the word, with or without the word-start space
            assert raw[i] and (utf8.startswith(raw[i]) or spaced.startswith(raw[i])), (lang, i)
        # Completeness: the token the tokenizer itself emits to start the word after an opening quote is in it.
        context = tokenizer('Answer: "', add_special_tokens=False)["input_ids"]
        full = tokenizer(f'Answer: "{word}', add_special_tokens=False)["input_ids"]
        assert full[: len(context)] == context, lang
        assert full[len(context)] in ids, lang
        # And the word's first token at the start of a text (with the word-start marker, where there is one).
        assert (
            tokenizer(" " + word, add_special_tokens=False)["input_ids"][0] in ids
            or raw[tokenizer(" " + word, add_special_tokens=False)["input_ids"][0]].strip() == b""
        ), lang
        if lang != "en" and lang != "sw":
            assert not english & set(ids), lang  # other scripts share no token with an English word
    assert not any(raw[i] is not None and raw[i].strip() == b"" for i in english)  # bare markers never count


def test_sentencepiece_token_sets(tiny):
    _, tokenizer = tiny
    assert not is_byte_level(tokenizer)
    sets = TokenSets(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(sets.of("book"))
    assert {"▁book", "book", "▁b", "b"} <= set(pieces)
    assert "<0xE0>" in tokenizer.convert_ids_to_tokens(sets.of("หนังสือ"))  # byte fallback: first UTF-8 byte of Thai
    assert "▁" not in pieces
    _check(tokenizer)


DEFAULT_DIR = cache_dir() / "models" / "smollm2-135m-instruct"
needs_default = pytest.mark.slow if not (DEFAULT_DIR / "tokenizer.json").is_file() else (lambda f: f)


@needs_default
def test_byte_level_token_sets():
    from prom_bench.models import resolve

    tokenizer = AutoTokenizer.from_pretrained(Path(resolve("default").path))  # only the tokenizer is loaded
    assert is_byte_level(tokenizer)
    sets = TokenSets(tokenizer)
    assert {"Ġbook", "book", "Ġb", "b"} <= set(tokenizer.convert_ids_to_tokens(sets.of("book")))
    # Round trip of every script (the note on a mis-tokenising conversion): ids are non-empty and decode back.
    for word in WORDS.values():
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        assert ids and tokenizer.decode(ids) == word
    _check(tokenizer)


def test_overlap_and_empty_sets(tiny):
    _, tokenizer = tiny
    sets = TokenSets(tokenizer)
    assert sets.of("") == []
    assert set(sets.of("mwezi")) & set(sets.of("moon"))  # same first letter: the probe drops such an example
