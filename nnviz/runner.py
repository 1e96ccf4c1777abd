"""One entry point for every registered model: raw input -> run -> Trace.

Pages and notebooks call the same function, so what a lecture shows is what a notebook gets:

    trace = nnviz.run("resnet18", open("cat.jpg", "rb").read())   # FeatureTrace
    trace = nnviz.run("char_lstm", "def f(x):\\n    return x")     # RecurrentTrace
    trace = nnviz.run("minilm", "I sat on the river bank.")         # EncoderTrace

`run` takes what a user has (image bytes, a Pillow image or an array; text; a numeric series or
CSV bytes) and applies the model's own preprocessing. `example_input(name)` returns a shipped
example for each registered model.
"""
from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import inputs
from .capture import capture
from .models import get_spec, load_model
from .traces import Trace

SAMPLES = Path(__file__).resolve().parents[1] / "samples"

_runs = 0  # model runs made by `run` in this process: a view change must not add to it
_runs_lock = threading.Lock()


def runs() -> int:
    """How many times `run` has run a model in this process (the "0 runs on a view change" figure)."""
    return _runs


def run(model, raw, *, weights="default", **options) -> Trace:
    """Run `model` (a registered name or a model from `load_model`) on `raw`; return its Trace.

    options go to the model's own run: e.g. nothing for images; for a forecaster `column=` picks
    a CSV column. Bad input raises InputError with one sentence for the user.
    """
    global _runs
    if isinstance(model, str):
        model = load_model(model, weights)
    spec = model.spec
    if spec is None:
        raise ValueError("run needs a registered model: use nnviz.load_model(name), or pass the name")
    notes: list[str] = []
    if spec.input_kind == "image":
        trace = _run_image(model, raw)
    elif spec.input_kind == "series":
        trace = model.run(as_series(raw, options.pop("column", None)), **options)
    elif spec.family == "recurrent" and spec.extra.get("task", "next_char") == "next_char":
        # a step loop keeps every state: the page's cap and cleaning, always; the labels of a
        # next-character model are its characters, so they say which ones it can read
        text, notes = inputs.clean_text(raw, inputs.TEXT_CAP, "".join(spec.labels or ()) or None)
        trace = model.run(text, **options)
    elif spec.family == "recurrent":  # a word model (sentiment): its own cap, words not characters
        text, notes = clean_sentence(raw, model)
        trace = model.run(text, **options)
    else:
        trace = model.run(raw, **options)
    trace.notes = notes + list(trace.notes)
    with _runs_lock:
        _runs += 1
    trace.model, trace.weights = spec.name, model.weights_info
    return trace


WORD_CAP = 200  # tokens a word model reads: a running prediction over more is no longer readable


def clean_sentence(raw, model, cap: int = WORD_CAP) -> tuple[str, list[str]]:
    """Text for a word-level model -> (text it reads, notes). Control and format characters (a
    pasted NUL, a zero-width space) become spaces, so they neither join nor split words unseen;
    only the first `cap` tokens (words and punctuation, `model.first_words`) are read, with a note.
    Empty text raises InputError; text without words is the model's to refuse (it knows what a word is)."""
    if raw is None or not str(raw).strip():
        raise inputs.InputError("The text is empty: type a sentence such as \"The story was wonderful\".")
    text = str(raw)
    notes: list[str] = []
    limit = inputs.TEXT_CAP * 4  # characters looked at: far beyond the word cap, so no regex runs over megabytes
    cut = len(text) > limit
    head = text[:limit]
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\n\t" else ch for ch in head)
    if cleaned != head:
        notes.append("control or invisible characters were replaced by spaces")
    text, n = model.first_words(cleaned, cap)
    if n > cap:
        more = "more than " if cut else ""  # only the first `limit` characters were counted
        notes.append(f"the text has {more}{n:,} words and punctuation marks; only the first {cap:,} are read")
    elif cut:
        notes.append(f"only the first {limit:,} characters are read")
    return text, notes


def _run_image(model, raw) -> Trace:
    img = inputs.as_image(raw)
    x, shown, notes = inputs.prepare_image(img, model.spec.preprocess)  # x: (C, H, W) normalised
    trace = capture(model, torch.from_numpy(x)[None])  # (1, C, H, W)
    trace.labels = model.spec.labels
    trace.image = shown
    trace.notes = img.notes + notes
    return trace


def as_series(raw, column: str | None = None) -> np.ndarray:
    """A numeric series from a sequence of numbers, or from CSV bytes/text (the column the page's
    upload offers first, `SeriesTable.default_column`, unless `column` names one)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if isinstance(raw, (bytes, bytearray)):
        table = inputs.read_series_csv(bytes(raw))
        column = column or table.default_column()  # the column the page would offer first
        if column is None:
            raise inputs.InputError("The CSV has no numeric column to forecast.")
        return inputs.series_from_column(table, column).values
    return np.asarray(raw, dtype=np.float32).reshape(-1)


def example_input(name: str):
    """A shipped example input for `name`: image bytes, a text, or a series of numbers."""
    spec = get_spec(name)
    example = spec.extra.get("example")
    if example is None:
        raise KeyError(f"{name} has no example input")
    path = SAMPLES / example
    if spec.input_kind == "image":
        return path.read_bytes()
    if spec.input_kind == "series":
        return as_series(path.read_bytes())
    return path.read_text(encoding="utf-8") if path.suffix == ".txt" and path.is_file() else example


class TraceCache:
    """Least-recently-used traces, bounded in entries *and* bytes (Trace.nbytes): one 512-token
    attention trace holds ~90 MB, so an entry count alone lets a class of students typing long
    texts fill the server's memory. Shared by every session (the app's one cached run); the
    newest trace is always kept, however large. Thread-safe; a model run happens outside the
    lock, so two sessions may compute the same new key once each (harmless: equal traces)."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key, compute: Callable[[], Trace]) -> Trace:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._bytes += value.nbytes
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return value

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
