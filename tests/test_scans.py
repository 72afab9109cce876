"""NumPy's reductions and scans (issue 14): prod, cumsum, cumprod, var, std, median, sort,
argsort, all, any, count_nonzero, average, ptp.

Values against NumPy (dtypes included); derivatives of every order against closed forms
written here in plain NumPy and against central differences, at the points that break naive
rules: zeros for prod and cumprod (one and several, float32 too), ties for sort, median and
ptp, zero variance for std, ddof >= n.
"""

import itertools
import warnings

import numpy as np
import pytest

import symgrad as sg
from finite_differences import fd_jacobian
from helpers import np_linear_recurrence

DTYPES = [np.dtype(name) for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                      "uint32", "uint64", "float16", "float32", "float64")]
FLOATS = [np.float32, np.float64]


def values_for(dtype, shape=(3, 4), seed=0):
    """Small values of ``dtype`` with ties and (for signed types) negatives."""
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    low = 0 if dtype.kind == "u" else -3
    return rng.integers(low, 4, shape).astype(dtype)


def both(outputs, feeds):
    """The interpreter's values and the compiled function's, which must agree exactly."""
    outputs = outputs if isinstance(outputs, list) else [outputs]
    interpreted = sg.evaluate(outputs, feeds)
    compiled = sg.function(list(feeds), outputs)(*feeds.values())
    compiled = compiled if isinstance(compiled, (list, tuple)) else [compiled]
    for a, b in zip(interpreted, compiled):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    return interpreted


# --- values and dtypes against NumPy --------------------------------------------------------

SCANS = {  # name: (symgrad, NumPy), each taking (array-like, axis)
    "cumsum": (sg.cumsum, np.cumsum),
    "cumprod": (sg.cumprod, np.cumprod),
    "sort": (sg.sort, np.sort),
    "argsort": (lambda x, axis: sg.argsort(x, axis, stable=True), lambda a, axis: np.argsort(a, axis, stable=True)),
    "median": (lambda x, axis: sg.median(x, axis), np.median),
    "ptp": (sg.ptp, np.ptp),
    "Node.cumsum": (lambda x, axis: x.cumsum(axis), lambda a, axis: a.cumsum(axis)),
    "Node.cumprod": (lambda x, axis: x.cumprod(axis), lambda a, axis: a.cumprod(axis)),
    "Node.argsort": (lambda x, axis: x.argsort(axis, kind="stable"), lambda a, axis: a.argsort(axis, kind="stable")),
}


