"""sg.special: scipy.special's functions with derivatives of every order.

Values are checked against SciPy; first, second (also as an HVP) and third derivatives against
closed forms written here with SciPy and NumPy, and against central finite differences in
float64, at ordinary points and at the points that break naive rules: large |x| for erf, erfc,
ndtr and log_ndtr, the ends of erfinv's and logit's domains, large |x| for expit, x = 0 and
y = 0 for xlogy, the poles of gammaln, digamma and polygamma. Interpreted and compiled results
must agree bit for bit.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sc

import symgrad as sg
import symgrad.ops.special as special_ops

SQRT_PI = math.sqrt(math.pi)


def derivatives(f, values, orders=3):
    """f(x) and its first ``orders`` derivatives (elementwise f: d/dx of the sum of the previous one),
    plus the HVP with ones (the second derivative again), interpreted and compiled."""
    values = np.asarray(values, dtype=np.float64)
    with sg.Graph():
        x = sg.placeholder("x", values.shape)
        outputs = [f(x)]
        for _ in range(orders):
            outputs.append(sg.grad(sg.sum(outputs[-1]), x))
        outputs.append(sg.hvp(sg.sum(outputs[0]), x, np.ones(values.shape)))
        with np.errstate(all="ignore"):
            interpreted = sg.evaluate(outputs, {x: values})
            compiled = sg.function([x], outputs)(values)
    for a, b in zip(interpreted, compiled):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)
    assert_close(interpreted[-1], interpreted[2], 1e-14)  # the HVP (forward over reverse) is f''
    return interpreted[:-1]


def assert_close(got, expected, rtol):
    """Relative agreement, infinities and NaNs in the same places."""
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-300)


def fd_check(f, values):
    """First, second and third derivatives of sum(f(x)) against central differences (float64)."""
    with sg.Graph():
        x = sg.placeholder("x", np.shape(values))
        feeds = {x: np.asarray(values, dtype=np.float64)}
        out = sg.sum(f(x))
        for _ in range(3):
            assert sg.check_grad(out, x, feeds, rtol=1e-6, atol=1e-8).ok
            out = sg.sum(sg.grad(out, x))


# --- closed forms: f, f', f'', f''' --------------------------------------------------------------

def erf_forms(x):
    d1 = 2 / SQRT_PI * np.exp(-x * x)
    return sc.erf(x), d1, -2 * x * d1, (4 * x * x - 2) * d1


def erfc_forms(x):
    value, d1, d2, d3 = erf_forms(x)
    return sc.erfc(x), -d1, -d2, -d3


def erfcx_forms(x):
    f = sc.erfcx(x)
    d1 = 2 * x * f - 2 / SQRT_PI
    d2 = 2 * f + 2 * x * d1
    return f, d1, d2, 4 * d1 + 2 * x * d2


def ndtr_forms(x):
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return sc.ndtr(x), pdf, -x * pdf, (x * x - 1) * pdf


def log_ndtr_forms(x):
    # r = φ/Φ as exp(log φ - log Φ) (another form than symgrad's), r' = -r (x + r), and so on.
    r = np.exp(-x * x / 2 - 0.5 * math.log(2 * math.pi) - sc.log_ndtr(x))
    d2 = -r * (x + r)
    d3 = -d2 * (x + r) - r * (1 + d2)
    return sc.log_ndtr(x), r, d2, d3


def erfinv_forms(x):
    y = sc.erfinv(x)
    d1 = SQRT_PI / 2 * np.exp(y * y)
    d2 = 2 * y * d1 * d1
    return y, d1, d2, 2 * d1 ** 3 + 4 * y * d1 * d2


def gammaln_forms(x):
    return sc.gammaln(x), sc.digamma(x), sc.polygamma(1, x), sc.polygamma(2, x)


def digamma_forms(x):
    return sc.digamma(x), sc.polygamma(1, x), sc.polygamma(2, x), sc.polygamma(3, x)


def polygamma2_forms(x):
    return tuple(sc.polygamma(n, x) for n in (2, 3, 4, 5))


def logit_forms(p):
    q = 1 - p
    return sc.logit(p), 1 / p + 1 / q, -1 / p ** 2 + 1 / q ** 2, 2 / p ** 3 + 2 / q ** 3


def expit_forms(x):
    s, t = sc.expit(x), sc.expit(-x)
    return s, s * t, s * t * (t - s), s * t * ((t - s) ** 2 - 2 * s * t)


# name, symgrad function, closed forms, ordinary points (also checked by finite differences),
# edge points, relative tolerance of the edge points' derivatives
UNARY = [
    ("erf", sg.special.erf, erf_forms, [-1.3, -0.2, 0.4, 2.5], [-30.0, -6.0, 0.0, 6.0, 27.0, 1e10], 1e-13),
    ("erfc", sg.special.erfc, erfc_forms, [-1.3, -0.2, 0.4, 2.5], [-30.0, -6.0, 0.0, 6.0, 27.0, 1e10], 1e-13),
    ("erfcx", sg.special.erfcx, erfcx_forms, [-1.3, -0.2, 0.4, 2.5], [-5.0, 0.0, 3.0, 10.0], 1e-12),
    ("ndtr", sg.special.ndtr, ndtr_forms, [-1.3, -0.2, 0.4, 2.5], [-40.0, -8.0, 0.0, 8.0, 40.0, 1e10], 1e-13),
    ("log_ndtr", sg.special.log_ndtr, log_ndtr_forms, [-2.0, -0.7, 0.0, 1.4],
     [-5.0, -1e-3, 0.0, 1e-3, 8.0, 20.0, 40.0], 1e-10),
    ("erfinv", sg.special.erfinv, erfinv_forms, [-0.8, -0.1, 0.3, 0.6],
     [-1 + 1e-12, -0.999, 0.0, 0.9999, 1 - 1e-15], 1e-10),
    ("gammaln", sg.special.gammaln, gammaln_forms, [0.6, 1.0, 3.3, 12.0, -0.5, -2.3],
     [1e-8, -1e-8, -1 + 1e-8, -3 - 1e-7, 150.0, 1e5], 1e-12),
    ("digamma", sg.special.digamma, digamma_forms, [0.6, 1.0, 3.3, 12.0, -0.5, -2.3],
     [1e-8, -1e-8, -1 + 1e-8, -3 - 1e-7, 150.0, 1e5], 1e-12),
    ("polygamma2", lambda x: sg.special.polygamma(2, x), polygamma2_forms, [0.6, 1.0, 3.3, -0.5, -2.3],
     [1e-3, -1 + 1e-3, -3 - 1e-3, 150.0], 1e-12),
    ("logit", sg.special.logit, logit_forms, [0.05, 0.3, 0.5, 0.9],
     [1e-100, 1e-12, 0.5, 1 - 1e-12, 1 - 2 ** -53], 1e-12),
    ("expit", sg.special.expit, expit_forms, [-3.0, -0.5, 0.0, 1.2],
     [-745.0, -40.0, -20.0, 20.0, 40.0, 700.0], 1e-13),
]
IDS = [u[0] for u in UNARY]


@pytest.mark.parametrize("name, f, forms, ordinary, edges, rtol", UNARY, ids=IDS)
def test_value_and_three_derivatives_match_closed_forms(name, f, forms, ordinary, edges, rtol):
    for points, tolerance in ((ordinary, 1e-12), (edges, rtol)):
        x = np.array(points)
        got = derivatives(f, x)
        with np.errstate(all="ignore"):
            expected = forms(x)
        np.testing.assert_array_equal(got[0], expected[0])  # SciPy's own value
        for order in (1, 2, 3):
            assert np.all(np.isfinite(got[order]) | ~np.isfinite(expected[order])), (name, order, x, got[order])
            assert_close(got[order], expected[order], tolerance)


@pytest.mark.parametrize("name, f, forms, ordinary, edges, rtol", UNARY, ids=IDS)
def test_three_derivatives_match_finite_differences(name, f, forms, ordinary, edges, rtol):
    fd_check(f, np.array(ordinary))


# --- the edges in detail ---------------------------------------------------------------------------

# The first four derivatives of log Φ(x), computed with mpmath at 80 digits (mp.diff of
# log(ncdf(x)), n = 1..4), and the relative error symgrad is documented to stay within.
LOG_NDTR_EXACT = {
    -1e4: ((10000.000099999998, -0.9999999900000006, 1.99999976000003e-12, 5.99999880000021e-16), 1e-15),
    -200.0: ((200.00499975003124, -0.99997500374921895, 2.4992502342940935e-7, 3.7481258199484518e-9), 1e-15),
    -40.0: ((40.024968847207264, -0.99937733162140861, 3.1017440396486248e-5, 2.3147700438918067e-6), 1e-15),
    -20.0: ((20.049753068527851, -0.99753673838494784, 0.00024272657893584202, 3.5703551588456592e-5), 1e-15),
    -9.0: ((9.1085231050028688, -0.98848520934528287, 0.0023907474397987586, 0.00072877087271227609), 1e-10),
    # between -9 and 0 the recurrence from φ/Φ cancels a little, the most next to -9
    -8.0: ((8.1213681122361127, -0.98567511655665909, 0.0032918765663441355, 0.0011052920954551627), 1e-9),
}


def test_log_ndtr_derivatives_are_accurate_far_in_the_lower_tail():
    """φ(x)/Φ(x) and the derivatives after it, where φ and Φ underflow (x < -38) and where rules
    built from nodes cancel (r' = -r (x + r) kept 7 digits of the third derivative at x = -40,
    and none of the second at -1e10)."""
    x = np.array(list(LOG_NDTR_EXACT))
    with sg.Graph():
        node = sg.placeholder("x", x.shape)
        outputs = [sg.special.log_ndtr(node)]
        for _ in range(4):
            outputs.append(sg.grad(sg.sum(outputs[-1]), node))
        got = sg.evaluate(outputs, {node: x})
    np.testing.assert_array_equal(got[0], sc.log_ndtr(x))
    for k, (expected, rtol) in enumerate(LOG_NDTR_EXACT.values()):
        for order in range(1, 5):
            np.testing.assert_allclose(got[order][k], expected[order - 1], rtol=max(rtol, 2e-16 * order),
                                       err_msg=f"order {order} at x = {x[k]}")
    # beyond: -x - 1/x + 2/x³ (the asymptotic series, exact in float64 here), -1 + 1/x², 2/|x|³
    x = np.array([-1e10, -1e150])
    value, first, second, third = derivatives(sg.special.log_ndtr, x)
    np.testing.assert_allclose(first, -x - 1 / x, rtol=2e-16)
    np.testing.assert_array_equal(second, [-1.0, -1.0])
    np.testing.assert_allclose(third, [2e-30, 0.0], rtol=1e-15)


def test_log_ndtr_derivative_order_is_checked():
    x = sg.vector("x", 2)
    for bad in (0, 1.0, True):
        with pytest.raises(sg.DTypeError, match="log_ndtr_derivative: the order n must be an int >= 1"):
            special_ops.LOG_NDTR_DERIVATIVE(x, n=bad)
    (first,) = [n for n in sg.ancestors(sg.grad(sg.sum(sg.special.log_ndtr(x)), x))
                if n.op is special_ops.LOG_NDTR_DERIVATIVE]
    assert first.params.n == 1


def test_log_ndtr_is_finite_to_third_order_in_the_upper_tail_and_at_infinity():
    """Where erfcx(-x/√2) would overflow (x > 37), φ/Φ is computed as such: no inf/inf; at
    x = inf every derivative is 0 (no 0·inf), at -inf they are the limits inf, -1, 0."""
    x = np.array([30.0, 38.0, 40.0, 1e3, 1e300, np.inf])
    for order, d in enumerate(derivatives(sg.special.log_ndtr, x)):
        assert np.all(np.isfinite(d)), (order, d)
        assert np.all(np.abs(d) < 1e-190)
    value, first, second, third = derivatives(sg.special.log_ndtr, np.array([-np.inf]))
    assert (value[0], first[0], second[0], third[0]) == (-np.inf, np.inf, -1.0, 0.0)


def test_erfinv_at_plus_minus_one_is_infinite_with_an_infinite_derivative():
    value, first, second, _ = derivatives(sg.special.erfinv, np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(value, [-np.inf, np.inf])
    np.testing.assert_array_equal(first, [np.inf, np.inf])


def test_logit_at_zero_and_one_and_expit_at_large_arguments():
    value, first, second, _ = derivatives(sg.special.logit, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(value, [-np.inf, np.inf])
    np.testing.assert_array_equal(first, [np.inf, np.inf])
    np.testing.assert_array_equal(second, [-np.inf, np.inf])
    value, first, second, third = derivatives(sg.special.expit, np.array([-800.0, 800.0, 40.0]))
    np.testing.assert_array_equal(value, [0.0, 1.0, sc.expit(40.0)])
    np.testing.assert_array_equal(first[:2], [0.0, 0.0])
    np.testing.assert_allclose(first[2], math.exp(-40.0), rtol=1e-14)  # not 1 - expit(40) = 0
    np.testing.assert_allclose([second[2], third[2]], [-math.exp(-40.0), math.exp(-40.0)], rtol=1e-14)


def test_gammaln_and_digamma_at_the_poles_follow_scipy():
    """gammaln is inf at 0, -1, -2, ...; its derivative there is SciPy's digamma: -inf at +0, nan at
    negative integers. Next to a pole, the derivative blows up like the closed form."""
    x = np.array([0.0, -1.0, -2.0])
    value, first, second, _ = derivatives(sg.special.gammaln, x)
    np.testing.assert_array_equal(value, sc.gammaln(x))
    np.testing.assert_array_equal(first, sc.digamma(x))
    np.testing.assert_array_equal(second, sc.polygamma(1, x))
    _, first, second, _ = derivatives(sg.special.gammaln, np.array([-1 + 1e-9, -1 - 1e-9]))
    np.testing.assert_allclose(first, [-1e9, 1e9], rtol=1e-6)      # ψ(x) ≈ -1/(x + 1) next to -1
    np.testing.assert_allclose(second, [1e18, 1e18], rtol=1e-6)    # ψ'(x) ≈ 1/(x + 1)²


def test_polygamma_at_negative_arguments_satisfies_the_recurrence():
    """ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) - (-1)ⁿ n! / x^(n+1): an oracle that reaches negative x and the
    neighbourhood of the poles from positive arguments only."""
    x = np.array([-0.5, -2.3, -1 + 1e-4, -3 - 1e-4])
    shifted = x + 4  # positive
    for n, got in enumerate(derivatives(sg.special.digamma, x)):
        expected = sc.polygamma(n, shifted)
        for j in range(4):
            expected = expected - (-1) ** n * math.factorial(n) / (x + j) ** (n + 1)
        np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_polygamma_order_is_a_non_negative_int():
    x = sg.scalar("x")
    assert sg.special.polygamma(0, x) is sg.special.digamma(x)
    assert sg.special.polygamma(np.int64(2), x) is sg.special.polygamma(2, x)
    for bad in (-1, 1.0, True, np.array([1, 2])):
        with pytest.raises(sg.DTypeError, match="polygamma: the order n must be an int >= 0"):
            sg.special.polygamma(bad, x)
    third = sg.grad(sg.grad(sg.special.polygamma(1, x), x), x)
    np.testing.assert_allclose(third.eval({x: 1.7}), sc.polygamma(3, 1.7), rtol=1e-14)


# --- xlogy and xlog1py ---------------------------------------------------------------------------

def xlogy_parts(f, xs, ys):
    """f, df/dx, df/dy, and the Hessian's entries d²f/dx², d²f/dxdy, d²f/dy², interpreted and compiled."""
    with sg.Graph():
        x, y = sg.vector("x", len(xs)), sg.vector("y", len(ys))
        out = f(x, y)
        gx, gy = sg.grad(sg.sum(out), [x, y])
        hxx, hxy = sg.grad(sg.sum(gx), [x, y], disconnected="zero")  # gx = log(y) does not depend on x
        hyy = sg.grad(sg.sum(gy), y)
        outputs = [out, gx, gy, hxx, hxy, hyy]
        feeds = {x: np.asarray(xs, float), y: np.asarray(ys, float)}
        with np.errstate(all="ignore"):
            interpreted = sg.evaluate(outputs, feeds)
            compiled = sg.function([x, y], outputs)(feeds[x], feeds[y])
    for a, b in zip(interpreted, compiled):
        np.testing.assert_array_equal(a, b)
    return interpreted


