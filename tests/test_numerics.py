"""Numerical safety: finite values and gradients wherever the mathematics is finite,
documented values at singular points, and the NaN/Inf guard (``check_finite``).

Oracles are closed forms and textbook NumPy written here (the max-shifted
softmax, the logistic function's limits), never symgrad's own output.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symgrad as sg

DTYPES = ["float64", "float32"]


def value_and_grad(build, value, dtype="float64"):
    """Evaluate a scalar ``build(x)`` and its gradient at ``value``."""
    x = sg.placeholder("x", np.shape(value), dtype)
    y = build(x)
    return [np.asarray(v) for v in sg.evaluate([y, sg.grad(y, x)], {x: np.asarray(value, dtype)})]


def np_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def assert_finite_close(actual, expected, dtype, what=""):
    actual = np.asarray(actual)
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert np.all(np.isfinite(actual)), f"{what}: not finite: {actual}"
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=rtol, atol=rtol, err_msg=what)


LOGITS = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 999.0, -1000.0]])
WEIGHTS = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0], [2.0, 1.0, -0.5]])


# --- huge logits -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_at_logits_of_1000(dtype):
    w = WEIGHTS.astype(dtype)
    p = np.exp(np_log_softmax(LOGITS))
    value, grad = value_and_grad(lambda x: (sg.softmax(x) * w).sum(), LOGITS, dtype)
    assert_finite_close(value, (p * WEIGHTS).sum(), dtype, "softmax value")
    # d/dz sum(w * softmax(z)) = p * (w - sum(w * p))
    assert_finite_close(grad, p * (WEIGHTS - (WEIGHTS * p).sum(-1, keepdims=True)), dtype, "softmax gradient")

    value, grad = value_and_grad(lambda x: (sg.log_softmax(x) * w).sum(), LOGITS, dtype)
    assert_finite_close(value, (np_log_softmax(LOGITS) * WEIGHTS).sum(), dtype, "log_softmax value")
    assert_finite_close(grad, WEIGHTS - p * WEIGHTS.sum(-1, keepdims=True), dtype, "log_softmax gradient")


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_at_logits_of_1000(dtype):
    value, grad = value_and_grad(lambda x: sg.logsumexp(x, axis=1).sum(), LOGITS, dtype)
    expected = LOGITS.max(1) + np.log(np.exp(LOGITS - LOGITS.max(1, keepdims=True)).sum(1))
    assert_finite_close(value, expected.sum(), dtype, "logsumexp value")
    assert_finite_close(grad, np.exp(np_log_softmax(LOGITS)), dtype, "logsumexp gradient")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_at_logits_of_1000(dtype):
    labels = np.array([1, 0, 2])
    value, grad = value_and_grad(lambda x: sg.cross_entropy(x, labels), LOGITS, dtype)
    onehot = np.eye(3)[labels]
    assert_finite_close(value, -(np_log_softmax(LOGITS) * onehot).sum(1).mean(), dtype, "cross_entropy value")
    assert_finite_close(grad, (np.exp(np_log_softmax(LOGITS)) - onehot) / 3, dtype, "cross_entropy gradient")
    assert float(value) > 999, "a label whose logit is 2000 below the top costs about 2000 / 3 nats each"


@pytest.mark.parametrize("dtype", DTYPES)
def test_second_derivatives_at_logits_of_1000_are_finite(dtype):
    x = sg.placeholder("x", LOGITS.shape, dtype)
    v = np.ones(LOGITS.shape, dtype)
    hv = sg.hvp(sg.cross_entropy(x, np.array([1, 0, 2])), x, v)
    p = np.exp(np_log_softmax(LOGITS))
    # H v for softmax cross-entropy, per row: (p * v - p * <p, v>) / N
    expected = (p * 1.0 - p * (p * 1.0).sum(-1, keepdims=True)) / 3
    assert_finite_close(hv.eval({x: LOGITS.astype(dtype)}), expected, dtype, "cross_entropy H v")


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_of_one_hot_like_rows(dtype):
    rows = np.array([[50.0, -50.0, -50.0], [0.0, -200.0, -200.0]])
    value = sg.log_softmax(sg.constant(rows.astype(dtype))).eval()
    assert_finite_close(value, np_log_softmax(rows), dtype, "log_softmax")
    assert value[0, 0] == 0.0 or abs(float(value[0, 0])) < 1e-40
    _, grad = value_and_grad(lambda x: sg.log_softmax(x)[:, 1].sum(), rows, dtype)
    p = np.exp(np_log_softmax(rows))
    assert_finite_close(grad, np.eye(3)[[1, 1]] - p, dtype, "log_softmax gradient")


# --- sigmoid, softplus and the binary cross-entropy at +-800 --------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_softplus_at_800(dtype):
    z = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    sigmoid = np.array([0.0, np.exp(-30.0) / (1 + np.exp(-30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0])
    value, grad = value_and_grad(lambda x: sg.sigmoid(x).sum(), z, dtype)
    assert_finite_close(value, sigmoid.sum(), dtype, "sigmoid")
    assert_finite_close(grad, sigmoid * (1 - sigmoid), dtype, "sigmoid'")
    value, grad = value_and_grad(lambda x: sg.softplus(x).sum(), z, dtype)
    softplus = np.array([0.0, np.log1p(np.exp(-30.0)), np.log(2.0), 30 + np.log1p(np.exp(-30.0)), 800.0])
    assert_finite_close(value, softplus.sum(), dtype, "softplus")
    assert_finite_close(grad, sigmoid, dtype, "softplus'")
    # second derivatives: sigmoid'' = s (1 - s) (1 - 2 s), softplus'' = s (1 - s)
    x = sg.placeholder("x2", z.shape, dtype)
    second = sg.evaluate([sg.hvp(sg.sigmoid(x).sum(), x, np.ones(5, dtype)),
                          sg.hvp(sg.softplus(x).sum(), x, np.ones(5, dtype))], {x: z.astype(dtype)})
    assert_finite_close(second[0], sigmoid * (1 - sigmoid) * (1 - 2 * sigmoid), dtype, "sigmoid''")
    assert_finite_close(second[1], sigmoid * (1 - sigmoid), dtype, "softplus''")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_cross_entropy_at_800(dtype):
    z = np.array([-800.0, 800.0, -800.0, 800.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    value, grad = value_and_grad(lambda x: sg.sigmoid_cross_entropy(x, y.astype(dtype)), z, dtype)
    # confidently wrong rows cost |z| each, confidently right rows cost e^-800 = 0
    assert_finite_close(value, (800.0 + 800.0) / 4, dtype, "sigmoid_cross_entropy")
    assert_finite_close(grad, (np.array([0.0, 1.0, 0.0, 1.0]) - y) / 4, dtype, "its gradient")


# --- float32 near its limits ------------------------------------------------------------------

BIG32 = 3e38   # float32's largest finite value is about 3.4e38


def test_float32_saturating_functions_at_the_float32_limit():
    z = np.array([-BIG32, BIG32])
    for fn, value, slope in ((sg.sigmoid, [0.0, 1.0], [0.0, 0.0]), (sg.tanh, [-1.0, 1.0], [0.0, 0.0]),
                             (sg.softplus, [0.0, BIG32], [0.0, 1.0]), (sg.relu, [0.0, BIG32], [0.0, 1.0])):
        v, g = value_and_grad(lambda x: (fn(x) * np.float32([1.0, 1.0])).sum(), z, "float32")
        assert_finite_close(v, sum(value), "float32", fn.__name__)
        assert_finite_close(g, slope, "float32", fn.__name__ + "'")


def test_float32_logsumexp_and_softmax_of_huge_equal_logits():
    value, grad = value_and_grad(lambda x: sg.logsumexp(x), [BIG32, BIG32], "float32")
    assert_finite_close(value, BIG32, "float32", "logsumexp")      # log 2 is below float32's ulp here
    assert_finite_close(grad, [0.5, 0.5], "float32", "logsumexp'")
    for logits in ([1e8, 1e8], [BIG32, BIG32], [1e30, -1e30]):
        p = sg.softmax(sg.constant(np.float32(logits))).eval()
        expected = np.exp(np_log_softmax(np.array(logits)))
        assert_finite_close(p, expected, "float32", f"softmax of {logits}")


def test_float32_exp_log_sqrt_near_the_limits_keep_finite_gradients():
    cases = [(sg.exp, 88.0, np.exp(88.0), np.exp(88.0)),             # e^88 = 1.65e38 < 3.4e38
             (sg.log, 1e-38, np.log(1e-38), 1e38),
             (sg.sqrt, 1e-38, 1e-19, 0.5e19),
             (sg.log1p, 1e-30, 1e-30, 1.0),
             (sg.expm1, -BIG32, -1.0, 0.0)]
    for fn, at, value, slope in cases:
        v, g = value_and_grad(lambda x: fn(x), np.float32(at), "float32")
        assert_finite_close(v, value, "float32", f"{fn.__name__}({at})")
        assert_finite_close(g, slope, "float32", f"{fn.__name__}'({at})")


# --- singular points: documented, not hidden -------------------------------------------------

def test_sqrt_at_zero_is_zero_with_an_infinite_derivative():
    x = sg.vector("x", 2)
    with np.errstate(divide="ignore"):
        value, grad = sg.evaluate([sg.sqrt(x), sg.grad(sg.sqrt(x).sum(), x)], {x: [0.0, 4.0]})
    assert value.tolist() == [0.0, 2.0]
    assert grad[0] == np.inf and grad[1] == 0.25
    assert "inf" in sg.sqrt.__doc__ and "sqrt(0) = 0" in sg.sqrt.__doc__


def test_log_at_zero_is_minus_inf_with_an_infinite_derivative():
    x = sg.vector("x", 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        value, grad = sg.evaluate([sg.log(x), sg.grad(sg.log(x).sum(), x)], {x: [0.0, 1.0, -1.0]})
    assert value[0] == -np.inf and value[1] == 0.0 and np.isnan(value[2])
    assert grad[0] == np.inf and grad[1] == 1.0
    assert "log(0) = -inf" in sg.log.__doc__


@pytest.mark.parametrize("fn, at, first_line", [
    (sg.sqrt, 0.0, r"^div %\d+ f64\[\] produced f64\[\] with 0 NaN and 1 Inf"),   # 0.5 / sqrt(0), in sqrt'
    (sg.log, 0.0, r"^log %\d+ f64\[\] produced f64\[\] with 0 NaN and 1 Inf"),
    (sg.log, -1.0, r"^log %\d+ f64\[\] produced f64\[\] with 1 NaN and 0 Inf")])
def test_check_finite_names_singular_points(fn, at, first_line):
    x = sg.scalar("x")
    y = fn(x)
    with pytest.raises(sg.NonFiniteError, match=first_line) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sg.evaluate([y * 3.0, sg.grad(y * 3.0, x)], {x: at}, check_finite=True)
    if fn is sg.sqrt:
        assert f"derivative (cotangent, pass 1, from %{y.id} sqrt) of sqrt %{y.id}" in str(info.value)


# --- the NaN / Inf guard ---------------------------------------------------------------------

def _quiet(fn, *args, **kwargs):
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)


def test_check_finite_is_off_by_default():
    x = sg.vector("x", 2)
    y = sg.log(x).sum()
    assert _quiet(sg.evaluate, y, {x: [0.0, 1.0]}) == -np.inf
    assert _quiet(sg.function([x], y), [0.0, 1.0]) == -np.inf


def test_check_finite_names_the_first_bad_node_its_op_inputs_and_element():
    x = sg.vector("x", 3)
    logged = sg.log(x)
    y = (sg.exp(logged) * logged).sum()      # later nodes are non-finite too; the log is first
    with pytest.raises(sg.NonFiniteError) as info:
        _quiet(sg.evaluate, y, {x: [1.0, 0.0, 2.0]}, check_finite=True)
    message = str(info.value)
    first_line = message.splitlines()[0]
    assert first_line.startswith(f"log %{logged.id} f64[3] produced")
    assert "1 Inf" in first_line and "-inf at index (1,)" in first_line
    assert "input 0: placeholder 'x' f64[3] = f64[3] in [0, 2]; 0.0 there" in message
    assert "derivative" not in message


def test_check_finite_counts_nans_and_infs():
    x = sg.vector("x", 3)
    with pytest.raises(sg.NonFiniteError, match=r"with 1 NaN and 1 Inf"):
        _quiet(sg.evaluate, sg.log(x), {x: [-1.0, 0.0, 1.0]}, check_finite=True)


def test_check_finite_names_the_forward_node_of_a_derivative_node():
    x = sg.vector("x", 2)
    root = sg.sqrt(x)
    gx = sg.grad(root.sum(), x)
    with pytest.raises(sg.NonFiniteError) as info:
        _quiet(sg.evaluate, gx, {x: [0.0, 4.0]}, check_finite=True)
    message = str(info.value)
    assert "inf at index (0,)" in message
    assert f"derivative (cotangent, pass 1, from %{root.id} sqrt) of sqrt %{root.id} f64[2]" in message
    assert "input 1: sqrt" in message and "0.0 there" in message


def test_check_finite_names_second_order_and_forward_mode_derivative_nodes():
    x = sg.vector("x", 2)
    gx = sg.grad(sg.sqrt(x).sum(), x)
    hv = sg.jvp(gx, x, np.ones(2))
    with pytest.raises(sg.NonFiniteError, match=r"derivative \(tangent, pass 2, from %\d+ div\) of"):
        _quiet(sg.evaluate, hv, {x: [1e-320, 4.0]}, check_finite=True)


def test_check_finite_in_compiled_functions():
    x = sg.vector("x", 2)
    root = sg.sqrt(x)
    f = sg.function([x], [root, sg.grad(root.sum(), x)], check_finite=True)
    value, grad = f([1.0, 4.0])   # fine inputs pass through unchanged
    np.testing.assert_allclose(grad, [0.5, 0.25])
    provenance = rf"derivative \(cotangent, pass 1, from %{root.id} sqrt\) of sqrt %{root.id}"
    with pytest.raises(sg.NonFiniteError, match=provenance):
        _quiet(f, [0.0, 4.0])
    assert np.isinf(_quiet(sg.function([x], sg.grad(root.sum(), x)), [0.0, 4.0])[0])


def test_check_finite_names_a_non_finite_feed():
    x = sg.vector("x", 2)
    with pytest.raises(sg.NonFiniteError, match=r"placeholder 'x' f64\[2\] was fed .*nan at index \(1,\)"):
        sg.evaluate(x * 2.0, {x: [1.0, np.nan]}, check_finite=True)


def test_check_finite_ignores_integer_and_bool_nodes_and_passes_finite_graphs():
    x = sg.vector("x", 3)
    labels = sg.argmax(sg.stack([x, -x]), axis=0)
    mask = x > 0
    y = sg.where(mask, x, 0.0).sum() + sg.cast(labels, "float64").sum()
    assert sg.evaluate(y, {x: [1.0, -2.0, 3.0]}, check_finite=True) == 5.0


def test_non_finite_error_is_catchable_as_symgrad_and_floating_point_error():
    assert issubclass(sg.NonFiniteError, sg.Error)
    assert issubclass(sg.NonFiniteError, FloatingPointError)


def test_cross_entropy_with_a_minus_inf_logit_is_finite_and_exact():
    """A masked (-inf) logit is a common way to rule a class out; 0 * -inf must not make nan."""
    z = np.array([[0.0, -np.inf, 1.0, 2.0], [-np.inf, 3.0, 0.5, 0.0]])
    labels = np.array([0, 2])
    logits = sg.matrix("z", 2, 4)
    cost = sg.cross_entropy(logits, sg.constant(labels))
    value, gradient = sg.evaluate([cost, sg.grad(cost, logits)], {logits: z})
    finite = np.where(np.isinf(z), -1e300, z)  # the same classes, with exp(-1e300) = 0 exactly
    shifted = finite - finite.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, -log_p[[0, 1], labels].mean(), rtol=1e-15)
    expected = (np.exp(log_p) - np.eye(4)[labels]) / 2
    np.testing.assert_allclose(gradient, expected, rtol=1e-14, atol=1e-300)
