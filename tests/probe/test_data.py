"""Cloze data: the project's own sets, the published formats, and k-shot prompt building."""

from __future__ import annotations

import pytest

from prom_bench.errors import UserError
from prom_bench.languages import PAPER_LANGS, in_script
from prom_bench.probe.data import build_prompts, load_cloze

ALL = (*PAPER_LANGS, "en")


def test_demo_sets_align_across_languages():
    english = load_cloze("en")
    assert len(english) >= 30
    for lang in ALL:
        items = load_cloze(lang)
        assert [i.concept for i in items] == [i.concept for i in english], lang  # same concepts, same order
        assert [i.word_en for i in items] == [i.word for i in english], lang
        for item in items:
            assert in_script(item.word, lang), (lang, item.word)
            assert item.query.endswith('"') and item.solved.startswith(item.query)
            assert item.solved[len(item.query) :].startswith(item.word + '"')
            assert "___" in item.query
        assert len({i.word for i in items}) == len(items), lang  # no two concepts share an answer


def test_prompts_never_show_the_answer():
    items = load_cloze("sw")
    prompts = build_prompts(items, shots=5, seed=0)
    for item, prompt in zip(items, prompts):
        lines = prompt.split("\n")
        assert lines[-1] == item.query and len(lines) == 6
        assert item.word not in "\n".join(lines[:-1])
    assert build_prompts(items, shots=5, seed=0) == prompts
    assert build_prompts(items, shots=5, seed=1) != prompts
    assert build_prompts(items, shots=0, seed=0) == [i.query for i in items]


def test_published_formats(shared_data):
    root = shared_data / "cloze"
    german = load_cloze("de", str(root))  # Wendler clean.csv
    assert len(german) > 100 and german[0].word_en == "book" and german[0].word == "Buch"
    chinese = load_cloze("zh", str(root))  # single "_" blank, no error column
    assert len(chinese) > 100
    tamil = load_cloze("ta", str(root / "romanlens"))  # its lang column says ml; synonyms listed
    assert len(tamil) > 80 and all(in_script(i.word, "ta") for i in tamil)
    assert all("," not in i.word and '""' not in i.solved for i in tamil)


def test_missing_language_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="no cloze data for language 'th'"):
        load_cloze("th", str(tmp_path))
    with pytest.raises(UserError, match="does not exist"):
        load_cloze("th", str(tmp_path / "nowhere"))
