"""Language-aware answer scoring for the prom-bench tasks: pure functions, no project import.

QA scores are SQuAD v1.1 EM and F1 with a normaliser that works for every script, not just English:

1. NFKC;
2. Malayalam chillu: old-style ``consonant + virama + ZWJ`` becomes the atomic chillu letter (Unicode 5.1);
3. drop format characters (category Cf: ZWSP in Thai, ZWJ/ZWNJ, BOM);
4. native digits (any Unicode decimal digit: ٢٠١٠, २०१०, ๒๕๖๗) become ASCII digits;
5. casefold;
6. Greek: strip tonos and dialytika from Greek letters (never other combining marks);
7. remove punctuation: ASCII punctuation (as SQuAD) and every Unicode P* character (danda, Arabic comma ...);
8. Arabic: strip tashkeel and tatweel, unify alef forms (أ إ آ ٱ -> ا);
9. articles: English ``a/an/the`` as SQuAD; Arabic by a versioned rule (``AR_ARTICLE_RULE``): ``prefix-v1``
   after step 8, ``mlqa`` before it (the official MLQA script never unifies alef, so its rule sees the letters
   as written: ``لألقاب`` keeps its letters);
10. tokens: Thai by words (pythainlp newmm; logged fallback to characters), every other language by spaces.

Thai and Indic combining marks (vowel signs, viramas, tone marks) are letters of the word and are never
stripped. English (``lang="en"``) is scored exactly as the official SQuAD v1.1 script does, so the English
control is comparable with published numbers. Per-item scores are fractions (0/1 and 0..1); prom-bench
reports means in percent.

``paper_qa_scores`` is the other measure every QA task reports: the scores of the harness the PROM paper
used, the official SQuAD v1.1 script for XQuAD and IndicQA and the official MLQA v1 script for MLQA (see
its docstring). They are English-centric and kept only so that numbers can be set beside the paper's.
"""

from __future__ import annotations

import logging
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable

log = logging.getLogger("prom_bench_tasks")

# 2: the "mlqa" Arabic article rule runs before alef unification, as in the official script (1 ran it after).
NORMALISER_VERSION = "2"
# Which Arabic article rule "ar" uses. "prefix-v1": a word-initial ال is dropped when at least two letters
# remain (الكتاب -> كتاب, but ألف/الا are left alone), on alef-unified letters, so that a name and its
# hamza-less spelling still match (إلواي and الواي both become واي; ألمانيا and المانيا both مانيا).
# "mlqa": the official MLQA script's rule, which deletes every ال anywhere in the letters as written, also
# inside words (e.g. in a name like "عبدالله"). Changing the default changes what a score means: bump the
# task versions.
AR_ARTICLE_RULE = "prefix-v1"
AR_ARTICLE_RULES = ("prefix-v1", "mlqa")

_ASCII_PUNCT = set(string.punctuation)
_CHILLU = {"ണ": "ൺ", "ന": "ൻ", "ര": "ർ", "ല": "ൽ", "ള": "ൾ", "ക": "ൿ"}
_CHILLU_RE = re.compile("([ണനരലളക])\u0d4d\u200d")
_TASHKEEL_RE = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ALEF_RE = re.compile("[\u0622\u0623\u0625\u0671]")
_GREEK_ACCENTS = {"\u0301", "\u0308", "\u0344", "\u0342", "\u0313", "\u0314"}
_AR_PREFIX_RE = re.compile(r"(?:(?<=\s)|^)ال(?=\w\w)")
_EN_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
_thai_fallback_logged = False


# --- the generated text -----------------------------------------------------------------------------------

REPLACEMENT_CHARACTER = "\ufffd"


def drop_partial_character(text: str) -> str:
    """The generation without a character cut in half by the token budget.

    A byte-level or byte-fallback tokenizer can stop mid-character when ``max_gen_toks`` runs out (a Thai or
    Telugu letter is 3 UTF-8 bytes, often 2-3 tokens); the decoder then ends the text with U+FFFD for the
    incomplete bytes. That mark is not something the model wrote, so it is dropped before scoring and storing.
    """
    return text.rstrip(REPLACEMENT_CHARACTER)


# --- normalisation ----------------------------------------------------------------------------------------


