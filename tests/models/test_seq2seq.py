"""The shipped date translator: it translates, says when a date is not real, and reads bad input safely."""
import numpy as np
import pytest

import nnviz
from nnviz.types import InputError
from nnviz.weights import shipped_values
from nnviz.models import seq2seq


@pytest.fixture(scope="module")
def translator():
    return nnviz.load_model("date_translator")


@pytest.mark.parametrize(
    "text,iso",
    [("march 3rd, 1999", "1999-03-03"), ("3 March 1999", "1999-03-03"), ("Mar 3 99", "1999-03-03"),
     ("wednesday, july 20, 1969", "1969-07-20"), ("the 1st of january 2000", "2000-01-01")],
)
def test_date_translator_translates(translator, text, iso):
    assert translator.weights_info.trained, translator.weights_info
    tr = translator.translate(text)
    assert tr.output == iso and tr.valid
    S, T = len(tr.tokens), len(tr.dec_inputs)
    assert tr.produced[-1] == "</s>" and "".join(tr.produced[:-1]) == iso
    assert tr.dec_inputs[0] == "<s>" and tr.dec_inputs[1:] == tr.produced[:-1]
    assert tr.enc_self_attn.shape == (2, 4, S, S)
    assert tr.dec_self_attn.shape == (2, 4, T, T)
    assert tr.cross_attn.shape == (2, 4, T, S)
    assert (tr.dec_self_attn[..., np.triu(np.ones((T, T), bool), 1)] == 0).all()
    np.testing.assert_allclose(tr.cross_attn.sum(-1), 1.0, atol=1e-5)
    assert [seq2seq.TGT_VOCAB[i] for i in tr.probs.argmax(-1)] == tr.produced


def test_date_translator_metadata_and_bad_input(translator):
    meta = shipped_values("date_translator.safetensors")
    assert meta["seed"] == 0 and meta["heldout_exact_match"] > 0.9
    with pytest.raises(InputError):
        translator.translate("   ")
    tr = translator.translate("march 3rd, 1999 ☃")
    assert "<unk>" in tr.tokens and any("<unk>" in w for w in tr.notes)
    tr = translator.translate("July 4th 1776")
    assert any("1900-2099" in w for w in tr.notes)  # outside the training range, and it says so
    tr = translator.translate("x" * 100)
    assert len(tr.tokens) == 40 and any("40" in w for w in tr.notes)
