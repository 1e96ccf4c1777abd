"""RNN & LSTM explorer: trained recurrent networks on the user's text and time series.

Text: heatmaps of cell state, hidden state and gates per character, one unit colouring the
text, "Find units", next-character predictions and sampled continuations, LSTM vs plain RNN.
Time series: shipped sunspots or an uploaded CSV (trained in the app), forecast vs the naive
baseline, cell states under the series. Why LSTMs: gradients through time, RNN vs LSTM.

Every model run is cached by model + input, so changing a unit, gate, window or position only
redraws (see tests/app/test_recurrent_page.py, which counts CharLM.run calls).
"""
import uuid

import numpy as np
import streamlit as st

from nnviz import analysis, plots, ui
from nnviz.inputs import TEXT_CAP, InputError, clean_text, read_series_csv, series_from_column
from nnviz import forecast as fc
from nnviz.analysis.series import naive_rmse, rmse
from nnviz.models.charvocab import VOCAB

ui.page_setup()

PRESETS = {
    "Python code (nested brackets and quotes)": '''def format_row(name, values, width=8):
    """Return one table row: the name, then each value right-aligned."""
    cells = [str(v).rjust(width) for v in values if v is not None]
    if not cells:
        raise ValueError("no values for row %r" % (name,))
    label = name if len(name) < 20 else name[:17] + "..."
    return "|".join([label.ljust(20), *cells]) + "\\n"


def parse(line, sep=","):
    parts = [p.strip() for p in line.split(sep)]
    return {"name": parts[0], "values": [float(x) for x in parts[1:] if x''',
    "English sentence": (
        'The lecture began at nine. "An LSTM keeps a memory cell," said the professor, "and three '
        'gates decide what to forget, what to write and what to show." The students wrote it down, '
        "and then they typed their own sentences to watch the cells change, one character at a time."
    ),
}
VIEWS = {"Text": "text", "Time series": "series", "Why LSTMs": "why"}
TEXT_MODELS = {"LSTM": "char_lstm", "RNN": "char_rnn"}
COLOURS = {"LSTM": plots.recurrent.LSTM_COLOUR, "RNN": plots.recurrent.RNN_COLOUR}
TRAIN_SECONDS = 20
TRAIN_STEPS = 300


# --- cached model work: a new input runs the model once; views only redraw -----------------------

@st.cache_data(show_spinner=False, max_entries=64)
def sample_text(name: str, prompt: str, length: int, temperature: float, seed: int, _model) -> str:
    return _model.sample(prompt, length, temperature, seed)


@st.cache_data(show_spinner=False, max_entries=16)
def text_gradients(name: str, text: str, _model) -> np.ndarray:
    return _model.gradient_norms(text)


@st.cache_data(show_spinner=False, max_entries=32)
def series_forecast(model_key: str, values_key: str, steps: int, _model, _values: np.ndarray) -> np.ndarray:
    return _model.forecast(_values, steps)


def text_model(label: str):
    name = TEXT_MODELS[label]
    return name, ui.load_or_report(name, "default", "default")


def notes_caption(notes: list[str]) -> None:
    for n in notes:
        st.caption(f"ℹ️ {n}")


def quantity_picker(cell: str, key: str, label: str = "Show") -> str:
    kinds = ["c", "h", "input", "forget", "cell", "output"] if cell == "lstm" else ["h"]
    return st.selectbox(label, kinds, key=key, format_func=lambda k: plots.QUANTITIES[k][0])


def states_of(trace, kind: str) -> np.ndarray:
    layer = trace.layers[0]
    if kind == "c":
        return layer.c
    if kind == "h":
        return layer.h
    return layer.gates[kind]


# --- text view ---------------------------------------------------------------------------------

def _load_preset() -> None:
    st.session_state.rnn_text = st.session_state.rnn_text_saved = PRESETS[st.session_state.rnn_preset]


def saved_text() -> str:
    """The Text view's text; kept outside the widget so it survives switching views."""
    return st.session_state.get("rnn_text_saved", next(iter(PRESETS.values())))


