"""A decoder-only character GPT (nanoGPT's shape) whose causal attention is explicit.

Token + learned position embeddings, pre-LN blocks with a causal mask, an LM head; trained on
the char LSTM's corpus by `nnviz/training/transformer_lm.py`, for comparison with the LSTM.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..traces import CausalTrace
from ..types import InputError
from .attention import MLP, HeadsInternals, MultiHeadAttention, causal_mask, stack_heads
from .attention import to_numpy as _np
from .base import NNVizModel
from .charvocab import VOCAB as CHAR_VOCAB
from .charvocab import encode_text as encode_chars
from .registry import register



@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = len(CHAR_VOCAB)  # the char LSTM's vocabulary: unknown, newline, ASCII 32..126
    block_size: int = 128  # context: the model sees at most this many characters
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 96
    dropout: float = 0.0


class GPTBlock(nn.Module):
    """Pre-LN block (GPT-2): x + attn(LN(x)), then x + MLP(LN(x)). Pre-LN trains stably without warmup tricks."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = MultiHeadAttention(cfg.n_embd, cfg.n_head, dropout=cfg.dropout)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg.n_embd, 4 * cfg.n_embd, cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, HeadsInternals]:
        a, internals = self.attn(self.ln_1(x), mask=mask)  # (B, T, C)
        x = x + a
        return x + self.mlp(self.ln_2(x)), internals


class CharGPT(NNVizModel):
    """nanoGPT at character level: token + learned position embeddings, causal blocks, LM head."""

    def __init__(self, cfg: GPTConfig = GPTConfig()) -> None:
        super().__init__()
        self.config = cfg
        self.vocab = CHAR_VOCAB
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.h = nn.ModuleList(GPTBlock(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):  # GPT-2's N(0, 0.02)
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward_internals(self, idx: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[HeadsInternals]]:
        """idx (B, T) -> logits (B, T, V), hidden states [(B, T, C)] * (L+1), per-layer internals."""
        T = idx.size(1)  # idx: (B, T)
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} > block_size {self.config.block_size}")
        mask = causal_mask(T, idx.device)  # (T, T), broadcast over (B, nh)
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))  # (B, T, C)
        hidden, internals = [x], []
        for block in self.h:
            x, inter = block(x, mask)  # (B, T, C)
            hidden.append(x)
            internals.append(inter)
        return self.lm_head(self.ln_f(x)), hidden, internals  # (B, T, V)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.forward_internals(idx)[0]  # (B, T, V)

    def _ids(self, text: str) -> tuple[np.ndarray, list[str], list[str]]:
        if not isinstance(text, str) or not text:
            raise InputError("Type some text: the model needs at least one character to continue.")
        notes = []
        bs = self.config.block_size
        if len(text) > bs:
            notes.append(f"The model sees at most {bs} characters; only the last {bs} of {len(text):,} are used.")
            text = text[-bs:]
        enc = encode_chars(text, self.vocab)
        if enc.unknown:
            shown = ", ".join(repr(c) for c in enc.unknown_chars[:8])
            notes.append(
                f"{len(enc.unknown)} character(s) are outside the model's ASCII vocabulary and read as "
                f"\ufffd: {shown}."
            )
        return enc.ids, enc.chars, notes

    def run(self, text: str) -> CausalTrace:
        ids, chars, notes = self._ids(text)
        with torch.inference_mode():
            logits, hidden, internals = self.forward_internals(torch.from_numpy(ids)[None])
        return CausalTrace(
            tokens=chars,
            ids=ids,
            attentions=stack_heads(internals, "p_attn"),  # (L, H, T, T)
            scores=stack_heads(internals, "scores"),  # (L, H, T, T)
            hidden_states=np.stack([_np(h[0]) for h in hidden]),  # (L+1, T, C)
            probs=_np(logits[0].softmax(-1)),  # (T, V)
            labels=tuple(self.vocab),
            notes=notes,
            **self.stamp(),
        )

    @torch.inference_mode()
    def generate(self, prompt: str, n_chars: int = 100, temperature: float = 0.0, seed: int = 0) -> str:
        """Continue `prompt` by n_chars characters; temperature 0 = greedy (always the likeliest)."""
        ids, _, _ = self._ids(prompt)
        idx = torch.from_numpy(ids)[None]  # (1, T)
        g = torch.Generator().manual_seed(seed)
        out = []
        for _ in range(n_chars):
            logits = self(idx[:, -self.config.block_size :])[:, -1]  # (1, V): only the last position predicts
            if temperature <= 0:
                nxt = logits.argmax(-1, keepdim=True)
            else:
                nxt = torch.multinomial((logits / temperature).softmax(-1), 1, generator=g)
            idx = torch.cat([idx, nxt], dim=1)
            out.append(self.vocab[int(nxt)])
        return "".join(out)


register(
    "char_gpt",
    family="transformer",
    input_kind="text",
    trace="causal",
    description="Character-level GPT (4 layers x 4 heads, causal mask) trained on the char LSTM's "
    "Python standard-library corpus, for comparison",
    default_weights="shipped:char_gpt.safetensors",
    config=asdict(GPTConfig()),
    example="code.txt",
)(lambda **config: CharGPT(GPTConfig(**config)))
