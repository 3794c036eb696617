"""Commands: ``languages list`` (the table in effect) and ``languages validate FILE`` (check a languages file)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from prom_bench.cli.app import LANGUAGES_FILE_HELP, languages_app, use_languages


@languages_app.command("list")
def list_command(
    languages_file: Optional[list[Path]] = typer.Option(
        None, "--languages-file", help=LANGUAGES_FILE_HELP, show_default=False
    ),
) -> None:
    """The languages prom-bench knows (built-in and declared), their codes, script, cells and data."""
    from prom_bench import languages

    use_languages(languages_file)
    table = Table(title="languages")
    for column in ("code", "name", "script", "FLORES-200", "NTREX", "cells", "paper", "data", "declared in"):
        table.add_column(column, overflow="fold")
    for lang in languages.LANGUAGES.values():
        cells = ", ".join(lang.tasks) + (f" (+ {', '.join(lang.extra_tasks)})" if lang.extra_tasks else "")
        table.add_row(
            lang.code,
            f"{lang.name} ({lang.native})",
            lang.script,
            lang.flores,
            lang.ntrex,
            cells,
            "yes" if lang.paper else "",
            ", ".join(lang.data.declared()) or ("demo" if lang.paper else "-"),
            lang.origin,
        )
    Console().print(table)


@languages_app.command("validate")
def validate_command(
    file: Path = typer.Argument(..., help="A languages file (YAML, the format of prom_bench/languages.yaml)."),
) -> None:
    """Check a languages file: keys, codes, script, that its cells exist, and every data file it names (encoding,
    schema, script, alignment); exit 2 on the first problem. Prints what a run of each language will use."""
    from prom_bench.language_check import check_file

    rows = check_file(file)
    table = Table(title=f"{file}: valid")
    for column in ("lang", "item", "status", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
