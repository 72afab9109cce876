"""NumPy's other elementary functions at the points where naive rules break: domain edges,
large arguments, and the divisor of mod. Closed forms are the oracle."""

import numpy as np
import pytest

import symgrad as sg


def grads(f, *values):
    """Values, gradients and the diagonal HVP (ones) of sum(f(*xs)), interpreted and compiled."""
    xs = [sg.placeholder(f"x{k}", np.shape(v)) for k, v in enumerate(values)]
    cost = sg.sum(f(*xs))
    outputs = [f(*xs), *sg.grad(cost, xs), sg.hvp(cost, xs[0], np.ones(np.shape(values[0])))]
    feeds = dict(zip(xs, values))
    with np.errstate(all="ignore"):
        interpreted = sg.evaluate(outputs, feeds)
        compiled = sg.function(xs, outputs)(*values)
    for a, b in zip(interpreted, compiled):
        np.testing.assert_array_equal(a, b)
    return interpreted


def test_logaddexp_is_finite_at_large_arguments_to_second_order():
    x, y = np.array([1000.0, -1000.0, 0.0, 700.0]), np.array([1000.0, -999.0, -800.0, -700.0])
    value, gx, gy, hxx = grads(sg.logaddexp, x, y)
    p = 1 / (1 + np.exp(y - x))  # d/dx = exp(x) / (exp(x) + exp(y)), computed stably here
    np.testing.assert_allclose(value, np.logaddexp(x, y), rtol=1e-15)
    np.testing.assert_allclose(gx, p, rtol=1e-13)
    np.testing.assert_allclose(gy, 1 - p, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(hxx, p * (1 - p), rtol=1e-12, atol=1e-300)


def test_mod_and_fmod_derivative_in_the_divisor_is_minus_floor_or_trunc():
    x, y = np.array([5.5, -5.5, 7.25, -0.5]), np.array([2.0, 2.0, -3.0, 4.0])
    for f, quotient in ((sg.mod, np.floor), (sg.fmod, np.trunc)):
        value, gx, gy, _ = grads(f, x, y)
        np.testing.assert_array_equal(gx, np.ones(4))
        np.testing.assert_allclose(gy, -quotient(x / y), rtol=1e-15)


@pytest.mark.parametrize("name, at, first", [
    ("arcsin", [1.0, -1.0], [np.inf, np.inf]), ("arccos", [1.0, -1.0], [-np.inf, -np.inf]),
    ("arccosh", [1.0], [np.inf]), ("arctanh", [1.0, -1.0], [np.inf, np.inf]),
    ("cbrt", [0.0], [np.inf])])
def test_domain_edges_give_the_one_sided_infinite_derivative(name, at, first):
    """Where the derivative does not exist (documented), it is an infinity of the right sign, not nan."""
    value, gradient, _ = grads(getattr(sg, name), np.array(at))
    np.testing.assert_array_equal(gradient, first)


def test_hypot_at_the_origin_has_no_derivative_and_says_so_with_nan():
    value, gx, gy, _ = grads(sg.hypot, np.array([0.0, 3.0]), np.array([0.0, 4.0]))
    assert np.isnan(gx[0]) and np.isnan(gy[0])  # documented: the derivative does not exist at (0, 0)
    np.testing.assert_allclose([gx[1], gy[1]], [0.6, 0.8], rtol=1e-15)


def test_arccosh_next_to_one_keeps_its_digits():
    """sqrt(x - 1) sqrt(x + 1) rather than sqrt(x² - 1): x² - 1 cancels next to 1."""
    x = np.array([1 + 1e-12])
    _, gradient, _ = grads(sg.arccosh, x)
    exact = 1 / np.sqrt((x - 1) * (x + 1))
    np.testing.assert_allclose(gradient, exact, rtol=1e-12)
