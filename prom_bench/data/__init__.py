"""Training data: sources (demo, hub, local files), translation (backends + cache), mixtures and cards.

The pipeline calls::

    from prom_bench.data import DataSources, build_mixture, write_mixture
    mixture = build_mixture("th", "prom", DataSources.demo())   # or DataSources.paper(), or fields set
    write_mixture(mixture, out_dir)                             # train.jsonl + README.md + stats.json
    examples = mixture.examples                                 # list of contract dicts for trainer.train
"""

from prom_bench.data.build import TRANSLATION_INSTRUCTION, DataSources, Mixture, build_mixture, stats, write_mixture

__all__ = ["TRANSLATION_INSTRUCTION", "DataSources", "Mixture", "build_mixture", "stats", "write_mixture"]
