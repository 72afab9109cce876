"""Derivatives at edge points where the function is smooth: never NaN or Inf because of a rule.

First pow at base 0, where ``y x**(y-1)`` and ``x**y log x`` are 0·inf: x**0, x**y in y,
x**k differentiated more than k times. Then the other ops at the points where a rule could
meet 0·inf, inf - inf or an overflow the function itself does not have: saturating
activations at large |x|, extreme and -inf logits, ties of max.

Each derivative, of order 1 to 3, is taken in reverse mode (repeated ``sg.grad``), forward
mode (repeated ``sg.jvp``) and forward over reverse, run by the interpreter and by a
compiled function, in float64 and float32, and compared with a closed form written here.
"""

import math

import numpy as np
import pytest

import symgrad as sg

MODES = ("reverse", "forward", "forward-over-reverse")
RUNS = ("evaluate", "function")
DTYPES = ("float64", "float32")


def elementwise_derivative(f, wrt, mode):
    """d^n f / dw1 ... dwn for ``f`` elementwise in vector placeholders (``wrt`` = [w1, ..., wn])."""
    for k, w in enumerate(wrt):
        if mode == "reverse" or (mode == "forward-over-reverse" and k == 0):
            f = sg.grad(sg.sum(f), w, disconnected="zero")
        else:
            f = sg.jvp(f, w, np.ones(w.shape, w.dtype))
    return f


def directional_derivatives(f, z, v, order, mode):
    """[D_v f, D_v² f, ...] of a scalar ``f`` of the vector ``z`` along the constant direction ``v``."""
    results = []
    for k in range(order):
        if mode == "reverse" or (mode == "forward-over-reverse" and k == 0):
            f = sg.sum(sg.grad(f, z, disconnected="zero") * v)
        else:
            f = sg.jvp(f, z, v)
        results.append(f)
    return results


def run(outputs, feeds, how):
    if how == "evaluate":
        return sg.evaluate(outputs, feeds)
    return sg.function(list(feeds), outputs)(*feeds.values())


def assert_close(actual, expected, dtype, what=""):
    actual = np.asarray(actual)
    assert actual.dtype == dtype, what
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


# --- the closed form of every partial derivative of x**y --------------------------------------

def pow_partial(x: float, y: float, a: int, b: int):
    """d^a/dx^a d^b/dy^b x**y at (x, y), or None where it does not exist (at x = 0: the
    one-sided limit from x > 0) or is not real.

    d^b/dy^b x**y = x**y L**b with L = log x, and d/dx x**c L**k = c x**(c-1) L**k + k x**(c-1) L**(k-1),
    so the derivative is a sum of terms coefficient * x**c * L**k, kept as {(c, k): coefficient}.
    """
    terms = {(float(y), b): 1.0}
    for _ in range(a):
        after: dict = {}
        for (c, k), coefficient in terms.items():
            for key, value in (((c - 1, k), coefficient * c), ((c - 1, k - 1), coefficient * k)):
                if value != 0:
                    after[key] = after.get(key, 0.0) + value
        terms = {key: value for key, value in after.items() if value != 0}
    if x > 0:
        return sum(value * x ** c * math.log(x) ** k for (c, k), value in terms.items())
    if x < 0:  # real only for an integer exponent, and then only in x
        return sum(value * x ** c for (c, k), value in terms.items()) if b == 0 and y == int(y) else None
    if all(c > 0 or (c == 0 and k == 0) for c, k in terms):  # x**c L**k -> 0 as x -> 0+ when c > 0
        return terms.get((0.0, 0), 0.0)
    return None


def test_pow_partial_oracle_knows_its_limits():
    assert pow_partial(0.0, 2.0, 2, 0) == 2.0  # (x²)'' = 2
    assert pow_partial(0.0, 2.0, 3, 0) == 0.0  # (x²)''' = 0
    assert pow_partial(0.0, 0.0, 1, 0) == 0.0  # (x⁰)' = 0
    assert pow_partial(0.0, 0.5, 1, 0) is None  # (√x)' is unbounded at 0
    assert pow_partial(0.0, 2.0, 1, 1) == 0.0  # x (1 + 2 log x) -> 0
    assert pow_partial(0.0, 1.0, 1, 1) is None  # 1 + log x -> -inf
    assert pow_partial(2.0, 3.0, 0, 1) == pytest.approx(8 * math.log(2))
    assert pow_partial(0.5, 0.0, 1, 1) == pytest.approx(2.0)  # x**(y-1) (1 + y log x) at y = 0: 1/x