def squad_normalize(text: str) -> str:
    """The official SQuAD v1.1 ``normalize_answer`` (English only): lower, ASCII punctuation, articles, spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCT)
    text = _EN_ARTICLES_RE.sub(" ", text)
    return " ".join(text.split())


def normalize(text: str, lang: str, *, ar_article_rule: str = AR_ARTICLE_RULE) -> str:
    """Normalise an answer for comparison in ``lang`` (ISO 639-1). Returns space-joined text."""
    if lang == "en":
        return squad_normalize(text)
    text = unicodedata.normalize("NFKC", text)
    text = _CHILLU_RE.sub(lambda m: _CHILLU[m.group(1)], text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = "".join(str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text)
    text = text.casefold()
    text = _strip_greek_accents(text)
    # Punctuation becomes a space (a danda or Arabic comma separates words); SQuAD deletes ASCII punctuation,
    # which keeps "1,000" and "U.S." as one token, so ASCII punctuation is deleted the same way. (No
    # punctuation is a tashkeel, tatweel or alef character, so this commutes with the Arabic steps below.)
    text = "".join("" if ch in _ASCII_PUNCT else " " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    if lang == "ar" and ar_article_rule == "mlqa":  # the official rule sees the letters as written
        text = remove_arabic_article(text, ar_article_rule)
    text = _TASHKEEL_RE.sub("", text)
    text = _ALEF_RE.sub("\u0627", text)
    if lang == "ar" and ar_article_rule != "mlqa":
        text = remove_arabic_article(text, ar_article_rule)
    return " ".join(text.split())


def remove_arabic_article(text: str, rule: str = AR_ARTICLE_RULE) -> str:
    """Apply a named Arabic article rule (see ``AR_ARTICLE_RULES``) to normalised text."""
    if rule == "prefix-v1":
        return _AR_PREFIX_RE.sub("", text)
    if rule == "mlqa":
        # The official script's pattern is "\\sال^|ال"; its first branch can never match (``^`` after a
        # character, without MULTILINE), so it replaces every ال, left to right, by a space.
        return text.replace("ال", " ")
    raise ValueError(f"unknown Arabic article rule '{rule}'; valid: {', '.join(AR_ARTICLE_RULES)}")


def _strip_greek_accents(text: str) -> str:
    out = []
    for ch in text:
        if "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff":
            decomposed = unicodedata.normalize("NFD", ch)
            ch = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _GREEK_ACCENTS))
        out.append(ch)
    return "".join(out)


# --- tokenisation -----------------------------------------------------------------------------------------


def tokenize(normalized: str, lang: str) -> list[str]:
    """Tokens of already-normalised text: Thai words (it writes no spaces between words), else spaces."""
    if lang == "th":
        return _thai_words(normalized)
    return normalized.split()


def _thai_words(text: str) -> list[str]:
    global _thai_fallback_logged
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError:
        if not _thai_fallback_logged:
            log.warning("pythainlp is not installed: Thai F1 falls back to character tokens (pip install pythainlp)")
            _thai_fallback_logged = True
        return [ch for ch in text if not ch.isspace()]
    return [tok for tok in word_tokenize(text, engine="newmm", keep_whitespace=False) if tok.strip()]


# --- EM / F1 ----------------------------------------------------------------------------------------------


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    """SQuAD v1.1 token F1 of two token lists (0.0 when nothing overlaps, as in v1.1)."""
    common = Counter(prediction_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str, lang: str) -> float:
    """1.0 if the normalised strings are equal (for Thai: equal ignoring spaces), else 0.0."""
    pred, ref = normalize(prediction, lang), normalize(gold, lang)
    if lang == "th":
        pred, ref = pred.replace(" ", ""), ref.replace(" ", "")
    return float(pred == ref)


def f1(prediction: str, gold: str, lang: str) -> float:
    """SQuAD v1.1 token F1 on language-aware tokens (0.0 when nothing overlaps, as in v1.1)."""
    return _token_f1(tokenize(normalize(prediction, lang), lang), tokenize(normalize(gold, lang), lang))


def qa_scores(prediction: str, golds: Iterable[str], lang: str) -> dict[str, float]:
    """``{"exact_match": 0/1, "f1": 0..1}``: each the maximum over the gold answers, as SQuAD."""
    golds = [g for g in golds if g.strip()]
    if not golds:
        raise ValueError("an item without a gold answer cannot be scored; unanswerable items are filtered at load time")
    return {
        "exact_match": max(exact_match(prediction, g, lang) for g in golds),
        "f1": max(f1(prediction, g, lang) for g in golds),
    }


# --- the paper's scores: the official SQuAD v1.1 and MLQA v1 scripts ---------------------------------------

PAPER_FAMILIES = ("xquad", "mlqa", "indicqa")
# The official MLQA v1 script (mlqa_evaluation_v1.py), per answer language: the words its article rule
# removes (whole words, after lowercasing and punctuation removal) and how it tokenises. Hindi and Chinese
# have no article rule; Arabic's is a substring rule (every ال, see ``mlqa_normalize``); Chinese splits every
# CJK ideograph U+4E00..U+9FA5 into its own token, the others split on whitespace.
MLQA_ARTICLES = {
    "en": ("a", "an", "the"),
    "es": ("un", "una", "unos", "unas", "el", "la", "los", "las"),
    "hi": (),
    "vi": ("của", "là", "cái", "chiếc", "những"),
    "de": ("ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"),
    "ar": (),
    "zh": (),
}
MLQA_LANGS = tuple(MLQA_ARTICLES)
_MLQA_ARTICLE_RES = {
    lang: re.compile(r"\b(?:" + "|".join(words) + r")\b") for lang, words in MLQA_ARTICLES.items() if words
}
_CJK_RE = re.compile("([\u4e00-\u9fa5])")


def mlqa_normalize(text: str, lang: str) -> str:
    """The official MLQA v1 ``normalize_answer`` for answer language ``lang``: space-joined tokens.

    Steps, in the script's order: ``str.lower``; delete every character that is ASCII punctuation or in a
    Unicode P* category (deleted, not replaced: "1,000" -> "1000", "Saint-Denis" -> "SaintDenis"); the
    article rule (Arabic: every ال, anywhere, becomes a space, so "عبدالله" -> "عبد له"); tokens (Chinese:
    each ideograph alone, then spaces; others: spaces).
    """
    if lang not in MLQA_ARTICLES:
        raise ValueError(f"MLQA v1 has no answer language '{lang}'; valid: {', '.join(MLQA_LANGS)}")
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCT and not unicodedata.category(ch).startswith("P"))
    if lang == "ar":
        text = remove_arabic_article(text, "mlqa")
    elif lang in _MLQA_ARTICLE_RES:
        text = _MLQA_ARTICLE_RES[lang].sub(" ", text)
    if lang == "zh":  # punctuation is gone already, so only ideographs stand alone
        text = _CJK_RE.sub(r" \1 ", text)
    return " ".join(text.split())


def paper_normalize(text: str, family: str, lang: str) -> str:
    """The answer as the paper's harness compared it: SQuAD v1.1 for XQuAD and IndicQA, MLQA v1 for MLQA."""
    if family == "mlqa":
        return mlqa_normalize(text, lang)
    if family in ("xquad", "indicqa"):
        return squad_normalize(text)
    raise ValueError(f"no paper metric for family '{family}'; valid: {', '.join(PAPER_FAMILIES)}")


