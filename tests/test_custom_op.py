"""Custom ops, written the way a user would: forward, shape/dtype rule, reverse and forward rules.

Each op's derivatives are checked against finite differences, to second order,
and against the VJP/JVP identity; broken rules must fail loudly with RuleError.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg

# --- what a user writes --------------------------------------------------------------------------


def same_shape_and_dtype(x):
    """Shape/dtype rule of an elementwise op on floats: reject anything else at build time."""
    if x.dtype.kind != "f":
        raise sg.DTypeError(f"cube: {x.describe()} must be a float array")
    return x.shape, x.dtype


# cube(x) = x**3; d cube / dx = 3 x**2. Rules build nodes with symgrad functions,
# so the derivative is itself differentiable (second derivative 6x for free).
CUBE = sg.Op(
    "cube",
    forward=lambda x: x * x * x,
    infer=same_shape_and_dtype,
    vjp=(lambda out_bar, out, x: out_bar * (3.0 * sg.square(x)),),   # cotangent of out -> cotangent of x
    jvp=(lambda x_dot, out, x: x_dot * (3.0 * sg.square(x)),),   # tangent of x -> tangent of out
)


def cube(x):
    return CUBE(x)


def _hypot_infer(x, y):
    # Reuse NumPy's broadcasting on the static shapes; the pass un-broadcasts cotangents.
    if x.dtype != y.dtype or x.dtype.kind != "f":
        raise sg.DTypeError(f"hypot: {x.describe()} and {y.describe()} must be floats of one dtype")
    return np.broadcast_shapes(x.shape, y.shape), x.dtype


# hypot(x, y) = sqrt(x^2 + y^2): two inputs, one rule each; the rules reuse the output node.
HYPOT = sg.Op(
    "hypot",
    forward=np.hypot,
    infer=_hypot_infer,
    vjp=(lambda out_bar, out, x, y: out_bar * x / out, lambda out_bar, out, x, y: out_bar * y / out),
    jvp=(lambda x_dot, out, x, y: x_dot * x / out, lambda x_dot, out, x, y: x_dot * y / out),
)


# A parameterised op: softsign with a slope, read back in the rules from out.params.
def _scaled_softsign_rule(d, out, x):
    a = out.params.slope
    return d * (a / sg.square(1.0 + sg.abs(a * x)))


SCALED_SOFTSIGN = sg.Op(
    "scaled_softsign",
    forward=lambda x, slope: slope * x / (1 + np.abs(slope * x)),
    infer=lambda x, slope: (x.shape, x.dtype),
    vjp=(_scaled_softsign_rule,),
    jvp=(_scaled_softsign_rule,),
)


# --- the ops work like built-in ones ----------------------------------------------------------------

POINT = np.array([[0.5, -1.2, 2.0], [-0.3, 0.8, 1.5]])


def test_cube_value_gradient_and_second_derivative():
    x = sg.matrix("x", 2, 3)
    y = cube(x)
    np.testing.assert_allclose(y.eval({x: POINT}), POINT ** 3)
    cost = (sg.sin(y)).sum()
    gx = sg.grad(cost, x)
    np.testing.assert_allclose(gx.eval({x: POINT}), np.cos(POINT ** 3) * 3 * POINT ** 2)
    assert sg.check_grad(cost, x, {x: POINT}).ok
    assert sg.check_grad(gx, x, {x: POINT}).ok               # second derivative
    assert sg.check_grad(sg.grad(gx.sum(), x), x, {x: POINT}).ok  # third


def test_cube_forward_mode_agrees_with_reverse_mode():
    x = sg.matrix("x", 2, 3)
    y = cube(x)
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    j_v, jt_u = sg.evaluate([sg.jvp(y, x, v), sg.vjp(y, x, u)], {x: POINT})
    np.testing.assert_allclose(np.sum(u * j_v), np.sum(jt_u * v), rtol=1e-12)
    np.testing.assert_allclose(j_v, 3 * POINT ** 2 * v)


def test_cube_keeps_float32_and_rejects_integers():
    x32 = sg.vector("x32", 2, "float32")
    g = sg.grad(cube(x32).sum(), x32)
    assert g.dtype == np.float32
    assert g.eval({x32: np.array([1.0, 2.0], np.float32)}).dtype == np.float32
    with pytest.raises(sg.DTypeError, match="cube"):
        cube(sg.placeholder("i", (2,), "int64"))


def test_two_input_op_with_broadcasting():
    x, y = sg.matrix("x", 2, 3), sg.vector("y", 3)
    out = HYPOT(x, y)
    assert out.shape == (2, 3)
    yv = np.array([1.0, -2.0, 0.5])
    feeds = {x: POINT, y: yv}
    np.testing.assert_allclose(out.eval(feeds), np.hypot(POINT, yv))
    gx, gy = sg.grad(out.sum(), [x, y])
    assert gy.shape == (3,)  # summed back over the broadcast axis by the pass
    np.testing.assert_allclose(gy.eval(feeds), (yv / np.hypot(POINT, yv)).sum(axis=0))
    cost = (out * out * sg.constant(np.arange(6.0).reshape(2, 3))).sum()
    assert sg.check_grad(cost, [x, y], feeds).ok
    for target in (x, y):
        assert sg.check_grad(sg.grad(cost, target), [x, y], feeds).ok
    with pytest.raises(ValueError):
        HYPOT(x, sg.vector("z", 4))


def test_parameterised_op():
    x = sg.vector("x", 3)
    y = SCALED_SOFTSIGN(x, slope=2.0)
    assert y.params.slope == 2.0
    assert SCALED_SOFTSIGN(x, slope=2.0) is y and SCALED_SOFTSIGN(x, slope=3.0) is not y
    xv = np.array([0.4, -1.0, 2.5])
    np.testing.assert_allclose(y.eval({x: xv}), 2 * xv / (1 + np.abs(2 * xv)))
    cost = sg.sin(y).sum()
    assert sg.check_grad(cost, x, {x: xv}).ok
    assert sg.check_grad(sg.grad(cost, x), x, {x: xv}).ok


def test_custom_op_appears_in_listings_and_networkx():
    with sg.Graph() as graph:
        x = sg.scalar("x")
        y = cube(x)
        sg.grad(y, x)
    assert "cube" in sg.listing(graph)
    assert graph.to_networkx().nodes[y.id]["op"] == "cube"


# --- rules that break the contract fail loudly ----------------------------------------------------

def test_a_rule_returning_an_array_raises_rule_error():
    bad = sg.Op("test_bad_array_rule", lambda x: x * 2.0, lambda x: (x.shape, x.dtype),
                vjp=(lambda out_bar, out, x: np.full(x.shape, 2.0),),
                jvp=(lambda x_dot, out, x: np.full(x.shape, 2.0),))
    x = sg.vector("x", 2)
    with pytest.raises(sg.RuleError, match=r"test_bad_array_rule.*ndarray.*not a node"):
        sg.grad(bad(x).sum(), x)
    with pytest.raises(sg.RuleError, match="test_bad_array_rule"):
        sg.jvp(bad(x), x, np.ones(2))


def test_a_rule_returning_the_wrong_dtype_raises_rule_error():
    bad = sg.Op("test_bad_dtype_rule", lambda x: x * 2.0, lambda x: (x.shape, x.dtype),
                vjp=(lambda out_bar, out, x: sg.cast(out_bar * 2.0, "float32"),))
    x = sg.vector("x", 2)
    with pytest.raises(sg.RuleError, match="float64"):
        sg.grad(bad(x).sum(), x)


def test_a_rule_returning_the_wrong_shape_raises_rule_error():
    bad = sg.Op("test_bad_shape_rule", lambda x: x * 2.0, lambda x: (x.shape, x.dtype),
                vjp=(lambda out_bar, out, x: sg.concatenate([out_bar, out_bar]),))
    x = sg.vector("x", 2)
    with pytest.raises(sg.RuleError, match="test_bad_shape_rule"):
        sg.grad(bad(x).sum(), x)


def test_a_rule_per_input_is_required():
    two_rules = sg.Op("test_two_rules", np.add, lambda x, y: (x.shape, x.dtype),
                      vjp=(lambda out_bar, out, x, y: out_bar, lambda out_bar, out, x, y: out_bar))
    with pytest.raises(sg.RuleError, match="test_two_rules"):
        two_rules(sg.vector("x", 2))


def test_an_op_without_rules_raises_naming_it_when_a_derivative_must_flow():
    plain = sg.Op("test_no_rules", lambda x: x + 1.0, lambda x: (x.shape, x.dtype))
    x = sg.vector("x", 2)
    y = plain(x)
    np.testing.assert_array_equal(y.eval({x: [1.0, 2.0]}), [2.0, 3.0])  # evaluation needs no rules
    with pytest.raises(sg.GradientError, match="test_no_rules"):
        sg.grad(y.sum(), x)


def test_the_no_derivative_markers():
    x = sg.vector("x", 2)
    undefined = sg.Op("test_undefined", np.floor, lambda x: (x.shape, x.dtype),
                      vjp=(lambda out_bar, out, x: sg.UNDEFINED,), jvp=(lambda x_dot, out, x: sg.UNDEFINED,))
    with pytest.raises(sg.GradientError, match="test_undefined.*undefined"):
        sg.grad(undefined(x).sum(), x)
    zero = sg.Op("test_zero", np.floor, lambda x: (x.shape, x.dtype),
                 vjp=(lambda out_bar, out, x: sg.ZERO,), jvp=(lambda x_dot, out, x: sg.ZERO,))
    np.testing.assert_array_equal(sg.grad(zero(x).sum(), x).eval({x: [0.5, 1.5]}), [0, 0])
    disconnected = sg.Op("test_disconnected", np.floor, lambda x: (x.shape, x.dtype),
                         vjp=(lambda out_bar, out, x: sg.DISCONNECTED,),
                         jvp=(lambda x_dot, out, x: sg.DISCONNECTED,))
    with pytest.raises(sg.GradientError, match="does not depend on placeholder 'x'"):
        sg.grad(disconnected(x).sum(), x)
