"""An LSTM that reads a sentence word by word and says, after every word, how positive it is so far.

    words -> embedding -> LSTM (step by step, gates recorded) -> linear -> 2 logits after EVERY word

The classifier head is applied to the hidden state at each word, so `run(text).output[t]` is the
model's own prediction after reading words 0..t (no re-running on prefixes, no interpolation): the
"running prediction" a lecture shows rising and falling at "not" and "but". The prediction after
the last word is the sentence's label.

Trained by `nnviz/training/sentiment_lstm.py` on 8,455 movie-review snippets
(`nnviz/training/sentiment_data.py`) with PyTorch's fused `nn.LSTM`; the step-by-step `LSTM` from
nnviz.models.recurrent uses nn.LSTM's parameter names, so the state_dict loads strict here and
the gates (input, forget, cell candidate, output) of every word are exposed.

The vocabulary is learned from the training split and travels in the weights file's metadata
(its "config"), so the shipped file builds the model it was trained as.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..traces import RecurrentTrace
from ..types import InputError
from .base import NNVizModel
from .recurrent import LSTM, token_trace
from .registry import register

PAD, UNK = "<pad>", "<unk>"  # ids 0 and 1 of every vocabulary
LABELS = ("negative", "positive")

# --- the tokeniser --------------------------------------------------------------------------------
# Lower-case words, with negation and punctuation kept as tokens of their own: "didn't" reads as
# "did" + "n't", so the model learns ONE negation token instead of a separate "didn't", "isn't",
# "wasn't"...; "," and "but" stay, because they are where a sentence turns.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_IRREGULAR = ((re.compile(r"\bcan't\b"), "can n't"), (re.compile(r"\bwon't\b"), "will n't"),
              (re.compile(r"\bain't\b"), "is n't"))
_NT = re.compile(r"(\w)n't\b")  # "isn't" -> "is n't"
# A token: the negation "n't"; a clitic after a word ("'s", "'re", "'ll"); a run of letters/digits;
# or any other single visible character (punctuation).
TOKEN = re.compile(r"n't|(?<=\w)'[^\W_]+|[^\W_]+|[^\w\s]")


def _normalise(text: str) -> str:
    text = text.lower().translate(_APOSTROPHES)
    for pattern, repl in _IRREGULAR:
        text = pattern.sub(repl, text)
    return _NT.sub(r"\1 n't", text)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens: "I didn't like it, but..." -> i did n't like it , but . . ."""
    return TOKEN.findall(_normalise(text))


def first_words(text: str, n: int) -> tuple[str, int]:
    """(a prefix of `text` that reads as its first `n` tokens, how many tokens `text` has).

    The cut is made between whitespace-separated pieces of the original text, counting each
    piece's tokens (character offsets in the normalised text would be off after "can't" ->
    "can n't"); a piece that overflows (e.g. "good,good,good..." without spaces) is cut inside
    its normalised form, which tokenises the same."""
    total = sum(1 for _ in TOKEN.finditer(_normalise(text)))
    if total <= n:
        return text, total
    out, count = [], 0
    for piece in re.split(r"(\s+)", text):  # words and the whitespace between them, in order
        k = len(tokenize(piece))
        if count + k > n:
            norm = _normalise(piece)
            ends = [m.end() for m in TOKEN.finditer(norm)]
            out.append(norm[: ends[n - count - 1]] if n > count else "")
            break
        out.append(piece)
        count += k
    return "".join(out).rstrip(), total


def is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def build_vocab(token_lists, min_count: int = 2) -> tuple[str, ...]:
    """<pad>, <unk>, then every token seen at least `min_count` times, most frequent first
    (ties alphabetical, so the vocabulary is the same on every machine)."""
    counts = Counter(t for toks in token_lists for t in toks)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return (PAD, UNK, *kept)


@dataclass
class EncodedWords:
    ids: np.ndarray  # (T,) int64 indices into the vocabulary
    words: list[str]  # (T,) the tokens as read (lower case; unknown ones kept as typed, lower case)
    unknown: list[int]  # positions read as <unk>


def encode_words(text: str, index: dict[str, int]) -> EncodedWords:
    words = tokenize(text)
    ids = np.fromiter((index.get(w, 1) for w in words), dtype=np.int64, count=len(words))
    return EncodedWords(ids, words, [i for i, j in enumerate(ids) if j == 1])


