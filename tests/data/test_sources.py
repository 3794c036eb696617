"""Sources and mixtures: hub loaders on upstream-schema fixtures, pinned revisions, methods, caps, dedup."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from prom_bench.data import DataSources, build_mixture
from prom_bench.data import sources as src
from prom_bench.errors import UserError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


@pytest.fixture
def online(monkeypatch):
    """Pretend the hub is reachable; downloads themselves are replaced per test."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)


def test_revision_is_resolved_once_then_pinned(online, monkeypatch):
    calls = []

    class FakeApi:
        def dataset_info(self, repo):
            calls.append(repo)
            return SimpleNamespace(sha=f"{len(calls):040d}")

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    first = src.resolve_revision("tatsu-lab/alpaca", None)
    assert src.resolve_revision("tatsu-lab/alpaca", None) == first and calls == ["tatsu-lab/alpaca"]
    assert src.resolve_revision("tatsu-lab/alpaca", "abc") == "abc"
    assert json.loads(src._lock_path().read_text()) == {"tatsu-lab/alpaca": first}


def test_hub_sources_say_so_when_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE=1.*local files"):
        src.load_english_instructions("alpaca", revision="abc")


def test_bactrian_x_records_and_caveat(online, monkeypatch, tmp_path):
    packed = tmp_path / "th.json.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "bactrian-x.th.json").read_bytes()))
    seen = {}

    def fake_file(repo, filename, revision):
        seen.update(repo=repo, filename=filename, revision=revision)
        return packed

    monkeypatch.setattr(src, "_hub_file", fake_file)
    loaded = src.load_target_instructions("bactrian-x", "th", revision="0123abc")
    assert seen == {"repo": "MBZUAI/Bactrian-X", "filename": "data/th.json.gz", "revision": "0123abc"}
    assert [r["id"] for r in loaded.records] == ["alpaca-0", "alpaca-1", "alpaca-2"]
    assert loaded.provenance["revision"] == "0123abc" and "gpt-3.5-turbo" in loaded.provenance["note"]


def test_alpaca_and_flores_from_the_hub(online, monkeypatch):
    requests = []

    def fake_load_dataset(repo, name=None, split=None, revision=None):
        requests.append((repo, name, split, revision))
        if repo == "tatsu-lab/alpaca":
            return [
                {"instruction": "Say hi.", "input": "", "output": "Hi!"},
                {"instruction": "Add.", "input": "1 2", "output": "3"},
            ]
        text = {"eng_Latn": ["One sentence.", "Two sentences."], "tha_Thai": ["หนึ่งประโยค", "สองประโยค"]}[name]
        return {"text": text}

    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset)
    english = src.load_english_instructions("alpaca", revision="r1")
    assert [r["id"] for r in english.records] == ["alpaca-0", "alpaca-1"] and english.provenance["revision"] == "r1"
    (flores,) = src.load_parallel("flores-dev", "th", revision="r2")
    assert flores.records == [("One sentence.", "หนึ่งประโยค"), ("Two sentences.", "สองประโยค")]
    assert ("openlanguagedata/flores_plus", "tha_Thai", "dev", "r2") in requests
    assert flores.provenance["license"] == "CC BY-SA 4.0"


def test_wmt23_says_it_has_none_of_the_languages():
    with pytest.raises(UserError, match="WMT23 has no English-Thai data.*cs, de, he, ja, ru, uk, zh"):
        src.load_parallel("wmt23", "th")
    with pytest.raises(UserError, match="did you mean 'ntrex'"):
        src.load_parallel("ntrx", "th")


def test_local_data_dir_missing_files_are_named(tmp_path):
    with pytest.raises(UserError, match=r"no flores-dev files for Thai; expected .*flores200_dev/eng_Latn.dev"):
        src.load_parallel("flores-dev", "th", data_dir=tmp_path)


def test_method_mixtures_follow_the_registry():
    assert build_mixture("sw", "t").counts() == {"s_t": 24, "s_e2t": 24}
    prom = build_mixture("sw", "PROM")
    assert prom.method == "prom" and list(prom.counts()) == ["s_e", "s_t", "s_e2t"]
    assert {e["role"] for e in prom.examples if e["part"] == "s_e"} == {"english"}
    with pytest.raises(UserError, match="trains nothing"):
        build_mixture("sw", "base")
    with pytest.raises(UserError, match="pivot"):
        build_mixture("en", "prom")


def test_cap_keeps_the_same_items_in_s_e_and_s_t():
    mixture = build_mixture("ta", "prom", DataSources(max_examples=5, seed=3))
    by_part = {p: [e["source_id"] for e in mixture.examples if e["part"] == p] for p in ("s_e", "s_t", "s_e2t")}
    assert len(by_part["s_e"]) == len(by_part["s_t"]) == len(by_part["s_e2t"]) == 5
    assert by_part["s_e"] == by_part["s_t"]
    assert mixture.parts["s_e"]["capped_from"] == 24
    other = build_mixture("ta", "prom", DataSources(max_examples=5, seed=4))
    assert [e["source_id"] for e in other.examples if e["part"] == "s_e"] != by_part["s_e"]


def test_exact_duplicates_are_dropped_and_counted(tmp_path):
    english = tmp_path / "en.jsonl"
    rows = [{"id": str(i), "instruction": "Say hi.", "input": "", "output": "Hi!"} for i in range(3)]
    rows.append({"id": "3", "instruction": "Say bye.", "input": "", "output": "Bye!"})
    english.write_text("".join(json.dumps(r) + "\n" for r in rows))
    thai = tmp_path / "th.jsonl"
    thai.write_text(
        "".join(
            json.dumps({"id": str(i), "instruction": "พูดว่าสวัสดี", "input": "", "output": f"สวัสดี {i}"}) + "\n"
            for i in range(4)
        )
    )
    mixture = build_mixture("th", "prom", DataSources(instructions=str(english), translations=str(thai)))
    assert mixture.counts()["s_e"] == 2 and mixture.parts["s_e"]["duplicates_dropped"] == 2
    assert mixture.counts()["s_t"] == 4
    kept = build_mixture("th", "prom", DataSources(instructions=str(english), translations=str(thai), dedup=False))
    assert kept.counts()["s_e"] == 4


def test_paper_preset_and_sources_command(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    paper = DataSources.paper()
    assert (paper.instructions, paper.translations) == ("alpaca", "translate:google")
    assert "wmt23" not in paper.parallel
    code, out, _ = cli("data", "sources", "--lang", "th")
    assert code == 0 and "MBZUAI/Bactrian-X" in out and "none of these" in out


def test_write_mixture_replaces_whole_or_leaves_nothing(tmp_path, monkeypatch):
    from prom_bench.data import build as build_module
    from prom_bench.data import write_mixture

    out = tmp_path / "th"
    write_mixture(build_mixture("th", "t"), out)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "stats.json", "train.jsonl"]
    before = (out / "train.jsonl").read_text(encoding="utf-8")

    def broken_card(mixture):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "render_card", broken_card)
    with pytest.raises(RuntimeError):
        write_mixture(build_mixture("th", "prom"), out)
    assert (out / "train.jsonl").read_text(encoding="utf-8") == before  # the old mixture is untouched
    assert [p.name for p in tmp_path.iterdir() if p.name != "home"] == ["th"]  # no temp folder left behind


def test_paper_preset_offline_is_one_clear_line(cli, tmp_path):
    code, out, err = cli("data", "build", "--lang", "th", "--preset", "paper", "--out", tmp_path / "o")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "HF_HUB_OFFLINE=1" in err
    assert not (tmp_path / "o").exists()
