"""Text patterns, Find units, thinning and small helpers: exact values on hand-made inputs."""
import numpy as np
import pytest

from nnviz import analysis as A


def test_inside_quotes_handles_both_quotes_escapes_triples_and_newlines():
    s = "a 'b\\'c' \"d\" e"
    assert "".join(str(int(v)) for v in A.inside_quotes(s)) == "00111111011100"
    triple = 'x """a\n"b"""y'
    got = A.inside_quotes(triple)
    assert got[0] == 0 and got[2:12].all() and got[12] == 0  # the newline and the lone " stay inside
    unterminated = "f('abc\nd)"
    assert A.inside_quotes(unterminated).tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0]  # a newline ends '...'


def test_bracket_depth_ignores_brackets_in_strings_and_never_goes_negative():
    assert A.bracket_depth("f(a[1], '(')").tolist() == [0, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0]
    assert A.bracket_depth("))(").tolist() == [0, 0, 1]


def test_word_start_and_line_position():
    assert A.word_start("ab c_d, 9x").tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert A.line_position("ab\ncde\n").tolist() == [0, 1, 2, 0, 1, 2, 3]
    assert A.line_position(list("ab\ncde\n")).tolist() == [0, 1, 2, 0, 1, 2, 3]  # tokens as a list work too


def test_correlations_match_numpy_and_constant_columns_are_zero():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(50, 4))
    states[:, 2] = 7.0  # a unit that never changes
    p = rng.normal(size=50)
    r = A.correlations(states, p)
    for u in (0, 1, 3):
        assert r[u] == pytest.approx(np.corrcoef(states[:, u], p)[0, 1])
    assert r[2] == 0
    assert np.isnan(A.correlations(states, np.ones(50))).all()
    with pytest.raises(ValueError, match="steps"):
        A.correlations(states, p[:10])


def test_find_units_ranks_by_absolute_correlation():
    text = "x = f(a, (b + c)) + 'q'\n" * 3
    depth = A.bracket_depth(text)
    rng = np.random.default_rng(1)
    states = rng.normal(scale=0.3, size=(len(text), 6))
    states[:, 4] = -2 * depth + rng.normal(scale=0.05, size=len(text))  # falls as depth rises
    states[:, 1] = depth + rng.normal(scale=0.8, size=len(text))  # weaker, rising
    top = A.find_units(states, depth, k=3)
    assert [s.unit for s in top[:2]] == [4, 1]
    assert top[0].r < -0.99 and 0 < top[1].r < top[0].r * -1
    assert A.find_units(states, A.inside_quotes("no quotes here at all......"[: len(text)].ljust(len(text), "."))) == []


def test_find_units_on_the_shipped_lstm_finds_a_bracket_unit():
    import nnviz

    text = ("result = compute(values[index], key=lambda item: (item[0], item[1]))\n"
            "table = {name: [row.get(name) for row in rows] for name in names}\n") * 4
    tr = nnviz.load_model("char_lstm").run(text)
    best = A.find_units(tr.layers[0].c, A.bracket_depth(tr.tokens), 1)[0]
    assert abs(best.r) > 0.6  # a real cell tracks bracket depth (unit numbers are the model's business)


def test_thin_block_means_and_centres():
    a = np.arange(10, dtype=np.float32)[:, None].repeat(2, 1)
    same, c = A.thin(a, 10)
    assert same is a and c.tolist() == list(range(10))
    t, c = A.thin(a, 4)  # blocks of 3: [0,1,2] [3,4,5] [6,7,8] [9]
    assert t[:, 0].tolist() == [1, 4, 7, 9] and c.tolist() == [1, 4, 7, 9]


def test_bits_per_char_from_logits():
    labels = ("?", "a", "b")
    logits = np.log(np.array([[0.1, 0.1, 0.8], [0.1, 0.5, 0.4], [1 / 3, 1 / 3, 1 / 3]]))
    bpc = A.bits_per_char(logits, ["a", "b", "a"], labels)  # P(b|a)=0.8, P(a|b)=0.5
    assert bpc == pytest.approx((-np.log2(0.8) - np.log2(0.5)) / 2)
    assert np.isnan(A.bits_per_char(logits[:1], ["a"], labels))


def test_context_window_around_a_position():
    assert A.text.context_window(300, 200) == (80, 240)
    assert A.text.context_window(10, 3) == (0, 10)
    assert A.text.context_window(50, 49, before=5, after=2) == (44, 50)


def test_steps_back_is_relative_to_the_last_step_and_only_reaches_back_inside_the_text():
    g = np.arange(1, 13, dtype=np.float32)  # T = 12
    assert A.text.steps_back(g) == {10: pytest.approx(2 / 12)}  # 50, 100 and 200 are before the text
    assert A.text.steps_back(g, (1, 3)) == {1: pytest.approx(11 / 12), 3: pytest.approx(9 / 12)}
    assert np.isnan(A.text.steps_back(np.array([1.0, 2.0, 0.0]), (1,))[1])  # nothing to compare with


def test_log_relative_puts_exact_zeros_on_the_floor():
    np.testing.assert_allclose(A.text.log_relative(np.array([0.0, 1e-3, 0.1, 1.0])), [-20, -3, -1, 0])
    np.testing.assert_allclose(A.text.log_relative(np.array([1e-30, 4.0, 2.0])), [-20, np.log10(2), 0])
    np.testing.assert_allclose(A.text.log_relative(np.array([0.0, 0.5]), floor=1e-5), [-5, 0])


def test_prose_rules_for_quotes_and_brackets():
    from nnviz.analysis.text import bracket_depth_anywhere, inside_double_quotes

    s = 'It\'s "a (b" c'
    assert "".join(str(int(v)) for v in inside_double_quotes(s)) == "0000011111100"  # the apostrophe opens nothing
    # Python rules would open a string at the apostrophe and run to the end of the line
    assert A.inside_quotes(s)[2:].all()
    assert bracket_depth_anywhere(s).tolist() == [0] * 8 + [1] * 5  # a bracket inside quotes still counts
    assert inside_double_quotes("“yes” no").tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


def test_text_kind_and_the_patterns_that_fit_it():
    from nnviz.analysis.text import PATTERN_RULES, patterns_for, text_kind

    code = "def f(x):\n    return {'a': [x]}\n"
    prose = 'The students wrote it down, and then they typed "their own" sentences.'
    assert text_kind(code) == "code" and text_kind(prose) == "prose" and text_kind("") == "prose"
    kind, pats = patterns_for(prose)
    assert kind == "prose" and pats["inside quotes"](prose).sum() == len('"their own"')
    assert list(pats) == list(patterns_for(code)[1])  # same names (links), different rules
    assert "apostrophes do not" in PATTERN_RULES["prose"] and "Python" in PATTERN_RULES["code"]
