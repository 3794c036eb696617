"""The regulation decision: verdicts, the undetermined logic and its policies, the layer convention."""

from __future__ import annotations

import dataclasses

import pytest

from prom_bench.errors import UserError
from prom_bench.probe.config import ProbeConfig
from prom_bench.probe.decision import Decision, decide, decision_block, verdict
from trainer.config import TrainConfig, resolve_pivot_layer


def _curve(p_en: float, p_t: float, band: float = 0.01, n: int = 30, layers: int = 4) -> dict:
    return {
        "p_en": [p_en] * layers,
        "p_en_band": [band] * layers,
        "p_target": [p_t] * layers,
        "p_target_band": [band] * layers,
        "n": n,
        "num_layers": layers,
    }


def test_swapping_the_probabilities_flips_the_decision():
    cfg = ProbeConfig(floor=1e-3)
    pivots = decide("th", _curve(0.30, 0.05), 3, cfg)
    swapped = decide("th", _curve(0.05, 0.30), 3, cfg)
    assert (pivots.status, pivots.pivots) == ("pivots", True)
    assert (swapped.status, swapped.pivots) == ("no-pivot", False)
    assert pivots.pivot_weight(0.1) == 0.1 and swapped.pivot_weight(0.1) == 0.0
    assert (pivots.p_en, pivots.p_target, pivots.n, pivots.layer) == (0.30, 0.05, 30, 3)


def test_overlapping_bands_and_floor_are_undetermined():
    assert verdict(0.30, 0.02, 0.27, 0.02, 1e-3)[0] == "undetermined"  # 0.28 <= 0.29: bands touch
    assert verdict(0.30, 0.01, 0.27, 0.01, 1e-3)[0] == "pivots"  # 0.29 > 0.28: apart
    assert verdict(2e-6, 1e-9, 1e-9, 1e-12, 1e-3)[0] == "undetermined"  # apart, but both are noise
    assert verdict(2e-6, 1e-9, 1e-9, 1e-12, 0.0)[0] == "pivots"


@pytest.mark.parametrize(
    ("policy", "lang", "expected"),
    [("pivot", "ta", True), ("no-pivot", "th", False), ("paper", "ta", False), ("paper", "th", True)],
)
def test_undetermined_policy(policy, lang, expected):
    decision = decide(lang, _curve(0.2, 0.2), 2, ProbeConfig(undetermined=policy))
    assert decision.status == "undetermined" and decision.policy == policy and decision.pivots is expected


def test_default_policy_keeps_the_pivot():
    decision = decide("ar", _curve(1e-6, 1e-7, band=1e-9), 2, ProbeConfig())
    assert decision.status == "undetermined" and decision.pivots and decision.pivot_weight(0.1) == 0.1


def test_decision_round_trips_through_json_fields():
    decision = decide("el", _curve(0.3, 0.1), 1, ProbeConfig())
    data = dataclasses.asdict(decision)
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in data.values())
    assert Decision(**data) == decision


def test_the_decision_reads_the_block_the_trainer_resolves():
    # one setting: unset, the probe follows the training pivot_layer (default: the trainer's own default)
    assert ProbeConfig().layer is None
    for layers in (4, 8, 30, 32, 40):
        assert decision_block(ProbeConfig(), None, layers) == resolve_pivot_layer(TrainConfig().pivot_layer, layers)
        for frac in (0.25, 0.5, 0.75, 0.9, 0.99):  # 0.99 once gave block N here and N-1 in training
            assert decision_block(ProbeConfig(), frac, layers) == resolve_pivot_layer(frac, layers)
    assert decision_block(ProbeConfig(), 24, 32) == 24 and decision_block(ProbeConfig(), 0.75, 4) == 3
    # an explicit probe.layer (a standalone probe) overrides the training setting, through the same resolver
    assert decision_block(ProbeConfig(layer=2), 0.75, 4) == 2
    with pytest.raises(UserError, match=r"pivot_layer 32 gives block 32, outside 1..31 for this 32-block model"):
        decision_block(ProbeConfig(), 32, 32)


def test_config_validation():
    with pytest.raises(UserError, match="undetermined"):
        ProbeConfig(undetermined="maybe").validate()
    with pytest.raises(UserError):
        ProbeConfig(layer=1.5).validate()
