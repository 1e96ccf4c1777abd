"""Small analyses of recorded states: text patterns a unit might track, "Find units", and
gradients through time summarised for the Why-LSTMs view.

Pure numpy (no torch, no streamlit). A pattern is one number per character of a text, computed
from the characters alone; `find_units` ranks a layer's units by how well their activation over
the text follows it (Pearson correlation), so students can discover interpretable cells the way
Karpathy, Johnson and Fei-Fei did in "Visualizing and Understanding Recurrent Networks" (2015).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPEN, CLOSE = "([{", ")]}"


def inside_quotes(chars: list[str] | str) -> np.ndarray:
    """(T,) 1.0 for characters inside a string literal ('...', "...", '''...''' or \"\"\"...\"\"\"),
    the quote characters themselves included; backslash escapes are honoured and a newline ends
    a single-quoted string, as in Python."""
    s = "".join(chars)
    out = np.zeros(len(s), np.float32)
    quote = None  # the open delimiter: ', ", ''' or \"\"\"
    i = 0
    while i < len(s):
        ch = s[i]
        if quote is None:
            if ch in "'\"":
                quote = ch * 3 if s.startswith(ch * 3, i) else ch
                out[i : i + len(quote)] = 1
                i += len(quote)
                continue
        else:
            out[i] = 1
            if ch == "\\":
                if i + 1 < len(s):
                    out[i + 1] = 1
                i += 2
                continue
            if s.startswith(quote, i):
                out[i : i + len(quote)] = 1
                i += len(quote)
                quote = None
                continue
            if ch == "\n" and len(quote) == 1:
                out[i] = 0
                quote = None
        i += 1
    return out


def bracket_depth(chars: list[str] | str) -> np.ndarray:
    """(T,) how many (, [ or { are open after each character (outside string literals; never
    below 0). An opening bracket counts from itself on; a closing one already lowers its own step."""
    s = "".join(chars)
    quoted = inside_quotes(s)
    out = np.zeros(len(s), np.float32)
    depth = 0
    for i, ch in enumerate(s):
        if not quoted[i]:
            if ch in OPEN:
                depth += 1
            elif ch in CLOSE:
                depth = max(0, depth - 1)
        out[i] = depth
    return out


def word_start(chars: list[str] | str) -> np.ndarray:
    """(T,) 1.0 on the first character of every word (a letter, digit or _ after anything else)."""
    s = "".join(chars)
    out = np.zeros(len(s), np.float32)
    prev = False
    for i, ch in enumerate(s):
        w = ch.isalnum() or ch == "_"
        out[i] = float(w and not prev)
        prev = w
    return out


def line_position(chars: list[str] | str) -> np.ndarray:
    """(T,) the column of each character in its line: 0 at a line's first character; a newline
    gets the column after the line's last character."""
    out = np.zeros(len(chars), np.float32)
    col = 0
    for i, ch in enumerate(chars):
        out[i] = col
        col = 0 if ch == "\n" else col + 1
    return out


def inside_double_quotes(chars: list[str] | str) -> np.ndarray:
    """(T,) prose rules: 1.0 inside a quotation opened by " or “ (the marks included), until the
    next " or ”; apostrophes (don't, the students') never open one, and a quotation may go on
    across lines, as dialogue in a story does."""
    s = "".join(chars)
    out = np.zeros(len(s), np.float32)
    inside = False
    for i, ch in enumerate(s):
        if not inside and ch in "\"“":
            inside = True
            out[i] = 1
        elif inside:
            out[i] = 1
            inside = ch not in "\"”"
    return out


def bracket_depth_anywhere(chars: list[str] | str) -> np.ndarray:
    """(T,) prose rules: how many (, [ or { are open after each character, counting every bracket
    (prose has no string literals to skip); never below 0."""
    out = np.zeros(len(chars), np.float32)
    depth = 0
    for i, ch in enumerate(chars):
        depth = depth + 1 if ch in OPEN else max(0, depth - 1) if ch in CLOSE else depth
        out[i] = depth
    return out


# The pattern names stay the same for every text (they are what a link carries); their rules
# follow the text's kind, and a view says which rules it used (PATTERN_RULES).
PATTERNS_BY_KIND = {
    "code": {"inside quotes": inside_quotes, "bracket depth": bracket_depth,
             "start of word": word_start, "line position": line_position},
    "prose": {"inside quotes": inside_double_quotes, "bracket depth": bracket_depth_anywhere,
              "start of word": word_start, "line position": line_position},
}
PATTERNS = PATTERNS_BY_KIND["code"]
PATTERN_RULES = {
    "code": "read as Python code: ' and \" (and triple quotes) open strings, a newline ends a '...' string, "
            "brackets inside strings do not count",
    "prose": "read as prose: only \" or “ ” open a quotation (apostrophes do not), every bracket counts",
}
CODE_MARKS = set("()[]{}=_:#")


def text_kind(chars: list[str] | str) -> str:
    """"code" or "prose": code when at least 4% of the characters are code punctuation
    (brackets, =, _, :, #) or a line starts with a Python keyword or four spaces of indentation."""
    s = "".join(chars)
    if not s:
        return "prose"
    marks = sum(ch in CODE_MARKS for ch in s) / len(s)
    lines = s.split("\n")
    keyword = any(ln.startswith(("def ", "class ", "import ", "from ", "    ", "\t")) for ln in lines)
    return "code" if marks >= 0.04 or keyword else "prose"


def patterns_for(chars: list[str] | str) -> tuple[str, dict]:
    """(the text's kind, pattern name -> function) with the rules that fit the text."""
    kind = text_kind(chars)
    return kind, PATTERNS_BY_KIND[kind]


@dataclass
class UnitScore:
    unit: int
    r: float  # Pearson correlation of the unit's activation with the pattern over the text


def correlations(states: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """(H,) Pearson correlation of each column of states (T, H) with pattern (T,). Units that
    never change get 0. NaN if the pattern itself is constant (nothing to track)."""
    a = np.asarray(states, np.float64)
    p = np.asarray(pattern, np.float64)
    if a.shape[0] != p.shape[0]:
        raise ValueError(f"states have {a.shape[0]} steps but the pattern has {p.shape[0]}")
    p = p - p.mean()
    pn = np.sqrt((p**2).sum())
    if pn == 0:
        return np.full(a.shape[1], np.nan)
    a = a - a.mean(0)
    an = np.sqrt((a**2).sum(0))
    r = (a * p[:, None]).sum(0) / np.where(an > 0, an * pn, 1.0)
    return np.where(an > 0, r, 0.0)


def find_units(states: np.ndarray, pattern: np.ndarray, k: int = 10) -> list[UnitScore]:
    """The k units whose activation best tracks `pattern`, by |r|, strongest first (a unit that
    goes down inside quotes tracks them as well as one that goes up). [] if the pattern is
    constant over the text (e.g. no quotes at all)."""
    r = correlations(states, pattern)
    if np.isnan(r).all():
        return []
    order = np.argsort(-np.abs(r), kind="stable")[:k]
    return [UnitScore(int(u), float(r[u])) for u in order]


def thin(a: np.ndarray, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Average blocks of consecutive steps so a (T, ...) array has at most `max_steps` rows.
    Returns (thinned, centre step of each row). Nothing changes when T <= max_steps."""
    t = a.shape[0]
    if t <= max_steps:
        return a, np.arange(t, dtype=np.float64)
    block = -(-t // max_steps)
    n = -(-t // block)
    pad = n * block - t
    padded = np.concatenate([a, np.full((pad,) + a.shape[1:], np.nan, a.dtype)]) if pad else a
    means = np.nanmean(padded.reshape((n, block) + a.shape[1:]), axis=1)
    centres = np.minimum(np.arange(n) * block + (block - 1) / 2, t - 1)
    if pad:
        centres[-1] = (n - 1) * block + (t - (n - 1) * block - 1) / 2
    return means, centres


def bits_per_char(logits: np.ndarray, tokens: list[str], labels: tuple[str, ...] | list[str]) -> float:
    """Mean -log2 P(actual next character) over a text, from a trace's logits (T, V): how
    surprised the model was by this text (no extra model run). NaN for texts of one character."""
    if len(tokens) < 2:
        return float("nan")
    index = {ch: i for i, ch in enumerate(labels)}
    nxt = np.array([index.get(ch, 0) for ch in tokens[1:]])
    z = np.asarray(logits[:-1], np.float64)
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-logp[np.arange(len(nxt)), nxt].mean() / np.log(2))


def context_window(length: int, pos: int, before: int = 120, after: int = 40) -> tuple[int, int]:
    """[lo, hi): the characters shown around position `pos` of a text of `length` characters,
    `before` characters before it and `after` - 1 after it."""
    return max(0, pos - before), min(length, pos + after)


def steps_back(norms: np.ndarray, ks=(10, 50, 100, 200)) -> dict[int, float]:
    """Gradient norms (T,) relative to the last step, k steps back: norms[T-1-k] / norms[-1] for
    each k < T (NaN when the last norm is 0)."""
    g = np.asarray(norms, np.float64)
    T = len(g)
    return {k: float(g[T - 1 - k] / g[-1]) if g[-1] > 0 else float("nan") for k in ks if k < T}


def log_relative(norms: np.ndarray, floor: float = 1e-20) -> np.ndarray:
    """(T,) log10(norms / norms[-1]), never below log10(floor): exact zeros (gradients below
    float32's range) land on the floor."""
    g = np.asarray(norms, np.float64)
    rel = np.where(g > 0, g / max(float(g[-1]), 1e-300), 0.0)
    return np.log10(np.maximum(rel, floor))