def text_view() -> None:
    if "rnn_text" not in st.session_state:
        st.session_state.rnn_text = saved_text()
    left, right = st.columns([1, 3], gap="large")
    with left:
        st.selectbox("Preset", list(PRESETS), key="rnn_preset", on_change=_load_preset)
        net = st.radio("Network", ["LSTM", "RNN", "Compare both"], key="rnn_net",
                       help="Both were trained the same way on Python standard-library source.")
    with right:
        raw = st.text_area(f"Text (up to {TEXT_CAP:,} characters)", key="rnn_text", height=220)
        st.session_state.rnn_text_saved = raw
    try:
        text, notes = clean_text(raw, TEXT_CAP, VOCAB[1:])
    except InputError as e:
        st.error(str(e))
        return
    with right:
        notes_caption(notes)

    labels = ["LSTM", "RNN"] if net == "Compare both" else [net]
    models, traces = {}, {}
    for lab in labels:
        name, model = text_model(lab)
        if model is None:
            return
        models[lab] = model
        with st.spinner(f"Running {name}..."):
            traces[lab] = ui.get_trace(name, "default", ui.input_key("text", text), model, text)
    main = labels[0]
    tr = traces[main]
    T = tr.length
    if st.session_state.get("rnn_seen_text") != text:  # new text: predict after its last character
        st.session_state.rnn_seen_text = text
        st.session_state.rnn_pos = T - 1
        st.session_state.rnn_start = 0
    with left:
        for lab in labels:
            bpc = analysis.bits_per_char(traces[lab].output, traces[lab].tokens, traces[lab].labels)
            st.metric(f"{lab}: surprise on this text", f"{bpc:.2f} bits/char" if np.isfinite(bpc) else "n/a",
                      help="Average -log2 P(actual next character). Lower = the model predicted your text better. "
                           "Chance level: 6.6 bits.")
        ui.weights_badge(models[main])

    # heatmap of units x characters, one window at a time
    st.subheader("Inside the network, character by character")
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    with c1:
        kind = quantity_picker(tr.cell, "rnn_kind")
    states = states_of(tr, kind)
    H = states.shape[1]
    with c2:
        rows = st.radio("Units", [f"all {H}", "16 best for the Find-units pattern"], key="rnn_rows")
    with c3:
        width = st.slider("Characters shown", 20, 160, 80, 10, key="rnn_width") if T > 20 else T
    with c4:
        if T > width:
            st.session_state.rnn_start = min(int(st.session_state.get("rnn_start", 0)), T - width)
            start = st.slider("From character", 0, T - width, key="rnn_start")
        else:
            start = 0
    start, stop = plots.window_bounds(T, start, width)
    pattern_name = st.session_state.get("rnn_pattern", "bracket depth")
    pattern = analysis.PATTERNS[pattern_name](tr.tokens)
    ranking = analysis.find_units(states, pattern, 16)
    units = [u.unit for u in ranking] if rows.startswith("16") and ranking else None
    unit = int(st.session_state.get("rnn_unit", 0)) % H
    pos = int(st.session_state.get("rnn_pos", T - 1))
    pos = min(pos, T - 1)
    vr = plots.quantity_range(kind, states)
    order = "" if units is None else f", the 16 units that best track '{pattern_name}'"
    st.plotly_chart(
        plots.state_heatmap(states, tr.tokens, start, stop, units, kind,
                            f"{main}: {plots.QUANTITIES[kind][0]}, characters {start}-{stop - 1} of {T}{order}",
                            vr, unit=unit, pos=pos),
        width="stretch", key="rnn_heat",
    )
    if len(labels) == 2:
        rnn_tr = traces["RNN"]
        st.plotly_chart(
            plots.state_heatmap(rnn_tr.layers[0].h, rnn_tr.tokens, start, stop, None, "h",
                                f"RNN: hidden state h (the plain RNN has no cell state or gates), characters {start}-{stop - 1}"),
            width="stretch", key="rnn_heat_rnn",
        )
    st.caption("Rows are units, columns the characters the model read (␣ space, ↵ newline). "
               "Outlined: the unit picked below and the position of the next-character prediction.")

    # one unit colours the text itself
    st.subheader("One unit, on the text itself")
    u1, u2 = st.columns([1, 4])
    with u1:
        unit = st.number_input(f"Unit (0-{H - 1})", 0, H - 1, key="rnn_unit")
        st.caption(f"Colour: {plots.QUANTITIES[kind][0]} of unit {unit}. Hover a character for its value.")
    vals = states[:, unit]
    lo, hi, scale = plots.quantity_range(kind, vals)
    with u2:
        st.html(plots.text_html(tr.tokens, vals, lo, hi, scale, mark=None, label=f"{main} unit {unit}, {kind}"))

    # find units
    st.subheader("Find units that track a pattern")
    f1, f2 = st.columns([1, 2], gap="large")
    with f1:
        pattern_name = st.radio("Pattern", list(analysis.PATTERNS), key="rnn_pattern", index=1,
                                help="Units are ranked by the correlation of their "
                                     f"{plots.QUANTITIES[kind][0]} with the pattern over your text.")
        pattern = analysis.PATTERNS[pattern_name](tr.tokens)
        ranking = analysis.find_units(states, pattern, 10)
        if not ranking:
            st.info(f"The pattern '{pattern_name}' never changes in this text, so no unit can track it. "
                    "Try the Python code preset.")
        else:
            best = ranking[0]
            st.plotly_chart(plots.unit_ranking([(s.unit, s.r) for s in ranking],
                                               f"Best {len(ranking)} units ({kind})", unit),
                            width="stretch", key="rnn_rank")
            st.button(f"Colour the text by unit {best.unit}", key="rnn_use_best",
                      on_click=lambda u=best.unit: st.session_state.update(rnn_unit=u))
    with f2:
        if ranking:
            show = ranking[0]
            st.plotly_chart(
                plots.pattern_vs_unit(pattern, states[:, show.unit], tr.tokens, start, stop, pattern_name,
                                      f"unit {show.unit}: {plots.QUANTITIES[kind][0]} (r = {show.r:+.2f} over the whole text)",
                                      f"Does unit {show.unit} follow '{pattern_name}'?"),
                width="stretch", key="rnn_pattern_fig",
            )

    # next character
    st.subheader("Next character")
    n1, n2 = st.columns([3, 2], gap="large")
    with n1:
        if T > 1:
            st.session_state.rnn_pos = min(int(st.session_state.get("rnn_pos", T - 1)), T - 1)
            pos = st.slider("After character", 0, T - 1, key="rnn_pos")
        else:
            pos = 0
        lo_ctx = max(0, pos - 120)
        st.html(plots.text_html(tr.tokens[lo_ctx : min(T, pos + 40)], None, mark=pos - lo_ctx, font_px=20,
                                max_height_px=None))
        if pos + 1 < T:
            nxt = tr.tokens[pos + 1]
            p = {lab: traces[lab].probs(pos)[VOCAB.index(nxt)] for lab in labels}
            st.caption("Actual next character: " + f"'{plots.show_char(nxt)}'; "
                       + ", ".join(f"{lab} gave it {v:.1%}" for lab, v in p.items()))
    with n2:
        for lab in labels:
            st.plotly_chart(plots.next_char_bar(traces[lab].top_next(pos, 5),
                                                f"{lab}: after '{plots.show_char(tr.tokens[pos])}' (character {pos})",
                                                COLOURS[lab]),
                            width="stretch", key=f"rnn_next_{lab}")

    # sampled continuation
    st.subheader("Let it write: a sampled continuation")
    s1, s2, s3 = st.columns(3)
    temperature = s1.slider("Temperature", 0.0, 2.0, 0.8, 0.1, key="rnn_temp",
                            help="0: always the likeliest character. 1: the model's own probabilities. "
                                 "Above 1: more surprising (and more broken) text.")
    length = s2.slider("Characters to write", 50, 400, 200, 50, key="rnn_len")
    seed = int(s3.number_input("Random seed", 0, 10_000, 0, key="rnn_seed"))
    prompt = text[: pos + 1]
    cols = st.columns(len(labels))
    for col, lab in zip(cols, labels):
        name = TEXT_MODELS[lab]
        new = sample_text(name, prompt, length, float(temperature), seed, models[lab])
        col.markdown(f"**{lab}** continues after character {pos} (temperature {temperature:.1f}):")
        col.html(_continuation_html(prompt[-160:], new, COLOURS[lab]))


