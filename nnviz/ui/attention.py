"""Streamlit pieces of the attention page: cached model calls that are not a run (recomputing one
head, generating text, position embeddings) and widgets several views share (example + text box,
layer and head sliders, query picker, a head's heatmap that pages a long text). Every widget that
defines a view is drawn through `scene`, so it lives in the URL and the session.

Defaults are the widgets' own (value=, index=, default=), as ui.scene asks: the URL leaves out a
value equal to the widget's default, so a link to "layer 1" must not read as "open on layer 4".
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from .. import plots
from ..analysis import attention as A
from ..models.attention import sinusoidal_positional_encoding
from ..models.seq2seq import DATE_EXAMPLES
from ..types import InputError
from . import clamp_state, scene, scene_text, step_buttons, weights_badge
from .export import chart, html
from .nextword import next_word_chart, sampled_words

# Example inputs the page offers, by what the model reads.
ENCODER_EXAMPLES = {
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
BANK_SENTENCES = ("I sat on the river bank and watched the water.", "I went to the bank to deposit my salary.",
                  "The bank approved my loan and opened an account.")
CAUSAL_EXAMPLES = {"Python code": "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n",
                   "English": "The quick brown fox jumps over the lazy dog, and the dog sleeps on."}
CROSS_EXAMPLES = {e: e for e in DATE_EXAMPLES}

WINDOW = 24  # query rows per readable window of a long text's heatmap
WINDOWS = [16, 24, 32, 40]
MAX_COLUMNS = 40  # key columns of a window's heatmap (top-k thinning keeps below this)
FULL_HEATMAP = 48  # up to this many tokens a whole head is one labelled heatmap
COLUMN_MODES = ["the same window", "each query's strongest keys (top-k)"]


# --- cached work that is not a run: views call these, they never run the model -------------------

@st.cache_resource(show_spinner=False, max_entries=6)
def head_analysis(name: str, weights_key: str, input_key: str, _trace) -> dict:
    """Per-trace derived arrays (numpy only): head patterns and attention rollout."""
    return {"patterns": A.head_patterns(_trace.attentions), "rollout": A.attention_rollout(_trace.attentions)}


@st.cache_resource(show_spinner=False, max_entries=8)
def attention_steps(name: str, weights_key: str, input_key: str, layer: int, head: int, _model, _trace) -> dict:
    """One head recomputed in float64 from its layer's input (no forward pass)."""
    return _model.attention_steps(_trace, layer, head)


@st.cache_data(show_spinner=False, max_entries=16)
def continuation(name: str, weights_key: str, text: str, n: int, temperature: float, seed: int, _model) -> str:
    return _model.generate(text, n, temperature, seed)


@st.cache_data(show_spinner=False, max_entries=4)
def position_similarity(name: str, weights_key: str, n: int, _model) -> np.ndarray:
    """(n, n) cosine between the model's first n learned position embeddings."""
    return _model.position_similarity(n)


@st.cache_data(show_spinner=False, max_entries=8)
def sinusoidal(n: int, d: int) -> np.ndarray:
    """(n, d) sinusoidal positional encoding (Vaswani et al.)."""
    return sinusoidal_positional_encoding(n, d).numpy()


# --- shared widgets ---------------------------------------------------------------------------------

def show_notes(notes: list[str]) -> None:
    for n in notes:
        st.info(n, icon=":material/info:")


def _fill_text(key: str, example_key: str, examples: dict[str, str]) -> None:
    st.session_state[key] = examples[st.session_state[example_key]]


def text_with_examples(model, examples: dict[str, str], key: str, example_key: str, label: str, *,
                       height: int | None = None) -> str:
    """An "Example" choice that fills the text box, the weights badge, and the text box (a text
    area with `height`, else one line). A new visitor, or a link that names only the example (a
    long text stays out of the URL), starts from the example's text."""
    left, right = st.columns([1, 3], gap="large")
    with left:
        example = scene(st.selectbox, "Example", list(examples), key=example_key, on_change=_fill_text,
                        args=(key, example_key, examples))
        weights_badge(model)
    with right:
        if height is None:
            return scene_text(st.text_input, label, key=key, default=examples[example])
        return scene_text(st.text_area, label, key=key, default=examples[example], height=height)


