"""An encoder-decoder Transformer (Vaswani et al.) translating written dates into ISO dates.

Characters in, ISO date characters out; sinusoidal positions, pre-LN layers, greedy decoding.
The decoder's masked self-attention and its cross-attention into the source are returned as a
`CrossTrace`. Trained by `nnviz/training/translation.py`.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..traces import CrossTrace
from ..types import InputError
from .attention import MLP, HeadsInternals, MultiHeadAttention, causal_mask, padding_mask, sinusoidal_positional_encoding, stack_heads
from .attention import to_numpy as _np
from .base import NNVizModel
from .registry import register



SRC_SPECIALS = ("<pad>", "<unk>")
SRC_VOCAB = SRC_SPECIALS + tuple(" abcdefghijklmnopqrstuvwxyz0123456789,./-'")
TGT_VOCAB = ("<pad>", "<s>", "</s>") + tuple("0123456789-")
SRC_PAD, SRC_UNK = 0, 1
TGT_PAD, TGT_BOS, TGT_EOS = 0, 1, 2
DATE_EXAMPLES = (
    "march 3rd, 1999",
    "3 March 1999",
    "Mar 3 99",
    "wednesday, july 20, 1969",
    "the 1st of january 2000",
    "25-dec-84",
    "2024/2/29",
)


@dataclass(frozen=True)
class Seq2SeqConfig:
    src_vocab: int = len(SRC_VOCAB)
    tgt_vocab: int = len(TGT_VOCAB)
    d_model: int = 64
    n_head: int = 4
    n_enc: int = 2
    n_dec: int = 2
    d_ff: int = 256
    max_src: int = 40  # characters of the written date
    max_tgt: int = 12  # <s> + 10 ISO characters + </s>
    dropout: float = 0.0


class EncoderLayer(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_head, dropout=cfg.dropout)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.mlp = MLP(cfg.d_model, cfg.d_ff, cfg.dropout)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> tuple[torch.Tensor, HeadsInternals]:
        a, inter = self.self_attn(self.ln_1(x), mask=src_mask)  # (B, S, C)
        x = x + a
        return x + self.mlp(self.ln_2(x)), inter


class DecoderLayer(nn.Module):
    """Masked self-attention over the output so far, cross-attention into the encoder, MLP."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_head, dropout=cfg.dropout)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_head, dropout=cfg.dropout)
        self.ln_3 = nn.LayerNorm(cfg.d_model)
        self.mlp = MLP(cfg.d_model, cfg.d_ff, cfg.dropout)

    def forward(
        self, y: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor, src_mask: torch.Tensor
    ) -> tuple[torch.Tensor, HeadsInternals, HeadsInternals]:
        a, self_int = self.self_attn(self.ln_1(y), mask=tgt_mask)  # (B, T, C)
        y = y + a
        c, cross_int = self.cross_attn(self.ln_2(y), context=memory, mask=src_mask)  # queries: output, keys: input
        y = y + c
        return y + self.mlp(self.ln_3(y)), self_int, cross_int


