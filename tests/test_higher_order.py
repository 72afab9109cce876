"""Third and fourth derivatives of every unary op, and higher orders in general.

Each op's n-th derivative is taken by repeated ``sg.grad`` on a vector of
points (``grad(sum(d_k), x)`` is the elementwise ``d_{k+1}``) and checked
against its closed form, written out below, and against central finite
differences of the derivative one order lower.
"""

import numpy as np
import pytest

import symgrad as sg
from finite_differences import fd_jacobian
from helpers import tanh_derivative


def _sig(x):
    return 1 / (1 + np.exp(-x))


# op -> (points in its domain, closed form of the 3rd derivative, of the 4th)
CLOSED_FORMS = {
    "exp": (None, np.exp, np.exp),
    "log": ("positive", lambda x: 2 / x ** 3, lambda x: -6 / x ** 4),
    "log1p": ("positive", lambda x: 2 / (1 + x) ** 3, lambda x: -6 / (1 + x) ** 4),
    "expm1": (None, np.exp, np.exp),
    # x^(1/2): 1/2 x^(-1/2), -1/4 x^(-3/2), 3/8 x^(-5/2), -15/16 x^(-7/2)
    "sqrt": ("positive", lambda x: 3 / 8 * x ** -2.5, lambda x: -15 / 16 * x ** -3.5),
    "square": (None, np.zeros_like, np.zeros_like),
    "sin": (None, lambda x: -np.cos(x), np.sin),
    "cos": (None, np.sin, np.cos),
    # t = tan x: t' = 1 + t², t'' = 2t(1 + t²), t''' = 2(1 + t²)(1 + 3t²), t'''' = 8t(1 + t²)(2 + 3t²)
    "tan": (None, lambda x: 2 * (1 + np.tan(x) ** 2) * (1 + 3 * np.tan(x) ** 2),
            lambda x: 8 * np.tan(x) * (1 + np.tan(x) ** 2) * (2 + 3 * np.tan(x) ** 2)),
    # t = tanh x: t' = 1 - t², t'' = -2t(1 - t²), t''' = -2(1 - t²)(1 - 3t²), t'''' = 8t(1 - t²)(2 - 3t²)
    "tanh": (None, lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2),
             lambda x: 8 * np.tanh(x) * (1 - np.tanh(x) ** 2) * (2 - 3 * np.tanh(x) ** 2)),
    # s = σ(x): s' = s(1-s), s'' = s(1-s)(1-2s), s''' = s(1-s)(1-6s+6s²), s'''' = s(1-s)(1-2s)(1-12s+12s²)
    "sigmoid": (None, lambda x: _sig(x) * (1 - _sig(x)) * (1 - 6 * _sig(x) + 6 * _sig(x) ** 2),
                lambda x: _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x)) * (1 - 12 * _sig(x) + 12 * _sig(x) ** 2)),
    # softplus' = σ, so its 3rd and 4th derivatives are σ'' and σ'''
    "softplus": (None, lambda x: _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x)),
                 lambda x: _sig(x) * (1 - _sig(x)) * (1 - 6 * _sig(x) + 6 * _sig(x) ** 2)),
    "neg": (None, np.zeros_like, np.zeros_like),
}
POINTS = {None: np.array([-2.3, -0.9, -0.2, 0.0, 0.35, 1.1, 2.7]),
          "positive": np.array([0.15, 0.5, 1.0, 1.7, 3.2, 9.0])}


def points(name: str) -> np.ndarray:
    """The points an op is checked at: its domain's, off tan's poles."""
    chosen = POINTS[CLOSED_FORMS[name][0]]
    return chosen[np.abs(chosen) < 1.4] if name == "tan" else chosen


