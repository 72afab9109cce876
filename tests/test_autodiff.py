"""The gradient pass: non-smooth conventions, deep graphs, linear growth, errors.

Per-op derivatives live in test_ops.py; this file checks what the pass itself
promises (DESIGN.md, "Semantics decisions").
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import symgrad as sg


def grad_value(cost, wrt, feeds, **options):
    return sg.evaluate(sg.grad(cost, wrt, **options), feeds)


# --- non-smooth points, as the notes choose -------------------------------------------------

def test_relu_derivative_at_zero_is_zero():
    x = sg.vector("x", 3)
    np.testing.assert_array_equal(grad_value(sg.relu(x).sum(), x, {x: [-1.0, 0.0, 2.0]}), [0, 0, 1])


def test_relu_forward_mode_at_zero_is_zero():
    x = sg.vector("x", 3)
    tangent = sg.jvp(sg.relu(x), x, np.ones(3))
    np.testing.assert_array_equal(tangent.eval({x: [-1.0, 0.0, 2.0]}), [0, 0, 1])


def test_abs_derivative_at_zero_is_zero():
    x = sg.vector("x", 3)
    np.testing.assert_array_equal(grad_value(abs(x).sum(), x, {x: [-2.0, 0.0, 3.0]}), [-1, 0, 1])


@pytest.mark.parametrize("fn", [sg.maximum, sg.minimum])
def test_tie_sends_the_whole_gradient_to_the_first_operand(fn):
    x, y = sg.vector("x", 2), sg.vector("y", 2)
    out = fn(x, y).sum()
    feeds = {x: [1.0, 2.0], y: [1.0, 2.0]}  # every element a tie
    gx, gy = grad_value(out, [x, y], feeds)
    np.testing.assert_array_equal(gx, [1, 1])
    np.testing.assert_array_equal(gy, [0, 0])
    # Forward mode agrees with reverse mode at the tie.
    dx = sg.jvp(fn(x, y), [x, y], [np.ones(2), np.zeros(2)]).eval(feeds)
    dy = sg.jvp(fn(x, y), [x, y], [np.zeros(2), np.ones(2)]).eval(feeds)
    np.testing.assert_array_equal(dx, [1, 1])
    np.testing.assert_array_equal(dy, [0, 0])


def test_maximum_away_from_ties_follows_the_larger_operand():
    x, y = sg.vector("x", 2), sg.vector("y", 2)
    gx, gy = grad_value(sg.maximum(x, y).sum(), [x, y], {x: [3.0, -1.0], y: [0.0, 5.0]})
    np.testing.assert_array_equal(gx, [1, 0])
    np.testing.assert_array_equal(gy, [0, 1])


def test_maximum_tie_under_broadcasting_sums_back_to_the_scalar():
    x, y = sg.vector("x", 3), sg.scalar("y")
    gx, gy = grad_value(sg.maximum(x, y).sum(), [x, y], {x: [0.0, 1.0, -1.0], y: 0.0})
    np.testing.assert_array_equal(gx, [1, 1, 0])  # x wins its tie at 0.0
    assert gy == 1.0                             # y is the max only where x = -1


@pytest.mark.parametrize("fn", [sg.floor, sg.round, sg.sign])
def test_step_functions_have_zero_derivative_not_a_disconnected_error(fn):
    x = sg.vector("x", 4)
    feeds = {x: [-1.5, 0.0, 0.5, 2.0]}  # jumps included: the convention holds everywhere
    gradient = sg.grad(fn(x).sum(), x)  # no GradientError: x is connected
    np.testing.assert_array_equal(gradient.eval(feeds), np.zeros(4))
    np.testing.assert_array_equal(sg.jvp(fn(x), x, np.ones(4)).eval(feeds), np.zeros(4))


def test_floor_next_to_a_smooth_path_adds_nothing():
    x = sg.vector("x", 2)
    np.testing.assert_array_equal(grad_value((sg.floor(x) * x).sum(), x, {x: [1.5, -0.5]}), [1.0, -1.0])


def test_max_reduction_ties_share_the_gradient_equally():
    x = sg.vector("x", 4)
    np.testing.assert_allclose(grad_value(x.max(), x, {x: [1.0, 3.0, 3.0, 3.0]}), [0, 1 / 3, 1 / 3, 1 / 3])


def test_clip_passes_the_gradient_at_its_bounds():
    x = sg.vector("x", 5)
    value = grad_value(sg.clip(x, 0.0, 1.0).sum(), x, {x: [-1.0, 0.0, 0.5, 1.0, 2.0]})
    np.testing.assert_array_equal(value, [0, 1, 1, 1, 0])


# --- stop_gradient, disconnected inputs, zero options ----------------------------------------

def test_stop_gradient_treats_its_value_as_a_constant():
    x = sg.scalar("x")
    np.testing.assert_allclose(grad_value(x * x * sg.stop_gradient(x), x, {x: 3.0}), 2 * 3.0 * 3.0)


def test_stop_gradient_blocks_forward_mode_too():
    x = sg.scalar("x")
    assert sg.jvp(sg.stop_gradient(x) * x, x, 1.0).eval({x: 3.0}) == 3.0


def test_stop_gradient_only_path_is_disconnected():
    x = sg.scalar("x")
    with pytest.raises(sg.GradientError, match="does not depend on placeholder 'x'"):
        sg.grad(sg.stop_gradient(x) * 2.0, x)
    assert grad_value(sg.stop_gradient(x) * 2.0, x, {x: 1.0}, disconnected="zero") == 0.0


def test_disconnected_input_raises_naming_it():
    x, y = sg.vector("x", 3), sg.matrix("unused_weights", 2, 2)
    with pytest.raises(sg.GradientError, match="unused_weights"):
        sg.grad(x.sum(), [x, y])


def test_disconnected_zero_gives_zeros_of_the_input_shape_and_dtype():
    x, y = sg.vector("x", 3, "float32"), sg.matrix("y", 2, 2, "float32")
    gx, gy = sg.grad(x.sum(), [x, y], disconnected="zero")
    values = sg.evaluate([gx, gy], {x: np.ones(3, np.float32), y: np.ones((2, 2), np.float32)})
    np.testing.assert_array_equal(values[1], np.zeros((2, 2)))
    assert values[1].dtype == np.float32 and gy.shape == (2, 2)


def test_disconnected_option_is_validated():
    x = sg.scalar("x")
    with pytest.raises(ValueError, match="disconnected"):
        sg.grad(x * x, x, disconnected="ignore")


def test_integer_index_arrays_are_not_differentiated():
    x, i = sg.vector("x", 4), sg.placeholder("i", (2,), "int64")
    gx = sg.grad((x[i] ** 2).sum(), x)
    np.testing.assert_array_equal(gx.eval({x: [1.0, 2.0, 3.0, 4.0], i: [3, 3]}), [0, 0, 0, 16])


# --- errors naming what is wrong -------------------------------------------------------------

def test_non_scalar_cost_is_rejected_with_its_shape():
    x = sg.vector("x", 3)
    with pytest.raises(sg.GradientError, match=r"scalar.*\(3,\)"):
        sg.grad(x * 2.0, x)


def test_integer_cost_is_rejected():
    i = sg.placeholder("i", (), "int64")
    with pytest.raises(sg.GradientError, match="float"):
        sg.grad(i * 2, i)


def test_gradient_with_respect_to_an_integer_node_is_rejected():
    i = sg.placeholder("counts", (3,), "int64")
    x = sg.vector("x", 3)
    with pytest.raises(sg.GradientError, match=r"counts.*int64.*not differentiable"):
        sg.grad((sg.cast(i, "float64") * x).sum(), i)


def test_gradient_through_a_comparison_cast_to_float_raises_naming_the_comparison():
    x = sg.vector("x", 3)
    mask = sg.cast(x > 0.0, "float64")
    with pytest.raises(sg.GradientError, match="greater"):
        sg.grad((mask * x).sum(), x)
    with pytest.raises(sg.GradientError, match="greater"):
        sg.jvp(mask, x, np.ones(3))


def test_gradient_through_argmax_raises_naming_argmax():
    x = sg.vector("x", 3)
    with pytest.raises(sg.GradientError, match="argmax"):
        sg.grad(sg.cast(sg.argmax(x, 0), "float64"), x)


def test_gradient_through_an_integer_cast_raises():
    x = sg.vector("x", 3)
    with pytest.raises(sg.GradientError, match="int64"):
        sg.grad(sg.cast(sg.cast(x, "int64"), "float64").sum(), x)


def test_a_comparison_behind_stop_gradient_is_fine():
    x = sg.vector("x", 3)
    mask = sg.stop_gradient(sg.cast(x > 0.0, "float64"))
    np.testing.assert_array_equal(grad_value((mask * x).sum(), x, {x: [-1.0, 2.0, 3.0]}), [0, 1, 1])


def test_targets_from_another_graph_are_rejected():
    x = sg.scalar("x")
    with sg.Graph():
        other = sg.scalar("other")
    with pytest.raises(sg.GradientError, match="another graph"):
        sg.grad(x * x, other)


def test_vjp_checks_the_cotangent_shape_and_dtype():
    x = sg.vector("x", 3)
    with pytest.raises(sg.ShapeError, match="cotangent"):
        sg.vjp(x * 2.0, x, np.ones(4))
    with pytest.raises(sg.GradientError, match="2 cotangents"):
        sg.vjp([x * 2.0], x, [np.ones(3), np.ones(3)])


def test_jvp_checks_the_tangent_shape():
    x = sg.vector("x", 3)
    with pytest.raises(sg.ShapeError, match="tangent"):
        sg.jvp(x * 2.0, x, np.ones(2))


# --- casts between float widths ---------------------------------------------------------------

def test_cast_passes_derivatives_between_float_widths():
    x = sg.vector("x", 3, "float32")
    y = sg.sin(sg.cast(x, "float64")).sum()
    gx = sg.grad(y, x)
    assert gx.dtype == np.float32
    point = np.array([0.1, 0.5, -2.0], np.float32)
    np.testing.assert_allclose(gx.eval({x: point}), np.cos(point.astype(np.float64)), rtol=1e-6)
    assert sg.check_grad(y, x, {x: point}).ok
    tangent = sg.jvp(sg.cast(x, "float64"), x, np.ones(3, np.float32))
    assert tangent.dtype == np.float64


# --- the pass: fan-in, intermediates, several routes -------------------------------------------

def test_contributions_from_all_consumers_are_summed_into_one_node():
    x = sg.scalar("x")
    cost = sg.sin(x) + sg.cos(x) + x * x
    gx = sg.grad(cost, x)
    assert gx.op.name == "add"  # the sum of the three contributions, returned as one node
    np.testing.assert_allclose(gx.eval({x: 0.3}), math.cos(0.3) - math.sin(0.3) + 0.6)


def test_gradient_with_respect_to_an_intermediate_node():
    x = sg.scalar("x")
    h = sg.exp(x)
    cost = sg.sin(h)
    gh, gx = sg.grad(cost, [h, x])
    values = sg.evaluate([gh, gx], {x: 0.5})
    np.testing.assert_allclose(values, [math.cos(math.exp(0.5)), math.cos(math.exp(0.5)) * math.exp(0.5)])


def test_reverse_and_forward_mode_agree_on_a_small_network():
    rng = np.random.default_rng(0)
    x = sg.matrix("x", 4, 3)
    w1, w2 = sg.matrix("w1", 3, 5), sg.vector("w2", 5)
    y = sg.placeholder("y", (4,), "int64")
    hidden = sg.tanh(x @ w1)
    logits = sg.stack([hidden @ w2, -(hidden @ w2)], axis=1)
    cost = sg.cross_entropy(logits, y) + 0.01 * (w1 * w1).sum()
    feeds = {x: rng.standard_normal((4, 3)), w1: rng.standard_normal((3, 5)),
             w2: rng.standard_normal(5), y: np.array([0, 1, 1, 0])}
    g1 = sg.grad(cost, w1).eval(feeds)
    # Each entry of the gradient is the directional derivative along a basis matrix.
    for index in [(0, 0), (1, 3), (2, 4)]:
        basis = np.zeros((3, 5))
        basis[index] = 1.0
        directional = sg.jvp(cost, [w1, w2], [basis, np.zeros(5)]).eval(feeds)
        np.testing.assert_allclose(directional, g1[index], rtol=1e-12, atol=1e-14)
    assert sg.check_grad(cost, [w1, w2], feeds).ok


def test_grad_of_grad_gives_second_derivatives():
    x = sg.scalar("x")
    f = x ** 4 + sg.exp(2.0 * x)
    d1 = sg.grad(f, x)
    d2 = sg.grad(d1, x)
    d3 = sg.grad(d2, x)
    values = sg.evaluate([d1, d2, d3], {x: 0.7})
    e = math.exp(1.4)
    np.testing.assert_allclose(values, [4 * 0.7 ** 3 + 2 * e, 12 * 0.7 ** 2 + 4 * e, 24 * 0.7 + 8 * e])
    assert x.graph.origin(d2).order == 2 and x.graph.origin(d3).order == 3


# --- deep graphs and linear growth ---------------------------------------------------------------

def _chain(x, steps):
    """y <- y + 0.001 sin(y), three scalar ops per step."""
    y = x
    for _ in range(steps):
        y = y + 0.001 * sg.sin(y)
    return y


def test_chain_of_200k_ops_with_the_default_recursion_limit():
    limit = sys.getrecursionlimit()
    ops = 200_000
    with sg.Graph() as graph:
        x = sg.scalar("x")
        y = _chain(x, ops // 3)
        assert len(graph) >= ops
        gx = sg.grad(y, x)
        value, slope = sg.evaluate([y, gx], {x: 1.0})
    assert sys.getrecursionlimit() == limit
    # The same recurrence in plain Python, with its derivative carried along.
    v, d = 1.0, 1.0
    for _ in range(ops // 3):
        d *= 1.0 + 0.001 * math.cos(v)
        v = v + 0.001 * math.sin(v)
    assert value == pytest.approx(v, rel=1e-12)
    assert slope == pytest.approx(d, rel=1e-9)
    assert slope != 0.0


def _nodes_added_by_grad(steps, order=1):
    with sg.Graph() as graph:
        x = sg.scalar("x")
        y = _chain(x, steps)
        before = len(graph)
        derivative = y
        for _ in range(order):
            derivative = sg.grad(derivative, x)
        return len(graph) - before, before


@pytest.mark.parametrize("order", [1, 2])
def test_gradient_of_an_n_node_chain_adds_order_n_nodes(order):
    small, n_small = _nodes_added_by_grad(1000, order)
    large, n_large = _nodes_added_by_grad(2000, order)
    assert large / small == pytest.approx(n_large / n_small, rel=0.02)
    assert large / n_large < 4 * order


# --- concatenation along a run-time axis ----------------------------------------------------------

def test_concatenate_along_a_run_time_axis_is_differentiable():
    x, z, w = sg.placeholder("x", (None, 3)), sg.matrix("z", 2, 3), sg.placeholder("w", (None, 3))
    rng = np.random.default_rng(1)
    feeds = {x: rng.standard_normal((4, 3)), z: rng.standard_normal((2, 3)), w: rng.standard_normal((1, 3))}
    joined = sg.concatenate([x, z, w, x], axis=0)
    cost = (sg.sin(joined) * sg.constant(np.arange(1.0, 4.0))).sum()
    grads = sg.grad(cost, [x, z, w])
    assert [g.shape for g in grads] == [(None, 3), (2, 3), (None, 3)]
    assert sg.check_grad(cost, [x, z, w], feeds).ok
    for target in (x, z, w):
        assert sg.check_grad(sg.grad(cost, target), [x, z, w], feeds).ok
    tangent = sg.jvp(joined, [x, z, w], [np.ones((4, 3)), 2 * np.ones((2, 3)), 3 * np.ones((1, 3))])
    np.testing.assert_array_equal(tangent.eval(feeds)[:, 0], [1, 1, 1, 1, 2, 2, 3, 1, 1, 1, 1])


def _nodes_added_by_runtime_concat_grad(n):
    with sg.Graph() as graph:
        xs = [sg.placeholder(f"x{k}", (None,)) for k in range(n)]
        cost = sg.square(sg.concatenate(xs)).sum()
        before = len(graph)
        sg.grad(cost, xs)
        return len(graph) - before


def test_gradient_of_a_run_time_concatenate_adds_order_n_nodes():
    small, large = _nodes_added_by_runtime_concat_grad(100), _nodes_added_by_runtime_concat_grad(200)
    assert large / small == pytest.approx(2.0, rel=0.05)


def test_second_derivative_of_piecewise_linear_ops_is_zero_not_disconnected():
    # where's condition is a zero-derivative argument (the result is piecewise constant in it),
    # so the second derivative of relu / maximum / clip is zeros, like floor's first derivative.
    x = sg.vector("x", 3)
    point = {x: [1.5, -0.5, 2.0]}
    for f in (sg.relu(x), sg.maximum(x, 0.3), sg.clip(x, -1.0, 1.0), sg.abs(x)):
        first = sg.grad(f.sum(), x)
        np.testing.assert_array_equal(sg.grad(first.sum(), x).eval(point), np.zeros(3))
        np.testing.assert_array_equal(sg.jvp(first, x, np.ones(3)).eval(point), np.zeros(3))


def test_stop_gradient_before_a_comparison_or_an_integer_makes_a_constant_mask():
    """The error for a comparison in the way says to wrap it in stop_gradient: doing so works."""
    x = sg.vector("x", 3)
    x0 = np.array([1.0, -1.0, 2.0])
    mask = (x0 > 0).astype(float)
    for held in (sg.cast(sg.stop_gradient(x) > 0.0, "float64"), sg.cast(sg.stop_gradient(x > 0.0), "float64")):
        g = sg.grad(sg.sum(held * x * x), x)
        np.testing.assert_array_equal(g.eval({x: x0}), 2 * mask * x0)
    count = sg.cast(sg.stop_gradient(sg.argmax(x, 0)), "float64")
    np.testing.assert_array_equal(sg.grad(sg.sum(count * x), x).eval({x: x0}), np.full(3, 2.0))
    with pytest.raises(sg.GradientError, match="greater"):  # without it, still the clear error
        sg.grad(sg.sum(sg.cast(x > 0.0, "float64") * x), x)


@pytest.mark.parametrize("build, point", [
    (lambda x: sg.sin(-77.0 * x ** 3), [-1.0, 1.5, -2.0]),       # cos(616) x 924: the plain difference is off by 6e-3
    (lambda x: sg.sin(sg.sin(x / sg.sin(x))), [-31.0, -173.25, -92.0]),  # near a pole of 1/sin: off by 11%
])
def test_check_grad_refines_its_differences_on_fast_oscillations(build, point):
    """check_grad accepts a correct gradient where the plain central difference is too coarse (a
    property run met both), and still rejects a wrong one there."""
    x = sg.vector("x", 3)
    cost = sg.sum(build(x))
    assert sg.check_grad(cost, x, {x: point}).ok
    wrong = sg.Op("wrong_gradient_scale", lambda a: a, lambda a: (a.shape, a.dtype),
                  vjp=(lambda out_bar, out, a: out_bar * 1.0001,), jvp=(lambda a_dot, out, a: a_dot,))
    assert not sg.check_grad(sg.sum(build(wrong(x))), x, {x: point}, raise_on_failure=False).ok
