"""Attention explorer: a pretrained encoder's heads step by step, positional encoding, masked
self-attention (a character GPT) and cross-attention (a date translator); models picked from the
registry by the trace they return. Every run is ui.get_trace (one cached nnviz.run per input), so
a view change only slices a cached trace. Every view-defining widget is in the scene (ui.scene).
"""
import numpy as np
import streamlit as st

from nnviz import plots, ui
from nnviz.analysis import attention as A
from nnviz.models import list_models
from nnviz.types import InputError
from nnviz.ui import attention as V
from nnviz.ui import classify
from nnviz.ui.export import chart, html, pack_button

present = ui.page_setup()
pack_button("Attention explorer")

ENCODER, CAUSAL, CROSS = (list_models(trace=kind)[0] for kind in ("encoder", "causal", "cross"))
WEIGHTS = "default"
VIEWS = ("One head", "All heads", "Average & rollout", "Word in context", "Step by step", "Positions",
         "Masked (GPT)", "Cross-attention", "Classify text")
START = (4, 2)  # the encoder opens on layer 4, head 2, where 'it' looks at 'animal'
STEP_KEYS = 16  # keys shown with numbers in the step-by-step view
GPT_SHOW = ["after the mask (attention weights)", "before the mask (scores q·k/√d)"]
SCREEN = 560  # px of a key heatmap in presentation mode: a 1280x720 projector's first screen under the controls


def run_encoder(model, raw, kind: str = "text"):
    return ui.get_trace(ENCODER, WEIGHTS, ui.input_key(kind, raw), model, raw)


def encoder_layer_head(trace, head: bool = True) -> tuple[int, int]:
    return V.layer_head(trace.n_layers, trace.n_heads, "att", head=head, start=START, row=LAY.controls)


def text_trace(name: str, examples: dict[str, str], key: str, label, *, height: int | None = None,
               blank: str | None = None):
    """A model, its text (examples + box, `label(model.config)`) and its run: (model, text, trace),
    or None after one sentence (`blank`: the sentence for a blank text, if the model takes one)."""
    model = ui.load_or_report(name, WEIGHTS, WEIGHTS)
    if model is None:
        return None
    text = V.text_with_examples(model, examples, f"{key}_text", f"{key}_preset", label(model.config), height=height)
    if blank and not text.strip():
        st.error(blank)
        return None
    try:
        with st.spinner(f"Running {name}..."):
            return model, text, ui.get_trace(name, WEIGHTS, ui.input_key("text", text), model, text)
    except InputError as e:
        st.error(str(e))
        return None


def encoder_input():
    """The encoder's text, run and tokens: (model, input key, trace), or None after a message."""
    with LAY.fold("Text and tokens"):
        got = text_trace(ENCODER, V.ENCODER_EXAMPLES, "att", height=110,
                         label=lambda c: f"Your text (MiniLM reads at most {c.max_position_embeddings} tokens)")
        if got is None:
            return None
        model, text, trace = got
        V.encoder_tokens(trace, text)
    return model, ui.input_key("text", text), trace


def view_head(model, key, trace) -> None:
    layer, head = encoder_layer_head(trace)
    pat = V.head_analysis(ENCODER, WEIGHTS, key, trace)["patterns"]
    att = trace.attentions[layer, head]
    with LAY.hero():
        box = st.container()
        st.caption(f"Layer {layer + 1}, head {head + 1} {A.describe_head(pat, layer, head)}. "
                   "Each row is one query token's attention: it sums to 1 over the keys.")
        zmax = V.special_scale(att, trace.tokens, "att_scale_head")  # under the map: drawn first, needed by it
    with box:
        V.windowed_head(att, trace.tokens, trace.tokens, "head", f"Layer {layer + 1}, head {head + 1}: who attends to whom",
                        zmax=zmax, screen=SCREEN if present else None)


def _open_head(chart_key: str, layer: int | None = None) -> None:
    """A thumbnail click (on_select runs before the sliders are drawn): open that head."""
    picked = V.clicked_point(chart_key)
    if picked is not None:
        layer, head = picked if isinstance(picked, (list, tuple)) else (layer, picked)
        st.session_state.update(att_layer=int(layer) + 1, att_head=int(head) + 1, att_view=VIEWS[0])


