"""The one character vocabulary of nnviz's character models (char LSTM/RNN and char GPT).

Fixed and data-independent, so a model trained on one corpus reads any text: the unknown symbol,
newline, printable ASCII 32..126. Characters outside it are mapped to the unknown symbol and
reported, so a view can say which ones the model could not read. No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNKNOWN = "\ufffd"  # the Unicode replacement character: visible in the text and on the axis
# Fixed, data-independent vocabulary: the unknown symbol, newline, printable ASCII 32..126.
VOCAB = UNKNOWN + "\n" + "".join(chr(i) for i in range(32, 127))


@dataclass
class EncodedText:
    ids: np.ndarray  # (T,) int64 indices into the vocabulary
    chars: list[str]  # (T,) the characters as the model sees them (unknown ones replaced by UNKNOWN)
    unknown: list[int]  # positions whose character is not in the vocabulary
    unknown_chars: list[str]  # the distinct unknown characters, in order of first appearance


def encode_text(text: str, vocab: str = VOCAB) -> EncodedText:
    """Map each character to its index; characters outside `vocab` become vocab[0] (the unknown
    symbol) and are reported, so the view can say which ones the model could not read."""
    index = {ch: i for i, ch in enumerate(vocab)}
    ids = np.fromiter((index.get(ch, 0) for ch in text), dtype=np.int64, count=len(text))
    unknown = [i for i, ch in enumerate(text) if ch not in index or index[ch] == 0]
    seen: dict[str, None] = {}
    for i in unknown:
        seen.setdefault(text[i])
    chars = [vocab[j] for j in ids]
    return EncodedText(ids=ids, chars=chars, unknown=unknown, unknown_chars=list(seen))


def decode(ids, vocab: str = VOCAB) -> str:
    return "".join(vocab[int(j)] for j in ids)
