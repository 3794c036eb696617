"""Real studies through a real SLURM cluster (``.ci/slurm-up``): the same records as inline, status during the
run, plain progress lines in a log, two concurrent submitters, 2 gloo processes in a job, and a requeue that
resumes to the same weights. Skipped with a reason when no cluster answers."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prom_bench import config as cfg
from prom_bench import pipeline
from prom_bench.status import DONE, FAILED, NOT_SUBMITTED, PENDING, RUNNING, study_plans, unit_status

pytestmark = pytest.mark.slurm
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONF = Path(os.environ.get("TMPDIR", "/tmp")) / "prom-bench-slurm" / "slurm.conf"


@pytest.fixture(scope="module")
def slurm_env():
    """The environment for clients of the cluster that ``.ci/slurm-up`` started (SLURM_CONF exported)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    if "SLURM_CONF" not in env and DEFAULT_CONF.is_file():
        env["SLURM_CONF"] = str(DEFAULT_CONF)
    try:
        ok = subprocess.run(["sinfo", "-h"], env=env, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        pytest.skip("no SLURM cluster answers (start one with .ci/slurm-up and export its SLURM_CONF)")
    os.environ.update({k: env[k] for k in ("SLURM_CONF",) if k in env})
    return env


STUDY = ["--set", "train.max_steps=2", "--set", "eval.limit=2", "--set", "eval.max_gen_toks=8"]
STUDY += ["--set", "regulation=paper", "--set", "workers=1", "--set", "controls=[]"]  # the study alone


def _cli(tmp: Path, *args: str) -> list[str]:
    out = ["--out", str(tmp / "runs"), "--results", str(tmp / "results")]
    return [sys.executable, "-c", "from prom_bench.cli import main; main()", *args, *out]


def _inline_records(tmp: Path, langs: str, methods: str, overrides: list[str] = ()):
    sets = [s for s in STUDY if s != "--set"] + list(overrides)
    config = cfg.load(
        "demo",
        overrides=sets,
        flags={
            "model": "tiny",
            "langs": langs,
            "methods": methods,
            "out": str(tmp / "runs"),
            "results": str(tmp / "r"),
        },
    )
    return pipeline.run(config)


def _key(record: dict):
    return (record["method"], record["lang"], record["task"])


def _records(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results.rglob("*.record.json"))]


def test_two_concurrent_slurm_runs_submit_each_unit_once_and_equal_inline(tmp_path, slurm_env):
    """th,ar x t,prom: two `run --executor slurm --wait` at once on one folder; status while they run; the
    records equal an inline run's; a progress line at least every 30 s in a redirected log."""
    args = _cli(tmp_path / "slurm", "run", "--executor", "slurm", "--wait", "--model", "tiny")
    args += ["--langs", "th,ar", "--methods", "t,prom", *STUDY, "--set", "cluster.poll_s=1"]
    args += ["--set", "progress_every_s=5"]
    logs = [tmp_path / f"run{i}.err" for i in (0, 1)]
    procs = [subprocess.Popen(args, env=slurm_env, stdout=subprocess.DEVNULL, stderr=open(log, "w")) for log in logs]
    seen: dict[str, list] = {}  # each unit's states, in the order status reported them
    runs = tmp_path / "slurm" / "runs"
    from prom_bench.executors.slurm import job_alive

    while any(p.poll() is None for p in procs):
        for plan in study_plans(runs) if (runs / "tiny-llama" / "study.json").is_file() else []:
            status = unit_status(plan, job_alive)
            states = seen.setdefault(plan.name, [])
            if not states or states[-1] != status.state:
                states.append(status.state)
            assert status.state in (PENDING, RUNNING, DONE), status.line()
            if status.state == RUNNING:
                assert status.job, status.line()  # a running unit names its job
        time.sleep(1)
    texts = [log.read_text() for log in logs]
    assert [p.returncode for p in procs] == [0, 0], texts

    # each job submitted once, over both runs; three jobs (prom/ar is t/ar: lambda = 0 shares its training)
    submitted = [line for text in texts for line in text.splitlines() if line.startswith("submitted job")]
    units = [u.strip() for line in submitted for u in line.split(":", 1)[1].split(",")]
    assert sorted(units) == sorted(["t/th", "t/ar", "prom/th", "prom/ar"]), submitted
    assert len(submitted) == 3, submitted
    assert set(seen) == {"t/th", "t/ar", "prom/th", "prom/ar"}
    assert any(RUNNING in states for states in seen.values()), seen  # status saw units running
    order = [PENDING, RUNNING, DONE]  # never back, never failed, never "not submitted" once a run submitted it
    for name, states in seen.items():
        assert [order.index(s) for s in states] == sorted({order.index(s) for s in states}), (name, states)
    assert {p.name: unit_status(p, job_alive).state for p in study_plans(runs)} == dict.fromkeys(seen, DONE)

    # no record lost or duplicated: one per (method, lang, task)
    records = _records(tmp_path / "slurm" / "results")
    assert sorted(_key(r) for r in records) == sorted(
        (m, lang, t)
        for m in ("t", "prom")
        for lang, ts in (("th", ("prom_xquad_th", "prom_mgsm_th")), ("ar", ("prom_xquad_ar", "prom_mlqa_ar")))
        for t in ts
    )
    inline = _inline_records(tmp_path / "inline", "th,ar", "t,prom")
    by_key = {_key(r): r for r in inline}
    for record in records:
        assert record["metrics"] == by_key[_key(record)]["metrics"], _key(record)
        assert record["samples"] == by_key[_key(record)]["samples"], _key(record)

    # the log is not a terminal: plain progress lines, no control characters, never 30 s apart
    for text in texts:
        assert "\x1b" not in text and "\r" not in text
        stamps = [_seconds(m.group(1)) for m in re.finditer(r"^(\d\d:\d\d:\d\d)  ", text, re.M)]
        assert len(stamps) >= 2, text
        gaps = [(b - a) % 86400 for a, b in itertools.pairwise(stamps)]
        assert max(gaps) <= 30, gaps


