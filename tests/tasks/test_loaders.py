"""Local data mode: upstream file layouts, the data-dir switch, the unanswerable-item policy."""

from __future__ import annotations

import pytest


def test_xquad_local_file_rows(loaders, shared_data):
    split = loaders.load_squad_style(
        family="xquad",
        lang="th",
        split="validation",
        data_revision="x",
        data_source="google/xquad",
        data_dir=str(shared_data),
    )["validation"]
    assert len(split) == 1190
    row = split[0]
    assert row["lang"] == "th" and row["answers"]["text"][0] in row["context"]


def test_indicqa_drops_unanswerable_items(loaders, fixture_data):
    for lang, kept in {"ta": 2, "mr": 2, "ml": 2, "hi": 2}.items():
        split = loaders.load_squad_style(
            family="indicqa",
            lang=lang,
            split="test",
            data_revision="x",
            data_source="ai4bharat/IndicQA",
            data_dir=str(fixture_data),
        )["test"]
        assert len(split) == kept
        assert all(text.strip() for row in split for text in row["answers"]["text"])


def test_squad_records_handles_both_unanswerable_shapes(loaders):
    payload = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": "c a",
                        "qas": [
                            {"id": 1, "question": "q1", "answers": []},
                            {"id": 2, "question": "q2", "answers": [{"text": "", "answer_start": -1}]},
                            {
                                "id": 3,
                                "question": "q3",
                                "answers": [{"text": "a", "answer_start": 2}, {"text": "", "answer_start": -1}],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    rows, dropped = loaders.squad_records(payload, "ta")
    assert dropped == 2
    assert [r["answers"]["text"] for r in rows] == [["a"]]


def test_mlqa_fixture_in_mlqa_v1_naming(loaders, fixture_data):
    split = loaders.load_squad_style(
        family="mlqa", lang="ar", split="test", data_revision="x", data_source="zip", data_dir=str(fixture_data)
    )["test"]
    assert len(split) == 3 and split[0]["id"] and all(row["lang"] == "ar" for row in split)


def test_environment_variable_names_the_data_dir(loaders, monkeypatch, shared_data):
    monkeypatch.setenv(loaders.DATA_DIR_ENV, str(shared_data))
    split = loaders.load_mgsm(lang="sw", split="test", data_revision="x", data_source="juletxara/mgsm")["test"]
    assert len(split) == 250 and split[0]["answer_number"] == "18"


def test_missing_local_file_names_path_and_layout(loaders, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"indicqa\.ml\.json.*upstream layout"):
        loaders.load_squad_style(
            family="indicqa",
            lang="ml",
            split="test",
            data_revision="x",
            data_source="ai4bharat/IndicQA",
            data_dir=str(tmp_path),
        )


def test_mgsm_tsv_with_wrong_field_count_is_rejected(loaders, tmp_path):
    bad = tmp_path / "mgsm_sw.tsv"
    bad.write_text("swali bila jibu\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mgsm_sw.tsv:1"):
        loaders.mgsm_rows_from_tsv(bad, "sw")
