"""What one model run produced, as plain numpy: one dataclass per kind of run. No torch here.

Pages and notebooks render from these; nothing in a view ever runs the model again. Every trace
shares one vocabulary (bertviz's habit: compute once into plain data, then any view slices it):

- `model`: the registry name; `weights`: which weights produced it (`weights_label` says so);
  `notes`: sentences for the user about how the input was read (cut, unknown characters, ...)
- `tokens`: the input as the model read it (characters, wordpieces, source characters)
- `output`: the model's final output for this input (each class says what it holds)
- `probs` / `labels`: a probability table and what each of its columns means

Traces are picklable and cacheable; `nbytes` counts every array they hold.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .types import WeightsInfo


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64 (logits -> probabilities that sum to 1)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # minus the max: no overflow
    return e / e.sum(axis=-1, keepdims=True)


def _nbytes(obj) -> int:
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v) for v in obj) if obj and not isinstance(obj[0], (str, int, float)) else 0
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(_nbytes(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    return 0


@dataclass(kw_only=True)
class Trace:
    """The base of every trace: which model and weights produced it, and notes for the user."""

    model: str = ""
    weights: WeightsInfo | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def weights_label(self) -> str:
        return self.weights.label if self.weights is not None else ""

    @property
    def nbytes(self) -> int:
        return _nbytes(self)


# --- CNNs: feature maps ---------------------------------------------------------------------------


@dataclass
class Activation:
    """One captured layer: its output (batch item 0) and, for pools and residual blocks, its input."""

    name: str
    module_type: str
    output: np.ndarray  # (C, H, W) for conv maps, (F,) for linear, ...
    input: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.shape)


@dataclass
class FeatureTrace(Trace):
    """A CNN forward pass: every shown layer's output, in module order."""

    activations: dict[str, Activation]
    output: np.ndarray  # (K,) logits of batch item 0 (not probabilities)
    labels: tuple[str, ...] | None = None  # class name of each logit
    image: np.ndarray | None = None  # (H, W, 3) in [0, 1]: the input as the model saw it (after resizing)

    def __getitem__(self, name: str) -> Activation:
        return self.activations[name]

    def __contains__(self, name: str) -> bool:
        return name in self.activations

    @property
    def names(self) -> list[str]:
        return list(self.activations)

    @property
    def probs(self) -> np.ndarray:
        """(K,) softmax of the logits: the class probabilities a top-5 view shows."""
        e = np.exp(self.output - self.output.max())
        return e / e.sum()


# --- recurrent networks: states and gates -----------------------------------------------------------

# Gate names per cell type, in PyTorch's order of the rows of weight_ih / weight_hh.
GATE_NAMES = {
    "rnn": (),
    "lstm": ("input", "forget", "cell", "output"),  # i, f, g (candidate), o
    "gru": ("reset", "update", "new"),  # r, z, n
}


@dataclass
class LayerStates:
    """One recurrent layer over one sequence, batch item 0. Rows are time steps, columns units."""

    h: np.ndarray  # (T, H) hidden state after each step
    c: np.ndarray | None  # (T, H) LSTM cell state after each step; None for RNN / GRU
    gates: dict[str, np.ndarray]  # gate name -> (T, H); LSTM: input/forget/cell/output, GRU: reset/update/new


@dataclass
class RecurrentTrace(Trace):
    """A recurrent model over one sequence: states and gates of every step."""

    cell: str  # "lstm", "rnn" or "gru"
    layers: list[LayerStates]
    output: np.ndarray  # see output_kind
    # "logits": a character model's (T, V) next-character logits, columns named by `labels`;
    # "forecast": a forecaster's (T,) one-step-ahead predictions in the series' units
    output_kind: str = "logits"
    tokens: list[str] = field(default_factory=list)  # text: the characters as the model read them
    unknown: list[int] = field(default_factory=list)  # text: positions mapped to the unknown symbol
    series: np.ndarray | None = None  # forecast: the values read (T,)
    labels: tuple[str, ...] | None = None  # logits: the character of each column

    @property
    def length(self) -> int:
        return self.layers[0].h.shape[0]

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATE_NAMES[self.cell]

    def states(self, kind: str, layer: int = 0) -> np.ndarray:
        """(T, H) of one quantity: "c", "h" or a gate name."""
        L = self.layers[layer]
        if kind == "c":
            if L.c is None:
                raise ValueError(f"a {self.cell.upper()} has no cell state")
            return L.c
        return L.h if kind == "h" else L.gates[kind]

    def probs(self, pos: int) -> np.ndarray:
        """Logits: softmax after reading tokens[pos], i.e. P(next char)."""
        if self.output_kind != "logits":
            raise ValueError("probs needs a character model's trace")
        z = self.output[pos].astype(np.float64)
        e = np.exp(z - z.max())
        return e / e.sum()

    def top_next(self, pos: int, k: int = 5) -> list[tuple[str, float]]:
        """Logits: the k likeliest next characters after tokens[pos], with probabilities."""
        if self.labels is None:
            raise ValueError("top_next needs a character model's trace")
        p = self.probs(pos)
        best = np.argsort(-p, kind="stable")[:k]
        return [(self.labels[j], float(p[j])) for j in best]


