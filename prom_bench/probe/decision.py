"""The regulation decision (the paper's "R"): does a language pivot through English at the training block n?

At block n, lambda = 0 where mean P_en < mean P_target. The decision carries its evidence (both means, their
95% bands, the block and the number of examples) and is ``undetermined`` when the two bands overlap or both
means sit below a floor; then ``ProbeConfig.undetermined`` says what applies (default: keep the pivot, see
``UNDETERMINED_DEFAULT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prom_bench import languages
from prom_bench.errors import UserError
from prom_bench.probe.config import ProbeConfig
from trainer.config import SettingsError, TrainConfig, resolve_pivot_layer


def decision_block(cfg: ProbeConfig, pivot_layer: int | float | None, num_layers: int) -> int:
    """The 1-based block n the decision reads: the block the unit trains at, by the trainer's own resolver.

    ``cfg.layer`` when set (a standalone probe at another block), else ``pivot_layer`` (the training setting;
    None = the trainer's default). One resolver means a fraction gives the same block here and in training.
    """
    layer = cfg.layer if cfg.layer is not None else pivot_layer
    if layer is None:
        layer = TrainConfig().pivot_layer
    try:
        return resolve_pivot_layer(layer, num_layers)
    except SettingsError as exc:
        raise UserError(str(exc)) from None


# --- the decision ----------------------------------------------------------------------------------------


@dataclass
class Decision:
    """Whether ``lang`` pivots through English at block ``layer``, with the evidence.

    ``pivots`` is what training uses: the measured verdict, or for ``undetermined`` the policy's answer.
    Probabilities are means over ``n`` cloze examples; ``*_band`` are 95% half-widths.
    """

    lang: str
    pivots: bool
    status: str  # "pivots" | "no-pivot" | "undetermined"
    p_en: float
    p_en_band: float
    p_target: float
    p_target_band: float
    n: int
    layer: int  # 1-based block n: the block the unit trains at (the trainer's resolver)
    num_layers: int
    floor: float
    reason: str
    policy: str | None = None  # the undetermined policy applied, when status is "undetermined"
    model: str = ""

    def pivot_weight(self, lam: float) -> float:
        """lambda for this language: ``lam`` where it pivots, else 0.0."""
        return float(lam) if self.pivots else 0.0

    @property
    def p_en_interval(self) -> tuple[float, float]:
        return self.p_en - self.p_en_band, self.p_en + self.p_en_band

    @property
    def p_target_interval(self) -> tuple[float, float]:
        return self.p_target - self.p_target_band, self.p_target + self.p_target_band


def verdict(p_en: float, p_en_band: float, p_target: float, p_target_band: float, floor: float) -> tuple[str, str]:
    """``(status, reason)`` from the two means and their 95% half-widths at layer n."""
    if max(p_en, p_target) < floor:
        return "undetermined", f"both means below the floor {floor:g}"
    if p_en - p_en_band <= p_target + p_target_band and p_target - p_target_band <= p_en + p_en_band:
        return "undetermined", "the 95% bands overlap"
    if p_en > p_target:
        return "pivots", "P_en above P_target, bands apart"
    return "no-pivot", "P_en below P_target, bands apart (lambda = 0)"


def decide(lang: str, curve: dict[str, Any], layer: int, cfg: ProbeConfig, model: str = "") -> Decision:
    """The decision for ``lang`` from its probe curve (``probe_language``'s output) read at 1-based ``layer``."""
    i = layer - 1
    p_en, p_en_band = curve["p_en"][i], curve["p_en_band"][i]
    p_t, p_t_band = curve["p_target"][i], curve["p_target_band"][i]
    status, reason = verdict(p_en, p_en_band, p_t, p_t_band, cfg.floor)
    policy = None
    if status == "undetermined":
        policy = cfg.undetermined
        if policy == "paper":
            pivots = languages.get(lang).pivots_llama2_7b is not False
        else:
            pivots = policy == "pivot"
        reason += f"; default applied: {policy}"
    else:
        pivots = status == "pivots"
    return Decision(
        lang,
        pivots,
        status,
        p_en,
        p_en_band,
        p_t,
        p_t_band,
        curve["n"],
        layer,
        curve["num_layers"],
        cfg.floor,
        reason,
        policy,
        model,
    )
