"""The embedded trainer: PROM and its baselines on accelerate. Never imports prom_bench.

``from trainer import TrainConfig, train, TrainResult``; ``python -m trainer.launch`` is the entry that
``accelerate launch`` runs on every process. ``train`` and ``TrainResult`` load on first use, so reading
the settings (``TrainConfig``) does not import torch.
"""

from trainer.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train"]


def __getattr__(name: str):
    if name in ("train", "TrainResult"):
        from trainer import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'trainer' has no attribute '{name}'")