@pytest.mark.parametrize("name", SCANS)
def test_scans_match_numpy_in_dtype_and_value(name):
    build, reference = SCANS[name]
    for dtype in DTYPES:
        a = values_for(dtype)
        if name == "ptp" and dtype.kind == "b":
            with pytest.raises(TypeError):
                reference(a, 0)  # NumPy refuses max - min of bools; so does symgrad, when built
            with pytest.raises(sg.DTypeError, match=r"ptp: .*placeholder 'x' bool\[3,4\]"):
                build(sg.placeholder("x", a.shape, dtype, graph=sg.Graph()), 0)
            continue
        x = sg.placeholder("x", a.shape, dtype, graph=sg.Graph())
        axes = [None, 0, 1, -1]
        outputs = [build(x, axis) for axis in axes]
        for axis, node, value in zip(axes, outputs, both(outputs, {x: a})):
            with np.errstate(over="ignore"):
                expected = np.asarray(reference(a, axis))
            what = f"{name} of {dtype} axis={axis}"
            assert node.dtype == expected.dtype == value.dtype, what
            if expected.dtype.kind == "f":
                np.testing.assert_allclose(value, expected, rtol=2 * np.finfo(expected.dtype).eps, err_msg=what)
            else:
                np.testing.assert_array_equal(value, expected, err_msg=what, strict=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_median_matches_numpy(dtype):
    a = values_for(dtype, (2, 3, 4), seed=3)
    x = sg.placeholder("x", a.shape, dtype)
    cases = [(axis, keep) for axis in (None, 0, 1, 2, (0, 2), (1, 2), ()) for keep in (False, True)]
    outputs = [sg.median(x, axis, keepdims=keep) for axis, keep in cases]
    for (axis, keep), node, value in zip(cases, outputs, both(outputs, {x: a})):
        expected = np.asarray(np.median(a, axis, keepdims=keep))
        assert node.dtype == expected.dtype == value.dtype, (axis, keep)
        np.testing.assert_allclose(value, expected, rtol=2 * np.finfo(expected.dtype).eps, err_msg=f"{axis} {keep}")
        assert value.shape == expected.shape


def test_median_of_data_with_nan_is_nan_as_in_numpy():
    a = np.array([[1.0, np.nan, 3.0], [4.0, 2.0, 0.5], [np.nan, np.nan, 1.0]])
    x = sg.placeholder("x", a.shape)
    for axis in (None, 0, 1):
        np.testing.assert_array_equal(both(sg.median(x, axis), {x: a})[0], np.median(a, axis))


def test_sort_and_argsort_put_nans_last_and_keep_ties_in_order():
    a = np.array([2.0, np.nan, -1.0, 2.0, -0.0, 0.0, np.inf, -np.inf])
    x = sg.placeholder("x", a.shape)
    sorted_value, order = both([sg.sort(x), sg.argsort(x, stable=True)], {x: a})
    np.testing.assert_array_equal(sorted_value, np.sort(a))
    np.testing.assert_array_equal(order, np.argsort(a, stable=True))
    assert order.dtype == np.intp


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_truth_and_counts_match_numpy(dtype):
    a = values_for(dtype, (3, 4), seed=5)
    if dtype.kind == "f":
        a[0, 0], a[1, 1], a[2, 2] = np.nan, -0.0, np.inf  # nan and inf are nonzero, -0.0 is zero
    x = sg.placeholder("x", (None, 4), dtype)
    cases = [(f, axis, keep) for f in ("all", "any", "count_nonzero") for axis in (None, 0, 1, (0, 1))
             for keep in (False, True)]
    outputs = [getattr(sg, f)(x, axis, keepdims=keep) for f, axis, keep in cases]
    for (f, axis, keep), node, value in zip(cases, outputs, both(outputs, {x: a})):
        expected = np.asarray(getattr(np, f)(a, axis, keepdims=keep))
        assert node.dtype == expected.dtype, (f, axis)
        np.testing.assert_array_equal(value, expected, strict=True, err_msg=f"{f} {axis} {keep}")


def test_methods_are_ndarrays():
    a = np.array([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]])
    x = sg.placeholder("x", a.shape)
    pairs = [
        (x.prod(), a.prod()), (x.prod(1, keepdims=True), a.prod(1, keepdims=True)),
        (x.var(), a.var()), (x.var(0, ddof=1), a.var(0, ddof=1)), (x.std(1, keepdims=True), a.std(1, keepdims=True)),
        (x.cumsum(), a.cumsum()), (x.cumsum(0), a.cumsum(0)), (x.cumprod(1), a.cumprod(1)),
        (x.all(), a.all()), (x.any(0, keepdims=True), a.any(0, keepdims=True)), (x.argsort(), a.argsort()),
        (x.argsort(0, stable=True), a.argsort(0, stable=True)),
        (x.prod(dtype="float32"), a.prod(dtype="float32")), (x.cumsum(1, dtype="int64"), a.cumsum(1, dtype="int64")),
        (sg.var(x, 1, dtype="float32"), np.var(a, 1, dtype="float32")),
    ]
    for (node, expected), value in zip(pairs, both([n for n, _ in pairs], {x: a})):
        np.testing.assert_allclose(value, expected, rtol=1e-15 if value.dtype == np.float64 else 1e-6)
        assert value.dtype == np.asarray(expected).dtype
    # ndarray.sort sorts in place and returns None: a node has no such method (sg.sort instead)
    assert not hasattr(x, "sort")
    with pytest.raises(TypeError):
        x.var(0, None)  # NumPy's second positional argument is dtype, never ddof or keepdims


