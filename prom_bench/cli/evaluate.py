"""Command: ``eval`` (a model or adapter on the evaluation cells of some languages, through lm-eval)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from prom_bench.cli.app import app
from prom_bench.errors import UserError

DATA_DIR_HELP = (
    "Where the evaluation items come from: a local folder in the upstream layout (xquad/xquad.LANG.json, "
    "mlqa/test-context-LANG-question-LANG.json, indicqa/indicqa.LANG.json, mgsm/mgsm_LANG.tsv), 'demo' "
    "(the bundled demo data) or 'hub' (the pinned Hugging Face datasets). Default: demo when bundled, else hub."
)


@app.command("eval")
def eval_command(
    model: str = typer.Option(
        "default", "--model", "-m", help="Model: 'default' (SmolLM2-135M-Instruct), 'tiny', a local folder or a hub id."
    ),
    adapter: Optional[Path] = typer.Option(
        None, "--adapter", help="A peft adapter folder to evaluate on top of the model."
    ),
    method: Optional[str] = typer.Option(
        None,
        "--method",
        help="Method the model/adapter was trained with, for the "
        "record (base, t, t+e, prom, prom-noreg). Default: base without --adapter.",
    ),
    langs: str = typer.Option(
        "all",
        "--langs",
        "-l",
        help="Languages: 'all' (the paper's nine) or a comma list such as th,ar; 'en' adds the English controls.",
    ),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate only the first N items of each task."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, show_default=False),
    batch_size: int = typer.Option(
        8, "--batch-size", min=1, help="Generation batch size (explicit; never 'auto' on CPU)."
    ),
    max_gen_toks: Optional[int] = typer.Option(
        None, "--max-gen-toks", min=1, help="Override each task's generation budget in tokens (QA 64, MGSM 32)."
    ),
    budget: str = typer.Option(
        "task",
        "--budget",
        help="Without --max-gen-toks: 'task' (each task's own budget) or 'inflation' (scaled by the tokenizer's "
        "tokens per English token for the language).",
    ),
    results: Optional[Path] = typer.Option(
        None, "--results", help="Folder for the result records. Default: leaderboards/results.", show_default=False
    ),
    no_record: bool = typer.Option(False, "--no-record", help="Print the table only; write no result records."),
    lm_eval_output: Optional[Path] = typer.Option(
        None,
        "--lm-eval-output",
        help="Also write lm-eval's own results_<date>.json and samples_<task>_<date>.jsonl files into this folder "
        "(the layout of `lm_eval --output_path DIR --log_samples`).",
        show_default=False,
    ),
    model_name: Optional[str] = typer.Option(
        None, "--model-name", help="Name to record and show for the model (default: resolved from --model)."
    ),
    backend: str = typer.Option(
        "hf", "--backend", help="What generates the answers: 'hf' (the reference) or 'vllm' (the [vllm] extra)."
    ),
    overrides: Optional[list[str]] = typer.Option(
        None,
        "--set",
        "-s",
        help="An eval setting, KEY=VALUE, repeatable (e.g. --set eval.tensor_parallel_size=2; see 'prom-bench "
        "config').",
    ),
    eval_url: Optional[str] = typer.Option(
        None,
        "--eval-url",
        help="Evaluate against an OpenAI-compatible completions server already running there (vLLM, SGLang, TGI), "
        "e.g. http://127.0.0.1:8000/v1; --model names its tokenizer.",
    ),
    eval_model: Optional[str] = typer.Option(
        None, "--eval-model", help="The served model (or adapter) name to request at --eval-url. Default: its only one."
    ),
) -> None:
    """Evaluate a model (or adapter) on the cells of some languages, e.g. `prom-bench eval --model tiny --langs th
    --limit 5`."""
    from prom_bench import methods, models
    from prom_bench.benchmarks import tasks_for
    from prom_bench.config import eval_config_from
    from prom_bench.evaluation import evaluate, resolve_data_dir

    eval_config = eval_config_from(
        {
            "backend": backend,
            "batch_size": batch_size,
            "max_gen_toks": max_gen_toks,
            "budget": budget,
            "limit": limit,
            "data_dir": data_dir,
        },
        overrides,
    )
    if eval_url is not None and eval_config.backend != "hf":
        raise UserError("--eval-url evaluates on the server there; --backend names a local engine: give one of them")
    if eval_model is not None and eval_url is None:
        raise UserError("--eval-model names a model served at --eval-url; give --eval-url too")
    english = "en" in [item.strip() for item in langs.split(",")]
    pairs = tasks_for(langs, english=english)
    if adapter is not None and method is None:
        raise UserError("--adapter needs --method (which of base, t, t+e, prom, prom-noreg trained it), for the record")
    method_name = methods.get(method or "base").name
    if adapter is not None and not (adapter / "adapter_config.json").is_file():
        raise UserError(f"--adapter '{adapter}' is not a peft adapter folder (no adapter_config.json in it)")
    if not no_record:  # a results folder that cannot be written fails now, not after the evaluation
        from prom_bench.fileio import check_writable
        from prom_bench.results import DEFAULT_RESULTS_DIR

        check_writable(Path(results or DEFAULT_RESULTS_DIR), "results folder")
    console = Console(stderr=True, highlight=False)
    engine = _engine(eval_config, eval_url, eval_model, console)  # before anything is loaded or written
    ref = models.resolve(model)
    directory = resolve_data_dir(eval_config.data_dir if eval_config.data_dir != "demo" else data_dir)
    if eval_config.backend == "vllm":
        from prom_bench.engines import open_engine

        engine = open_engine(eval_config, [(ref.path, str(adapter) if adapter else None)], log=console.print)
    where = f"local data {directory}" if directory is not None else "the pinned hub datasets"
    console.print(
        f"evaluating {ref.display}{' + ' + str(adapter) if adapter else ''} on {len(pairs)} task(s) from {where}"
    )

    def report(event: dict) -> None:
        result = event["result"]
        numbers = ", ".join(f"{k} {v:.1f}" for k, v in result.metrics.items())
        console.print(f"[{event['index']}/{event['total']}] {result.task}: {numbers} (n={result.n})")

    outcomes = evaluate(
        ref.path,
        [task for _, task in pairs],
        adapter=str(adapter) if adapter else None,
        data_dir=directory,
        limit=eval_config.limit,
        batch_size=eval_config.batch_size,
        max_gen_toks=eval_config.max_gen_toks,
        budget=eval_config.budget,
        progress=report,
        lm_eval_output=lm_eval_output,
        engine=engine,
    )
    if engine is not None:
        engine.close()
    if lm_eval_output is not None:
        console.print(f"lm-eval results and samples written under {lm_eval_output}")
    Console(highlight=False).print(_table(ref.display, method_name, pairs, outcomes))
    if no_record:
        return
    from prom_bench.evaluation import eval_settings, task_settings
    from prom_bench.model_identity import identity
    from prom_bench.results import DEFAULT_RESULTS_DIR, record_from, write_record

    backend_name = outcomes[0].backend.get("name") if outcomes else eval_config.backend
    settings = {
        **_adapter_settings(adapter),
        **eval_settings(limit=eval_config.limit, max_gen_toks=eval_config.max_gen_toks, backend=backend_name),
    }
    model_id = identity(ref, adapter=adapter, name=model_name)
    config = {
        "command": "eval",
        "model": model,
        "adapter": str(adapter) if adapter else None,
        "langs": langs,
        "limit": eval_config.limit,
        "data_dir": str(directory) if directory else "hub",
        "batch_size": eval_config.batch_size,
        "max_gen_toks": eval_config.max_gen_toks,
        "budget": eval_config.budget,
        "backend": backend_name,
        "eval": {k: v for k, v in vars(eval_config).items() if k not in ("data_dir",)},
        "eval_url": eval_url,
        "eval_model": eval_model,
    }
    out = results or DEFAULT_RESULTS_DIR
    for (lang, _), outcome in zip(pairs, outcomes):
        record = record_from(
            outcome,
            model=ref,
            method=method_name,
            lang=lang,
            settings=settings,
            task_settings=task_settings(outcome),
            model_id=model_id,
            limit=eval_config.limit,
            config=config,
            seed=(_adapter_train_config(adapter) or {}).get("seed"),
        )
        write_record(out, record)
        if adapter is not None:
            from prom_bench import model_card

            model_card.add_scores(adapter, [record])
    console.print(f"{len(outcomes)} record(s) written under {out}")


def _adapter_train_config(adapter: Path | None) -> dict | None:
    from prom_bench.results import adapter_train_config

    return adapter_train_config(adapter)


def _engine(settings, eval_url: str | None, eval_model: str | None, console: Console):
    """A server engine for ``--eval-url`` (checked now: nothing listening is one line), a check that vLLM is
    installed for ``--backend vllm`` (its engine starts once the model is resolved), or None for ``hf``."""
    from prom_bench.engines import check_backend

    if eval_url is not None:
        from prom_bench.engines.server import CompletionsServer

        server = CompletionsServer(eval_url, eval_model)
        console.print(f"evaluating against {server.url} (model '{server.served_model}')")
        return server
    check_backend(settings)
    return None


def _adapter_settings(adapter: Path | None) -> dict:
    from prom_bench.results import adapter_settings

    return adapter_settings(adapter)


def _table(model: str, method: str, pairs: list[tuple[str, str]], outcomes) -> Table:
    table = Table(title=f"{model} ({method})")
    columns = {"EM": "exact_match", "F1": "f1", "paper EM": "paper_exact_match", "paper F1": "paper_f1"}
    columns["accuracy"] = "accuracy"
    for column in ("lang", "task", "n", *columns):
        table.add_column(column, justify="left" if column in ("lang", "task") else "right")
    for (lang, _), result in zip(pairs, outcomes):
        m = result.metrics
        cell = lambda key, m=m: f"{m[key]:.1f}" if key in m else "-"  # noqa: E731
        table.add_row(lang, result.task, str(result.n), *(cell(key) for key in columns.values()))
    table.caption = "EM/F1: language-aware (primary); paper EM/F1: as the paper's harness scored them (tasks/README.md)"
    return table
