"""Entry point that ``accelerate launch`` runs on every process.

    accelerate launch --num_processes 8 --config_file trainer/accelerate_configs/fsdp.yaml \\
        -m trainer.launch --config train_config.json --model PATH --data mixture/train.jsonl --output-dir OUT

On CPUs only, ``accelerate launch --cpu`` starts a single process; start N there with
``ACCELERATE_USE_CPU=true torchrun --standalone --nproc_per_node N -m trainer.launch ...`` (gloo), which is
what ``prom-bench train --num-processes N`` does on a machine without GPUs.

``--config`` is a JSON object of ``TrainConfig`` settings (missing ones take their defaults). The main process
writes ``OUT/train_result.json`` (the ``TrainResult`` fields) when training ends. A bad setting prints one
line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from trainer.config import SettingsError, TrainConfig
from trainer.loop import train

RESULT_FILE = "train_result.json"


def read_examples(path: Path, *, skip_english: bool = False) -> list[dict]:
    """Examples from a JSON-lines file; with ``skip_english`` English lines are not kept (lambda = 0)."""
    examples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{path}:{number} is not valid JSON ({exc.msg})") from None
            if not (skip_english and example.get("role") == "english"):
                examples.append(example)
    return examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.launch", description="Train one model on one mixture.")
    parser.add_argument("--config", type=Path, required=True, help="JSON file of TrainConfig settings")
    parser.add_argument("--model", required=True, help="model folder or hub id")
    parser.add_argument("--data", type=Path, required=True, help="train.jsonl of training examples")
    parser.add_argument(
        "--output-dir", type=Path, required=True, help="folder for the adapter/model, config, checkpoints"
    )
    args = parser.parse_args(argv)
    try:
        cfg = TrainConfig.from_dict(json.loads(args.config.read_text()))
        cfg.validate()
        examples = read_examples(args.data, skip_english=cfg.objective == "pivot" and cfg.pivot_weight == 0)
        result = train(cfg, args.model, examples, args.output_dir)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.config.get("world_size", 1) == 1 or _is_main():
        payload = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(result).items()}
        tmp = args.output_dir / f".{RESULT_FILE}.tmp"
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(args.output_dir / RESULT_FILE)
    return 0


def _is_main() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


if __name__ == "__main__":
    sys.exit(main())
