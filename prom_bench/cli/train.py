"""Command: ``train`` -- one model on one built mixture, in-process or through ``accelerate launch``.

One process (the default) trains in this process. ``--num-processes N`` and/or ``--accelerate-config``
run ``accelerate launch ... -m trainer.launch`` instead, which starts the same ``trainer.train`` on every
process: DDP, FSDP full shard or DeepSpeed ZeRO-2/3 from the ready configs in ``trainer/accelerate_configs``
(or your own YAML). Lambda is ``train.pivot_weight`` as given: regulation (lambda = 0 where the model does
not pivot through English) is the pipeline's decision; pass ``--set train.pivot_weight=0`` to apply it here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from prom_bench import config as cfg
from prom_bench import methods as methods_registry
from prom_bench.cli.app import app
from prom_bench.errors import UserError
from prom_bench.launching import ACCELERATE_CONFIGS


@app.command("train")
def train_command(
    mixture: Annotated[
        Path, typer.Argument(help="a built mixture folder (holds train.jsonl), e.g. from 'prom-bench data build'")
    ],
    method: Annotated[
        Optional[str],
        typer.Option(
            help="t, t+e, prom or prom-noreg (sets the objective); default: the method in the mixture's stats.json"
        ),
    ] = None,
    model: Annotated[
        Optional[str], typer.Option(help="'default' (SmolLM2-135M-Instruct), 'tiny', a local model folder or a hub id")
    ] = None,
    preset: Annotated[
        str, typer.Option("--preset", "-p", help="named config whose train section is used: 'demo' or 'paper'")
    ] = "demo",
    config_file: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", help="YAML file of settings layered over the preset (see 'prom-bench config')"),
    ] = None,
    overrides: Annotated[
        Optional[list[str]],
        typer.Option("--set", "-s", help="override one setting, KEY=VALUE, repeatable (e.g. --set train.max_steps=10)"),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            help=(
                "output folder (adapter/ or model/, train_config.json, checkpoints/); default: "
                "runs/train/<mixture>-<method>"
            )
        ),
    ] = None,
    num_processes: Annotated[
        Optional[int],
        typer.Option(
            "--num-processes",
            help=(
                "processes (GPUs) for 'accelerate launch'; on a machine without GPUs, CPU processes over gloo "
                "(torchrun)"
            ),
        ),
    ] = None,
    accelerate_config: Annotated[
        Optional[str],
        typer.Option(
            "--accelerate-config",
            help=(
                f"accelerate config: {', '.join(ACCELERATE_CONFIGS)} (ready ones in "
                "trainer/accelerate_configs) or a YAML path"
            ),
        ),
    ] = None,
) -> None:
    """Train one model on a built mixture with the trainer's settings (the preset's train section plus --set)."""
    from trainer import TrainConfig
    from trainer.config import SettingsError, TrainingDiverged
    from trainer.launch import RESULT_FILE, read_examples

    data = mixture / "train.jsonl"
    if not data.is_file():
        raise UserError(f"mixture folder '{mixture}' has no train.jsonl; build one with 'prom-bench data build'")
    method_name = methods_registry.get(method or _mixture_method(mixture)).name
    objective = methods_registry.get(method_name).objective
    if objective == "none":
        raise UserError(f"method '{method_name}' does not train; give one of: t, t+e, prom, prom-noreg")
    config = cfg.load(preset, config_file, overrides, {"model": model})
    train_cfg: TrainConfig = dataclasses.replace(config.train, objective=objective)
    try:  # the trainer's settings errors are the user's; any other error keeps its traceback
        train_cfg.validate()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    from prom_bench.models import peek_config, resolve, skeleton
    from prom_bench.preflight import check_train

    check_train(train_cfg, skeleton(peek_config(config.model)))  # before any file is written
    model_path = resolve(config.model).path
    out = out or Path("runs") / "train" / f"{mixture.resolve().name}-{method_name}"
    console = Console(stderr=True)
    if num_processes is None and accelerate_config is None:
        skip_english = objective == "pivot" and train_cfg.pivot_weight == 0
        from trainer import train

        try:  # bad settings for this model, a bad data file, a mismatched checkpoint, a diverged run: one line
            examples = read_examples(data, skip_english=skip_english)
            result = train(train_cfg, model_path, examples, out)
        except (SettingsError, TrainingDiverged) as exc:
            raise UserError(str(exc)) from None
        summary = {
            "steps": result.steps,
            "loss": result.loss,
            "loss_pivot": result.loss_pivot,
            "loss_target": result.loss_target,
            "tokens_per_s": result.tokens_per_s,
        }
    else:
        summary = _launch(train_cfg, model_path, data, out, num_processes, accelerate_config)
        summary = json.loads((out / RESULT_FILE).read_text()) if (out / RESULT_FILE).is_file() else summary
    saved = out / ("adapter" if train_cfg.lora else "model")
    _write_card(saved, config.model, mixture, method_name, objective)
    console.print(
        f"trained {method_name} on {mixture}: {summary.get('steps')} steps, loss {summary.get('loss'):.4f}, "
        f"{summary.get('tokens_per_s', 0):.0f} tokens/s -> {saved}",
        highlight=False,
    )


def _write_card(saved: Path, model: str, mixture: Path, method: str, objective: str) -> None:
    """The card beside the weights (what they are), when the training wrote them here."""
    from prom_bench import model_card
    from prom_bench.models import resolve

    if not saved.is_dir():
        return
    stats_file = mixture / "stats.json"
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.is_file() else {}
    parts = list((stats.get("parts") or {}).keys())
    lang = stats.get("lang") or "en"
    model_card.write(
        saved,
        base=resolve(model),
        lang=lang,
        train={"parts": parts, "objective": objective},
        mixture_dir=mixture,
        method=method,
    )


def _mixture_method(mixture: Path) -> str:
    stats = mixture / "stats.json"
    try:
        method = json.loads(stats.read_text()).get("method") if stats.is_file() else None
    except (OSError, json.JSONDecodeError):
        method = None
    if not method:
        raise UserError(
            f"'{mixture}' does not say which method it was built for (no 'method' in stats.json); give --method"
        )
    return method


def _launch(
    train_cfg, model_path: str, data: Path, out: Path, num_processes: int | None, accelerate_config: str | None
) -> dict:
    from prom_bench.launching import launch

    launch(train_cfg.to_dict(), model_path, data, out, num_processes, accelerate_config)
    return {}
