"""Commands: ``probe`` (logit-lens language probe and regulation decision) and ``interference`` (gradient similarity).

Every option's help comes from the settings dataclass that holds it (``ProbeConfig``, ``InterferenceConfig``).
Outputs (plots, JSON) go to ``--out``, by default under the cache folder, never into the working tree.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from prom_bench.cli.app import LANGUAGES_FILE_HELP, app, use_languages
from prom_bench.errors import UserError
from prom_bench.interference import InterferenceConfig
from prom_bench.probe.config import ProbeConfig

MODEL_HELP = "'default' (SmolLM2-135M-Instruct), 'tiny', a local model folder or a hub id"


def _help(cls, name: str) -> str:
    return next(f.metadata["help"] for f in dataclasses.fields(cls) if f.name == name)


def _layer(text: str) -> float:
    try:
        return int(text) if text.strip().lstrip("-").isdigit() else float(text)
    except ValueError:
        raise UserError(
            f"layer '{text}' is neither a block index (e.g. 23) nor a fraction of depth (e.g. 0.75)"
        ) from None


def _target(spec: str, base: str):
    """``(ModelRef, adapter)`` for a model spec, or for an adapter / trainer output folder on top of ``base``."""
    from prom_bench.models import resolve

    path = Path(spec).expanduser()
    if path.is_dir() and not (path / "config.json").is_file():
        adapter = path if (path / "adapter_config.json").is_file() else path / "adapter"
        if (adapter / "adapter_config.json").is_file():
            return resolve(base), str(adapter.resolve())
        if (path / "model" / "config.json").is_file():
            return resolve(str(path / "model")), None
    return resolve(spec), None


def _quiet() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


@app.command("probe")
def probe_command(
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "default",
    langs: Annotated[
        str, typer.Option(help="target languages: 'all' (the paper's nine) or a comma list, e.g. th,ar")
    ] = "all",
    adapter: Annotated[
        Optional[str], typer.Option(help="a peft adapter (or trainer output folder) applied to --model")
    ] = None,
    compare: Annotated[
        Optional[tuple[str, str]],
        typer.Option(
            help="BEFORE AFTER: probe two models (a model spec, or an adapter / trainer "
            "output folder on top of --model) and plot them together (Figure 3)"
        ),
    ] = None,
    shots: Annotated[int, typer.Option(help=_help(ProbeConfig, "shots"))] = ProbeConfig.shots,
    layer: Annotated[Optional[str], typer.Option(help=_help(ProbeConfig, "layer"))] = None,
    floor: Annotated[float, typer.Option(help=_help(ProbeConfig, "floor"))] = ProbeConfig.floor,
    undetermined: Annotated[str, typer.Option(help=_help(ProbeConfig, "undetermined"))] = ProbeConfig.undetermined,
    n_examples: Annotated[
        int, typer.Option("--n-examples", help=_help(ProbeConfig, "n_examples"))
    ] = ProbeConfig.n_examples,
    data: Annotated[str, typer.Option(help=_help(ProbeConfig, "data"))] = ProbeConfig.data,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help=_help(ProbeConfig, "batch_size"))
    ] = ProbeConfig.batch_size,
    seed: Annotated[int, typer.Option(help=_help(ProbeConfig, "seed"))] = ProbeConfig.seed,
    translate: Annotated[str, typer.Option(help=_help(ProbeConfig, "translate"))] = ProbeConfig.translate,
    languages_file: Annotated[Optional[list[Path]], typer.Option("--languages-file", help=LANGUAGES_FILE_HELP)] = None,
    log_scale: Annotated[
        bool, typer.Option("--log-scale", help="plot probabilities on a log axis (small models sit near 0)")
    ] = False,
    out: Annotated[
        Optional[Path],
        typer.Option(
            help="folder for the plots, decisions.json and curves.json; default: the model's probe cache folder"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="measure again even if the cache holds this setting")] = False,
) -> None:
    """Logit-lens probe: P(English answer) vs P(target answer) per layer on k-shot cloze, and the regulation
    decision."""
    from prom_bench.languages import parse_langs
    from prom_bench.probe.lens import probe, probe_cache_dir
    from prom_bench.probe.plots import save_outputs

    _quiet()
    use_languages(languages_file)
    codes = parse_langs(langs)
    cfg = ProbeConfig(
        shots=shots,
        layer=None if layer is None else _layer(layer),
        floor=floor,
        undetermined=undetermined,
        n_examples=n_examples,
        data=data,
        batch_size=batch_size,
        seed=seed,
        translate=translate,
    )
    cfg.validate()
    console = Console(stderr=True)
    targets = (
        [_target(spec, model) for spec in compare]
        if compare
        else [_target(adapter, model) if adapter else _target(model, model)]
    )
    from prom_bench.preflight import check_probe_layer

    for ref, _ in targets:  # before any model is loaded or any cache written
        check_probe_layer(cfg.layer, ref.path)
    results, started = [], time.perf_counter()
    for ref, adapter_path in targets:
        results.append(probe(ref, codes, cfg, adapter=adapter_path, force=force))
        name = ref.display + (f" + {Path(adapter_path).name}" if adapter_path else "")
        _print_decisions(Console(), name, results[-1])
    ref, adapter_path = targets[-1]
    folder = Path(out) if out else probe_cache_dir(ref, adapter_path) / "plots"
    display = ref.display + (f" + {Path(adapter_path).name}" if adapter_path else "")
    paths = save_outputs(results, folder, model=display, compare=compare, log=log_scale)
    console.print(f"{len(paths)} plots and the JSON summaries in {folder}  ({time.perf_counter() - started:.0f} s)")


def _print_decisions(console: Console, name: str, result: dict) -> None:
    first = next(iter(result.values()))["decision"]
    table = Table(title=f"{name}: regulation at block {first.layer} of {first.num_layers} (floor {first.floor:g})")
    for column in ("lang", "N", "P_en (95%)", "P_target (95%)", "status", "lambda"):
        table.add_column(column, justify="right" if column in ("N", "lambda") else "left")
    for lang, r in result.items():
        d = r["decision"]
        table.add_row(
            lang,
            str(d.n),
            f"{d.p_en:.2e} ± {d.p_en_band:.1e}",
            f"{d.p_target:.2e} ± {d.p_target_band:.1e}",
            d.status + (f" -> {d.policy}" if d.policy else ""),
            "lambda" if d.pivots else "0",
        )
    console.print(table)


@app.command("interference")
def interference_command(
    lang: Annotated[str, typer.Option(help="target language, e.g. th")],
    model: Annotated[str, typer.Option(help=MODEL_HELP + " (the base the run trained)")] = "default",
    methods: Annotated[
        str, typer.Option(help="methods whose run checkpoints to measure (comma list, e.g. t+e,prom); needs --run")
    ] = "t+e,prom",
    run: Annotated[
        Optional[Path], typer.Option(help="a 'prom-bench run' output folder (its out, or out/<model>)")
    ] = None,
    checkpoint: Annotated[
        Optional[list[str]],
        typer.Option(
            help="LABEL=PATH, repeatable: an adapter, model, trainer output folder "
            "(all its checkpoints) or checkpoints/step-N, measured as series LABEL"
        ),
    ] = None,
    pairs: Annotated[int, typer.Option(help=_help(InterferenceConfig, "pairs"))] = InterferenceConfig.pairs,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help=_help(InterferenceConfig, "batch_size"))
    ] = InterferenceConfig.batch_size,
    max_length: Annotated[
        int, typer.Option("--max-length", help=_help(InterferenceConfig, "max_length"))
    ] = InterferenceConfig.max_length,
    data: Annotated[str, typer.Option(help=_help(InterferenceConfig, "data"))] = InterferenceConfig.data,
    seed: Annotated[int, typer.Option(help=_help(InterferenceConfig, "seed"))] = InterferenceConfig.seed,
    out: Annotated[
        Optional[Path], typer.Option(help="folder for interference.json and the plot; default: under the cache folder")
    ] = None,
) -> None:
    """Gradient similarity of English vs target batches in the last block, along training checkpoints (Figure 2)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from prom_bench import languages
    from prom_bench import methods as methods_registry
    from prom_bench.interference import interference, plot_interference, series_from
    from prom_bench.models import resolve
    from prom_bench.paths import cache_dir

    _quiet()
    code = languages.parse_langs(lang)
    if len(code) != 1:
        raise UserError(f"--lang takes one language, got '{lang}'")
    code = code[0]
    cfg = InterferenceConfig(pairs=pairs, batch_size=batch_size, max_length=max_length, data=data, seed=seed)
    cfg.validate()
    base = resolve(model)
    names = methods_registry.parse_methods(methods) if run is not None else []
    series = series_from(code, run=run, methods=names, checkpoints=checkpoint)
    if not series:
        series = {"base": [(0, None)]}
        Console(stderr=True).print("no --run or --checkpoint given: measuring the base model only")
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        tasks: dict = {}

        def report(event: dict) -> None:
            key = (event["label"], event["step"])
            if key not in tasks:
                tasks[key] = bar.add_task(f"{event['label']} step {event['step']}", total=event["pairs"])
            bar.update(tasks[key], completed=event["pair"])

        result = interference(base, code, series, cfg, progress=report)
    table = Table(title=f"{base.display}: cos(g_en, g_{code}) in the last block, K={pairs} pairs of {batch_size}")
    for column in ("series", "step", "mean", "95% band"):
        table.add_column(column)
    for label, rows in result["series"].items():
        for row in rows:
            table.add_row(label, str(row["step"]), f"{row['mean']:.4f}", f"± {row['band']:.4f}")
    Console().print(table)
    folder = Path(out) if out else cache_dir() / "interference" / f"{base.slug}-{code}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "interference.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    plot = plot_interference(result, folder / f"interference-{code}.png")
    Console(stderr=True).print(f"{plot} and interference.json in {folder}  ({time.perf_counter() - started:.0f} s)")
