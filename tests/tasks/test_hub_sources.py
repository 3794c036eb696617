"""The hub path (no local data dir): each loader asks for the source and revision its YAML pins.

The hub is not reachable in tests: the download functions are replaced by fakes that record their arguments
and serve fixture files in the upstream formats.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

TASKS = Path(__file__).resolve().parents[2] / "tasks"
KNOWN_UNPINNED = {"xquad"}  # see tasks/xquad/README.md, Known gaps


def task_yamls():
    for path in sorted(TASKS.glob("*/prom_*.yaml")):
        yield path, yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_task_names_source_and_revision():
    for path, cfg in task_yamls():
        kwargs = cfg["dataset_kwargs"]
        assert kwargs["data_source"], path
        if kwargs["family"] not in KNOWN_UNPINNED:
            assert re.fullmatch(r"[0-9a-f]{40}", kwargs["data_revision"]), path


@pytest.fixture()
def fake_hub(monkeypatch, tmp_path, fixture_data):
    import datasets
    import huggingface_hub

    calls = []

    def load_dataset(path, name=None, *, split, revision):
        calls.append(("load_dataset", path, name, split, revision))
        if path == "juletxara/mgsm":
            return [{"question": "Swali?", "answer": None, "answer_number": 18, "equation_solution": None}]
        return [{"id": "q1", "context": "c", "question": "q", "answers": {"text": ["c"], "answer_start": [0]}}]

    def hf_hub_download(repo_id, filename, *, repo_type, revision):
        calls.append(("hf_hub_download", repo_id, filename, repo_type, revision))
        return str(fixture_data / "indicqa" / Path(filename).name)

    def download_and_extract(self, url):
        calls.append(("download_and_extract", url))
        root = tmp_path / "extracted"
        (root / "MLQA_V1" / "test").mkdir(parents=True, exist_ok=True)
        shutil.copy(fixture_data / "mlqa" / "test-context-ar-question-ar.json", root / "MLQA_V1" / "test")
        return str(root)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(datasets.DownloadManager, "download_and_extract", download_and_extract)
    monkeypatch.delenv("PROM_BENCH_DATA_DIR", raising=False)
    return calls


def test_hub_loaders_use_the_pinned_revision(fake_hub, loaders):
    for path, cfg in task_yamls():
        kwargs = cfg["dataset_kwargs"]
        fake_hub.clear()
        if kwargs["family"] == "mgsm":
            split = loaders.load_mgsm(**kwargs)[kwargs["split"]]
            assert split[0]["answer_number"] == "18"
        else:
            split = loaders.load_squad_style(**kwargs)[kwargs["split"]]
            assert len(split) >= 1 and split[0]["lang"] == kwargs["lang"]
        [call] = fake_hub
        if call[0] == "download_and_extract":
            assert call[1] == kwargs["data_source"] == "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip"
        else:
            assert call[1] == kwargs["data_source"] and call[-1] == kwargs["data_revision"], (path, call)
