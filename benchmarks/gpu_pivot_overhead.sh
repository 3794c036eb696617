#!/usr/bin/env bash
# The pivot-overhead benchmark on one GPU: a 7B-shaped random LLaMA (32 blocks, width 4096, vocab 32000) in
# bf16, LoRA r=16 on q_proj/v_proj, 4x512 tokens. Logits chunks of 2048 positions, so that neither t+e (1532
# supervised positions) nor PROM (766 + 766) recomputes its logits in backward and both run the same kernels.
#   bash benchmarks/gpu_pivot_overhead.sh [extra pivot_overhead.py options]
set -o pipefail
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, peft, accelerate; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'accelerate', accelerate.__version__)"
PYTHONUNBUFFERED=1 python3 benchmarks/pivot_overhead.py --model 7b-random --device cuda --dtype bf16 --seq 512 --chunk 2048 \
    --warmup 2 --steps 8 "$@"
