"""Destinations: a read-only folder fails before any unit trains; a full disk is one line, and the rerun
completes without a duplicate. Real mounts where the test may mount (a small tmpfs), else a simulated
write failure of our own writer."""

from __future__ import annotations

import errno

import pytest
from fault_helpers import TINY, assert_each_record_once, error_lines, record_files, run_cli

from prom_bench import config as cfg
from prom_bench import fileio, pipeline


def _run_args(out, results, methods="t", langs="el"):
    return ["run", *TINY, "--methods", methods, "--langs", langs, "--set", "workers=1", "--out", out] + [
        "--results",
        results,
    ]


@pytest.mark.parametrize("which", ["results", "out"])
def test_read_only_destination_fails_before_any_unit_trains(tmp_path, tmpfs, which):
    ro = tmpfs("1m", ro=True)
    out, results = tmp_path / "runs", tmp_path / "results"
    if which == "out":
        out = ro / "runs"
    else:
        results = ro / "results"
    done = run_cli(_run_args(out, results), tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    bad = results if which == "results" else out
    assert error_lines(done.stderr) == [
        f"error: {which} folder '{bad}' is not writable (Read-only file system); give a folder you can write to"
    ]
    for folder in (tmp_path / "runs", tmp_path / "results"):
        assert not folder.exists() or not any(folder.rglob("*"))  # nothing built, trained or recorded


def test_full_disk_is_one_line_and_the_rerun_completes_once(tmp_path, tmpfs):
    disk = tmpfs("256k")
    results = disk / "results"
    results.mkdir()
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk to the last byte
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    args = _run_args(tmp_path / "runs", results, methods="base", langs="th")
    full = run_cli(args, tmp_path)
    assert full.returncode == 1, full.stderr[-2000:]
    assert "Traceback" not in full.stderr
    [line] = error_lines(full.stderr)
    assert line.startswith("error: No space left on device writing ") and ".record.json" in line
    assert record_files(results) == [] and not [p for p in disk.rglob(".*") if p.is_file()]
    filler.unlink()
    again = run_cli(args, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_each_record_once(results, 2)


def test_write_failure_after_the_first_record_rerun_writes_no_duplicate(tmp_path, monkeypatch):
    """ENOSPC between a unit's two records (simulated in our writer): one record on disk, none half-written."""
    config = cfg.load(
        "demo",
        overrides=[
            "train.max_steps=2",
            "eval.limit=2",
            "workers=1",
            "regulation=paper",
            "eval.max_gen_toks=8",
            "controls=[]",
        ],
        flags={
            "model": "tiny",
            "methods": "base",
            "langs": "th",
            "out": str(tmp_path / "runs"),
            "results": str(tmp_path / "results"),
        },
    )
    real, written = fileio._write_bytes, []

    def second_record_fails(path, data, *, fsync):
        if ".record.json" in path.name:
            written.append(path)
            if len(written) == 2:
                real(path, data[: len(data) // 2], fsync=fsync)  # half the bytes reach the disk, then it is full
                raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, fsync=fsync)

    monkeypatch.setattr(fileio, "_write_bytes", second_record_fails)
    with pytest.raises(OSError) as caught:
        pipeline.run(config)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename.endswith(".record.json")
    assert len(record_files(tmp_path / "results")) == 1
    assert_each_record_once(tmp_path / "results", 1)  # and no stage left behind
    monkeypatch.setattr(fileio, "_write_bytes", real)
    pipeline.run(config)
    assert_each_record_once(tmp_path / "results", 2)
