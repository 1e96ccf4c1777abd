"""The lecture's path through nnviz: each step a few plain sentences and a link to a ready scene
(a page and the query parameters of its scene widgets, as a shared link would carry them)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import get_spec, list_models


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    page: str  # a file under pages/
    query: dict[str, str] = field(default_factory=dict)


def _residual_cnn() -> str:
    """The first registered CNN whose description says it has residual blocks (MobileNetV2, which
    is pretrained, before ResNet-18), for the residual lesson."""
    return next((n for n in list_models(trace="features") if "residual" in get_spec(n).description.lower()),
                list_models(trace="features")[0])


def _zoom() -> str:
    """The Time series view's 'first N held-out steps' choice, where the one-day lag shows."""
    from .series import RANGES

    return RANGES[2]


def _stock() -> str:
    """The Time series view's label of the shipped stock (the forecasters' own list says it)."""
    from ..forecast import SHIPPED

    return next(s.label for s in SHIPPED.values() if "stock" in s.label.lower())


def lessons() -> list[Lesson]:
    return [
        Lesson("Convolution", "A kernel is a small grid of weights. It slides over the image; each output pixel is "
               "the sum of the weights times the pixels under it. An edge kernel lights up where brightness "
               "changes.", "pages/convolution.py", {"conv_preset": "Sobel x"}),
        Lesson("Stride, padding and dilation", "Stride skips positions, padding adds a border of zeros, dilation "
               "spreads the kernel's taps. The output-size formula shows each with the numbers plugged in.",
               "pages/convolution.py", {"conv_stride": "2", "conv_pad": "1"}),
        Lesson("Pooling", "Max pooling keeps the strongest value of each window, average pooling their mean: "
               "the map gets smaller and a small shift of the input barely changes it.",
               "pages/convolution.py", {"pool_src": "The convolution output"}),
        Lesson("A classic CNN", "LeNet-5 reads a handwritten digit: the first layer finds strokes and edges, the "
               "deeper ones combine them, the last one scores the ten digits.", "pages/cnn.py",
               {"layer": "features.3"}),
        Lesson("Residual learning", "A residual block learns only a change F(x) and adds it to its input: the "
               "shortcut carries x through unchanged, which lets very deep networks train.", "pages/cnn.py",
               {"model": _residual_cnn(), "img_sample": "flower.jpg"}),
        Lesson("Why this class", "For the top class, the channels of the last block that add most to its score, "
               "exactly, and where in the photo that evidence lies (the CNN page's 'Why this class' tab).",
               "pages/cnn.py", {"model": "mobilenet_v2", "img_sample": "flower.jpg"}),
        Lesson("Recurrent networks", "An RNN reads one character at a time and carries a hidden state from each "
               "step to the next; the state is all it remembers.", "pages/recurrent.py", {"rnn_net": "RNN"}),
        Lesson("LSTM gates", "An LSTM adds a cell state and three gates: the forget gate decides what to keep, "
               "the input gate what to write, the output gate what to show.", "pages/recurrent.py",
               {"rnn_kind": "forget gate f (how much to keep)"}),
        Lesson("Next character, next word", "The model gives a probability for every next character; "
               "multiplying them until a word ends gives the likeliest next words (under 'Next character').",
               "pages/recurrent.py", {"rnn_text": "import os\n\ndef main(path):\n    with open(path) as f:\n        ret"}),
        Lesson("Sentiment, word by word", "An LSTM reads a review word by word; its guess after each "
               "word shows how 'not' and 'but' turn the sentence, and the gates show what it forgets there.",
               "pages/recurrent.py", {"rnn_view": "Sentiment"}),
        Lesson("Forecasting", "The same network reads a series and predicts the next value; compare it with "
               "simply repeating the last value, or the value one season ago.", "pages/recurrent.py",
               {"rnn_view": "Time series"}),
        Lesson("A stock price", "On a stock's daily price the LSTM does not beat 'tomorrow = today': zoomed in, "
               "its forecast is the price one day late. A price is close to a random walk. On the weather it does "
               "beat yesterday, a little.", "pages/recurrent.py",
               {"rnn_view": "Time series", "ts_src": _stock(), "ts_range": _zoom()}),
        Lesson("Why LSTMs", "Training sends the error backwards through time. In a plain RNN it fades at every "
               "step; the LSTM's cell state keeps it alive.", "pages/recurrent.py", {"rnn_view": "Why LSTMs"}),
        Lesson("Self-attention", "Each token asks a question (query), compares it with every token's key, turns "
               "the scores into weights with a softmax and takes the weighted mix of their values.",
               "pages/attention.py", {"att_view": "Step by step"}),
        Lesson("Multi-head attention", "Twelve heads per layer attend in parallel, each with its own projections: "
               "one follows the previous word, another the sentence's subject.", "pages/attention.py",
               {"att_view": "All heads"}),
        Lesson("Positions", "Attention alone ignores word order; position embeddings add it. Shuffle the words "
               "and watch what changes.", "pages/attention.py", {"att_view": "Positions"}),
        Lesson("Masked and cross-attention", "A decoder may not look ahead: its mask hides the future. A "
               "translator's decoder also attends to the source sentence.", "pages/attention.py",
               {"att_view": "Cross-attention"}),
        Lesson("Text classification", "A linear layer on the encoder's sentence vector says positive or negative; "
               "read a sentence word by word and see which words move the prediction.", "pages/attention.py",
               {"att_view": "Classify text"}),
    ]