def test_average_matches_numpy():
    a = np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]])
    w = np.array([[2.0, 1.0, 1.0], [0.5, 0.25, 3.0]])
    x, weights, row = sg.placeholder("x", (2, 3)), sg.placeholder("w", (2, 3)), sg.placeholder("r", (3,))
    feeds = {x: a, weights: w, row: w[0]}
    cases = [
        (sg.average(x), np.average(a)),
        (sg.average(x, 1, weights), np.average(a, 1, w)),
        (sg.average(x, None, weights), np.average(a, None, w)),
        (sg.average(x, 1, row, keepdims=True), np.average(a, 1, w[0], keepdims=True)),
        (sg.average(x, (0, 1), weights, keepdims=True), np.average(a, (0, 1), w, keepdims=True)),
        (sg.average(x, 0, [2.0, 1.0]), np.average(a, 0, [2.0, 1.0])),
        *zip(sg.average(x, 1, row, returned=True), np.average(a, 1, w[0], returned=True)),
        *zip(sg.average(x, 0, returned=True), np.average(a, 0, returned=True)),
    ]
    for (node, expected), value in zip(cases, both([n for n, _ in cases], feeds)):
        np.testing.assert_allclose(value, expected, rtol=1e-15)
        assert value.shape == np.shape(expected)
    ints = sg.placeholder("i", (3,), "int8")
    mean = sg.average(ints, weights=sg.constant(np.array([1, 2, 3], np.int16)))
    expected = np.average(np.array([1, 5, 7], np.int8), weights=np.array([1, 2, 3], np.int16))
    assert mean.dtype == expected.dtype == np.float64
    assert sg.evaluate(mean, {ints: [1, 5, 7]}) == expected
    with pytest.raises(sg.ShapeError, match="average: axis must be given"):
        sg.average(x, weights=row)
    with pytest.raises(sg.ShapeError, match=r"average: the weights .* must have the shape \(3,\)"):
        sg.average(x, 1, [1.0, 2.0])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_ptp_of_integers_wraps_as_in_numpy():
    a = np.array([100, -100, 5], np.int8)
    x = sg.placeholder("x", (3,), "int8")
    with np.errstate(over="ignore"):
        expected = np.ptp(a)
    assert both(sg.ptp(x), {x: a})[0] == expected == np.int8(-56)


# --- prod: derivatives of every order, at zeros -----------------------------------------------

def product_derivative(x, indices):
    """d^k prod(x) / dx_i dx_j ...: the product of the elements not differentiated (0 if an
    index repeats: prod is linear in each element)."""
    if len(set(indices)) < len(indices):
        return 0.0
    return np.prod(np.delete(x, list(indices)))


def derivative_tensor(f, x, order):
    """The closed-form tensor of d^order f / dx^order, f(x, indices) giving one entry."""
    n = x.size
    return np.array([f(x, idx) for idx in itertools.product(range(n), repeat=order)]).reshape((n,) * order)


PROD_POINTS = {
    "no zero": [1.5, -2.0, 0.5, 3.0],
    "one zero": [1.5, 0.0, 0.5, 3.0],
    "two zeros": [0.0, -2.0, 0.0, 3.0],
    "three zeros": [0.0, 0.0, 0.5, 0.0],
    "all zeros": [0.0, 0.0, 0.0, 0.0],
}


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_prod_derivatives_of_orders_1_to_3_are_exact_at_zeros(mode, dtype):
    x = sg.placeholder("x", (4,), dtype)
    cost = sg.prod(x)
    first = sg.grad(cost, x)
    second = sg.jacobian(first, x, mode=mode)
    third = sg.jacobian(second, x, mode=mode)
    f = sg.function([x], [first, second, third])
    for label, point in PROD_POINTS.items():
        point = np.array(point, dtype)
        for order, value in enumerate(f(point), start=1):
            expected = derivative_tensor(product_derivative, point.astype(np.float64), order)
            assert value.dtype == dtype
            np.testing.assert_allclose(value, expected, rtol=4 * np.finfo(dtype).eps, atol=0,
                                       err_msg=f"order {order} at {label}")


def test_prod_over_several_axes_has_exact_gradients_and_hessians_at_zeros():
    X = sg.placeholder("X", (2, 3))
    for axis in ((0, 1), 1, 0, None):
        cost = sg.sum(sg.prod(X, axis) * np.arange(1.0, 1.0 + np.size(np.prod(np.ones((2, 3)), axis))))
        gradient, hess = sg.grad(cost, X), sg.hessian(cost, X)
        for point in ([[0.0, 2.0, 3.0], [1.5, 0.0, -1.0]], [[0.0, 0.0, 3.0], [1.5, 2.0, -1.0]],
                      [[1.0, 2.0, 3.0], [1.5, 0.5, -1.0]]):
            point = np.array(point)
            g, h = sg.evaluate([gradient, hess], {X: point})
            np.testing.assert_allclose(g, fd_jacobian(cost, X, point), rtol=1e-8, atol=1e-8, err_msg=str(axis))
            np.testing.assert_allclose(h, fd_jacobian(gradient, X, point), rtol=1e-7, atol=1e-7, err_msg=str(axis))


