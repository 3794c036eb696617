"""Commands: ``table`` (the paper's Tables 1-4 from result records) and ``report`` (one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from prom_bench.cli.app import LANGUAGES_FILE_HELP, app, use_languages
from prom_bench.errors import UserError

DEFAULT_RESAMPLES = 1000  # = prom_bench.report.bootstrap.DEFAULT_RESAMPLES; not imported so the CLI starts fast

RESULTS_HELP = (
    "Results: directories (searched for *.record.json records and lm-eval results_*.json files, as "
    "`lm_eval --output_path DIR --log_samples` writes them), or such files. Default: leaderboards/results."
)
INCLUDE_LIMITED_HELP = "Also show smoke tests (results evaluated with --limit), flagged ‡; left out by default."


def _load(results: list[Path] | None) -> list[dict]:
    from prom_bench.lm_eval_files import load_all
    from prom_bench.results import DEFAULT_RESULTS_DIR

    paths = list(results or [DEFAULT_RESULTS_DIR])
    records = load_all(paths)
    if not records:
        raise UserError(
            f"no result records (*.record.json or lm-eval results_*.json of prom tasks) under "
            f"{', '.join(map(str, paths))}; run `prom-bench run` first, or name a folder such as leaderboards/paper"
        )
    return records


@app.command("table")
def table_command(
    results: Optional[list[Path]] = typer.Argument(None, help=RESULTS_HELP, show_default=False),
    table: str = typer.Option(
        "all",
        "--table",
        "-t",
        help="Which table: 1 (QA EM/F1), 2 (MGSM), 3 (wins/losses against t+e), 4 (hyperparameter sweep) or all.",
    ),
    fmt: str = typer.Option(
        "rich",
        "--format",
        "-f",
        help="Output format: rich, markdown, csv, json (plain numbers, flags in columns of their own), latex or html.",
    ),
    compare: Optional[str] = typer.Option(
        None, "--compare", help="Put another source's numbers beside: 'paper' (the paper's LLaMA2-7B results)."
    ),
    metric: Optional[str] = typer.Option(
        None,
        "--metric",
        help="QA measure: 'language-aware' (prom-bench's normaliser for every script, the primary one), 'paper' "
        "(the paper's harness: official SQuAD v1.1 / MLQA v1 scripts) or 'both'. Default: language-aware, "
        "paper with --compare paper.",
        show_default=False,
    ),
    significant: bool = typer.Option(
        False,
        "--significant",
        help="Table 3 counts only wins/losses that a paired "
        "bootstrap over per-item scores finds significant (95%), and lists the intervals.",
    ),
    lang: Optional[str] = typer.Option(
        None, "--lang", help="Language of Table 4 (default: the one with the most PROM settings on record)."
    ),
    resamples: int = typer.Option(
        DEFAULT_RESAMPLES, "--resamples", min=100, help="Bootstrap resamples for --significant."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    include_limited: bool = typer.Option(False, "--include-limited", help=INCLUDE_LIMITED_HELP),
    languages_file: Optional[list[Path]] = typer.Option(
        None, "--languages-file", help=LANGUAGES_FILE_HELP, show_default=False
    ),
) -> None:
    """Render the paper's tables from result records, e.g. `prom-bench table leaderboards/paper --compare paper
    --table 3 --format csv`."""
    from prom_bench.errors import unknown
    from prom_bench.report import FORMATS, render_tables, tables_renderable
    from prom_bench.report.cells import parse_measure
    from prom_bench.report.tables import parse_table

    use_languages(languages_file)
    parse_table(table)
    parse_measure(metric)
    if fmt not in FORMATS:
        raise unknown("format", fmt, FORMATS)
    records = _load(results)
    options = dict(
        compare=compare,
        significant=significant,
        lang=lang,
        resamples=resamples,
        seed=seed,
        include_limited=include_limited,
        metric=metric,
    )
    if fmt == "rich":
        console = Console(highlight=False)
        if not console.is_terminal:  # piped or captured: wide enough for Table 1's 17 columns, never "…"
            console = Console(highlight=False, width=220)
        console.print(tables_renderable(records, table, **options))
    else:
        typer.echo(render_tables(records, table, fmt, **options), nl=False)


@app.command("report")
def report_command(
    results: Optional[list[Path]] = typer.Argument(None, help=RESULTS_HELP, show_default=False),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write (self-contained)."),
    probe: Optional[Path] = typer.Option(
        None, "--probe", help="Folder of the probe's outputs (PNG plots, JSON) to embed."
    ),
    interference: Optional[Path] = typer.Option(
        None, "--interference", help="Folder of the interference analysis's outputs (PNG plots, JSON) to embed."
    ),
    compare: Optional[str] = typer.Option("paper", "--compare", help="Numbers to put beside: 'paper', or 'none'."),
    title: str = typer.Option("prom-bench report", "--title", help="Title of the page."),
    include_limited: bool = typer.Option(False, "--include-limited", help=INCLUDE_LIMITED_HELP),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out file (without it an existing file is never touched)."
    ),
) -> None:
    """Write one self-contained HTML page: the tables, bootstrap intervals and the probe/interference plots."""
    from prom_bench.report.html_report import write_report

    records = _load(results)
    path = write_report(
        records,
        out,
        overwrite=overwrite,
        probe_dir=probe,
        interference_dir=interference,
        compare=None if compare in (None, "none") else compare,
        title=title,
        include_limited=include_limited,
    )
    Console(highlight=False).print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


@app.command("export")
def export_command(
    results: Optional[list[Path]] = typer.Argument(None, help=RESULTS_HELP, show_default=False),
    out: Path = typer.Option(
        ..., "--out", "-o", help="File to write: .csv, or .parquet (needs pyarrow). One row per record and metric."
    ),
    include_limited: bool = typer.Option(
        True, "--include-limited/--exclude-limited", help="Keep smoke tests (their 'limited' column says so)."
    ),
) -> None:
    """Write every result as a tidy long table (one row per record x metric) that a notebook can pivot."""
    from prom_bench.report.export import write_export

    path, rows = write_export(_load(results), out, include_limited=include_limited)
    Console(highlight=False, stderr=True).print(f"wrote {path} ({rows} rows)")
