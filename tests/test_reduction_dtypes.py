"""Result dtypes follow NumPy 2, with NumPy itself as the oracle.

Both executors cast each op's result to its node's static dtype, so a static
dtype that disagrees with NumPy is silently wrong: a sum of int8 declared int8
wraps (300 becomes 44), a sum of bools declared bool is an "any". Every
reduction is compared here, dtype and value, with NumPy's own result, in
``sg.evaluate`` and in a compiled ``sg.function``; then every built-in op's
static dtype is compared with the dtype its NumPy forward computes.
"""

import itertools
import warnings

import numpy as np
import pytest

import symgrad as sg

DTYPES = [np.dtype(name) for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                      "uint32", "uint64", "float16", "float32", "float64")]


def edge_inputs(dtype: np.dtype) -> dict:
    """(2, 3) arrays at each dtype's edges: all True/False, sums that overflow the small type, inf, nan."""
    if dtype.kind == "b":
        return {"all True": np.ones((2, 3), bool), "all False": np.zeros((2, 3), bool),
                "mixed": np.array([[True, True, True], [False, True, False]])}
    if dtype.kind in "iu":
        top, bottom = np.iinfo(dtype).max, np.iinfo(dtype).min
        return {"top": np.full((2, 3), top, dtype), "bottom": np.full((2, 3), bottom, dtype),
                "mixed": np.array([[top, bottom, 1], [3, top, 0]], dtype)}
    big = 60000.0 if dtype == np.float16 else np.finfo(dtype).max / 4  # sums overflow the type
    return {"big": np.full((2, 3), big, dtype),
            "mixed": np.array([[1.5, -2.25, 0.0], [3.0, -0.0, 7.0]], dtype),
            "ties": np.array([[2.0, 2.0, -1.0], [-1.0, 5.0, 5.0]], dtype),
            "inf": np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 2.0, -np.inf]], dtype),
            "nan": np.array([[np.nan, 1.0, 2.0], [3.0, 4.0, 5.0]], dtype)}


def logsumexp_oracle(a, axis=None, keepdims=False):
    """NumPy's logaddexp reduced in float64; floats keep their width, integers and bools
    give float64 (scipy.special.logsumexp's rule, and np.mean's)."""
    axis = tuple(range(a.ndim)) if axis is None else axis
    result = np.logaddexp.reduce(a.astype(np.float64), axis=axis, keepdims=keepdims)
    return np.asarray(result).astype(a.dtype if a.dtype.kind == "f" else np.float64)


