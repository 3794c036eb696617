"""``prom-bench run --dry-run``: the study's plan, offline and in seconds, without running or submitting anything.

It prints the units (lambda after regulation, which training they share), the jobs the executor would
start with their resources, the examples and tokens of every mixture, and an estimate of GPU-hours from
``cluster.tokens_per_gpu_s``. Mixtures whose sources are on disk (the demo data, local files) are built and
counted (tokens exactly when the model's tokenizer is on disk); hub sources cannot be read offline, so
their sizes are estimates, marked ``~``, from the
figures below.

Estimation figures (measured once, with their sources):
* Alpaca (tatsu-lab/alpaca) has 52,002 records; one formatted as a training example is 130.8 tokens on
  average (the first 100 records, the project's prompt template, a 32k LLaMA-family SentencePiece tokenizer).
* Target-language text costs more tokens than English under that tokenizer; the factors were measured on the
  project's demo instructions (faithful translations of the same English records).
* NTREX-128 has 1,997 sentences, FLORES-200 dev 997 and devtest 1,012.
* ``cluster.tokens_per_gpu_s`` (default 236): Stanford Alpaca's README reports that fine-tuning LLaMA-7B on
  its 52K examples for 3 epochs "took 3 hours on 8 80GB A100s": 52,002 x 130.8 x 3 tokens / 86,400 GPU-s.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from prom_bench.config import RunConfig
from prom_bench.models import ALIASES, ModelRef

ALPACA_RECORDS = 52_002
ENGLISH_TOKENS = 130.8
SCRIPT_FACTOR = {"ar": 2.79, "bn": 3.92, "el": 4.29, "ml": 8.72, "mr": 3.94, "sw": 1.75, "ta": 5.02, "te": 6.28}
SCRIPT_FACTOR["th"] = 3.24
PARALLEL_SENTENCES = {"ntrex": 1997, "flores-dev": 997, "flores-devtest": 1012, "demo": None}
SENTENCE_TOKENS = 30  # an English news sentence, plus the translation prompt below
PROMPT_TOKENS = 25


def print_plan(console: Console, config: RunConfig) -> None:
    import yaml

    from prom_bench import pipeline
    from prom_bench.executors.follow import groups_of

    model = _offline_model(config.model)
    if config.regulation == "probe":  # the probe needs the model: at run time. Plan as if it pivots (lambda kept).
        config_for_plan = config
        decisions = {lang: {"source": "probe (decided at run time)", "pivots": True} for lang in config.langs}
    else:
        config_for_plan, decisions = config, None
    plans = _plans(config_for_plan, model, decisions) if decisions else pipeline.plan_study(config, model)
    console.print(yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True))

    console.print(f"[bold]{len(plans)} unit(s)[/] (model {model.display}, regulation: {config.regulation})")
    for plan in plans:
        lam = "" if plan.pivot_weight is None else f"  lambda={plan.pivot_weight:g}"
        work = f"trains {plan.train.id}" if plan.train else "evaluates only"
        console.print(f"  {plan.name:<16}{work}{lam}", highlight=False)

    groups = groups_of(plans, force=True)
    c = config.cluster
    console.print(f"[bold]{len(groups)} job(s)[/] with --executor {config.executor}:")
    for trains in (True, False):
        shape = [g for g in groups if (g[0].train is not None) == trains]
        if not shape:
            continue
        gpus = c.gpus_per_unit if trains else 1
        nodes = c.nodes_per_unit if trains else 1
        where = ", ".join(f"{k}={getattr(c, k)}" for k in ("partition", "account", "qos") if getattr(c, k))
        console.print(
            f"  {'training' if trains else 'evaluation'} array of {len(shape)}: {nodes} node(s) x {gpus} GPU(s), "
            f"{gpus * c.cpus_per_gpu} CPUs, mem {f'{c.mem_gb:g} GB' if c.mem_gb else 'partition default'}, "
            f"time limit {c.time_limit}"
            + (f", {where}" if where else "")
            + (f", sbatch {' '.join('--' + s for s in c.sbatch)}" if c.sbatch else ""),
            highlight=False,
        )
        for group in shape:
            console.print(f"    {' + '.join(p.name for p in group)}", highlight=False)

    console.print("[bold]mixtures[/] (~ = estimated: hub data is not read offline)")
    total_gpu_h = 0.0
    seen: set[str] = set()
    for plan in plans:
        if plan.train is None or plan.train.id in seen:
            continue
        seen.add(plan.train.id)
        examples, tokens, estimated = _mixture_size(plan)
        steps_tokens = _trained_tokens(plan.train.settings, examples, tokens, plan.train.processes)
        gpu_h = steps_tokens / c.tokens_per_gpu_s / 3600
        total_gpu_h += gpu_h
        mark = "~" if estimated else ""
        console.print(
            f"  {plan.lang} {'+'.join(plan.data.parts):<16} {mark}{examples:,} examples, {mark}{tokens:,.0f} tokens; "
            f"trained {mark}{steps_tokens:,.0f} tokens = {gpu_h:,.2f} GPU-h "
            f"({gpu_h / plan.train.processes:,.2f} h on {plan.train.processes} GPU(s))",
            highlight=False,
        )
    console.print(
        f"[bold]GPU-hours for training[/]: {total_gpu_h:,.1f} at {c.tokens_per_gpu_s:g} tokens/s per GPU "
        "(cluster.tokens_per_gpu_s; evaluation not included)",
        highlight=False,
    )


def _offline_model(spec: str) -> ModelRef:
    """A model reference without downloading or asking the hub (the built-ins resolve locally once cached)."""
    from prom_bench.models import resolve

    if spec == "tiny" or (spec not in ALIASES and Path(spec).expanduser().exists()):
        return resolve(spec)
    if spec == "default":
        return ModelRef(spec, spec, "SmolLM2-135M-Instruct")
    return ModelRef(spec, spec, spec)


def _plans(config: RunConfig, model: ModelRef, decisions: dict):
    from prom_bench import plan

    root = Path(config.out).resolve() / model.slug
    return plan.build(config, model, root, decisions)


def _mixture_size(plan) -> tuple[int, float, bool]:
    """(examples, tokens, estimated) of a unit's mixture: built and counted when its sources are on disk."""
    from prom_bench.data import DataSources

    built = Path(plan.data.dir) / "train.jsonl"
    sources = DataSources(**plan.data.sources)
    factor = SCRIPT_FACTOR.get(plan.lang, 3.0)
    offline = sources.instructions == "demo" and sources.translations == "demo" and sources.parallel == "demo"
    if built.is_file() or offline:
        if built.is_file():
            examples = [json.loads(line) for line in built.read_text(encoding="utf-8").splitlines() if line]
        else:
            from prom_bench.data import build_mixture

            examples = build_mixture(plan.lang, plan.data.method, sources).examples
        texts = [ex.get("instruction", "") + " " + ex.get("input", "") + " " + ex.get("output", "") for ex in examples]
        if Path(plan.model_path).is_dir():  # the model's own tokenizer is on disk: count exactly
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(plan.model_path)
            return len(examples), float(sum(PROMPT_TOKENS + len(tokenizer(t)["input_ids"]) for t in texts)), False
        return len(examples), sum(PROMPT_TOKENS + len(t) / 4 for t in texts), True  # ~4 characters per token
    count, tokens = 0, 0.0
    for part in plan.data.parts:
        if part == "s_e":
            count += ALPACA_RECORDS
            tokens += ALPACA_RECORDS * ENGLISH_TOKENS
        elif part == "s_t":
            count += ALPACA_RECORDS
            tokens += ALPACA_RECORDS * ENGLISH_TOKENS * factor
        else:
            sentences = sum(PARALLEL_SENTENCES.get(s.strip()) or 0 for s in sources.parallel.split(","))
            count += sentences
            tokens += sentences * (PROMPT_TOKENS + SENTENCE_TOKENS * (1 + factor))
    return count, tokens, True


def _trained_tokens(settings: dict, examples: int, tokens: float, processes: int) -> float:
    """Tokens the training processes: epochs over the mixture, or max_steps x global batch at the mean length."""
    if settings.get("max_steps", -1) > 0:
        batch = settings["per_device_batch_size"] * settings["grad_accum"] * processes
        return min(settings["max_steps"] * batch, 10**12) * (tokens / max(examples, 1))
    return tokens * float(settings.get("epochs", 1))
