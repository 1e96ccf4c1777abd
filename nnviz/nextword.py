"""Next *words* from a character model: beam search over characters until the word ends.

A character model gives P(next character | text). The probability that the text continues with
the word w and then ends it is the product of its characters' probabilities times the probability
of a character that ends a word (anything but a letter, a digit or "_"):

    P("return" next) = P(r) * P(e | r) * ... * P(n | retur) * P(word ends | return)

Beam search keeps the `beam` likeliest unfinished words at every step, so the list may miss a
word outside the beam, but each probability it shows is that word's exact probability under the
model. When the text ends inside a word ("...ret"), the candidates complete that word. When the
next character itself ends a word ("(", a newline), that character is a candidate of its own.

Works for the character LSTM/RNN (state carried between steps) and the character GPT (re-reads
its last block_size characters), through `model.vocab` and the model's own modules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .models.charvocab import UNKNOWN, encode_text


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def word_prefix(text: str) -> str:
    """The part of a word `text` ends in ("" after a space or punctuation)."""
    i = len(text)
    while i > 0 and is_word_char(text[i - 1]):
        i -= 1
    return text[i:]


@dataclass(frozen=True)
class WordGuess:
    word: str  # the characters still to come (a completed word's missing part, or a whole word)
    prob: float  # its exact probability under the model (at the given temperature)
    is_word: bool  # False: a single character that ends a word ("(", newline, space...)


@dataclass(frozen=True)
class NextWords:
    prefix: str  # the part of a word the text ends in ("" after a space or punctuation)
    guesses: list[WordGuess]  # likeliest first
    covered: float  # the guesses' summed probability: how much of the future they account for


class _Stepper:
    """Batched next-character log-probabilities for B continuations of one prompt."""

    def __init__(self, model, prompt: str, temperature: float) -> None:
        self.model, self.t = model, max(float(temperature), 1e-6)
        self.recurrent = hasattr(model, "rnn")
        ids = torch.from_numpy(encode_text(prompt or "\n", model.vocab).ids)[None]  # (1, T)
        if self.recurrent:
            out, self.state = model.rnn(model.embed(ids))  # out (1, T, H); state like nn.LSTM's
            self.logp = self._logp(model.head(out[:, -1]))  # (1, V)
        else:
            self.block = model.config.block_size
            self.state = ids[:, -self.block:]  # (1, T)
            self.logp = self._logp(model(self.state)[:, -1])

    def _logp(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(logits / self.t, dim=-1)

    def advance(self, rows: list[int], chars: list[int]) -> None:
        """Beam b continues row rows[b] of the previous batch with character chars[b]."""
        r, c = torch.tensor(rows), torch.tensor(chars)[:, None]  # (B,), (B, 1)
        if self.recurrent:
            state = tuple(s[:, r] for s in self.state) if isinstance(self.state, tuple) else self.state[:, r]
            out, self.state = self.model.rnn(self.model.embed(c), state)  # (B, 1, H); (L, B, H) states
            self.logp = self._logp(self.model.head(out[:, -1]))  # (B, V)
        else:
            self.state = torch.cat([self.state[r], c], dim=1)[:, -self.block:]  # (B, <=block)
            self.logp = self._logp(self.model(self.state)[:, -1])


@torch.inference_mode()
def next_words(model, prompt: str, k: int = 5, beam: int = 8, max_chars: int = 24,
               temperature: float = 1.0) -> NextWords:
    """The k likeliest next words after `prompt` (see the module docstring)."""
    vocab = model.vocab
    word_ids = np.array([is_word_char(ch) and ch != UNKNOWN for ch in vocab])
    ends = torch.from_numpy(~word_ids)
    prefix = word_prefix(prompt)
    stepper = _Stepper(model, prompt, temperature)
    found: dict[str, float] = {}  # log-probabilities of finished guesses
    beams = [("", 0.0)]  # (characters added, log-probability)
    for step in range(max_chars):
        lp = stepper.logp.numpy()  # (B, V)
        end_lp = torch.logsumexp(stepper.logp[:, ends], dim=-1).numpy()  # (B,) P(the word ends here)
        for b, (text, blp) in enumerate(beams):
            if text or prefix:
                found[text] = np.logaddexp(found.get(text, -np.inf), blp + end_lp[b])
            else:  # nothing typed yet: each word-ending character is a guess of its own
                for j in np.flatnonzero(~word_ids):
                    found["\x00" + vocab[j]] = blp + lp[b, j]
        kth = sorted(found.values(), reverse=True)[k - 1] if len(found) >= k else -np.inf
        ext = [(blp + lp[b, j], b, j) for b, (_, blp) in enumerate(beams) for j in np.flatnonzero(word_ids)]
        # an extension can only lose probability: one already below the k-th guess can never enter the list
        ext = sorted((e for e in ext if e[0] > kth), reverse=True)[:beam]
        if not ext or step == max_chars - 1:
            break
        beams = [(beams[b][0] + vocab[j], float(s)) for s, b, j in ext]
        stepper.advance([b for _, b, _ in ext], [int(j) for _, _, j in ext])
    best = sorted(found.items(), key=lambda kv: -kv[1])[:k]
    guesses = [WordGuess(w.lstrip("\x00"), float(np.exp(v)), not w.startswith("\x00")) for w, v in best]
    return NextWords(prefix, guesses, float(sum(g.prob for g in guesses)))


@torch.inference_mode()
def sample_word(model, prompt: str, temperature: float, seed: int, max_chars: int = 24) -> str:
    """One next word drawn character by character at `temperature` (0 = likeliest), until a
    character ends it; a word-ending first character is returned on its own."""
    gen = torch.Generator().manual_seed(seed)
    stepper = _Stepper(model, prompt, max(temperature, 1e-6))
    out = ""
    for _ in range(max_chars):
        p = stepper.logp[0].exp()
        j = int(p.argmax()) if temperature <= 0 else int(torch.multinomial(p, 1, generator=gen))
        ch = model.vocab[j]
        if not is_word_char(ch) or ch == UNKNOWN:
            return out or ch
        out += ch
        stepper.advance([0], [j])
    return out
