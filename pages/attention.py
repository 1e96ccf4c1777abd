"""Attention explorer: multi-head attention of a real pretrained encoder (MiniLM), step by step,
positional encoding, masked self-attention (char GPT) and cross-attention (date translator).

Compute, then render: every model run is cached by model + input digest (st.cache_resource: the
traces are read-only numpy, up to ~95 MB at 512 tokens, never pickled per rerun), so switching the
view, layer, head or query token only slices the cached trace. Big matrices go to the browser as
one image; readable heatmaps show at most a window of tokens.
"""
import html

import numpy as np
import streamlit as st

from nnviz import plots, ui
from nnviz.analysis import attention as A
from nnviz.models.attention import sinusoidal_positional_encoding
from nnviz.models.bert import MAX_TOKENS
from nnviz.models.seq2seq import DATE_EXAMPLES, TGT_VOCAB
from nnviz.types import InputError

ui.page_setup()

VIEWS = {
    "head": "One head",
    "model": "All heads",
    "rollout": "Average & rollout",
    "bank": "Word in context",
    "steps": "Step by step",
    "positions": "Positions",
    "masked": "Masked (GPT)",
    "cross": "Cross-attention",
}
MINILM_VIEWS = ("head", "model", "rollout", "steps", "positions")
PRESETS = {
    "it (which noun?)": "The animal didn't cross the street because it was too tired.",
    "river bank": "I sat on the river bank and watched the water flow past.",
    "wordpieces": "Transformers tokenize unbelievably long words into wordpieces.",
    "long text (over 512 tokens)": " ".join([
        "Attention lets every token look at every other token of the text and decide how much of each to take.",
        "A head compares its query with all keys, turns the scores into weights with a softmax,",
        "and returns the weighted average of the values. Twelve heads do this in parallel in every layer,",
        "each with its own projections, so one head can follow syntax while another tracks the previous word.",
        "Because the weights form a square matrix, the cost grows with the square of the length of the text.",
    ] * 6),
}
GPT_PRESETS = {
    "Python code": "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n",
    "English": "The quick brown fox jumps over the lazy dog, and the dog sleeps on.",
}
BANK = ("I sat on the river bank and watched the water.",
        "I went to the bank to deposit my salary.",
        "The bank approved my loan and opened an account.")
WINDOW = 24  # query rows per readable window of a long text's heatmap
WINDOWS = [16, 24, 32, 40]
MAX_COLUMNS = 40  # key columns of a window's heatmap (top-k thinning keeps below this)
FULL_HEATMAP = 48  # up to this many tokens a whole head is one labelled heatmap
STEP_KEYS = 16  # keys shown with numbers in the step-by-step view


# --- cached model work: a new input runs the model once; views only slice ----------------------

@st.cache_resource(show_spinner=False, max_entries=6)
def minilm_trace(input_digest: str, _model, _what):
    """MiniLM on a text (an Encoding) or on token ids (shuffled words); keyed by their digest."""
    return _model.run(_what)


@st.cache_resource(show_spinner=False, max_entries=6)
def trace_analysis(input_digest: str, _trace) -> dict:
    """Per-trace derived arrays: head patterns and attention rollout (numpy only, no model)."""
    return {"patterns": A.head_patterns(_trace.attentions), "rollout": A.attention_rollout(_trace.attentions)}


@st.cache_resource(show_spinner=False, max_entries=8)
def bank_similarity(text_a: str, text_b: str, word: str, _model) -> dict:
    ta, tb = _model.run(text_a), _model.run(text_b)
    return {**A.word_similarity(ta, tb, word), "trace_a": ta, "trace_b": tb}


@st.cache_resource(show_spinner=False, max_entries=8)
def gpt_trace(input_digest: str, _model, _text: str):
    return _model.run(_text)


@st.cache_data(show_spinner=False, max_entries=16)
def gpt_continue(text: str, n: int, temperature: float, seed: int, _model) -> str:
    return _model.generate(text, n, temperature, seed)


@st.cache_resource(show_spinner=False, max_entries=16)
def translation(text: str, _model):
    return _model.translate(text)


@st.cache_data(show_spinner=False, max_entries=4)
def learned_positions(n: int, _model) -> np.ndarray:
    return _model.position_similarity(n)


@st.cache_data(show_spinner=False, max_entries=8)
def sinusoidal(n: int, d: int) -> np.ndarray:
    return sinusoidal_positional_encoding(n, d).numpy()


def text_digest(prefix: str, data: str | list[int]) -> str:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else np.asarray(data, np.int64).tobytes()
    return f"{prefix}:{ui.digest(raw)}"


# --- small shared widgets ------------------------------------------------------------------------

def clamp_state(key: str, lo: int, hi: int, default: int) -> None:
    """A widget's stored value may belong to an older, longer text: bring it back into range."""
    v = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(v if isinstance(v, (int, np.integer)) else default, lo), hi))


