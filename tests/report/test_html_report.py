"""`prom-bench report`: one self-contained page, checked in headless Chromium with a screenshot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def tiny_png(path: Path, color: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 0], color=color)
    fig.savefig(path, dpi=50)
    plt.close(fig)


@pytest.fixture
def analysis_dirs(tmp_path):
    probe, interference = tmp_path / "probe", tmp_path / "interference"
    probe.mkdir()
    interference.mkdir()
    tiny_png(probe / "probe_th.png", "red")
    (probe / "decisions.json").write_text(json.dumps({"th": {"status": "pivots", "p_en": 0.3}}), encoding="utf-8")
    tiny_png(interference / "cosine.png", "blue")
    return probe, interference


def test_report_is_self_contained(cli, tmp_path, fixture_runs, analysis_dirs):
    probe, interference = analysis_dirs
    out = tmp_path / "site" / "report.html"
    out.parent.mkdir()  # a missing folder is refused (tests/faults/test_destinations.py)
    result = cli("report", fixture_runs, "--out", out, "--probe", probe, "--interference", interference)
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    # Tables 1-4, Table 3 once per QA measure (beside the paper the page shows both), the bootstrap intervals
    assert page.count("<table") == 6
    assert 'id="table-3"' in page and 'id="table-3-paper"' in page and "(both measures)" in page
    assert page.count('src="data:image/png;base64,') == 3  # the results chart, the probe and interference plots
    assert "decisions.json" in page and "&quot;pivots&quot;" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page)  # nothing fetched from anywhere
    assert "<style>" in page and "<link" not in page and "<script" not in page
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no stage left beside it


def test_missing_probe_folder_is_one_line(cli, tmp_path, paper_dir):
    result = cli("report", paper_dir, "--out", tmp_path / "r.html", "--probe", tmp_path / "nope")
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: probe folder '{tmp_path / 'nope'}' does not exist; give the folder the probe analysis wrote"
    ]
    assert not (tmp_path / "r.html").exists()


def test_report_renders_in_headless_chromium(cli, tmp_path, fixture_runs, analysis_dirs):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    import numpy as np
    from PIL import Image

    probe, interference = analysis_dirs
    out = tmp_path / "report.html"
    assert cli("report", fixture_runs, "--out", out, "--probe", probe, "--interference", interference).returncode == 0
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,2400",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file(), proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    # Non-blank: a white page has no spread; the tables, text and plots put dark and coloured pixels on it.
    gray = np.asarray(image.convert("L"), dtype=float)
    assert gray.std() > 20
    assert (gray < 128).sum() > 10_000
    # The first table's header band (light blue, #e8eef8) is drawn near the top of the page.
    top = np.asarray(image, dtype=int)[:600]
    assert (np.abs(top - np.array([0xE8, 0xEE, 0xF8])).max(axis=-1) < 6).sum() > 1000
