"""The shipped character GPT: causal attention, next-character probabilities, input handling."""
import numpy as np
import pytest

import nnviz
from nnviz.types import InputError
from nnviz.weights import shipped_values


@pytest.fixture(scope="module")
def char_gpt():
    return nnviz.load_model("char_gpt")


def test_char_gpt_shipped_weights_and_causal_attention(char_gpt):
    assert char_gpt.weights_info.trained, char_gpt.weights_info
    meta = shipped_values("char_gpt.safetensors")
    assert meta["seed"] == 0 and meta["val_bpc"] < 3.0
    tr = char_gpt.run("def __init__(self, name):\n    self.name = name\n")
    T = len(tr.tokens)
    assert tr.attentions.shape == (4, 4, T, T)
    upper = np.triu(np.ones((T, T), bool), 1)
    assert (tr.attentions[..., upper] == 0).all()  # the future is exactly invisible
    np.testing.assert_allclose(tr.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(tr.probs.sum(-1), 1.0, atol=1e-5)
    # It has learned Python: far below the 6.6 bits of a uniform guess over 97 characters.
    assert tr.surprisal.mean() < 3.0
    # Changing a later character never changes an earlier prediction (causality end to end).
    tr2 = char_gpt.run("def __init__(self, name):\n    self.name = nam!\n")
    np.testing.assert_allclose(tr.probs[:-3], tr2.probs[:-3], atol=1e-6)


def test_char_gpt_input_handling(char_gpt):
    with pytest.raises(InputError):
        char_gpt.run("")
    tr = char_gpt.run("x = 'é' " + "a" * 200)
    assert len(tr.tokens) == 128 and any("last 128" in w for w in tr.notes)
    tr = char_gpt.run("naïve = 1")
    assert tr.tokens[2] == "\ufffd" and any("'ï'" in w for w in tr.notes)
    assert len(char_gpt.generate("import ", 20)) == 20
