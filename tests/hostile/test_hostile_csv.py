"""Hostile CSV files through nnviz.inputs.read_series_csv and nnviz.runner.as_series (what a
forecaster's nnviz.run reads): each one becomes the right numbers or one sentence."""
from __future__ import annotations

import time

import pytest

from nnviz import inputs
from nnviz.inputs import InputError, read_series_csv, series_from_column
from nnviz.runner import as_series
from tests.hostile.conftest import assert_sentence


def rows(n: int, fmt=str) -> str:
    return "".join(f"{fmt(i)}\n" for i in range(n))


REFUSED_BY_THE_READER = {
    "empty": (b"", ["up.csv is empty."]),
    "blank lines": (b" \n\t\r\n \n", ["up.csv is empty."]),
    "carriage returns only": (b"\r\r\r", ["up.csv is empty."]),
    "header only": (b"year,value\n", ["up.csv has a header but no data rows."]),
    "header only, no newline": (b"value", ["up.csv has a header but no data rows."]),
    "no numbers": (b"name,city\nann,paris\nbob,rome\n", ["has no column of numbers to forecast (its columns: name, city)"]),
    "formulas, not numbers": (b"v\n=1+1\n=cmd|' /C calc'!A0\n@SUM(A1)\n",
                              ["has no column of numbers to forecast (its columns: v)"]),
    "only infinities": (("v\n" + "inf\n" * 40).encode(), ["has no column of numbers to forecast"]),
    "binary (a PNG renamed .csv)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["is not a text CSV file (it contains binary data)"]),
    "UTF-16 without a byte-order mark": (("t,v\n" + rows(40, lambda i: f"{i},{i}")).encode("utf-16-le"),
                                         ["is not a text CSV file (it contains binary data)"]),
    "UTF-16 big-endian without a byte-order mark": (("t,v\n" + rows(40, lambda i: f"{i},{i}")).encode("utf-16-be"),
                                                    ["is not a text CSV file"]),
    "UTF-16 with a byte-order mark, cut mid-character": ("v\n1\n2\n".encode("utf-16") + b"3",
                                                         ["claims to be UTF-16 text but cannot be decoded"]),
    "10 million rows with CRLF: 29 MB": (b"v\r\n" + b"7\r\n" * 10_000_000,
                                         ["up.csv is 29 MB; CSV files up to 20 MB are accepted"]),
}


@pytest.mark.parametrize("case", list(REFUSED_BY_THE_READER))
def test_refused_with_one_sentence(case):
    data, words = REFUSED_BY_THE_READER[case]
    with pytest.raises(InputError) as e:
        read_series_csv(data, "up.csv")
    assert_sentence(e.value, *words)


@pytest.mark.parametrize("data", [b"v\n5\n", b"5\n", b"5"], ids=["one row", "one row, no header", "one number"])
def test_one_value_is_read_then_refused_as_too_short(data):
    table = read_series_csv(data, "up.csv")
    assert table.rows == 1 and table.value_columns == [table.columns[0]]
    with pytest.raises(InputError) as e:
        as_series(data)
    assert_sentence(e.value, "has only 1 value; at least 30 are needed")


def test_nan_and_inf_cells_are_missing_values_filled_between_neighbours():
    data = ("v\n" + rows(40, lambda i: "nan" if i % 7 == 0 else "inf" if i % 11 == 0 else str(i))).encode()
    assert as_series(data).tolist() == list(range(1, 40))  # row 0 dropped, 7, 11, 14... interpolated
    s = series_from_column(read_series_csv(data), "v")
    assert s.notes == ["3 cells in 'v' that are not numbers treated as missing",
                       "1 empty value(s) at the start or end dropped",
                       "8 missing value(s) filled by linear interpolation between their neighbours"]


def test_numbers_too_large_for_float32_are_refused():
    with pytest.raises(InputError) as e:
        as_series(("v\n" + "1e308\n" * 40).encode())
    assert_sentence(e.value, "Column 'v' holds numbers too large to model (up to 1.0e+308)")


