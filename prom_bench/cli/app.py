"""The Typer application and its command groups; commands register themselves from sibling modules."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="prom-bench",
    help="PROM as a benchmark: build data, train (t, t+e, PROM, ablations), evaluate through lm-eval, "
    "probe for an English pivot, and report the paper's tables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
LANGUAGES_FILE_HELP = (
    "YAML file declaring languages (codes, script, cells, data), repeatable; see 'prom-bench languages validate'"
)


def use_languages(files: list | None) -> None:
    """Register the user's languages files before any language code is read."""
    if files:
        from prom_bench.languages import register_files

        register_files([str(f) for f in files])


tasks_app = typer.Typer(help="Check the lm-eval task YAMLs in tasks/.", no_args_is_help=True)
data_app = typer.Typer(help="Build, translate and validate training data.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
languages_app = typer.Typer(help="List the languages and check a languages file.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(languages_app, name="languages")
