"""Write one prom_mlqa_<lang>.yaml (context and question in <lang>) per language from the table below (run: python _generate_configs.py).

Adding a language is one row: its three prompt labels, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))  # tasks/ is no package
from generate import write_task_yamls  # noqa: E402

FAMILY = "mlqa"
VERSION = 1.0
SPLIT = "test"
# facebook/mlqa is a loading script that datasets >= 4 cannot run; at this commit it downloads the release
# archive below, which the loader reads directly (see README).
SOURCE = "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip"
REVISION = "397ed406c1a7902140303e7faf60fff35b58d285"
MAX_GEN_TOKS = 64

# lang: (context label, question label, answer label)
LABELS = {
    "ar": ("السياق", "السؤال", "الإجابة"),
}


def task_config(lang: str, context: str, question: str, answer: str) -> dict:
    return {
        "include": "_template",
        "task": f"prom_{FAMILY}_{lang}",
        "dataset_name": f"mlqa.{lang}.{lang}",
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
