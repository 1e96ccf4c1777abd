"""RNN & LSTM explorer: trained recurrent networks on the user's text and time series.

Text: states and gates per character, units on the text, "Find units", next characters, LSTM vs
RNN. Time series: sunspots or an uploaded CSV (trained in the app), forecasts against baselines.
Why LSTMs: gradients through time. In presentation mode each view's key figure comes first, sized
for a 1280x720 projector, under one row of its controls. Runs go through ui.get_trace (a view change only redraws);
every view widget is in the scene (ui.scene: URL + session; tests/app/test_recurrent_page.py).
"""
import math

import streamlit as st

from nnviz import analysis, example_input, plots, ui
from nnviz.inputs import TEXT_CAP, InputError, clean_text
from nnviz.ui import nextword as nwui
from nnviz.ui import recurrent as rui
from nnviz.ui import sentiment as sentiment_ui
from nnviz.ui import series as sui
from nnviz.ui.export import chart, html, pack_button

present = ui.page_setup()
pack_button("RNN & LSTM explorer")

TEXT_MODELS = rui.text_models()  # {"LSTM": "char_lstm", "RNN": "char_rnn"}
PRESETS = {
    "Python code (nested brackets and quotes)": example_input(TEXT_MODELS["LSTM"]),  # samples/code.txt
    "English sentence": (
        'The lecture began at nine. "An LSTM keeps a memory cell," said the professor, "and three '
        'gates decide what to forget, what to write and what to show." The students wrote it down, '
        "and then they typed their own sentences to watch the cells change, one character at a time."
    ),
}
COLOURS = rui.COLOURS
HERO_PX = rui.HERO_PX
BEST_ROWS = "16 best for the Find-units pattern"
FROM_TEXT_VIEW = "Text from the Text view"
Q = plots.QUANTITIES


def text_box(where) -> str:
    """The Text view's text, also the Why view's: part of the scene, kept when another view shows."""
    default = PRESETS[st.session_state.get("rnn_preset", next(iter(PRESETS)))]
    return ui.scene_text(where.text_area, f"Text (up to {TEXT_CAP:,} characters)", key="rnn_text", default=default,
                         height=220)


def cleaned(raw: str, where, hint: str = "") -> str | None:
    try:
        text, notes = clean_text(raw, TEXT_CAP)
    except InputError as e:
        st.error(f"{e}{hint}")
        return None
    rui.notes_caption(notes, where)
    return text


# --- text view ---------------------------------------------------------------------------------

def text_view(present: bool) -> None:
    if present:  # the heatmap's controls in one row, the heatmap, the text and the rest folded or below
        row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
        hero = st.container()
        left = right = st.expander("Text and preset")
        more = st.expander("Heatmap rows")
    else:
        left, right = st.columns([1, 3], gap="large")
        row = more = None
    with left:
        ui.scene(st.selectbox, "Preset", list(PRESETS), key="rnn_preset",
                 on_change=lambda: st.session_state.update(rnn_text=PRESETS[st.session_state.rnn_preset]))
    net = ui.scene((row or left).radio, "Network", [*TEXT_MODELS, "Compare both"], key="rnn_net", horizontal=present,
                   help="Both were trained the same way on Python standard-library source.")
    text = cleaned(text_box(right), right)
    if text is None:
        return
    labels = list(TEXT_MODELS) if net == "Compare both" else [net]
    models, traces = {}, {}
    for lab in labels:
        models[lab] = ui.load_or_report(TEXT_MODELS[lab], "default", "default")
        if models[lab] is None:
            return
        with st.spinner(f"Running {TEXT_MODELS[lab]}..."):
            traces[lab] = ui.get_trace(TEXT_MODELS[lab], "default", ui.input_key("text", text), models[lab], text)
    s = rui.TextScene(labels, traces, present, models=models)
    seen = st.session_state.get("rnn_seen_text")
    st.session_state.rnn_seen_text = text
    if seen is not None and seen != text:  # a new text: predict after its last character (a link keeps its own)
        st.session_state.update(rnn_pos=s.main.length - 1, rnn_start=0)
    with right:
        scores = st.container(horizontal=True, gap="large")  # as wide as their labels: a narrow column cuts them
        for lab in labels:
            tr = traces[lab]
            bpc = analysis.bits_per_char(tr.output, tr.tokens, tr.labels)
            scores.metric(f"{lab}: surprise on this text", f"{bpc:.2f} bits/char" if math.isfinite(bpc) else "n/a",
                          width="content", help="Average -log2 P(actual next character). Lower = the model "
                                                "predicted your text better. Chance level: 6.6 bits.")
        ui.weights_badge(models[labels[0]])
    if not present:
        st.subheader("Inside the network, character by character")
    heatmap_controls(s, row, more)
    rui.second_text(s, TEXT_MODELS[labels[0]], models[labels[0]], more or st)
    heat = hero if present else st.container()  # drawn last: it outlines the unit and position chosen below
    rui.one_unit(s)
    find_units(s)
    next_char(s)
    with heat:
        heatmaps(s)
    rui.continuation(s, text, models, TEXT_MODELS)