def test_xlogy_values_and_derivatives_at_zero():
    xs = [0.0, 0.0, 0.0, 1.0, 2.0, -1.5, 0.0]
    ys = [0.0, 2.0, -1.0, 0.0, 3.0, 0.5, np.nan]
    value, gx, gy, hxx, hxy, hyy = xlogy_parts(sg.special.xlogy, xs, ys)
    np.testing.assert_array_equal(value, sc.xlogy(xs, ys))  # 0 at x = 0, y = 0; nan at y = nan
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(gx, np.log(ys))  # -inf at y = 0: x log 0 is ∓inf for x ≠ 0
    # the function is 0 on the line x = 0, so is its y-derivative, y = 0 included
    np.testing.assert_array_equal(gy[:3], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(gy[3:6], [np.inf, 2.0 / 3.0, -3.0], rtol=1e-15)
    np.testing.assert_array_equal(hxx, np.zeros(7))
    np.testing.assert_allclose(hxy[1:6], [0.5, -1.0, np.inf, 1 / 3, 2.0], rtol=1e-15)  # 1/y, also at x = 0
    np.testing.assert_array_equal(hyy[:3], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(hyy[4:6], [-2.0 / 9.0, 6.0], rtol=1e-15)


def test_xlog1py_values_and_derivatives_at_zero():
    xs = [0.0, 0.0, 1.0, 2.0, -1.5]
    ys = [-1.0, 1e-20, -1.0, 3.0, -0.5]
    value, gx, gy, hxx, hxy, hyy = xlogy_parts(sg.special.xlog1py, xs, ys)
    np.testing.assert_array_equal(value, sc.xlog1py(xs, ys))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(gx, np.log1p(ys))
    np.testing.assert_array_equal(gy[:2], [0.0, 0.0])
    np.testing.assert_allclose(gy[2:], [np.inf, 0.5, -3.0], rtol=1e-15)
    np.testing.assert_allclose(hxy[1:], [1.0, np.inf, 0.25, 2.0], rtol=1e-15)
    np.testing.assert_allclose(hyy[3:], [-2.0 / 16.0, 6.0], rtol=1e-15)


@pytest.mark.parametrize("f", [sg.special.xlogy, sg.special.xlog1py], ids=["xlogy", "xlog1py"])
def test_xlogy_derivatives_match_finite_differences_with_broadcasting(f):
    rng = np.random.default_rng(5)
    x, y = sg.matrix("x", 2, 3), sg.vector("y", 3)
    feeds = {x: rng.normal(size=(2, 3)), y: rng.uniform(0.3, 2.0, 3)}
    out = sg.sum(f(x, y) * rng.normal(size=(2, 3)))
    assert sg.check_grad(out, [x, y], feeds, rtol=1e-7).ok
    for target in (x, y):
        assert sg.check_grad(sg.sum(sg.grad(out, target) ** 2), [x, y], feeds, rtol=1e-6).ok


# --- dtypes ------------------------------------------------------------------------------------------

ALL_UNARY = [(name, f) for name, f, *_ in UNARY] + [
    ("polygamma1", lambda x: sg.special.polygamma(1, x))]


@pytest.mark.parametrize("name, f", ALL_UNARY, ids=[n for n, _ in ALL_UNARY])
def test_float32_stays_float32_to_third_order(name, f):
    values = np.array([0.2, 0.45, 0.7], dtype=np.float32)
    x32, x64 = sg.placeholder("x32", (3,), "float32"), sg.placeholder("x64", (3,))
    outs32, outs64 = [f(x32)], [f(x64)]
    for _ in range(3):
        outs32.append(sg.grad(sg.sum(outs32[-1]), x32))
        outs64.append(sg.grad(sg.sum(outs64[-1]), x64))
    got = sg.evaluate(outs32, {x32: values})
    compiled = sg.function([x32], outs32)(values)
    expected = sg.evaluate(outs64, {x64: values.astype(np.float64)})
    for a, b, e in zip(got, compiled, expected):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["int8", "int64", "bool", "uint8"])
def test_integer_and_bool_inputs_get_scipys_dtype(dtype):
    values = np.array([0, 1, 1], dtype=dtype)
    x = sg.placeholder("x", (3,), dtype)
    for name in ["erf", "erfc", "erfcx", "erfinv", "ndtr", "log_ndtr", "gammaln", "digamma", "logit", "expit"]:
        out = getattr(sg.special, name)(x)
        expected = getattr(sc, name)(values)
        assert out.dtype == expected.dtype, name
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(out.eval({x: values}), expected)
            np.testing.assert_array_equal(sg.function([x], out)(values), expected)
    for name in ["xlogy", "xlog1py"]:
        out = getattr(sg.special, name)(x, x)
        expected = getattr(sc, name)(values, values)
        assert out.dtype == expected.dtype, name
        np.testing.assert_array_equal(out.eval({x: values}), expected)
    out = sg.special.polygamma(1, x)
    assert out.dtype == sc.polygamma(1, values).dtype


def test_xlogy_with_an_integer_y_differentiates_in_the_float_x():
    x, y = sg.vector("x", 2, "float32"), sg.vector("y", 2, "int64")
    out = sg.special.xlogy(x, y)
    gx = sg.grad(sg.sum(out), x)
    assert out.dtype == gx.dtype == np.float32
    np.testing.assert_allclose(gx.eval({x: [1.0, 2.0], y: [2, 3]}), np.log([2.0, 3.0]), rtol=1e-6)


def test_mixing_float_widths_is_an_error():
    with pytest.raises(sg.DTypeError, match="xlogy"):
        sg.special.xlogy(sg.vector("a", 2, "float32"), sg.vector("b", 2))


# --- generated code, saved files, and SciPy as an optional extra --------------------------------------

def test_compiled_code_calls_scipy_and_saved_files_round_trip(tmp_path):
    x = sg.vector("x", 3)
    outputs = [sg.special.polygamma(2, x), sg.special.log_ndtr(x), sg.special.xlogy(x, sg.special.expit(x))]
    cost = sg.sum(outputs[0]) + sg.sum(outputs[1]) + sg.sum(outputs[2])
    outputs.append(sg.grad(cost, x))
    f = sg.function([x], outputs)
    assert "f_polygamma" in f.source and "f_log_ndtr" in f.source and "f_xlogy" in f.source
    value = np.array([0.3, 1.5, 2.5])
    sg.save(outputs, tmp_path / "g.json")
    _, loaded = sg.load(tmp_path / "g.json")
    for a, b in zip(sg.evaluate(loaded, {"x": value}), f(value)):
        np.testing.assert_array_equal(a, b)


def test_without_scipy_building_a_node_names_the_extra(monkeypatch, tmp_path):
    sg.save(sg.special.erf(sg.vector("x", 2)), tmp_path / "g.json")
    monkeypatch.setattr(special_ops, "scipy_special", None)
    x = sg.vector("fresh", 2)  # an existing node would be found, not built
    for build in (lambda: sg.special.erf(x), lambda: sg.special.polygamma(3, x),
                  lambda: sg.special.xlogy(x, x), lambda: sg.special.logit(sg.vector("i", 2, "int8"))):
        with pytest.raises(ImportError, match=r"needs SciPy.*pip install 'symgrad\[special\]'"):
            build()
    with pytest.raises(sg.FormatError, match=r"symgrad\[special\]"):
        sg.load(tmp_path / "g.json")
    assert float(sg.tanh(x).sum().eval({x: [0.0, 0.0]})) == 0.0  # the rest of symgrad works


def test_symgrad_imports_without_scipy():
    """A fresh interpreter where `import scipy` fails: symgrad imports, sg.special raises the ImportError."""
    script = (
        "import sys; sys.modules['scipy'] = None; sys.modules['scipy.special'] = None\n"
        "import symgrad as sg\n"
        "x = sg.scalar('x')\n"
        "assert float(sg.grad(sg.tanh(x), x).eval({x: 0.0})) == 1.0\n"
        "try:\n"
        "    sg.special.gammaln(x)\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sg.special.gammaln needs SciPy" in result.stdout and "symgrad[special]" in result.stdout