def quietly(f, *args, **kwargs):
    """``f(*args, **kwargs)`` without its RuntimeWarnings (var's "degrees of freedom <= 0", as NumPy's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(*args, **kwargs)


# name: (build the symgrad node, NumPy's result, whether NumPy reduces an empty axis)
REDUCTIONS = {
    "sum": (lambda x, axis, keep: sg.sum(x, axis, keep), lambda a, axis, keep: np.sum(a, axis, keepdims=keep), True),
    "mean": (lambda x, axis, keep: sg.mean(x, axis, keep), lambda a, axis, keep: np.mean(a, axis, keepdims=keep),
             True),
    "max": (lambda x, axis, keep: sg.max(x, axis, keep), lambda a, axis, keep: np.max(a, axis, keepdims=keep), False),
    "min": (lambda x, axis, keep: sg.min(x, axis, keep), lambda a, axis, keep: np.min(a, axis, keepdims=keep), False),
    "Node.sum": (lambda x, axis, keep: x.sum(axis, keep), lambda a, axis, keep: a.sum(axis, keepdims=keep), True),
    "Node.mean": (lambda x, axis, keep: x.mean(axis, keep), lambda a, axis, keep: a.mean(axis, keepdims=keep), True),
    "Node.max": (lambda x, axis, keep: x.max(axis, keep), lambda a, axis, keep: a.max(axis, keepdims=keep), False),
    "Node.min": (lambda x, axis, keep: x.min(axis, keep), lambda a, axis, keep: a.min(axis, keepdims=keep), False),
    "sum of squares": (lambda x, axis, keep: sg.sum(sg.square(x), axis, keep),
                       lambda a, axis, keep: np.sum(np.square(a), axis, keepdims=keep), True),
    "logsumexp": (lambda x, axis, keep: sg.logsumexp(x, axis, keep), logsumexp_oracle, False),
    "argmax": (lambda x, axis, keep: sg.argmax(x, axis), lambda a, axis, keep: np.argmax(a, axis), False),
    "argmin": (lambda x, axis, keep: sg.argmin(x, axis), lambda a, axis, keep: np.argmin(a, axis), False),
    # reductions and scans (issue 14)
    "prod": (lambda x, axis, keep: sg.prod(x, axis, keep), lambda a, axis, keep: np.prod(a, axis, keepdims=keep),
             True),
    "Node.prod": (lambda x, axis, keep: x.prod(axis, keepdims=keep), lambda a, axis, keep: a.prod(axis, keepdims=keep),
                  True),
    "all": (lambda x, axis, keep: sg.all(x, axis, keepdims=keep), lambda a, axis, keep: np.all(a, axis, keepdims=keep),
            True),
    "any": (lambda x, axis, keep: x.any(axis, keepdims=keep), lambda a, axis, keep: np.any(a, axis, keepdims=keep),
            True),
    "count_nonzero": (lambda x, axis, keep: sg.count_nonzero(x, axis, keepdims=keep),
                      lambda a, axis, keep: np.count_nonzero(a, axis, keepdims=keep), True),
    # var and std warn when built over 1 element with ddof=1 (axis=()) or over an empty axis, as NumPy does
    "var": (lambda x, axis, keep: quietly(sg.var, x, axis, keepdims=keep),
            lambda a, axis, keep: np.var(a, axis, keepdims=keep), True),
    "var ddof=1": (lambda x, axis, keep: quietly(x.var, axis, ddof=1, keepdims=keep),
                   lambda a, axis, keep: np.var(a, axis, keepdims=keep, ddof=1), True),
    "std": (lambda x, axis, keep: quietly(x.std, axis, keepdims=keep),
            lambda a, axis, keep: np.std(a, axis, keepdims=keep), True),
    "average": (lambda x, axis, keep: sg.average(x, axis, keepdims=keep),
                lambda a, axis, keep: np.average(a, axis, keepdims=keep), True),
}
# argmax and argmin take one axis and no keepdims
AXES = {name: [(0, False), (1, False), (-1, False)] if name.startswith("arg") else
        [(axis, keep) for axis in (None, 0, 1, (0, 1), ()) for keep in (False, True)] for name in REDUCTIONS}
# placeholder shapes: static, run-time rows, run-time columns, all run-time
SHAPES = [(2, 3), (None, 3), (2, None), (None, None)]


# logsumexp is not a NumPy function (its oracle computes it another way), and a float64 sum of
# squares is one dot product: both agree with NumPy to rounding, the others bit for bit
TO_ROUNDING = {"logsumexp", "sum of squares", "var", "var ddof=1", "std"}


def assert_same(actual, expected, what: str, exact: bool = True) -> None:
    """Same dtype, same shape, same values (nan matching nan), or floats within 8 ulp if not ``exact``."""
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, NumPy gives {expected.dtype}"
    if not exact and expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=8 * np.finfo(expected.dtype).eps, err_msg=what)
        assert actual.shape == expected.shape, what
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what, strict=True)


def numpy_result(oracle, a, axis, keep):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of an empty slice
        return oracle(a, axis, keep)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_matches_numpy_in_dtype_and_value(name, dtype):
    build, oracle, _ = REDUCTIONS[name]
    for shape in SHAPES:
        x = sg.placeholder("x", shape, dtype, graph=sg.Graph())
        cases = AXES[name]
        outputs = [build(x, axis, keep) for axis, keep in cases]
        compiled = sg.function([x], outputs)
        for label, a in edge_inputs(dtype).items():
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                interpreted, from_code = sg.evaluate(outputs, {x: a}), compiled(a)
            for (axis, keep), node, value, code_value in zip(cases, outputs, interpreted, from_code):
                expected = numpy_result(oracle, a, axis, keep)
                what = f"{name} of {dtype} {label} {shape} axis={axis} keepdims={keep}"
                assert node.dtype == np.asarray(expected).dtype, f"{what}: static dtype {node.dtype}"
                assert_same(value, expected, what + " (sg.evaluate)", exact=name not in TO_ROUNDING)
                assert_same(code_value, expected, what + " (sg.function)", exact=name not in TO_ROUNDING)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_of_an_empty_axis_is_what_numpy_allows(name, dtype):
    build, oracle, empty_ok = REDUCTIONS[name]
    a = np.zeros((0, 3), dtype)
    static = sg.placeholder("x", (0, 3), dtype, graph=sg.Graph())
    runtime = sg.placeholder("x", (None, 3), dtype, graph=sg.Graph())
    axis = 0
    if empty_ok:
        expected = numpy_result(oracle, a, axis, False)
        for x in (static, runtime):
            node = build(x, axis, False)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                assert_same(sg.evaluate(node, {x: a}), expected, f"{name} of empty {dtype} {x.type}")
                assert_same(sg.function([x], node)(a), expected, f"{name} of empty {dtype} {x.type} compiled")
        return
    if name != "logsumexp":  # (no NumPy logsumexp)
        with pytest.raises(ValueError):
            oracle(a, axis, False)
    with pytest.raises(sg.ShapeError, match="empty axis"):  # known when the node is built
        build(static, axis, False)
    node = build(runtime, axis, False)  # known only when run
    with pytest.raises(ValueError):
        sg.evaluate(node, {runtime: a})
    with pytest.raises(ValueError):
        sg.function([runtime], node)(a)


# --- one test per bug fixed --------------------------------------------------------------

def test_sum_of_bools_counts_them():
    # was True (an "any"), as the bool static dtype cast the count back to bool
    mask = sg.placeholder("mask", (4,), "bool")
    total = sg.sum(mask)
    assert total.dtype == np.sum(np.ones(1, bool)).dtype == np.int64
    for value in ([True, True, True, False], [False] * 4, [True] * 4):
        assert sg.evaluate(total, {mask: value}) == np.sum(value)
        assert sg.function([mask], total)(value) == np.sum(value)


def test_accuracy_is_the_fraction_of_correct_predictions():
    # mean([T, T, T, F]) was 0.25: the bool "sum" True divided by 4
    z = sg.placeholder("z", (None, 3))
    labels = sg.placeholder("labels", (None,), "int64")
    accuracy = sg.mean(sg.equal(sg.argmax(z, 1), labels))
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    truth = np.array([0, 1, 2, 2])
    expected = np.mean(np.argmax(logits, 1) == truth)
    assert expected == 0.75
    assert accuracy.dtype == np.float64
    assert sg.evaluate(accuracy, {z: logits, labels: truth}) == expected
    assert sg.function([z, labels], accuracy)(logits, truth) == expected


def test_sum_of_small_integers_does_not_wrap():
    # int8 [100, 100, 100] summed to 44; uint8 [200, 200] to 144
    for dtype, value in (("int8", [100, 100, 100]), ("uint8", [200, 200]), ("int16", [30000, 30000])):
        x = sg.placeholder("x", (None,), dtype, graph=sg.Graph())
        array = np.array(value, dtype)
        assert sg.evaluate(sg.sum(x), {x: array}) == np.sum(array) == sum(value)
        assert sg.function([x], sg.sum(x))(array) == sum(value)


def test_sum_over_no_axis_has_the_dtype_of_np_sum():
    # sg.sum(x, axis=()) returned x itself: int8 where np.sum gives int64, bool where it gives int64
    for dtype in ("int8", "bool", "uint16"):
        x = sg.placeholder("x", (3,), dtype, graph=sg.Graph())
        array = np.ones(3, dtype)
        assert sg.sum(x, axis=()).dtype == np.sum(array, axis=()).dtype
        assert_same(sg.evaluate(sg.sum(x, axis=()), {x: array}), np.sum(array, axis=()), f"sum {dtype} axis=()")


def test_mean_of_integers_adds_up_in_float64():
    # the int64 sum wrapped before the division: mean([2**62] * 4) was 0.0
    x = sg.placeholder("x", (None,), "int64")
    array = np.full(4, 2**62, np.int64)
    assert sg.evaluate(sg.mean(x), {x: array}) == np.mean(array) == 2.0**62
    assert sg.function([x], sg.mean(x))(array) == 2.0**62


def test_mean_of_float16_adds_up_in_float32():
    # the float16 sum overflowed past 65504: mean([60000, 60000]) was inf
    for shape in ((2,), (None,)):
        x = sg.placeholder("x", shape, "float16", graph=sg.Graph())
        array = np.array([60000, 60000], np.float16)
        assert_same(sg.evaluate(sg.mean(x), {x: array}), np.mean(array), f"mean of float16 {shape}")
        assert_same(sg.function([x], sg.mean(x))(array), np.mean(array), f"mean of float16 {shape} compiled")


def test_mean_counts_a_long_run_time_axis_exactly():
    # the run-time count sum(zeros_like(x) + 1.0) is made in the accumulator's dtype:
    # a float16 count would be inexact past 2048 elements and inf past 65504
    for dtype, size in (("float16", 3001), ("float16", 70001), ("float32", 3001), ("int8", 5001), ("bool", 5001)):
        x = sg.placeholder("x", (None,), dtype, graph=sg.Graph())
        array = (np.arange(size) % 7 == 0) if dtype == "bool" else (np.arange(size) % 7).astype(dtype)
        assert_same(sg.evaluate(sg.mean(x), {x: array}), np.mean(array), f"mean of {size} {dtype}")
        assert_same(sg.function([x], sg.mean(x))(array), np.mean(array), f"mean of {size} {dtype} compiled")


def test_logsumexp_of_integers_is_computed_in_float64():
    # the int8 difference x - max(x) wrapped: logsumexp([100, -100]) was inf
    x = sg.placeholder("x", (2,), "int8")
    array = np.array([100, -100], np.int8)
    expected = np.logaddexp(100.0, -100.0)  # 100 + log(1 + e**-200)
    assert sg.logsumexp(x).dtype == np.float64
    assert sg.evaluate(sg.logsumexp(x), {x: array}) == expected
    assert sg.function([x], sg.logsumexp(x))(array) == expected


def test_arg_reductions_of_an_empty_axis_fail_when_built():
    # np.argmax of an empty axis raises; it was found only when run
    x = sg.placeholder("x", (0, 3))
    for arg in (sg.argmax, sg.argmin):
        with pytest.raises(sg.ShapeError, match=rf"{arg.__name__}: cannot reduce the empty axis 0 of placeholder 'x'"):
            arg(x, 0)
        assert arg(x, 1).type == "i64[0]"


# --- derivatives of float reductions are unchanged -----------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3), (None, 3)])
def test_gradients_of_float_reductions(dtype, shape):
    x = sg.placeholder("x", shape, dtype)
    a = np.array([[1.0, 5.0, 5.0], [-2.0, 0.5, 3.0]], dtype)
    eps = np.finfo(dtype).eps
    softmax = np.exp(a.astype(np.float64) - np.log(np.exp(a.astype(np.float64)).sum(1, keepdims=True)))
    row_max = a == a.max(1, keepdims=True)
    closed_forms = {  # d cost / d x of each cost, written out
        "sum": (sg.sum(x), np.ones_like(a)),
        "mean": (sg.mean(x), np.full_like(a, 1 / 6)),
        "mean over rows": (sg.sum(sg.mean(x, 0) * np.array([1.0, 2.0, 3.0], dtype)),
                           np.tile(np.array([1.0, 2.0, 3.0]) / 2, (2, 1))),
        "max of rows (ties share)": (sg.sum(sg.max(x, 1)), row_max / row_max.sum(1, keepdims=True)),
        "logsumexp of rows": (sg.sum(sg.logsumexp(x, 1)), softmax),
    }
    for label, (cost, expected) in closed_forms.items():
        gradient = sg.grad(cost, x)
        assert gradient.dtype == np.dtype(dtype), label
        for value in (sg.evaluate(gradient, {x: a}), sg.function([x], gradient)(a)):
            assert value.dtype == np.dtype(dtype), label
            np.testing.assert_allclose(value, expected, rtol=4 * eps, atol=4 * eps, err_msg=f"{label} {dtype}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mean_of_float32_and_float64_adds_no_cast(dtype):
    # the accumulator casts are for integers and float16 only: these graphs are as before
    for shape in ((2, 3), (None, 3)):
        x = sg.placeholder("x", shape, dtype, graph=sg.Graph())
        cost = sg.mean(x)
        nodes = sg.ancestors([cost, sg.grad(cost, x)])
        assert cost.dtype == np.dtype(dtype)
        assert not [n for n in nodes if n.op.name == "cast"]


# --- every op: its static dtype is what its NumPy forward computes --------------------------

INTS = [np.dtype("int64"), np.dtype("int8"), np.dtype("uint16")]  # index arrays and labels
BOOL = [np.dtype("bool")]
ANY, MATRIX, ROW = DTYPES, (2, 3), (1, 3)
LAPACK = [np.dtype("float32"), np.dtype("float64")]
UNARY = ([ANY], [MATRIX], [{}])
BINARY = ([ANY, ANY], [MATRIX, ROW], [{}])
REDUCE = ([ANY], [MATRIX], [{"axis": (0,), "keepdims": False}, {"axis": (0, 1), "keepdims": True}])
# op name: (dtypes each input may take, input shapes, parameter sets)
OP_CASES = {
    **{name: UNARY for name in ("neg", "exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan",
                                "tanh", "sigmoid", "softplus", "abs", "sign", "floor", "round", "relu",
                                "stop_gradient", "zeros_like", "sum_squares", "sinh", "cosh", "arcsin", "arccos",
                                "arctan", "arcsinh", "arccosh", "arctanh", "log2", "log10", "exp2", "cbrt",
                                "reciprocal")},
    **{name: BINARY for name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "less", "less_equal",
                                 "greater", "greater_equal", "equal", "not_equal", "arctan2", "hypot",
                                 "logaddexp", "mod", "fmod")},
    **{name: REDUCE for name in ("sum", "max", "min", "logsumexp")},
    **{name: REDUCE for name in ("prod", "all", "any", "count_nonzero")},
    **{name: ([ANY], [MATRIX], [{"axis": 0}, {"axis": 1}]) for name in ("cumsum", "cumprod", "sort")},
    "argsort": ([ANY], [MATRIX], [{"axis": 1, "kind": None}, {"axis": 0, "kind": "stable"}]),
    "linear_recurrence": ([ANY, ANY], [MATRIX, MATRIX], [{"axis": 1, "reverse": False}, {"axis": 0, "reverse": True}]),
    "permute": ([ANY, INTS], [MATRIX, MATRIX], [{"axis": 1, "inverse": False}, {"axis": 1, "inverse": True}]),
    "tie_mean": ([ANY, ANY], [MATRIX, MATRIX], [{"axis": 1}]),
    "leaky_relu": ([ANY], [MATRIX], [{"alpha": 0.1}]),
    "argmax": ([ANY], [MATRIX], [{"axis": 1}]),
    "argmin": ([ANY], [MATRIX], [{"axis": 0}]),
    "log_softmax": ([ANY], [MATRIX], [{"axis": (1,)}]),
    "where": ([BOOL, ANY, ANY], [MATRIX, MATRIX, ROW], [{}]),
    "matmul": ([ANY, ANY], [(2, 3), (3, 2)], [{}]),
    "concatenate": ([ANY, ANY], [MATRIX, ROW], [{"axis": 0}]),
    "cast": ([ANY], [MATRIX], [{"dtype": d} for d in DTYPES]),
    "one_hot": ([INTS], [(2,)], [{"depth": 3, "dtype": d} for d in DTYPES]),
    "reshape": ([ANY], [MATRIX], [{"shape": (3, 2)}]),
    "reshape_like": ([ANY, ANY], [MATRIX, (3, 2)], [{}]),
    "transpose": ([ANY], [MATRIX], [{"axes": (1, 0)}]),
    "broadcast_to": ([ANY], [ROW], [{"shape": (2, 3)}]),
    "broadcast_like": ([ANY, ANY], [ROW, MATRIX], [{}]),
    "getitem": ([ANY, INTS], [MATRIX, (2,)], [{"spec": (("array", 0),)}]),
    "scatter_add": ([ANY, ANY, INTS], [MATRIX, MATRIX, (2,)], [{"spec": (("array", 0),)}]),
    "head_like": ([ANY, ANY], [(4, 3), MATRIX], [{"axis": 0}]),
    "tail_like": ([ANY, ANY], [(4, 3), MATRIX], [{"axis": 0}]),
    "check_sizes": ([ANY], [MATRIX], [{"axes": (0,), "sizes": (2,), "stands_for": "input", "node": "add %1",
                                       "input": "input 0"}]),
    # linear algebra (float32 and float64 only: LAPACK's; integers are refused when the node is built, as
    # test_linalg.py checks). NumPy's ones are singular from 2 x 2 on, so the square ops take 1 x 1.
    **{name: ([LAPACK], [(1, 1)], [{}]) for name in ("inv", "det", "slogdet_sign", "slogdet_logabsdet",
                                                      "cholesky", "eigh_w", "eigh_v", "eigvalsh")},
    **{name: ([LAPACK], [MATRIX], [{}]) for name in ("svd_u", "svd_s", "svd_vh", "qr_q", "qr_r", "pinv")},
    "solve": ([LAPACK, LAPACK], [(1, 1), (1, 2)], [{}]),
    "cholesky_grad": ([LAPACK, LAPACK], [(1, 1), (1, 1)], [{}]),
    "solve_triangular": ([LAPACK, LAPACK], [(1, 1), (1, 2)], [{"lower": True}, {"lower": False}]),
    # shapes and indexing (issue 14); an update's values are floats of x's dtype or ints and bools
    # (NumPy would cast anything silently: symgrad refuses what does not fit, tested in test_indexing)
    "roll": ([ANY], [MATRIX], [{"shift": (1,), "axis": (1,)}, {"shift": (2,), "axis": None}]),
    **{name: ([ANY], [MATRIX if name == "pad" else (3, 5)],
              [{"pad_width": ((1, 0), (0, 2)), "mode": mode, **extra} for mode in ("constant", "edge", "reflect")])
       for name, extra in (("pad", {"constant_values": ((0.0, 0.0), (0.0, 0.0))}), ("pad_adjoint", {}))},
    "take_along_axis": ([ANY, INTS], [MATRIX, MATRIX], [{"axis": 1}]),
    "scatter_along_axis": ([ANY, ANY, INTS], [MATRIX, MATRIX, MATRIX], [{"axis": 0}]),
    "last_writes": ([ANY, INTS], [MATRIX, (2,)], [{"spec": (("array", 0),)}]),
    **{name: ([[np.dtype("float32"), np.dtype("float64")], [np.dtype("bool"), np.dtype("int8")], INTS],
              [MATRIX, ROW, (2,)], [{"spec": (("array", 0),)}])
       for name in ("at_set", "at_add", "at_multiply", "at_min", "at_max")},
    # tensor contractions (ops/contract.py): NumPy's C loop, and a planned product (np.matmul)
    "einsum": ([ANY, ANY], [MATRIX, (3, 2)], [{"subscripts": "ij,jk->ik", "optimize": False},
                                             {"subscripts": "ij,jk->ik", "optimize": ("einsum_path", (0, 1))}]),
    "diagonal": ([ANY], [MATRIX], [{"offset": 0, "axis1": 0, "axis2": 1}, {"offset": 1, "axis1": 1, "axis2": 0}]),
    "diagonal_scatter": ([ANY], [(2,)], [{"offset": -1, "axis1": 0, "axis2": 1}]),
    "tril": ([ANY], [MATRIX], [{"k": 0}]),
    "triu": ([ANY], [MATRIX], [{"k": -1}]),
    "sigmoid_cross_entropy": BINARY,  # an op of its own since issue 11
}
FLOAT_ONLY = {"sum_squares"}  # made by sg.sum(sg.square(x)) for float64 x only
BUILT_IN_OPS = {op.name: op for op in vars(sg.ops).values()
                if isinstance(op, sg.Op) and op.name not in ("placeholder", "constant")}


def test_every_built_in_op_has_dtype_cases():
    assert set(OP_CASES) == set(BUILT_IN_OPS)


def weak_int_rule(inputs: list, node_dtype: np.dtype) -> bool:
    """symgrad's deliberate rule: an int or bool operand takes the float operand's dtype
    (float32 stays float32 next to an int64 array), where NumPy may widen the float."""
    floats = {n.dtype for n in inputs if n.dtype.kind == "f"}
    return floats == {node_dtype} and any(n.dtype.kind in "biu" for n in inputs)


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_static_dtype_is_the_dtype_numpy_computes(name):
    op, (dtype_sets, shapes, param_sets) = BUILT_IN_OPS[name], OP_CASES[name]
    for dtypes, params in itertools.product(itertools.product(*dtype_sets), param_sets):
        graph = sg.Graph()
        inputs = [graph.placeholder(f"x{k}", shape, dtype) for k, (shape, dtype) in enumerate(zip(shapes, dtypes))]
        arrays = [np.ones(shape, dtype) for shape, dtype in zip(shapes, dtypes)]
        what = f"{name}({', '.join(map(str, dtypes))}) {params}"
        try:
            with np.errstate(all="ignore"):
                computed = np.asarray(op.forward(*arrays, **params))
        except TypeError:  # NumPy has no loop for these dtypes
            computed = None
        try:
            node = op(*inputs, **params)
        except sg.DTypeError as err:
            # symgrad refuses what NumPy refuses, when the node is built, and, deliberately, mixed
            # float widths (no silent upcast: cast explicitly) and float-only ops' other operands
            mixed_floats = len({d for d in dtypes if d.kind == "f"}) > 1
            assert (computed is None or (mixed_floats and f"{name}: cannot mix" in str(err))
                    or (name in FLOAT_ONLY and dtypes[0].kind != "f")), f"{what}: {err}"
            assert str(err).startswith(f"{name}: ") and "placeholder 'x" in str(err), err
            continue
        assert computed is not None, f"{what}: builds a {node.type} node that NumPy cannot compute"
        with np.errstate(all="ignore"):  # arctanh(1) is inf, as NumPy computes it
            value = sg.evaluate(node, dict(zip(inputs, arrays)))
        if node.dtype != computed.dtype:
            assert weak_int_rule(inputs, node.dtype), f"{what}: static {node.dtype}, NumPy computes {computed.dtype}"
            computed = computed.astype(node.dtype)
        np.testing.assert_array_equal(value, computed, err_msg=what, strict=True)


def test_math_on_integers_is_what_numpy_computes():
    # square and abs of int8 were declared float64 and wrapped before the cast (16.0, -128.0);
    # exp of int8 was declared float64 but computed in float16
    x = sg.placeholder("x", (3,), "int8")
    array = np.array([100, -128, 5], np.int8)
    for f, reference in ((sg.square, np.square), (sg.abs, np.abs), (sg.exp, np.exp), (sg.sqrt, np.sqrt)):
        with np.errstate(all="ignore"):
            expected = reference(array)
            assert_same(sg.evaluate(f(x), {x: array}), expected, f.__name__)
            assert_same(sg.function([x], f(x))(array), expected, f.__name__ + " compiled")


def integer_edges(dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "b":
        return np.array([False, True])
    info = np.iinfo(dtype)
    return np.unique(np.array([info.min, -1 if info.min else 0, 0, 1, 2, info.max], dtype))


def wide(v):
    return v.astype(np.float64)


# symgrad's own functions of one array, which NumPy does not have, written out (in float64
# where the result is a float)
OWN_FUNCTIONS = {
    "sigmoid": (sg.sigmoid, lambda v: 1 / (1 + np.exp(-wide(v)))),
    "softplus": (sg.softplus, lambda v: np.maximum(wide(v), 0) + np.log1p(np.exp(-np.abs(wide(v))))),
    "relu": (sg.relu, lambda v: [max(int(e), 0) for e in v]),  # Python ints: exact at any width
    "leaky_relu": (lambda x: sg.leaky_relu(x, 0.25), lambda v: np.where(v > 0, wide(v), 0.25 * wide(v))),
    "logsumexp": (sg.logsumexp, lambda v: np.logaddexp.reduce(wide(v))),
    "log_softmax": (sg.log_softmax, lambda v: wide(v) - np.logaddexp.reduce(wide(v))),
}


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d.kind in "biu"], ids=str)
@pytest.mark.parametrize("name", OWN_FUNCTIONS)
def test_own_functions_of_integers_are_right(name, dtype):
    # sigmoid of unsigned integers was 0: -|x| wrapped to a large positive number before exp
    f, closed_form = OWN_FUNCTIONS[name]
    x = sg.placeholder("x", (None,), dtype)
    array = integer_edges(dtype)
    with np.errstate(over="ignore"):
        expected = closed_form(array)
    for value in (sg.evaluate(f(x), {x: array}), sg.function([x], f(x))(array)):
        if value.dtype.kind == "f":  # the closed form rounded to the result's dtype, within 2 ulp
            np.testing.assert_allclose(value, expected.astype(value.dtype), rtol=2 * np.finfo(value.dtype).eps,
                                       atol=0, err_msg=name)
        else:
            assert value.tolist() == expected, name


def test_bool_arithmetic_numpy_refuses_fails_when_built():
    # neg and sub of bools built bool nodes that failed only when run
    b = sg.placeholder("b", (2,), "bool")
    with pytest.raises(sg.DTypeError, match=r"neg: NumPy does not compute neg of placeholder 'b' bool\[2\]"):
        sg.neg(b)
    with pytest.raises(sg.DTypeError, match=r"sub: NumPy does not compute sub of placeholder 'b' bool\[2\]"):
        sg.sub(b, b)
    assert (b ** b).dtype == np.power(np.ones(1, bool), np.ones(1, bool)).dtype  # int8, not bool