def layer_head(n_layers: int, n_heads: int, prefix: str = "att", head: bool = True) -> tuple[int, int]:
    """Layer and head sliders (1-based on screen, 0-based returned), kept in the URL."""
    if prefix == "att":  # open on a head worth seeing: in layer 4, head 2 'it' looks at 'animal'
        st.session_state.setdefault("att_layer", min(4, n_layers))
        st.session_state.setdefault("att_head", min(2, n_heads))
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 1, n_layers, key=f"{prefix}_layer", bind="query-params" if prefix == "att" else None,
                      help="Layer 1 reads the embeddings; each next layer reads the one before.")
    h = 1
    if head:
        h = c2.slider("Head", 1, n_heads, key=f"{prefix}_head", bind="query-params" if prefix == "att" else None,
                      help=f"Each of the {n_heads} heads has its own W_Q, W_K, W_V and its own attention pattern.")
    return layer - 1, h - 1


def token_option(tokens: list[str]):
    return lambda i: f"{i}: {plots.show_token(tokens[i])}"


def default_query(tokens: list[str]) -> int:
    for word in ("bank", "it"):
        if word in tokens:
            return tokens.index(word)
    return min(1, len(tokens) - 1)


def query_picker(tokens: list[str], key: str, label: str = "Query token") -> int:
    T = len(tokens)
    if st.session_state.get(f"{key}_for") != tokens:  # a new text: start from an interesting token
        st.session_state[f"{key}_for"] = tokens
        st.session_state[key] = default_query(tokens)
    clamp_state(key, 0, T - 1, default_query(tokens))
    return st.selectbox(label, list(range(T)), key=key, format_func=token_option(tokens))


def windowed_head(att: np.ndarray, q_labels: list[str], k_labels: list[str], key: str, title: str, *,
                  masked: bool = False, lines: bool = True, shared_scale: bool = False,
                  zmax: float | None = None, half_width: bool = False) -> None:
    """One head's (Tq, Tk) attention. Short: one labelled heatmap (+ lines). Long: the whole head
    as an image with the window outlined, and the window as a labelled heatmap whose columns are
    either the same tokens or each query's strongest keys (top-k thinning)."""
    Tq, Tk = att.shape
    shown = np.where(np.tril(np.ones_like(att, bool)), att, np.nan) if masked else att
    if max(Tq, Tk) <= FULL_HEATMAP:
        if lines:
            left, right = st.columns([2, 1], gap="medium")
        else:
            left, right = st.container(), None
        with left:
            st.plotly_chart(plots.attention_heatmap(shown, q_labels, k_labels, title, masked=masked,
                                                    shared_scale=shared_scale, zmax=zmax,
                                                    square=not half_width, height=620 if half_width else None),
                            width="stretch", key=f"{key}_heat")
        if right is not None:
            with right:
                q = st.selectbox("Lines from", [-1] + list(range(Tq)), key=f"{key}_lineq",
                                 format_func=lambda i: "every token" if i < 0 else token_option(q_labels)(i))
                st.plotly_chart(plots.head_lines(att, q_labels, k_labels, "Head view: line opacity = weight",
                                                 query=None if q < 0 else q),
                                width="stretch", key=f"{key}_lines")
        return
    c1, c2, c3 = st.columns([3, 2, 3])
    with c2:
        win = st.select_slider("Window (tokens)", WINDOWS, value=WINDOW, key=f"{key}_win",
                               help="How many query rows the readable heatmap shows at once.")
    clamp_state(f"{key}_start", 0, Tq - win, 0)
    with c1:
        start = st.slider("Window starts at token", 0, Tq - win, step=1, key=f"{key}_start",
                          help="Slide the window through the long text; the red box on the left follows.")
    with c3:
        cols_mode = st.radio("Key columns", ["the same window", "each query's strongest keys (top-k)"],
                             key=f"{key}_cols", horizontal=True,
                             help="Top-k: for each query row, the k keys with the largest weights anywhere "
                                  "in the text, plus [CLS] and [SEP].")
    stop = start + win
    rows = np.arange(start, stop)
    k = 0
    if cols_mode.startswith("the same"):
        cols = np.arange(start, min(stop, Tk))
    else:
        for k in (3, 2, 1):
            cols = A.top_k_columns(att[start:stop], k, always=(0, Tk - 1))
            if len(cols) <= MAX_COLUMNS:
                break
    window = (start, stop, int(cols.min()), int(cols.max()) + 1)
    left, right = st.columns([1, 2], gap="medium")
    with left:
        st.plotly_chart(plots.matrix_image(shown, f"All {Tq}×{Tk} (red box: the window)", window=window, height=460,
                                           zmin=0.0, zmax=zmax or (1.0 if shared_scale else max(float(att.max()), 1e-6))),
                        width="stretch", key=f"{key}_overview")
        st.caption(f"The whole map as one image: {Tq * Tk:,} weights, too many to label.")
    with right:
        sub = shown[np.ix_(rows, cols)]
        note = "" if cols_mode.startswith("the same") else f", columns: top-{k} keys per query ({len(cols)})"
        st.plotly_chart(plots.attention_heatmap(sub, [q_labels[i] for i in rows], [k_labels[j] for j in cols],
                                                f"{title}: rows {start}-{stop - 1}{note}", q_ids=rows, k_ids=cols,
                                                masked=masked, shared_scale=shared_scale, zmax=zmax),
                        width="stretch", key=f"{key}_heat")
    if lines:
        with st.expander("Head view (lines) for this window"):
            st.plotly_chart(plots.head_lines(att[np.ix_(rows, cols)], [q_labels[i] for i in rows],
                                             [k_labels[j] for j in cols], "Each query's 3 strongest lines", top_k=3),
                            width="stretch", key=f"{key}_lines")