def encoder_tokens(trace, text: str) -> None:
    """An encoder's notes and its tokens as chips: continuations beige, [UNK] red with the text it replaced."""
    notes = list(trace.notes)
    if any(ord(ch) > 0x024F and ch.isalpha() for ch in text):
        notes.append("MiniLM's vocabulary is English: letters of other scripts become single-character pieces "
                     "(or [UNK]), so its attention there means little.")
    show_notes(notes)
    T = len(trace.tokens)
    unknown = [i for i, t in enumerate(trace.tokens) if t == "[UNK]"]
    st.markdown(f"**{T} tokens**: {T - 2} wordpieces + [CLS] + [SEP]. "
                "Beige = a word's continuation (##), red = not in the vocabulary.")
    html(plots.tokens_html(trace.tokens, unknown=unknown, originals={i: text[slice(*trace.offsets[i])] for i in unknown},
                           font_px=20 if T > 64 else 22, show_index=T > 16, max_height_px=220 if T > 64 else None))


def _next_sample(key: str) -> None:
    st.session_state[key] = min(st.session_state.get(key, 0) + 1, 9999)


def continue_text(name: str, weights_key: str, model, text: str, prefix: str = "gpt") -> None:
    """Length and temperature sliders, a button that draws the next sample, and the sample's
    number in the scene (so a link shows the same continuation); the text continued."""
    n = scene(st.slider, "Characters to write", 20, 300, value=120, step=20, key=f"{prefix}_n")
    temp = scene(st.slider, "Temperature", 0.0, 1.5, value=0.8, step=0.1, key=f"{prefix}_temp",
                 help="0 = always the likeliest (falls into loops); 0.8 reads well.")
    st.button("Continue the text", key=f"{prefix}_go", on_click=_next_sample, args=(f"{prefix}_seed",))
    seed = scene(st.number_input, "Sample (each click draws the next one; 0 = none yet)", 0, 9999, key=f"{prefix}_seed")
    if seed:
        st.code(text[-200:] + continuation(name, weights_key, text, n, temp, seed, model), language=None)
        sampled_words(name, weights_key, model, text, temp, seed)


def sinusoidal_explorer() -> None:
    """The sinusoidal encoding (Vaswani et al.) for a chosen size, as a map and as waves."""
    st.latex(r"PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right),\qquad "
             r"PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)")
    c1, c2, c3 = st.columns([2, 2, 3])
    n = scene(c1.select_slider, "Positions", [16, 32, 64, 128, 256, 512], value=64, key="pe_n")
    d = scene(c2.select_slider, "Dimensions d", [16, 32, 64, 128, 256, 384, 512], value=128, key="pe_d")
    if any(x >= d for x in st.session_state.get("pe_dims", [])):  # fewer dimensions: keep those that fit
        st.session_state["pe_dims"] = [x for x in st.session_state["pe_dims"] if x < d]
    dims = scene(c3.multiselect, "Waves for dimensions", list(range(d)), default=[x for x in (0, 1, 8, 32) if x < d],
                 key="pe_dims") or [0]
    pe = sinusoidal(n, d)
    left, right = st.columns([3, 2], gap="medium")
    chart(plots.positional_heatmap(pe, f"PE: {n} positions × {d} dimensions", 520), width="stretch",
          key="pe_heat", where=left)
    chart(plots.positional_waves(pe, dims, "Columns of PE as waves over positions"), width="stretch",
          key="pe_waves", where=right)
    st.caption("Low dimensions wiggle fast, high ones slowly: like the hands of a clock, together they give every "
               "position a unique code, and PE[pos + k] is a fixed rotation of PE[pos].")


def learned_positions(name: str, weights_key: str, model, lay: Layout | None = None, screen: int | None = None) -> None:
    """The encoder's learned position embeddings beside sinusoidal ones of its width: cosine
    between positions. Presenting (`screen` px high): one figure under the row of controls."""
    if screen is None:
        st.subheader("What MiniLM learned instead")
    where = lay.controls if screen and lay is not None else st
    m = scene(where.select_slider, "Compare the first n positions", [32, 64, 128, 256, 512], value=128,
              key="pe_sim_n", **({"width": 300} if screen else {}))
    D = model.config.hidden_size
    sin = A.cosine_matrix(sinusoidal(m, D))
    learned = position_similarity(name, weights_key, m, model)
    titles = (f"Sinusoidal (d = {D}): cosine", "MiniLM's learned positions: cosine")
    if screen:
        chart(plots.attention.matrix_pair(sin, learned, titles, zmin=-1, zmax=1, scale=plots.DIVERGING,
                                          colorbar_title="cosine", height=screen), width="stretch", key="pe_sim_pair")
    else:
        for col, key, title, sim in zip(st.columns(2, gap="medium"), ("pe_sim_sin", "pe_sim_learned"), titles,
                                        (sin, learned)):
            chart(plots.matrix_image(sim, title, zmin=-1, zmax=1, scale=plots.DIVERGING, colorbar_title="cosine",
                                     x_title="position", y_title="position", height=520), width="stretch", key=key,
                  where=col)
    st.caption(f"Both have a bright diagonal band: nearby positions look alike. MiniLM learned its "
               f"{model.config.max_position_embeddings} position vectors from data (BERT-style), nobody wrote a "
               "formula for them.")


