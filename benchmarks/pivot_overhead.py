"""What PROM's pivot loss costs per training step, side by side in one process on the same batches.

    OMP_NUM_THREADS=1 python benchmarks/pivot_overhead.py --model tiny
    OMP_NUM_THREADS=1 python benchmarks/pivot_overhead.py --model default
    python benchmarks/pivot_overhead.py --model 7b-random --device cuda --dtype bf16

Every variant trains the same LoRA model (AdamW; forward, backward and optimizer step) on the same rows per
step: half English (layer-n loss), half target (last-layer loss), a quarter of each row a masked prompt,
in ``--accum`` micro-batches of ``--batch`` rows (half English, half target each).

- ``hf sft``: plain Hugging Face SFT, ``model(labels=...)`` (full [b, s, v] logits), for reference;
- ``t+e``: the trainer's SFT, logits only at supervised positions, in chunks;
- ``prom``: the trainer's pivot loss, computed the same efficient way (shared head, the default);
- ``prom copy head``: the same with a trainable copy of lm_head (extra weights and AdamW state);
- ``naive prom``: ``output_hidden_states=True`` plus full logits at both layers;
- ``prom early exit``: role-homogeneous micro-batches; the English ones stop at block n. With ``--accum 1``
  the step's English half and target half become two micro-batches of half size; with an even ``--accum``
  every micro-batch keeps the size ``--batch`` (as in training), half of them English.

Time is the fastest of ``--steps`` timed steps after ``--warmup`` (interference from elsewhere only ever adds
time), variants interleaved round-robin so drift hits all alike: on CUDA wall time (synchronised); on CPU the
CPU time of this process, run on one thread,
because on a shared machine other processes stretch wall time unevenly while leaving CPU time alone; and
with glibc told to keep freed memory (``keep_freed_memory``), as CUDA's caching allocator does. Peak memory is
measured in separate passes (the tracker slows steps down): on CUDA
``torch.cuda.max_memory_allocated``; on CPU the peak of live tensor storage bytes (weights, gradients,
optimizer state, activations, temporaries), tracked by a ``TorchDispatchMode`` that counts every tensor an op
allocates and releases it when its storage dies, since CPU PyTorch has no allocator statistics and process
RSS does not go down when memory is freed. The last line is
``prom/t+e time R_T memory R_M early-exit time R_E`` (targets R_T <= 1.05, R_M <= 1.02, R_E <= 0.90).
"""

from __future__ import annotations

import argparse
import sys
import time
import weakref
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.config import (
    TrainConfig,
    resolve_pivot_layer,
)
from trainer.model import ENGLISH_ONLY, MIXED, PromModel, add_lora
from trainer.objectives import TokenCounts

SEVEN_B = dict(
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    vocab_size=32000,
)


