"""A model's identity: the content hash of a local folder (cached), and a readable name for trained folders."""

from __future__ import annotations

import hashlib
import json

from prom_bench import model_identity
from prom_bench.models import ModelRef, local_display


def test_folder_hash_follows_the_bytes_not_the_cards(tmp_path, monkeypatch):
    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"a": 1}')
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    first = model_identity.folder_hash(folder)
    # independent reference: sha256 over "name\0sha256(bytes)\n" lines in name order
    lines = "".join(
        f"{name}\0{hashlib.sha256((folder / name).read_bytes()).hexdigest()}\n"
        for name in ("config.json", "model.safetensors")
    )
    assert first == hashlib.sha256(lines.encode()).hexdigest()
    (folder / "README.md").write_text("a card")  # a card beside the weights is not the weights
    (folder / "card.json").write_text("{}")
    assert model_identity.folder_hash(folder) == first
    (folder / "model.safetensors").write_bytes(b"\1" + b"\0" * 63)  # same size, other weights
    assert model_identity.folder_hash(folder) != first
    cache = json.loads((tmp_path / "home" / model_identity.CACHE_FILE).read_text())
    assert str((folder / "model.safetensors").resolve()) in cache


def test_identity_keys_the_model_not_its_name_or_adapter(tmp_path, monkeypatch):
    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    ref = ModelRef("x", str(folder), "weights")
    plain = model_identity.identity(ref)
    named = model_identity.identity(ref, name="my-model")
    assert named["name"] == "my-model" and named["key"] == plain["key"] and plain["source"] == "local"
    hub = model_identity.identity(ModelRef("o/m", "o/m", "o/m", revision="abc123"))
    assert hub["hub_id"] == "o/m" and hub["revision"] == "abc123" and hub["content_hash"] is None
    assert hub["key"] != model_identity.identity(ModelRef("o/m", "o/m", "o/m", revision="def456"))["key"]


def test_a_trained_folder_is_named_by_its_card_or_its_parent(tmp_path):
    folder = tmp_path / "train" / "1a2b3c" / "model"
    folder.mkdir(parents=True)
    assert local_display(folder) == "1a2b3c/model"  # not just "model"
    card = {"base_model_name": "SmolLM2-135M-Instruct", "method": "t", "lang": "th", "kind": "full fine-tune"}
    (folder / "card.json").write_text(json.dumps(card))
    assert local_display(folder) == "SmolLM2-135M-Instruct + t (th, full fine-tune)"
    assert local_display(tmp_path / "train") == "train"