def test_prod_forward_mode_and_hvp_at_zeros():
    x = sg.placeholder("x", (4,))
    v = np.array([0.5, -1.0, 2.0, 0.25])
    cost = sg.prod(x)
    jv = sg.jvp(cost, x, v)
    hv = {m: sg.hvp(cost, x, v, method=m) for m in ("forward-over-reverse", "reverse-over-reverse")}
    for point in PROD_POINTS.values():
        point = np.array(point)
        np.testing.assert_allclose(sg.evaluate(jv, {x: point}), derivative_tensor(product_derivative, point, 1) @ v,
                                   rtol=1e-15, atol=0)
        for method, node in hv.items():
            np.testing.assert_allclose(sg.evaluate(node, {x: point}), derivative_tensor(product_derivative, point, 2) @ v,
                                       rtol=1e-15, atol=0, err_msg=method)


def test_prod_with_a_run_time_axis():
    x = sg.placeholder("x", (None, 3))
    cost = sg.sum(sg.prod(x, 0) ** 2)
    gradient = sg.grad(cost, x)
    for point in (np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 0.0]]), np.array([[1.0, 0.5, 2.0]] * 4)):
        p = np.prod(point, 0)
        others = np.array([[np.prod(np.delete(point[:, j], i)) for j in range(3)] for i in range(len(point))])
        np.testing.assert_allclose(both(gradient, {x: point})[0], 2 * p * others, rtol=1e-15)


# --- cumprod and cumsum ------------------------------------------------------------------------

def cumprod_derivative(x, k, indices):
    """d^m out[k] / dx_i ...: the product of x[:k+1] without the indices (0 past k or repeated)."""
    if len(set(indices)) < len(indices) or max(indices) > k:
        return 0.0
    return np.prod(np.delete(x[:k + 1], list(indices)))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_cumprod_derivatives_of_orders_1_to_3_are_exact_at_zeros(dtype):
    n = 5
    w = np.array([0.5, -1.0, 2.0, 0.25, 1.5], dtype)
    x = sg.placeholder("x", (n,), dtype)
    out = sg.cumprod(x)
    cost = sg.sum(out * w)
    jac = sg.jacobian(out, x, mode="reverse")
    jac_forward = sg.jacobian(out, x, mode="forward")
    second = sg.hessian(cost, x)
    third = sg.jacobian(second, x, mode="reverse")
    f = sg.function([x], [jac, jac_forward, second, third])
    points = {"no zero": [1.5, -2.0, 0.5, 3.0, 0.75], "one zero": [1.5, 0.0, 0.5, 3.0, -2.0],
              "two zeros": [0.0, -2.0, 0.5, 0.0, 3.0], "zeros at both ends": [0.0, 2.0, 0.5, 1.5, 0.0],
              "all zeros": [0.0] * n}
    for label, point in points.items():
        point = np.array(point, dtype)
        x64 = point.astype(np.float64)
        j, jf, h, t = f(point)
        expected_j = np.array([[cumprod_derivative(x64, k, (i,)) for i in range(n)] for k in range(n)])
        weighted = [sum(w[k] * cumprod_derivative(x64, k, idx) for k in range(n)) for order in (2, 3)
                    for idx in itertools.product(range(n), repeat=order)]
        expected_h = np.array(weighted[:n * n]).reshape(n, n)
        expected_t = np.array(weighted[n * n:]).reshape(n, n, n)
        tol = dict(rtol=8 * np.finfo(dtype).eps, atol=8 * np.finfo(dtype).eps * 10)
        for value, expected, what in ((j, expected_j, "jacobian"), (jf, expected_j, "forward jacobian"),
                                      (h, expected_h, "hessian"), (t, expected_t, "third derivative")):
            assert value.dtype == dtype
            np.testing.assert_allclose(value, expected, **tol, err_msg=f"{what} at {label}")


def test_cumprod_along_an_axis_of_a_matrix_matches_finite_differences():
    X = sg.placeholder("X", (3, 4))
    point = np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, 1.0], [0.5, -1.25, 2.0, 0.75]])
    for axis in (0, 1):
        out = sg.cumprod(X, axis)
        np.testing.assert_allclose(sg.evaluate(sg.jacobian(out, X), {X: point}), fd_jacobian(out, X, point),
                                   rtol=1e-8, atol=1e-9, err_msg=f"axis {axis}")
        cost = sg.sum(out * np.linspace(-1.0, 1.0, 12).reshape(3, 4))
        np.testing.assert_allclose(sg.evaluate(sg.hessian(cost, X), {X: point}),
                                   fd_jacobian(sg.grad(cost, X), X, point), rtol=1e-7, atol=1e-8)


