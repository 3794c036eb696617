"""What the demo shows a first-time user, end to end on the tiny model: the English control beside the tables,
no answer holding half a character, and every trained unit's loss curves in the report."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from prom_bench import config as cfg
from prom_bench import pipeline
from prom_bench.report import build_tables
from prom_bench.report.training import read_log, training_logs

OVERRIDES = ["train.max_steps=3", "eval.limit=2", "workers=1", "regulation=none", "eval.max_gen_toks=6"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    config = cfg.load(
        "demo",
        overrides=OVERRIDES,
        flags={
            "model": "tiny",
            "langs": "th,sw",
            "methods": "base,t,prom",
            "out": str(tmp / "runs"),
            "results": str(tmp / "results"),
        },
    )
    assert config.controls == ["en"]  # the demo preset's English control
    return tmp, pipeline.run(config)


def test_the_english_control_is_evaluated_on_the_base_model(demo_run):
    _, records = demo_run
    control = sorted(r["task"] for r in records if r["lang"] == "en")
    assert control == ["prom_mgsm_en", "prom_xquad_en"]
    assert {r["method"] for r in records if r["lang"] == "en"} == {"base"}
    table = next(t for t in build_tables(records, "all") if t.key == "control")
    assert len(table.rows) == 1  # the base model's row
    values = [v.number for v in table.rows[0].values]
    assert len(values) == 3 and all(v is not None for v in values)  # XQuAD en EM, F1; MGSM en accuracy


def test_each_method_is_one_row_over_the_languages(demo_run):
    # each language's mixture has its own content hash; the run is still one row of Tables 1 and 2
    _, records = demo_run
    for table in build_tables(records, "all"):
        if table.key in ("1", "2"):
            assert [row.label for row in table.rows] == ["PROM", "t", "base"], (table.key, table.notes)
            assert not any("more setting" in note for note in table.notes), table.notes


def test_no_stored_answer_holds_half_a_character(demo_run):
    _, records = demo_run
    # 6 tokens of Thai from a byte-fallback tokenizer on a random model: cuts inside letters are the rule
    responses = [s["response"] for r in records for s in r["samples"]]
    assert responses and not any("\ufffd" in text[-1:] for text in responses if text)


def test_each_trained_unit_leaves_loss_curves_for_the_report(demo_run):
    _, records = demo_run
    logs = training_logs(records)
    trained = {f"{r['model']} · {r['method']}/{r['lang']}" for r in records if r["method"] != "base"}
    assert set(logs) == trained and len(trained) == 4
    for label, path in logs.items():
        steps = read_log(path)
        assert [s["step"] for s in steps] == [1, 2, 3], label
        has_pivot = any(s["loss_pivot"] is not None for s in steps)
        assert has_pivot == ("· prom/" in label), label  # PROM's two terms apart; t has one


def test_report_shows_the_loss_curves_in_headless_chromium(demo_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    import numpy as np
    from PIL import Image

    from prom_bench.report.html_report import build_report
    from prom_bench.report.training import loss_curves

    _, records = demo_run
    page = build_report(records, compare=None)
    assert "<h2>Training</h2>" in page and 'alt="loss curves"' in page
    # Only the training figure, so the screenshot shows its pixels: matplotlib's first two line colours
    # (C0 blue: target term; C1 orange: pivot term) must be on screen.
    png = loss_curves(training_logs(records))
    figure = tmp_path / "training.html"
    import base64

    figure.write_text(f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}">', encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,600",
            figure.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)

    def share(rgb: tuple[int, int, int]) -> float:
        return float((np.abs(pixels - np.array(rgb)).sum(axis=1) < 40).mean())

    assert share((31, 119, 180)) > 1e-4  # C0, L_N,t
    assert share((255, 127, 14)) > 1e-4  # C1, L_n,e (PROM's pivot term)


def test_run_prints_the_control_table(tmp_path):
    args = [
        "run",
        "--model",
        "tiny",
        "--langs",
        "th",
        "--methods",
        "base",
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "results"),
    ] + [a for o in OVERRIDES for a in ("--set", o)]
    proc = subprocess.run(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Control: the English cells" in proc.stdout