def heatmap_controls(s: rui.TextScene, row=None, more=None) -> None:
    """Quantity, rows and window; in presentation mode all in `row` but the rows (in `more`)."""
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3]) if row is None else (row, more, row, row)
    s.kind = rui.quantity_picker(c1.selectbox, rui.quantities(s.main), "rnn_kind")
    T, H = s.states.shape
    s.best_rows = ui.scene(c2.radio, "Units", [f"all {H}", BEST_ROWS], key="rnn_rows") == BEST_ROWS
    width = ui.scene(c3.slider, "Characters shown", 20, 160, 80, 10, key="rnn_width") if T > 20 else T
    start = 0
    if T > width:
        ui.clamp_state("rnn_start", 0, T - width, 0)
        start = ui.scene(c4.slider, "From character", 0, T - width, key="rnn_start")
    s.start, s.stop = plots.window_bounds(T, start, width)


def heatmaps(s: rui.TextScene) -> None:
    T = s.main.length
    ranking = analysis.find_units(s.states, analysis.patterns_for(s.main.tokens)[1][s.pattern](s.main.tokens), 16) \
        if s.best_rows else []
    units = [u.unit for u in ranking] or None
    order = "" if units is None else f", the 16 units that best track '{s.pattern}'"
    chart(
        plots.state_heatmap(s.states, s.main.tokens, s.start, s.stop, units, s.kind,
                  f"{s.labels[0]}: {Q[s.kind][0]}, characters {s.start}-{s.stop - 1} of {T}{order}",
                  s.vrange or plots.quantity_range(s.kind, s.states), unit=s.unit, pos=s.pos, width_px=s.width_px,
                  height=HERO_PX if s.present else None),
        width="stretch", key="rnn_heat",
    )
    if s.second is not None:
        rui.second_heatmap(s, units)
    for lab in s.labels[1:]:
        tr = s.traces[lab]
        chart(
            plots.state_heatmap(tr.states("h"), tr.tokens, s.start, s.stop, None, "h",
                      f"{lab}: hidden state h (the plain {lab} has no cell state or gates), "
                      f"characters {s.start}-{s.stop - 1}", width_px=s.width_px),
            width="stretch", key=f"rnn_heat_{lab}",
        )
    st.caption("Rows are units, columns the characters the model read (␣ space, ↵ newline). "
               "Outlined: the unit picked below and the position of the next-character prediction.")