def special_scale(att: np.ndarray, tokens: list[str], key: str, *_) -> float | None:
    """A toggle: scale colours to the largest weight on ordinary tokens, so the weight that idle
    heads park on [CLS] / [SEP] (saturated, brightest colour) does not wash out everything else."""
    if len(tokens) < 4 or tokens[0] != "[CLS]" or tokens[-1] != "[SEP]":
        return None
    st.session_state.setdefault(key, True)
    if not st.toggle("Colour scale ignores the [CLS] and [SEP] columns (they soak up idle attention)", key=key):
        return None
    return max(float(att[:, 1:-1].max()), 1e-6)


def show_notes(notes: list[str]) -> None:
    for n in notes:
        st.info(n, icon=":material/info:")


# --- MiniLM input (shared by the encoder views) --------------------------------------------------

def _load_preset() -> None:
    st.session_state.att_text = PRESETS[st.session_state.att_preset]


def minilm_input():
    """Text box + tokens; returns (model, encoding, trace) or None after a one-sentence message."""
    model = ui.load_or_report("minilm", "default", "default")
    if model is None:
        return None
    st.session_state.setdefault("att_text", next(iter(PRESETS.values())))
    left, right = st.columns([1, 3], gap="large")
    with left:
        st.selectbox("Example", list(PRESETS), key="att_preset", on_change=_load_preset, persist_state="session")
        ui.weights_badge(model)
    with right:
        text = st.text_area(f"Your text (MiniLM reads at most {MAX_TOKENS} tokens)", key="att_text", height=110,
                            persist_state="session")
    try:
        enc = model.encode(text)
    except InputError as e:
        st.error(str(e))
        return None
    notes = list(enc.notes)
    if any(ord(ch) > 0x024F and ch.isalpha() for ch in enc.text):
        notes.append("MiniLM's vocabulary is English: letters of other scripts become single-character pieces "
                     "(or [UNK]), so its attention there means little.")
    show_notes(notes)
    with st.spinner("Running MiniLM..."):
        trace = minilm_trace(text_digest("minilm", enc.text), model, enc)
    T = len(trace.tokens)
    originals = {i: enc.text[enc.offsets[i][0]:enc.offsets[i][1]] for i in enc.unknown}
    chips = plots.tokens_html(trace.tokens, unknown=enc.unknown, originals=originals, font_px=20 if T > 64 else 22,
                              show_index=T > 16, max_height_px=220 if T > 64 else None)
    label = (f"**{T} tokens**: {enc.n_pieces if not enc.truncated else T - 2} wordpieces + [CLS] + [SEP]. "
             "Beige = a word's continuation (##), red = not in the vocabulary.")
    st.markdown(label)
    st.html(chips)
    return model, enc, trace


# --- views ---------------------------------------------------------------------------------------

def view_head(model, enc, trace) -> None:
    layer, head = layer_head(trace.n_layers, trace.n_heads)
    info = trace_analysis(text_digest("minilm", enc.text), trace)
    st.caption(f"Layer {layer + 1}, head {head + 1} {A.describe_head(info['patterns'], layer, head)}. "
               "Each row is one query token's attention: it sums to 1 over the keys.")
    att = trace.attentions[layer, head]
    windowed_head(att, trace.tokens, trace.tokens, "head", f"Layer {layer + 1}, head {head + 1}: who attends to whom",
                  zmax=special_scale(att, trace.tokens, "att_scale_head"))


def _open_head(chart_key: str, fixed_layer: int | None = None) -> None:
    """Thumbnail click (on_select callback, so before the sliders exist): open that head."""
    try:
        points = st.session_state[chart_key]["selection"]["points"]
    except (KeyError, TypeError):
        return
    if not points:
        return
    cd = points[0].get("customdata")
    if cd is None:
        return
    layer, head = (cd if isinstance(cd, (list, tuple)) else (fixed_layer, cd))
    st.session_state.att_layer = int(layer) + 1
    st.session_state.att_head = int(head) + 1
    st.session_state.att_view = "head"


