"""Dense Jacobians and Hessians of single ops and nets.

Every Jacobian is computed both ways (forward sweeps and reverse sweeps) and
checked against central finite differences of the forward function; every
Hessian against finite differences of the gradient and against the other
method.
"""

import math

import numpy as np
import pytest

import symgrad as sg
from finite_differences import fd_jacobian

RNG = np.random.default_rng(99)
A = RNG.normal(size=(4, 3))

# Each builder maps a float vector x of 4 elements, fed with the given value, to an output.
POSITIVE = np.array([0.7, 1.3, 0.4, 2.1])
MIXED = np.array([0.3, -1.2, 0.8, -0.45])
OPS = {
    "exp": (sg.exp, MIXED), "log": (sg.log, POSITIVE), "log1p": (sg.log1p, POSITIVE),
    "expm1": (sg.expm1, MIXED), "sqrt": (sg.sqrt, POSITIVE), "square": (sg.square, MIXED),
    "sin": (sg.sin, MIXED), "cos": (sg.cos, MIXED), "tan": (sg.tan, MIXED), "tanh": (sg.tanh, MIXED),
    "sigmoid": (sg.sigmoid, MIXED), "softplus": (sg.softplus, MIXED), "neg": (sg.neg, MIXED),
    "relu": (sg.relu, MIXED), "abs": (sg.abs, MIXED), "leaky_relu": (sg.leaky_relu, MIXED),
    "pow": (lambda x: x ** 3, MIXED), "pow-xy": (lambda x: x ** x[::-1], POSITIVE),
    "div": (lambda x: x[:2] / x[2:], MIXED), "mul-broadcast": (lambda x: sg.reshape(x, (4, 1)) * x, MIXED),
    "sub": (lambda x: x - x[::-1], MIXED), "maximum": (lambda x: sg.maximum(x, x[::-1] * 0.5), MIXED),
    "minimum": (lambda x: sg.minimum(x, 0.1), MIXED), "clip": (lambda x: sg.clip(x, -0.5, 0.5), MIXED),
    "where": (lambda x: sg.where(x > 0, sg.exp(x), x * x), MIXED),
    "matmul": (lambda x: x @ A, MIXED),
    "matmul-outer": (lambda x: sg.reshape(x, (2, 2)) @ sg.reshape(x, (2, 2)), MIXED),
    "dot": (lambda x: sg.dot(x, x[::-1]), MIXED),
    "sum-axis": (lambda x: sg.sum(sg.reshape(x, (2, 2)) ** 2, axis=0), MIXED),
    "mean": (lambda x: sg.mean(sg.sin(x)), MIXED),
    "max": (lambda x: sg.max(sg.reshape(x, (2, 2)), axis=1), MIXED),
    "min": (lambda x: sg.min(x * x), MIXED),
    "logsumexp": (lambda x: sg.logsumexp(sg.reshape(x, (2, 2)), axis=1), MIXED),
    "softmax": (sg.softmax, MIXED), "log_softmax": (sg.log_softmax, MIXED),
    "transpose": (lambda x: sg.transpose(sg.reshape(x * x, (2, 2))), MIXED),
    "getitem": (lambda x: x[np.array([3, 0, 0])] * x[1:3].sum(), MIXED),
    "concatenate": (lambda x: sg.concatenate([x, sg.sin(x[:2])]), MIXED),
    "stack": (lambda x: sg.stack([x, x * x], axis=1), MIXED),
    "broadcast_to": (lambda x: sg.broadcast_to(x, (3, 4)) * np.arange(3.0)[:, None], MIXED),
    "expand_dims": (lambda x: sg.expand_dims(x, 0) * sg.expand_dims(x, 1), MIXED),
    "mse": (lambda x: sg.mse(sg.tanh(x), np.ones(4)), MIXED),
    "sigmoid_cross_entropy": (lambda x: sg.sigmoid_cross_entropy(x, np.array([1.0, 0.0, 1.0, 1.0])), MIXED),
    "cross_entropy": (lambda x: sg.cross_entropy(sg.reshape(x, (2, 2)), np.array([1, 0])), MIXED),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_jacobian_forward_equals_reverse_equals_finite_differences(name):
    build, value = OPS[name]
    x = sg.vector("x", 4)
    y = build(x)
    forward = sg.jacobian(y, x, mode="forward").eval({x: value})
    reverse = sg.jacobian(y, x, mode="reverse").eval({x: value})
    assert forward.shape == y.shape + x.shape
    np.testing.assert_allclose(forward, reverse, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(forward, fd_jacobian(y, x, value), rtol=1e-6, atol=1e-8)


SMOOTH_SCALARS = ["exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "softplus",
                  "pow", "pow-xy", "div", "mul-broadcast", "matmul-outer", "dot", "logsumexp", "softmax",
                  "log_softmax", "getitem", "concatenate", "mse", "sigmoid_cross_entropy", "cross_entropy"]


@pytest.mark.parametrize("name", SMOOTH_SCALARS)
def test_hessian_of_each_op_matches_finite_differences_and_both_methods(name):
    build, value = OPS[name]
    x = sg.vector("x", 4)
    y = build(x)
    weights = np.arange(1.0, 1.0 + math.prod(y.shape)).reshape(y.shape)  # a scalar cost that mixes all of y
    cost = sg.sin(y) if y.ndim == 0 else sg.sum(sg.sin(y) * weights)
    forward = sg.hessian(cost, x, method="forward-over-reverse").eval({x: value})
    reverse = sg.hessian(cost, x, method="reverse-over-reverse").eval({x: value})
    np.testing.assert_allclose(forward, reverse, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(forward, forward.T, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(forward, fd_jacobian(sg.grad(cost, x), x, value, eps=1e-5), rtol=1e-5,
                               atol=1e-7)


def test_jacobian_of_a_matrix_output_wrt_a_matrix_has_shape_y_plus_x():
    W = sg.matrix("W", 3, 2)
    X = RNG.normal(size=(5, 3))
    y = sg.softmax(sg.tanh(X @ W))
    wv = RNG.normal(size=(3, 2))
    J = sg.jacobian(y, W).eval({W: wv})
    assert J.shape == (5, 2, 3, 2)
    np.testing.assert_allclose(J, fd_jacobian(y, W, wv), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(J, sg.jacobian(y, W, mode="reverse").eval({W: wv}), rtol=1e-12, atol=1e-15)


def test_hessian_of_a_logistic_regression_is_the_textbook_formula():
    # H = Xᵀ diag(p(1-p)) X / m + 2λ I for the mean logistic loss with L2.
    X = RNG.normal(size=(40, 5))
    y = (RNG.random(40) < 0.4).astype(float)
    w = sg.vector("w", 5)
    lam = 0.05
    loss = sg.sigmoid_cross_entropy(X @ w, y) + lam * sg.square(w).sum()
    wv = RNG.normal(size=5)
    p = 1 / (1 + np.exp(-X @ wv))
    expected = X.T @ (X * (p * (1 - p))[:, None]) / 40 + 2 * lam * np.eye(5)
    for method in ("forward-over-reverse", "reverse-over-reverse"):
        np.testing.assert_allclose(sg.hessian(loss, w, method=method).eval({w: wv}), expected, rtol=1e-12)


def test_auto_mode_picks_the_fewer_sweeps():
    x = sg.vector("x", 10)
    wide = sg.stack([x.sum(), sg.square(x).sum()])         # 2 outputs, 10 inputs: 2 reverse sweeps
    tall = sg.concatenate([sg.sin(x), sg.cos(x)]) * 3.0     # 20 outputs, 10 inputs: 10 forward sweeps
    before = len(sg.ancestors([wide]))
    auto = sg.jacobian(wide, x)
    assert len(sg.ancestors([auto])) == len(sg.ancestors([sg.jacobian(wide, x, mode="reverse")]))
    assert len(sg.ancestors([auto])) > before
    assert sg.jacobian(tall, x) is sg.jacobian(tall, x, mode="forward")  # hash-consed: the same node
    xv = RNG.normal(size=10)
    np.testing.assert_allclose(sg.jacobian(tall, x).eval({x: xv}), fd_jacobian(tall, x, xv), rtol=1e-7,
                               atol=1e-9)


def node_count_of_dense(n: int, what: str, vectorized=None) -> int:
    sg.reset_default_graph()
    x = sg.vector("x", n)
    cost = sg.sum(sg.tanh(x * x[::-1]) * sg.softplus(x))
    result = (sg.hessian(cost, x, vectorized=vectorized) if what == "hessian"
              else sg.jacobian(sg.softmax(sg.tanh(x)), x, vectorized=vectorized))
    return len(sg.ancestors([result]))


@pytest.mark.parametrize("what", ["jacobian", "hessian"])
def test_dense_graphs_have_one_size_for_every_n(what):
    assert node_count_of_dense(10, what) == node_count_of_dense(20, what) == node_count_of_dense(200, what)


@pytest.mark.parametrize("what", ["jacobian", "hessian"])
def test_per_element_graphs_grow_linearly_with_the_number_of_sweeps(what):
    n10, n20, n40 = (node_count_of_dense(n, what, vectorized=False) for n in (10, 20, 40))
    # One sweep adds a fixed number of nodes: the increments double with n, no faster.
    per_sweep = (n20 - n10) / 10
    assert per_sweep > 0
    assert abs((n40 - n20) - 20 * per_sweep) <= 0.05 * (n40 - n20)


def test_dense_derivative_errors():
    x = sg.vector("x", None)
    with pytest.raises(sg.ShapeError, match="run-time"):
        sg.jacobian(sg.sin(x), x)
    z = sg.vector("z", 3)
    other = sg.vector("other", 3)
    with pytest.raises(sg.GradientError, match="does not depend"):
        sg.jacobian(sg.sin(other), z)
    np.testing.assert_array_equal(sg.jacobian(sg.sin(other), z, disconnected="zero").eval(), np.zeros((3, 3)))
    with pytest.raises(sg.GradientError, match="does not depend"):
        sg.jacobian(sg.stop_gradient(z) * 2.0, z)
    with pytest.raises(ValueError, match="mode"):
        sg.jacobian(sg.sin(z), z, mode="sideways")
    labels = sg.placeholder("labels", (3,), "int64")
    with pytest.raises(sg.GradientError, match="float"):
        sg.jacobian(labels * 2, z)
    np.testing.assert_array_equal(sg.hessian((z * 3.0).sum(), z).eval({z: np.ones(3)}), np.zeros((3, 3)))
