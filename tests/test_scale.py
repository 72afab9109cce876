"""Deep and wide graphs: long chains and a 100,000-way fan-out build, differentiate,
evaluate and compile with Python's default recursion limit, in linear memory.

CI sizes keep each test to a few seconds. The million-op chain is the same
test at another size::

    SYMGRAD_SCALE_CHAIN=1000000 python -m pytest tests/test_scale.py -k long_chain

Oracles are plain Python loops over the same recurrences.
"""

from __future__ import annotations

import math
import os
import sys
import tracemalloc

import numpy as np

import symgrad as sg

CHAIN = int(os.environ.get("SYMGRAD_SCALE_CHAIN", "20000"))
FAN_OUT = 100_000


def tanh_chain(n: int, shape=()):
    """y = tanh(tanh(... tanh(x))), n times, in a fresh graph; x a scalar unless ``shape`` says."""
    graph = sg.Graph()
    with graph:
        x = sg.placeholder("x", shape)
        y = x
        for _ in range(n):
            y = sg.tanh(y)
    return graph, x, y


def tanh_chain_oracle(n: int, x0: float) -> tuple[float, float, float]:
    """Value, first and second derivative of the n-fold tanh, by forward recurrence."""
    value, first, second = x0, 1.0, 0.0
    for _ in range(n):
        t = math.tanh(value)
        slope = 1 - t * t
        value, first, second = t, slope * first, -2 * t * slope * first * first + slope * second
    return value, first, second


def test_long_chain_builds_differentiates_evaluates_and_compiles():
    limit = sys.getrecursionlimit()
    assert CHAIN > 10 * limit, "the chain must be far deeper than the recursion limit"
    graph, x, y = tanh_chain(CHAIN)
    gx = sg.grad(y, x)
    value, slope, _ = tanh_chain_oracle(CHAIN, 0.5)
    interpreted = sg.evaluate([y, gx], {x: 0.5})
    compiled = sg.function([x], [y, gx])(0.5)
    for got in (interpreted, compiled):
        np.testing.assert_allclose([float(got[0]), float(got[1])], [value, slope], rtol=1e-9)
    assert len(graph) < 6 * CHAIN, f"{len(graph)} nodes for a chain of {CHAIN}: the gradient should add O(n)"
    assert sys.getrecursionlimit() == limit


def test_second_derivative_of_a_long_chain():
    n = min(CHAIN, 5000)
    _, x, y = tanh_chain(n)
    hv = sg.hvp(y, x, 1.0)
    value, slope, second = tanh_chain_oracle(n, 0.5)
    got = sg.function([x], [y, sg.grad(y, x), hv])(0.5)
    np.testing.assert_allclose([float(v) for v in got], [value, slope, second], rtol=1e-8)


def test_fan_out_of_100000_consumers_summed():
    with sg.Graph() as graph:
        x = sg.vector("x", 3)
        shared = sg.sin(x)                    # consumed by 100,000 nodes
        total = None
        for k in range(FAN_OUT):
            term = shared * (1.0 + k / FAN_OUT)
            total = term if total is None else total + term
        y = total.sum()
        gx = sg.grad(y, x)
    consumers = [n for n in graph if shared in n.inputs and graph.origin(n) is None]
    assert len(consumers) == FAN_OUT
    point = np.array([0.1, -0.7, 2.0])
    weight = sum(1.0 + k / FAN_OUT for k in range(FAN_OUT))
    expected = [weight * np.sin(point).sum(), weight * np.cos(point)]
    for value, grad in (sg.evaluate([y, gx], {x: point}), sg.function([x], [y, gx])(point)):
        np.testing.assert_allclose(value, expected[0], rtol=1e-9)
        np.testing.assert_allclose(grad, expected[1], rtol=1e-9)


def _peak_bytes(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_building_and_differentiating_take_linear_memory():
    def build_and_differentiate(n):
        def work():
            _, x, y = tanh_chain(n)
            sg.grad(y, x)
        return work
    small, large = (_peak_bytes(build_and_differentiate(n)) for n in (2000, 8000))
    ratio = large / small
    assert 3.0 < ratio < 5.5, f"4x the chain took {ratio:.2f}x the memory; linear is 4x"


def test_evaluation_releases_intermediates():
    """A chain of large arrays needs memory for its live values, not for every node."""
    def evaluate_chain(n):
        _, x, y = tanh_chain(n, (100_000,))
        feeds = {x: np.linspace(-1, 1, 100_000)}
        return lambda: sg.evaluate(y, feeds)
    short, long = (_peak_bytes(evaluate_chain(n)) for n in (20, 200))
    assert long < 1.5 * short, f"10x the chain took {long / short:.2f}x the memory"


def test_forward_derivative_of_a_wide_concatenate_is_one_concatenate():
    # One concatenate of the n tangents (zeros where a piece is constant), not n concatenates summed.
    n = 600
    with sg.Graph() as graph:
        x = sg.vector("x", n)
        pieces = [sg.expand_dims(x[i] * x[i], 0) if i % 3 else sg.constant([float(i)]) for i in range(n)]
        y = sg.concatenate(pieces)
        before = len(graph)
        tangent = sg.jvp(y, [x], [sg.constant(np.ones(n))])
        added = len(graph) - before
        assert added < 5 * n
        assert sum(node.op.name == "concatenate" for node in graph.nodes[before:]) == 1
        values = np.linspace(-1.0, 1.0, n)
        expected = np.where(np.arange(n) % 3 != 0, 2 * values, 0.0)
        np.testing.assert_allclose(tangent.eval({x: values}), expected, rtol=1e-15)
