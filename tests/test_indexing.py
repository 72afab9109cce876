"""take, take_along_axis and the functional updates x.at[index].set/add/multiply/min/max: values
against NumPy (np.take, np.take_along_axis, assignment and np.<ufunc>.at), derivatives against
central differences, and at the points naive rules get wrong: repeated indices (accumulated,
or overwritten for set), zeros among repeated factors, ties for min and max, negative indices,
run-time indices and dimensions."""

import numpy as np
import pytest

import symgrad as sg
from helpers import np_at as np_update
from numpy_oracle import check_against_numpy, check_refused

RNG = np.random.default_rng(1414)


def normal(*shape):
    return RNG.standard_normal(shape)


def np_update_at(ufunc):
    """The reference of x.at[i].<update>(v) with the index array i an argument."""
    return lambda x, i, v: np_update(ufunc, i)(x, v)


REPEATS = np.array([1, 3, 1, 1, -1])  # 1 three times, 3 and -1 the same place of a length-4 axis
CASES = [
    ("take_repeated_negative", lambda x: sg.take(x, [2, -1, 2, 0], axis=0), lambda x: np.take(x, [2, -1, 2, 0], 0),
     [normal(3, 2)], None),
    ("take_flat", lambda x: sg.take(x, [[5, 0], [5, 5]]), lambda x: np.take(x, [[5, 0], [5, 5]]), [normal(2, 3)],
     None),
    ("take_scalar_index", lambda x: sg.take(x, -1, axis=1), lambda x: np.take(x, -1, axis=1), [normal(2, 3)], None),
    ("take_runtime_indices_and_dims", lambda x, i: sg.take(x, i, axis=1), lambda x, i: np.take(x, i, axis=1),
     [normal(3, 4), np.array([3, 3, -4, 0])], [(None, 4), (None,)]),
    ("take_wrap", lambda x: sg.take(x, [7, -9, 3], mode="wrap"), lambda x: np.take(x, [7, -9, 3], mode="wrap"),
     [normal(4)], None),
    ("take_clip_runtime", lambda x, i: sg.take(x, i, mode="clip"), lambda x, i: np.take(x, i, mode="clip"),
     [normal(4), np.array([-3, 9, 2, 2])], None),
    ("take_wrap_runtime", lambda x, i: x.take(i, axis=0, mode="wrap"), lambda x, i: np.take(x, i, 0, mode="wrap"),
     [normal(3, 2), np.array([-1, 5, 5])], None),
    ("take_along_axis_repeats", lambda x, i: sg.take_along_axis(x, i, 0), lambda x, i: np.take_along_axis(x, i, 0),
     [normal(3, 2), np.array([[0, 2], [0, 2], [-1, 2], [0, 0]])], None),
    ("take_along_axis_runtime_batch", lambda x, i: sg.take_along_axis(x, i, axis=-1),
     lambda x, i: np.take_along_axis(x, i, axis=-1), [normal(4, 3), np.array([[2], [0], [0], [1]])],
     [(None, 3), (None, 1)]),
    ("take_along_axis_flat", lambda x: sg.take_along_axis(x, np.array([5, 0, 5]), None),
     lambda x: np.take_along_axis(x, np.array([5, 0, 5]), None), [normal(2, 3)], None),
    ("take_along_axis_broadcast_source", lambda x, i: sg.take_along_axis(x, i, 1),
     lambda x, i: np.take_along_axis(x, i, 1), [normal(1, 3), np.array([[0, 2], [1, 1], [2, 2]])], None),
    ("set_repeated", lambda x, v: x.at[REPEATS].set(v), np_update(None, REPEATS), [normal(4, 2), normal(5, 2)], None),
    ("set_repeated_broadcast", lambda x, v: x.at[:, [0, 2, 0]].set(v), np_update(None, (slice(None), [0, 2, 0])),
     [normal(2, 3), normal(3)], None),
    ("set_runtime_repeated", lambda x, i, v: x.at[i].set(v), np_update_at(None),
     [normal(4, 2), REPEATS, normal(5, 1)], [(4, 2), (None,), (None, 1)]),
    ("set_runtime_dims", lambda x, v: x.at[:, 1].set(v), np_update(None, (slice(None), 1)),
     [normal(3, 2), normal(3)], [(None, 2), (None,)]),
    ("set_scalar_value", lambda x: x.at[1:, ::2].set(3.0),
     lambda x: np_update(None, (slice(1, None), slice(None, None, 2)))(x, 3.0), [normal(3, 3)], None),
    ("add_repeated", lambda x, v: x.at[REPEATS].add(v), np_update(np.add, REPEATS), [normal(4, 2), normal(5, 2)],
     None),
    ("add_runtime_repeated", lambda x, i, v: x.at[:, i].add(v),
     lambda x, i, v: np_update(np.add, (slice(None), i))(x, v), [normal(2, 4), REPEATS, normal(5)],
     [(None, 4), (None,), (None,)]),
    ("add_two_index_arrays", lambda x, v: x.at[[0, 1, 0], [2, 2, 2]].add(v),
     np_update(np.add, ([0, 1, 0], [2, 2, 2])), [normal(2, 3), normal(3)], None),
    ("multiply_repeated", lambda x, v: x.at[REPEATS].multiply(v), np_update(np.multiply, REPEATS),
     [normal(4, 2), normal(5, 2)], None),
    ("multiply_repeated_broadcast", lambda x, v: x.at[..., [2, 2, 0, 2]].multiply(v),
     np_update(np.multiply, (Ellipsis, [2, 2, 0, 2])), [normal(2, 3), normal(4)], None),
    ("multiply_slice", lambda x, v: x.at[1:].multiply(v), np_update(np.multiply, slice(1, None)),
     [normal(3, 2), normal(2)], None),
    ("multiply_unique_runtime", lambda x, i, v: x.at[i].multiply(v, unique_indices=True), np_update_at(np.multiply),
     [normal(4, 2), np.array([3, -4]), normal(2, 2)], [(4, 2), (None,), (None, 2)]),
    ("min_repeated", lambda x, v: x.at[REPEATS].min(v), np_update(np.minimum, REPEATS), [normal(4, 2), normal(5, 2)],
     None),
    ("max_runtime_repeated", lambda x, i, v: x.at[i].max(v), np_update_at(np.maximum),
     [normal(4, 2), REPEATS, normal(5, 2)], [(4, 2), (None,), (None, 2)]),
]


