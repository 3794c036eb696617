"""Independent references for the task scorers: the official SQuAD v1.1 and MLQA v1 evaluation scripts,
re-implemented for the tests step by step in the scripts' own order (not imported from the project), and
helpers that read real XQuAD items.

SQuAD v1.1 (``evaluate-v1.1.py``, used by the Hugging Face ``squad`` metric): lower, drop ASCII punctuation,
replace the words a/an/the by a space, collapse whitespace; tokens are whitespace-separated.
MLQA v1 (``mlqa_evaluation_v1.py``): lower; drop every character of the set built from all code points
whose Unicode category starts with P, plus ASCII punctuation; the answer language's article rule (Arabic:
the pattern ``\\sال^|ال`` replaced by a space); tokens by whitespace (Chinese: each ideograph in
U+4E00..U+9FA5 and each punctuation character alone, whitespace splits the rest), joined by one space.
"""

from __future__ import annotations

import json
import re
import string
import sys
import unicodedata
from collections import Counter

# ---------------------------------------------------------------------------------------------- SQuAD v1.1


def ref_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def _overlap_f1(prediction_tokens, ground_truth_tokens):
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def ref_f1(prediction, ground_truth):
    return _overlap_f1(ref_normalize_answer(prediction).split(), ref_normalize_answer(ground_truth).split())


def ref_em(prediction, ground_truth):
    return ref_normalize_answer(prediction) == ref_normalize_answer(ground_truth)


def ref_max(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


# ------------------------------------------------------------------------------------------------- MLQA v1

# Built the way the script builds it: every code point below sys.maxunicode, by category.
MLQA_PUNCT = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}
MLQA_PUNCT |= set(string.punctuation)
_MLQA_ARTICLE_PATTERNS = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": "\\sال^|ال",
}


def _mlqa_segments(text, lang):
    if lang != "zh":
        return text.split()
    out, pending = [], ""
    for char in text:
        if re.search("[\u4e00-\u9fa5]", char) or char in MLQA_PUNCT:
            out.extend(pending.split())
            pending = ""
            out.append(char)
        else:
            pending += char
    out.extend(pending.split())
    return out


def ref_mlqa_normalize(s, lang):
    text = s.lower()
    text = "".join(ch for ch in text if ch not in MLQA_PUNCT)
    if lang in _MLQA_ARTICLE_PATTERNS:
        text = re.sub(_MLQA_ARTICLE_PATTERNS[lang], " ", text)
    elif lang not in ("hi", "zh"):
        raise ValueError(lang)
    return " ".join(t for t in _mlqa_segments(text, lang) if t.strip() != "")


def ref_mlqa_em(prediction, ground_truth, lang):
    return ref_mlqa_normalize(prediction, lang) == ref_mlqa_normalize(ground_truth, lang)


def ref_mlqa_f1(prediction, ground_truth, lang):
    return _overlap_f1(ref_mlqa_normalize(prediction, lang).split(), ref_mlqa_normalize(ground_truth, lang).split())


# ------------------------------------------------------------------------------------------- real XQuAD


def xquad_items(shared_data, lang):
    """(context, gold, answer_start) of every XQuAD item of ``lang`` (1190 each)."""
    payload = json.loads((shared_data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    for article in payload["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield paragraph["context"], qa["answers"][0]["text"], qa["answers"][0]["answer_start"]


def span_predictions(context, gold, start):
    """Realistic predictions around a gold span: exact, shorter, longer, shifted, lower-cased, off-topic."""
    words = gold.split()
    before = context[:start].split()[-3:]
    after = context[start + len(gold) :].split()[:3]
    return [
        gold,
        " ".join(words[1:]) or gold,
        " ".join(words[:-1]) or gold,
        " ".join(before + words),
        " ".join(words + after),
        " ".join(before[-1:] + words[1:] + after[:1]),
        gold.lower() + ".",
        "The " + gold,
        "photosynthesis in green plants",
        "",
    ]


def unrelated_pool(items):
    """Golds usable as unrelated answers: numbers are left out (٢٠١٠ and 2010 share no character)."""
    return [gold for _, gold, _ in items if not any(ch.isdigit() for ch in gold)]


def disjoint(a: str, b: str, lang: str) -> bool:
    """Two answers that share nothing: no character (Thai, Greek), or for Arabic, whose long answers use most
    letters, no word skeleton (letters only, any alef as ا, without a leading ال); for English no word (as
    the SQuAD reference normalises them)."""
    if lang == "en":
        return not set(ref_normalize_answer(a).split()) & set(ref_normalize_answer(b).split())
    if lang != "ar":
        return not {ch for ch in a if not ch.isspace()} & {ch for ch in b if not ch.isspace()}

    def skeletons(text):
        words = ("".join("ا" if ch in "أإآٱ" else ch for ch in w if "\u0621" <= ch <= "\u064a") for w in text.split())
        return {w[2:] if w.startswith("ال") else w for w in words} - {""}

    return not skeletons(a) & skeletons(b)
