"""MGSM answer extraction: native digits, thousands separators, decimals, numeric comparison."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("generation", "gold", "expected"),
    [
        (" 18", "18", 1.0),
        (" ১৮ টাকা", "18", 1.0),  # Bengali digits
        (" ౧౮", "18", 1.0),  # Telugu digits
        (" ๑๘ ดอลลาร์", "18", 1.0),  # Thai digits
        (" 18.00", "18", 1.0),  # upstream's lenient filter reads this as 1800
        (" $5,600", "5,600", 1.0),  # thousands separator, on both sides
        (" 5600", "5,600", 1.0),
        (" 70,000 dola", "70000", 1.0),
        (" 1,234.5", "1234.5", 1.0),
        (" 16 - 3 - 4 = 9", "9", 1.0),  # the last number is the answer
        (" 18.5", "18", 0.0),
        (" hakuna", "18", 0.0),
        ("", "18", 0.0),
    ],
)
def test_mgsm_accuracy(scoring, generation, gold, expected):
    assert scoring.mgsm_accuracy(generation, gold) == expected


def test_parse_number(scoring):
    assert scoring.parse_number("٣٬٥٠٠٫٥") == 3500.5  # Arabic digits, thousands and decimal signs
    assert scoring.parse_number("no number") is None


@pytest.mark.parametrize("lang", ["sw", "th", "bn", "te", "en"])
def test_every_real_gold_scores_one(scoring, loaders, shared_data, lang):
    rows = loaders.mgsm_rows_from_tsv(shared_data / "mgsm" / f"mgsm_{lang}.tsv", lang)
    assert len(rows) == 250
    for row in rows:
        assert scoring.mgsm_accuracy(f" {row['answer_number']}", row["answer_number"]) == 1.0
        assert scoring.mgsm_accuracy(" 0.5", row["answer_number"]) == 0.0 or row["answer_number"] == "0.5"