def view_model(model, enc, trace) -> None:
    L, H, T = trace.n_layers, trace.n_heads, len(trace.tokens)
    layer, head = layer_head(L, H)
    info = trace_analysis(text_digest("minilm", enc.text), trace)
    pat = info["patterns"]
    st.subheader(f"All {H} heads of layer {layer + 1}")
    st.caption("Same input, same layer, twelve different patterns. Each thumbnail is scaled to its own "
               "largest weight. Click one to open it.")
    st.plotly_chart(
        plots.head_mosaic(trace.attentions[layer], [f"head {h + 1}" for h in range(H)], cols=6,
                          customdata=list(range(H)), selected=head, min_tile=200, max_side=1200, height=440,
                          hover=[f"head {h + 1}: {A.describe_head(pat, layer, h)}" for h in range(H)]),
        width="stretch", key="att_layer_mosaic", on_select=lambda: _open_head("att_layer_mosaic", layer),
        selection_mode="points")
    st.subheader(f"The whole model: {L} layers × {H} heads")
    st.caption("Rows are layers (1 at the top), columns are heads. Hover for what a head mostly does; click to open it.")
    st.plotly_chart(
        plots.head_mosaic(trace.attentions.reshape(L * H, T, T), [f"L{l + 1} H{h + 1}" for l in range(L) for h in range(H)],
                          cols=H, customdata=[[l, h] for l in range(L) for h in range(H)], selected=layer * H + head,
                          hover=[f"layer {l + 1}, head {h + 1}: {A.describe_head(pat, l, h)}"
                                 for l in range(L) for h in range(H)],
                          row_labels=[f"layer {l + 1}" for l in range(L)], col_labels=[f"H{h + 1}" for h in range(H)],
                          min_tile=40, max_side=1100, height=620),
        width="stretch", key="att_model_mosaic", on_select=lambda: _open_head("att_model_mosaic"),
        selection_mode="points")


def view_rollout(model, enc, trace) -> None:
    layer, _ = layer_head(trace.n_layers, trace.n_heads, head=False)
    info = trace_analysis(text_digest("minilm", enc.text), trace)
    avg = A.head_average(trace.attentions[layer:layer + 1])[0]
    roll = info["rollout"][layer]
    tokens = trace.tokens
    st.markdown(
        f"**Average over heads**: what layer {layer + 1} does as a whole. **Rollout** (Abnar & Zuidema, 2020): "
        f"multiply the head-averaged maps of layers 1..{layer + 1}, each mixed half-and-half with the identity "
        "for the skip connection, to follow how much of each input token reaches each position.")
    left, right = st.columns(2, gap="medium")
    z_avg = special_scale(avg, tokens, "att_scale_roll", roll)
    z_roll = None if z_avg is None else float(roll[:, 1:-1].max())
    with left:
        windowed_head(avg, tokens, tokens, "avg", f"Layer {layer + 1}: mean of {trace.n_heads} heads", lines=False,
                      zmax=z_avg, half_width=True)
    with right:
        windowed_head(roll, tokens, tokens, "roll", f"Rollout through layers 1-{layer + 1}", lines=False, zmax=z_roll,
                      half_width=True)
    q = query_picker(tokens, "att_rq", "Which inputs flow into this position?")
    st.plotly_chart(plots.token_bar(roll[q], tokens, f"Rollout after layer {layer + 1} for '{plots.plot_text(tokens[q])}' (#{q})",
                                    highlight=q, y_title="share of the input") if len(tokens) <= 64 else
                    plots.token_bar(roll[q], tokens, f"Rollout after layer {layer + 1} for '{plots.plot_text(tokens[q])}' (#{q})",
                                    highlight=q, y_title="share of the input", height=340),
                    width="stretch", key="att_rbar")
    st.html(plots.tokens_html(tokens, weights=roll[q], highlight=q, font_px=20,
                              max_height_px=220 if len(tokens) > 64 else None))


def view_bank(model) -> None:
    ui.weights_badge(model)
    st.markdown("The same word gets the **same vector** going in (the embeddings), and context pulls the vectors "
                "apart layer by layer. Type your own sentences: the word must be one token in each.")
    c = st.columns([3, 3, 3, 1])
    for i, (col, default) in enumerate(zip(c, BANK)):
        st.session_state.setdefault(f"bank_{i}", default)
        col.text_input(["A", "B", "C"][i], key=f"bank_{i}", persist_state="session")
    st.session_state.setdefault("bank_word", "bank")
    word = c[3].text_input("Word", key="bank_word", persist_state="session").strip().lower()
    a, b, cc = (st.session_state[f"bank_{i}"] for i in range(3))
    if not word:
        st.error("Type the word to follow, for example 'bank'.")
        return
    try:
        with st.spinner("Running MiniLM on the sentences..."):
            ab = bank_similarity(a, b, word, model)
            bc = bank_similarity(b, cc, word, model) if cc.strip() else None
    except InputError as e:
        st.error(str(e))
        return
    series = {f"A vs B ({ab['cosine'][-1]:.2f} at the end)": ab["cosine"]}
    if bc is not None:
        series[f"B vs C ({bc['cosine'][-1]:.2f} at the end)"] = bc["cosine"]
    st.plotly_chart(plots.cosine_by_layer(series, f"How similar are the '{word}' vectors, layer by layer?", word),
                    width="stretch", key="bank_cos")
    st.caption("Cosine 1 = the same direction. At the embeddings both are the same token (only the position "
               "differs); after each layer the vector also carries its sentence.")
    layer = st.slider("What the word attends to in layer", 1, len(ab["cosine"]) - 1, key="bank_layer") - 1
    cols = st.columns(2)
    for col, (name, tr, idx) in zip(cols, (("A", ab["trace_a"], ab["index_a"]), ("B", ab["trace_b"], ab["index_b"]))):
        with col:
            w = A.head_average(tr.attentions[layer:layer + 1])[0, idx]
            st.plotly_chart(plots.token_bar(w, tr.tokens, f"{name}: '{word}' in layer {layer + 1} (mean of heads)",
                                            highlight=idx, height=400),
                            width="stretch", key=f"bank_bar_{name}")