def next_characters(name: str, weights_key: str, model, text: str, trace) -> None:
    """A causal model's prediction after a chosen position, its surprise at every character, and
    continuations of the text."""
    st.subheader("Next-character predictions")
    chars, T = trace.tokens, len(trace.tokens)
    if st.session_state.get("gpt_pos_for") != text:  # a new text opens on its last character
        st.session_state.update(gpt_pos_for=text, gpt_pos=T - 1)
    pos = scene(st.slider, "After the character at position", 0, T - 1, value=T - 1, key="gpt_pos") if T > 1 else 0
    c1, c2 = st.columns([2, 3], gap="large")
    top = trace.top_k(pos, 8)
    chart(plots.top_k_bar(np.array([p for _, p in top]), [plots.plot_text(c) for c, _ in top], 8,
                          f"After '…{''.join(plots.plot_text(c) for c in chars[max(0, pos - 12):pos + 1])}'"),
          width="stretch", key="gpt_next", where=c1)
    next_word_chart(name, weights_key, model, "".join(chars[: pos + 1]), "#3b6fb6", "gpt_words", c1)
    with c2:
        st.markdown("**Surprise at each character**: bits of surprise, dark = unexpected, yellow = what the model predicted")
        html(plots.tokens_html(chars, weights=np.r_[0.0, trace.surprisal], highlight=pos, compact=True, font_px=20,
                               scale="Viridis_r"))
        st.caption(f"Mean {float(trace.surprisal.mean()):.2f} bits per character (guessing: 6.6).")
        continue_text(name, weights_key, model, text)


def layer_head(n_layers: int, n_heads: int, prefix: str, *, head: bool = True,
               start: tuple[int, int] = (1, 1), row=None) -> tuple[int, int]:
    """Layer and head sliders (1-based on screen, 0-based returned); `start` is where they open.
    With `row` (a horizontal container) they go side by side into it."""
    c1, c2 = (row, row) if row is not None else (
        c.container(horizontal=True, vertical_alignment="bottom", gap="small") for c in st.columns(2))
    w = {"width": 220} if row is not None else {}
    layer = scene(c1.slider, "Layer", 1, n_layers, value=min(start[0], n_layers), key=f"{prefix}_layer", **w,
                  help="Layer 1 reads the embeddings; each next layer reads the one before.")
    h = 1
    if head:
        h = scene(c2.slider, "Head", 1, n_heads, value=min(start[1], n_heads), key=f"{prefix}_head", **w,
                  help=f"Each of the {n_heads} heads has its own W_Q, W_K, W_V and its own attention pattern.")
    # the arrow keys step the last slider: the head, or the layer where there is no head
    step_buttons(f"{prefix}_head" if head else f"{prefix}_layer", list(range(1, (n_heads if head else n_layers) + 1)),
                 c2 if head else c1, what="head" if head else "layer")
    return layer - 1, h - 1


def token_option(tokens: list[str]):
    """A short option label, "3: it": a bound selectbox puts it in the URL."""
    return lambda i: f"{i}: {plots.show_token(tokens[i])}"


def query_picker(tokens: list[str], key: str, label: str = "Query token", width: int | str = "stretch") -> int:
    """A token of `tokens` (its position); a new text opens on an interesting one, which is also
    the widget's default (so a link to token 0 keeps its 0)."""
    start = A.default_query(tokens)
    if st.session_state.get(f"{key}_for") != tokens:
        st.session_state[f"{key}_for"] = tokens
        st.session_state[key] = start
    return scene(st.selectbox, label, list(range(len(tokens))), index=start, key=key, format_func=token_option(tokens),
                 width=width)