def view_model(model, key, trace) -> None:
    L, H = trace.n_layers, trace.n_heads
    layer, head = encoder_layer_head(trace)
    described = A.describe_heads(V.head_analysis(ENCODER, WEIGHTS, key, trace)["patterns"])
    with LAY.hero():
        if not present:  # the row's sliders say it
            st.subheader(f"All {H} heads of layer {layer + 1}")
        chart(plots.attention.layer_heads(trace.attentions[layer], described[layer], head), width="stretch",
              key="att_layer_mosaic", on_select=lambda: _open_head("att_layer_mosaic", layer),
              selection_mode="points")
        st.caption(f"All {H} heads of layer {layer + 1}: same input, same layer, twelve different patterns. Each "
                   "thumbnail is scaled to its own largest weight. Click one to open it.")
    st.subheader(f"The whole model: {L} layers × {H} heads")
    st.caption("Rows are layers (1 at the top), columns are heads. Hover for what a head mostly does; click to open it.")
    chart(plots.attention.all_heads(trace.attentions, described, (layer, head)), width="stretch",
          key="att_model_mosaic", on_select=lambda: _open_head("att_model_mosaic"), selection_mode="points")


def view_rollout(model, key, trace) -> None:
    layer, _ = encoder_layer_head(trace, head=False)
    roll = V.head_analysis(ENCODER, WEIGHTS, key, trace)["rollout"][layer]
    avg = A.head_average(trace.attentions[layer:layer + 1])[0]
    tokens = trace.tokens
    if len(tokens) <= V.FULL_HEATMAP:  # one figure, both maps on one scale (presenting: filling the screen)
        V.rollout_pair(LAY, avg, roll, tokens, layer, trace.n_heads, SCREEN if present else None)
    else:
        V.rollout_maps(LAY, avg, roll, tokens, layer, trace.n_heads, SCREEN if present else None)
    with LAY.row():
        q = V.query_picker(tokens, "att_rq", "Which inputs flow into this position?", width=300 if present else "stretch")
    title = f"Rollout after layer {layer + 1} for '{plots.plot_text(tokens[q])}' (#{q})"
    chart(plots.token_bar(roll[q], tokens, title, highlight=q, y_title="share of the input",
                          height=380 if len(tokens) <= 64 else 340), width="stretch", key="att_rbar")
    html(plots.tokens_html(tokens, weights=roll[q], highlight=q, font_px=20,
                           max_height_px=220 if len(tokens) > 64 else None))


