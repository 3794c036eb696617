"""Merge a LoRA adapter into its base model (peft ``merge_and_unload``), cached by content.

Used for adapters vLLM cannot serve as LoRA (``lora.AdapterInfo.merge_reason``). The cache key hashes every
file of the adapter and the base model's ``config.json`` with its path, so retraining into the same folder
makes a new merge, and the same adapter is merged once however often it is evaluated.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from prom_bench.paths import cache_dir


def adapter_hash(adapter: str | Path, base: str) -> str:
    """Short sha256 of the adapter's files (names and bytes) and of the base model it is merged into."""
    digest = hashlib.sha256()
    folder = Path(adapter)
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(folder)).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    digest.update(b"\0base\0" + str(base).encode())
    base_config = Path(base) / "config.json"
    if base_config.is_file():
        digest.update(base_config.read_bytes())
    return digest.hexdigest()[:16]


def merged_model(base: str, adapter: str | Path) -> tuple[Path, str]:
    """``(folder of the merged model, content hash)``: merged now, or found in the cache from an earlier merge.

    The merged weights keep the base model's dtype (``torch_dtype`` in its config; float32 when unknown).
    """
    key = adapter_hash(adapter, base)
    out = cache_dir() / "merged" / key
    if (out / "config.json").is_file():
        return out, key
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((Path(base) / "config.json").read_text()) if (Path(base) / "config.json").is_file() else {}
    dtype = getattr(torch, str(config.get("torch_dtype") or config.get("dtype") or "float32"), torch.float32)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().to(dtype)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{key}."))
    try:  # written beside the cache entry, then renamed: a killed merge leaves no half model behind
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer_source = Path(adapter) if (Path(adapter) / "tokenizer_config.json").is_file() else base
        AutoTokenizer.from_pretrained(str(tokenizer_source)).save_pretrained(tmp)
        (tmp / "merged_from.json").write_text(json.dumps({"base": str(base), "adapter": str(adapter)}, indent=1))
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (out / "config.json").is_file():
            raise
    return out, key
