"""Nothing in a checkpoint folder runs on resume, and a diverged training stops with one line, saving nothing.

Through ``prom-bench train`` on the tiny model and the demo mixture: a pickle planted in the newest
checkpoint (unpickling it would create a marker file) is refused by name, exit 2, and the marker never
appears; with ``trust_pickle_checkpoints`` the run resumes from the safetensors/JSON files alone, still without
unpickling anything. ``lr`` large enough to overflow the weights gives exit 2, one line, no adapter.
"""

from __future__ import annotations

import pickle

import pytest

from prom_bench.cli import main


class _Plant:
    """Unpickling this calls ``open(path, "w")``: the file appears if and only if the pickle was loaded."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = 0
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def mixture(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(capsys, "data", "build", "--lang", "th", "--method", "t", "--out", "mix", "--max-examples", "4")
    assert code == 0, err
    return tmp_path / "mix"


TRAIN = ["--model", "tiny", "--set", "train.max_steps=2", "--set", "train.max_length=64", "--set", "train.lora_r=2"]


def test_a_planted_pickle_is_never_loaded_on_resume(mixture, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "train", mixture, *TRAIN, "--set", "train.save_steps=1", "--out", out)
    assert code == 0, err
    newest = out / "checkpoints" / "step-2"
    assert newest.is_dir()

    # the plant is live: loading it really would create the marker
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_Plant(str(probe))))
    assert probe.exists()

    marker = tmp_path / "planted-code-ran"
    (newest / "custom_checkpoint_0.pkl").write_bytes(pickle.dumps(_Plant(str(marker))))
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    code, _, err = _cli(capsys, "train", mixture, *TRAIN, "--set", "train.save_steps=1", "--out", out)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "custom_checkpoint_0.pkl" in lines[0], err
    assert "Traceback" not in err
    assert not marker.exists()
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing written or moved

    # opted in: the checkpoint's own safetensors/JSON are loaded, the stray pickle still is not
    code, _, err = _cli(
        capsys,
        "train",
        mixture,
        *TRAIN,
        "--set",
        "train.save_steps=1",
        "--set",
        "train.trust_pickle_checkpoints=true",
        "--out",
        out,
    )
    assert code == 0, err
    assert not marker.exists()


def test_a_diverged_training_stops_with_one_line_and_saves_nothing(mixture, tmp_path, capsys):
    out = tmp_path / "diverged"
    # lr 3e37 without warm-up: the first AdamW steps move a weight by ~3e38, past float32's range by step 2
    diverging = ["--set", "train.lr=3e37", "--set", "train.warmup_ratio=0", "--set", "train.max_steps=5"]
    code, _, err = _cli(capsys, "train", mixture, *TRAIN, *diverging, "--out", out)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "diverged" in lines[0] and "Traceback" not in err, err
    assert not (out / "adapter").exists() and not (out / "train_config.json").exists()