def _check_table(diffs: dict[str, float]) -> str:
    names = {"Q": "Q = X W_Q + b_Q", "K": "K = X W_K + b_K", "V": "V = X W_V + b_V", "QK": "Q Kᵀ",
             "scaled": "Q Kᵀ / √d_k", "probs": "softmax", "out": "softmax · V"}
    rows = ["| step | largest difference from the model's own numbers | |", "|---|---|---|"]
    for k, label in names.items():
        d = diffs[k]
        ok = "✓ equal (float32 rounding)" if d < 1e-3 else "✗ differs"
        rows.append(f"| {label} | {d:.1e} | {ok} |")
    return "\n".join(rows)


def view_steps(model, enc, trace) -> None:
    L, H = trace.n_layers, trace.n_heads
    layer, head = layer_head(L, H)
    tokens = trace.tokens
    T = len(tokens)
    q = query_picker(tokens, "att_sq")
    s = model.attention_steps(trace, layer, head)  # float64 recomputation of one head (no forward pass)
    dh = s["Q"].shape[1]
    diffs = A.step_differences(s, trace.queries[layer, head], trace.keys[layer, head], trace.values[layer, head],
                               trace.attentions[layer, head])
    if T <= STEP_KEYS:
        keys = np.arange(T)
        note = ""
    else:
        keys = np.sort(np.argsort(-s["probs"][q], kind="stable")[:STEP_KEYS])
        note = f" (the {STEP_KEYS} keys with the largest weights of {T})"
    klab = [tokens[j] for j in keys]
    st.markdown(f"**Layer {layer + 1}, head {head + 1}, query '{plots.show_token(tokens[q])}' (#{q})**, recomputed "
                f"from the layer's input in float64 and checked against the model's own numbers at every step.")
    st.subheader("1. X → Q, K, V")
    st.latex(r"Q = X W_Q + b_Q,\quad K = X W_K + b_K,\quad V = X W_V + b_V\qquad X \in \mathbb{R}^{T\times 384},\;"
             rf"W \in \mathbb{{R}}^{{384\times {dh}}}")
    rows = np.arange(T) if T <= 24 else np.sort(np.unique(np.r_[keys, q]))
    rlab = [tokens[i] for i in rows]
    hq = int(np.searchsorted(rows, q))
    if T <= 64:
        st.plotly_chart(plots.labelled_heatmap(s["X"][rows], rlab, [str(i) for i in range(s["X"].shape[1])],
                                               f"X: layer {layer + 1}'s input, {T} tokens × 384 dimensions",
                                               row_ids=rows, numbers=False, highlight_row=hq, scale=plots.base.DIVERGING,
                                               zmin=-float(np.abs(s['X']).max()), zmax=float(np.abs(s['X']).max()),
                                               colorbar_title="value", row_title="token", col_title="dimension",
                                               height=max(300, 120 + 26 * len(rows))).update_xaxes(
                                                   tickvals=list(range(0, 384, 32)), ticktext=[str(i) for i in range(0, 384, 32)],
                                                   tickangle=0),
                        width="stretch", key="st_x")
    cols = st.columns(3)
    for col, name in zip(cols, "QKV"):
        m = s[name][rows]
        lim = float(np.abs(m).max())
        with col:
            st.plotly_chart(plots.labelled_heatmap(m, rlab, [str(i) for i in range(dh)], f"{name} ({T} × {dh})",
                                                   row_ids=rows, numbers=False, zmin=-lim, zmax=lim,
                                                   scale=plots.base.DIVERGING, colorbar_title=name,
                                                   highlight_row=hq if name == "Q" else None, row_title="token",
                                                   col_title="dimension", height=max(300, 140 + 26 * len(rows)))
                            .update_xaxes(tickvals=list(range(0, dh, 8)), ticktext=[str(i) for i in range(0, dh, 8)],
                                          tickangle=0),
                            width="stretch", key=f"st_{name}")
    if len(rows) < T:
        st.caption(f"Rows shown: the query and the keys it weights most ({len(rows)} of {T} tokens).")
    st.subheader("2. Scores, scaling, softmax")
    st.latex(rf"\text{{score}}_j = q \cdot k_j,\qquad \frac{{q \cdot k_j}}{{\sqrt{{d_k}}}} = \frac{{q \cdot k_j}}{{\sqrt{{{dh}}}}},"
             r"\qquad p_j = \frac{e^{s_j}}{\sum_{j'} e^{s_{j'}}}")
    st.plotly_chart(plots.query_steps(s["QK"][q, keys], s["scaled"][q, keys], s["probs"][q, keys], klab,
                                      f"Query '{plots.plot_text(tokens[q])}' against each key{note}", d_k=dh,
                                      key_ids=keys),
                    width="stretch", key="st_row")
    if len(keys) < T:
        st.caption(f"The softmax runs over all {T} keys; the {STEP_KEYS} shown carry "
                   f"{float(s['probs'][q, keys].sum()):.0%} of the weight.")
    st.subheader("3. Weighted sum of the values")
    st.latex(r"\text{output} = \sum_j p_j\, v_j")
    st.plotly_chart(plots.weighted_sum(s["probs"][q, keys], s["V"][keys], klab,
                                       f"Output of head {head + 1} for '{plots.plot_text(tokens[q])}'", key_ids=keys),
                    width="stretch", key="st_sum")
    st.subheader("Checked against the model")
    st.markdown(_check_table(diffs))
    st.caption("The model computes in float32; this page recomputes in float64 from the layer input and the "
               "head's weights. Differences around 1e-6 are float32 rounding.")


