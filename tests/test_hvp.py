"""Hessian-vector products, jvp and vjp, checked against independent oracles.

Oracles: central finite differences of the (symbolic) gradient, closed-form
Hessians written out by hand, the dense ``sg.hessian``, and the other HVP
method. Both methods must agree with all of them.
"""

import numpy as np
import pytest

import symgrad as sg
from finite_differences import along

METHODS = ["forward-over-reverse", "reverse-over-reverse"]
RNG = np.random.default_rng(1234)


def fd_hvp(cost, wrt, values, vectors, eps=1e-5):
    """(∇f(x + εv) - ∇f(x - εv)) / 2ε, one block per variable."""
    return along(sg.function(wrt, sg.grad(cost, wrt)), values, vectors, eps)


def mlp(activation):
    """A two-layer net with softmax cross-entropy on 12 fixed samples."""
    X = RNG.normal(size=(12, 4))
    labels = RNG.integers(0, 3, size=12)
    W1, b1, W2 = sg.matrix("W1", 4, 5), sg.vector("b1", 5), sg.matrix("W2", 5, 3)
    hidden = activation(X @ W1 + b1)
    loss = sg.cross_entropy(hidden @ W2, labels) + 1e-2 * (sg.square(W1).sum() + sg.square(W2).sum())
    wrt = [W1, b1, W2]
    return loss, wrt, [RNG.normal(size=w.shape) for w in wrt]


def logistic_regression():
    X = RNG.normal(size=(30, 6))
    y = (RNG.random(30) < 0.5).astype(float)
    w, b = sg.vector("w", 6), sg.scalar("b")
    loss = sg.sigmoid_cross_entropy(X @ w + b, y) + 0.1 * sg.square(w).sum()
    return loss, [w, b], [RNG.normal(size=6), np.asarray(RNG.normal())]


NETS = {
    "mlp-tanh": lambda: mlp(sg.tanh),
    "mlp-relu": lambda: mlp(sg.relu),
    "mlp-sigmoid": lambda: mlp(sg.sigmoid),
    "logistic": logistic_regression,
}


@pytest.mark.parametrize("net", sorted(NETS))
@pytest.mark.parametrize("method", METHODS)
def test_hvp_of_nets_matches_finite_differences_of_the_gradient(net, method):
    loss, wrt, values = NETS[net]()
    vectors = [RNG.normal(size=w.shape) for w in wrt]
    got = sg.evaluate(sg.hvp(loss, wrt, vectors, method=method), dict(zip(wrt, values)))
    # ReLU is piecewise linear: the finite-difference step must not cross a kink, so it stays tiny.
    expected = fd_hvp(loss, wrt, values, vectors, eps=1e-6)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("net", sorted(NETS))
