"""Build-time rewrites keep values: each one is checked against plain NumPy on awkward inputs
(signed zeros, infinities, NaN), and rewritten derivatives against closed forms."""

import numpy as np
import pytest

import symgrad as sg
from helpers import tanh_derivative
from symgrad.rewrite import during_pass, polynomial_form

# The awkward inputs overflow on purpose: NumPy's warnings are expected on both sides.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# Awkward values: signed zeros, infinities, NaN, tiny and huge numbers.
AWKWARD = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 1e-310, -1e308, 3.0])
OTHER = np.array([-0.0, 0.0, -1.5, 7.0, 1.0, np.inf, 2.0, -1e-310, 1e308, np.nan])


def same_bits(a, b):
    """Equal values, NaN where NaN, and the same sign on zeros (1/x tells them apart)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a[~np.isnan(a)]), np.signbit(b[~np.isnan(b)]))


def in_pass(graph):
    """Build as a derivative pass does (rewrites that only apply to derivative nodes)."""
    return graph.recording(sg.Origin(1, graph.nodes[0], "cotangent"), during_pass)


def test_add_of_a_negation_is_a_subtraction_with_the_same_bits():
    a, b = sg.vector("a", 10), sg.vector("b", 10)
    s = a + (-b)
    assert s.op.name == "sub" and s.inputs == (a, b)
    t = (-a) + b
    assert t.op.name == "sub" and t.inputs == (b, a)
    same_bits(s.eval({a: AWKWARD, b: OTHER}), AWKWARD + (-OTHER))
    same_bits(t.eval({a: AWKWARD, b: OTHER}), (-AWKWARD) + OTHER)


def test_subtracting_a_negation_is_an_addition_with_the_same_bits():
    a, b = sg.vector("a", 10), sg.vector("b", 10)
    s = a - (-b)
    assert s.op.name == "add"
    same_bits(s.eval({a: AWKWARD, b: OTHER}), AWKWARD - (-OTHER))


def test_commuted_sums_and_products_are_shared_and_exact():
    a, b = sg.vector("a", 10), sg.vector("b", 10)
    assert b * a is a * b and b + a is a + b
    assert b - a is not a - b
    same_bits((b * a).eval({a: AWKWARD, b: OTHER}), OTHER * AWKWARD)
    same_bits((b + a).eval({a: AWKWARD, b: OTHER}), OTHER + AWKWARD)


def test_multiplying_by_minus_one_is_a_negation_with_the_same_bits():
    a = sg.vector("a", 10)
    for y in (a * -1.0, -1.0 * a):
        assert y.op.name == "neg"
        same_bits(y.eval({a: AWKWARD}), AWKWARD * -1.0)
    wide = a * sg.constant(-np.ones((2, 10)))  # broadcasting up: not a plain negation
    assert wide.op.name == "mul"


def test_product_of_two_negations_drops_both_with_the_same_bits():
    a, b = sg.vector("a", 10), sg.vector("b", 10)
    y = (-a) * (-b)
    assert y.op.name == "mul" and set(y.inputs) == {a, b}
    same_bits(y.eval({a: AWKWARD, b: OTHER}), (-AWKWARD) * (-OTHER))


def test_double_negation_cancels():
    a = sg.vector("a", 10)
    assert -(-a) is a


def test_user_graphs_are_not_folded_but_derivative_passes_are():
    with sg.Graph() as g:
        sg.scalar("x")
        kept = sg.constant(2.0) + 3.0
        assert kept.op.name == "add"
        with in_pass(g):
            folded = sg.constant(2.0) + 4.0
            log0 = sg.log(sg.constant(0.0))
            big = sg.exp(sg.constant(1000.0))
            vector = sg.constant(np.ones(3)) * 2.0  # more than one element: left alone
    assert folded.op.name == "constant" and float(folded.value) == 6.0
    assert log0.op.name == "constant" and log0.value == -np.inf   # the same inf evaluation gives
    assert big.op.name == "constant" and big.value == np.inf
    assert vector.op.name == "mul"
    with np.errstate(divide="ignore", over="ignore"):
        assert sg.evaluate(sg.log(sg.constant(0.0)), {}) == log0.value


def test_a_fold_that_would_fail_is_left_to_evaluation():
    with sg.Graph() as g:
        sg.scalar("x")
        with in_pass(g):
            bad = sg.one_hot(sg.constant(np.array([5])), 2)
    assert bad.op.name == "one_hot"
    with pytest.raises(ValueError, match="one_hot"):
        bad.eval()


def test_in_a_pass_a_sum_of_a_value_with_itself_is_twice_it_exactly():
    with sg.Graph() as g:
        a = sg.vector("a", 10)
        with in_pass(g):
            y = a + a
    assert y.op.name == "mul"
    same_bits(y.eval({a: AWKWARD}), AWKWARD + AWKWARD)


def test_in_a_pass_scalar_constant_factors_collapse_within_rounding():
    with sg.Graph() as g:
        a = sg.vector("a", 10)
        with in_pass(g):
            y = 3.0 * (0.1 * a)
            huge = 1e300 * (1e300 * a)   # 1e600 overflows: kept as two products
            negated = (-a) * 2.0         # -2 folded into the constant
    assert y.op.name == "mul" and a in y.inputs
    finite = np.nan_to_num(AWKWARD, nan=1.0, posinf=1.0, neginf=1.0)
    np.testing.assert_allclose(y.eval({a: finite}), 3.0 * (0.1 * finite), rtol=2e-16, atol=0)
    assert huge.inputs[1].op.name == "mul" or huge.inputs[0].op.name == "mul"
    same_bits(huge.eval({a: np.array([1e-300] * 10)}), 1e300 * (1e300 * np.array([1e-300] * 10)))
    assert negated.op.name == "mul" and a in negated.inputs
    same_bits(negated.eval({a: AWKWARD}), (-AWKWARD) * 2.0)


@pytest.mark.parametrize("f, closed_forms", [
    (sg.tanh, [lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
               lambda x: (6 * np.tanh(x) ** 2 - 2) * (1 - np.tanh(x) ** 2)]),
    (sg.sigmoid, [lambda x: s(x) * (1 - s(x)), lambda x: s(x) * (1 - s(x)) * (1 - 2 * s(x)),
                  lambda x: s(x) * (1 - s(x)) * (1 - 6 * s(x) + 6 * s(x) ** 2)]),
])
def test_rewritten_higher_derivatives_match_closed_forms(f, closed_forms):
    x = sg.scalar("x")
    d = f(x)
    for closed in closed_forms:
        d = sg.grad(d, x)
        for value in (-1.3, 0.0, 0.7):
            np.testing.assert_allclose(float(d.eval({x: value})), closed(value), rtol=1e-13, atol=1e-15)


def s(x):
    return 1 / (1 + np.exp(-x))


# --- polynomial forms between repeated passes ---------------------------------------------------

def test_eighth_derivative_of_tanh_is_small_and_right():
    x = sg.scalar("x")
    d = sg.tanh(x)
    for n in range(1, 9):
        d = sg.grad(d, x)
        for value in (-2.0, -0.4, 0.0, 0.9):
            np.testing.assert_allclose(float(d.eval({x: value})), tanh_derivative(n, value), rtol=1e-11,
                                       atol=1e-11)
    assert len(sg.ancestors([d])) <= 100  # the target; plain passes need hundreds


def test_repeated_derivatives_of_sin_cycle():
    x = sg.scalar("x")
    d = sg.sin(x) * sg.cos(x)   # sin(2x) / 2: a polynomial in two bounded atoms
    for n in range(1, 7):
        d = sg.grad(d, x)
        for value in (-1.1, 0.3, 2.0):
            expected = 2.0 ** (n - 1) * np.sin(2 * value + n * np.pi / 2)
            np.testing.assert_allclose(float(d.eval({x: value})), expected, rtol=1e-12, atol=1e-12)


def test_polynomial_form_leaves_cancellations_and_other_graphs_alone():
    x = sg.scalar("x")
    t = sg.tanh(x)
    cancelling = t * t - sg.square(t)    # 0 for finite t, NaN for NaN: not rewritten to 0
    assert polynomial_form(cancelling) is cancelling
    assert np.isnan(cancelling.eval({x: np.nan}))
    unbounded = (x * x + 1.0) * (x * x + 1.0)   # x is not bounded: Horner could overflow differently
    assert polynomial_form(unbounded) is unbounded
    other = sg.exp(t) * t
    assert polynomial_form(other) is other
    vector = sg.tanh(sg.vector("v", 3)) * 2.0
    assert polynomial_form(vector) is vector


def test_polynomial_form_keeps_nan_and_rounding():
    x = sg.scalar("x")
    t, s = sg.tanh(x), sg.sigmoid(x)
    ts = t * s
    p = (ts * 1.5 + ts * 2.0 + ts * 3.0 + t) * (1.0 - s) + sg.square(s - t)
    q = polynomial_form(p)
    assert q is not p and len(sg.ancestors([q])) < len(sg.ancestors([p]))
    for value in np.linspace(-30.0, 30.0, 41):
        np.testing.assert_allclose(float(q.eval({x: value})), float(p.eval({x: value})), rtol=1e-13,
                                   atol=1e-14)
    assert np.isnan(q.eval({x: np.nan}))


def test_in_a_pass_a_broadcast_factor_is_left_to_numpy_broadcasting():
    with sg.Graph() as g:
        a = sg.matrix("a", 2, 5)
        c = sg.placeholder("c", (1, 1))
        with in_pass(g):
            y = sg.broadcast_to(c, (2, 5)) * a
            scaled = sg.constant(np.array([[3.0]])) * (sg.constant(0.5) * a)   # size-1 factors combine
    assert y.op.name == "mul" and set(y.inputs) == {c, a}
    av = np.concatenate([AWKWARD[:5], OTHER[:5]]).reshape(2, 5)
    cv = np.array([[-0.0]])
    same_bits(y.eval({a: av, c: cv}), np.broadcast_to(cv, (2, 5)) * av)
    assert a in scaled.inputs
    np.testing.assert_allclose(scaled.eval({a: np.nan_to_num(av)}), 3.0 * (0.5 * np.nan_to_num(av)), rtol=1e-15)
