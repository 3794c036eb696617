"""prom-bench: PROM (Pivoted and Regulated Optimization) as a reproducible benchmark."""

__version__ = "0.1.0"
