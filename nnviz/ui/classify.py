"""The "Classify text" view of the attention explorer: MiniLM + a sentiment head reads a sentence.

Key figure: P(positive) after each word prefix (the sentence as it is read). Then which words moved
the prediction, and what the classifier reads: the last layer's attention each token receives.
One cached run (ui.get_trace) holds all of it; changing the measure runs nothing.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..models import get_spec, list_models
from ..models.classifier import LEAVE_OUT_WORDS
from ..plots import classify as P
from ..traces import softmax
from ..types import InputError
from . import get_trace, input_key, load_or_report, scene, scene_text, weights_badge
from .attention import show_notes
from .export import chart

PRESETS = {
    "not good, but wonderful": "The acting was not good, but the story was wonderful.",
    "wonderful, but not good": "The story was wonderful, but the acting was not good.",
    "negation": "This movie is not bad at all.",
    "sarcasm": "Oh great, another two hours of my life I will never get back.",
    "plain praise": "A warm, funny and beautifully acted film.",
    "plain complaint": "The plot is dull and the jokes fall flat.",
}
MEASURES = ("as the word is read", "when the word is left out")
WEIGHTS = "default"
SCREEN = 470  # px of the key chart in presentation mode: under the controls on a 1280x720 projector


def classifier_name() -> str:
    """The registry's first text classifier on an encoder: an encoder-trace model with class labels."""
    return next(n for n in list_models(trace="encoder", input_kind="text") if get_spec(n).labels)


def _fill(key: str, preset_key: str) -> None:
    st.session_state[key] = PRESETS[st.session_state[preset_key]]


def sentence(lay) -> str:
    """A preset choice that fills the sentence box, and the box (in the URL). In presentation mode
    both sit in the row of controls, above the chart."""
    kw = dict(key="cls_preset", on_change=_fill, args=("cls_text", "cls_preset"))
    if lay.present:
        row = lay.controls
        preset = scene(row.selectbox, "Example", list(PRESETS), width=250, **kw)
        return scene_text(row.text_input, "Sentence to classify", key="cls_text", default=PRESETS[preset], max_chars=2000)
    left, right = st.columns([1, 2], gap="large")
    with left:
        preset = scene(st.selectbox, "Example", list(PRESETS), **kw)
    with right:
        return scene_text(st.text_input, "Sentence to classify", key="cls_text", default=PRESETS[preset], max_chars=2000)


def pct(p: float) -> str:
    return f"{100 * p:.0f}%"


def view(lay, present: bool) -> None:
    name = classifier_name()
    model = load_or_report(name, WEIGHTS, WEIGHTS)
    if model is None:
        return
    text = sentence(lay)
    if not text.strip():
        st.error("Type a sentence to classify.")
        return
    try:
        with st.spinner("Running MiniLM on the sentence and on each word prefix..."):
            trace = get_trace(name, WEIGHTS, input_key("text", text), model, text)
    except InputError as e:
        st.error(str(e))
        return
    labels = trace.labels
    probs = trace.probs  # (2,)
    k = int(np.argmax(probs))
    p_pos = trace.running_probs[:, 1]  # (P,)
    p_start = float(softmax(trace.running_start)[1])  # nothing read yet: [CLS] [SEP] alone
    colour = P.POSITIVE if k == 1 else P.NEGATIVE

    with lay.hero():
        st.markdown(f"<div style='font-size:26px;line-height:1.3'>Prediction: <b style='color:{colour}'>{labels[k]}</b>"
                    f", P({labels[k]}) = <b>{pct(probs[k])}</b></div>", unsafe_allow_html=True)
        chart(P.running_prediction(trace.words, p_pos, trace.running_at, p_start,
                                   None if present else "The prediction as the sentence is read",
                                   labels=labels, height=SCREEN if present else 460),
              width="stretch", key="cls_running")
        st.caption(f"Each point: MiniLM and the classifier run on the sentence cut after that word (a new run, "
                   f"not the full sentence's attention). Above the dashed 50% line the classifier says "
                   f"{labels[1]}; the last point is the whole sentence.")
    with lay.fold("Logits, weights and notes"):
        weights_badge(model)
        z = np.round(trace.logits.astype(np.float64), 2)  # as printed: the difference is of these numbers
        st.markdown(f"Logits (not probabilities): {labels[0]} **{z[0]:+.2f}**, {labels[1]} **{z[1]:+.2f}**. "
                    f"Softmax turns them into P({labels[1]}) = {pct(probs[1])}: only their difference, "
                    f"{z[1] - z[0]:+.2f}, matters.")
        show_notes(trace.notes)
    words_moved(trace, p_pos, p_start, labels, lay)
    attention_read(trace, lay)


