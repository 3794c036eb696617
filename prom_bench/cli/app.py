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
tasks_app = typer.Typer(help="Check the lm-eval task YAMLs in tasks/.", no_args_is_help=True)
data_app = typer.Typer(help="Build, translate and validate training data.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(data_app, name="data")
