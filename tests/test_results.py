"""The results store: atomic unique writes, loading with clear errors, provenance, the pandas view."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from prom_bench.errors import UserError
from prom_bench.results import (
    RECORD_SUFFIX,
    latest_records,
    load_records,
    record_from,
    settings_id,
    to_frame,
    write_record,
)


def make_record(**overrides) -> dict:
    record = record_from(
        model="SmolLM2-135M-Instruct",
        method="PROM",
        task="prom_xquad_th",
        metrics={"exact_match": 50.0, "f1": 62.5},
        n=2,
        samples=[{"doc_id": 0, "exact_match": 1, "f1": 1.0}, {"doc_id": 1, "exact_match": 0, "f1": 0.25}],
        settings={"pivot_layer": 24, "label_smoothing": 0.1, "pivot_weight": 0.1},
        config={"lr": 2e-5},
        seed=3,
    )
    record.update(overrides)
    return record


def test_record_from_fills_schema_and_provenance():
    record = make_record()
    assert record["schema"] == 1
    assert record["method"] == "prom"  # canonical name from the paper alias
    assert (record["lang"], record["benchmark"]) == ("th", "xquad")
    assert record["settings_id"] == settings_id(record["settings"])
    provenance = record["provenance"]
    assert set(provenance["packages"]) >= {"torch", "transformers", "peft", "accelerate", "lm_eval", "datasets"}
    assert provenance["packages"]["torch"]  # installed here, so a version string
    assert provenance["seed"] == 3 and provenance["config"] == {"lr": 2e-5}
    assert provenance["date"].endswith("+00:00")
    assert "git_commit" in provenance


def test_record_from_takes_a_task_result():
    class TaskResult:  # the shape prom_bench.evaluation returns
        task, metrics, n, version = "prom_mgsm_sw", {"accuracy": 25.0}, 4, 2
        samples = [{"doc_id": i, "accuracy": int(i == 0)} for i in range(4)]
        dataset = {"source": "local", "path": "eval"}

    record = record_from(TaskResult(), model="tiny", method="t+e", seed=0)
    assert (record["task"], record["lang"], record["benchmark"], record["n"]) == ("prom_mgsm_sw", "sw", "mgsm", 4)
    assert record["provenance"]["task_version"] == 2 and record["provenance"]["dataset"]["source"] == "local"


def test_settings_id_ignores_key_order_and_int_float():
    assert settings_id({"a": 0.0, "b": 24}) == settings_id({"b": 24.0, "a": 0})
    assert settings_id({"pivot_weight": 0.1}) != settings_id({"pivot_weight": 0.0})


def test_write_then_load_round_trip(tmp_path):
    record = make_record()
    path = write_record(tmp_path, record)
    assert path.name.endswith(RECORD_SUFFIX) and path.name.startswith(f"prom_xquad_th__{record['settings_id']}__")
    assert path.relative_to(tmp_path).parts[:3] == ("smollm2-135m-instruct", "prom", "th")
    assert load_records([tmp_path]) == [record]
    assert load_records([path]) == [record]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_one_file_per_identity_and_the_latest_counts(tmp_path):
    older = make_record()
    older["provenance"]["date"] = "2026-01-01T00:00:00+00:00"
    newer = make_record(metrics={"exact_match": 60.0, "f1": 70.0})
    newer["provenance"]["date"] = "2026-01-02T00:00:00+00:00"
    assert write_record(tmp_path, newer) == write_record(tmp_path, older)  # the name is the identity's
    records = load_records([tmp_path])
    assert len(records) == 1
    assert [r["metrics"]["exact_match"] for r in latest_records(records)] == [60.0]
    newest = make_record(metrics={"exact_match": 61.0, "f1": 71.0})
    newest["provenance"]["date"] = "2026-01-03T00:00:00+00:00"
    write_record(tmp_path, newest)  # a newer result of the same identity replaces the file
    assert [r["metrics"]["exact_match"] for r in load_records([tmp_path])] == [61.0]


def test_old_stores_with_stamped_names_are_still_read(tmp_path):
    older = make_record()
    older["provenance"]["date"] = "2026-01-01T00:00:00+00:00"
    folder = tmp_path / "smollm2-135m-instruct" / "prom" / "th"
    folder.mkdir(parents=True)
    stamped = folder / f"prom_xquad_th__{older['settings_id']}__20260101T000000000000Z-12-abcd1234{RECORD_SUFFIX}"
    stamped.write_text(json.dumps(older))
    newer = make_record(metrics={"exact_match": 60.0, "f1": 70.0})
    newer["provenance"]["date"] = "2026-01-02T00:00:00+00:00"
    write_record(tmp_path, newer)
    records = load_records([tmp_path])
    assert len(records) == 2
    assert [r["metrics"]["exact_match"] for r in latest_records(records)] == [60.0]


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from prom_bench.results import record_from, write_record
    out, tag, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    time.sleep(max(0.0, start - time.time() - 0.05))
    while time.time() < start:   # spin the last 50 ms so both processes start within microseconds
        pass
    for i in range(25):
        write_record(out, record_from(model="m", method="prom", task="prom_mgsm_th", metrics={"accuracy": float(i)},
                                      n=1, settings={"run": tag, "i": i}, seed=i))
""")


