"""``data build`` for all nine languages from ../shared/data: counts match the sources, files load."""

from __future__ import annotations

import json

import datasets

from prom_bench.data.backends import FileBackend
from prom_bench.data.cache import TranslationCache
from prom_bench.data.files import read_instructions
from prom_bench.data.protect import MARKER
from prom_bench.data.translate import needed_segments, translate_records, write_jsonl
from prom_bench.languages import LANGUAGES, PAPER_LANGS


def _read_lines(path):
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def _markers(segment):
    return "".join(f" {m.group(0)}" for m in MARKER.finditer(segment))


def _make_translations(alpaca, folder, tmp_path):
    """s_t for every language through the file backend: each English segment -> '<endonym> <n>' (+ its markers)."""
    records, _ = read_instructions(alpaca, id_prefix="alpaca")
    segments = needed_segments(records)
    for lang in PAPER_LANGS:
        table = tmp_path / f"table-{lang}.jsonl"
        table.write_text(
            "".join(
                json.dumps({"source": s, "target": f"{LANGUAGES[lang].native} {i}" + _markers(s)}, ensure_ascii=False)
                + "\n"
                for i, s in enumerate(segments)
            ),
            encoding="utf-8",
        )
        backend = FileBackend(table)
        translated = translate_records(
            records,
            lang,
            backend,
            cache=TranslationCache(backend.id, lang, root=tmp_path / "cache"),
            progress=lambda done, total: None,
        )
        write_jsonl(translated, folder / f"{lang}.jsonl")
    return records


def test_build_all_nine_languages_from_shared_data(shared_data, tmp_path, cli):
    alpaca = shared_data / "alpaca_sample" / "alpaca_first100.json"
    translations = tmp_path / "translations"
    english = _make_translations(alpaca, translations, tmp_path)
    out = tmp_path / "mixtures"
    code, stdout, stderr = cli(
        "data",
        "build",
        "--lang",
        "all",
        "--method",
        "prom",
        "--data-dir",
        shared_data,
        "--instructions",
        alpaca,
        "--translations",
        translations,
        "--out",
        out,
    )
    assert code == 0, stderr
    assert "ntrex" in stderr and "flores-devtest" in stderr  # the sources used are printed

    alpaca_raw = json.loads(alpaca.read_text(encoding="utf-8"))
    expected_se = len({(r["instruction"], r["input"], r["output"]) for r in alpaca_raw})
    english_ntrex = _read_lines(shared_data / "ntrex128" / "newstest2019-ref.eng-US.txt")
    english_flores = _read_lines(shared_data / "flores200_devtest" / "eng_Latn.devtest")
    for lang in PAPER_LANGS:
        language = LANGUAGES[lang]
        target_ntrex = _read_lines(shared_data / "ntrex128" / f"newstest2019-ref.{language.ntrex}.txt")
        target_flores = _read_lines(shared_data / "flores200_devtest" / f"{language.flores}.devtest")
        pairs = {(e.strip(), t.strip()) for e, t in zip(english_ntrex + english_flores, target_ntrex + target_flores)}
        stats = json.loads((out / lang / "stats.json").read_text())
        assert stats["counts"] == {"s_e": expected_se, "s_t": len(english), "s_e2t": len(pairs)}, lang
        sources = [p["source"] for p in stats["parts"]["s_e2t"]["sources"]]
        assert sources == ["ntrex", "flores-devtest"]
        assert [p["count"] for p in stats["parts"]["s_e2t"]["sources"]] == [len(english_ntrex), len(english_flores)]

        rows = datasets.load_dataset("json", data_files=str(out / lang / "train.jsonl"), split="train")
        assert len(rows) == stats["total"] == sum(stats["counts"].values())
        roles = {(part, role) for part, role in zip(rows["part"], rows["role"])}
        assert roles == {("s_e", "english"), ("s_t", "target"), ("s_e2t", "target")}
        assert set(rows["lang"]) == {lang} and len(set(rows["id"])) == len(rows)
        translation_rows = [r for r in rows if r["part"] == "s_e2t"]
        assert {r["instruction"] for r in translation_rows} == {
            f"Translate the following sentences from English to {language.name}."
        }
        assert (translation_rows[0]["input"], translation_rows[0]["output"]) == (
            english_ntrex[0].strip(),
            target_ntrex[0].strip(),
        )
        card = (out / lang / "README.md").read_text(encoding="utf-8")
        assert "CC BY-SA 4.0" in card and str(len(pairs)) in card and "newstest2019-ref" in card
