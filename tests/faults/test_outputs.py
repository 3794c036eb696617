"""Nothing lost: a user-named ``--out`` is staged and moved into place whole, never over existing files.

The red team's reproduction: ``mkdir mywork && echo important > mywork/thesis.tex && prom-bench data build
--lang th --method t --out mywork`` deleted ``thesis.tex``. Now: one line, exit 2, nothing touched, unless
``--overwrite`` is given; ``report --out`` onto a symlink, a device node or into a missing folder is refused.
"""

from __future__ import annotations

import os
import stat

import pytest

from prom_bench.cli import main
from prom_bench.paths import paper_leaderboard_dir


@pytest.fixture
def cli(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))

    def run(*args):
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_data_build_never_replaces_a_users_folder(cli, tmp_path):
    work = tmp_path / "mywork"
    work.mkdir()
    (work / "thesis.tex").write_text("important")
    code, _, err = cli("data", "build", "--lang", "th", "--method", "t", "--out", work)
    assert code == 2
    assert "--overwrite" in _one_error(err) and str(work) in err
    assert _tree(work) == {"thesis.tex": b"important"}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["mywork"]  # no stage left


def test_data_build_never_replaces_a_file_named_as_out(cli, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep")
    for langs in ("th", "th,sw"):
        code, _, err = cli("data", "build", "--lang", langs, "--method", "t", "--out", target)
        assert code == 2 and str(target) in _one_error(err)
    assert target.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["notes.txt"]


def test_data_build_into_an_empty_or_new_folder_and_with_overwrite(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("data", "build", "--lang", "th", "--method", "t", "--out", empty)[0] == 0
    assert sorted(_tree(empty)) == ["README.md", "stats.json", "train.jsonl"]
    work = tmp_path / "mywork"
    work.mkdir()
    (work / "thesis.tex").write_text("important")
    code, _, err = cli("data", "build", "--lang", "th,sw", "--method", "t", "--out", work, "--overwrite")
    assert code == 0, err
    assert sorted(_tree(work)) == [
        f"{lang}/{name}" for lang in ("sw", "th") for name in ("README.md", "stats.json", "train.jsonl")
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_failed_build_leaves_nothing(cli, tmp_path, monkeypatch):
    from prom_bench.data import build

    out = tmp_path / "new"
    monkeypatch.setattr(build, "render_card", lambda _m: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    code, _, err = cli("data", "build", "--lang", "th", "--method", "t", "--out", out)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and "Traceback" not in err
    assert len(errors) == 1 and errors[0].startswith("error: No space left on device")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.fixture
def records():
    return paper_leaderboard_dir()


def test_report_refuses_an_existing_file_without_overwrite(cli, tmp_path, records):
    out = tmp_path / "report.html"
    out.write_text("my page")
    code, _, err = cli("report", records, "--out", out)
    assert code == 2 and "--overwrite" in _one_error(err)
    assert out.read_text() == "my page"
    code, _, err = cli("report", records, "--out", out, "--overwrite")
    assert code == 0, err
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["report.html"]


def test_report_refuses_a_symlink_a_device_and_a_missing_folder(cli, tmp_path, records):
    real = tmp_path / "real.html"
    real.write_text("kept")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    try:
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a character device, like /dev/null
    except (PermissionError, OSError):
        device = None  # only root may make device nodes; the symlink and missing-folder cases still run
    cases = [link, tmp_path / "missing" / "report.html"] + ([device] if device else [])
    for out in cases:
        for extra in ((), ("--overwrite",)):
            code, _, err = cli("report", records, "--out", out, *extra)
            assert code == 2, (out, err)
            assert str(out) in _one_error(err)
    assert link.is_symlink() and real.read_text() == "kept"
    if device:
        assert stat.S_ISCHR(device.lstat().st_mode)
    assert not (tmp_path / "missing").exists()


def test_translate_refuses_an_existing_out_before_any_work(cli, tmp_path):
    out = tmp_path / "th.jsonl"
    out.write_text("mine\n")
    code, _, err = cli("data", "translate", "--lang", "th", "--backend", "file", "--file", tmp_path / "x", "--out", out)
    assert code == 2 and "--overwrite" in _one_error(err)
    assert out.read_text() == "mine\n"


def test_stages_of_killed_writers_are_removed_and_no_one_elses(tmp_path):
    from prom_bench.fileio import remove_stages_of

    (tmp_path / "a" / "b").mkdir(parents=True)
    killed = tmp_path / "a" / "b" / ".x.record.json.stage-4242-0a1b2c3d"
    other = tmp_path / "a" / ".y.record.json.stage-4343-0a1b2c3d"
    staged_dir = tmp_path / ".adapter.stage-4242-ffff0000"
    record = tmp_path / "a" / "x.record.json"
    for path in (killed, other, record):
        path.write_text("{}")
    (staged_dir / "inner").mkdir(parents=True)
    remove_stages_of([tmp_path / "a", tmp_path, tmp_path / "missing"], {4242})
    assert not killed.exists() and not staged_dir.exists()
    assert other.exists() and record.exists()
