"""The functions every family's YAML names through ``!function utils.*``, for its ``utils.py`` to re-export."""

from __future__ import annotations

from _prom_shared.loaders import load_mgsm, load_squad_style  # noqa: F401 (custom_dataset hooks)
from _prom_shared.scoring import drop_partial_character, mgsm_accuracy, paper_qa_scores, qa_scores


def qa_process_results(doc: dict, results: list[str], family: str) -> dict[str, float]:
    """EM and F1 of the generated answer against every gold answer (max): language-aware (``exact_match``,
    ``f1``, the primary scores) and as the paper's harness scored ``family`` (``paper_exact_match``,
    ``paper_f1``). A character the token budget cut in half is not part of the answer (both measures)."""
    prediction, golds, lang = drop_partial_character(results[0]), doc["answers"]["text"], doc["lang"]
    paper = paper_qa_scores(prediction, golds, family, lang)
    return {**qa_scores(prediction, golds, lang), "paper_exact_match": paper["exact_match"], "paper_f1": paper["f1"]}


def mgsm_process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """1.0 if the last number of the generated answer equals the gold number, else 0.0."""
    return {"accuracy": mgsm_accuracy(drop_partial_character(results[0]), doc["answer_number"])}
