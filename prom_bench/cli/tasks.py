"""Commands: ``tasks validate`` (check the lm-eval YAMLs) and ``tasks list`` (what tasks/ holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from prom_bench.cli.app import tasks_app
from prom_bench.errors import UserError

VALIDATE_DATA_HELP = (
    "Data for building a few requests per task: a local folder in the upstream layout, 'demo' or "
    "'hub'. Default: demo when bundled, else hub."
)


def _root(path: Path | None) -> Path:
    from prom_bench.paths import tasks_dir

    root = path or tasks_dir()
    if not root.is_dir():
        raise UserError(
            f"task folder '{root}' is not a directory; give a folder of lm-eval task YAMLs (default: tasks/)"
        )
    return root


VALIDATE_HELP = (
    "Load every YAML through lm-eval and check it; one line per problem, exit 1 when there is any.\n\n"
    "Trust: a task folder is code. '!function utils.fn' in a YAML makes lm-eval import the utils.py beside it "
    "and run it, as in lm-evaluation-harness, so validating (or evaluating) a folder runs its Python with your "
    "permissions. Validate only task folders you wrote or reviewed (see tasks/CONTRIBUTING.md)."
)


@tasks_app.command("validate", help=VALIDATE_HELP)
def validate_command(
    path: Optional[Path] = typer.Argument(
        None, help="Folder of task YAMLs. Default: the bundled tasks/.", show_default=False
    ),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help=VALIDATE_DATA_HELP, show_default=False),
    docs: int = typer.Option(3, "--docs", min=1, help="Documents per task to build requests for."),
) -> None:
    """Load every YAML through lm-eval and check it; one line per problem, exit 1 when there is any."""
    from prom_bench.evaluation import resolve_data_dir
    from prom_bench.tasks_validate import validate

    root = _root(path)
    findings, counts = validate(root, data_dir=resolve_data_dir(data_dir), docs=docs)
    problems = [f for f in findings if f.fatal]
    for finding in findings:
        typer.echo(str(finding), err=not finding.fatal)
    summary = f"{counts['files']} YAML file(s), {counts['tasks']} task(s) and {counts['groups']} group(s) checked"
    if len(findings) > len(problems):
        summary += f", {len(findings) - len(problems)} task(s) not built for lack of local data"
    if problems:
        typer.echo(f"{len(problems)} problem(s); {summary}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {summary}", err=True)


@tasks_app.command("list")
def list_command(
    path: Optional[Path] = typer.Argument(
        None, help="Folder of task YAMLs. Default: the bundled tasks/.", show_default=False
    ),
) -> None:
    """List the tasks and groups lm-eval finds in the task folder, with their version and source."""
    from prom_bench.evaluation import task_manager
    from prom_bench.tasks_validate import check_file, yaml_files

    root = _root(path)
    indexed = set(task_manager(include_path=root).all_tasks)
    table = Table(title=f"tasks in {root}")
    for column in ("name", "kind", "version", "file"):
        table.add_column(column)
    for file in yaml_files(root):
        cfg, _ = check_file(file)
        if cfg is None:
            continue
        name = cfg.get(cfg["_kind"])
        version = (cfg.get("metadata") or {}).get("version", "-")
        kind = cfg["_kind"] if name in indexed else f"{cfg['_kind']} (skipped by lm-eval)"
        table.add_row(str(name), kind, str(version), str(file.relative_to(root)))
    Console(highlight=False).print(table)
