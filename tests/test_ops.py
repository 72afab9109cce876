"""The op table: every op checked against independent oracles.

Each case of ``helpers.CASES`` is a symbolic expression, the same computation
in plain NumPy and inputs in a smooth domain. Every case is checked five ways:

- value: symgrad's result equals the NumPy one;
- gradient: reverse mode agrees with central finite differences;
- second derivative: the gradient of ``sum(u * out**2)`` (a graph itself)
  agrees with finite differences, so every reverse rule is differentiated
  again, linear ops included;
- VJP/JVP: ``<u, J v> == <J^T u, v>`` to first and second order, and the
  forward-mode ``J v`` agrees with a central difference along ``v``;
- float32: float32 inputs give float32 values and gradients that agree with
  the float64 ones.
"""

import numpy as np
import pytest

import symgrad as sg
from helpers import CASES, IDS, instantiate, projection, squared_cost


@pytest.fixture(params=CASES, ids=IDS)
def op_case(request):
    return request.param


def test_value_matches_numpy(op_case):
    out, _, feeds = instantiate(op_case)
    value = sg.evaluate(out, feeds)
    expected = op_case.ref(*op_case.args)
    assert out.dtype == np.float64
    assert value.shape == np.shape(expected) == out.shape
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)


def test_gradient_matches_finite_differences(op_case):
    out, targets, feeds = instantiate(op_case)
    result = sg.check_grad(out, targets, feeds)
    assert result.ok, str(result)


def test_second_derivative_matches_finite_differences(op_case):
    out, targets, feeds = instantiate(op_case)
    cost = squared_cost(out)
    for target in targets:
        first = sg.grad(cost, target)
        assert first.shape == target.shape and first.dtype == target.dtype
        result = sg.check_grad(first, targets, feeds)
        assert result.ok, f"d/d{target.name}: {result}"


def _vjp_jvp_gap(out, targets, feeds, seed):
    """<u, J v> and <J^T u, v>, plus J v and its central-difference estimate."""
    rng = np.random.default_rng(seed)
    tangents = [rng.standard_normal(t.shape) for t in targets]
    u = projection(out, seed + 1)
    j_v = sg.jvp(out, targets, tangents)
    jt_u = sg.vjp(out, targets, u, disconnected="zero")
    values = sg.evaluate([j_v] + jt_u, feeds)
    left = float(np.sum(u * values[0]))
    right = sum(float(np.sum(a * v)) for a, v in zip(values[1:], tangents))

    h = 1e-6
    moved = [dict(feeds), dict(feeds)]
    for t, v in zip(targets, tangents):
        moved[0][t] = feeds[t] + h * v
        moved[1][t] = feeds[t] - h * v
    numeric = (sg.evaluate(out, moved[0]) - sg.evaluate(out, moved[1])) / (2 * h)
    return left, right, values[0], numeric


def test_vjp_jvp_consistency_and_jvp_finite_differences(op_case):
    out, targets, feeds = instantiate(op_case)
    left, right, j_v, numeric = _vjp_jvp_gap(out, targets, feeds, seed=3)
    np.testing.assert_allclose(left, right, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(j_v, numeric, rtol=1e-5, atol=1e-6)

    # Second order: the same identity on a gradient, which is itself a graph.
    first = sg.grad(squared_cost(out), targets[0])
    left, right, j_v, numeric = _vjp_jvp_gap(first, targets, feeds, seed=5)
    np.testing.assert_allclose(left, right, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(j_v, numeric, rtol=1e-5, atol=1e-5)


def test_float32_stays_float32(op_case):
    with sg.Graph():
        out64, targets64, feeds64 = instantiate(op_case, np.float64)
        grads64 = sg.evaluate(sg.grad(squared_cost(out64), targets64), feeds64)
    with sg.Graph():
        out, targets, feeds = instantiate(op_case, np.float32)
        assert out.dtype == np.float32
        grads = sg.grad(squared_cost(out), targets)
        assert all(g.dtype == np.float32 for g in grads)
        values = sg.evaluate([out] + grads, feeds)
    assert all(v.dtype == np.float32 for v in values)
    expected = op_case.ref(*[a.astype(np.float32).astype(np.float64) if a.dtype.kind == "f" else a
                             for a in op_case.args])
    np.testing.assert_allclose(values[0], expected, rtol=1e-5, atol=1e-5)
    for g32, g64 in zip(values[1:], grads64):
        scale = max(1.0, float(np.max(np.abs(g64))))
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4 * scale)


def test_the_table_covers_every_op():
    """Each op the design lists (and the extras) appears in at least one case.

    cast is checked in test_autodiff.py: a cast changes the dtype, which this
    table's float32 check would misread.
    """
    listed = ("add sub mul div neg pow exp log log1p expm1 sqrt square sin cos tan tanh sigmoid "
              "softplus relu leaky_relu prelu abs sign floor maximum minimum where clip matmul dot "
              "transpose reshape broadcast_to sum mean max min logsumexp softmax log_softmax "
              "cross_entropy mse concatenate stack getitem round expand_dims one_hot "
              "sigmoid_cross_entropy argmax sum_squares").split()
    missing = [op for op in listed
               if not any(c.id == op or c.id.startswith((op + "[", op + "_")) for c in CASES)]
    assert not missing, missing