def special_scale(att: np.ndarray, tokens: list[str], key: str) -> float | None:
    """A toggle, off by default (an honest scale): scale colours to the largest weight on ordinary
    tokens, so the weight idle heads park on [CLS] / [SEP] does not wash out everything else. The
    heatmap then outlines the columns above the scale; a caption says what its top means.
    Returns that zmax, or None."""
    zmax = A.special_zmax(att, tokens)
    if zmax is None:
        return None
    on = scene(st.toggle, "Colour scale ignores the [CLS] and [SEP] columns (they soak up idle attention)",
               value=False, key=key)
    if not on:
        return None
    above = [tokens[j] for j in (0, len(tokens) - 1) if float(np.max(att[:, j])) > zmax]
    st.caption(f"The brightest colour now means {zmax:.2f} or more, the largest weight on an ordinary token. "
               + (f"The dashed {' and '.join(above)} column{'s go' if len(above) > 1 else ' goes'} above it, up to "
                  f"{float(np.max(att)):.2f}: there, bright does not mean the largest weight." if above else ""))
    return zmax


class Layout:
    """Where a view draws. Normal: everything in page order. Presentation (`present`): one row
    of essential controls, the key figure right under it (both made at the top of the page), and
    secondary controls and text folded into expanders below."""

    def __init__(self, present: bool):
        self.present = present
        self._row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium") if present else None
        self._hero = st.container() if present else None

    @property
    def controls(self):
        """The row for essential sliders in presentation mode, else None (they make their own columns)."""
        return self._row

    def row(self):
        return self._row if self.present else st.container()

    def hero(self):
        return self._hero if self.present else st.container()

    def fold(self, label: str):
        return st.expander(label) if self.present else st.container()


def windowed_head(att: np.ndarray, q_labels: list[str], k_labels: list[str], key: str, title: str, *,
                  masked: bool = False, lines: bool = True, shared_scale: bool = False,
                  zmax: float | None = None, half_width: bool = False, screen: int | None = None) -> None:
    """One head's (Tq, Tk) attention. Short: one labelled heatmap (+ lines). Long: the whole head
    as an image with the window outlined, and the window as a labelled heatmap whose columns are
    either the same tokens or each query's strongest keys (top-k thinning). `screen`: a
    projector's height in px for a short head, which then spans the width, its lines folded."""
    shown = A.mask_future(att) if masked else att
    if max(att.shape) <= FULL_HEATMAP:
        _whole_head(att, shown, q_labels, k_labels, key, title, masked=masked, lines=lines,
                    shared_scale=shared_scale, zmax=zmax, half_width=half_width, screen=screen)
    else:
        _paged_head(att, shown, q_labels, k_labels, key, title, masked=masked, lines=lines,
                    shared_scale=shared_scale, zmax=zmax, screen=screen)


def _whole_head(att, shown, q_labels, k_labels, key, title, *, masked, lines, shared_scale, zmax, half_width,
                screen=None):
    if screen:
        left, right = st.container(), (st.expander("Head view (lines)") if lines else None)
    else:  # the map across the page (every token label fits its row), the head view's lines under it
        left, right = st.container(), (st.columns(2, gap="medium")[0] if lines else None)
    with left:
        # on a projector the rows need the title's height; the row of controls above says which head
        chart(plots.attention_heatmap(shown, q_labels, k_labels, None if screen and not half_width else title,
                                      masked=masked,
                                      shared_scale=shared_scale, zmax=zmax,
                                      square=not (half_width or screen),
                                      height=screen or (620 if half_width else None),
                                      # the page column it gets: 2/3 of the main area beside the lines
                                      width_hint=540 if screen and half_width else
                                      None if screen or half_width else 760),
              width="stretch", key=f"{key}_heat")
    if right is None:
        return
    with right:
        head_lines(att, q_labels, k_labels, key)


@st.fragment  # picking the lines' token redraws only the lines, not the map beside them
def head_lines(att: np.ndarray, q_labels: list[str], k_labels: list[str], key: str) -> None:
    clamp_state(f"{key}_lineq", -1, len(q_labels) - 1, -1)
    label = token_option(q_labels)
    q = scene(st.selectbox, "Lines from", [-1] + list(range(len(q_labels))), key=f"{key}_lineq",
              format_func=lambda i: "every token" if i < 0 else label(i))
    chart(plots.head_lines(att, q_labels, k_labels, "Lines: opacity = weight", query=None if q < 0 else q),
          width="stretch", key=f"{key}_lines")


