"""Next words beside next characters (the recurrent page's text view, the attention page's GPT):
the character model's likeliest next words by beam search (nnviz.nextword), cached per prompt."""
from __future__ import annotations

import streamlit as st

from .. import nextword, plots
from .export import chart

K = 5


@st.cache_data(show_spinner=False, max_entries=64)
def guesses(name: str, weights_key: str, prompt: str, _model) -> nextword.NextWords:
    return nextword.next_words(_model, prompt, k=K)


@st.cache_data(show_spinner=False, max_entries=64)
def samples(name: str, weights_key: str, prompt: str, temperature: float, seed: int, _model, n: int = 5) -> list[str]:
    return [nextword.sample_word(_model, prompt, temperature, seed + i) for i in range(n)]


def label(nw: nextword.NextWords, g: nextword.WordGuess) -> str:
    return nw.prefix + g.word if g.is_word else g.word


def next_word_chart(name: str, weights_key: str, model, prompt: str, colour: str, key: str, where=st,
                    lab: str = "") -> nextword.NextWords:
    """Top next words as bars (the same bars as next characters), with what the list covers."""
    nw = guesses(name, weights_key, prompt, model)
    top = [(label(nw, g), g.prob) for g in nw.guesses]
    title = (f"{lab + ': ' if lab else ''}completing '{nw.prefix[-14:]}'" if nw.prefix
             else f"{lab + ': ' if lab else ''}next word")
    chart(plots.next_char_bar(top, title, colour, what="the word"), width="stretch", key=key,
          where=where)
    where.caption(f"Beam search over characters: each word's probability is exact (its characters' "
                  f"probabilities multiplied, times a character that ends it); these {len(top)} cover "
                  f"{nw.covered:.0%}. A lone symbol (␣ space, ⏎ newline, a bracket) means the very next "
                  "character ends the word.")
    return nw


def sampled_words(name: str, weights_key: str, model, prompt: str, temperature: float, seed: int, where=st) -> None:
    """Five next words drawn at the page's temperature (seeds seed..seed+4), character by character."""
    words = samples(name, weights_key, prompt, float(temperature), int(seed), model)
    prefix = nextword.word_prefix(prompt)
    if prefix:  # the text ends inside a word: each draw completes it ("" = it ends as typed)
        words = [prefix + (w if w and nextword.is_word_char(w[0]) else "") for w in words]
    where.markdown(f"Next word, drawn {len(words)} times at temperature {temperature:.1f} (seeds {seed}-"
                   f"{seed + len(words) - 1}): " + ", ".join(f"**`{plots.show_char(w)}`**" for w in words))
