"""``train()``: one model, one mixture, one objective, on accelerate (one CPU up to many GPUs).

Read top to bottom: load and check, tokenise, plan the data order, wrap (LoRA, pivot head, loss inside
forward), prepare, resume, loop over optimizer steps (micro-batches, one backward each, clip, step), save.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from trainer import checkpoint
from trainer.config import TrainConfig, TrainingDiverged
from trainer.data import BatchPlan
from trainer.formatting import ENGLISH, collate, encode
from trainer.model import (
    ENGLISH_ONLY,
    MIXED,
    PromModel,
    add_lora,
    enable_gradient_checkpointing,
    load_causal_lm,
    validate_for_model,
)
from trainer.progress import ProgressReporter


@dataclass
class TrainResult:
    """What a run produced. ``adapter_path`` (LoRA) or ``model_path`` (full fine-tuning) is set."""

    output_dir: Path
    adapter_path: Path | None
    model_path: Path | None
    steps: int
    loss: float
    loss_pivot: float | None
    loss_target: float
    train_seconds: float
    tokens_per_s: float
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)


def train(cfg: TrainConfig, model_path: str, examples: list[dict], output_dir: Path, *, progress=None) -> TrainResult:
    """Train ``model_path`` on ``examples`` and write the adapter (or model) and config into ``output_dir``.

    Args:
        cfg: the settings; checked (with the model) before the first step.
        model_path: a Hugging Face model folder or hub id.
        examples: training example dicts (instruction, input, output, role, part, ...).
        output_dir: receives ``adapter/`` or ``model/``, ``train_config.json``, ``checkpoints/step-N`` and
            ``train_log.jsonl`` (``LOG_FILE``: one JSON object per optimizer step, see ``_step_record``).
        progress: called on the main process after every step with the step record ({"step", "total",
            "loss", "loss_pivot", "loss_target", "lr", "grad_norm", "tokens", "tokens_per_s", "seconds"});
            ``None`` shows a rich progress bar instead.

    Raises:
        SettingsError: a bad setting, data or output folder, in one line (a ``ValueError``).
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState
    from accelerate.utils import DistributedDataParallelKwargs, DistributedType, set_seed
    from transformers import get_scheduler

    cfg.validate()
    output_dir = Path(output_dir)
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        # accelerate keeps one process-wide state; in-process callers train several models in a row, possibly
        # at different precisions, and a single process has no process group to preserve.
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    accelerator = Accelerator(
        mixed_precision="bf16" if cfg.precision == "bf16" else "no",
        log_with=None if cfg.logging == "none" else cfg.logging,
        project_dir=str(output_dir / "logs"),
        # Role-dependent heads (and early exit) leave some parameters out of some micro-batches.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=cfg.uses_pivot)],
    )
    set_seed(cfg.seed)

    causal_lm, tokenizer = load_causal_lm(model_path, cfg)
    pivot_layer = validate_for_model(cfg, causal_lm)
    # lambda = 0: English examples contribute nothing, so they are not even tokenised.
    kept = [ex for ex in examples if cfg.uses_pivot or cfg.objective == "sft" or ex.get("role") != "english"]
    encoded = [
        e for e in (encode(ex, tokenizer, cfg.max_length, cfg.truncation, cfg.format) for ex in kept) if e is not None
    ]
    plan = BatchPlan(
        encoded,
        per_device_batch_size=cfg.per_device_batch_size,
        world_size=accelerator.num_processes,
        grad_accum=cfg.grad_accum,
        seed=cfg.seed,
        homogeneous=cfg.early_exit,
    )
    total_steps = cfg.max_steps if cfg.max_steps > 0 else plan.steps_for(cfg.epochs)

    if cfg.gradient_checkpointing:
        enable_gradient_checkpointing(causal_lm)
    if cfg.lora:
        causal_lm = add_lora(causal_lm, cfg)
    with torch.random.fork_rng(devices=[]):  # a copied head must not shift the RNG stream between methods
        model = PromModel(
            causal_lm,
            objective=cfg.objective,
            pivot_layer=pivot_layer,
            pivot_weight=cfg.pivot_weight,
            label_smoothing=cfg.label_smoothing,
            pivot_head=cfg.pivot_head,
            chunk_size=cfg.logits_chunk_size,
        )
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    # Not prepared: accelerate's scheduler wrapper would step once per process; we count optimizer steps.
    scheduler = get_scheduler(
        cfg.scheduler,
        optimizer,
        num_warmup_steps=math.ceil(cfg.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    deepspeed = accelerator.distributed_type == DistributedType.DEEPSPEED
    if deepspeed:
        # DeepSpeed wants the micro-batch size in its config; we feed batches ourselves, not a prepared loader.
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = (
            cfg.per_device_batch_size
        )
    model, optimizer = accelerator.prepare(model, optimizer)
    if checkpoint.sharded(accelerator):  # shards are saved by accelerate's save_state (see checkpoint.py)
        accelerator.register_for_checkpointing(scheduler)
        checkpoint.install_hooks(accelerator)

    resolved = {
        **cfg.to_dict(),
        "model_path": str(model_path),
        "pivot_layer_resolved": pivot_layer,
        "num_layers": causal_lm.config.num_hidden_layers,
        "world_size": accelerator.num_processes,
        "total_steps": total_steps,
        "examples": len(encoded),
        "english_examples": sum(e.role == ENGLISH for e in encoded),
    }
    checkpoints_dir = output_dir / "checkpoints"
    start = 0
    if cfg.resume and (found := checkpoint.latest(checkpoints_dir)) is not None:
        start = checkpoint.restore(
            accelerator, found, resolved, model, optimizer, scheduler, trust_pickle=cfg.trust_pickle_checkpoints
        )
    if cfg.logging != "none":
        accelerator.init_trackers("prom-bench", config={k: v for k, v in resolved.items() if not isinstance(v, list)})

    reporter = ProgressReporter(progress, total_steps, enabled=accelerator.is_main_process, start=start)
    log = _open_log(output_dir, start) if accelerator.is_main_process else None
    history: list[dict] = []
    tokens_done, seconds = 0, 0.0
    rank, device = accelerator.process_index, accelerator.device
    with reporter:
        for step in range(start, total_steps):
            began = time.perf_counter()
            window = plan.window(step)
            counts = plan.counts(window)
            pivot_sum = torch.zeros((), device=device)
            target_sum = torch.zeros((), device=device)
            for i, micro in enumerate(window):
                batch = collate(plan.local_rows(micro, rank), tokenizer.pad_token_id)
                # the role masks stay on the CPU: positions are counted there, without a GPU sync
                batch.update({k: batch[k].to(device) for k in ("input_ids", "attention_mask", "targets")})
                role = ENGLISH_ONLY if cfg.early_exit and micro.role == "english" else MIXED
                last = i == len(window) - 1
                if deepspeed:
                    # The engine steps at the boundary we mark; its own gradient_accumulation_steps stays 1 so it
                    # does not rescale the loss, which is already a share of the window mean.
                    accelerator.gradient_state._set_sync_gradients(last)
                with contextlib.nullcontext() if last else accelerator.no_sync(model):
                    out = model(**batch, counts=counts, role=role)
                    accelerator.backward(out["loss"])
                pivot_sum += out["pivot_sum"]
                target_sum += out["target_sum"]
            # With clipping off, an infinite bound still measures the norm (and scales by exactly 1).
            grad_norm = accelerator.clip_grad_norm_(params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else math.inf)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            sums = accelerator.reduce(torch.stack([pivot_sum, target_sum]), reduction="sum").tolist()
            seconds += time.perf_counter() - began
            tokens_done += plan.tokens(window)
            record = _step_record(
                cfg,
                step + 1,
                total_steps,
                sums,
                counts,
                plan.tokens(window),
                time.perf_counter() - began,
                scheduler.get_last_lr()[0],
                grad_norm,
            )
            if not math.isfinite(record["loss"]):  # every rank holds the reduced sums: all stop here together
                raise TrainingDiverged(
                    f"training diverged at step {step + 1}: the loss is {record['loss']} (lr {cfg.lr}: try a "
                    "lower one); nothing was saved"
                )
            history.append(record)
            if log is not None:
                log.write(json.dumps(record) + "\n")
                log.flush()
            reporter.update(record)
            if cfg.logging != "none":
                accelerator.log({k: v for k, v in record.items() if v is not None and k != "total"}, step=step + 1)
            if cfg.save_steps and (step + 1) % cfg.save_steps == 0:
                _check_weights(accelerator, params, step + 1, cfg)
                checkpoint.save(accelerator, checkpoints_dir, step + 1, resolved, model, optimizer, scheduler)

    _check_weights(accelerator, params, total_steps, cfg)
    if log is not None:
        log.close()
    adapter_path, full_path = _save_final(accelerator, model, tokenizer, output_dir, cfg, resolved)
    if cfg.logging != "none":
        accelerator.end_training()
    last = history[-1] if history else {"loss": float("nan"), "loss_pivot": None, "loss_target": float("nan")}
    return TrainResult(
        output_dir=output_dir,
        adapter_path=adapter_path,
        model_path=full_path,
        steps=total_steps,
        loss=last["loss"],
        loss_pivot=last["loss_pivot"],
        loss_target=last["loss_target"],
        train_seconds=seconds,
        tokens_per_s=tokens_done / seconds if seconds else 0.0,
        config=resolved,
        history=history,
    )


LOG_FILE = "train_log.jsonl"


def _open_log(output_dir: Path, start: int):
    """``train_log.jsonl`` for appending; a resumed run keeps the lines of the steps before ``start`` only."""
    path = output_dir / LOG_FILE
    output_dir.mkdir(parents=True, exist_ok=True)
    kept = []
    if start > 0 and path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["step"] <= start:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                break  # a line cut by a crash: drop it and everything after
    handle = open(path, "w", encoding="utf-8")
    handle.writelines(line + "\n" for line in kept)
    return handle


def _check_weights(accelerator, params, step: int, cfg: TrainConfig) -> None:
    """Refuse to save non-finite weights (the last update can break them after a finite loss).

    The verdict is reduced over ranks, so that under sharding (each rank holds a part) all ranks raise together.
    """
    bad = sum(int(not torch.isfinite(p.detach()).all()) for p in params)
    device = accelerator.device
    bad = int(accelerator.reduce(torch.tensor(float(bad), device=device), reduction="sum").item())
    if bad:
        raise TrainingDiverged(
            f"training diverged by step {step}: {bad} trainable weight tensor(s) hold NaN or inf (lr {cfg.lr}: "
            "try a lower one); nothing was saved"
        )


def _step_record(
    cfg: TrainConfig,
    step: int,
    total: int,
    sums: list[float],
    counts,
    tokens: int,
    seconds: float,
    lr: float,
    grad_norm=None,
) -> dict:
    """One optimizer step, for the bar, the trackers and ``train_log.jsonl``.

    Fields: ``step`` (1-based) and ``total``; ``loss`` (the objective), ``loss_pivot`` (L_n,e, the English
    layer-n term; None without the pivot objective) and ``loss_target`` (L_N,t, the final-layer term), each
    the window mean its gradient was normalised by (0.0 for a term whose role has no supervised token in the
    window: see ``supervised_english`` and ``supervised_target``, the counts each term is normalised by);
    ``lr`` after the step; ``grad_norm`` (global L2 norm of the gradient before clipping); ``tokens`` in the
    window (prompt and padding included); ``tokens_per_s`` and ``seconds`` of the step.
    """
    pivot_sum, target_sum = sums
    if cfg.uses_pivot:
        loss_pivot = pivot_sum / counts.english if counts.english else 0.0
        loss_target = target_sum / counts.target if counts.target else 0.0
        loss = cfg.pivot_weight * loss_pivot + loss_target
    else:
        loss_pivot = None
        denominator = counts.total if cfg.objective == "sft" else counts.target
        loss = loss_target = target_sum / denominator if denominator else 0.0
    return {
        "step": step,
        "total": total,
        "loss": loss,
        "loss_pivot": loss_pivot,
        "loss_target": loss_target,
        "supervised_english": int(counts.english),
        "supervised_target": int(counts.target),
        "lr": lr,
        "grad_norm": None if grad_norm is None else float(grad_norm),
        "tokens": tokens,
        "tokens_per_s": tokens / seconds if seconds else 0.0,
        "seconds": seconds,
    }


def _save_final(accelerator, model, tokenizer, output_dir: Path, cfg: TrainConfig, resolved: dict):
    """``adapter/`` (peft format, loads with lm-eval's ``peft=``) or ``model/``, written under a temporary name.

    The pivot head (a ``copy``) is not part of either: it only served training.
    """
    state = accelerator.get_state_dict(model)  # gathers shards under FSDP / ZeRO-3; every rank must call it
    name = "adapter" if cfg.lora else "model"
    final, staging = output_dir / name, output_dir / f".{name}.tmp"
    if accelerator.is_main_process:
        prefix = "causal_lm."
        lm_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        causal_lm = accelerator.unwrap_model(model).causal_lm
        shutil.rmtree(staging, ignore_errors=True)
        causal_lm.save_pretrained(str(staging), state_dict=lm_state, safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        tmp_config = output_dir / f".{checkpoint.CONFIG_FILE}.tmp"
        tmp_config.write_text(json.dumps(resolved, indent=2))
        tmp_config.replace(output_dir / checkpoint.CONFIG_FILE)
    accelerator.wait_for_everyone()
    return (final, None) if cfg.lora else (None, final)