def test_cumprod_gradient_of_a_long_vector_with_zeros():
    n = 2000
    rng = np.random.default_rng(7)
    point = rng.uniform(0.98, 1.02, n)
    point[[300, 1500]] = 0.0
    x = sg.placeholder("x", (n,))
    w = rng.standard_normal(n)
    gradient = sg.grad(sg.sum(sg.cumprod(x) * w), x)
    # in closed form: x_bar[i] = sum over k >= i of w[k] prod(x[j], j <= k, j != i), at most one zero removed
    expected = np.zeros(n)
    for i in range(n):
        others = np.cumprod(np.where(np.arange(n) == i, 1.0, point))
        expected[i] = np.sum(w[i:] * others[i:])
    value = both(gradient, {x: point})[0]
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)
    assert np.all(value[1501:] == 0.0) and np.all(value[:301] != 0.0)


def test_linear_recurrence_matches_the_sequential_loop():
    rng = np.random.default_rng(11)
    a, b = rng.uniform(-1.5, 1.5, (3, 13, 2)), rng.standard_normal((3, 13, 2))
    A, B = sg.placeholder("a", a.shape), sg.placeholder("b", b.shape)
    for axis, reverse in itertools.product((0, 1, 2), (False, True)):
        value = both(sg.ops.linear_recurrence(A, B, axis, reverse), {A: a, B: b})[0]
        np.testing.assert_allclose(value, np_linear_recurrence(a, b, axis, reverse), rtol=1e-12, atol=1e-14,
                                   err_msg=f"axis {axis} reverse {reverse}")


def test_cumsum_jacobians_are_triangles_of_ones():
    X = sg.placeholder("X", (2, 3))
    point = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, 0.0]])
    lower = np.tril(np.ones((3, 3)))
    expected = {1: np.einsum("ik,jl->ijkl", np.eye(2), lower), 0: np.einsum("ik,jl->ijkl", np.tril(np.ones((2, 2))),
                                                                            np.eye(3))}
    for axis, jac in expected.items():
        for mode in ("forward", "reverse"):
            np.testing.assert_array_equal(sg.evaluate(sg.jacobian(sg.cumsum(X, axis), X, mode=mode), {X: point}), jac)
    flat = sg.jacobian(sg.cumsum(X), X)  # axis=None: the flattened array, as NumPy
    np.testing.assert_array_equal(sg.evaluate(flat, {X: point}), np.tril(np.ones((6, 6))).reshape(6, 2, 3))
    assert sg.cumsum(X).shape == (6,)


# --- sort, median, ptp: the permutation and ties --------------------------------------------

def test_sort_gradient_follows_the_permutation():
    rng = np.random.default_rng(3)
    point = rng.permutation(12).astype(float).reshape(3, 4) * 0.7 - 2.0
    weights = rng.standard_normal((3, 4))
    X = sg.placeholder("X", (3, 4))
    for axis in (0, 1):
        cost = sg.sum(sg.sort(X, axis) * weights)
        ranks = np.argsort(np.argsort(point, axis), axis)  # where each element lands
        expected = np.take_along_axis(weights, ranks, axis)
        np.testing.assert_array_equal(both(sg.grad(cost, X), {X: point})[0], expected)
        np.testing.assert_allclose(sg.evaluate(sg.jvp(cost, X, weights), {X: point}), np.sum(expected * weights))


def test_tied_elements_share_the_gradient_of_sort_as_max_shares_it():
    x = sg.placeholder("x", (5,))
    point = np.array([2.0, -1.0, 2.0, 0.5, -1.0])
    w = np.array([1.0, 2.0, 4.0, 8.0, 16.0])  # places 0, 1 hold the two -1s; 3, 4 the two 2s
    gradient = sg.grad(sg.sum(sg.sort(x) * w), x)
    np.testing.assert_array_equal(sg.evaluate(gradient, {x: point}), [12.0, 1.5, 12.0, 4.0, 1.5])
    X = sg.placeholder("X", (3, 2))  # along axis 0: column 0 ties 1 = 1, column 1 ties 2 = 2
    gradient = sg.grad(sg.sum(sg.sort(X, 0) * np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])), X)
    np.testing.assert_array_equal(both(gradient, {X: [[1.0, 2.0], [1.0, 3.0], [0.0, 2.0]]})[0],
                                  [[3.0, 15.0], [3.0, 40.0], [1.0, 15.0]])
    top, bottom = sg.grad(sg.sort(x)[-1], x), sg.grad(sg.sort(x)[0], x)
    np.testing.assert_array_equal(sg.evaluate(top, {x: point}), sg.evaluate(sg.grad(sg.max(x), x), {x: point}))
    np.testing.assert_array_equal(sg.evaluate(bottom, {x: point}), sg.evaluate(sg.grad(sg.min(x), x), {x: point}))
    # the forward rule is the reverse rule's transpose, ties included: u . (J v) == (J^T u) . v
    u, v = np.array([0.5, -1.0, 3.0, 2.0, 0.25]), np.array([1.0, -2.0, 0.5, 0.75, 3.0])
    (jv,) = sg.jvp([sg.sort(x)], [x], [v])
    (vj,) = sg.vjp([sg.sort(x)], [x], [u])
    jv_value, vj_value = sg.evaluate([jv, vj], {x: point})
    np.testing.assert_allclose(u @ jv_value, vj_value @ v, rtol=1e-15)
    # tied elements share their tangents: -1s have -2 and 3 (0.5 each), 2s have 1 and 0.5 (0.75 each)
    np.testing.assert_array_equal(jv_value, [0.5, 0.5, 0.75, 0.75, 0.75])