def test_two_processes_writing_at_the_same_moment_lose_nothing(tmp_path):
    start = time.time() + 2.0  # both processes spin until the same instant, then write 25 records each
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag, str(start)]) for tag in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    records = load_records([tmp_path])
    assert len(records) == 50
    assert sorted((r["settings"]["run"], r["metrics"]["accuracy"]) for r in records) == sorted(
        (tag, float(i)) for tag in "ab" for i in range(25)
    )


def test_same_results_written_by_two_processes_are_each_written_once(tmp_path):
    # The same 25 results (same identity, same scores) from two writers at the same instant: one file each.
    script = WRITER.replace('settings={"run": tag, "i": i}', 'settings={"i": i}')
    start = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag, str(start)]) for tag in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(list(tmp_path.rglob(f"*{RECORD_SUFFIX}"))) == 25
    assert sorted(r["settings"]["i"] for r in load_records([tmp_path])) == list(range(25))
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no stage left behind


SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import prom_bench.fileio as fileio
    from prom_bench.results import record_from, write_record
    def stalling(path, data, *, fsync):
        # Writes half the bytes, tells the parent, then hangs: the moment a crash would hurt most.
        with open(path, "xb") as handle:
            handle.write(data[: len(data) // 2]); handle.flush()
            print("HALF", flush=True)
            time.sleep(60)
    fileio._write_bytes = stalling
    write_record(Path(sys.argv[1]), record_from(model="m", method="t", task="prom_mgsm_th",
                                                metrics={"accuracy": 1.0}, n=1))
""")


def test_a_killed_write_leaves_no_partial_record(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "HALF"  # half of the JSON is on disk, in the temp file
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers and all(p.name.startswith(".") and ".stage-" in p.name for p in leftovers)
    assert load_records([tmp_path]) == []  # readers never see the half-written file
    # the next write of that record removes the dead writer's stage and writes the record once
    write_record(tmp_path, record_from(model="m", method="t", task="prom_mgsm_th", metrics={"accuracy": 1.0}, n=1))
    assert [p.name.startswith(".") for p in tmp_path.rglob("*") if p.is_file()] == [False]


def test_corrupt_record_is_one_clear_error_naming_the_file(tmp_path):
    write_record(tmp_path, make_record())
    bad = tmp_path / "broken" / f"x{RECORD_SUFFIX}"
    bad.parent.mkdir()
    bad.write_text('{"schema": 1, "model": ', encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_records([tmp_path])
    message = str(info.value)
    assert "corrupt result record" in message and str(bad) in message and "\n" not in message


def test_record_missing_a_key_is_rejected(tmp_path):
    record = make_record()
    del record["metrics"]
    path = tmp_path / f"r{RECORD_SUFFIX}"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(UserError, match="missing 'metrics'"):
        load_records([path])
    with pytest.raises(UserError, match="missing 'metrics'"):
        write_record(tmp_path, record)


def test_missing_results_dir_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_records([tmp_path / "nope"])


def test_to_frame_has_a_row_per_record_and_metric_columns(tmp_path):
    write_record(tmp_path, make_record())
    write_record(tmp_path, record_from(model="m", method="t+e", task="prom_mgsm_sw", metrics={"accuracy": 4.0}, n=250))
    frame = to_frame(load_records([tmp_path])).sort_values("task")
    assert list(frame["task"]) == ["prom_mgsm_sw", "prom_xquad_th"]
    assert frame["accuracy"].iloc[0] == 4.0 and frame["f1"].iloc[1] == 62.5
    assert frame["settings.pivot_layer"].iloc[1] == 24
    assert frame["f1"].isna().iloc[0]  # missing stays missing, not 0