def _paged_head(att, shown, q_labels, k_labels, key, title, *, masked, lines, shared_scale, zmax, screen=None):
    """`screen`: the window's heatmap first, across the projector; its settings and the overview folded."""
    Tq, Tk = att.shape
    first = st.container() if screen else None
    folded = st.expander("Window through the text, and the whole map") if screen else st.container()
    c1, c2, c3 = folded.columns([3, 2, 3])
    win = scene(c2.select_slider, "Window (tokens)", WINDOWS, value=WINDOW, key=f"{key}_win",
                help="How many query rows the readable heatmap shows at once.")
    clamp_state(f"{key}_start", 0, Tq - win, 0)
    start = scene(c1.slider, "Window starts at token", 0, Tq - win, step=1, key=f"{key}_start",
                  help="Slide the window through the long text; the red box on the left follows.")
    mode = scene(c3.radio, "Key columns", COLUMN_MODES, key=f"{key}_cols", horizontal=True,
                 help="Top-k: for each query row, the k keys with the largest weights anywhere in the text, "
                      "plus [CLS] and [SEP].")
    stop = start + win
    rows = np.arange(start, stop)
    cols, k = A.window_columns(att, start, stop, mode != COLUMN_MODES[0], MAX_COLUMNS)
    window = (start, stop, int(cols.min()), int(cols.max()) + 1)
    left, right = (folded, first) if screen else st.columns([1, 2], gap="medium")
    with left:
        top = zmax or (1.0 if shared_scale else max(float(att.max()), 1e-6))
        chart(plots.matrix_image(shown, f"All {Tq}×{Tk}", window=window, height=460,
                                 zmin=0.0, zmax=top),
              width="stretch", key=f"{key}_overview")
        st.caption(f"The whole map as one image: {Tq * Tk:,} weights, too many to label. The red box is the window on the right.")
    with right:
        note = f", columns: top-{k} keys per query ({len(cols)})" if k else ""
        chart(plots.attention_heatmap(shown[np.ix_(rows, cols)], [q_labels[i] for i in rows],
                                      [k_labels[j] for j in cols], f"{title}: rows {start}-{stop - 1}{note}",
                                      q_ids=rows, k_ids=cols, masked=masked, shared_scale=shared_scale,
                                      # normal: 2/3 of the main area; rows as tall as their labels
                                      # need (cells then are not square: 24 squares would be 12 px)
                                      zmax=zmax, height=screen, square=False,
                                      width_hint=1100 if screen else 520),
              width="stretch", key=f"{key}_heat")
    if lines:
        with st.expander("Head view (lines) for this window"):
            chart(plots.head_lines(att[np.ix_(rows, cols)], [q_labels[i] for i in rows],
                                   [k_labels[j] for j in cols], "Each query's 3 strongest lines", top_k=3),
                  width="stretch", key=f"{key}_lines")


def clicked_point(chart_key: str):
    """The customdata of the point a chart's selection (on_select) holds, or None."""
    try:
        points = st.session_state[chart_key]["selection"]["points"]
    except (KeyError, TypeError):
        return None
    return points[0].get("customdata") if points else None


# --- word in context ---------------------------------------------------------------------------------

def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def occurrence(trace, word: str, key: str, name: str) -> int | None:
    """The token position of the `word` a sentence's vectors are read at: a choice, bound to the
    scene by occurrence number, when the sentence has the word more than once. None when it has
    none (word_similarity then says so)."""
    found = trace.find(word)
    if len(found) < 2:
        st.session_state.pop(key, None)  # a stale choice from an older sentence
        return found[0] if found else None
    if st.session_state.get(key, 0) >= len(found):
        st.session_state[key] = 0
    n = scene(st.selectbox, f"Which '{word}' in {name}", list(range(len(found))), key=key, width=260,
              format_func=lambda k: f"{_ordinal(k + 1)} of {len(found)} (token {found[k]})")
    return found[n]


def order_note(word: str, ab_end: float, bc_end: float) -> str | None:
    """One sentence when the lesson's ordering (A vs B less alike than B vs C) does not hold."""
    if ab_end < bc_end:
        return None
    return (f"With these sentences the order is the other way round: after the last layer A vs B is "
            f"{ab_end:.2f} and B vs C {bc_end:.2f}, so MiniLM puts the '{word}' of A "
            f"{'as close to' if ab_end == bc_end else 'closer to'} B's than C's is.")


