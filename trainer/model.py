"""The model the loop trains: a causal LM wrapped so that ``forward`` returns the loss.

Computing both loss terms inside ``PromModel.forward`` matters for sharded training: FSDP and ZeRO-3 gather a
module's weights around that module's own forward, so ``lm_head`` and the pivot head must be *called* inside
the wrapped forward, never applied to hidden states after ``model(...)`` has returned.

The pivot head (``pivot_head`` setting):

- ``shared`` (default): the model's own ``lm_head`` after the final norm, i.e. the logit lens. This is
  exactly the read-out the regulation probe measures ("forwarding h_n through the LM head generates the
  English version of the next token"), so the objective strengthens the pivot the probe found. It adds no
  parameters, so PROM costs t+e's memory, and with LoRA (head frozen) the pivot loss can only be lowered by
  changing what blocks 1..n compute, not by a new head learning to decode layer n.
- ``copy``: a trainable copy of ``lm_head`` (the paper's "another LM head" read literally), dropped after
  training. It adds vocab x hidden trainable weights plus their AdamW state.
- ``frozen``: a copy of the pretrained head that never trains. With LoRA and a frozen ``lm_head`` this is
  the same function as ``shared``, so no copy is made.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from trainer.capture import LayerCapture, stop_after_block
from trainer.config import SettingsError, TrainConfig, resolve_pivot_layer
from trainer.objectives import TokenCounts, head_cross_entropy_sum, pivot_loss, sft_loss, token_mean

MIXED, ENGLISH_ONLY, TARGET_ONLY = "mixed", "english", "target"


def load_causal_lm(model_path: str, cfg: TrainConfig):
    """``(model, tokenizer)`` for training; frozen LoRA base weights in bf16 when ``precision`` is bf16."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    dtype = torch.bfloat16 if cfg.precision == "bf16" and cfg.lora else torch.float32
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # the caller's progress display owns the terminal
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    model.config.use_cache = False
    return model, tokenizer


def decoder_parts(causal_lm: nn.Module):
    """``(decoder, blocks, final_norm, lm_head)`` of a (possibly peft-wrapped) decoder-only causal LM.

    LLaMA-family names (``layers``, ``norm``) first; GPT-2-style ones (``h``, ``ln_f``) too, for the probe.
    """
    base = causal_lm.get_base_model() if hasattr(causal_lm, "get_base_model") else causal_lm
    decoder = base.get_decoder() if hasattr(base, "get_decoder") else base.model
    blocks = next((getattr(decoder, n) for n in ("layers", "h", "blocks") if hasattr(decoder, n)), None)
    norm = next((getattr(decoder, n) for n in ("norm", "ln_f", "final_layernorm") if hasattr(decoder, n)), None)
    if blocks is None or norm is None:
        raise SettingsError(
            f"cannot find the decoder blocks and final norm of a '{type(base).__name__}'; supported: "
            "LLaMA-, Mistral-, Qwen- and GPT-2-style decoders"
        )
    return decoder, blocks, norm, base.get_output_embeddings()


def validate_for_model(cfg: TrainConfig, causal_lm: nn.Module) -> int | None:
    """Checks that need the model; returns the resolved pivot block n (None for sft). One-line ``SettingsError``."""
    _, blocks, _, _ = decoder_parts(causal_lm)
    n = resolve_pivot_layer(cfg.pivot_layer, len(blocks)) if cfg.objective == "pivot" else None
    if cfg.lora:
        names = {name.rsplit(".", 1)[-1] for name, module in causal_lm.named_modules() if isinstance(module, nn.Linear)}
        missing = [t for t in cfg.lora_target_modules if t not in names]
        if missing:
            raise SettingsError(
                f"lora_target_modules {', '.join(missing)} not in this model; "
                f"its linear modules: {', '.join(sorted(names))}"
            )
    return n