def _continuation_html(prompt: str, new: str, colour: str) -> str:
    import html

    return (f'<div style="font-family:{plots.recurrent.MONO};font-size:18px;white-space:pre-wrap;'
            f'border:1px solid #ccc;border-radius:6px;padding:10px;line-height:1.4;">'
            f'<span style="color:#888">{html.escape(prompt)}</span>'
            f'<span style="color:{colour};font-weight:bold">{html.escape(new)}</span></div>')


# --- time-series view ----------------------------------------------------------------------------

def series_view() -> None:
    src = st.radio("Series", ["Sunspots (shipped)", "Upload a CSV"], horizontal=True, key="ts_src")
    if src.startswith("Sunspots"):
        years, values = fc.load_sunspots()
        model = ui.load_or_report("sunspots_lstm", "default", "default")
        if model is None:
            return
        ui.weights_badge(model)
        st.caption("Yearly mean sunspot number 1700-2008 (SIDC / NOAA, public domain). The LSTM learned from "
                   f"1700-{fc.TEST_START - 1}; the years from {fc.TEST_START} on are held out.")
        index, y_title, n_train = [int(y) for y in years], "sunspot number", int(np.searchsorted(years, fc.TEST_START))
        model_key, values_key = "sunspots_lstm", "sunspots"
        default_steps = 22
    else:
        got = _uploaded_series()
        if got is None:
            return
        values, index, y_title, model, report, model_key = got
        n_train, values_key = report["n_train"], model_key
        default_steps = 20

    a, b = st.columns([1, 1])
    steps = a.slider("Forecast steps ahead", 1, 60, default_steps, key="ts_steps")
    kind = b.selectbox("States under the series", ["c", "h", "input", "forget", "cell", "output"], key="ts_kind",
                       format_func=lambda k: plots.QUANTITIES[k][0])
    with st.spinner("Running the LSTM over the series..."):
        tr = ui.get_trace(model_key, "default", values_key, model, values)
        future = series_forecast(model_key, values_key, steps, model, values)
        backtest = series_forecast(model_key, f"{values_key}:{n_train}", steps, model, values[:n_train])

    held = values[n_train:]
    one_step = rmse(tr.output[n_train - 1 : -1], held)
    naive = naive_rmse(values, n_train)
    n_bt = min(steps, len(held))
    bt_model = rmse(backtest[:n_bt], held[:n_bt])
    bt_naive = rmse(np.full(n_bt, values[n_train - 1]), held[:n_bt])
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("LSTM, one step ahead (RMSE)", f"{one_step:.3g}", f"{one_step - naive:+.3g} vs naive", delta_color="inverse",
              help=f"Root-mean-square error over the {len(held)} held-out steps, each predicted after reading all earlier ones.")
    m2.metric("Naive: repeat the last value", f"{naive:.3g}")
    capped = f" (the held-out part has only {len(held)} steps)" if n_bt < steps else ""
    m3.metric(f"LSTM, {n_bt} steps ahead (RMSE)", f"{bt_model:.3g}", f"{bt_model - bt_naive:+.3g} vs naive",
              delta_color="inverse",
              help="Forecast made at the start of the held-out part, feeding its own predictions back." + capped)
    m4.metric(f"Naive, {n_bt} steps ahead", f"{bt_naive:.3g}")

    if one_step >= naive:
        st.info("The LSTM does not beat repeating the last value here. Series that wander like a random walk "
                "(most stock prices) give a model nothing to learn beyond 'about where it was yesterday': "
                "that is a lesson about the data, not a bug.")
    states = states_of(tr, kind)
    fig = plots.series_figure(index, values, states, kind, tr.output, n_train, analysis.extend_index(index, steps), future,
                              backtest, f"{y_title}: forecast and the LSTM's {plots.QUANTITIES[kind][0]} underneath", y_title)
    st.plotly_chart(fig, width="stretch", key="ts_fig")
    st.caption("Top: the series, the one-step-ahead predictions on the held-out part (red), a forecast made at the "
               "start of the held-out part without seeing it (green dashes) against the naive last value (grey dots), "
               "and the forecast past the end (red dashes). Bottom: each row is one LSTM unit over time.")


