from __future__ import annotations

import json

import pytest

from prom_bench import languages, models
from prom_bench.errors import UserError

SAMPLES = {  # one short phrase per script; the FLORES test below uses real sentences when present
    "ar": "اللغة العربية",
    "bn": "বাংলা ভাষা",
    "el": "ελληνική γλώσσα",
    "ml": "മലയാളം ഭാഷ",
    "mr": "मराठी भाषा",
    "sw": "lugha ya Kiswahili",
    "ta": "தமிழ் மொழி",
    "te": "తెలుగు భాష",
    "th": "ภาษาไทย",
}


def _roundtrip(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert ids, text
    assert tokenizer.decode(ids) == text


def test_tiny_is_a_small_llama_on_a_real_tokenizer():
    ref = models.resolve("tiny")
    model, tokenizer = models.load(ref)
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 4
    assert len(tokenizer) == 32000 and tokenizer.pad_token is not None
    for text in SAMPLES.values():
        _roundtrip(tokenizer, text)


@pytest.mark.slow
def test_default_model_tokenizes_all_nine_scripts(shared_data):
    # The pitfall in the field notes: a re-saved SmolLM2 tokenizer once returned [] for non-ASCII text.
    ref = models.resolve("default")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ref.path)
    assert tokenizer("Hello world", add_special_tokens=False).input_ids == [19556, 905]
    for code in languages.PAPER_LANGS:
        line = (
            (shared_data / "flores200_devtest" / f"{languages.get(code).flores}.devtest")
            .read_text(encoding="utf-8")
            .splitlines()[0]
        )
        _roundtrip(tokenizer, line)


def test_missing_model_path_is_one_line(tmp_path):
    with pytest.raises(UserError, match="neither a local folder nor a hub id"):
        models.resolve(str(tmp_path / "nope" / "deeper" / "x"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        models.resolve(str(tmp_path / "empty"))


def test_non_causal_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32}))
    with pytest.raises(UserError, match="'bert' model, not a causal LM"):
        models.resolve(str(tmp_path))
