"""Checks that need the model, run once before any unit (``run``, ``run --dry-run``, ``sweep``, ``train``).

The settings' own checks run when the config is built (``config.validate``); what is left needs the model's
shape: the pivot layer against its depth, the LoRA targets against its module names, the probe's layer.
They read the model's ``config.json`` only and build the model on the meta device (no weights, no memory),
so a bad ``--set train.pivot_layer=99`` fails in a second, not after the mixture was written.
"""

from __future__ import annotations

import dataclasses

from prom_bench import methods
from prom_bench.config import RunConfig
from prom_bench.errors import UserError


def check_run(config: RunConfig) -> None:
    """Raise one ``UserError`` line for the first setting this model cannot run; return when all can."""
    from prom_bench.models import peek_config, skeleton

    chosen = [methods.get(m) for m in config.methods]
    trains = [m for m in chosen if m.trains]
    regulated = any(m.regulated for m in chosen)
    if not trains and not regulated:
        return
    model = skeleton(peek_config(config.model))
    if trains:
        objective = "pivot" if any(m.objective == "pivot" for m in trains) else "sft"
        check_train(dataclasses.replace(config.train, objective=objective), model)
    if regulated and config.regulation == "probe":  # the decision reads the block training uses
        _probe_layer(config.probe.layer, model, pivot_layer=config.train.pivot_layer)


def check_probe_layer(layer: int | float | None, model_spec: str) -> int:
    """The probe's block n for this model, or one ``UserError`` line when the model has no such block."""
    from prom_bench.models import peek_config, skeleton

    return _probe_layer(layer, skeleton(peek_config(model_spec)))


def _probe_layer(layer: int | float | None, model, pivot_layer: int | float | None = None) -> int:
    from prom_bench.probe.config import ProbeConfig
    from prom_bench.probe.decision import decision_block
    from trainer.model import decoder_parts

    return decision_block(ProbeConfig(layer=layer), pivot_layer, len(decoder_parts(model)[1]))


def check_train(train, model) -> int | None:
    """``trainer.model.validate_for_model`` on a (meta) model, its ``ValueError`` as a ``UserError``."""
    from trainer.model import validate_for_model

    try:
        return validate_for_model(train, model)
    except ValueError as exc:
        raise UserError(f"train settings: {exc}") from None