def test_numbers_beyond_float64_are_called_too_large():
    with pytest.raises(InputError) as e:
        as_series(("v\n" + "1e400\n" * 40).encode())
    assert_sentence(e.value, "too large")


def test_ten_million_rows_keep_the_newest_rows_with_a_note():
    data = b"v\n" + b"0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n" * 1_000_000  # 20 MB, just under the cap
    t = time.perf_counter()
    table = read_series_csv(data, "up.csv")
    assert time.perf_counter() - t < 10
    assert table.rows == inputs.CSV_MAX_ROWS
    assert table.notes == ["the file has 10,000,000 rows; only the last 100,000 are read"]
    s = series_from_column(table, "v")
    assert len(s.values) == inputs.SERIES_MAX and s.values[-3:].tolist() == [7, 8, 9]
    assert s.notes == [*table.notes, "the series has 100,000 values; the model uses the last 5,000"]


def test_utf16_with_byte_order_mark_is_read():
    data = ("year,close\n" + rows(40, lambda i: f"{1950 + i},{i}.5")).encode("utf-16")
    table = read_series_csv(data)
    assert table.notes == ["read as UTF-16"] and table.time_column == "year"
    assert as_series(data).tolist()[:3] == [0.5, 1.5, 2.5]


def test_latin1_with_semicolons_and_decimal_commas_is_read():
    data = ("Ann\u00e9e;Temp\u00e9rature\n" + rows(40, lambda i: f"{1950 + i};{i},5")).encode("latin-1")
    table = read_series_csv(data)
    assert table.columns == ["Ann\u00e9e", "Temp\u00e9rature"] and table.decimal["Temp\u00e9rature"] == ","
    assert table.notes == ["read as Latin-1 (the file is not UTF-8)"]
    assert as_series(data, "Temp\u00e9rature").tolist()[:3] == [0.5, 1.5, 2.5]


def test_utf8_byte_order_mark_is_not_part_of_the_first_name():
    table = read_series_csv(("\ufeffvalue\n" + rows(40)).encode("utf-8"))
    assert table.columns == ["value"] and table.notes == []


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_found(delimiter):
    data = (f"t{delimiter}v\n" + rows(40, lambda i: f"{i}{delimiter}{2 * i}")).encode()
    table = read_series_csv(data)
    assert table.columns == ["t", "v"]
    assert series_from_column(table, "v").values.tolist() == [2.0 * i for i in range(40)]


def test_currency_thousands_and_negative_parentheses_are_numbers():
    data = ('price\n' + rows(40, lambda i: f'"${1000 + i:,}.50"' if i % 2 else f"({i})")).encode()
    values = as_series(data).tolist()
    assert values[:3] == [0.0, 1001.5, -2.0]


def test_duplicate_column_names_stay_distinct():
    table = read_series_csv(("v,v\n" + rows(40, lambda i: f"{i},{-i}")).encode())
    assert table.columns == ["v", "v (2)"]
    assert series_from_column(table, "v (2)").values[5] == -5


def test_a_series_in_one_long_row_gets_a_sentence_or_is_read():
    data = ",".join(str(i) for i in range(30_000)).encode()  # 168 kB on one line
    try:
        table = read_series_csv(data, "up.csv")
    except InputError as e:
        assert_sentence(e, "up.csv", "one value per row")
    else:
        assert table.rows == 1


def test_a_nul_after_the_first_4_kb_is_only_a_bad_cell():
    data = ("v\n" + "1\n" * 3000 + "2\x003\n" + rows(40)).encode()
    s = series_from_column(read_series_csv(data), "v")
    assert len(s.values) == 3041 and s.values[3000] == pytest.approx(0.5)  # between 1 and 0
    assert s.notes[0] == "1 cell in 'v' that are not numbers treated as missing"
