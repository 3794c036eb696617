"""Code shared by the task families: scoring (pure functions), dataset loaders, lm-eval hooks, YAML generation.

Imported as a package with ``tasks/`` on ``sys.path`` (each family's ``utils.py`` puts it there); the unique
name keeps it apart from other lm-eval include paths. No prom-bench import.
"""
