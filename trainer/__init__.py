"""The embedded trainer: PROM and its baselines on accelerate. Never imports prom_bench.

``from trainer import TrainConfig, train, TrainResult``; ``python -m trainer.launch`` is the entry that
``accelerate launch`` runs on every process.
"""

from trainer.config import TrainConfig
from trainer.loop import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