@pytest.mark.parametrize("build, ref, args, shapes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_numpy_to_second_order(build, ref, args, shapes):
    check_against_numpy(build, ref, *args, shapes=shapes)


def gradients(build, x_value, v_value, cotangent=None):
    """d/dx and d/dv of sum(w * build(x, v)) (w: the cotangent, ones by default)."""
    with sg.Graph():
        x, v = sg.placeholder("x", np.shape(x_value)), sg.placeholder("v", np.shape(v_value))
        out = build(x, v)
        w = np.ones(out.shape) if cotangent is None else cotangent
        return sg.evaluate([out, *sg.grad(sg.sum(out * w), [x, v])], {x: x_value, v: v_value})


def test_set_with_repeated_indices_sends_the_cotangent_to_the_value_that_lands():
    w = np.array([1.0, 10.0, 100.0])
    out, gx, gv = gradients(lambda x, v: x.at[[0, 2, 0, 0]].set(v), np.zeros(3), np.array([1.0, 2.0, 3.0, 4.0]), w)
    np.testing.assert_array_equal(out, [4.0, 0.0, 2.0])  # NumPy's assignment: the last write lands
    np.testing.assert_array_equal(gx, [0.0, 10.0, 0.0])  # overwritten places get nothing
    np.testing.assert_array_equal(gv, [0.0, 100.0, 0.0, 1.0])  # only the landing values


def test_last_writes_agree_with_numpy_assignment_on_random_repeats():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        index = rng.integers(-6, 6, 40)
        x_value, v_value = rng.standard_normal((6, 3)), rng.standard_normal((40, 1))
        with sg.Graph():
            x, v = sg.matrix("x", 6, 3), sg.matrix("v", None, 1)
            i = sg.vector("i", None, dtype="int64")
            out = x.at[i].set(v)
            gv = sg.grad(sg.sum(out * np.arange(18.0).reshape(6, 3)), v)
            got_out, got_gv = sg.evaluate([out, gv], {x: x_value, v: v_value, i: index})
        expected = x_value.copy()
        expected[index] = v_value
        np.testing.assert_array_equal(got_out, expected)
        landed = [k for k in range(40) if not any(index[j] % 6 == index[k] % 6 for j in range(k + 1, 40))]
        weights = np.arange(18.0).reshape(6, 3).sum(1)
        expected_gv = np.zeros((40, 1))
        expected_gv[landed, 0] = weights[index[landed]]
        np.testing.assert_array_equal(got_gv, expected_gv)


def test_add_with_repeated_indices_gathers_the_cotangent():
    w = np.array([1.0, 10.0, 100.0])
    out, gx, gv = gradients(lambda x, v: x.at[[2, 2, -1, 0]].add(v), np.ones(3), np.array([1.0, 2.0, 3.0, 4.0]), w)
    np.testing.assert_array_equal(out, [5.0, 1.0, 7.0])
    np.testing.assert_array_equal(gx, w)
    np.testing.assert_array_equal(gv, [100.0, 100.0, 100.0, 1.0])


def test_multiply_with_zeros_among_repeated_factors_is_exact():
    # x[0] * a * b * c at place 0: each factor's derivative is the product of the others,
    # exact with one zero among them and with two (where a division by the factor would fail)
    def build(x, v):
        return x.at[[0, 0, 0, 1]].multiply(v)
    for v_value in ([0.0, 2.0, 3.0, 5.0], [0.0, 0.0, 3.0, 5.0], [2.0, -0.5, 3.0, 0.0]):
        v_value = np.array(v_value)
        x_value = np.array([1.5, 2.0])
        out, gx, gv = gradients(build, x_value, v_value)
        a, b, c, d = v_value
        np.testing.assert_array_equal(out, [1.5 * a * b * c, 2.0 * d])
        np.testing.assert_array_equal(gx, [a * b * c, d])
        np.testing.assert_array_equal(gv, [1.5 * b * c, 1.5 * a * c, 1.5 * a * b, 2.0])
    # second derivatives: d2/da db = x * c, also where a = b = 0
    with sg.Graph():
        x, v = sg.vector("x", 2), sg.vector("v", 4)
        hessian = sg.hessian(sg.sum(build(x, v)), v).eval({x: [1.5, 2.0], v: [0.0, 0.0, 3.0, 5.0]})
    expected = 1.5 * np.array([[0, 3.0, 0, 0], [3.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(hessian, expected)


def test_multiply_gradient_is_the_product_of_the_others_on_random_repeats():
    # brute force: d out[p] / d v_k = x[p] * product of the other values at p (zeros included)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        index = rng.integers(-4, 4, 12)
        v_value = rng.choice([0.0, 0.5, -1.5, 2.0], 12)
        x_value = rng.standard_normal(4)
        w = rng.standard_normal(4)
        out, gx, gv = gradients(lambda x, v: x.at[index].multiply(v), x_value, v_value, w)
        places = index % 4
        product = np.array([np.prod(v_value[places == p]) for p in range(4)])
        np.testing.assert_allclose(out, x_value * product, rtol=1e-15)
        np.testing.assert_allclose(gx, w * product, rtol=1e-15)
        others = [np.prod(v_value[(places == places[k]) & (np.arange(12) != k)]) for k in range(12)]
        np.testing.assert_allclose(gv, (w * x_value)[places] * others, rtol=1e-15, atol=0)


def test_multiply_derivative_needs_known_repeats():
    x, v, i = sg.vector("x", 3), sg.vector("v", 2), sg.vector("i", 2, dtype="int64")
    y = x.at[i].multiply(v)
    assert sg.grad(sg.sum(y), x).shape == (3,)  # d/dx is fine: the product of the values at each place
    with pytest.raises(sg.GradientError, match=r"at_multiply: .*unique_indices=True"):
        sg.grad(sg.sum(y), v)
    unique = x.at[i].multiply(v, unique_indices=True)
    gv = sg.grad(sg.sum(unique), v)
    np.testing.assert_array_equal(gv.eval({x: [1.0, 2.0, 3.0], v: [4.0, 5.0], i: [2, 0]}), [3.0, 1.0])
    with pytest.raises(sg.IndexingError, match="repeat"):
        unique.eval({x: [1.0, 2.0, 3.0], v: [4.0, 5.0], i: [2, -1]})


@pytest.mark.parametrize("kind", ["min", "max"])
def test_min_and_max_share_the_derivative_among_ties(kind):
    sign = 1.0 if kind == "max" else -1.0
    x_value = sign * np.array([5.0, 1.0, 2.0])
    v_value = sign * np.array([5.0, 5.0, 0.0, 3.0, 3.0])  # place 0: x and two values tie
    w = np.array([1.0, 10.0, 100.0])

    def build(x, v):
        return getattr(x.at[[0, 0, 1, 2, 2]], kind)(v)
    out, gx, gv = gradients(build, x_value, v_value, w)
    np.testing.assert_array_equal(out, sign * np.array([5.0, 1.0, 3.0]))
    np.testing.assert_allclose(gx, [1 / 3, 10.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(gv, [1 / 3, 1 / 3, 0.0, 50.0, 50.0], rtol=1e-15)
    with sg.Graph():  # piecewise linear: the second derivative is zero, also at the ties
        x, v = sg.vector("x", 3), sg.vector("v", 5)
        cost = sg.sum(build(x, v) * w)
        hv = sg.hvp(cost, [x, v], [np.ones(3), np.ones(5)])
        for h in sg.evaluate(hv, {x: x_value, v: v_value}):
            np.testing.assert_array_equal(h, 0.0)


@pytest.mark.parametrize("kind", ["min", "max"])
def test_min_and_max_shares_on_random_ties(kind):
    # small integer values: many ties; brute force: each candidate attaining the result at its
    # place gets the place's cotangent divided by the number of such candidates
    pick = np.minimum if kind == "min" else np.maximum
    for seed in range(5):
        rng = np.random.default_rng(seed)
        index = rng.integers(0, 4, 10)
        x_value, v_value = rng.integers(-1, 2, 4).astype(float), rng.integers(-1, 2, 10).astype(float)
        w = rng.standard_normal(4)
        out, gx, gv = gradients(lambda x, v: getattr(x.at[index], kind)(v), x_value, v_value, w)
        expected = x_value.copy()
        pick.at(expected, index, v_value)
        np.testing.assert_array_equal(out, expected)
        count = (x_value == expected) + np.array([np.sum(v_value[index == p] == expected[p]) for p in range(4)])
        np.testing.assert_allclose(gx, w * (x_value == expected) / count, rtol=1e-15)
        np.testing.assert_allclose(gv, (w / count)[index] * (v_value == expected[index]), rtol=1e-15)


def test_take_checks_bounds_when_built_and_when_run():
    x = sg.matrix("x", 2, 3)
    with pytest.raises(sg.IndexingError, match=r"take: index 3 is out of bounds for axis 1 of placeholder 'x' "
                                               r"f64\[2,3\] \(size 3\)"):
        sg.take(x, [0, 3], axis=1)
    with pytest.raises(sg.IndexingError, match=r"take: index -7 is out of bounds for axis 0"):
        sg.take(x, -7)
    with pytest.raises(sg.IndexingError, match=r"take_along_axis: index 2 is out of bounds for axis 0"):
        sg.take_along_axis(x, np.array([[2, 0, 0]]), 0)
    i = sg.vector("i", None, dtype="int64")
    y = sg.take(x, i, axis=1)
    with pytest.raises(IndexError, match="out of bounds"):
        y.eval({x: np.ones((2, 3)), i: [0, 3]})
    with pytest.raises(IndexError, match="out of bounds"):
        sg.function([x, i], y)(np.ones((2, 3)), np.array([0, 3]))


def test_item_assignment_points_to_at_set():
    x = sg.vector("x", 3)
    with pytest.raises(TypeError, match=r"immutable.*x\.at\[1\]\.set\(value\)"):
        x[1] = 2.0
    with pytest.raises(TypeError, match=r"x\.at\[:, 0\]\.set"):
        sg.matrix("m", 2, 2)[:, 0] = 1.0


def test_at_get_is_getitem_and_updates_leave_x_alone():
    x = sg.constant(np.arange(4.0))
    assert x.at[1:].get() is x[1:]
    y = x.at[0].set(7.0)
    np.testing.assert_array_equal(x.eval(), np.arange(4.0))
    np.testing.assert_array_equal(y.eval(), [7.0, 1.0, 2.0, 3.0])


def test_integer_arrays_update_without_derivatives():
    counts = sg.constant(np.zeros(3, np.int64))
    bins = sg.vector("bins", None, dtype="int64")
    histogram = counts.at[bins].add(1)
    assert histogram.dtype == np.int64
    np.testing.assert_array_equal(histogram.eval({bins: [0, 2, 2, 2]}), [1, 0, 3])


ERRORS = [
    ("set_shape", lambda: sg.matrix("a", 2, 3).at[0].set(sg.vector("v", 2)), sg.ShapeError,
     ["at_set", "placeholder 'v' f64[2]", "indexed part f64[3] of placeholder 'a' f64[2,3]"]),
    ("add_float_widths", lambda: sg.vector("a", 3).at[0].add(sg.scalar("s", dtype="float32")), sg.DTypeError,
     ["at_add", "cannot mix", "f32"]),
    ("set_float_into_int", lambda: sg.vector("a", 3, dtype="int64").at[0].set(sg.scalar("s")), sg.DTypeError,
     ["at_set", "cast silently", "i64[3]"]),
    ("at_bool_mask", lambda: sg.vector("a", 3).at[sg.vector("m", 3, dtype="bool")].set(0.0), sg.ShapeError,
     ["boolean mask", "sg.where"]),
    ("at_out_of_bounds", lambda: sg.vector("a", 3).at[[0, 5]].add(1.0), sg.IndexingError,
     ["at_add (x.at[[0, 5]].add)", "placeholder 'a' f64[3]", "out of bounds"]),
    ("take_float_indices", lambda: sg.take(sg.vector("a", 3), [0.5]), sg.DTypeError, ["take", "integers"]),
    ("take_mode", lambda: sg.take(sg.vector("a", 3), [0], mode="nearest"), sg.ShapeError, ["take", "'nearest'"]),
    ("take_axis", lambda: sg.take(sg.vector("a", 3), [0], axis=1), sg.ShapeError, ["take", "axis 1"]),
    ("take_wrap_runtime", lambda: sg.take(sg.vector("a", None), [0], mode="wrap"), sg.ShapeError,
     ["take", "'wrap'", "run time"]),
    ("take_along_ndim", lambda: sg.take_along_axis(sg.matrix("a", 2, 3), np.array([0, 1]), 1), sg.ShapeError,
     ["take_along_axis", "same number of dimensions"]),
    ("take_along_shapes", lambda: sg.take_along_axis(sg.matrix("a", 2, 3), np.zeros((3, 1), int), 1), sg.ShapeError,
     ["take_along_axis", "do not broadcast"]),
    ("take_along_flat", lambda: sg.take_along_axis(sg.matrix("a", 2, 3), np.zeros((1, 1), int), None), sg.ShapeError,
     ["take_along_axis", "axis=None", "1-d"]),
]


@pytest.mark.parametrize("make, error, fragments", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_is_refused_when_built(make, error, fragments):
    check_refused(make, error, fragments)


@pytest.mark.parametrize("update", ["set", "add", "multiply", "min", "max"])
def test_a_fed_index_out_of_range_is_an_indexing_error(update):
    """Run-time indices are checked when they arrive, in both executors, as getitem's are."""
    with sg.Graph():
        x, i, v = sg.vector("x", 3), sg.placeholder("i", (2,), "int64"), sg.vector("v", 2)
        y = getattr(x.at[i], update)(v)
        feeds = {x: np.ones(3), i: np.array([0, 7]), v: np.ones(2)}
        with pytest.raises(sg.IndexingError, match=r"x\.at\[.*index 7 is out of bounds"):
            sg.evaluate(y, feeds)
        with pytest.raises(sg.IndexingError, match=r"index 7 is out of bounds"):
            sg.function([x, i, v], y)(*feeds.values())