def squeue_state(job: str, env: dict) -> str | None:
    out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=env, capture_output=True, text=True).stdout
    return out.strip() or None


def _seconds(clock: str) -> int:
    h, m, s = map(int, clock.split(":"))
    return h * 3600 + m * 60 + s


# Two ways a job is interrupted mid-training: SLURM requeues it itself (as a preemption does), or the job is
# sent the signal SLURM sends before its time limit (sbatch --signal, USR2) and submitit's checkpoint requeues it.
INTERRUPTIONS = {
    "preempted": lambda job: ["scontrol", "requeue", job],
    "time limit near": lambda job: ["scancel", "--signal=USR2", job],
}


@pytest.mark.parametrize("interruption", list(INTERRUPTIONS))
def test_a_requeued_two_process_training_resumes_to_the_same_weights(tmp_path, slurm_env, interruption):
    """t/th trains in 2 gloo processes inside its job; the job is interrupted mid-training and requeued; it
    resumes from its newest checkpoint and ends with the weights of an uninterrupted run."""
    from safetensors.torch import load_file

    train = ["--set", "cluster.gpus_per_unit=2", "--set", "train.per_device_batch_size=2"]
    # long enough (40 steps) that the requeue lands mid-training; a checkpoint every 4 steps
    train += ["--set", "train.max_steps=40", "--set", "train.save_steps=4", "--set", "cluster.poll_s=1"]
    args = _cli(tmp_path / "slurm", "run", "--executor", "slurm", "--model", "tiny", "--langs", "th", "--methods", "t")
    args += [*STUDY, *train]
    submitted = subprocess.run(args, env=slurm_env, capture_output=True, text=True, timeout=120)
    assert submitted.returncode == 0, submitted.stderr
    job = re.search(r"submitted job (\S+):", submitted.stderr).group(1)
    plan = study_plans(tmp_path / "slurm" / "runs")[0]
    log = Path(plan.train.dir) / "train_log.jsonl"

    def lines() -> list[dict]:
        if not log.is_file():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]

    deadline = time.monotonic() + 300
    while not any(r["step"] >= 5 for r in lines()):
        assert time.monotonic() < deadline, "training did not reach step 5"
        time.sleep(0.2)
    subprocess.run(INTERRUPTIONS[interruption](job), env=slurm_env, check=True)
    deadline = time.monotonic() + 60
    while squeue_state(job, slurm_env) not in ("PENDING", None):  # the killed life writes nothing more
        assert time.monotonic() < deadline, squeue_state(job, slurm_env)
        time.sleep(0.5)
    before = lines()
    assert before and before[-1]["step"] < 40, "training ended before the requeue: make it longer"
    if interruption == "time limit near":  # requeued by the job itself, through its checkpoint()
        job_logs = "".join(p.read_text() for p in (tmp_path / "slurm" / "runs").rglob(f"{job}_*_log.err"))
        assert "Caught signal SIGUSR2" in job_logs, job_logs[-2000:]

    from prom_bench.executors.slurm import job_alive

    deadline = time.monotonic() + 400
    while unit_status(plan, job_alive).state not in (DONE, FAILED, NOT_SUBMITTED):
        assert time.monotonic() < deadline, unit_status(plan, job_alive).line()
        time.sleep(2)
    assert unit_status(plan, job_alive).state == DONE, unit_status(plan, job_alive).line()
    after = lines()
    assert [r["step"] for r in after] == list(range(1, 41))
    # the steps up to the checkpoint it resumed from are the first life's lines (their own step times); the
    # steps after it were trained again by the second life
    kept = 0
    while kept < len(before) and after[kept] == before[kept]:
        kept += 1
    newest = before[-1]["step"] // 4 * 4  # the newest checkpoint when it was killed (or one in the making)
    assert kept % 4 == 0 and max(4, newest - 4) <= kept <= newest, (kept, before[-1]["step"])

    # the same training uninterrupted, in 2 gloo processes without a scheduler
    overrides = [s for s in train if s != "--set"]
    reference = _inline_records(tmp_path / "inline", "th", "t", overrides)
    ref_weights = Path(reference[0]["provenance"]["config"]["adapter"]) / "adapter_model.safetensors"
    got = load_file(str(Path(plan.train.weights) / "adapter_model.safetensors"))
    want = load_file(str(ref_weights))
    assert set(got) == set(want)
    for name in got:
        assert (got[name] == want[name]).all(), name