def find_units(s: rui.TextScene) -> None:
    st.subheader("Find units that track a pattern")
    f1, f2 = st.columns([1, 2], gap="large")
    kind, patterns = analysis.patterns_for(s.main.tokens)
    names = list(patterns)
    s.pattern = ui.scene(f1.radio, "Pattern", names, index=names.index("bracket depth"), key="rnn_pattern",
                         help=f"Units are ranked by the correlation of their {Q[s.kind][0]} with the pattern over your text.")
    f1.caption(f"This text is {analysis.PATTERN_RULES[kind]}.")
    pattern = patterns[s.pattern](s.main.tokens)
    ranking = analysis.find_units(s.states, pattern, 10)
    if not ranking:
        f1.info(f"The pattern '{s.pattern}' never changes in this text, so no unit can track it. "
                "Try the Python code preset.")
        return
    best = ranking[0]
    chart(plots.unit_ranking([(u.unit, u.r) for u in ranking], f"Best {len(ranking)} units ({s.kind})", s.unit),
          width="stretch", key="rnn_rank", where=f1)
    f1.button(f"Colour the text by unit {best.unit}", key="rnn_use_best",
              on_click=lambda u=best.unit: st.session_state.update(rnn_unit=u))
    chart(
        plots.pattern_vs_unit(pattern, s.states[:, best.unit], s.main.tokens, s.start, s.stop, s.pattern,
                    f"unit {best.unit}: {Q[s.kind][0]} (r = {best.r:+.2f} over the whole text)",
                    f"Does unit {best.unit} follow '{s.pattern}'?", s.width_px * 2 // 3 - 40),
        width="stretch", key="rnn_pattern_fig",
    where=f2)


def next_char(s: rui.TextScene) -> None:
    st.subheader("Next character")
    tr, T = s.main, s.main.length
    n1, n2 = st.columns([3, 2], gap="large")
    if T > 1:
        ui.clamp_state("rnn_pos", 0, T - 1, T - 1)  # by default: after the last character
        pos_row = n1.container(horizontal=True, vertical_alignment="bottom", gap="small")
        ui.step_buttons("rnn_pos", list(range(T)), pos_row, what="character")
        s.pos = ui.scene(pos_row.slider, "After character", 0, T - 1, key="rnn_pos")
    lo, hi = analysis.text.context_window(T, s.pos)
    html(plots.text_html(tr.tokens[lo:hi], None, mark=s.pos - lo, font_px=20, max_height_px=None), where=n1)
    if s.pos + 1 < T:
        nxt = tr.tokens[s.pos + 1]
        given = (f"{lab} gave it {s.traces[lab].probs(s.pos)[s.traces[lab].labels.index(nxt)]:.1%}" for lab in s.labels)
        n1.caption(f"Actual next character: '{plots.show_char(nxt)}'; " + ", ".join(given))
    for lab in s.labels:
        chart(plots.next_char_bar(s.traces[lab].top_next(s.pos, 5),
                                  f"{lab}: after '{plots.show_char(tr.tokens[s.pos])}' (character {s.pos})",
                                  COLOURS[lab]),
              width="stretch", key=f"rnn_next_{lab}", where=n2)
    for lab in s.labels:  # the same model, whole words: characters multiplied until the word ends
        nwui.next_word_chart(TEXT_MODELS[lab], "default", s.models[lab], "".join(tr.tokens[: s.pos + 1]),
                             COLOURS[lab], f"rnn_words_{lab}", n2, lab)


# --- why LSTMs -------------------------------------------------------------------------------------

def why_view(present: bool) -> None:
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium") if present else st
    hero = st.container() if present else st
    (st.expander("What this chart shows") if present else st).markdown(
        "Training a recurrent network means sending the error **backwards through time**. How much can the "
        "character read *k* steps ago still change the last prediction? Autograd on the real models answers: "
        "the norm of the gradient of the last prediction's log-probability with respect to each earlier "
        "character's input vector. In a plain RNN it shrinks by a factor at every step (**vanishing gradients**); "
        "the LSTM's cell state is a path along which it survives much longer."
    )
    src = ui.scene(row.radio, "Input", [FROM_TEXT_VIEW, *PRESETS], horizontal=True, key="why_src")
    relative = ui.scene(row.toggle, "Divide by the last character's gradient", True, key="why_rel",
                        help="Makes the two models comparable: both start at 1 at the last character.")
    raw = text_box(st.expander("Edit the text (shared with the Text view)")) if src == FROM_TEXT_VIEW else PRESETS[src]
    text = cleaned(raw, st, " (Edit the text or pick a preset.)")
    if text is None:
        return
    norms, tokens = {}, []
    for lab, name in TEXT_MODELS.items():
        model = ui.load_or_report(name, "default", "default")
        if model is None:
            return
        with st.spinner(f"Backpropagating through {name}..."):
            norms[lab], tokens = rui.gradients(name, text, model)
    chart(plots.gradient_decay(norms, tokens, relative, "Gradient of the last prediction w.r.t. each "
                               f"earlier character ({len(text)} characters)", HERO_PX if present else 540),
          width="stretch", key="why_fig", where=hero)
    rui.gradient_summary(norms)
    tail = min(len(text), 400)
    st.markdown(f"**The same gradients on the text** (its last {tail} characters; log scale, relative to the last "
                "character; dark = no influence left):")
    for col, (lab, g) in zip(st.columns(2), norms.items()):
        col.markdown(f"**{lab}**")
        html(plots.text_html(tokens[-tail:], analysis.text.log_relative(g)[-tail:], -20.0, 0.0, "Viridis",
                             font_px=16, label="log10 gradient (÷ last)", max_height_px=360), where=col)


# --- page --------------------------------------------------------------------------------------

VIEWS = {"Text": text_view, "Sentiment": sentiment_ui.view, "Time series": sui.view, "Why LSTMs": why_view}
st.title("RNN & LSTM explorer")
view = ui.scene(st.radio, "View", list(VIEWS), horizontal=True, key="rnn_view", label_visibility="collapsed")
VIEWS[view](present)
