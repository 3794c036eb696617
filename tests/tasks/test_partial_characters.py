"""A generation cut by the token budget never leaves half a character behind (issue: U+FFFD in stored answers).

Byte-level (SmolLM2) and byte-fallback (Mistral's SentencePiece, the tiny model's) tokenizers spend several
tokens on one Thai or Telugu letter, so a budget can end between them; the decoder then writes U+FFFD. Every
prefix of real Thai and Telugu text, decoded and passed through ``drop_partial_character``, must be a clean
prefix of the text.
"""

from __future__ import annotations

import pytest

from prom_bench import languages, models
from prom_bench.evaluation import _task_scoring

scoring = _task_scoring()


def _real_lines(shared_data, code: str, n: int = 3) -> list[str]:
    path = shared_data / "flores200_devtest" / f"{languages.get(code).flores}.devtest"
    if not path.is_file():
        pytest.skip(f"{path.name} is not in ../shared/data")
    return path.read_text(encoding="utf-8").splitlines()[:n]


def _check_every_prefix(tokenizer, text: str) -> int:
    """Returns how many raw prefixes ended in U+FFFD (the case the rule exists for)."""
    ids = tokenizer(text, add_special_tokens=False).input_ids
    cut_inside = 0
    for end in range(1, len(ids) + 1):
        raw = tokenizer.decode(ids[:end])
        cut_inside += raw.endswith(scoring.REPLACEMENT_CHARACTER)
        clean = scoring.drop_partial_character(raw)
        assert scoring.REPLACEMENT_CHARACTER not in clean, (text, end, raw)
        assert text.startswith(clean.lstrip()) or text.startswith(clean), (text, end, clean)
    return cut_inside


@pytest.mark.parametrize("code", ["th", "te"])
def test_tiny_tokenizer_prefixes_of_real_text_keep_whole_characters(shared_data, code):
    _, tokenizer = models.load(models.resolve("tiny"))
    cut = sum(_check_every_prefix(tokenizer, line) for line in _real_lines(shared_data, code))
    assert cut > 0  # byte fallback really does cut these scripts mid-character


@pytest.mark.slow
@pytest.mark.parametrize("code", ["th", "te"])
def test_default_tokenizer_prefixes_of_real_text_keep_whole_characters(shared_data, code):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(models.resolve("default").path)
    cut = sum(_check_every_prefix(tokenizer, line) for line in _real_lines(shared_data, code, n=2))
    assert cut > 0


def test_only_a_trailing_mark_is_dropped():
    assert scoring.drop_partial_character("ภาษา\ufffd") == "ภาษา"
    assert scoring.drop_partial_character("ภาษา\ufffd\ufffd") == "ภาษา"
    assert scoring.drop_partial_character("a\ufffdb") == "a\ufffdb"  # not a cut: the model wrote it
    assert scoring.drop_partial_character("") == ""


def test_scores_ignore_a_cut_character():
    golds = ["ภาษาไทย"]
    assert scoring.qa_scores("ภาษาไทย", golds, "th") == {"exact_match": 1.0, "f1": 1.0}
    from _prom_shared.hooks import qa_process_results

    doc = {"answers": {"text": golds}, "lang": "th"}
    scores = qa_process_results(doc, ["ภาษาไทย\ufffd"], "xquad")
    assert scores["exact_match"] == scores["f1"] == 1.0  # language-aware
    assert scores == qa_process_results(doc, ["ภาษาไทย"], "xquad")  # the paper's measure ignores the cut too
