"""``data translate`` through the Google v2 REST backend, against a fake endpoint on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from prom_bench.data.backends import GoogleTranslateBackend
from prom_bench.data.sources import load_english_instructions
from prom_bench.data.translate import needed_segments
from prom_bench.errors import UserError

from .conftest import FAKE_KEY


def test_killed_translate_rerun_requests_only_what_is_missing(fake_google, private_home, tmp_path, cli):
    segments = needed_segments(load_english_instructions("demo").records)
    out = tmp_path / "th.jsonl"
    args = [
        "data",
        "translate",
        "--lang",
        "th",
        "--backend",
        "google",
        "--input",
        "demo",
        "--endpoint",
        fake_google.url,
        "--batch-size",
        "4",
        "--out",
        str(out),
    ]
    fake_google.stall_after = 3  # requests 1-3 answered, request 4 hangs: the run is mid-way when killed
    env = dict(os.environ, OMP_NUM_THREADS="1", PROM_BENCH_HOME=str(private_home), GOOGLE_TRANSLATE_API_KEY=FAKE_KEY)
    process = subprocess.Popen(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while len(fake_google.requests) < 4 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=30)
    assert len(fake_google.requests) == 4, "the first run should have been stopped inside its fourth request"
    answered_first = set(fake_google.segments("answered"))
    assert len(answered_first) == 12 and not out.exists()

    fake_google.stall_after = None
    first_requests = len(fake_google.requests)
    code, _, err = cli(*args)
    assert code == 0, err
    rerun = [text for batch in fake_google.requests[first_requests:] for text in batch]
    assert sorted(rerun) == sorted(set(segments) - answered_first)  # only what is missing, each once
    assert f"{len(segments)} to translate" not in err and f"{len(answered_first)} cached" in err

    # A third run pays for nothing.
    before = len(fake_google.requests)
    assert cli(*args, "--overwrite")[0] == 0 and len(fake_google.requests) == before  # the same file, replaced

    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [r["id"] for r in load_english_instructions("demo").records]
    assert records[0]["instruction"] == "แปล Give three tips for staying healthy."
    # The key went only into the request header, never to disk.
    assert fake_google.keys == {FAKE_KEY}
    for path in [*private_home.rglob("*"), out]:
        if path.is_file():
            assert FAKE_KEY not in path.read_text(encoding="utf-8", errors="replace")


def test_code_blocks_and_placeholders_never_reach_the_translator(fake_google, tmp_path, cli):
    source = tmp_path / "en.jsonl"
    record = {
        "id": "c1",
        "instruction": "Fix the function for {name}.",
        "input": "```python\ndef f(x):\n    return x\n```",
        "output": "Use `len(x)` here:\n```python\ndef f(x):\n    return len(x)\n```\nDone, %s.",
    }
    source.write_text(json.dumps(record) + "\n")
    out = tmp_path / "th.jsonl"
    code, _, err = cli(
        "data",
        "translate",
        "--lang",
        "th",
        "--backend",
        "google",
        "--input",
        source,
        "--endpoint",
        fake_google.url,
        "--out",
        out,
    )
    assert code == 0, err
    sent = fake_google.segments()
    assert not any("def f" in text or "len(x)" in text for text in sent)
    (translated,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert translated["instruction"] == "แปล Fix the function for {name}."
    assert translated["input"] == record["input"]
    assert translated["output"] == "แปล Use `len(x)` here:\n```python\ndef f(x):\n    return len(x)\n```\nแปล Done, %s."


def test_transient_errors_are_retried_with_backoff(fake_google):
    fake_google.failures = [
        (503, {"code": 503, "message": "backend error"}),
        (403, {"code": 403, "message": "Rate Limit", "errors": [{"reason": "userRateLimitExceeded"}]}),
    ]
    backend = GoogleTranslateBackend(endpoint=fake_google.url, backoff_s=0.01)
    assert backend.translate(["hello"], "en", "th") == ["แปล hello"]
    assert len(fake_google.requests) == 3


def test_daily_quota_is_explained_without_retrying(fake_google):
    fake_google.failures = [
        (403, {"code": 403, "message": "Daily Limit Exceeded", "errors": [{"reason": "dailyLimitExceeded"}]})
    ]
    backend = GoogleTranslateBackend(endpoint=fake_google.url, backoff_s=0.01)
    with pytest.raises(UserError, match=r"quota exceeded \(dailyLimitExceeded\).*rerunning the same command continues"):
        backend.translate(["hello"], "en", "th")
    assert len(fake_google.requests) == 1


def test_rejected_key_is_explained_and_not_shown(fake_google, monkeypatch, cli, tmp_path):
    monkeypatch.setenv("GOOGLE_TRANSLATE_API_KEY", "wrong-secret-key")
    code, out, err = cli(
        "data",
        "translate",
        "--lang",
        "th",
        "--backend",
        "google",
        "--input",
        "demo",
        "--endpoint",
        fake_google.url,
        "--out",
        tmp_path / "x.jsonl",
    )
    assert code == 2 and "rejected the API key" in err and "wrong-secret-key" not in err + out
    assert not (tmp_path / "x.jsonl").exists()


def test_missing_key_names_the_variable(monkeypatch, cli, tmp_path):
    monkeypatch.delenv("GOOGLE_TRANSLATE_API_KEY", raising=False)
    code, _, err = cli("data", "translate", "--lang", "th", "--backend", "google", "--out", tmp_path / "x.jsonl")
    assert code == 2 and "GOOGLE_TRANSLATE_API_KEY" in err and len(err.strip().splitlines()) == 1
