"""The evaluator: what runs, how often, feeds, and compiled functions."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg


def _same_shape(x):
    return x.shape, x.dtype


def counting_op(name, log):
    """An identity op that appends ``name`` to ``log`` each time its forward runs."""
    def forward(x):
        log.append(name)
        return x.copy()
    identity = (lambda d, out, x: d,)
    return sg.Op(f"test_counting_{name}", forward, _same_shape, vjp=identity, jvp=identity)


def exploding_op():
    def forward(x):
        raise RuntimeError("this forward must never run")
    return sg.Op("test_exploding", forward, _same_shape)


# --- what runs, and how often ------------------------------------------------------------------

def test_nodes_the_outputs_do_not_need_are_not_run():
    x = sg.vector("x", 2)
    bomb = exploding_op()(x)
    y = x * 2.0
    z = bomb + y  # z needs the bomb; y does not
    np.testing.assert_array_equal(sg.evaluate(y, {x: [1.0, 2.0]}), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="never run") as info:
        sg.evaluate(z, {x: [1.0, 2.0]})
    assert any("test_exploding" in note for note in getattr(info.value, "__notes__", []))


def test_placeholders_the_outputs_do_not_need_need_no_feed():
    x, unused = sg.scalar("x"), sg.scalar("unused")
    assert sg.evaluate(x + 1.0, {x: 1.0}) == 2.0
    assert unused.graph is x.graph


def test_each_needed_node_runs_once_per_call():
    log = []
    x = sg.vector("x", 3)
    a = counting_op("a", log)(x)
    b = counting_op("b", log)(a * a + a)  # a has three uses
    outputs = sg.evaluate([b, a, b.inputs[0]], {x: [1.0, 2.0, 3.0]})
    assert sorted(log) == ["a", "b"]
    assert log == ["a", "b"]  # topological order: a before b
    np.testing.assert_array_equal(outputs[0], [2.0, 6.0, 12.0])
    sg.evaluate(b, {x: np.zeros(3)})
    assert log == ["a", "b", "a", "b"]


def test_a_function_runs_each_node_once_per_call():
    log = []
    x = sg.scalar("x")
    a = counting_op("a", log)(x)
    f = sg.function([x], [a * a, sg.grad(a * a, x), a])
    for k in range(3):
        f(float(k))
    assert log == ["a"] * 3


def test_gradient_evaluation_reuses_forward_values_instead_of_recomputing_them():
    log = []
    x = sg.scalar("x")
    a = counting_op("a", log)(x)
    cost = sg.exp(a) * sg.sigmoid(a)
    sg.evaluate([cost, sg.grad(cost, x)], {x: 0.5})
    assert log == ["a"]


# --- outputs and feeds --------------------------------------------------------------------------

def test_feeds_by_node_or_by_name_and_node_eval():
    x, y = sg.scalar("x"), sg.vector("y", 2)
    z = x * y
    expected = [1.5, -3.0]
    np.testing.assert_array_equal(sg.evaluate(z, {x: 1.5, y: [1.0, -2.0]}), expected)
    np.testing.assert_array_equal(sg.evaluate(z, {"x": 1.5, "y": [1.0, -2.0]}), expected)
    np.testing.assert_array_equal(sg.evaluate(z, {x: 1.5, "y": np.array([1.0, -2.0])}), expected)
    np.testing.assert_array_equal(z.eval({"x": 1.5, "y": [1.0, -2.0]}), expected)
    assert sg.constant(3.0).eval() == 3.0


def test_a_list_of_outputs_gives_a_list_of_arrays():
    x = sg.scalar("x")
    values = sg.evaluate([x + 1.0, x * 3.0, x], {x: 2.0})
    assert isinstance(values, list) and [float(v) for v in values] == [3.0, 6.0, 2.0]
    assert all(isinstance(v, np.ndarray) for v in values)
    assert sg.evaluate([], {}) == []


def test_feeds_are_converted_to_the_placeholder_dtype():
    x32 = sg.vector("x32", 2, "float32")
    i = sg.placeholder("i", (2,), "int32")
    value = (x32 * 2.0).eval({x32: np.array([1.0, 2.0])})  # float64 array: width converted
    assert value.dtype == np.float32
    assert (i + 1).eval({i: np.array([1, 2], np.int64)}).dtype == np.int32
    assert (x32 + 1.0).eval({x32: [1, 2]}).dtype == np.float32  # a list of ints is fine


def test_run_time_dimensions_accept_any_size():
    x = sg.placeholder("x", (None, 2))
    for rows in (1, 4, 0):
        assert x.sum(axis=1).eval({x: np.ones((rows, 2))}).shape == (rows,)


def test_feeds_are_not_modified():
    x = sg.vector("x", 2)
    feed = np.array([1.0, 2.0])
    sg.evaluate(sg.grad((x * x).sum(), x), {x: feed})
    np.testing.assert_array_equal(feed, [1.0, 2.0])


# --- feed errors name the placeholder and what is wrong ------------------------------------------

def test_missing_feed():
    x, y = sg.scalar("x"), sg.scalar("weight")
    with pytest.raises(sg.FeedError, match=r"no value fed for placeholder 'weight'"):
        sg.evaluate(x * y, {x: 1.0})


def test_unknown_feed_name():
    x = sg.scalar("x")
    with pytest.raises(sg.FeedError, match=r"unknown placeholder 'xx'.*\['x'\]"):
        sg.evaluate(x * 2.0, {"x": 1.0, "xx": 2.0})


@pytest.mark.parametrize("value", [[1.0, 2.0], np.ones((3, 1)), 1.0])
def test_mis_shaped_feed(value):
    x = sg.vector("x", 3)
    with pytest.raises(sg.FeedError, match=r"placeholder 'x' f64\[3\] has shape"):
        sg.evaluate(x * 2.0, {x: value})


def test_wrong_dtype_kind_feeds():
    x = sg.vector("x", 2)
    i = sg.placeholder("i", (2,), "int64")
    with pytest.raises(sg.FeedError, match=r"'x'.*int64"):
        x.eval({x: np.array([1, 2])})
    with pytest.raises(sg.FeedError, match=r"'i'.*float64"):
        i.eval({i: np.array([1.0, 2.0])})
    with pytest.raises(sg.FeedError, match="'i'"):
        i.eval({i: [1.5, 2.0]})
    with pytest.raises(sg.FeedError, match="'x'"):
        x.eval({x: ["a", "b"]})


def test_only_placeholders_can_be_fed():
    x = sg.scalar("x")
    y = x * 2.0
    with pytest.raises(sg.FeedError, match="only placeholders"):
        sg.evaluate(y, {x: 1.0, y: 3.0})
    with pytest.raises(sg.FeedError, match="symbolic node"):
        sg.evaluate(y, {x: y})
    with pytest.raises(sg.FeedError, match="feed keys"):
        sg.evaluate(y, {1: 1.0})


def test_feeds_and_outputs_from_another_graph_are_rejected():
    x = sg.scalar("x")
    with sg.Graph():
        other = sg.scalar("x")
    with pytest.raises(sg.FeedError, match="another graph"):
        sg.evaluate(x * 2.0, {other: 1.0})
    with pytest.raises(sg.GraphError, match="different graphs"):
        sg.evaluate([x, other], {})


def test_check_finite_names_the_first_non_finite_node():
    x = sg.vector("x", 2)
    y = sg.log(x)
    gx = sg.grad(sg.sqrt(x).sum(), x)
    with np.errstate(divide="ignore"):
        assert np.isneginf(y.eval({x: [0.0, 1.0]})[0])  # off by default
        with pytest.raises(sg.NonFiniteError, match=r"log %\d+ f64\[2\]"):
            sg.evaluate(y * 2.0, {x: [0.0, 1.0]}, check_finite=True)
        with pytest.raises(sg.NonFiniteError, match="derivative"):
            sg.function([x], gx, check_finite=True)(np.array([0.0, 1.0]))


# --- compiled functions ------------------------------------------------------------------------------

def test_function_called_many_times_matches_evaluate():
    rng = np.random.default_rng(7)
    x, w = sg.vector("x", 3), sg.matrix("w", 2, 3)
    cost = sg.logsumexp(sg.tanh(w @ x)) + (w * w).sum()
    outputs = [cost] + sg.grad(cost, [x, w])
    f = sg.function([x, w], outputs)
    for _ in range(5):
        xv, wv = rng.standard_normal(3), rng.standard_normal((2, 3))
        for a, b in zip(f(xv, wv), sg.evaluate(outputs, {x: xv, w: wv})):
            np.testing.assert_array_equal(a, b)


def test_function_single_output_and_inputs_by_name():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function(["y", x], x - y)
    assert f(1.0, 5.0) == 4.0
    assert isinstance(f(1.0, 5.0), np.ndarray)
    assert "2 nodes" not in repr(f) and "(y, x)" in repr(f)


def test_function_with_the_wrong_number_of_values_raises():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function([x, y], [x * y])
    with pytest.raises(sg.FeedError, match=r"takes 2 values.*got 1"):
        f(1.0)
    with pytest.raises(sg.FeedError, match=r"takes 2 values.*got 3"):
        f(1.0, 2.0, 3.0)


def test_function_checks_its_feeds_and_inputs():
    x, y = sg.vector("x", 2), sg.scalar("y")
    with pytest.raises(sg.FeedError, match=r"need placeholder 'y'"):
        sg.function([x], x * y)
    with pytest.raises(sg.FeedError, match="placeholders"):
        sg.function([x * 2.0], x)
    with pytest.raises(sg.FeedError, match="twice"):
        sg.function([x, x, y], x * y)
    f = sg.function([x, y], x * y)
    with pytest.raises(sg.FeedError, match="'x'.*shape"):
        f([1.0, 2.0, 3.0], 1.0)


def test_function_inputs_may_be_unused():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function([x, y], x * 2.0)
    assert f(3.0, 100.0) == 6.0