def _uploaded_series():
    """Upload -> column -> clean series -> a model trained in the app (kept in the session).
    Returns (values, index, y_title, model, report, model_key) or None after a message."""
    up = st.file_uploader("CSV file (a column of numbers, optionally dates; ',' or ';' separated)",
                          type=["csv", "txt", "tsv"], key="ts_upload")
    if up is None:
        st.info("Upload a CSV, for example a stock's daily prices exported from a finance site. "
                "nnviz trains a small LSTM on its first 80% and tests it on the rest.")
        return None
    data = up.getvalue()
    file_key = ui.digest(data)
    try:
        table = read_series_csv(data, up.name)
    except InputError as e:
        st.error(str(e))
        return None
    cols = table.value_columns
    default = table.default_column()
    column = st.selectbox("Column to forecast", cols, index=cols.index(default) if default in cols else 0,
                          key=f"ts_col_{file_key}")
    try:
        series = series_from_column(table, column)
    except InputError as e:
        st.error(str(e))
        return None
    notes_caption(series.notes)
    st.caption(f"{len(series.values):,} values of {column!r}"
               + (f", time axis {series.index_name!r}" if series.index_name != "row" else "") + ".")
    fits = st.session_state.setdefault("ts_fits", {})
    fit_key = f"{file_key}:{column}"
    if fit_key not in fits:
        st.plotly_chart(plots.series_figure(series.index, series.values, title=f"{column} (not modelled yet)",
                                            y_title=column), width="stretch", key="ts_raw")
        # A callback, not the button's return value: it survives a rerun that happens before this line.
        st.button(f"Train a small LSTM on {column!r} (at most {TRAIN_SECONDS} s)", type="primary", key="ts_train",
                  on_click=lambda k=fit_key: st.session_state.update(ts_train_request=k))
        if st.session_state.get("ts_train_request") != fit_key:
            return None
        st.session_state.ts_train_request = None
        bar = st.progress(0.0, text="Training...")
        model, report = fc.fit_series(
            series.values, steps=TRAIN_STEPS, seconds=TRAIN_SECONDS,
            progress=lambda k, n, loss: bar.progress(k / n, text=f"Training: step {k}/{n}, loss {loss:.3f}"),
        )
        bar.empty()
        fits[fit_key] = (model, report, uuid.uuid4().hex[:8])
        st.rerun()
    model, report, token = fits[fit_key]
    st.success(f"Trained in the app: {report['steps']} steps in {report['seconds']} s on the first {report['n_train']} "
               f"values (seed {report['seed']}); loss {report['first_loss']:.3f} → {report['last_loss']:.3f}.")
    return series.values, series.index, column, model, report, f"upload:{fit_key}:{token}"


