"""One model on the same cells through ``hf`` and ``vllm``, side by side in one run: agreement, scores, speed.

    python benchmarks/eval_backends.py --model default --langs th,sw --limit 10
    python benchmarks/eval_backends.py --model MODEL --adapter ADAPTER --langs all --data-dir hub

Runs where vLLM is installed (the ``[vllm]`` extra; on a CPU-only machine the environment ``.ci/vllm-env``
builds, with ``LD_PRELOAD=<venv>/lib/libiomp5.so VLLM_CPU_KVCACHE_SPACE=1``). Both backends get the same
tasks, prompts, stop sequences and scoring (``evaluation.evaluate``); only the generator differs. Printed:

- per cell: items, each backend's score, and the share of items whose greedy answers are identical;
- overall: the identical share (exact, and after stripping surrounding whitespace: vLLM's incremental
  detokeniser can keep a leading space that HF's decode of the answer tokens drops);
- speed: items/s of each backend over generation and scoring, without model load / engine start (shown
  apart), in wall time with the same thread count for both (``--threads``, default: every core).

The last line is ``identical R_I items/s hf X vllm Y (vllm/hf R_S)``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="'default', 'tiny', a model folder or a hub id")
    parser.add_argument("--adapter", default=None, help="a peft adapter folder to apply (LoRA on vLLM)")
    parser.add_argument("--langs", default="th,sw", help="languages whose cells to run, e.g. th,sw or all")
    parser.add_argument("--limit", type=int, default=10, help="items per cell")
    parser.add_argument("--data-dir", default="demo", help="'demo', 'hub' or a folder in the upstream layout")
    parser.add_argument("--batch-size", type=int, default=8, help="hf generation batch size (the paper's 8)")
    parser.add_argument("--max-gen-toks", type=int, default=None, help="cap on answer tokens (default: each task's)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for both backends")
    parser.add_argument("--show-diffs", type=int, default=3, help="print this many differing answers per cell")
    args = parser.parse_args()

    import torch

    from prom_bench import models
    from prom_bench.benchmarks import tasks_for
    from prom_bench.config import EvalConfig
    from prom_bench.engines.hf import HFEngine
    from prom_bench.engines.vllm import VLLMEngine
    from prom_bench.evaluation import evaluate, resolve_data_dir

    torch.set_num_threads(args.threads)
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "auto")
    ref = models.resolve(args.model)
    tasks = [task for _, task in tasks_for(args.langs)]
    data_dir = resolve_data_dir(args.data_dir)
    common = {"data_dir": data_dir, "limit": args.limit, "max_gen_toks": args.max_gen_toks}
    print(f"{ref.display}{' + ' + args.adapter if args.adapter else ''}: {len(tasks)} cell(s), limit {args.limit}")

    runs = {}
    hf = HFEngine(batch_size=args.batch_size)
    vllm = VLLMEngine(EvalConfig(backend="vllm"), [(ref.path, args.adapter)], log=print)
    for name, engine in (("hf", hf), ("vllm", vllm)):
        started = time.perf_counter()
        engine.lm(ref.path, args.adapter)  # load / start once, outside the timed evaluation
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        results = evaluate(ref.path, tasks, adapter=args.adapter, engine=engine, **common)
        runs[name] = {"results": results, "load_s": load_s, "eval_s": time.perf_counter() - started}
        engine.close()

    print(f"\n{'cell':<18} {'n':>4}  {'hf':>22}  {'vllm':>22}  {'identical':>9}")
    same = same_stripped = total = 0
    diffs: list[tuple[str, dict, dict]] = []
    for a, b in zip(runs["hf"]["results"], runs["vllm"]["results"]):
        pairs = list(zip(a.samples, b.samples))
        assert all(x["doc_id"] == y["doc_id"] for x, y in pairs), "the backends scored different items"
        cell_same = sum(x["response"] == y["response"] for x, y in pairs)
        same += cell_same
        same_stripped += sum(x["response"].strip() == y["response"].strip() for x, y in pairs)
        total += len(pairs)
        show = lambda m: " ".join(f"{k} {v:5.1f}" for k, v in m.items())  # noqa: E731
        print(f"{a.task:<18} {a.n:>4}  {show(a.metrics):>22}  {show(b.metrics):>22}  {cell_same / len(pairs):>9.2f}")
        diffs.extend((a.task, x, y) for x, y in pairs if x["response"] != y["response"])

    shown: dict[str, int] = {}
    for task, x, y in diffs:  # where the greedy answers part: the first differing character, with context
        if shown.setdefault(task, 0) >= args.show_diffs:
            continue
        shown[task] += 1
        at = next((i for i, (p, q) in enumerate(zip(x["response"], y["response"])) if p != q), None)
        at = min(len(x["response"]), len(y["response"])) if at is None else at
        start = max(0, at - 20)
        print(
            f"  {task} doc {x['doc_id']}: same for {at} chars; hf {x['response'][start : at + 30]!r} "
            f"vllm {y['response'][start : at + 30]!r}"
        )
    speed = {name: total / run["eval_s"] for name, run in runs.items()}
    for name, run in runs.items():
        print(
            f"{name:<5} load/start {run['load_s']:6.1f} s  evaluation {run['eval_s']:6.1f} s  "
            f"{speed[name]:6.2f} items/s  ({args.threads} threads)"
        )
    print(f"identical answers: {same}/{total} exact, {same_stripped}/{total} after stripping whitespace")
    print(
        f"identical {same / total:.2f} items/s hf {speed['hf']:.2f} vllm {speed['vllm']:.2f} "
        f"(vllm/hf {speed['vllm'] / speed['hf']:.2f})"
    )


if __name__ == "__main__":  # vLLM spawns its engine core: the guard keeps the child from rerunning this
    main()
