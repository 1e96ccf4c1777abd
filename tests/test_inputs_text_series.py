"""Text and CSV series from users: cleaned with a note, or refused with one sentence (InputError)."""
import numpy as np
import pytest

from nnviz import inputs
from nnviz.inputs import (InputError, clean_text, read_series_csv, series_from_column, TEXT_CAP, TEXT_CHARS)
from nnviz.models.recurrent import VOCAB
from nnviz.forecast import REPO


# --- text ----------------------------------------------------------------------------------------

def test_text_chars_are_the_models_vocabulary():
    assert TEXT_CHARS == VOCAB[1:]


@pytest.mark.parametrize("text", ["", "   ", "\n\r\n\t ", None])
def test_empty_or_blank_text_is_refused(text):
    with pytest.raises(InputError, match="empty"):
        clean_text(text)


def test_line_endings_tabs_and_typography_are_normalised_with_notes():
    text, notes = clean_text("a\r\nb\rc\tx = \u201cyes\u201d \u2013 it\u2019s\u2026")
    assert text == 'a\nb\nc    x = "yes" - it\'s...'
    assert any("tabs" in n for n in notes) and any("typographic" in n for n in notes)
    assert not any("never saw" in n for n in notes)


def test_plain_text_has_no_notes():
    assert clean_text("def f(x):\n    return x\n") == ("def f(x):\n    return x\n", [])


def test_long_text_is_cut_at_the_cap_with_a_note():
    text, notes = clean_text("ab" * 1500)
    assert len(text) == TEXT_CAP == 2000
    assert notes == ["the text has 3,000 characters; only the first 2,000 are used"]
    assert clean_text("x" * 50, cap=10)[0] == "x" * 10


def test_unknown_characters_are_kept_and_named():
    text, notes = clean_text("caf\u00e9 \u65e5\u00e9")
    assert text == "caf\u00e9 \u65e5\u00e9"  # kept: the model maps them to its unknown symbol
    assert notes == ["3 characters the model never saw (\u00e9, \u65e5) are read as the unknown symbol \ufffd"]
    assert "1 character the model never saw" in clean_text("x\u00e9")[1][0]
    assert "is read" in clean_text("x\u00e9")[1][0]


# --- CSV -----------------------------------------------------------------------------------------

def test_shipped_sunspots_csv():
    table = read_series_csv((REPO / "samples" / "sunspots.csv").read_bytes())
    assert table.columns == ["YEAR", "SUNACTIVITY"]
    assert table.time_column == "YEAR" and table.value_columns == ["SUNACTIVITY"]
    s = series_from_column(table, "SUNACTIVITY")
    assert len(s.values) == 309 and s.values.dtype == np.float32
    assert s.index[:2] == [1700, 1701] and s.index_name == "YEAR"
    assert s.values[:3].tolist() == [5.0, 11.0, 16.0] and s.notes == []


def _rows(n, fmt=lambda i: f"{i},{i * 1.5}"):
    return "\n".join(fmt(i) for i in range(n))


def test_no_header_single_column():
    table = read_series_csv(("\n".join(str(v) for v in range(40))).encode())
    assert table.columns == ["column 1"] and table.time_column is None
    s = series_from_column(table, "column 1")
    assert s.values.tolist() == list(range(40)) and s.index == list(range(40)) and s.index_name == "row"


