"""Self-checks of the project's demo data: alignment, scripts, answer spans, upstream formats."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from prom_bench.languages import PAPER_LANGS, get, script_share
from prom_bench.paths import demo_data_dir

DEMO = demo_data_dir()
ALL_LANGS = ("en", *PAPER_LANGS)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _letters_in_script(text: str, lang: str) -> float:
    return script_share(text, get(lang).script)


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_instructions_aligned_complete_and_in_script(lang):
    english = _jsonl(DEMO / "instructions" / "en.jsonl")
    rows = _jsonl(DEMO / "instructions" / f"{lang}.jsonl")
    assert [r["id"] for r in rows] == [r["id"] for r in english]
    assert len({r["id"] for r in rows}) == len(rows) >= 20
    for row, en in zip(rows, english):
        assert set(row) == {"id", "instruction", "input", "output"}
        assert row["instruction"].strip() and row["output"].strip()
        assert bool(row["input"]) == bool(en["input"]), row["id"]
        # Whole record: numbers and units like "100 °C" sit inside target-script text.
        text = " ".join((row["instruction"], row["input"], row["output"]))
        assert _letters_in_script(text, lang) >= 0.9, (lang, row["id"])


def test_english_instructions_are_short():
    for row in _jsonl(DEMO / "instructions" / "en.jsonl"):
        assert len(" ".join((row["instruction"], row["input"], row["output"])).split()) < 40, row["id"]


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_parallel_aligned_and_in_script(lang):
    english = (DEMO / "parallel" / "en.txt").read_text(encoding="utf-8").splitlines()
    lines = (DEMO / "parallel" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(english) >= 20
    assert all(line.strip() == line and line for line in lines)
    assert len(set(lines)) == len(lines)
    for line in lines:
        assert _letters_in_script(line, lang) >= 0.9, (lang, line)


SQUAD_FILES = [
    *[(f"xquad/xquad.{lang}.json", lang) for lang in ("en", "th", "ar", "el")],
    ("mlqa/test-context-ar-question-ar.json", "ar"),
    *[(f"indicqa/indicqa.{lang}.json", lang) for lang in ("ta", "mr", "ml")],
]


@pytest.mark.parametrize(("relpath", "lang"), SQUAD_FILES)
def test_squad_files_have_exact_spans(relpath, lang):
    doc = json.loads((DEMO / "eval" / relpath).read_text(encoding="utf-8"))
    assert set(doc) == {"data", "version"}
    ids = []
    for article in doc["data"]:
        assert article["title"]
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            assert _letters_in_script(context, lang) >= 0.9
            for qa in paragraph["qas"]:
                ids.append(qa["id"])
                assert _letters_in_script(qa["question"], lang) >= 0.9, qa["id"]
                (answer,) = qa["answers"]
                start = answer["answer_start"]
                assert context[start : start + len(answer["text"])] == answer["text"], qa["id"]
    assert 5 <= len(ids) == len(set(ids))


def test_parallel_qa_sets_share_ids():
    def ids(relpath):
        doc = json.loads((DEMO / "eval" / relpath).read_text(encoding="utf-8"))
        return [qa["id"] for a in doc["data"] for p in a["paragraphs"] for qa in p["qas"]]

    assert len({tuple(ids(f"xquad/xquad.{lang}.json")) for lang in ("en", "th", "ar", "el")}) == 1
    assert len({tuple(ids(f"indicqa/indicqa.{lang}.json")) for lang in ("ta", "mr", "ml")}) == 1


def test_mgsm_files_are_two_column_tsv_with_shared_answers():
    answers = {}
    for lang in ("en", "sw", "th", "bn", "te"):
        path = DEMO / "eval" / "mgsm" / f"mgsm_{lang}.tsv"
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        assert all(len(row) == 2 for row in rows)
        for question, answer in rows:
            assert _letters_in_script(question, lang) >= 0.9
            int(answer)
        answers[lang] = [answer for _, answer in rows]
    assert len(set(map(tuple, answers.values()))) == 1 and len(answers["en"]) >= 5


def test_mgsm_english_answers_follow_from_the_numbers():
    """An independent check of the arithmetic: each English answer recomputed from its question."""
    rows = [line.split("\t") for line in (DEMO / "eval" / "mgsm" / "mgsm_en.tsv").read_text().splitlines()]
    expected = [3 * 4 - 2, 20 - 13, 2 * 5 + 3, 12 * 2 * 3, 30 - 30 // 2, 56 // 8]
    assert [int(answer) for _, answer in rows] == expected


def test_every_folder_has_a_card():
    for folder in ("instructions", "parallel", "eval"):
        card = (DEMO / folder / "README.md").read_text(encoding="utf-8")
        assert "Apache-2.0" in card and "prom-bench" in card