# --- why LSTMs -------------------------------------------------------------------------------------

def why_view() -> None:
    st.markdown(
        "Training a recurrent network means sending the error **backwards through time**. How much can the "
        "character read *k* steps ago still change the last prediction? Autograd on the real models answers: "
        "the norm of the gradient of the last prediction's log-probability with respect to each earlier "
        "character's input vector. In a plain RNN it shrinks by a factor at every step (**vanishing gradients**); "
        "the LSTM's cell state is a path along which it survives much longer."
    )
    src_opts = ["Text from the Text view", *PRESETS]
    a, b = st.columns([2, 1])
    src = a.radio("Input", src_opts, horizontal=True, key="why_src")
    relative = b.toggle("Divide by the last character's gradient", True, key="why_rel",
                        help="Makes the two models comparable: both start at 1 at the last character.")
    raw = saved_text() if src == src_opts[0] else PRESETS[src]
    try:
        text, notes = clean_text(raw, TEXT_CAP, VOCAB[1:])
    except InputError as e:
        st.error(f"{e} (Edit the text in the Text view or pick a preset.)")
        return
    notes_caption(notes)
    norms, tokens = {}, None
    for lab in ("LSTM", "RNN"):
        name, model = text_model(lab)
        if model is None:
            return
        with st.spinner(f"Backpropagating through {name}..."):
            norms[lab] = text_gradients(name, text, model)
        tokens = model.encode(text).chars
    st.plotly_chart(plots.gradient_decay(norms, tokens, relative,
                                         f"Gradient of the last prediction w.r.t. each earlier character ({len(text)} characters)"),
                    width="stretch", key="why_fig")
    T = len(text)
    facts = []
    for k in (10, 50, 100, 200):
        if k < T:
            parts = []
            for lab, g in norms.items():
                v = g[T - 1 - k] / g[-1] if g[-1] > 0 else float("nan")
                parts.append(f"{lab} {v:.1e}" if v > 0 else f"{lab} 0 (below 1e-45)")
            facts.append(f"**{k} steps back**: " + ", ".join(parts))
    if facts:
        st.markdown("Relative to the last character: " + "; ".join(facts) + ".")
    zeros = {lab: int((g == 0).sum()) for lab, g in norms.items()}
    if any(zeros.values()):
        st.caption("Exact zeros: " + ", ".join(f"{lab} {z}" for lab, z in zeros.items())
                   + " characters whose gradient fell below float32's smallest number; drawn on the dotted floor.")
    tail = min(T, 400)
    st.markdown(f"**The same gradients on the text** (its last {tail} characters; log scale, relative to the last "
                "character; dark = no influence left):")
    cols = st.columns(2)
    for col, (lab, g) in zip(cols, norms.items()):
        rel = np.where(g > 0, g / max(float(g[-1]), 1e-300), 0.0)[-tail:]
        logv = np.log10(np.maximum(rel, 1e-20))
        col.markdown(f"**{lab}**")
        col.html(plots.text_html(tokens[-tail:], logv, -20.0, 0.0, "Viridis", font_px=16,
                                 label="log10 gradient (÷ last)", max_height_px=360))


# --- page --------------------------------------------------------------------------------------

st.title("RNN & LSTM explorer")
slugs = list(VIEWS.values())
start_view = st.query_params.get("view", "text")
view = st.radio("View", list(VIEWS), index=slugs.index(start_view) if start_view in slugs else 0,
                horizontal=True, key="rnn_view", label_visibility="collapsed")
st.query_params["view"] = VIEWS[view]
{"Text": text_view, "Time series": series_view, "Why LSTMs": why_view}[view]()
