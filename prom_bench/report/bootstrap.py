"""Paired bootstrap over per-item scores: a confidence interval for the difference of two systems.

Both systems answered the same items; pairing by ``doc_id`` keeps the item difficulty out of the
variance, so the interval reflects only how the two systems differ on the same questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class Difference:
    """``a - b`` for one metric, in the record's units (percent), with a percentile bootstrap CI."""

    metric: str
    diff: float
    low: float
    high: float
    n: int  # paired items
    level: float = DEFAULT_LEVEL

    @property
    def sign(self) -> int:
        """+1 when the whole interval is above 0, -1 when below, 0 when it contains 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def paired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    chunk: int = 256,
) -> tuple[float, float, float]:
    """Mean difference of paired scores and its percentile bootstrap interval.

    Args:
        a, b: per-item scores of the two systems, aligned item by item. # shape: [n]
        resamples: bootstrap resamples B; each draws n items with replacement.
        level: coverage of the interval (0.95 -> 2.5th and 97.5th percentiles).
        seed: seed of the numpy generator (same seed, same interval).
        chunk: resamples drawn per step, to bound memory (chunk * n indices at a time).

    Returns:
        (mean(a - b), low, high), in the units of ``a`` and ``b``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"paired scores need two non-empty 1-d arrays of one length, got {a.shape} and {b.shape}")
    delta = a - b  # shape: [n]
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        idx = rng.integers(0, delta.size, size=(stop - start, delta.size))  # shape: [chunk, n]
        means[start:stop] = delta[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(delta.mean()), float(low), float(high)


def paired_scores(samples_a: list[dict], samples_b: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-item scores of ``metric`` for the items both systems have, aligned by ``doc_id``.

    Returns:
        Two arrays in sorted doc_id order. # shape: [n_common]
    """

    def by_doc(samples: list[dict]) -> dict:
        scores = {}
        for sample in samples:
            if metric in sample and sample[metric] is not None and sample.get("doc_id") not in scores:
                scores[sample.get("doc_id")] = float(sample[metric])
        return scores

    sa, sb = by_doc(samples_a), by_doc(samples_b)
    common = sorted(set(sa) & set(sb), key=lambda d: (str(type(d)), d))
    return np.array([sa[d] for d in common]), np.array([sb[d] for d in common])


def compare_records(
    record_a: dict,
    record_b: dict,
    metrics: tuple[str, ...],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> list[Difference] | None:
    """Bootstrap CIs of ``a - b`` for each metric of a cell, in percent; None without paired samples.

    Samples hold 0-1 scores (EM 0/1, F1 0..1, accuracy 0/1); record metrics are percent, so the
    differences are scaled by 100 to read beside the tables.
    """
    out = []
    for metric in metrics:
        a, b = paired_scores(record_a.get("samples") or [], record_b.get("samples") or [], metric)
        if a.size == 0:
            return None
        diff, low, high = paired_bootstrap(a * 100.0, b * 100.0, resamples=resamples, level=level, seed=seed)
        out.append(Difference(metric, diff, low, high, int(a.size), level))
    return out
