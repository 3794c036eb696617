"""Paired bootstrap and the dominance rule, against known answers and a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

from prom_bench.report.bootstrap import compare_records, paired_bootstrap, paired_scores
from prom_bench.report.winloss import LOSS, NEITHER, WIN, compare_metrics, dominance


def test_identical_systems_give_zero_difference_and_an_interval_containing_zero():
    scores = np.random.default_rng(1).random(200)
    diff, low, high = paired_bootstrap(scores, scores.copy())
    assert diff == 0.0 and low <= 0.0 <= high
    assert low == high == 0.0  # every paired difference is 0, so every resample mean is 0


def test_a_constant_shift_gives_an_interval_equal_to_the_shift():
    base = np.random.default_rng(2).random(150)
    diff, low, high = paired_bootstrap(base + 0.25, base)
    assert diff == pytest.approx(0.25) and low == pytest.approx(0.25) and high == pytest.approx(0.25)


def test_matches_a_direct_numpy_loop_with_the_same_draws():
    rng = np.random.default_rng(3)
    a, b = rng.random(80), rng.random(80)
    diff, low, high = paired_bootstrap(a, b, resamples=500, seed=7, chunk=500)
    # Direct computation: the same generator, one resample at a time.
    draws = np.random.default_rng(7).integers(0, 80, size=(500, 80))
    means = [float(np.mean(a[idx] - b[idx])) for idx in draws]
    assert diff == pytest.approx(float(np.mean(a - b)))
    assert low == pytest.approx(np.percentile(means, 2.5)) and high == pytest.approx(np.percentile(means, 97.5))


def test_interval_agrees_with_the_normal_approximation():
    # For a mean of n = 2000 paired differences the bootstrap interval is close to mean +- 1.96 sd / sqrt(n).
    rng = np.random.default_rng(4)
    a = (rng.random(2000) < 0.6).astype(float)
    b = (rng.random(2000) < 0.5).astype(float)
    diff, low, high = paired_bootstrap(a, b, resamples=4000, seed=0)
    half = 1.96 * np.std(a - b) / np.sqrt(2000)
    assert low == pytest.approx(diff - half, abs=0.006) and high == pytest.approx(diff + half, abs=0.006)


def test_chunking_does_not_change_the_answer():
    rng = np.random.default_rng(5)
    a, b = rng.random(60), rng.random(60)
    assert paired_bootstrap(a, b, chunk=7) == paired_bootstrap(a, b, chunk=1000)


def test_scores_are_paired_by_doc_id_not_by_position():
    a = [{"doc_id": 2, "accuracy": 1}, {"doc_id": 0, "accuracy": 0}, {"doc_id": 1, "accuracy": 1}]
    b = [
        {"doc_id": 0, "accuracy": 0},
        {"doc_id": 1, "accuracy": 1},
        {"doc_id": 2, "accuracy": 1},
        {"doc_id": 3, "accuracy": 1},
    ]
    sa, sb = paired_scores(a, b, "accuracy")
    assert sa.tolist() == sb.tolist() == [0.0, 1.0, 1.0]  # doc 3 has no partner and is left out
    diffs = compare_records({"samples": a}, {"samples": b}, ("accuracy",))
    assert diffs[0].diff == 0.0 and diffs[0].n == 3 and diffs[0].sign == 0


def test_compare_records_reports_percent_and_none_without_samples():
    a = {"samples": [{"doc_id": i, "exact_match": 1, "f1": 1.0} for i in range(30)]}
    b = {"samples": [{"doc_id": i, "exact_match": 0, "f1": 0.5} for i in range(30)]}
    em, f1 = compare_records(a, b, ("exact_match", "f1"))
    assert (em.diff, em.low, em.high, em.sign) == (100.0, 100.0, 100.0, 1)
    assert f1.diff == pytest.approx(50.0) and f1.sign == 1
    assert compare_records({"samples": []}, b, ("exact_match",)) is None


def test_rejects_unpaired_input():
    with pytest.raises(ValueError):
        paired_bootstrap(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize(
    "signs, outcome",
    [
        ([1, 1], WIN),
        ([1, 0], WIN),
        ([0, 0], NEITHER),
        ([1, -1], NEITHER),
        ([-1, 0], LOSS),
        ([-1, -1], LOSS),
        ([1], WIN),
        ([0], NEITHER),
    ],
)
def test_dominance_rule(signs, outcome):
    assert dominance(signs) == outcome


def test_compare_metrics_on_the_papers_trade_off_cells():
    assert (
        compare_metrics({"exact_match": 3.4, "f1": 16.8}, {"exact_match": 4.2, "f1": 16.6}, ("exact_match", "f1"))
        == NEITHER
    )
    assert compare_metrics({"accuracy": 0.4}, {"accuracy": 0.4}, ("accuracy",)) == NEITHER
    assert (
        compare_metrics({"exact_match": 10.7, "f1": 22.5}, {"exact_match": 2.4, "f1": 14.9}, ("exact_match", "f1"))
        == WIN
    )
    assert compare_metrics({"exact_match": 1.0}, {"exact_match": 2.0, "f1": 3.0}, ("exact_match", "f1")) is None