def test_sort_second_derivatives_vanish_and_match_finite_differences():
    x = sg.placeholder("x", (4,))
    point = np.array([0.3, -1.2, 2.5, 0.9])
    cost = sg.sum(sg.sort(x) ** 3 * np.array([1.0, -2.0, 0.5, 3.0]))
    np.testing.assert_allclose(sg.evaluate(sg.hessian(cost, x), {x: point}),
                               fd_jacobian(sg.grad(cost, x), x, point), rtol=1e-7, atol=1e-8)
    linear = sg.sum(sg.sort(x) * np.array([1.0, -2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(sg.evaluate(sg.hessian(linear, x), {x: point}), np.zeros((4, 4)))


def test_median_gradient_goes_to_the_middle_and_ties_share_it():
    y = sg.placeholder("y", (5,))
    gradient = sg.grad(sg.median(y), y)
    cases = {  # point: gradient
        (4.0, 1.0, 3.0, 2.0, 5.0): [0.0, 0.0, 1.0, 0.0, 0.0],
        (1.0, 2.0, 2.0, 9.0, -3.0): [0.0, 0.5, 0.5, 0.0, 0.0],        # a tie at the middle
        (2.0, 2.0, 2.0, 0.0, 5.0): [1 / 3, 1 / 3, 1 / 3, 0.0, 0.0],   # three tied, one of them the middle
    }
    for point, expected in cases.items():
        np.testing.assert_allclose(sg.evaluate(gradient, {y: point}), expected, rtol=1e-15)
        assert sum(expected) == pytest.approx(1.0)
    even = sg.placeholder("e", (4,))
    np.testing.assert_allclose(sg.evaluate(sg.grad(sg.median(even), even), {even: [1.0, 2.0, 2.0, 2.0]}),
                               [0.0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-15)
    with pytest.raises(sg.ShapeError, match=r"median: the reduced axes \(0,\) of placeholder 'x' f64\[\?\] must "
                                            "have static lengths"):
        sg.median(sg.placeholder("x", (None,)))


def test_ptp_ties_share_the_gradient():
    X = sg.placeholder("X", (2, 4))
    point = np.array([[3.0, 1.0, 3.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    gradient = sg.grad(sg.sum(sg.ptp(X, 1) * np.array([1.0, 5.0])), X)
    np.testing.assert_array_equal(sg.evaluate(gradient, {X: point}), [[0.5, -0.5, 0.5, -0.5], [0.0] * 4])


def test_argsort_and_truth_values_carry_no_derivative():
    x = sg.placeholder("x", (3,))
    for node in (sg.argsort(x), sg.count_nonzero(x), sg.all(x), sg.any(x)):
        with pytest.raises(sg.GradientError, match="not differentiable"):
            sg.grad(sg.sum(sg.cast(node, "float64") * x), x)
    # as an index, argsort's result routes the gradient: the sorted copy's cotangent goes back
    np.testing.assert_array_equal(sg.evaluate(sg.grad(sg.sum(x[sg.argsort(x)] * np.array([1.0, 2.0, 3.0])), x),
                                              {x: [5.0, -1.0, 2.0]}), [3.0, 1.0, 2.0])


# --- var and std ----------------------------------------------------------------------------

@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_and_std_derivatives_in_closed_form(ddof):
    rng = np.random.default_rng(ddof)
    point = rng.standard_normal((3, 4))
    X = sg.placeholder("X", (3, 4))
    for axis in (1, None):
        n = point.size if axis is None else 4
        dev = point - point.mean(axis, keepdims=True)
        var, std = np.var(point, axis, ddof=ddof), np.std(point, axis, ddof=ddof)
        var_grad = 2 * dev / (n - ddof)
        std_grad = dev / ((n - ddof) * (std if axis is None else std[:, None]))
        gv = sg.grad(sg.sum(sg.var(X, axis, ddof=ddof)), X)
        gs = sg.grad(sg.sum(sg.std(X, axis, ddof=ddof)), X)
        values = both([sg.var(X, axis, ddof=ddof), sg.std(X, axis, ddof=ddof), gv, gs], {X: point})
        for value, expected in zip(values, (var, std, var_grad, std_grad)):
            np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)
    # the Hessian of var over all elements: 2 (I - 1/n) / (n - ddof)
    n = point.size
    hess = sg.evaluate(sg.hessian(sg.var(X, ddof=ddof), X), {X: point}).reshape(n, n)
    np.testing.assert_allclose(hess, 2 * (np.eye(n) - 1 / n) / (n - ddof), rtol=1e-13, atol=1e-15)
    std_cost = sg.std(X, ddof=ddof)
    np.testing.assert_allclose(sg.evaluate(sg.hessian(std_cost, X), {X: point}),
                               fd_jacobian(sg.grad(std_cost, X), X, point), rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")  # 0 * inf, on purpose
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_std_derivatives_at_zero_variance_are_nan_never_a_finite_number(dtype):
    x = sg.placeholder("x", (None,), dtype)
    cost = sg.std(x)
    v = sg.constant(np.array([1.0, -2.0, 0.5], dtype))
    derivatives = {"grad": sg.grad(cost, x), "jvp": sg.jvp(cost, x, v), "hvp": sg.hvp(cost, x, v),
                   "hvp reverse-over-reverse": sg.hvp(cost, x, v, method="reverse-over-reverse")}
    for point in ([0.1, 0.1, 0.1], [-3.5, -3.5, -3.5], [0.0, 0.0, 0.0], [1e30, 1e30, 1e30]):
        point = np.array(point, dtype)
        values = both([cost, *derivatives.values()], {x: point})
        assert values[0] == 0.0  # constant data: exactly zero, where rounding leaves NumPy a tiny number
        for name, value in zip(derivatives, values[1:]):
            assert np.all(np.isnan(value)), f"{name} at {point}: {value}"
    one = sg.placeholder("one", (1,), dtype)  # a single element: its variance is 0 too
    assert np.isnan(sg.evaluate(sg.grad(sg.std(one), one), {one: [2.0]})).all()
    # away from zero variance, float32 derivatives are finite and right
    point = np.array([0.1, 0.1, 0.4], dtype)
    expected = (point - point.mean()) / (3 * np.std(point.astype(np.float64)))
    np.testing.assert_allclose(sg.evaluate(derivatives["grad"], {x: point}), expected, rtol=1e-5)


def test_var_of_constant_data_is_exactly_zero_and_its_gradient_sums_to_zero():
    for n in (3, 7, 10, 1000):
        for dtype in (np.float16, np.float32, np.float64):
            point = np.full(n, 0.1, dtype)
            x = sg.placeholder("x", (n,), dtype, graph=sg.Graph())
            value, gradient = sg.evaluate([sg.var(x), sg.grad(sg.var(x), x)], {x: point})
            assert value == 0.0 and np.all(gradient == 0.0), (n, dtype)
    # near-constant data: the gradient 2 (x - mean) / n sums to 0 (a shift changes nothing)
    point = 1e8 + np.array([0.0, 1.0, 3.0, 4.0])
    x = sg.placeholder("x", (4,))
    gradient = sg.evaluate(sg.grad(sg.var(x), x), {x: point})
    np.testing.assert_allclose(gradient, [-1.0, -0.5, 0.5, 1.0], rtol=1e-15)
    assert gradient.sum() == 0.0


def test_ddof_at_or_past_the_count_gives_inf_or_nan_with_a_warning_as_numpy():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    for ddof in (3, 4):
        x = sg.placeholder("x", (2, 3), graph=sg.Graph())
        with pytest.warns(RuntimeWarning, match=r"var: degrees of freedom <= 0 for placeholder 'x'"):
            node = sg.var(x, 1, ddof=ddof)
        with pytest.warns(RuntimeWarning):
            expected = np.var(a, 1, ddof=ddof)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            values = both(node, {x: a})[0]
        np.testing.assert_array_equal(values, expected)  # [inf, nan]
        assert np.isinf(values[0]) and np.isnan(values[1])
    runtime = sg.placeholder("r", (2, None))  # the count is known only at run time: NumPy's values
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(both(sg.std(runtime, 1, ddof=3), {runtime: a})[0], np.std(a, 1, ddof=3))
        np.testing.assert_allclose(both(sg.var(runtime, 1, ddof=1), {runtime: a})[0], np.var(a, 1, ddof=1))


# --- compiled code, listings, drawings, saved files ------------------------------------------

def test_compiled_code_listing_dot_and_files_carry_every_new_op(tmp_path):
    with sg.Graph():
        X = sg.placeholder("X", (2, 3))
        outputs = [sg.prod(X, 1), sg.cumsum(X, 0), sg.cumprod(X, 1), sg.sort(X, 0), sg.argsort(X, 1, stable=True),
                   sg.all(X > 0.0), sg.any(X > 2.0, 0), sg.count_nonzero(X, 1), sg.median(X, 1), sg.var(X, 0),
                   sg.std(X, ddof=1)]
        cost = sg.sum(sg.cumprod(X, 1) * sg.sort(X, 0)) + sg.sum(sg.prod(X, 0)) + sg.median(X) + sg.std(X)
        gradient = sg.grad(cost, X)
        hv = sg.hvp(cost, X, np.ones((2, 3)))
        outputs += [gradient, hv]
        point = np.array([[0.0, 2.0, -1.5], [2.0, 0.5, 3.0]])
        expected = sg.evaluate(outputs, {X: point})
        f = sg.function([X], outputs)
        for name in ("np.prod(", "np.cumsum(", "np.cumprod(", "np.sort(", "np.argsort(", "np.all(", "np.any(",
                     "np.count_nonzero("):
            assert name in f.source, name
        for value, want in zip(f(point), expected):
            np.testing.assert_array_equal(value, want)
        text = sg.listing(outputs)
        dot = sg.to_dot(outputs)
        for op in ("prod", "cumsum", "cumprod", "sort", "argsort", "linear_recurrence", "permute", "tie_mean",
                   "count_nonzero"):
            assert op in text and op in dot, op
        path = tmp_path / "scans.json"
        sg.save(outputs, path)
        graph, loaded = sg.load(path)
    params = {(n.op.name, n.params) for n in sg.ancestors(loaded)}
    assert ("argsort", (("axis", 1), ("kind", "stable"))) in params
    assert any(name == "linear_recurrence" and dict(p)["reverse"] for name, p in params)
    assert any(name == "permute" and dict(p)["inverse"] for name, p in params)
    for value, want in zip(sg.evaluate(loaded, {"X": point}), expected):
        np.testing.assert_array_equal(value, want)


def test_bad_axes_are_named_when_built():
    x = sg.placeholder("x", (2, 3))
    for f in (sg.cumsum, sg.cumprod, sg.sort, sg.argsort):
        with pytest.raises(sg.ShapeError, match=rf"{f.__name__}: axis 2 is out of range for placeholder 'x' f64\[2,3\]"):
            f(x, 2)
    with pytest.raises(sg.ShapeError, match="prod: axis 5 is out of range"):
        sg.prod(x, 5)
    with pytest.raises(sg.ShapeError, match="argsort: kind must be one of .*, not str 'fast'"):
        sg.argsort(x, kind="fast")


def test_run_time_dimensions_give_the_derivatives_of_static_ones():
    point = np.array([[0.0, 2.0, -1.5, 0.5], [2.0, 0.5, 3.0, 0.75], [1.0, 0.0, 0.1, -2.0]])  # no ties down columns
    v = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    expected = None
    for shape in ((3, 4), (None, 4), (3, None), (None, None)):
        X = sg.placeholder("X", shape, graph=sg.Graph())
        cost = (sg.sum(sg.cumprod(X, 1) * v) + sg.sum(sg.prod(X, 0) ** 2) + sg.sum(sg.sort(X, 0) ** 3 * v)
                + sg.sum(sg.var(X, 1, ddof=1)) + sg.sum(sg.std(X, 0)) + sg.sum(sg.cumsum(X, 0) ** 2)
                + sg.sum(sg.average(X, 0, weights=X[:, 0] ** 2)))
        values = both([cost, sg.grad(cost, X), sg.hvp(cost, X, v)], {X: point})
        if expected is None:  # the static graph, against central differences
            expected = values
            np.testing.assert_allclose(values[1], fd_jacobian(cost, X, point), rtol=1e-7, atol=1e-7)
            np.testing.assert_allclose(values[2], np.tensordot(fd_jacobian(sg.grad(cost, X), X, point), v, 2),
                                       rtol=1e-6, atol=1e-6)
        for value, want in zip(values, expected):
            np.testing.assert_allclose(value, want, rtol=1e-13, atol=1e-13, err_msg=str(shape))