# --- Transformers: attention ------------------------------------------------------------------------


@dataclass
class EncoderTrace(Trace):
    """An encoder (MiniLM) pass, batch item 0. T tokens, L layers, H heads, D = H * dh."""

    tokens: list[str]  # wordpieces with [CLS] first and [SEP] last
    ids: np.ndarray  # (T,) int64
    hidden_states: np.ndarray  # (L+1, T, D): embeddings output, then each layer's output
    attentions: np.ndarray  # (L, H, T, T): softmax(Q K^T / sqrt(dh)), query rows x key columns
    queries: np.ndarray  # (L, H, T, dh)
    keys: np.ndarray  # (L, H, T, dh)
    values: np.ndarray  # (L, H, T, dh)
    output: np.ndarray  # (D,) the sentence embedding: mean of the last layer over tokens
    offsets: list[tuple[int, int]] = field(default_factory=list)  # each token's span in the text
    # A classifier on the encoder (minilm_sentiment) fills the fields below; a plain encoder run
    # leaves them empty. W = words of the text (a word's '##' pieces join it), P = prefixes read.
    logits: np.ndarray | None = None  # (K,) class logits (not probabilities; `probs` are)
    labels: tuple[str, ...] | None = None  # class name of each logit
    pooled: np.ndarray | None = None  # (D,) the classifier's input: `output` L2-normalised
    words: list[str] = field(default_factory=list)  # (W,) each word as typed
    word_tokens: list[tuple[int, int]] = field(default_factory=list)  # (W,) each word's tokens [start, end)
    running: np.ndarray | None = None  # (P, K) logits of the text cut after word running_at[p]
    running_at: np.ndarray | None = None  # (P,) int: the last word each prefix reads (0-based)
    running_start: np.ndarray | None = None  # (K,) logits before any word: [CLS] [SEP] alone
    leave_out: np.ndarray | None = None  # (W, K) logits of the text without word w (None: not measured)

    @property
    def embedding(self) -> np.ndarray:
        return self.output

    @property
    def probs(self) -> np.ndarray | None:
        """(K,) softmax of `logits`: the class probabilities; None for a plain encoder run."""
        return None if self.logits is None else softmax(self.logits)

    @property
    def running_probs(self) -> np.ndarray | None:
        """(P, K) softmax of `running`: the class probabilities after each prefix."""
        return None if self.running is None else softmax(self.running)

    @property
    def n_layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def n_heads(self) -> int:
        return self.attentions.shape[1]

    def find(self, word: str) -> list[int]:
        """Positions of the token `word` (case-insensitive, whole wordpiece)."""
        w = word.lower()
        return [i for i, t in enumerate(self.tokens) if t.lower() == w]


@dataclass
class CausalTrace(Trace):
    """A decoder-only (GPT) pass over T characters, batch item 0."""

    tokens: list[str]  # (T,) characters as the model read them (unknown ones as U+FFFD)
    ids: np.ndarray  # (T,)
    attentions: np.ndarray  # (L, H, T, T): exactly 0 above the diagonal (the causal mask)
    scores: np.ndarray  # (L, H, T, T): q k^T / sqrt(hs) before the mask (what the mask hides)
    hidden_states: np.ndarray  # (L+1, T, C)
    probs: np.ndarray  # (T, V): P(next char | tokens[: t+1])
    labels: tuple[str, ...] = ()  # the character of each column of probs

    @property
    def surprisal(self) -> np.ndarray:
        """(T-1,) bits: -log2 P(actual next char), how surprised the model was at each step."""
        p = self.probs[np.arange(len(self.ids) - 1), self.ids[1:]]
        return -np.log2(np.maximum(p, 1e-12))

    def top_k(self, t: int, k: int = 5) -> list[tuple[str, float]]:
        """The k likeliest characters after position t."""
        order = np.argsort(-self.probs[t])[:k]
        return [(self.labels[j], float(self.probs[t, j])) for j in order]


@dataclass
class CrossTrace(Trace):
    """An encoder-decoder's greedy translation of one text. S source characters, T decoder steps."""

    source: str  # the text the model read (normalised, cut to its maximum length)
    tokens: list[str]  # (S,) source characters ("<unk>" for unknown ones)
    dec_inputs: list[str]  # (T,) what decoder position t reads: "<s>", then the tokens produced so far
    produced: list[str]  # (T,) what decoder position t produced (greedy argmax); ends with "</s>" if it stopped
    output: str  # the text produced (without <s>/</s>)
    valid: bool  # `output` is well-formed (the date translator: a real YYYY-MM-DD date)
    enc_self_attn: np.ndarray  # (Le, H, S, S)
    dec_self_attn: np.ndarray  # (Ld, H, T, T): exactly 0 above the diagonal
    cross_attn: np.ndarray  # (Ld, H, T, S): rows = decoder positions, columns = source characters
    probs: np.ndarray  # (T, V_tgt): decoder position t's distribution; argmax = produced[t]
    labels: tuple[str, ...] = ()  # the target symbol of each column of probs


__all__ = [
    "Activation", "CausalTrace", "CrossTrace", "EncoderTrace", "FeatureTrace", "GATE_NAMES",
    "LayerStates", "RecurrentTrace", "Trace", "softmax",
]
