"""Generation budgets in the model's tokens: the inflation measure and the budget each task really ran with."""

from __future__ import annotations

import math

import pytest

from prom_bench import budgets, models
from prom_bench.errors import UserError
from prom_bench.evaluation import evaluate
from prom_bench.paths import demo_data_dir


@pytest.fixture(scope="module")
def tiny():
    ref = models.resolve("tiny")
    _, tokenizer = models.load(ref)
    return ref, tokenizer


def test_inflation_counts_tokens_per_english_token(tiny, tmp_path):
    _, tokenizer = tiny
    (tmp_path / "en.txt").write_text("a cat\nthe dog\n", encoding="utf-8")
    (tmp_path / "xx.txt").write_text("a cat a cat a cat\nthe dog the dog the dog\n", encoding="utf-8")
    english = sum(len(tokenizer(t, add_special_tokens=False).input_ids) for t in ("a cat", "the dog"))
    other = sum(
        len(tokenizer(t, add_special_tokens=False).input_ids) for t in ("a cat a cat a cat", "the dog the dog the dog")
    )
    assert budgets.token_inflation(tokenizer, "xx", tmp_path) == pytest.approx(other / english)
    assert budgets.token_inflation(tokenizer, "en", tmp_path) == 1.0
    (tmp_path / "yy.txt").write_text("a\nb\n", encoding="utf-8")  # fewer tokens than English: never a smaller budget
    assert budgets.token_inflation(tokenizer, "yy", tmp_path) == 1.0


def test_a_costly_script_inflates(tiny):
    _, tokenizer = tiny
    # Mistral's 32k vocabulary has few Thai or Telugu pieces: byte fallback makes them much dearer than English
    assert budgets.token_inflation(tokenizer, "th") > 2.0
    assert budgets.token_inflation(tokenizer, "te") > budgets.token_inflation(tokenizer, "sw")


def test_a_language_without_parallel_text_is_one_line(tiny, tmp_path):
    _, tokenizer = tiny
    (tmp_path / "en.txt").write_text("a\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"no parallel text for 'zz'.*eval.budget=task"):
        budgets.token_inflation(tokenizer, "zz", tmp_path)


def test_each_task_runs_with_its_budget(tiny):
    ref, tokenizer = tiny
    data = demo_data_dir() / "eval"
    task_budget, scaled = (
        evaluate(ref.path, ["prom_xquad_th", "prom_mgsm_en"], data_dir=data, limit=1, budget=b)
        for b in ("task", "inflation")
    )
    assert [r.max_gen_toks for r in task_budget] == [64, 32]  # the tasks' own (tasks/*/prom_*.yaml)
    th = budgets.token_inflation(tokenizer, "th")
    assert [r.max_gen_toks for r in scaled] == [math.ceil(64 * th), 32]  # English is the unit: unchanged
    fixed = evaluate(ref.path, ["prom_xquad_th"], data_dir=data, limit=1, max_gen_toks=5, budget="inflation")
    assert fixed[0].max_gen_toks == 5  # an explicit cap wins


def test_unknown_budget_is_one_line(tiny):
    ref, _ = tiny
    with pytest.raises(UserError, match="unknown generation budget 'tokens'"):
        evaluate(ref.path, ["prom_xquad_th"], budget="tokens")