class DateTranslator(NNVizModel):
    """Transformer encoder-decoder (pre-LN), characters in, ISO date characters out."""

    def __init__(self, cfg: Seq2SeqConfig = Seq2SeqConfig()) -> None:
        super().__init__()
        self.config = cfg
        self.src_emb = nn.Embedding(cfg.src_vocab, cfg.d_model)
        self.tgt_emb = nn.Embedding(cfg.tgt_vocab, cfg.d_model)
        # Fixed, not learned: derived from the formula, so not saved in the state dict.
        self.register_buffer("pe", sinusoidal_positional_encoding(max(cfg.max_src, cfg.max_tgt), cfg.d_model), persistent=False)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_enc))
        self.enc_ln = nn.LayerNorm(cfg.d_model)
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_dec))
        self.dec_ln = nn.LayerNorm(cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.tgt_vocab)
        self.drop = nn.Dropout(cfg.dropout)
        # N(0, 1/d_model) as fairseq does: after the sqrt(d_model) scaling below, embedding entries
        # are ~1, the same size as the PE's. With nn.Embedding's N(0, 1) they would be ~8 and drown
        # the positions, and the model then mixes up digit order (1904 -> 1940).
        for emb in (self.src_emb, self.tgt_emb):
            nn.init.normal_(emb.weight, std=cfg.d_model**-0.5)

    def _embed(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        T = ids.size(1)
        # sqrt(d_model) scaling as in Vaswani et al. (with the init above: entries ~1, like the PE's).
        return self.drop(emb(ids) * math.sqrt(self.config.d_model) + self.pe[:T])  # (B, T, C)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[HeadsInternals]]:
        """src (B, S) -> memory (B, S, C), src_mask (B, 1, 1, S), encoder internals."""
        src_mask = padding_mask(src != SRC_PAD)  # (B, 1, 1, S): nobody attends to padding
        x = self._embed(self.src_emb, src)
        internals = []
        for layer in self.encoder:
            x, inter = layer(x, src_mask)
            internals.append(inter)
        return self.enc_ln(x), src_mask, internals

    def decode(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor
    ) -> tuple[torch.Tensor, list[HeadsInternals], list[HeadsInternals]]:
        """tgt_in (B, T) -> logits (B, T, V_tgt), decoder self- and cross-attention internals."""
        tgt_mask = causal_mask(tgt_in.size(1), tgt_in.device)  # (T, T)
        y = self._embed(self.tgt_emb, tgt_in)
        self_ints, cross_ints = [], []
        for layer in self.decoder:
            y, s, c = layer(y, memory, tgt_mask, src_mask)
            self_ints.append(s)
            cross_ints.append(c)
        return self.out(self.dec_ln(y)), self_ints, cross_ints

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, src_mask, _ = self.encode(src)
        return self.decode(tgt_in, memory, src_mask)[0]  # (B, T, V_tgt)

    def source_ids(self, text: str) -> tuple[list[int], list[str], str, list[str]]:
        """Lowercase, cut to max_src, map characters (unknown ones to <unk>)."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("Type a date, for example 'march 3rd, 1999'.")
        notes = []
        src = " ".join(text.split()).lower()  # the training data has single spaces and lower case
        if len(src) > self.config.max_src:
            notes.append(f"The model reads at most {self.config.max_src} characters; the rest is cut off.")
            src = src[: self.config.max_src]
        index = {c: i for i, c in enumerate(SRC_VOCAB)}
        ids = [index.get(c, SRC_UNK) for c in src]
        unknown = list(dict.fromkeys(c for c in src if c not in index))
        if unknown:
            notes.append(f"Characters the model never saw become <unk>: {', '.join(repr(c) for c in unknown[:8])}.")
        return ids, [SRC_VOCAB[i] for i in ids], src, notes

    def greedy(self, src_ids: list[int]) -> list[int]:
        """Decoder input tokens: <s>, then the likeliest next token each step, until </s>."""
        with torch.inference_mode():
            memory, src_mask, _ = self.encode(torch.tensor([src_ids]))
            out = [TGT_BOS]
            while len(out) < self.config.max_tgt:
                logits = self.decode(torch.tensor([out]), memory, src_mask)[0]  # (1, T, V)
                nxt = int(logits[0, -1].argmax())
                out.append(nxt)
                if nxt == TGT_EOS:
                    break
        return out

    def run(self, text: str) -> CrossTrace:
        """The registry's entry point (nnviz.run): the translation of `text` with its attention."""
        return self.translate(text)

    def translate(self, text: str) -> CrossTrace:
        """Greedy decoding, then one teacher-forced pass over the decoded tokens to collect attention.
        Because decoder self-attention is causal, row t of that pass equals what decoding step t saw."""
        src_ids, src_tokens, src, notes = self.source_ids(text)
        out_ids = self.greedy(src_ids)
        dec_in, produced = out_ids[:-1], out_ids[1:]  # position t reads dec_in[t] and produced produced[t]
        with torch.inference_mode():
            memory, src_mask, enc_ints = self.encode(torch.tensor([src_ids]))
            logits, self_ints, cross_ints = self.decode(torch.tensor([dec_in]), memory, src_mask)
        output = "".join(TGT_VOCAB[i] for i in out_ids[1:] if i not in (TGT_EOS, TGT_PAD, TGT_BOS))
        try:
            valid = len(output) == 10 and _dt.date.fromisoformat(output).isoformat() == output
        except ValueError:
            valid = False
        if not valid:
            notes.append(f"The model produced {output!r}, which is not a real date (YYYY-MM-DD).")
        years = [int(y) for y in re.findall(r"(?<!\d)\d{4}(?!\d)", src)]
        if any(not 1900 <= y <= 2099 for y in years):
            notes.append("The model only saw years 1900-2099 in training; other years come out wrong.")
        return CrossTrace(
            source=src,
            tokens=src_tokens,
            dec_inputs=[TGT_VOCAB[i] for i in dec_in],
            produced=[TGT_VOCAB[i] for i in produced],
            output=output,
            valid=valid,
            enc_self_attn=stack_heads(enc_ints, "p_attn"),  # (Le, H, S, S)
            dec_self_attn=stack_heads(self_ints, "p_attn"),  # (Ld, H, T, T)
            cross_attn=stack_heads(cross_ints, "p_attn"),  # (Ld, H, T, S)
            probs=_np(logits[0].softmax(-1)),  # (T, V_tgt)
            labels=TGT_VOCAB,
            notes=notes,
            **self.stamp(),
        )


register(
    "date_translator",
    family="transformer",
    input_kind="text",
    trace="cross",
    description="Encoder-decoder Transformer (2+2 layers x 4 heads) translating written dates "
    "('march 3rd, 1999') into ISO dates (1999-03-03)",
    default_weights="shipped:date_translator.safetensors",
    labels=TGT_VOCAB,
    config=asdict(Seq2SeqConfig()),
    example=DATE_EXAMPLES[0],
)(lambda **config: DateTranslator(Seq2SeqConfig(**config)))