# --- pow: the cases of the bug report ------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
def test_derivative_of_x_to_the_zero_at_zero_is_zero(dtype, how):
    with sg.Graph():
        x = sg.scalar("x", dtype)
        f = x ** 0.0
        derivatives = [sg.grad(f, x), sg.jvp(f, x, 1.0)]
        for value in run(derivatives, {x: np.array(0.0, dtype)}, how):  # was nan (0 * 0**-1)
            assert_close(value, 0.0, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
def test_exponent_derivative_of_zero_to_a_positive_power_is_zero(dtype, how):
    with sg.Graph():
        x, y = sg.scalar("x", dtype), sg.scalar("y", dtype)
        f = x ** y
        derivatives = [sg.grad(f, y), sg.jvp(f, y, 1.0)]
        feeds = {x: np.array(0.0, dtype), y: np.array(2.0, dtype)}
        for value in run(derivatives, feeds, how):  # was nan (0**2 * log 0)
            assert_close(value, 0.0, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
def test_third_derivative_of_x_squared_at_zero_is_zero(dtype, how):
    with sg.Graph():
        x = sg.scalar("x", dtype)
        d1 = sg.grad(x ** 2, x)
        d2 = sg.grad(d1, x)
        d3 = sg.grad(d2, x, disconnected="zero")
        t3 = sg.jvp(sg.jvp(sg.jvp(x ** 2, x, 1.0), x, 1.0), x, 1.0)
        values = run([d1, d2, d3, t3], {x: np.array(0.0, dtype)}, how)  # d3 was nan (1 * 0 * 0**-1)
        for value, expected in zip(values, [0.0, 2.0, 0.0, 0.0]):
            assert_close(value, expected, dtype)


def test_third_derivative_of_x_squared_is_a_constant_as_for_x_times_x():
    with sg.Graph():
        x = sg.scalar("x")
        for f in (x ** 2, x * x):
            d2 = sg.grad(sg.grad(f, x), x)
            assert d2.value is not None and float(d2.value) == 2.0
            with pytest.raises(sg.GradientError, match="does not depend on"):
                sg.grad(d2, x)
            assert float(sg.grad(d2, x, disconnected="zero").eval({x: 0.0})) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("mode", MODES)
def test_third_partials_of_a_squared_difference_at_equal_arguments(mode, how, dtype):
    # f = -2 (y - x)² + 2 exp(z²): its third partials are 0 but f_zzz = 2 exp(z²) (8z³ + 12z),
    # and (y - x)**2 is 0**2 where x == y. Its second partials: f_xx = f_yy = -4, f_xy = 4,
    # f_zz = 2 exp(z²) (4z² + 2), the mixed ones with z 0.
    with sg.Graph():
        x, y, z = (sg.vector(name, 3, dtype) for name in "xyz")
        f = -2 * (y - x) ** 2 + 2 * sg.exp(z ** 2)
        at = {x: np.array([0.0, 1.5, -2.0], dtype), y: np.array([0.0, 1.5, -2.0], dtype),
              z: np.array([0.0, 0.5, -0.7], dtype)}
        z0 = at[z].astype(np.float64)
        second = {"xx": -4.0, "yy": -4.0, "xy": 4.0, "yx": 4.0, "zz": 2 * np.exp(z0 ** 2) * (4 * z0 ** 2 + 2)}
        names = {"x": x, "y": y, "z": z}
        cases = [a + b for a in "xyz" for b in "xyz"] + [a + b + c for a in "xyz" for b in "xyz" for c in "xyz"]
        nodes = [elementwise_derivative(f, [names[c] for c in case], mode) for case in cases]
        for case, value in zip(cases, run(nodes, at, how)):
            if len(case) == 2:
                expected = second.get(case, 0.0)
            else:
                expected = 2 * np.exp(z0 ** 2) * (8 * z0 ** 3 + 12 * z0) if case == "zzz" else 0.0
            assert_close(value, np.broadcast_to(expected, (3,)), dtype, f"f_{case}")


# --- pow: every partial of order 1 to 3, at x = 0 on purpose -----------------------------------------

X_POINTS = (0.0, 0.5, 2.0, -1.5)
Y_POINTS = (0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.5)
PARTIALS = [seq for n in (1, 2, 3) for seq in np.ndindex(*(2,) * n)]  # 0: d/dx, 1: d/dy, in order


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("mode", MODES)
def test_every_partial_of_x_to_the_y_up_to_order_3(mode, how, dtype):
    grid = [(a, b) for a in X_POINTS for b in Y_POINTS]
    xs, ys = (np.array(column, dtype) for column in zip(*grid))
    with sg.Graph():
        x, y = sg.vector("x", len(grid), dtype), sg.vector("y", len(grid), dtype)
        nodes = [elementwise_derivative(x ** y, [(x, y)[i] for i in seq], mode) for seq in PARTIALS]
        with np.errstate(all="ignore"):  # the points where a derivative does not exist give inf or nan
            values = run(nodes, {x: xs, y: ys}, how)
    for seq, value in zip(PARTIALS, values):
        a, b = seq.count(0), seq.count(1)
        for k, (xk, yk) in enumerate(grid):
            expected = pow_partial(xk, yk, a, b)
            if expected is not None:
                assert_close(value[k], expected, dtype, f"d/d{''.join('xy'[i] for i in seq)} x**y at x={xk}, y={yk}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("mode", ("reverse", "forward"))
@pytest.mark.parametrize("exponent", (0.0, 1.0, 2.0, 3.0, 0.5, -1.0, 2.5, (0.0, 2.0, 1.0, 3.0)))
def test_derivatives_of_x_to_a_constant_power_up_to_order_3(exponent, mode, how, dtype):
    xs = np.array([0.0, 0.5, 2.0, -1.5], dtype)
    ys = np.broadcast_to(np.array(exponent, np.float64), xs.shape)
    with sg.Graph():
        x = sg.vector("x", len(xs), dtype)
        c = sg.constant(np.array(exponent, dtype))  # a constant node, one value or one per element
        nodes = [elementwise_derivative(x ** c, [x] * n, mode) for n in (1, 2, 3)]
        with np.errstate(all="ignore"):
            values = run(nodes, {x: xs}, how)
    for n, value in enumerate(values, 1):
        for k, (xk, yk) in enumerate(zip(xs.astype(np.float64), ys)):
            expected = pow_partial(xk, yk, n, 0)
            if expected is not None:
                assert_close(value[k], expected, dtype, f"d^{n}/dx^{n} x**{yk} at {xk}")


@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_derivatives_at_zero_compute_no_inf_or_nan_on_the_way(dtype, how):
    # An inf made and then multiplied by 0 would raise here: nothing is hidden in the result.
    with sg.Graph():
        x, y = sg.vector("x", 3, dtype), sg.vector("y", 3, dtype)
        nodes = [elementwise_derivative(x ** y, [(x, y)[i] for i in seq], "reverse") for seq in PARTIALS]
        nodes += [elementwise_derivative(x ** 0.0, [x] * 3, "forward")]
        with np.errstate(all="raise"):
            values = run(nodes, {x: np.zeros(3, dtype), y: np.array([0.0, 4.0, 5.0], dtype)}, how)
    for seq, value in zip(PARTIALS, values):
        if 0 not in seq:  # d^n/dy^n x**y at x = 0: 0 for y > 0
            assert_close(value[1:], [0.0, 0.0], dtype)


def op_names(node):
    return [n.op.name for n in sg.ancestors([node])]


def test_a_constant_exponent_builds_the_plain_rule():
    with sg.Graph():
        x = sg.vector("x", 3)
        assert x ** 1 is x and x ** 1.0 is x  # x**1 is x, exactly
        assert op_names(sg.grad(sg.sum(x ** 2), x)).count("pow") == 0  # 2 * x**1 is 2 * x
        for exponent in (3.0, -0.5):
            assert "where" not in op_names(sg.grad(sg.sum(x ** exponent), x))  # no guard needed for y != 0
        assert "where" not in op_names(sg.jvp(x ** 3.0, x, np.ones(3)))
        g = sg.grad(sg.sum(x ** 0.0), x)  # no rule at all: zeros
        assert g.value is not None and not g.value.any()


@pytest.mark.parametrize("how", RUNS)
def test_exponent_derivative_of_an_integer_base_keeps_float32(how):
    # was: DTypeError, mul cannot mix float32 and float64 (log of the int base was float64)
    with sg.Graph():
        y = sg.scalar("y", "float32")
        f = sg.constant(np.array([0, 2, 3])) ** y
        derivatives = [sg.vjp(f, y, np.ones(3, np.float32)), sg.jvp(f, y, 1.0)]
        values = run(derivatives, {y: np.array(2.0, np.float32)}, how)
    assert_close(values[0], 4 * np.log(2) + 9 * np.log(3), "float32")
    assert_close(values[1], [0.0, 4 * np.log(2), 9 * np.log(3)], "float32")


# --- the other ops, at the points where their rules could go wrong --------------------------------

def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


# s = σ(x): s' = s(1-s), s'' = s(1-s)(1-2s), s''' = s(1-s)(1-6s+6s²); here with 1-s = σ(-x),
# accurate at both ends. t = tanh x: t' = 1-t², t'' = -2t(1-t²), t''' = -2(1-t²)(1-3t²).
SATURATING = {
    "sigmoid": [lambda x: _sigmoid(x) * _sigmoid(-x),
                lambda x: _sigmoid(x) * _sigmoid(-x) * (1 - 2 * _sigmoid(x)),
                lambda x: _sigmoid(x) * _sigmoid(-x) * (1 - 6 * _sigmoid(x) * _sigmoid(-x))],
    "softplus": [_sigmoid,
                 lambda x: _sigmoid(x) * _sigmoid(-x),
                 lambda x: _sigmoid(x) * _sigmoid(-x) * (1 - 2 * _sigmoid(x))],
    "tanh": [lambda x: 1 - np.tanh(x) ** 2,
             lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
             lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SATURATING))
def test_saturating_activations_at_large_arguments_up_to_order_3(name, mode, how, dtype):
    # exp(-x) overflows past x = 709 (float64) or 88 (float32): no rule may compute it.
    xs = np.array([-1e5, -1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0, 1e5], dtype)
    with sg.Graph():
        x = sg.vector("x", len(xs), dtype)
        nodes = [elementwise_derivative(getattr(sg, name)(x), [x] * n, mode) for n in (1, 2, 3)]
        values = run(nodes, {x: xs}, how)
    for n, (value, closed_form) in enumerate(zip(values, SATURATING[name]), 1):
        assert_close(value, closed_form(xs.astype(np.float64)), dtype, f"{name}^({n})")


def _moments(z, v):
    """Cumulants 1-3 of v under softmax(z): the directional derivatives of logsumexp."""
    p = np.exp(z - np.max(z))
    p /= p.sum()
    k1 = p @ v
    return p, k1, p @ (v - k1) ** 2, p @ (v - k1) ** 3


LOGITS = {"extreme": [1e4, -1e4, 0.0, 3.0], "minus inf": [0.0, -np.inf, 1.0, 2.0],
          "huge and equal": [1e30, 1e30, -1e30, 0.0]}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("logits", sorted(LOGITS))
def test_logsumexp_log_softmax_and_softmax_at_extreme_logits_up_to_order_3(logits, mode, how, dtype):
    # Along v, with κ1..κ3 the cumulants of v under p = softmax(z): logsumexp has derivatives
    # κ1, κ2, κ3; log_softmax_i has v_i - κ1, -κ2, -κ3; softmax_i = exp(log_softmax_i) has
    # p_i u, p_i (u² - κ2), p_i (u³ - 3 u κ2 - κ3) with u = v_i - κ1.
    zs = np.array(LOGITS[logits], dtype)
    vs = np.array([0.5, -1.0, 2.0, 0.25], dtype)
    p, k1, k2, k3 = _moments(zs.astype(np.float64), vs.astype(np.float64))
    with sg.Graph():
        z = sg.vector("z", 4, dtype)
        v = sg.constant(vs)
        functions = {"logsumexp": sg.logsumexp(z), "log_softmax": sg.log_softmax(z)[2], "softmax": sg.softmax(z)[3]}
        nodes = {name: directional_derivatives(f, z, v, 3, mode) for name, f in functions.items()}
        values = dict(zip(nodes, np.split(np.array(run(sum(nodes.values(), []), {z: zs}, how)), 3)))
    u3, u2 = vs[3] - k1, vs[2] - k1
    expected = {"logsumexp": [k1, k2, k3], "log_softmax": [u2, -k2, -k3],
                "softmax": [p[3] * u3, p[3] * (u3 ** 2 - k2), p[3] * (u3 ** 3 - 3 * u3 * k2 - k3)]}
    for name in functions:
        assert_close(values[name], expected[name], dtype, f"{name} at {logits} logits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("mode", MODES)
def test_max_and_min_share_ties_up_to_order_3(mode, how, dtype):
    # At a tie the documented derivative of max along v is the mean of v over the tied
    # elements; max is piecewise linear, so the second and third are 0.
    zs = np.array([3.0, -1.0, 3.0, 3.0, -1.0], dtype)
    vs = np.array([0.5, 7.0, 2.0, -1.0, 3.0], dtype)
    with sg.Graph():
        z = sg.vector("z", 5, dtype)
        v = sg.constant(vs)
        nodes = directional_derivatives(sg.max(z), z, v, 3, mode) + directional_derivatives(sg.min(z), z, v, 3, mode)
        values = run(nodes, {z: zs}, how)
    assert_close(values, [1.5 / 3, 0.0, 0.0, 10.0 / 2, 0.0, 0.0], dtype)
