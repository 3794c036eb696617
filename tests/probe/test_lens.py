"""The logit lens against independent references: the model's own output, and output_hidden_states."""

from __future__ import annotations

import torch

from prom_bench.probe.lens import lens_probs

PROMPTS = ['A "___" is used to read stories. Answer: "', 'Eine "___" schwebt am Himmel. Antwort: "', "สวัสดี"]


def _single_token_sets(ids: list[int], n_prompts: int) -> list[list[list[int]]]:
    return [[[i] for i in ids] for _ in range(n_prompts)]


def test_last_layer_lens_equals_model_output(tiny):
    model, tokenizer = tiny
    ids = [0, 5, 100, 2000, 31999]
    sets = _single_token_sets(ids, len(PROMPTS))
    sets = [s + [list(range(len(tokenizer)))] for s in sets]  # the whole vocabulary: mass 1
    lens = lens_probs(model, tokenizer, PROMPTS, sets, batch_size=2)  # shape: [N, L, S]
    for row, prompt in enumerate(PROMPTS):  # one prompt at a time: no padding in the reference
        batch = tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            reference = model(**batch).logits[0, -1].float().softmax(-1)
        torch.testing.assert_close(lens[row, -1, :-1], reference[ids], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(lens[row, -1, -1], torch.tensor(1.0), rtol=1e-5, atol=1e-5)


def test_intermediate_layers_match_hidden_states(tiny):
    model, tokenizer = tiny
    ids = list(range(300, 310))
    lens = lens_probs(model, tokenizer, PROMPTS, _single_token_sets(ids, len(PROMPTS)), batch_size=3)
    decoder = model.get_decoder()
    for row, prompt in enumerate(PROMPTS):
        with torch.no_grad():
            states = model(**tokenizer(prompt, return_tensors="pt"), output_hidden_states=True).hidden_states
        for layer in range(1, len(decoder.layers)):  # [k] = output of block k; the last one is already normed
            probs = model.lm_head(decoder.norm(states[layer][0, -1])).softmax(-1)
            torch.testing.assert_close(lens[row, layer - 1], probs[ids], rtol=1e-4, atol=1e-7)


def test_stopping_early_gives_the_same_layers(tiny):
    model, tokenizer = tiny
    sets = _single_token_sets([7, 8, 9], len(PROMPTS))
    side = tokenizer.padding_side
    full = lens_probs(model, tokenizer, PROMPTS, sets)
    assert tokenizer.padding_side == side  # the lens pads on the left and puts the caller's side back
    early = lens_probs(model, tokenizer, PROMPTS, sets, max_layer=2)
    assert early.shape[1] == 2
    torch.testing.assert_close(early, full[:, :2])
