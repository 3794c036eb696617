"""Commands: ``run`` (the whole study), ``sweep`` (Table 4 grids), ``config`` (every setting)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from prom_bench import config as cfg
from prom_bench.cli.app import LANGUAGES_FILE_HELP, app
from prom_bench.errors import UserError

PRESET = typer.Option(
    "--preset",
    "-p",
    help=(
        "named config: 'demo' (offline, CPU, default model) or 'paper' (LLaMA2-7B, the paper's data and "
        "hyperparameters)"
    ),
)
CONFIG = typer.Option("--config", "-c", help="YAML file of settings layered over the preset (see 'prom-bench config')")
LANGUAGES_FILE = typer.Option("--languages-file", help=LANGUAGES_FILE_HELP)
SET = typer.Option(
    "--set", "-s", help="override one setting, KEY=VALUE, repeatable (e.g. --set train.lr=2e-5 --set eval.limit=20)"
)


@app.command("run")
def run_command(
    methods: Annotated[
        Optional[str],
        typer.Option(help="comma list of methods: base, t, t+e, prom, prom-noreg (or the paper's names), or 'all'"),
    ] = None,
    langs: Annotated[
        Optional[str],
        typer.Option(
            help="comma list of target languages (ar, bn, el, ml, mr, sw, ta, te, th, hi, or one declared in "
            "--languages-file) or 'all' (the paper's nine)"
        ),
    ] = None,
    model: Annotated[
        Optional[str], typer.Option(help="'default' (SmolLM2-135M-Instruct), 'tiny', a local model folder or a hub id")
    ] = None,
    preset: Annotated[str, PRESET] = "demo",
    config_file: Annotated[Optional[Path], CONFIG] = None,
    overrides: Annotated[Optional[list[str]], SET] = None,
    languages_file: Annotated[Optional[list[Path]], LANGUAGES_FILE] = None,
    out: Annotated[
        Optional[str], typer.Option(help="folder for run artifacts (mixtures, adapters, evaluation logs)")
    ] = None,
    results: Annotated[Optional[str], typer.Option(help="results store folder (one JSON record per result)")] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(
            help="evaluate at most N items per task (same as --set eval.limit=N); a smoke test, left out of "
            "tables unless --include-limited"
        ),
    ] = None,
    seeds: Annotated[
        Optional[str],
        typer.Option(help="comma list of seeds: every unit runs once per seed (same as --set seeds=0,1,2)"),
    ] = None,
    backend: Annotated[
        Optional[str],
        typer.Option(
            help="what generates the answers: 'hf' or 'vllm' (one engine for every adapter of the study; the "
            "[vllm] extra); same as --set eval.backend=..."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="redo every unit, even those already done with the same config")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="check the data, print the plan (units, jobs and their resources, examples and tokens per mixture, "
            "GPU-hours), run nothing",
        ),
    ] = False,
    executor: Annotated[
        Optional[str],
        typer.Option(help="where units run: inline (this process), local (this machine's GPUs), slurm (SLURM jobs)"),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="with --executor slurm: follow the jobs to the end, then print the tables")
    ] = False,
) -> None:
    """Run the study: for each language x method, build data, train, evaluate through lm-eval, record; then print the
    tables."""
    if force and dry_run:
        raise UserError("--force and --dry-run contradict each other; give one")
    flags = {
        "methods": methods,
        "langs": langs,
        "model": model,
        "out": out,
        "results": results,
        "seeds": seeds,
        "executor": executor,
        "languages_file": [str(f) for f in languages_file] if languages_file else None,
    }
    overrides = list(overrides or [])
    if limit is not None:
        if any(o.startswith("eval.limit=") for o in overrides):
            raise UserError("'eval.limit' is given twice (--limit and --set eval.limit=...); give it once")
        overrides.append(f"eval.limit={limit}")
    if backend is not None:
        if any(o.startswith("eval.backend=") for o in overrides):
            raise UserError("'eval.backend' is given twice (--backend and --set eval.backend=...); give it once")
        overrides.append(f"eval.backend={backend}")
    config = cfg.load(preset, config_file, overrides, flags)
    from prom_bench import pipeline
    from prom_bench.preflight import check_run

    if dry_run:
        from prom_bench.dry_run import print_plan
        from prom_bench.models import is_hub_id, peek_config

        try:  # the dry run is offline: a hub model whose config is not cached cannot be checked here
            peek_config(config.model)
        except UserError as exc:
            if not is_hub_id(config.model):  # a local folder, a built-in name or no model at all: the user's
                raise
            Console(stderr=True, highlight=False).print(f"note: model-aware checks skipped ({exc})", markup=False)
        else:
            check_run(config)  # the model-aware checks, --dry-run included
        pipeline.check(config)  # every unit's data and evaluation files
        console = Console()
        print_plan(console if console.is_terminal else Console(width=160), config)
        return
    check_run(config)
    from prom_bench.executors.follow import UnitsFailed

    try:
        records = pipeline.run(
            config, force=force, console=Console(stderr=True), wait=wait or config.executor != "slurm"
        )
    except UnitsFailed as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    if records is not None:
        tables = ("1", "2", "3", "control") if config.controls else ("1", "2", "3")
        _print_tables(records, tables, include_limited=config.eval.limit is not None)


def _print_tables(records: list[dict], tables: tuple[str, ...], *, include_limited: bool = False) -> None:
    """The paper's tables on stdout; wide enough for Table 1 when stdout is a file or a pipe.

    A run with ``--limit`` shows its own (limited, flagged) results: they are what the user just asked for.
    """
    from prom_bench.report import tables_renderable

    console = Console()
    if not console.is_terminal:
        console = Console(width=220)
    for table in tables:
        console.print(tables_renderable(records, table=table, include_limited=include_limited))


@app.command("sweep")
def sweep_command(
    lang: Annotated[
        str, typer.Option(help="the one target language of the sweep (the paper's Table 4 used th)")
    ] = "th",
    grid: Annotated[
        Optional[list[str]],
        typer.Option(
            help="KEY=V1,V2,... for a train setting to vary, repeatable (e.g. --grid train.pivot_layer=22,24,26)"
        ),
    ] = None,
    preset: Annotated[str, PRESET] = "demo",
    config_file: Annotated[Optional[Path], CONFIG] = None,
    overrides: Annotated[Optional[list[str]], SET] = None,
    method: Annotated[
        str,
        typer.Option(
            help="the PROM variant swept: 'prom' (regulation decided at each grid point's block n) or 'prom-noreg'"
        ),
    ] = "prom",
    baseline: Annotated[
        str, typer.Option(help="method run once beside the grid (the paper compared against Bactrian+(t))")
    ] = "t",
) -> None:
    """Hyperparameter sweep of PROM on one language (the paper's Table 4): every combination of the grid, plus a
    baseline."""
    configs = cfg.sweep_configs(preset, config_file, overrides, grid, lang=lang, method=method, baseline=baseline)
    from prom_bench import pipeline
    from prom_bench.preflight import check_run

    for config in configs:  # every grid point is checked before the first one trains
        check_run(config)
    records = pipeline.sweep(configs, console=Console(stderr=True))
    _print_tables(records, ("4",))


@app.command("config")
def config_command(
    preset: Annotated[str, PRESET] = "demo",
    config_file: Annotated[Optional[Path], CONFIG] = None,
    overrides: Annotated[Optional[list[str]], SET] = None,
) -> None:
    """Print every setting with its resolved value and what it means."""
    config = cfg.load(preset, config_file, overrides)
    resolved = _flatten(config.to_dict())
    table = Table("setting", "value", "meaning", title=f"prom-bench settings (preset '{preset}')", show_lines=False)
    for key, _default, help_ in cfg.describe():
        value = resolved.get(key)
        table.add_row(key, ",".join(map(str, value)) if isinstance(value, list) else str(value), help_)
    Console().print(table)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