def derivatives(op_name: str, order: int):
    """x and [f, f', ..., f^(order)] as elementwise nodes of a vector x."""
    x = sg.vector("x", None)
    chain = [getattr(sg, op_name)(x)]
    for _ in range(order):
        # disconnected="zero": square'' and neg' are constants, their next derivative is zero.
        chain.append(sg.grad(sg.sum(chain[-1]), x, disconnected="zero"))
    return x, chain


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_third_and_fourth_derivatives_match_closed_forms(name):
    _, third, fourth = CLOSED_FORMS[name]
    at = points(name)
    x, chain = derivatives(name, 4)
    values = sg.evaluate(chain[3:], {x: at})
    np.testing.assert_allclose(values[0], third(at), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(values[1], fourth(at), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_each_order_is_the_finite_difference_of_the_one_below(name):
    at = points(name)
    x, chain = derivatives(name, 4)
    functions = [sg.function([x], d) for d in chain]
    eps = 1e-5
    for lower, higher in zip(functions[1:4], functions[2:5]):
        fd = (lower(at + eps) - lower(at - eps)) / (2 * eps)
        np.testing.assert_allclose(higher(at), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["forward-over-reverse", "reverse-over-reverse"])
def test_third_derivative_of_binary_ops_by_hvp_of_a_gradient(method):
    # d/dx of the Hessian-vector product of f(x, y) = x^y + x/y + x*y² along v, against finite differences.
    x = sg.vector("x", 2)
    f = x[0] ** x[1] + x[0] / x[1] + x[0] * x[1] ** 2 + sg.maximum(x[0], x[1]) ** 3
    v = np.array([0.4, -1.3])
    hv = sg.hvp(f, x, v, method=method)
    third = sg.jacobian(hv, x)
    point = np.array([1.7, 0.6])
    fd = fd_jacobian(hv, x, point, eps=1e-5)
    np.testing.assert_allclose(third.eval({x: point}), fd, rtol=1e-6)
    # The third-derivative tensor is symmetric: this slice T[:, :, v] is a symmetric matrix.
    np.testing.assert_allclose(third.eval({x: point}), third.eval({x: point}).T, rtol=1e-12)


def test_repeated_gradient_of_a_net_matches_finite_differences():
    # f(w) = Σ softplus(X w)·y, four times in one direction u: d⁴/dt⁴ f(w + t u).
    X = np.random.default_rng(3).normal(size=(8, 3))
    w = sg.vector("w", 3)
    u = np.array([0.5, -0.25, 1.0])
    f = (sg.softplus(X @ w) * np.linspace(-1, 1, 8)).sum()
    d = f
    for _ in range(3):
        d = (sg.grad(d, w) * u).sum()
    fourth_along_u = (sg.grad(d, w) * u).sum()
    point = np.array([0.2, 0.1, -0.3])
    third = sg.function([w], d)
    eps = 1e-4
    fd = (third(point + eps * u) - third(point - eps * u)) / (2 * eps)
    np.testing.assert_allclose(fourth_along_u.eval({w: point}), fd, rtol=1e-6)
    # closed form: Σ_i c_i σ'''(a_i) (X u)_i⁴ with a = X w
    a, xu, c = X @ point, X @ u, np.linspace(-1, 1, 8)
    s = _sig(a)
    expected = (c * s * (1 - s) * (1 - 6 * s + 6 * s ** 2) * xu ** 4).sum()
    np.testing.assert_allclose(fourth_along_u.eval({w: point}), expected, rtol=1e-12)


def test_repeated_passes_reuse_nodes():
    x = sg.scalar("x")
    first = sg.grad(sg.tanh(x), x)
    assert sg.grad(sg.tanh(x), x) is first  # the same pass again adds nothing (hash-consing)
    counts = []
    d = sg.tanh(x)
    for _ in range(8):
        d = sg.grad(d, x)
        counts.append(len(sg.ancestors([d])))
    # Without sharing, the product rule would triple the tree at each order; with it the graph
    # at most about doubles.
    for smaller, larger in zip(counts, counts[1:]):
        assert larger <= 2.1 * smaller
    np.testing.assert_allclose(d.eval({x: 0.37}), tanh_derivative(8, 0.37), rtol=1e-11)