def load_model(spec: str, device: str, dtype: torch.dtype):
    """``tiny``/``default``/a folder through prom_bench.models; ``7b-random`` or ``random:LxH`` built in place."""
    from transformers import AutoModelForCausalLM, LlamaConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    if spec == "7b-random" or spec.startswith("random:"):
        shape = dict(SEVEN_B)
        if spec.startswith("random:"):  # same code path, any size: random:4x256 = 4 blocks of width 256
            layers, hidden = (int(x) for x in spec.split(":", 1)[1].split("x"))
            shape.update(
                num_hidden_layers=layers,
                hidden_size=hidden,
                intermediate_size=hidden * 11008 // 4096,
                num_attention_heads=max(1, hidden // 128),
                num_key_value_heads=max(1, hidden // 128),
            )
        config = LlamaConfig(**shape, max_position_embeddings=4096, tie_word_embeddings=False, use_cache=False)
        torch.manual_seed(0)
        with torch.device(device):  # built in place at the target dtype: no fp32 copy of 7B weights
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        return model, f"{spec} (random LLaMA)"
    from prom_bench.models import resolve

    ref = resolve(spec)
    model = AutoModelForCausalLM.from_pretrained(ref.path, dtype=dtype).to(device)
    model.config.use_cache = False
    return model, ref.display


def make_batch(vocab: int, rows: int, length: int, device: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Rows of random tokens; the first quarter of each row is a masked prompt; rows [0, rows/2) English."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, vocab, (rows, length), generator=generator)
    targets = torch.roll(input_ids, -1, dims=1)
    targets[:, : length // 4] = -100
    targets[:, -1] = -100
    supervised = targets != -100
    english_row = torch.arange(rows) < rows // 2
    batch = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "targets": targets,
        "english": supervised & english_row[:, None],
        "target": supervised & ~english_row[:, None],
    }
    # as in the trainer's loop, the role masks stay on the CPU (positions counted without a GPU sync)
    return {k: v.to(device) if k in ("input_ids", "attention_mask", "targets") else v for k, v in batch.items()}


class Variant:
    """One way of computing the loss; ``step()`` runs forward, backward and the optimizer step on the batch."""

    def __init__(self, name, loss_fn, params):
        self.name, self.loss_fn, self.params = name, loss_fn, params
        self.optimizer = None
        self.times: list[float] = []
        self.peak_bytes = 0

    def step(self, sync):
        if self.optimizer is None:
            self.optimizer = torch.optim.AdamW(self.params, lr=1e-5)
        self.loss_fn()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sync()

    def release(self):
        """Drop optimizer state so the next variant's memory pass does not carry it."""
        self.optimizer = None


def split_step(batch: dict[str, torch.Tensor], accum: int):
    """The step's rows as ``accum`` mixed micro-batches (half English each) and as role-homogeneous ones.

    With ``accum`` 1 the early-exit step splits the batch into its English half and its target half; with an
    even ``accum`` every micro-batch keeps the full micro-batch size, as in training with
    ``per_device_batch_size`` and ``grad_accum`` (half of the micro-batches English).
    """
    english = batch["english"].any(dim=1).nonzero().flatten()
    target = (~batch["english"].any(dim=1)).nonzero().flatten()
    take = lambda rows: {k: v[rows] for k, v in batch.items()}  # noqa: E731
    half = len(english) // accum
    mixed = [
        take(torch.cat([english[k * half : (k + 1) * half], target[k * half : (k + 1) * half]])) for k in range(accum)
    ]
    if accum == 1:
        homogeneous = [(take(english), ENGLISH_ONLY), (take(target), MIXED)]
    else:
        if accum % 2:
            raise SystemExit("--accum must be 1 or even (half of the micro-batches English)")
        size = 2 * half
        homogeneous = [(take(english[k * size : (k + 1) * size]), ENGLISH_ONLY) for k in range(accum // 2)]
        homogeneous += [(take(target[k * size : (k + 1) * size]), MIXED) for k in range(accum // 2)]
    return mixed, homogeneous


def build_variants(causal_lm, batch, n: int, chunk: int, accum: int, autocast):
    counts = TokenCounts(english=int(batch["english"].sum()), target=int(batch["target"].sum()))
    lora_params = [p for p in causal_lm.parameters() if p.requires_grad]
    te = PromModel(causal_lm, objective="sft", chunk_size=chunk)
    prom = PromModel(
        causal_lm, objective="pivot", pivot_layer=n, pivot_weight=0.1, label_smoothing=0.1, chunk_size=chunk
    )
    with torch.random.fork_rng(devices=[]):
        prom_copy = PromModel(
            causal_lm,
            objective="pivot",
            pivot_layer=n,
            pivot_weight=0.1,
            label_smoothing=0.1,
            pivot_head="copy",
            chunk_size=chunk,
        )
    mixed, homogeneous = split_step(batch, accum)
    base = causal_lm.get_base_model()

    def run(wrapper):
        def fn():
            for part in mixed:
                with autocast():
                    wrapper(**part, counts=counts)["loss"].backward()

        return fn

    def early_exit():
        for part, role in homogeneous:
            with autocast():
                prom(**part, counts=counts, role=role)["loss"].backward()

    def hf_sft():
        for part in mixed:
            supervised = (part["english"] | part["target"]).to(part["targets"].device)
            labels = torch.where(torch.roll(supervised, 1, dims=1), torch.roll(part["targets"], 1, dims=1), -100)
            with autocast():
                (
                    base(input_ids=part["input_ids"], attention_mask=part["attention_mask"], labels=labels).loss / accum
                ).backward()

    def naive():
        for part in mixed:
            with autocast():
                out = base(
                    input_ids=part["input_ids"], attention_mask=part["attention_mask"], output_hidden_states=True
                )
                layer_n_logits = base.lm_head(base.model.norm(out.hidden_states[n])).float()  # shape: [b, s, v]
                english, target = part["english"].to(part["targets"].device), part["target"].to(part["targets"].device)
                l_ne = F.cross_entropy(layer_n_logits[english], part["targets"][english], label_smoothing=0.1)
                l_nt = F.cross_entropy(out.logits.float()[target], part["targets"][target])
                ((0.1 * l_ne + l_nt) / accum).backward()

    return [
        Variant("hf sft", hf_sft, lora_params),
        Variant("t+e", run(te), lora_params),
        Variant("prom", run(prom), lora_params),
        Variant("prom copy head", run(prom_copy), lora_params + list(prom_copy.pivot_head.parameters())),
        Variant("naive prom", naive, lora_params),
        Variant("prom early exit", early_exit, lora_params),
    ]


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of live tensor storages: those registered at entry plus every one an op allocates inside."""

    def __init__(self, tensors):
        super().__init__()
        self.live = self.peak = 0
        self._refs: dict[int, weakref.ref] = {}
        for tensor in tensors:
            self._track(tensor)
        self.peak = self.live

    def _track(self, tensor):
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key == 0 or key in self._refs or tensor.device.type == "meta":
            return
        size = storage.nbytes()

        def release(_ref, key=key, size=size):
            if self._refs.pop(key, None) is not None:
                self.live -= size

        self._refs[key] = weakref.ref(storage, release)
        self.live += size
        self.peak = max(self.peak, self.live)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for item in tree_flatten(out)[0]:
            if isinstance(item, torch.Tensor):
                self._track(item)
        return out


def resident_tensors(causal_lm, variants):
    tensors = [t for t in causal_lm.state_dict(keep_vars=True).values()]
    for variant in variants:
        for p in variant.params:
            tensors.append(p)
    return tensors


def keep_freed_memory() -> None:
    """Make glibc keep freed blocks instead of returning them to the OS (as CUDA's caching allocator does).

    By default every tensor above ~32 MB (a logits chunk) is a fresh ``mmap`` whose pages fault in on first
    touch and go back on free, so a step's cost would depend on the sizes and order of its big tensors more
    than on its arithmetic, and on what the previous variant left behind.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "mallopt"):
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: allocations up to 1 GiB come from the heap
        libc.mallopt(-1, 1 << 62)  # M_TRIM_THRESHOLD: never give the heap's top back


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="tiny", help="tiny, default, a model folder, 7b-random, or random:LAYERSxHIDDEN"
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run")
    parser.add_argument(
        "--dtype", default="fp32", choices=["fp32", "bf16"], help="fp32, or bf16 base weights + autocast"
    )
    parser.add_argument("--batch", type=int, default=4, help="rows per micro-batch (half English, half target)")
    parser.add_argument(
        "--accum",
        type=int,
        default=1,
        help="micro-batches per step: 1, or even (early exit then keeps "
        "the micro-batch size: half of the micro-batches English)",
    )
    parser.add_argument("--seq", type=int, default=256, help="tokens per row")
    parser.add_argument(
        "--pivot-layer", type=float, default=0.75, help="n as a fraction of depth (0.75 = the paper's 24/32)"
    )
    parser.add_argument("--lora-r", type=int, default=16, help="LoRA rank (q_proj, v_proj)")
    parser.add_argument("--chunk", type=int, default=1024, help="supervised positions per logits chunk")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per variant")
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)  # one compute thread: its CPU time is the step's compute time
        keep_freed_memory()
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    cuda = args.device == "cuda"
    causal_lm, display = load_model(args.model, args.device, dtype)
    n = resolve_pivot_layer(args.pivot_layer, causal_lm.config.num_hidden_layers)
    causal_lm = add_lora(causal_lm, TrainConfig(lora_r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.0))
    causal_lm.train()
    batch = make_batch(causal_lm.config.vocab_size, args.batch * args.accum, args.seq, args.device)

    def autocast():
        return torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    variants = build_variants(causal_lm, batch, n, args.chunk, args.accum, autocast)
    for variant in variants:  # warm-up
        for _ in range(args.warmup):
            variant.step(sync)
    # On CPU the clock is the process's CPU time: on a shared machine other processes stretch wall time
    # unevenly across variants, but not the CPU time of this single-threaded one. On CUDA, wall time.
    clock = time.perf_counter if cuda else time.process_time
    for _ in range(args.steps):  # round-robin timing
        for variant in variants:
            began = clock()
            variant.step(sync)
            variant.times.append(clock() - began)
    for variant in variants:  # memory: one step each, optimizer state already allocated
        for other in variants:
            other.release()
        variant.step(sync)
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            variant.step(sync)
            variant.peak_bytes = torch.cuda.max_memory_allocated()
        else:
            state = [t for s in variant.optimizer.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
            with LiveTensorBytes(resident_tensors(causal_lm, [variant]) + state) as tracker:
                variant.step(sync)
            variant.peak_bytes = tracker.peak

    by_name = {v.name: v for v in variants}
    ref = by_name["t+e"]
    tokens = args.batch * args.accum * args.seq
    print(
        f"model {display} ({causal_lm.config.num_hidden_layers} blocks, vocab {causal_lm.config.vocab_size}), "
        f"LoRA r={args.lora_r}, {args.device} {args.dtype}, {args.batch}x{args.seq} tokens, n = {n}, "
        f"fastest of {args.steps} steps ({'wall' if cuda else 'CPU'} time); "
        f"memory: {'cuda max_memory_allocated' if cuda else 'peak live tensor bytes (dispatch tracker)'}"
    )
    print(f"{'variant':<18}{'step s':>9}{'tok/s':>9}{'peak MiB':>10}{'time/t+e':>10}{'mem/t+e':>9}")
    for v in variants:
        t = min(v.times)
        print(
            f"{v.name:<18}{t:>9.3f}{tokens / t:>9.0f}{v.peak_bytes / 2**20:>10.1f}"
            f"{t / min(ref.times):>10.3f}{v.peak_bytes / ref.peak_bytes:>9.3f}"
        )
    r_t = min(by_name["prom"].times) / min(ref.times)
    r_m = by_name["prom"].peak_bytes / ref.peak_bytes
    r_e = min(by_name["prom early exit"].times) / min(ref.times)
    print(f"prom/t+e time {r_t:.3f} memory {r_m:.3f} early-exit time {r_e:.3f}")


if __name__ == "__main__":
    main()