def paper_qa_scores(prediction: str, golds: Iterable[str], family: str, lang: str) -> dict[str, float]:
    """``{"exact_match": 0/1, "f1": 0..1}`` as the PROM paper's harness scored ``family``, max over ``golds``.

    XQuAD (Hugging Face ``squad`` metric = the official SQuAD v1.1 script) and IndicQA (the authors' addition
    on the same metric): English lowercasing, ASCII punctuation, English articles, whitespace tokens, for
    every language (``lang`` is not used). MLQA: the official MLQA v1 script for answer language ``lang``
    (``mlqa_normalize``). Exactly as those scripts, every gold answer counts (none is skipped) and the
    maximum over them is taken for EM and F1 separately.
    """
    golds = list(golds)
    if not golds:
        raise ValueError("an item without a gold answer cannot be scored; unanswerable items are filtered at load time")
    pred = paper_normalize(prediction, family, lang)
    refs = [paper_normalize(g, family, lang) for g in golds]
    return {
        "exact_match": max(float(pred == ref) for ref in refs),
        "f1": max(_token_f1(pred.split(), ref.split()) for ref in refs),
    }


# --- MGSM -------------------------------------------------------------------------------------------------

# A number: digits with optional thousands groups (comma, Arabic thousands sign, thin/no-break space,
# apostrophe) and an optional decimal part ('.' or the Arabic decimal separator). Matched after native
# digits are mapped to ASCII.
_NUMBER_RE = re.compile(r"-?\d+(?:[,\u066c\u00a0\u202f']\d{3})*(?:[.\u066b]\d+)?")


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text)


def parse_number(text: str) -> float | None:
    """The value of a number written with any decimal digits, thousands separators and a decimal point."""
    match = _NUMBER_RE.search(_ascii_digits(unicodedata.normalize("NFKC", text).replace("\u2212", "-")))
    return None if match is None else _to_float(match.group(0))


def extract_answer_number(generation: str) -> float | None:
    """The last number in the generated answer (a direct answer ends with it: "... = 18", "18 บาท" -> 18)."""
    text = _ascii_digits(unicodedata.normalize("NFKC", generation).replace("\u2212", "-"))
    matches = _NUMBER_RE.findall(text)
    return None if not matches else _to_float(matches[-1])


def _to_float(number: str) -> float:
    number = re.sub("[,\u066c\u00a0\u202f']", "", number).replace("\u066b", ".")
    return float(number)


def mgsm_accuracy(generation: str, gold: str | float | int) -> float:
    """1.0 if the extracted number equals the gold number (numerically: "18.00" == 18, "5,600" == 5600)."""
    target = float(gold) if isinstance(gold, (int, float)) else parse_number(str(gold))
    predicted = extract_answer_number(generation)
    if target is None:
        raise ValueError(f"gold answer {gold!r} is not a number")
    return float(predicted is not None and abs(predicted - target) < 1e-6)