def view_positions(model, enc, trace) -> None:
    st.subheader("Sinusoidal positional encoding (Vaswani et al., 2017)")
    st.latex(r"PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right),\qquad "
             r"PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)")
    c1, c2, c3 = st.columns([2, 2, 3])
    n = c1.select_slider("Positions", [16, 32, 64, 128, 256, 512], value=64, key="pe_n")
    d = c2.select_slider("Dimensions d", [16, 32, 64, 128, 256, 384, 512], value=128, key="pe_d")
    dims = [x for x in c3.multiselect("Waves for dimensions", list(range(d)), default=[0, 1, 8, 32], key="pe_dims")
            if x < d] or [0]
    pe = sinusoidal(n, d)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.plotly_chart(plots.positional_heatmap(pe, f"PE: {n} positions × {d} dimensions", 520),
                        width="stretch", key="pe_heat")
    with right:
        st.plotly_chart(plots.positional_waves(pe, dims, "Columns of PE as waves over positions"),
                        width="stretch", key="pe_waves")
    st.caption("Low dimensions wiggle fast, high ones slowly: like the hands of a clock, together they give every "
               "position a unique code, and PE[pos + k] is a fixed rotation of PE[pos].")
    st.subheader("What MiniLM learned instead")
    m = st.select_slider("Compare the first", [32, 64, 128, 256, 512], value=128, key="pe_sim_n",
                         format_func=lambda v: f"{v} positions")
    pe_m = sinusoidal(m, 384)
    pe_m = pe_m / np.linalg.norm(pe_m, axis=1, keepdims=True)
    left, right = st.columns(2, gap="medium")
    with left:
        st.plotly_chart(plots.matrix_image(pe_m @ pe_m.T, "Sinusoidal (d = 384): cosine between positions",
                                           zmin=-1, zmax=1, scale=plots.base.DIVERGING, colorbar_title="cosine",
                                           x_title="position", y_title="position", height=520),
                        width="stretch", key="pe_sim_sin")
    with right:
        st.plotly_chart(plots.matrix_image(learned_positions(m, model), "MiniLM's learned position embeddings: cosine",
                                           zmin=-1, zmax=1, scale=plots.base.DIVERGING, colorbar_title="cosine",
                                           x_title="position", y_title="position", height=520),
                        width="stretch", key="pe_sim_learned")
    st.caption("Both have a bright diagonal band: nearby positions look alike. MiniLM learned its 512 position "
               "vectors from data (BERT-style), nobody wrote a formula for them.")

    st.subheader("Shuffle the words")
    tokens = trace.tokens
    if len(A.word_groups(tokens)) < 2:
        st.info("Type at least two words to shuffle them.")
        return
    seed = st.number_input("Shuffle number", 0, 999, 0, key="pe_seed", help="A different number, a different order.")
    perm = A.shuffle_words(tokens, int(seed))
    ids = [int(trace.ids[i]) for i in perm]
    with st.spinner("Running MiniLM on the shuffled words..."):
        shuf = minilm_trace(text_digest("minilm-ids", ids), model, ids)
    st.markdown("**Original:** " + " ".join(tokens[1:-1]).replace(" ##", "") +
                "  \n**Shuffled:** " + " ".join(shuf.tokens[1:-1]).replace(" ##", ""))
    st.caption("Whole words move; a word's pieces (##) stay together; [CLS] and [SEP] keep their places.")
    cos = float(np.dot(trace.embedding, shuf.embedding) /
                (np.linalg.norm(trace.embedding) * np.linalg.norm(shuf.embedding)))
    layer, head = layer_head(trace.n_layers, trace.n_heads)
    back = A.unpermute(shuf.attentions[layer, head], perm)
    orig = trace.attentions[layer, head]
    k = min(len(tokens), 32)
    st.metric("Sentence vectors, original vs shuffled (cosine)", f"{cos:.3f}",
              help="1 = MiniLM thinks they mean the same. Without positions it would be exactly 1.")
    st.plotly_chart(plots.attention_comparison(
        [("original", orig[:k, :k]), ("shuffled, put back in original order", back[:k, :k]),
         ("difference", (back - orig)[:k, :k])], tokens[:k],
        f"Layer {layer + 1}, head {head + 1}" + (f" (first {k} of {len(tokens)} tokens)" if k < len(tokens) else "")),
        width="stretch", key="pe_shuffle")
    st.caption("Attention itself has no idea of order: without position embeddings, shuffling the words would "
               "only shuffle the rows and columns, and the middle map would equal the left one exactly. "
               "Every difference on the right comes from the positions MiniLM adds to each token.")