def words_moved(trace, p_pos: np.ndarray, p_start: float, labels, lay) -> None:
    """Per word: the change in P(positive) as it is read, or when it is left out (a choice)."""
    W = len(trace.words)
    with lay.fold("Which words moved it"):
        st.subheader("Which words moved it")
        measure = scene(st.radio, "Measure the change", MEASURES, horizontal=True, key="cls_measure",
                        help="As read: P after the word minus P before it (prefixes). Left out: P of the whole "
                             "sentence minus P of the sentence without that word.")
        if measure == MEASURES[0]:
            if len(trace.running_at) < W:
                st.info(f"The change word by word needs the prediction after every word; for this long text "
                        f"MiniLM read {len(trace.running_at)} of the {W} prefixes (see the chart above). "
                        "Try a shorter text.")
                return
            change = np.diff(np.r_[p_start, p_pos])  # (W,): P after word w minus P before it
            title = f"Change in P({labels[1]}) when each word is read"
            note = (f"Bar = P({labels[1]}) after the word minus before it, in percentage points. From the start "
                    f"({pct(p_start)}, nothing read) the bars add up to the final {pct(p_pos[-1])} (the printed numbers are "
                    "rounded so that they do too). A word's bar "
                    "depends on the words before it: the same word can push up in one sentence and down in another.")
        else:
            if trace.leave_out is None:
                st.info(f"Leaving one word out is measured for texts of 2 to {LEAVE_OUT_WORDS} words; "
                        f"this one has {W}.")
                return
            without = softmax(trace.leave_out)[:, 1]  # (W,)
            change = trace.probs[1] - without  # (W,): what the word adds to the whole sentence's P
            title = f"How much each word adds to P({labels[1]}) (whole sentence minus sentence without it)"
            note = (f"Bar = P({labels[1]}) of the whole sentence ({pct(trace.probs[1])}) minus P of the sentence "
                    "with that one word removed, in percentage points. These do not add up to anything: words "
                    "act together, so removing two words is not the sum of removing each.")
        total = round(100 * p_pos[-1]) - round(100 * p_start) if measure == MEASURES[0] else None
        chart(P.word_changes(trace.words, change, title, y_title=f"change in P({labels[1]}), points", total=total),
              width="stretch", key="cls_words")
        st.caption(note)


def attention_read(trace, lay) -> None:
    """The classifier reads the mean of the last layer's token vectors; how much attention each
    token receives there, averaged over heads and query rows."""
    with lay.fold("What the classifier reads"):
        st.subheader("What the classifier reads")
        received = trace.attentions[-1].mean(axis=(0, 1))  # (T,): mean over heads, then over query rows
        L, H = trace.n_layers, trace.n_heads
        chart(P.attention_received(received, trace.tokens,
                                   f"Layer {L}: attention each token receives (mean of {H} heads and all queries)"),
              width="stretch", key="cls_attention")
        st.caption(f"The classifier reads one vector: the mean of all {len(trace.tokens)} token vectors after layer "
                   f"{L} (including [CLS] and [SEP], grey), scaled to length 1, times its weights. A token that "
                   "receives much attention is copied into many of those vectors. Attention is not an explanation: "
                   "each vector also carries its own token (the skip connection) and the feed-forward layers, and "
                   "a weight says where information was taken from, not whether it pushed the answer. The bars "
                   "above, from rerunning the model, are the better evidence.")