def enable_gradient_checkpointing(causal_lm: nn.Module) -> None:
    """Recompute each block in backward, non-reentrant (the layer-n capture must carry a graph)."""
    kwargs = {"use_reentrant": False}
    if hasattr(causal_lm, "activation_checkpointing_enable"):  # transformers >= 5
        causal_lm.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        causal_lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def add_lora(causal_lm: nn.Module, cfg: TrainConfig) -> nn.Module:
    """Wrap in peft LoRA; adapter weights stay fp32 even on a bf16 base."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_target_modules),
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():  # peft calls a transformers API that transformers 5 deprecates
        warnings.filterwarnings("ignore", category=FutureWarning)
        return get_peft_model(causal_lm, lora, autocast_adapter_dtype=True)


class PromModel(nn.Module):
    """A causal LM whose ``forward`` returns this micro-batch's share of the window loss.

    Args:
        causal_lm: the model (plain or peft-wrapped).
        objective: ``sft`` or ``pivot``.
        pivot_layer: resolved 1-based block n (pivot only).
        pivot_weight: lambda; 0 makes ``pivot`` the last-layer loss over target tokens alone.
        label_smoothing: alpha of the English layer-n term.
        pivot_head: ``shared``, ``copy`` or ``frozen``.
        chunk_size: supervised positions per logits chunk.
    """

    def __init__(
        self,
        causal_lm: nn.Module,
        *,
        objective: str = "sft",
        pivot_layer: int | None = None,
        pivot_weight: float = 0.0,
        label_smoothing: float = 0.0,
        pivot_head: str = "shared",
        chunk_size: int = 1024,
    ):
        super().__init__()
        self.causal_lm = causal_lm
        self.objective, self.pivot_weight, self.label_smoothing = objective, pivot_weight, label_smoothing
        self.chunk_size = chunk_size
        self.uses_pivot = objective == "pivot" and pivot_weight > 0
        self.pivot_layer = pivot_layer
        self.pivot_head = None
        self._capture = None
        if self.uses_pivot:
            _, blocks, _, lm_head = decoder_parts(causal_lm)
            head_trains = lm_head.weight.requires_grad
            if pivot_head == "copy" or (pivot_head == "frozen" and head_trains):
                self.pivot_head = _copy_head(lm_head, trainable=pivot_head == "copy")
            self._capture = LayerCapture(blocks[pivot_layer - 1])

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        targets: torch.Tensor,
        english: torch.Tensor,
        target: torch.Tensor,
        counts: TokenCounts,
        role: str = MIXED,
    ) -> dict:
        """Loss of one micro-batch.

        Args:
            input_ids, attention_mask, targets: # shape: [b, s]; ``targets`` already shifted.
            english, target: supervised positions by role, on any device (CPU avoids a GPU sync). # shape: [b, s] bool
            counts: the window's supervised token counts over all ranks.
            role: ``english`` for an English-only micro-batch (stops at block n when the caller asks for
                early exit by passing it), ``target`` or ``mixed`` otherwise. The same on every rank.

        Returns:
            ``loss`` (scalar with graph) and detached sums ``pivot_sum``, ``target_sum`` (fp32) for logging.
        """
        decoder, _, norm, lm_head = decoder_parts(self.causal_lm)
        zero = torch.zeros((), device=input_ids.device)
        if not self.uses_pivot:
            mask = english | target if self.objective == "sft" else target
            hidden = decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
            states, labels = _at(mask, hidden, targets)
            target_sum = head_cross_entropy_sum(states, lm_head, labels, chunk_size=self.chunk_size)
            # pivot with lambda = 0: the last-layer loss over target tokens alone (English data was not loaded)
            loss = (
                sft_loss(target_sum, counts)
                if self.objective == "sft"
                else token_mean(target_sum, counts.target, counts.world_size)
            )
            return {"loss": loss, "pivot_sum": zero, "target_sum": target_sum.detach()}
        pivot_head = self.pivot_head if self.pivot_head is not None else lm_head
        if role == ENGLISH_ONLY:
            # Early exit: blocks n+1..N never run; the decoder's own final norm is applied to h_n.
            with stop_after_block(decoder, self.pivot_layer):
                pivot_state = decoder(
                    input_ids=input_ids, attention_mask=attention_mask, use_cache=False
                ).last_hidden_state
            states, labels = _at(english, pivot_state, targets)
            pivot_sum = head_cross_entropy_sum(
                states, pivot_head, labels, label_smoothing=self.label_smoothing, chunk_size=self.chunk_size
            )
            target_sum = zero
        else:
            with self._capture.armed():
                hidden = decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
            states, labels = _at(english, self._capture.state, targets)
            pivot_sum = head_cross_entropy_sum(
                norm(states), pivot_head, labels, label_smoothing=self.label_smoothing, chunk_size=self.chunk_size
            )
            self._capture.state = None  # the graph keeps what backward needs; drop our reference
            states, labels = _at(target, hidden, targets)
            target_sum = head_cross_entropy_sum(states, lm_head, labels, chunk_size=self.chunk_size)
        loss = pivot_loss(pivot_sum, target_sum, counts, self.pivot_weight)
        return {"loss": loss, "pivot_sum": pivot_sum.detach(), "target_sum": target_sum.detach()}


def _at(mask: torch.Tensor, states: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """States and targets at the positions ``mask`` marks. # shapes: [b, s, d], [b, s] -> [t, d], [t]

    The positions are found where the mask lives: a CPU mask (as the loop passes it) costs the GPU no
    synchronisation, whereas boolean indexing of a GPU tensor waits for the GPU to count the positions.
    """
    index = mask.reshape(-1).nonzero().squeeze(1).to(states.device, non_blocking=True)
    return states.reshape(-1, states.shape[-1]).index_select(0, index), targets.reshape(-1).index_select(0, index)


def _copy_head(lm_head: nn.Module, *, trainable: bool) -> nn.Linear:
    weight = lm_head.weight
    head = nn.Linear(
        weight.shape[1],
        weight.shape[0],
        bias=getattr(lm_head, "bias", None) is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        head.weight.copy_(weight)
        if head.bias is not None:
            head.bias.copy_(lm_head.bias)
    head.requires_grad_(trainable)
    return head