def test_the_two_methods_agree_and_equal_dense_hessian_times_v(net):
    loss, wrt, values = NETS[net]()
    feeds = dict(zip(wrt, values))
    vectors = [RNG.normal(size=w.shape) for w in wrt]
    forward = sg.evaluate(sg.hvp(loss, wrt, vectors, method=METHODS[0]), feeds)
    reverse = sg.evaluate(sg.hvp(loss, wrt, vectors, method=METHODS[1]), feeds)
    for f, r in zip(forward, reverse):
        np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-14)
    # A single wrt: H v with the dense Hessian of the first parameter.
    x, v = wrt[0], vectors[0]
    H = sg.hessian(loss, x).eval(feeds)
    n = v.size
    expected = H.reshape(n, n) @ v.ravel()
    np.testing.assert_allclose(sg.hvp(loss, x, v).eval(feeds).ravel(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_hvp_against_a_closed_form_hessian(method):
    # f = Σ sin(x) x₀ + exp(x₀ x₁): H written out by hand.
    x = sg.vector("x", 3)
    f = (sg.sin(x) * x[0]).sum() + sg.exp(x[0] * x[1])
    xv = np.array([0.4, -1.1, 2.0])
    s, c, e = np.sin(xv), np.cos(xv), np.exp(xv[0] * xv[1])
    H = np.diag(-s * xv[0])
    H[0, :] += c
    H[:, 0] += c
    H[0, 0] = -s[0] * xv[0] + 2 * c[0]
    H[0, 0] += xv[1] ** 2 * e
    H[1, 1] += xv[0] ** 2 * e
    H[0, 1] += e + xv[0] * xv[1] * e
    H[1, 0] += e + xv[0] * xv[1] * e
    v = np.array([0.3, -0.7, 1.9])
    np.testing.assert_allclose(sg.hvp(f, x, v, method=method).eval({x: xv}), H @ v, rtol=1e-13)
    np.testing.assert_allclose(sg.hessian(f, x, method=method).eval({x: xv}), H, rtol=1e-13)


@pytest.mark.parametrize("method", METHODS)
def test_a_vector_computed_from_x_is_held_constant(method):
    # The notes' warning (seeds/002 §4.8): v = tanh(x) must not be differentiated.
    x = sg.vector("x", 4)
    f = (sg.exp(x) * x).sum() + sg.square(x).sum() * x[0]
    xv = RNG.normal(size=4)
    v_node = sg.tanh(x) * 2.0
    v_value = np.tanh(xv) * 2.0
    got = sg.hvp(f, x, v_node, method=method).eval({x: xv})
    held = sg.hvp(f, x, v_value, method=method).eval({x: xv})
    np.testing.assert_allclose(got, held, rtol=1e-14)
    np.testing.assert_allclose(got, fd_hvp(f, [x], [xv], [v_value])[0], rtol=1e-6)
    # Differentiating through v (the mistake the notes warn about) gives another answer.
    naive = sg.grad((sg.grad(f, x) * v_node).sum(), x).eval({x: xv})
    assert not np.allclose(naive, got)


@pytest.mark.parametrize("method", METHODS)
def test_vectors_as_placeholders_and_several_wrt_with_cross_terms(method):
    a, b = sg.vector("a", 3), sg.matrix("b", 2, 3)
    f = (sg.tanh(b @ a) * sg.sum(b, axis=1)).sum() + sg.log1p(sg.square(a)).sum()
    va, vb = sg.vector("va", 3), sg.matrix("vb", 2, 3)
    ha, hb = sg.hvp(f, [a, b], [va, vb], method=method)
    values = [RNG.normal(size=3), RNG.normal(size=(2, 3))]
    vectors = [RNG.normal(size=3), RNG.normal(size=(2, 3))]
    got = sg.evaluate([ha, hb], {a: values[0], b: values[1], va: vectors[0], vb: vectors[1]})
    for g, e in zip(got, fd_hvp(f, [a, b], values, vectors)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9)
    # Only a's direction: the b block is the cross term H_ba v_a, not zero.
    _, hb_only_a = sg.evaluate(sg.hvp(f, [a, b], [vectors[0], np.zeros((2, 3))], method=method),
                               {a: values[0], b: values[1]})
    assert np.abs(hb_only_a).max() > 1e-3


@pytest.mark.parametrize("method", METHODS)
def test_linear_cost_has_zero_hvp_and_float32_is_kept(method):
    x = sg.vector("x", 3, dtype="float32")
    linear = (x * np.float32(2.0)).sum()
    hv = sg.hvp(linear, x, np.ones(3, np.float32), method=method).eval({x: np.ones(3, np.float32)})
    assert hv.dtype == np.float32
    np.testing.assert_array_equal(hv, np.zeros(3, np.float32))
    cube = (x ** 3).sum()
    hv = sg.hvp(cube, x, np.ones(3, np.float32), method=method).eval({x: np.array([1, 2, 3], np.float32)})
    assert hv.dtype == np.float32
    np.testing.assert_allclose(hv, [6, 12, 18], rtol=1e-6)


def test_hvp_errors_name_the_problem():
    x = sg.vector("x", 3)
    f = sg.square(x).sum()
    with pytest.raises(ValueError, match="method"):
        sg.hvp(f, x, np.ones(3), method="finite-differences")
    with pytest.raises(sg.ShapeError, match="shape"):
        sg.hvp(f, x, np.ones(4))
    with pytest.raises(sg.GradientError, match="2 vectors"):
        sg.hvp(f, [x], [np.ones(3), np.ones(3)])
    with pytest.raises(sg.GradientError, match="scalar"):
        sg.hvp(sg.square(x), x, np.ones(3))
    y = sg.vector("y", 3)
    with pytest.raises(sg.GradientError, match="y"):
        sg.hvp(f, [x, y], [np.ones(3), np.ones(3)])
    hx, hy = sg.hvp(f, [x, y], [np.ones(3), np.ones(3)], disconnected="zero")
    np.testing.assert_array_equal(sg.evaluate(hy, {x: np.ones(3)}), np.zeros(3))


# --- jvp and vjp of composite nets ---------------------------------------------------------------

def test_jvp_of_an_mlp_output_matches_finite_differences():
    X = RNG.normal(size=(7, 4))
    W = sg.matrix("W", 4, 3)
    y = sg.softmax(sg.tanh(X @ W) * 2.0)
    wv, tangent = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    fd = along(sg.function([W], y), [wv], [tangent], 1e-6)
    np.testing.assert_allclose(sg.jvp(y, W, tangent).eval({W: wv}), fd, rtol=1e-7, atol=1e-10)


def test_vjp_and_jvp_are_adjoint_on_a_relu_net():
    # <u, J v> = <Jᵀ u, v> for random u, v: checks every rule on the path without knowing it.
    X = RNG.normal(size=(6, 5))
    W1, W2 = sg.matrix("W1", 5, 4), sg.matrix("W2", 4, 2)
    y = sg.log_softmax(sg.relu(X @ W1) @ W2) * sg.sigmoid(X[:, :2])
    values = {W1: RNG.normal(size=(5, 4)), W2: RNG.normal(size=(4, 2))}
    u = RNG.normal(size=y.shape)
    v = [RNG.normal(size=(5, 4)), RNG.normal(size=(4, 2))]
    jv = sg.evaluate(sg.jvp(y, [W1, W2], v), values)
    vjp = sg.evaluate(sg.vjp(y, [W1, W2], u), values)
    lhs = float((u * jv).sum())
    rhs = sum(float((a * b).sum()) for a, b in zip(vjp, v))
    assert abs(lhs - rhs) < 1e-12 * max(1.0, abs(lhs))
    # and the tangent itself against finite differences in W1's direction only
    f = sg.function([W1, W2], y)
    eps = 1e-6
    fd = (f(values[W1] + eps * v[0], values[W2]) - f(values[W1] - eps * v[0], values[W2])) / (2 * eps)
    np.testing.assert_allclose(sg.jvp(y, W1, v[0]).eval(values), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_hvp_through_a_compiled_function_is_the_evaluated_one(method):
    loss, wrt, values = NETS["mlp-tanh"]()
    vectors = [sg.placeholder(f"v{i}", w.shape) for i, w in enumerate(wrt)]
    f = sg.function(wrt + vectors, sg.hvp(loss, wrt, vectors, method=method))
    vs = [RNG.normal(size=w.shape) for w in wrt]
    for got, expected in zip(f(*values, *vs), fd_hvp(loss, wrt, values, vs)):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
