"""The embedded trainer: PROM and its baselines on accelerate. Never imports prom_bench."""
