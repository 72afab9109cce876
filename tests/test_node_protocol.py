"""Nodes as Python objects: immutability, Python bools, len/size/iteration, IndexError.

Issue 10 ("never silently wrong"): a node whose attributes can be reassigned
breaks hash-consing and every later derivative; a Python bool turned into a
float refused ``sg.where(True, a, b)``; nodes had no ``len``/``size`` and
iteration ran past the end with a ShapeError instead of stopping.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import symgrad as sg

FIELDS = ["graph", "id", "op", "inputs", "params", "shape", "dtype", "name", "value"]


def both_ways(outputs, feeds: dict) -> list[np.ndarray]:
    """The outputs by the interpreter, after checking the compiled function agrees exactly."""
    inputs = list(feeds)
    interpreted = sg.evaluate(outputs, feeds)
    compiled = sg.function(inputs, outputs)(*feeds.values())
    for a, b in zip(interpreted, compiled):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    return interpreted


# --- immutability -------------------------------------------------------------------------

@pytest.mark.parametrize("field", FIELDS + ["anything_new"])
def test_assigning_any_node_attribute_raises_and_changes_nothing(field):
    with sg.Graph():
        x = sg.vector("x", 3)
        y = sg.sin(x) * 2.0
        before = {f: getattr(y, f) for f in FIELDS}
        with pytest.raises(AttributeError) as info:
            setattr(y, field, (5,))
        assert f".{field}" in str(info.value) and y.describe() in str(info.value)
        assert "immutable" in str(info.value)
        assert all(getattr(y, f) is before[f] for f in FIELDS)
        assert sg.sin(x) * 2.0 is y  # hash-consing still finds the same node


@pytest.mark.parametrize("field", FIELDS)
def test_deleting_any_node_attribute_raises_and_changes_nothing(field):
    x = sg.vector("x", 3)
    before = getattr(x, field)
    with pytest.raises(AttributeError, match=rf"cannot delete \.{field} of placeholder 'x' f64\[3\]"):
        delattr(x, field)
    assert getattr(x, field) is before


def test_a_refused_edit_leaves_later_derivatives_right():
    with sg.Graph():
        x = sg.vector("x", 3)
        y = sg.sin(x)
        for field, value in [("inputs", ()), ("shape", (5,)), ("op", sg.ops.COS)]:
            with pytest.raises(AttributeError):
                setattr(y, field, value)
        assert sg.sin(x) is y and y.shape == (3,) and y.inputs == (x,)
        point = np.array([-1.0, 0.0, 2.5])
        (gradient,) = both_ways([sg.grad(y.sum(), x)], {x: point})
        np.testing.assert_allclose(gradient, np.cos(point), rtol=1e-15)


def test_derivative_and_loaded_nodes_are_immutable_too(tmp_path):
    with sg.Graph():
        x = sg.scalar("x")
        g = sg.grad(x * x, x)
        with pytest.raises(AttributeError, match="immutable"):
            g.inputs = ()
        sg.save([g], tmp_path / "g.json")
    loaded = sg.load(tmp_path / "g.json")
    node = loaded.outputs[0]
    with pytest.raises(AttributeError, match="immutable"):
        node.shape = (2,)
    assert node.shape == ()


def test_nodes_cannot_be_made_directly():
    with pytest.raises(TypeError, match="never by calling sg.Node directly"):
        sg.Node(None, 0, None, (), (), (), np.dtype(float))


def test_a_copy_of_a_node_is_the_node():
    x = sg.vector("x", 2)
    assert copy.copy(x) is x
    feeds = {x: np.ones(2)}
    copied = copy.deepcopy(feeds)
    assert list(copied) == [x] and copied[x] is not feeds[x]


# --- Python bools stay bool, as in NumPy --------------------------------------------------

A = np.array([1.5, -2.0, 0.0])
B = np.array([3.0, 4.0, -5.0])
I32 = np.array([1, -2, 7], np.int32)
I8 = np.array([1, -2, 7], np.int8)
F32 = np.array([1.5, -2.0, 0.0], np.float32)
MASK = np.array([True, False, True])

# (name, symgrad expression of the placeholders, the same expression in NumPy)
BOOL_CASES = [
    ("x + True", lambda a, b, i, j, f, m: a + True, lambda a, b, i, j, f, m: a + True),
    ("True + x", lambda a, b, i, j, f, m: True + a, lambda a, b, i, j, f, m: True + a),
    ("x * False", lambda a, b, i, j, f, m: a * False, lambda a, b, i, j, f, m: a * False),
    ("True - x", lambda a, b, i, j, f, m: True - a, lambda a, b, i, j, f, m: True - a),
    ("x_f32 + True", lambda a, b, i, j, f, m: f + True, lambda a, b, i, j, f, m: f + True),
    ("x_int32 + True", lambda a, b, i, j, f, m: i + True, lambda a, b, i, j, f, m: i + True),
    ("x_int8 * True", lambda a, b, i, j, f, m: j * True, lambda a, b, i, j, f, m: j * True),
    ("mask + 1", lambda a, b, i, j, f, m: m + 1, lambda a, b, i, j, f, m: m + 1),
    ("where(True, a, b)", lambda a, b, i, j, f, m: sg.where(True, a, b),
     lambda a, b, i, j, f, m: np.where(True, a, b)),
    ("where(False, a, b)", lambda a, b, i, j, f, m: sg.where(False, a, b),
     lambda a, b, i, j, f, m: np.where(False, a, b)),
    ("where(np.True_, a, b)", lambda a, b, i, j, f, m: sg.where(np.True_, a, b),
     lambda a, b, i, j, f, m: np.where(np.True_, a, b)),
    ("where(bool array, a, b)", lambda a, b, i, j, f, m: sg.where(np.array([True, False, False]), a, b),
     lambda a, b, i, j, f, m: np.where(np.array([True, False, False]), a, b)),
    ("where(bool list, a, b)", lambda a, b, i, j, f, m: sg.where([True, False, False], a, b),
     lambda a, b, i, j, f, m: np.where([True, False, False], a, b)),
    ("where(True, f32, 0.0)", lambda a, b, i, j, f, m: sg.where(True, f, 0.0),
     lambda a, b, i, j, f, m: np.where(True, f, 0.0)),
    ("where(mask, int8, 5)", lambda a, b, i, j, f, m: sg.where(m, j, 5),
     lambda a, b, i, j, f, m: np.where(m, j, 5)),
    ("where(mask, True, False)", lambda a, b, i, j, f, m: sg.where(m, True, False),
     lambda a, b, i, j, f, m: np.where(m, True, False)),
]


@pytest.mark.parametrize("build, oracle", [c[1:] for c in BOOL_CASES], ids=[c[0] for c in BOOL_CASES])
def test_python_bools_and_numbers_give_numpys_values_and_dtypes(build, oracle):
    with sg.Graph():
        values = (A, B, I32, I8, F32, MASK)
        nodes = [sg.placeholder(name, v.shape, v.dtype) for name, v in zip("abijfm", values)]
        expected = np.asarray(oracle(*values))
        node = build(*nodes)
        used = {n: v for n, v in zip(nodes, values) if n in sg.ancestors([node])}
        (got,) = both_ways([node], used)
        assert got.dtype == expected.dtype, f"{got.dtype} != NumPy's {expected.dtype}"
        np.testing.assert_array_equal(got, expected)


def test_gradients_flow_through_a_where_with_python_bool_conditions():
    with sg.Graph():
        x = sg.vector("x", 2)
        point = np.array([1.5, -0.5])
        always = sg.where(True, x ** 2, x ** 3).sum()
        mixed = sg.where([True, False], x ** 2, x ** 3).sum()
        gradients = both_ways([sg.grad(always, x), sg.grad(mixed, x)], {x: point})
        np.testing.assert_allclose(gradients[0], 2 * point, rtol=1e-15)
        np.testing.assert_allclose(gradients[1], [2 * point[0], 3 * point[1] ** 2], rtol=1e-15)


# --- len, size, iteration -------------------------------------------------------------------

def test_len_size_and_iteration_of_a_static_node():
    value = np.arange(6.0).reshape(3, 2)
    with sg.Graph():
        x = sg.matrix("x", 3, 2)
        assert len(x) == 3 and x.size == 6 and isinstance(x.size, int)
        rows = list(x)
        assert len(rows) == 3 and all(row.shape == (2,) for row in rows)
        first, second, third = x
        got = both_ways([first, second, third, *reversed(x)], {x: value})
        for k, row in enumerate([*value, *value[::-1]]):
            np.testing.assert_array_equal(got[k], row)
        (total,) = both_ways([sum(x)], {x: value})  # the builtin sum adds the rows
        np.testing.assert_array_equal(total, value.sum(axis=0))


def test_unpacking_into_the_wrong_count_raises_pythons_value_error():
    x = sg.vector("x", 3)
    with pytest.raises(ValueError, match=r"too many values to unpack \(expected 2"):
        a, b = x
    with pytest.raises(ValueError, match=r"not enough values to unpack \(expected 4, got 3\)"):
        a, b, c, d = x


def test_an_empty_axis_has_length_zero_and_yields_nothing():
    x = sg.matrix("x", 0, 4)
    assert len(x) == 0 and x.size == 0 and list(x) == []


def test_a_0d_node_has_size_one_but_no_length_and_no_iteration():
    s = sg.scalar("s")
    assert s.size == 1
    with pytest.raises(TypeError, match=r"len\(\) of unsized object: placeholder 's' f64\[\] is 0-d"):
        len(s)
    with pytest.raises(TypeError, match=r"iteration of unsized object: placeholder 's' f64\[\] is 0-d"):
        iter(s)  # raised at iter(), not at the first next()
    with pytest.raises(TypeError):
        a, = s


def test_a_run_time_first_dimension_has_no_length_size_or_iteration():
    x = sg.matrix("x", None, 3)
    with pytest.raises(TypeError, match=r"len\(\) of placeholder 'x' f64\[\?,3\]: .*known only at run time"):
        len(x)
    with pytest.raises(TypeError, match=r"iteration of placeholder 'x' f64\[\?,3\]: .*known only at run time"):
        list(x)
    assert x.size is None


def test_a_run_time_later_dimension_still_iterates_over_the_static_first_one():
    value = np.arange(10.0).reshape(2, 5)
    with sg.Graph():
        x = sg.matrix("x", 2, None)
        assert len(x) == 2 and x.size is None
        top, bottom = x
        assert top.type == "f64[?]"
        got = both_ways([top, bottom], {x: value})
        np.testing.assert_array_equal(got[0], value[0])
        np.testing.assert_array_equal(got[1], value[1])


def test_membership_and_numpy_conversion_raise_instead_of_answering_wrongly():
    x = sg.vector("x", 3)
    with pytest.raises(TypeError, match="`in` on symbolic placeholder 'x' f64\\[3\\]"):
        0.0 in x  # iteration would compare nodes by identity: always False
    with pytest.raises(TypeError, match="no NumPy value until it is evaluated"):
        np.asarray(x)  # else NumPy would build an object array of element nodes
    with pytest.raises(TypeError, match="no NumPy value until it is evaluated"):
        np.array([x, x])


# --- out-of-range indices are IndexErrors -------------------------------------------------

OUT_OF_RANGE = [
    ("past the end", lambda v, m: v[3], "index 3 is out of bounds for axis 0 with size 3", "'v' f64[3]"),
    ("before the start", lambda v, m: v[-4], "index -4 is out of bounds for axis 0 with size 3", "'v' f64[3]"),
    ("second axis", lambda v, m: m[0, 4], "index 4 is out of bounds for axis 1 with size 4", "'m' f64[?,4]"),
    ("index array", lambda v, m: v[[0, 3]], "index 3 is out of bounds", "'v' f64[3]"),
    ("too many indices", lambda v, m: v[0, 0], "too many indices", "'v' f64[3]"),
]


@pytest.mark.parametrize("index, message, node", [c[1:] for c in OUT_OF_RANGE], ids=[c[0] for c in OUT_OF_RANGE])
def test_an_index_out_of_range_is_an_index_error_and_a_shape_error(index, message, node):
    v, m = sg.vector("v", 3), sg.matrix("m", None, 4)
    with pytest.raises(IndexError) as info:
        index(v, m)
    assert isinstance(info.value, sg.ShapeError) and isinstance(info.value, sg.IndexingError)
    assert "getitem" in str(info.value) and message in str(info.value) and node in str(info.value)


def test_indices_on_a_run_time_axis_are_checked_at_run_time():
    # Index 100 and index array [150, 0] fit a run-time axis of 200; a shape
    # rule that stood in 97 for the run-time size refused them at build time.
    with sg.Graph():
        x = sg.vector("x", None)
        m = sg.matrix("m", None, 4)
        long, wide = np.arange(200.0), np.arange(800.0).reshape(200, 4)
        picked, rows = x[100], m[np.array([150, 0]), 1]
        assert picked.type == "f64[]" and rows.type == "f64[2]"
        got = both_ways([picked, rows], {x: long, m: wide})
        assert got[0] == long[100]
        np.testing.assert_array_equal(got[1], wide[[150, 0], 1])
        with pytest.raises(IndexError):
            picked.eval({x: np.arange(10.0)})  # NumPy's own error, when the size is known
        with pytest.raises(IndexError):
            sg.function([x], [picked])(np.arange(10.0))


@pytest.mark.parametrize("n", [1, 10, 50, 80])
def test_a_bounded_slice_of_a_run_time_axis_has_a_run_time_length(n):
    # x[:50] is min(50, n) long: it was typed f64[50], which a compiled function
    # then contradicted silently for n < 50.
    with sg.Graph():
        x = sg.vector("x", None)
        head, tail, every_third = x[:50], x[-3:], x[5::3]
        assert head.type == tail.type == every_third.type == "f64[?]"
        value = np.arange(float(n))
        got = both_ways([head, tail, every_third], {x: value})
        for result, expected in zip(got, [value[:50], value[-3:], value[5::3]]):
            np.testing.assert_array_equal(result, expected)