def test_stock_style_file_thousands_separators_dates_backwards_and_gaps():
    lines = ["Date,Open,Close,Volume"]
    for i in range(40, 0, -1):  # newest first, as some finance sites export
        close = "" if i == 20 else f'"{1000 + i * 10:,.2f}"'
        lines.append(f"2024-01-{i:02d},1,{close},5" if i <= 31 else f"2024-02-{i - 31:02d},1,{close},5")
    table = read_series_csv(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    assert table.time_column == "Date" and table.default_column() == "Close"
    s = series_from_column(table, "Close")
    assert s.index[0] == "2024-01-01" and s.index[-1] == "2024-02-09"
    assert s.values[0] == 1010.0 and s.values[-1] == 1400.0  # "1,400.00" read as 1400
    assert s.values[19] == pytest.approx(1200.0)  # the gap on 2024-01-20 interpolated
    assert any("sorted by 'Date'" in n for n in s.notes)
    assert any("1 missing value" in n for n in s.notes)


def test_semicolons_and_decimal_commas():
    body = "Datum;Wert\n" + "\n".join(f"{d:02d}.01.2024;1.{d:03d},5" for d in range(1, 32))
    table = read_series_csv(body.encode())
    assert table.columns == ["Datum", "Wert"] and table.time_column == "Datum"
    s = series_from_column(table, "Wert")
    assert s.values[0] == pytest.approx(1001.5) and s.values[-1] == pytest.approx(1031.5)
    assert any("decimal comma" in n for n in s.notes)
    assert s.index[0] == "2024-01-01"


def test_missing_markers_and_leading_gaps():
    vals = ["NA", "", "1", "2", "null", "4"] + [str(i) for i in range(5, 40)] + ["-"]
    table = read_series_csv(("v\n" + "\n".join(vals)).encode())
    s = series_from_column(table, "v")
    assert s.values[:4].tolist() == [1, 2, 3, 4]
    assert len(s.values) == 39
    assert any("start or end dropped" in n for n in s.notes)


@pytest.mark.parametrize("data,msg", [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (b"name,colour\nann,red\nbob,blue\n", "no column of numbers"),
    (b"\x00\x01\x02binary", "not a text CSV"),
    (b"a,b\n", "no data rows|no column of numbers"),
])
def test_bad_files_get_one_sentence(data, msg):
    with pytest.raises(InputError, match=msg):
        read_series_csv(data, "upload.csv")


def test_too_short_and_mostly_empty_columns():
    table = read_series_csv(("x\n" + _rows(10, str)).encode())
    with pytest.raises(InputError, match="only 10 values; at least 30"):
        series_from_column(table, "x")
    table = read_series_csv(("x,y\n" + _rows(60, lambda i: f"{i},{i if i % 3 == 0 else ''}")).encode())
    with pytest.raises(InputError, match="mostly empty"):
        series_from_column(table, "y")


def test_non_numeric_or_unknown_column_is_refused():
    table = read_series_csv(("name,v\n" + _rows(40, lambda i: f"n{i},{i}")).encode())
    assert table.value_columns == ["v"]
    with pytest.raises(InputError, match="does not hold numbers"):
        series_from_column(table, "name")
    with pytest.raises(InputError, match="no column named"):
        series_from_column(table, "nope")


def test_huge_files_are_capped_with_notes(monkeypatch):
    monkeypatch.setattr(inputs, "CSV_MAX_ROWS", 500)
    table = read_series_csv(("v\n" + _rows(800, str)).encode())
    assert table.rows == 500 and "800 rows; only the last 500" in table.notes[0]
    s = series_from_column(table, "v", max_len=100)
    assert s.values.tolist() == list(range(700, 800))  # the newest rows, not the middle of the file
    assert any("model uses the last 100" in n for n in s.notes)
    monkeypatch.setattr(inputs, "CSV_MAX_BYTES", 10)
    with pytest.raises(InputError, match="MB"):
        read_series_csv(b"v\n" + b"1\n" * 20)


def test_latin1_file_is_read_with_a_note():
    table = read_series_csv(("Mes;Precio \u20ac\n".encode("cp1252").replace(b"\x80", b"E")
                             + "\n".join(f"{i};{i},5" for i in range(40)).encode()).replace(b"Mes", b"M\xe9s"))
    assert table.columns[0] == "M\u00e9s" and any("Latin-1" in n for n in table.notes)
    assert series_from_column(table, table.value_columns[-1]).values[1] == pytest.approx(1.5)


def test_utf16_csv_with_bom_is_read():
    body = "".join(f"{1950 + i},{i}.5\n" for i in range(40))
    table = read_series_csv(("year,close\n" + body).encode("utf-16"))
    assert "read as UTF-16" in table.notes
    assert series_from_column(table, "close").values.tolist()[:3] == [0.5, 1.5, 2.5]


def test_errors_name_the_real_columns():
    with pytest.raises(InputError, match="its columns: name, city"):
        read_series_csv(b"name,city\nann,paris\nbob,rome\n", "people.csv")
