"""Faster forms that keep values: where's masked multiply, folding constants at compile time,
the fused sum of squares, the log_softmax primitive and the compiled schedule."""

import re

import numpy as np
import pytest

import symgrad as sg
from symgrad.ops import LOG_SOFTMAX, SUM_SQUARES
from symgrad.ops.select import select


def bits(a):
    a = np.asarray(a)
    return a.view(np.dtype(f"u{a.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_where_with_a_zero_branch_is_np_where_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 9)).astype(dtype)
    x.flat[:8] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -1.0, np.nan, -0.0]
    cond = rng.random((40, 9)) > 0.5
    cond.flat[:8] = [False, False, False, False, True, True, True, True]
    for branches in [(x, dtype(0)), (dtype(0), x), (x, 0.0), (0.0, x), (x, np.asarray(0.0, dtype)),
                     (x, np.asarray(-0.0, dtype)), (x, np.float64(0.0)), (x, x[::-1])]:
        expected = np.where(cond, *branches)
        got = select(cond, *branches)
        assert got.dtype == expected.dtype
        assert np.array_equal(bits(got), bits(expected)), branches
        if expected.dtype == x.dtype:
            into = x.copy()  # in place on the branch itself, as the compiled code does
            got = select(cond, *[into if b is x else b for b in branches], out=into)
            assert got is into and np.array_equal(bits(got), bits(expected)), branches


def test_relu_gradient_is_zero_where_inactive_even_for_an_infinite_cotangent():
    x = sg.vector("x", 4)
    g = sg.vector("g", 4)
    (bar,) = sg.vjp(sg.relu(x), [x], g)
    values = {x: [-1.0, 2.0, 0.0, 3.0], g: [np.inf, np.nan, np.nan, -np.inf]}
    for run in (lambda: sg.evaluate(bar, values), lambda: sg.function([x, g], bar)(*values.values())):
        got = run()
        assert np.array_equal(bits(got), bits(np.array([0.0, np.nan, 0.0, -np.inf])))


def test_constant_subgraphs_are_computed_once_at_compile_time():
    labels = np.array([2, 0, 1])
    z = sg.matrix("z", 3, 3)
    loss = sg.cross_entropy(z, labels)
    f = sg.function([z], [loss, sg.grad(loss, z)])
    assert "one_hot" not in f.source  # made from constant labels: folded
    value = np.random.default_rng(1).normal(size=(3, 3))
    interpreted = sg.evaluate([loss, sg.grad(loss, z)], {z: value})
    for got, expected in zip(f(value), interpreted):
        np.testing.assert_array_equal(got, expected)


def test_a_constant_step_that_warns_is_left_for_the_call():
    x = sg.scalar("x")
    y = x + sg.log(sg.constant(0.0))  # log(0) warns; folding must not swallow that
    f = sg.function([x], y)
    assert "log" in f.source
    with pytest.warns(RuntimeWarning):
        assert f(1.0) == -np.inf


def test_a_folded_output_is_a_fresh_array_in_every_call():
    x = sg.vector("x", 3)
    c = sg.constant(np.arange(3.0))
    f = sg.function([x], [x + 1.0, sg.exp(c)])  # exp(c) is computed once, at compile time
    first = f(np.zeros(3))[1]
    first[0] = 5.0  # writable, like the interpreter's result, and the caller's own
    np.testing.assert_array_equal(f(np.zeros(3))[1], np.exp(np.arange(3.0)))


def test_float64_sum_of_squares_is_one_op_and_float32_is_not():
    w = sg.matrix("w", 30, 20)
    assert sg.square(w).sum().op.name == "sum_squares"
    assert sg.mean(sg.square(w)).inputs[0].op.name == "sum_squares"
    assert sg.square(w).sum(axis=0).op.name == "sum"  # not every axis: unchanged
    w32 = sg.matrix("w32", 3, 2, dtype="float32")
    assert sg.square(w32).sum().op.name == "sum"
    value = np.random.default_rng(2).normal(size=(30, 20))
    total = float(sg.square(w).sum().eval({w: value}))
    assert total == pytest.approx(np.sum(value * value), rel=1e-14)


def test_sum_of_squares_derivatives_match_finite_differences():
    w = sg.vector("w", 5)
    value = np.random.default_rng(3).normal(size=5)
    cost = sg.square(w).sum()
    sg.check_grad(cost, w, {w: value})
    sg.check_grad(sg.square(sg.grad(cost, w)).sum() * cost, w, {w: value})
    tangent = sg.jvp(cost, [w], [sg.constant(np.ones(5))])
    assert float(tangent.eval({w: value})) == pytest.approx(2 * value.sum(), rel=1e-13)


def test_log_softmax_is_one_op_with_stable_derivatives():
    z = sg.matrix("z", 2, 3)
    out = sg.log_softmax(z)
    assert out.op.name == "log_softmax"
    huge = np.array([[1e8, 1e8, 0.0], [-5.0, 0.0, 5.0]], dtype=np.float32)
    z32 = sg.matrix("z32", 2, 3, dtype="float32")
    probabilities = sg.softmax(z32).eval({z32: huge})
    np.testing.assert_allclose(probabilities[0], [0.5, 0.5, 0.0], atol=1e-7)
    weights = sg.constant(np.arange(6.0).reshape(2, 3))
    value = np.random.default_rng(4).normal(size=(2, 3))
    sg.check_grad((out * weights).sum(), z, {z: value})
    sg.check_grad(sg.square(sg.grad((out * weights).sum(), z)).sum(), z, {z: value})


def test_a_cheap_input_is_computed_just_before_its_use():
    # grad of x @ w + decay: the decay term 2λw is computed after the matmul chain, not before it,
    # so its array is fresh in cache when the sum reads it (and not held during the chain).
    x = sg.constant(np.ones((4, 3)))
    w = sg.matrix("w", 3, 2)
    loss = sg.tanh(x @ w).sum() + 0.1 * sg.square(w).sum()
    f = sg.function([w], sg.grad(loss, w))
    lines = f.source.splitlines()
    decay = next(k for k, line in enumerate(lines) if re.search(r"= np\.multiply\(c\d+, w|= c\d+ \* w", line))
    matmul = next(k for k, line in enumerate(lines) if "matmul" in line and "cotangent" in line)
    assert matmul < decay


def test_the_new_ops_check_their_inputs_when_built_or_loaded():
    x = sg.matrix("x", 2, 3)
    for axis in [7, "abc", (1, 1), None, (7,)]:
        with pytest.raises(sg.ShapeError, match="log_softmax"):
            x.graph.apply(LOG_SOFTMAX, (x,), {"axis": axis})
    with pytest.raises(sg.ShapeError, match="empty axis"):
        sg.log_softmax(sg.placeholder("e", (3, 0)))
    with pytest.raises(sg.DTypeError, match="sum_squares"):
        x.graph.apply(SUM_SQUARES, (sg.placeholder("n", (3,), dtype="int64"),))