def _load_gpt_preset() -> None:
    st.session_state.gpt_text = GPT_PRESETS[st.session_state.gpt_preset]


def view_masked() -> None:
    model = ui.load_or_report("char_gpt", "default", "default")
    if model is None:
        return
    st.session_state.setdefault("gpt_text", next(iter(GPT_PRESETS.values())))
    left, right = st.columns([1, 3], gap="large")
    with left:
        st.selectbox("Example", list(GPT_PRESETS), key="gpt_preset", on_change=_load_gpt_preset,
                     persist_state="session")
        ui.weights_badge(model)
    with right:
        text = st.text_area(f"Text for the character GPT (it reads the last {model.config.block_size} characters)",
                            key="gpt_text", height=140, persist_state="session")
    if not text.strip():
        st.error("Type some text: the input is empty or only spaces.")
        return
    try:
        with st.spinner("Running char_gpt..."):
            tr = gpt_trace(text_digest("char_gpt", text), model, text)
    except InputError as e:
        st.error(str(e))
        return
    show_notes(tr.notes)
    L, H = tr.attentions.shape[:2]
    layer, head = layer_head(L, H, prefix="gpt")
    show = st.radio("Show", ["after the mask (attention weights)", "before the mask (scores q·k/√d)"],
                    horizontal=True, key="gpt_show")
    chars = tr.tokens
    st.caption("A decoder must not read the future: the causal mask blocks every key to the right of the query "
               "(grey), so each row only spreads its weight over the characters up to itself.")
    if show.startswith("after"):
        windowed_head(tr.attentions[layer, head], chars, chars, "gpt", f"char_gpt layer {layer + 1}, head {head + 1}: "
                      "masked self-attention", masked=True, lines=False)
    else:
        sc = tr.scores[layer, head]
        T = len(chars)
        k = min(T, FULL_HEATMAP)
        lim = float(np.abs(sc[:k, :k]).max())
        fig = plots.labelled_heatmap(sc[:k, :k], chars[:k], chars[:k],
                                     f"Scores before the mask (first {k} of {T} characters); above the line is the future",
                                     zmin=-lim, zmax=lim, scale=plots.base.DIVERGING, colorbar_title="score",
                                     numbers=False)
        xs = [i - 0.5 for i in range(k + 1) for _ in (0, 1)][1:-1] if k > 1 else []
        ys = [i + 0.5 for i in range(k) for _ in (0, 1)][:len(xs)]
        fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color="black", width=3), hoverinfo="skip",
                        showlegend=False)
        st.plotly_chart(fig, width="stretch", key="gpt_scores")
    st.subheader("Next-character predictions")
    T = len(chars)
    clamp_state("gpt_pos", 0, T - 1, T - 1)
    if st.session_state.get("gpt_pos_for") != text:
        st.session_state.gpt_pos_for = text
        st.session_state.gpt_pos = T - 1
    pos = st.slider("After the character at position", 0, T - 1, key="gpt_pos")
    c1, c2 = st.columns([2, 3], gap="large")
    with c1:
        top = tr.top_k(pos, 8)
        probs = np.array([p for _, p in top])
        fig = plots.top_k_bar(probs, [plots.plot_text(c) for c, _ in top], 8,
                              f"After '…{''.join(plots.plot_text(c) for c in chars[max(0, pos - 12):pos + 1])}'")
        st.plotly_chart(fig, width="stretch", key="gpt_next")
    with c2:
        st.markdown("**Surprise at each character**: bits of surprise, dark = unexpected, yellow = what the model predicted")
        sur = np.r_[0.0, tr.surprisal]
        st.html(plots.tokens_html(chars, weights=sur, highlight=pos, compact=True, font_px=20, scale="Viridis_r"))
        st.caption(f"Mean {float(tr.surprisal.mean()):.2f} bits per character (guessing: 6.6).")
        n = st.slider("Characters to write", 20, 300, 120, 20, key="gpt_n")
        temp = st.slider("Temperature", 0.0, 1.5, 0.8, 0.1, key="gpt_temp",
                         help="0 = always the likeliest (falls into loops); 0.8 reads well.")
        if st.button("Continue the text", key="gpt_go"):
            st.session_state.gpt_seed = st.session_state.get("gpt_seed", 0) + 1
        if st.session_state.get("gpt_seed"):
            out = gpt_continue(text, n, temp, st.session_state.gpt_seed, model)
            st.code(text[-200:] + out, language=None)


