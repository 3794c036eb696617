"""The transformers backend on a tiny random M2M100 built in-process (NLLB-style language tokens)."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

from prom_bench.data.backends import TransformersBackend
from prom_bench.data.cache import TranslationCache
from prom_bench.data.translate import translate_records

SPECIALS = ["<pad>", "</s>", "<unk>", "<s>", "eng_Latn", "tha_Thai", "tam_Taml"]
WORDS = "say hello to the world fix function for please translate this sentence ไทย สวัสดี ครับ".split()


@pytest.fixture(scope="module")
def tiny_mt():
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        bos_token="<s>",
        additional_special_tokens=SPECIALS[4:],
    )
    torch.manual_seed(0)
    config = M2M100Config(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=3,
        decoder_start_token_id=1,
    )
    return M2M100ForConditionalGeneration(config).eval(), tokenizer, vocab


def _backend(tiny_mt, calls):
    model, tokenizer, _ = tiny_mt
    backend = TransformersBackend(
        model="tiny-m2m100", model_obj=model, tokenizer=tokenizer, max_new_tokens=6, device="cpu"
    )
    generate = model.generate

    def counting_generate(*args, **kwargs):
        calls.append(kwargs)
        return generate(*args, **kwargs)

    model.generate = counting_generate
    return backend


def test_target_language_token_is_forced(tiny_mt):
    calls = []
    backend = _backend(tiny_mt, calls)
    out = backend.translate(["say hello", "fix function"], "en", "th")
    assert len(out) == 2 and all(isinstance(text, str) for text in out)
    assert calls[0]["forced_bos_token_id"] == tiny_mt[2]["tha_Thai"]
    assert backend._language_token("ta") == "tam_Taml" and backend._language_token("ml") is None


def test_local_model_translation_is_cached_and_keeps_placeholders(tiny_mt, tmp_path):
    records = [
        {
            "id": "a",
            "instruction": "say hello to {name}",
            "input": "",
            "output": "```\nprint(1)\n```\nplease translate",
        },
        {"id": "b", "instruction": "fix function", "input": "the world", "output": "translate this sentence"},
    ]
    calls = []
    backend = _backend(tiny_mt, calls)
    cache = TranslationCache(backend.id, "th", root=tmp_path)
    first = translate_records(records, "th", backend, cache=cache, progress=lambda done, total: None)
    assert calls, "the model was not called"
    assert (
        first[0]["instruction"].count("{name}") == 1
    )  # the random model garbles markers: pieces are translated around it
    assert first[0]["output"].startswith("```\nprint(1)\n```\n")
    calls.clear()
    again = translate_records(
        records,
        "th",
        _backend(tiny_mt, calls),
        cache=TranslationCache(backend.id, "th", root=tmp_path),
        progress=lambda done, total: None,
    )
    assert again == first and calls == []
