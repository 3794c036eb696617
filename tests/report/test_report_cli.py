"""`prom-bench table` through the real entry point: output, defaults, and one clear line per user error."""

from __future__ import annotations

import shutil

import pytest

from prom_bench.results import RECORD_SUFFIX


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_table_from_runs_with_compare_paper(cli, fixture_runs):
    result = cli("table", fixture_runs, "--compare", "paper")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Table 1: QA exact match and F1" in out and "Table 4: hyperparameter sweep on th" in out
    assert "paper: PROM" in out and "…" not in out  # wide enough when piped


def test_table_defaults_to_leaderboards_results(cli, tmp_path, fixture_runs):
    shutil.copytree(fixture_runs, tmp_path / "leaderboards" / "results")
    result = cli("table", "--table", "2", "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "method,model,method_id,MGSM accuracy sw,MGSM accuracy th,MGSM accuracy bn,MGSM accuracy te,"
        "MGSM accuracy avg,MGSM accuracy avg partial"
    )


def test_missing_results_dir_is_one_line(cli, tmp_path):
    line = one_error_line(cli("table", tmp_path / "nowhere"))
    assert "nowhere" in line and "does not exist" in line
    line = one_error_line(cli("table", cwd=tmp_path))  # no path: leaderboards/results, absent here
    assert "leaderboards/results" in line


def test_corrupt_record_is_one_line(cli, tmp_path, fixture_runs):
    runs = tmp_path / "runs"
    shutil.copytree(fixture_runs, runs)
    victim = sorted(runs.rglob(f"*{RECORD_SUFFIX}"))[0]
    victim.write_text(victim.read_text()[:100], encoding="utf-8")  # a record cut short
    line = one_error_line(cli("table", runs))
    assert "corrupt result record" in line and victim.name in line


def test_unknown_table_and_format_are_one_line(cli, paper_dir):
    assert "unknown table '7'; valid: 1, 2, 3, 4, control, all" in one_error_line(
        cli("table", paper_dir, "--table", "7")
    )
    assert "unknown format 'pdf'" in one_error_line(cli("table", paper_dir, "--format", "pdf"))


def test_empty_results_dir_is_one_line(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no result records" in one_error_line(cli("table", tmp_path / "empty"))


def test_significant_from_the_command_line(cli, fixture_runs):
    result = cli("table", fixture_runs, "--table", "3", "--significant", "--format", "markdown", "--resamples", "200")
    assert result.returncode == 0, result.stderr
    assert "significant only" in result.stdout and "Differences against t+e (95% paired bootstrap)" in result.stdout


def test_installed_console_script(tmp_path, paper_dir):
    # The real entry point, once, in its own process: exit codes and streams as a shell sees them.
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("prom-bench")
    if not script.exists():
        pytest.skip("the prom-bench console script is not installed next to this Python")
    ok = subprocess.run(
        [str(script), "table", str(paper_dir), "--compare", "paper", "--table", "3", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1].startswith("PROM,LLaMA2-7B,prom,0,8,3,11,0,9,")
    bad = subprocess.run(
        [str(script), "table", str(paper_dir), "--table", "9"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stderr.strip() == "error: unknown table '9'; valid: 1, 2, 3, 4, control, all"


def test_export_writes_a_long_table_and_rejects_other_suffixes(cli, tmp_path, fixture_runs):
    import csv

    ok = cli("export", fixture_runs, "--out", tmp_path / "results.csv")
    assert ok.returncode == 0, ok.stderr
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert {"model", "method", "task", "settings_id", "seed", "limited", "metric", "value"} <= set(rows[0])
    bad = cli("export", fixture_runs, "--out", tmp_path / "results.xlsx")
    assert bad.returncode == 2 and "must end in .csv or .parquet" in bad.stderr
    assert not (tmp_path / "results.xlsx").exists()


def test_metric_choice_is_checked_and_shown(cli, fixture_runs, paper_dir):
    line = one_error_line(cli("table", fixture_runs, "--metric", "papr"))
    assert line == "error: unknown metric 'papr'; valid: language-aware, paper, both"
    out = cli("table", paper_dir, "--table", "1", "--metric", "paper", "--format", "csv").stdout
    import csv
    import io

    prom = next(row for row in csv.DictReader(io.StringIO(out)) if row["method"] == "PROM")
    assert (prom["XQuAD th paper em"], prom["XQuAD th paper f1"]) == ("10.7", "22.5")
    assert "XQuAD th em" not in prom  # the columns name their measure
