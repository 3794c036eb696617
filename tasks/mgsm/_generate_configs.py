"""Write one prom_mgsm_<lang>.yaml per language from the table below (run: python _generate_configs.py).

Zero-shot, direct answer: the prompt is the question word, the problem, and the answer cue, all in the
target language. Adding a language is one row, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tasks/, which holds the _prom_shared package
from _prom_shared.generate import write_task_yamls

FAMILY = "mgsm"
VERSION = 1.0
SPLIT = "test"
SOURCE = "juletxara/mgsm"
REVISION = "f52417ca77bd71e9888ddc29f92587660725d2b4"
MAX_GEN_TOKS = 32

# lang: (question word, answer cue)
LABELS = {
    "sw": ("Swali", "Jibu"),
    "th": ("โจทย์", "คำตอบ"),
    "bn": ("প্রশ্ন", "উত্তর"),
    "te": ("ప్రశ్న", "సమాధానం"),
    "en": ("Question", "Answer"),
}


def task_config(lang: str, question: str, answer: str) -> dict:
    return {
        "include": "_template",
        "task": f"prom_{FAMILY}_{lang}",
        "dataset_name": lang,
        "dataset_kwargs": {
            "family": FAMILY,
            "lang": lang,
            "split": SPLIT,
            "data_source": SOURCE,
            "data_revision": REVISION,
        },
        "doc_to_text": f"{question}: {{{{question}}}}\n{answer}:",
        # A direct answer is one line; a model that goes on to invent the next problem starts it with the
        # question word.
        "generation_kwargs": {"until": ["\n", f"{question}:"], "max_gen_toks": MAX_GEN_TOKS, "do_sample": False},
        "metadata": {"version": VERSION},
    }


def main() -> None:
    write_task_yamls(__file__, {f"prom_{FAMILY}_{lang}": task_config(lang, *labels) for lang, labels in LABELS.items()})


if __name__ == "__main__":
    main()