def word_in_context(model, run, lay: Layout) -> None:
    """The "bank" demo: one word's vectors in three sentences, cosine layer by layer (the key
    figure), the occurrence compared when a sentence has the word twice, and what it attends to."""
    with lay.fold("Sentences and word"):
        weights_badge(model)
        st.markdown("The same word gets the **same vector** going in (the embeddings), and context pulls the "
                    "vectors apart layer by layer. Type your own sentences: the word must be one token in each.")
        cols = st.columns([3, 3, 3, 1])
        texts = [scene_text(col.text_input, name, key=f"bank_{i}", default=text)
                 for i, (col, name, text) in enumerate(zip(cols, "ABC", BANK_SENTENCES))]
        word = scene_text(cols[3].text_input, "Word", key="bank_word", default="bank").strip().lower()
    if not word:
        st.error("Type the word to follow, for example 'bank'.")
        return
    try:
        with st.spinner("Running MiniLM on the sentences..."):
            traces = [run(texts[0]), run(texts[1])] + ([run(texts[2])] if texts[2].strip() else [])
        with lay.row():
            picks = [occurrence(tr, word, f"bank_occ_{i}", name) for i, (tr, name) in enumerate(zip(traces, "ABC"))]
        ab = A.word_similarity(traces[0], traces[1], word, picks[0], picks[1])
        bc = A.word_similarity(traces[1], traces[2], word, picks[1], picks[2]) if len(traces) > 2 else None
    except InputError as e:
        st.error(str(e))
        return
    series = {f"{n} ({r['cosine'][-1]:.2f} at the end)": r["cosine"] for n, r in (("A vs B", ab), ("B vs C", bc)) if r}
    with lay.hero():
        chart(plots.cosine_by_layer(series, f"How similar are the '{word}' vectors, layer by layer?", word,
                                    height=560 if lay.present else 480), width="stretch", key="bank_cos")
        st.caption("Compared: the '" + word + "' at " + ", ".join(
            f"token {p} of {n}" for p, n in zip(picks, "ABC")) + ". Cosine 1 = the same direction. At the "
            "embeddings both are the same token (only the position differs); after each layer the vector also "
            "carries its sentence.")
        note = None if bc is None else order_note(word, float(ab["cosine"][-1]), float(bc["cosine"][-1]))
        if note:
            st.info(note)
    with lay.fold("What the word attends to"):
        layer = scene(st.slider, "What the word attends to in layer", 1, len(ab["cosine"]) - 1, key="bank_layer") - 1
        for col, (name, tr, idx) in zip(st.columns(2), (("A", traces[0], ab["index_a"]), ("B", traces[1], ab["index_b"]))):
            w = A.head_average(tr.attentions[layer:layer + 1])[0, idx]
            chart(plots.token_bar(w, tr.tokens, f"{name}: '{word}' in layer {layer + 1} (mean of heads)",
                                  highlight=idx, height=400, width_px=380), width="stretch", key=f"bank_bar_{name}",
                  where=col)


ROLLOUT_TEXT = ("**Average over heads**: what layer {l} does as a whole. **Rollout** (Abnar & Zuidema, 2020): "
                "multiply the head-averaged maps of layers 1..{l}, each mixed half-and-half with the identity "
                "for the skip connection, to follow how much of each input token reaches each position.")


def rollout_pair(lay: Layout, avg, roll, tokens, layer: int, n_heads: int, screen: int | None) -> None:
    """The head average and the rollout as one figure on one scale; presenting (`screen` px
    high), it fills the projector's first screen."""
    with lay.fold("What average and rollout are"):
        st.markdown(ROLLOUT_TEXT.format(l=layer + 1))
        z = special_scale(np.maximum(avg, roll), tokens, "att_scale_roll")
    fig = plots.attention.attention_comparison(
        [(f"Layer {layer + 1}: mean of {n_heads} heads", avg), (f"Rollout through layers 1-{layer + 1}", roll)],
        tokens, diff_last=False, height=screen, zmax=z, width_px=1110 if screen else 790)
    chart(fig, width="stretch", key="roll_pair", where=lay.hero())


def rollout_maps(lay: Layout, avg, roll, tokens, layer: int, n_heads: int, screen: int | None) -> None:
    """The head average and the rollout side by side, each on its own scale (windowed when long)."""
    with lay.hero():
        left, right = st.columns(2, gap="medium")
        st.markdown(ROLLOUT_TEXT.format(l=layer + 1))
        z_avg = special_scale(avg, tokens, "att_scale_roll")
    with left:
        windowed_head(avg, tokens, tokens, "avg", f"Layer {layer + 1}: mean of {n_heads} heads", lines=False,
                      zmax=z_avg, half_width=True, screen=screen)
    with right:
        windowed_head(roll, tokens, tokens, "roll", f"Rollout through layers 1-{layer + 1}", lines=False,
                      zmax=None if z_avg is None else A.special_zmax(roll, tokens), half_width=True,
                      screen=screen)