def view_cross() -> None:
    model = ui.load_or_report("date_translator", "default", "default")
    if model is None:
        return
    st.session_state.setdefault("date_text", DATE_EXAMPLES[0])

    def _load_date():
        st.session_state.date_text = st.session_state.date_example

    left, right = st.columns([1, 3], gap="large")
    with left:
        st.selectbox("Example", DATE_EXAMPLES, key="date_example", on_change=_load_date, persist_state="session")
        ui.weights_badge(model)
    with right:
        text = st.text_input("A date, written any way (the model answers in ISO form)", key="date_text",
                             persist_state="session")
    try:
        tr = translation(text, model)
    except InputError as e:
        st.error(str(e))
        return
    ok = "✓ a real date" if tr.valid else "✗ not a real date"
    st.markdown(f"<div style='font-size:34px'><code>{html.escape(tr.source)}</code> → "
                f"<b><code>{html.escape(tr.output) or '(nothing)'}</code></b>"
                f" <span style='font-size:22px'>{ok}</span></div>", unsafe_allow_html=True)
    show_notes(tr.notes)
    st.caption("Greedy decoding: the decoder starts from <s>, picks the likeliest character, reads it back as its "
               "next input, and stops at </s>.")
    Ld, H = tr.cross_attn.shape[:2]
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 1, Ld, key="date_layer") - 1
    head = c2.radio("Head", ["mean of heads"] + [f"head {h + 1}" for h in range(H)], horizontal=True, key="date_head")

    def pick(a):
        return a[layer].mean(0) if head.startswith("mean") else a[layer, int(head.split()[1]) - 1]

    src = tr.tokens
    produced = [plots.show_token(p) for p in tr.produced]
    st.subheader("Cross-attention: which input characters each output character reads")
    st.plotly_chart(plots.attention_heatmap(pick(tr.cross_attn), produced, src,
                                            f"Decoder layer {layer + 1}, {head}: output (rows) × input (columns)",
                                            row_title="output character being written", col_title="input character"),
                    width="stretch", key="date_cross")
    left, right = st.columns(2, gap="medium")
    with left:
        enc_layer = min(layer, tr.enc_self_attn.shape[0] - 1)
        st.plotly_chart(plots.attention_heatmap(pick(tr.enc_self_attn) if enc_layer == layer else tr.enc_self_attn[enc_layer].mean(0),
                                                src, src, f"Encoder self-attention, layer {enc_layer + 1}",
                                                row_title="input character", col_title="input character",
                                                square=False, height=620),
                        width="stretch", key="date_enc")
    with right:
        dec = pick(tr.dec_self_attn)
        dec = np.where(np.tril(np.ones_like(dec, bool)), dec, np.nan)
        st.plotly_chart(plots.attention_heatmap(dec, tr.dec_inputs, tr.dec_inputs,
                                                f"Decoder masked self-attention, layer {layer + 1}", masked=True,
                                                row_title="decoder reads", col_title="earlier decoder input",
                                                square=False, height=620),
                        width="stretch", key="date_dec")
    with st.expander("The decoder's choice at every step"):
        vocab = [plots.show_token(v) for v in TGT_VOCAB]
        chosen = [TGT_VOCAB.index(p) for p in tr.produced]
        st.plotly_chart(plots.prob_table(tr.probs, tr.dec_inputs, vocab, "Each step's probabilities "
                                         "(red box: the greedy pick)", chosen), width="stretch", key="date_probs")


# --- page ----------------------------------------------------------------------------------------

st.title("Attention explorer")
view = st.segmented_control("View", list(VIEWS), format_func=VIEWS.get, key="att_view", required=True,
                            default="head", bind="query-params")
view = view or "head"

if view in MINILM_VIEWS:
    got = minilm_input()
    if got is not None:
        model, enc, trace = got
        {"head": view_head, "model": view_model, "rollout": view_rollout, "steps": view_steps,
         "positions": view_positions}[view](model, enc, trace)
elif view == "bank":
    mdl = ui.load_or_report("minilm", "default", "default")
    if mdl is not None:
        view_bank(mdl)
elif view == "masked":
    view_masked()
else:
    view_cross()
