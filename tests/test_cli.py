"""The command line as a user meets it: help for every option, one clear line for every bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from prom_bench.cli import app, main


def _commands(group, prefix=()):
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name), command
        yield from _commands(command, (*prefix, name))


def test_every_option_of_every_command_has_help():
    root = typer.main.get_command(app)
    commands = list(_commands(root))
    names = {" ".join(path) for path, _ in commands}
    assert {
        "run",
        "sweep",
        "config",
        "train",
        "eval",
        "tasks validate",
        "data build",
        "data translate",
        "probe",
        "interference",
        "table",
        "report",
    } <= names
    for path, command in commands:
        assert command.help, f"'{' '.join(path)}' has no description"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert getattr(param, "help", None), f"option {param.opts} of '{' '.join(path)}' has no help"


def _cli(args, cwd):
    """``prom-bench ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=120,
    )


class _Proc:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _cli_inprocess(args, cwd, monkeypatch, capfd):
    """``prom-bench ARGS`` through the same entry point, in this process (no interpreter start-up)."""
    monkeypatch.chdir(cwd)
    capfd.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capfd.readouterr()
    return _Proc(code, out, err)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "--methods", "prm"], "unknown method 'prm' (did you mean 'prom'?)"),
        (["run", "--langs", "th,xx"], "unknown language 'xx'"),
        (["run", "--model", "no/such/model/here"], "model 'no/such/model/here'"),
        (["run", "--preset", "papr"], "unknown preset 'papr' (did you mean 'paper'?)"),
        (["run", "--config", "missing.yaml"], "config file 'missing.yaml' does not exist"),
        (["run", "--config", "bad.yaml"], "is not valid YAML"),
        (["run", "--set", "train.lrr=1"], "unknown setting 'train.lrr' (did you mean 'train.lr'?)"),
        (["run", "--set", "train.lr=fast"], "setting 'train.lr' = 'fast' has the wrong type"),
        (["run", "--force", "--dry-run"], "--force and --dry-run contradict each other"),
        (["run", "--methods", "t", "--set", "methods=prom"], "'methods' is given twice"),
        (["run", "--limit", "2", "--set", "eval.limit=3"], "'eval.limit' is given twice"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, expected, monkeypatch, capfd):
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _cli_inprocess(args, tmp_path, monkeypatch, capfd)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_non_causal_model_is_refused_by_run(tmp_path, monkeypatch, capfd):
    model = tmp_path / "encoder"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert"}')
    proc = _cli_inprocess(["run", "--model", str(model), "--langs", "th"], tmp_path, monkeypatch, capfd)
    assert proc.returncode == 2 and "not a causal LM" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_dry_run_prints_the_resolved_config(tmp_path):
    proc = _cli(
        ["run", "--dry-run", "--methods", "prom,xLLAMA2(t+e)", "--langs", "th", "--set", "train.lr=3e-4"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "lr: 0.0003" in proc.stdout and "prom/th" in proc.stdout and "t+e/th" in proc.stdout
    assert not (tmp_path / "runs").exists()
