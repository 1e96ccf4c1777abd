"""Property-based fuzzing of the two decoders that read raw user files: whatever the bytes or the
text, the only outcomes are a valid result or InputError. Bounded and deterministic (derandomize,
no example database written), so CI runs the same examples every time."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis import strategies as st
from PIL import Image

from nnviz import inputs
from nnviz.inputs import (
    InputError,
    LoadedImage,
    SeriesTable,
    load_image,
    read_series_csv,
    series_from_column,
)
from tests.hostile.conftest import save

FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seeds() -> list[bytes]:
    """Small valid files of every accepted format: mutating them reaches deep into each decoder."""
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return [save(rgb, "PNG"), save(rgb, "JPEG"), save(rgb, "BMP"), save(rgb, "WEBP"),
            save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
            save(rgb.convert("P"), "PNG"), save(rgb.convert("RGBA"), "PNG"), save(rgb.convert("CMYK"), "JPEG")]


SEEDS = _seeds()


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_files_in_tmp(tmp_path_factory):
    """Hypothesis caches constants it finds in the code under ./.hypothesis: keep them in a temp dir."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@st.composite
def image_bytes(draw) -> bytes:
    how = draw(st.sampled_from(["random", "flipped", "header flipped", "cut"]))
    if how == "random":
        return draw(st.binary(max_size=2048))
    data = bytearray(draw(st.sampled_from(SEEDS)))
    if how == "cut":
        return bytes(data[: draw(st.integers(1, len(data) - 1))])
    end = 64 if how == "header flipped" else len(data)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, end - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def check_image(img: LoadedImage) -> None:
    a = img.rgb
    assert a.dtype == np.float32 and a.ndim == 3 and a.shape[2] == 3
    assert min(a.shape[:2]) >= inputs.MIN_SIDE and max(a.shape[:2]) <= inputs.WORK_SIDE
    assert np.isfinite(a).all() and a.min() >= 0.0 and a.max() <= 1.0
    assert all(isinstance(n, str) and n for n in img.notes)


@FUZZ
@given(image_bytes())
def test_load_image_returns_an_image_or_input_error(data):
    try:
        img = load_image(data, "fuzz.png")
    except InputError as e:
        msg = str(e)
        assert msg.startswith("fuzz.png") and "\n" not in msg and msg.endswith("."), msg
        event(f"refused: {msg[9:40]}")  # --hypothesis-show-statistics shows the mix of outcomes
        return
    event("decoded")
    check_image(img)


NUMBERS = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(-1e6, 1e6).map(lambda x: f"{x:.3f}"),
                    st.floats(-1e4, 1e4).map(lambda x: f"{x:.2f}".replace(".", ",")))  # decimal comma
ODD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NA", "null", "-", "?", "1,234.5", "1.234,5", "$12.50", "(3)", "12%", "2024-01-31",
                     "31.01.2024", "1e400", "=1+1", '"7"', '"', "\u00e9", "\ufeff"]),
    st.text(st.characters(blacklist_characters="\x00"), max_size=8),  # a NUL refuses the file (tested apart)
)
CELLS = st.integers(0, 9).flatmap(lambda k: NUMBERS if k < 8 else ODD)  # mostly numbers: series get read


@st.composite
def csv_text(draw) -> str:
    """Mostly table-shaped text (so series are read, not only refused), sometimes any text."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=400))
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 3))
    lines = [sep.join(draw(st.lists(st.sampled_from(["year", "date", "value", "close", "v"]), min_size=width,
                                    max_size=width)))] if draw(st.booleans()) else []
    lines += [sep.join(draw(st.lists(CELLS, min_size=width, max_size=width))) for _ in range(draw(st.one_of(st.integers(0, 5), st.integers(30, 80), st.integers(30, 80))))]
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)


@FUZZ
@given(csv_text(), st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_read_series_csv_returns_a_table_or_input_error(text, encoding):
    data = text.encode(encoding, errors="replace")  # lone surrogates and, in Latin-1, most of Unicode -> "?"
    try:
        table = read_series_csv(data, "fuzz.csv")
    except InputError as e:
        assert "\n" not in str(e) and str(e).endswith("."), str(e)
        event("file refused")
        return
    assert isinstance(table, SeriesTable) and table.value_columns
    assert all(len(cells) == table.rows for cells in table.cells.values())
    try:
        s = series_from_column(table, table.default_column())
    except InputError:
        event("table read, column refused")
        return
    event("series read")
    assert s.values.dtype == np.float32 and np.isfinite(s.values).all()
    assert inputs.SERIES_MIN <= len(s.values) == len(s.index) <= inputs.SERIES_MAX
