"""The language probe: a logit lens over cloze prompts, and the regulation decision it makes.

``lens`` measures P_en and P_target per layer (through the per-model cache), ``decision`` reads them at the
training block n, ``tokens`` and ``data`` build the token sets and prompts, ``plots`` draws the figures and
``config`` holds the settings. This file imports nothing, so reading the settings does not load torch.
"""
