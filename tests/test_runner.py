"""nnviz.run: one entry point for every registered model, from what a user has to a Trace."""
import io

import numpy as np
import pytest
from PIL import Image

import nnviz
from nnviz import runner
from nnviz.traces import CausalTrace, CrossTrace, EncoderTrace, FeatureTrace, RecurrentTrace
from nnviz.types import TRACE_KINDS, InputError

KIND = {"cnn": FeatureTrace, "recurrent": RecurrentTrace}
TRANSFORMERS = {"minilm": EncoderTrace, "minilm_sentiment": EncoderTrace, "char_gpt": CausalTrace,
                "date_translator": CrossTrace}
ALL = [n for n in nnviz.list_models() if n != "vgg16"]  # vgg16 alone takes seconds; vgg11 covers VGG


@pytest.fixture(scope="module")
def models():
    return {}


def _model(models, name):
    if name not in models:
        models[name] = nnviz.load_model(name)
    return models[name]


@pytest.mark.parametrize("name", ALL)
def test_every_model_runs_on_its_example(name, models):
    spec = nnviz.get_spec(name)
    model = _model(models, name)
    before = runner.runs()
    trace = nnviz.run(model, nnviz.example_input(name))
    assert runner.runs() == before + 1
    assert isinstance(trace, TRANSFORMERS.get(name) or KIND[spec.family])
    assert type(trace).__name__ == TRACE_KINDS[spec.trace]  # the registry says what a run returns
    assert trace.model == name and trace.weights == model.weights_info and trace.weights_label
    assert trace.nbytes > 0
    if spec.input_kind == "image":
        assert trace.labels == spec.labels and trace.output.shape == (len(spec.labels),)
        assert trace.image.shape[:2] == (spec.preprocess.size, spec.preprocess.size)


def test_shipped_digit_is_read_correctly(models):
    trace = nnviz.run(_model(models, "lenet5"), nnviz.example_input("lenet5"))  # samples/digit_7.png
    assert trace.labels[int(trace.output.argmax())] == "7"
    assert any("inverted" in n for n in trace.notes)  # dark ink on white was inverted, and it says so


def test_image_forms_give_the_same_trace(models):
    model = _model(models, "resnet18")
    data = nnviz.example_input("resnet18")
    pil = Image.open(io.BytesIO(data))
    arr = np.asarray(pil.convert("RGB"))
    a, b, c = (nnviz.run(model, x) for x in (data, pil, arr))
    np.testing.assert_allclose(a.output, b.output, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a.output, c.output, rtol=1e-5, atol=1e-5)


def test_bad_inputs_are_one_sentence(models):
    with pytest.raises(InputError, match="at least"):
        nnviz.run(_model(models, "lenet5"), np.zeros((2, 2)))
    with pytest.raises(InputError, match="NaN"):
        nnviz.run(_model(models, "lenet5"), np.full((30, 30), np.nan))
    with pytest.raises(InputError):
        nnviz.run(_model(models, "char_lstm"), "")


def test_series_from_numbers_or_csv(models):
    model = _model(models, "sunspots_lstm")
    values = nnviz.example_input("sunspots_lstm")
    assert len(values) == 309 and values[0] == 5
    csv = "year,count\n" + "\n".join(f"{1700 + i},{v}" for i, v in enumerate(values))
    a, b = nnviz.run(model, values), nnviz.run(model, csv.encode())
    assert a.output_kind == "forecast"
    np.testing.assert_allclose(a.output, b.output, rtol=1e-6)
    np.testing.assert_array_equal(a.series, values)


def test_run_takes_a_name_and_loads_it():
    trace = nnviz.run("date_translator", "march 3rd, 1999")
    assert trace.output == "1999-03-03" and trace.valid


def test_unregistered_model_is_refused():
    from nnviz.models.gpt import CharGPT

    with pytest.raises(ValueError, match="registered"):
        nnviz.run(CharGPT(), "abc")


def test_a_csv_gives_the_column_the_page_offers_first():
    csv = "date,open,close\n" + "\n".join(f"2024-01-{d:02d},{d},{100 + d}" for d in range(1, 32))
    np.testing.assert_array_equal(runner.as_series(csv), np.arange(101, 132, dtype=np.float32))  # close, as the page
    with pytest.raises(InputError, match="no column of numbers"):
        runner.as_series("year\n" + "\n".join(str(1900 + i) for i in range(40)))  # only a time axis


def test_trace_cache_is_bounded_in_bytes_and_entries_and_keeps_the_newest():
    import numpy as np

    from nnviz.runner import TraceCache
    from nnviz.traces import FeatureTrace

    def trace(mb: int):
        return FeatureTrace(activations={}, output=np.zeros(mb * 2**20 // 4, np.float32))

    cache = TraceCache(max_bytes=10 * 2**20, max_entries=3)
    made = []
    for k, mb in [("a", 4), ("b", 4), ("c", 1)]:
        cache.get(k, lambda mb=mb, k=k: made.append(k) or trace(mb))
    assert len(cache) == 3 and cache.nbytes == 9 * 2**20
    assert cache.get("a", lambda: made.append("again") or trace(1)) is not None and made == ["a", "b", "c"]
    cache.get("d", lambda: trace(4))  # 13 MB > 10: the least recently used ("b") goes, not "a"
    assert cache.nbytes == 9 * 2**20 and len(cache) == 3
    cache.get("b", lambda: made.append("b") or trace(1))
    assert made[-1] == "b"  # it had been evicted, so it ran again
    cache.get("huge", lambda: trace(50))  # larger than the budget: kept alone, the rest evicted
    assert len(cache) == 1 and cache.nbytes == 50 * 2**20
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