def view_steps(model, key, trace) -> None:
    layer, head = encoder_layer_head(trace)
    tokens, T = trace.tokens, len(trace.tokens)
    with LAY.row():
        q = V.query_picker(tokens, "att_sq", width=260 if present else "stretch")
    s = V.attention_steps(ENCODER, WEIGHTS, key, layer, head, model, trace)
    D, dh = s["X"].shape[1], s["Q"].shape[1]
    keys, rows = A.step_selection(s["probs"][q], q, STEP_KEYS)
    note = "" if len(keys) == T else f" (the {STEP_KEYS} keys with the largest weights of {T})"
    klab, query = [tokens[j] for j in keys], plots.plot_text(tokens[q])
    st.markdown(f"**Layer {layer + 1}, head {head + 1}, query '{plots.show_token(tokens[q])}' (#{q})**, recomputed "
                f"from the layer's input in float64 and checked against the model's own numbers at every step.")
    st.subheader("1. X → Q, K, V")
    st.latex(rf"Q = X W_Q + b_Q,\quad K = X W_K + b_K,\quad V = X W_V + b_V\qquad X \in \mathbb{{R}}^{{T\times {D}}},\;"
             rf"W \in \mathbb{{R}}^{{{D}\times {dh}}}")
    figs = plots.attention.projections(s, rows, [tokens[i] for i in rows], int(np.searchsorted(rows, q)), layer,
                                       show_x=T <= 64)
    if "X" in figs:
        chart(figs.pop("X"), width="stretch", key="st_x")
    for col, (name, fig) in zip(st.columns(3), figs.items()):
        chart(fig, width="stretch", key=f"st_{name}", where=col)
    if len(rows) < T:
        st.caption(f"Rows shown: the query and the keys it weights most ({len(rows)} of {T} tokens).")
    with LAY.fold("2. Scores, scaling, softmax: the formulas"):  # presenting: the figure alone on the first screen
        st.subheader("2. Scores, scaling, softmax")
        st.latex(rf"\text{{score}}_j = q \cdot k_j,\qquad \frac{{q \cdot k_j}}{{\sqrt{{d_k}}}} = "
                 rf"\frac{{q \cdot k_j}}{{\sqrt{{{dh}}}}},\qquad p_j = \frac{{e^{{s_j}}}}{{\sum_{{j'}} e^{{s_{{j'}}}}}}")
    with LAY.hero():
        chart(plots.query_steps(s["QK"][q, keys], s["scaled"][q, keys], s["probs"][q, keys], klab,
                                f"Query '{query}' against each key{note}", d_k=dh, key_ids=keys,
                                height=SCREEN if present else 520),
              width="stretch", key="st_row")
        if len(keys) < T:
            st.caption(f"The softmax runs over all {T} keys; the {STEP_KEYS} shown carry "
                       f"{float(s['probs'][q, keys].sum()):.0%} of the weight.")
    st.subheader("3. Weighted sum of the values")
    st.latex(r"\text{output} = \sum_j p_j\, v_j")
    chart(plots.weighted_sum(s["probs"][q, keys], s["V"][keys], klab, f"Output of head {head + 1} for '{query}'",
                             key_ids=keys), width="stretch", key="st_sum")
    st.subheader("Checked against the model")
    st.markdown(plots.attention.check_table(A.step_differences(
        s, trace.queries[layer, head], trace.keys[layer, head], trace.values[layer, head], trace.attentions[layer, head])))
    st.caption("The model computes in float32; this page recomputes in float64 from the layer input and the "
               "head's weights. Differences around 1e-6 are float32 rounding.")


def view_positions(model, key, trace) -> None:
    st.subheader("Sinusoidal positional encoding (Vaswani et al., 2017)")
    V.sinusoidal_explorer()
    with LAY.hero():
        V.learned_positions(ENCODER, WEIGHTS, model, LAY, SCREEN if present else None)
    shuffled_words(model, trace)


def shuffled_words(model, trace) -> None:
    st.subheader("Shuffle the words")
    tokens = trace.tokens
    if len(A.word_groups(tokens)) < 2:
        st.info("Type at least two words to shuffle them.")
        return
    seed = ui.scene(st.number_input, "Shuffle number", 0, 999, key="pe_seed",
                    help="A different number, a different order.")
    perm = A.shuffle_words(tokens, int(seed))
    with st.spinner("Running MiniLM on the shuffled words..."):
        shuf = run_encoder(model, [int(trace.ids[i]) for i in perm], "ids")
    st.markdown("**Original:** " + " ".join(tokens[1:-1]).replace(" ##", "") +
                "  \n**Shuffled:** " + " ".join(shuf.tokens[1:-1]).replace(" ##", ""))
    st.caption("Whole words move; a word's pieces (##) stay together; [CLS] and [SEP] keep their places.")
    layer, head = encoder_layer_head(trace)
    back = A.unpermute(shuf.attentions[layer, head], perm)
    orig = trace.attentions[layer, head]
    st.metric("Sentence vectors, original vs shuffled (cosine)", f"{A.cosine(trace.embedding, shuf.embedding):.3f}",
              help="1 = MiniLM thinks they mean the same. Without positions it would be exactly 1.")
    chart(plots.attention.shuffle_comparison(orig, back, tokens, f"Layer {layer + 1}, head {head + 1}"),
          width="stretch", key="pe_shuffle")
    st.caption("Attention itself has no idea of order: without position embeddings, shuffling the words would "
               "only shuffle the rows and columns, and the middle map would equal the left one exactly. "
               "Every difference on the right comes from the positions MiniLM adds to each token.")


