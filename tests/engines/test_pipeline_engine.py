"""The study with a shared-engine backend: every unit evaluated after training, through one engine.

The engine here is the HF engine behind a recorder (our glue under test: deferral, one engine, the plan, the
weights handed over); the real vLLM engine on the same path is in test_vllm_engine.py.
"""

from __future__ import annotations

import pytest

from prom_bench import config as cfg
from prom_bench import engines, pipeline
from prom_bench.engines.hf import HFEngine


class Recorder(HFEngine):
    opened: list = []

    def __init__(self, settings, plan, log):
        super().__init__(batch_size=settings.batch_size)
        self.plan, self.calls = plan, []
        Recorder.opened.append(self)

    def lm(self, model_path, adapter):
        self.calls.append((model_path, adapter))
        lm, backend = super().lm(model_path, adapter)
        return lm, {**backend, "name": "vllm", "recorded": True}


@pytest.fixture
def recorder(monkeypatch):
    Recorder.opened = []
    monkeypatch.setattr(engines, "check_backend", lambda settings: None)
    monkeypatch.setattr(engines, "open_engine", lambda settings, plan, log: Recorder(settings, plan, log))
    return Recorder


def test_units_are_trained_first_then_evaluated_on_one_engine(tmp_path, recorder):
    overrides = ["train.max_steps=2", "eval.limit=2", "regulation=paper", "eval.max_gen_toks=8", "eval.backend=vllm"]
    overrides += ["controls=[]"]
    flags = {"model": "tiny", "out": str(tmp_path / "runs"), "results": str(tmp_path / "r"), "langs": "th"}
    config = cfg.load("demo", overrides=overrides, flags={**flags, "methods": "base,t"})
    records = pipeline.run(config)
    assert len(recorder.opened) == 1
    engine = recorder.opened[0]
    base_path = records[0]["model_path"]
    adapters = {r["provenance"]["config"]["adapter"] for r in records if r["method"] == "t"}
    assert len(adapters) == 1
    # the plan names every unit's weights before the engine serves the first one; base first
    assert engine.plan == [(base_path, None), (base_path, *adapters)]
    assert engine.calls == engine.plan
    assert {r["provenance"]["backend"]["name"] for r in records} == {"vllm"}
    assert all(r["provenance"]["config"]["eval"]["backend"] == "vllm" for r in records)

    # finished units are not evaluated again, and no engine is opened for nothing
    again = pipeline.run(config)
    assert len(again) == len(records) and len(recorder.opened) == 1