# --- the model ----------------------------------------------------------------------------------------


def _shipped_vocab() -> tuple[str, ...]:
    """The vocabulary recorded in the shipped weights file (so an untrained model reads the same
    words as the trained one), or just <pad>/<unk> when the file is missing."""
    from ..weights import (
        shipped_values,  # weights sits below models; imported on first use
    )

    vocab = (shipped_values(SHIPPED_FILE).get("config") or {}).get("vocab")
    return tuple(vocab) if vocab else (PAD, UNK)


class SentimentLSTM(NNVizModel):
    """embedding -> LSTM -> linear(2) at every word. forward(ids) gives (B, T, 2) logits; the
    classifier's prediction for a sentence is the logits at its last word."""

    cell = "lstm"

    def __init__(self, vocab: tuple[str, ...] | list[str] | None = None, embed_dim: int = 64, hidden: int = 96,
                 num_layers: int = 1) -> None:
        super().__init__()
        self.vocab = tuple(vocab) if vocab else _shipped_vocab()
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.embed = nn.Embedding(len(self.vocab), embed_dim, padding_idx=0)
        self.rnn = LSTM(embed_dim, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, len(LABELS))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, 2) after every word. Works with nn.LSTM swapped in as .rnn;
        right-padding never changes a real word's output (the LSTM reads left to right)."""
        out, _ = self.rnn(self.embed(ids))  # (B, T, H)
        return self.head(out)  # (B, T, 2)

    def encode(self, text: str) -> EncodedWords:
        return encode_words(text, self.index)

    @staticmethod
    def first_words(text: str, n: int) -> tuple[str, int]:
        """The runner's cap: the prefix of `text` with its first n tokens, and its token count."""
        return first_words(text, n)

    def predict(self, text: str) -> np.ndarray:
        """(2,) P(negative), P(positive) for the whole sentence: the softmax after its last word."""
        enc = self._checked(text)
        with torch.inference_mode():
            logits = self(torch.from_numpy(enc.ids)[None])[0, -1]  # (2,)
        return torch.softmax(logits.double(), -1).numpy()

    def _checked(self, text: str) -> EncodedWords:
        enc = self.encode(text)
        if not any(is_word(w) for w in enc.words):
            raise InputError("The text has no words: type a sentence such as \"The story was wonderful\".")
        return enc

    def run(self, text: str) -> RecurrentTrace:
        """States and gates at every word, and the (T, 2) logits after every word (columns
        negative, positive); trace.probs(t)[1] is P(positive) after word t."""
        enc = self._checked(text)
        notes = []
        if enc.unknown:
            unseen = list(dict.fromkeys(enc.words[i] for i in enc.unknown))
            shown = ", ".join(f'"{w}"' for w in unseen[:8]) + (", ..." if len(unseen) > 8 else "")
            n = len(enc.unknown)
            notes.append(f"{n} word{'s' if n > 1 else ''} the model never saw in training ({shown}) "
                         f"{'are' if n > 1 else 'is'} read as the unknown word {UNK}")
        return token_trace(self, enc.ids, enc.words, enc.unknown, LABELS, notes)  # output (T, 2) after every word


# Architecture constants live here; the training script imports them.
SHIPPED_FILE = "sentiment_lstm.safetensors"
CONFIG = {"embed_dim": 64, "hidden": 96, "num_layers": 1}
EXAMPLES = (
    "The acting is not good, but the story is wonderful.",
    "I expected to hate it, and I did not.",
    "A dull, lifeless film with a script that goes nowhere.",
    "A warm, funny and beautifully acted film.",
)

register(
    "sentiment_lstm",
    family="recurrent",
    input_kind="text",
    trace="recurrent",
    description="Word-level LSTM reading a sentence word by word and predicting, after every word, "
    "whether it is negative or positive (trained on 8,455 movie-review snippets)",
    default_weights=f"shipped:{SHIPPED_FILE}",
    labels=LABELS,
    # vocab None: the shipped file's recorded vocabulary (shipped_config passes it on loading)
    config={"vocab": None, **CONFIG},
    task="sentiment",
    example=EXAMPLES[0],
)(SentimentLSTM)