def view_masked() -> None:
    with LAY.fold("Text"):
        got = text_trace(CAUSAL, V.CAUSAL_EXAMPLES, "gpt", height=140, blank="Type some text: the input is empty or only spaces.",
                         label=lambda c: f"Text for the character GPT (it reads the last {c.block_size} characters)")
    if got is None:
        return
    model, text, tr = got
    V.show_notes(tr.notes)
    layer, head = V.layer_head(*tr.attentions.shape[:2], "gpt", row=LAY.controls)
    with LAY.fold("Before the mask"):
        show = ui.scene(st.radio, "Show", GPT_SHOW, horizontal=True, key="gpt_show")
    chars, T = tr.tokens, len(tr.tokens)
    hero = LAY.hero()
    hero.caption("A decoder must not read the future: the causal mask blocks every key to the right of the query "
               "(grey), so each row only spreads its weight over the characters up to itself.")
    if show == GPT_SHOW[0]:
        with hero:
            V.windowed_head(tr.attentions[layer, head], chars, chars, "gpt", f"{CAUSAL} layer {layer + 1}, head "
                            f"{head + 1}: masked self-attention", masked=True, lines=False, screen=SCREEN if present else None)
    else:
        k = min(T, V.FULL_HEATMAP)
        title = f"Scores before the mask (first {k} of {T} characters); above the line is the future"
        chart(plots.attention.causal_scores(tr.scores[layer, head, :k, :k], chars[:k], title), width="stretch",
            key="gpt_scores", where=hero)
    V.next_characters(CAUSAL, WEIGHTS, model, text, tr)


def view_cross() -> None:
    with LAY.fold("Date"):
        got = text_trace(CROSS, V.CROSS_EXAMPLES, "date", lambda c: "A date, written any way (the model answers in ISO form)")
    if got is None:
        return
    tr = got[2]
    html(plots.attention.translation_html(tr.source, tr.output, tr.valid), markdown=True)
    V.show_notes(tr.notes)
    st.caption("Greedy decoding: the decoder starts from <s>, picks the likeliest character, reads it back as its "
               "next input, and stops at </s>.")
    Ld, H = tr.cross_attn.shape[:2]
    c1, c2 = (LAY.controls,) * 2 if present else st.columns(2)
    layer = ui.scene(c1.slider, "Layer", 1, Ld, key="date_layer", width=220 if present else "stretch") - 1
    shown = ui.scene(c2.radio, "Head", ["mean of heads"] + [f"head {h + 1}" for h in range(H)], horizontal=True,
                     key="date_head")
    head = None if shown.startswith("mean") else int(shown.split()[1]) - 1
    maps = plots.attention.translation_maps(tr, layer, head)
    with LAY.hero():
        st.subheader("Cross-attention: which input characters each output character reads")
        chart(maps["cross"], width="stretch", key="date_cross")
    left, right = st.columns(2, gap="medium")
    chart(maps["encoder"], width="stretch", key="date_enc", where=left)
    chart(maps["decoder"], width="stretch", key="date_dec", where=right)
    with st.expander("The decoder's choice at every step"):
        chart(plots.prob_table(tr.probs, tr.dec_inputs, [plots.show_token(v) for v in tr.labels],
                               "Each step's probabilities (red box: the greedy pick)",
                               [tr.labels.index(p) for p in tr.produced]), width="stretch", key="date_probs")


# --- page ----------------------------------------------------------------------------------------

st.title("Attention explorer")
LAY = V.Layout(present)  # presentation: a row of controls, then the view's key figure, the rest folded
with LAY.row():  # presentation: a narrow menu, so the view's sliders fit beside it
    view = (ui.scene(st.selectbox, "View", VIEWS, key="att_view", width=240) if present else
            ui.scene(st.segmented_control, "View", VIEWS, default=VIEWS[0], key="att_view", required=True)) or VIEWS[0]
ENCODER_VIEWS = {"One head": view_head, "All heads": view_model, "Average & rollout": view_rollout,
                 "Step by step": view_steps, "Positions": view_positions}
if view in ENCODER_VIEWS:
    got = encoder_input()
    if got is not None:
        ENCODER_VIEWS[view](*got)
elif view == "Word in context":
    encoder = ui.load_or_report(ENCODER, WEIGHTS, WEIGHTS)
    if encoder is not None:
        V.word_in_context(encoder, lambda text: run_encoder(encoder, text), LAY)
elif view == "Masked (GPT)":
    view_masked()
elif view == "Cross-attention":
    view_cross()
else:
    classify.view(LAY, present)
