"""Write one prom_xquad_<lang>.yaml per language from the table below (run: python _generate_configs.py).

Adding a language is one row: its three prompt labels, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))  # tasks/ is no package
from generate import write_task_yamls  # noqa: E402

FAMILY = "xquad"
VERSION = 1.0
SPLIT = "validation"
SOURCE = "google/xquad"
REVISION = "main"  # see README "Known gaps": no commit of google/xquad could be pinned when this was written
MAX_GEN_TOKS = 64

# lang: (context label, question label, answer label)
LABELS = {
    "th": ("บริบท", "คำถาม", "คำตอบ"),
    "ar": ("السياق", "السؤال", "الإجابة"),
    "el": ("Συμφραζόμενα", "Ερώτηση", "Απάντηση"),
    "en": ("Context", "Question", "Answer"),
}


def task_config(lang: str, context: str, question: str, answer: str) -> dict:
    return {
        "include": "_template",
        "task": f"prom_{FAMILY}_{lang}",
        "dataset_name": f"xquad.{lang}",
        "dataset_kwargs": {"family": FAMILY, "lang": lang, "split": SPLIT, "data_source": SOURCE, "data_revision": REVISION},
        "doc_to_text": f"{context}: {{{{context}}}}\n\n{question}: {{{{question}}}}\n\n{answer}:",
        # The answer is a span of the context, on the answer line: stop at the end of that line.
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": MAX_GEN_TOKS, "do_sample": False},
        "metadata": {"version": VERSION},
    }


def main() -> None:
    write_task_yamls(__file__, {f"prom_{FAMILY}_{lang}": task_config(lang, *labels) for lang, labels in LABELS.items()})


if __name__ == "__main__":
    main()
