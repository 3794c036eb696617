"""Language-aware EM/F1 against an independent SQuAD v1.1 reference, on real XQuAD strings."""

from __future__ import annotations

import pytest
from official_scripts import disjoint as _disjoint
from official_scripts import ref_em, ref_f1, ref_max, span_predictions, xquad_items

english_predictions = span_predictions


# --- English equals SQuAD v1.1 ----------------------------------------------------------------------------

HANDWRITTEN_EN = [
    ("The Broncos", "Denver Broncos"),
    ("an apple a day", "Apple"),
    ("U.S. Army", "the US army"),
    ("1,000 troops", "1000"),
    ("Santa Clara, California", "Santa Clara"),
    ("  the   ", "a"),
    ("Saint-Denis!", "saint denis"),
    ("", "gold"),
    ("gold gold", "gold"),
]


@pytest.mark.parametrize(("prediction", "gold"), HANDWRITTEN_EN)
def test_english_handwritten_matches_squad_v11(scoring, prediction, gold):
    scores = scoring.qa_scores(prediction, [gold], "en")
    assert scores["exact_match"] == float(ref_em(prediction, gold))
    assert scores["f1"] == pytest.approx(ref_f1(prediction, gold), abs=1e-12)


def test_english_xquad_matches_squad_v11_on_every_item(scoring, shared_data):
    checked = 0
    items = list(xquad_items(shared_data, "en"))
    for i, (context, gold, start) in enumerate(items):
        other_gold = items[(i + 7) % len(items)][1]
        golds = [gold, other_gold]  # two references: the maximum is taken over both, as SQuAD does
        for prediction in english_predictions(context, gold, start):
            ours = scoring.qa_scores(prediction, golds, "en")
            assert ours["exact_match"] == float(ref_max(ref_em, prediction, golds)), (prediction, golds)
            assert ours["f1"] == pytest.approx(ref_max(ref_f1, prediction, golds), abs=1e-12), (prediction, golds)
            checked += 1
    assert checked == 1190 * 10


# --- every XQuAD th/ar/el gold scores 1; an unrelated answer 0 --------------------------------------------


@pytest.mark.parametrize("lang", ["th", "ar", "el"])
def test_xquad_gold_scores_one_and_unrelated_zero(scoring, shared_data, lang):
    items = list(xquad_items(shared_data, lang))
    assert len(items) == 1190
    # An unrelated answer: another item's gold that shares nothing with this one: no character (Thai,
    # Greek), or for Arabic, whose long answers use most letters, no word skeleton (letters only, any alef
    # as ا, without a leading ال). Numbers are left out of the pool (٢٠١٠ and 2010 share no character).
    pool = [gold for _, gold, _ in items if not any(ch.isdigit() for ch in gold)]
    for n, (_, gold, _) in enumerate(items):
        scores = scoring.qa_scores(gold, [gold], lang)
        assert scores == {"exact_match": 1.0, "f1": 1.0}, gold
        unrelated = next(c for c in pool[n % len(pool) :] + pool if _disjoint(c, gold, lang))
        assert scoring.qa_scores(unrelated, [gold], lang) == {"exact_match": 0.0, "f1": 0.0}, (unrelated, gold)


# --- real strings where the English normaliser is wrong and ours is right ---------------------------------


def test_thai_words_not_whitespace(scoring, shared_data):
    """A Thai prediction that adds the next word to a real gold span: whitespace tokens see one token."""
    hits = 0
    for context, gold, start in xquad_items(shared_data, "th"):
        if " " in gold or len(gold) < 6:
            continue
        following = context[start + len(gold) : start + len(gold) + 12].split(" ")[0]
        if len(following) < 3:
            continue
        prediction = gold + following  # Thai writes no space between words
        assert ref_f1(prediction, gold) == 0, (prediction, gold)
        assert scoring.f1(prediction, gold, "th") > 0.3, (prediction, gold)
        hits += 1
        if hits == 20:
            break
    assert hits == 20


