from __future__ import annotations

import pytest

from prom_bench import languages
from prom_bench.errors import UserError


def test_table_covers_the_paper_and_english():
    # The paper's nine, English (controls), and Hindi, whose IndicQA cell is in tasks/ (data declared by the user)
    assert set(languages.LANGUAGES) == set(languages.PAPER_LANGS) | {"en", "hi"}
    # The paper's regulation outcome for LLaMA2-7B: lambda = 0 for ar, ta, ml, te.
    no_pivot = {c for c, lang in languages.LANGUAGES.items() if lang.pivots_llama2_7b is False}
    assert no_pivot == {"ar", "ta", "ml", "te"}


def test_paper_cells_are_eleven():
    cells = [t for c in languages.PAPER_LANGS for t in languages.get(c).tasks]
    assert len(cells) == 11 and len(set(cells)) == 11


def test_parse_langs():
    assert languages.parse_langs("all") == list(languages.PAPER_LANGS)
    assert languages.parse_langs("th, ar,th") == ["th", "ar"]
    with pytest.raises(UserError, match="unknown language 'tha'.*did you mean 'th'"):
        languages.parse_langs("tha")
    with pytest.raises(UserError, match="pivot"):
        languages.parse_langs("en")


def _with_files():
    """The languages whose FLORES-200 and NTREX-128 files ../shared/data holds (the paper's nine and English)."""
    return [languages.get(c) for c in (*languages.PAPER_LANGS, "en")]


def test_codes_match_real_flores_and_ntrex_files(shared_data):
    for lang in _with_files():
        assert (shared_data / "flores200_devtest" / f"{lang.flores}.devtest").is_file(), lang.code
        assert (shared_data / "ntrex128" / f"newstest2019-ref.{lang.ntrex}.txt").is_file(), lang.code


def test_script_detection_on_real_flores_sentences(shared_data):
    for lang in _with_files():
        lines = (
            (shared_data / "flores200_devtest" / f"{lang.flores}.devtest").read_text(encoding="utf-8").splitlines()[:50]
        )
        for line in lines:
            assert languages.in_script(line, lang.code), (lang.code, line)
        # and a sentence of another script is rejected
        other = "th" if lang.script != "Thai" else "ar"
        other_line = (
            (shared_data / "flores200_devtest" / f"{languages.get(other).flores}.devtest")
            .read_text(encoding="utf-8")
            .splitlines()[0]
        )
        assert not languages.in_script(other_line, lang.code), (lang.code, other_line)