def test_thai_zero_width_space(scoring):
    gold = "มหาวิทยาลัยเชียงใหม่"
    prediction = "มหาวิทยาลัย\u200bเชียงใหม่"
    assert not ref_em(prediction, gold)
    assert scoring.exact_match(prediction, gold, "th") == 1.0


def test_arabic_alef_tashkeel_tatweel(scoring, shared_data):
    golds = [gold for _, gold, _ in xquad_items(shared_data, "ar") if "أ" in gold or "إ" in gold]
    assert len(golds) > 50
    for gold in golds:
        prediction = gold.replace("أ", "ا").replace("إ", "ا")  # a model (or a keyboard) dropping the hamza
        assert not ref_em(prediction, gold)
        assert scoring.exact_match(prediction, gold, "ar") == 1.0
    assert not ref_em("القاهـــرة", "القاهرة") and scoring.exact_match("القاهـــرة", "القاهرة", "ar") == 1.0
    assert not ref_em("مُحَمَّد", "محمد") and scoring.exact_match("مُحَمَّد", "محمد", "ar") == 1.0


def test_native_digits(scoring):
    assert not ref_em("٢٠١٠", "2010") and scoring.exact_match("٢٠١٠", "2010", "ar") == 1.0
    assert not ref_em("२०१०", "2010") and scoring.exact_match("२०१०", "2010", "mr") == 1.0
    assert scoring.exact_match("๒๕๕๐", "2550", "th") == 1.0


def test_greek_tonos_and_case(scoring, shared_data):
    accented = [gold for _, gold, _ in xquad_items(shared_data, "el") if any(ch in gold for ch in "άέήίόύώ")]
    assert len(accented) > 100
    for gold in accented[:200]:
        prediction = gold.upper()  # Greek capitals drop the tonos: "Αθήνα" -> "ΑΘΗΝΑ"
        assert scoring.exact_match(prediction, gold, "el") == 1.0, (prediction, gold)
    assert not ref_em("ΑΘΗΝΑ", "Αθήνα")


def test_devanagari_danda_and_marks_kept(scoring):
    assert not ref_em("मुंबई।", "मुंबई") and scoring.exact_match("मुंबई।", "मुंबई", "mr") == 1.0
    # Vowel signs are letters of the word: stripping combining marks would make these two words equal.
    assert scoring.exact_match("कमल", "कमाल", "mr") == 0.0
    assert scoring.exact_match("கலை", "கல", "ta") == 0.0
    assert scoring.exact_match("น้ำ", "นำ", "th") == 0.0


def test_malayalam_chillu(scoring):
    old, atomic = "അവന\u0d4d\u200d", "അവൻ"  # the old ZWJ encoding vs the Unicode 5.1 atomic chillu
    assert not ref_em(old, atomic)
    assert scoring.exact_match(old, atomic, "ml") == 1.0


def test_arabic_article_rule_is_explicit(scoring):
    assert scoring.AR_ARTICLE_RULE in scoring.AR_ARTICLE_RULES
    assert scoring.exact_match("الكتاب", "كتاب", "ar") == 1.0
    # The official MLQA rule deletes ال inside words too; ours only strips the prefix.
    assert scoring.remove_arabic_article("عبدالله", "mlqa").split() == ["عبد", "له"]
    assert scoring.remove_arabic_article("عبدالله", "prefix-v1") == "عبدالله"


def test_max_over_golds_and_unanswerable(scoring):
    assert scoring.qa_scores("นิวยอร์ก", ["ลอนดอน", "นิวยอร์ก"], "th")["exact_match"] == 1.0
    with pytest.raises(ValueError):
        scoring.qa_scores("x", ["", "  "], "ta")


def test_thai_fallback_is_logged(scoring, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_pythainlp(name, *args, **kwargs):
        if name.startswith("pythainlp"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pythainlp)
    monkeypatch.setattr(scoring, "_thai_fallback_logged", False)
    with caplog.at_level("WARNING", logger="prom_bench_tasks"):
        assert scoring.tokenize("แมวกิน", "th") == list("แมวกิน")
    assert "pythainlp" in caplog.text
