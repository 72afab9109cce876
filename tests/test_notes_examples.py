"""The notes' worked examples, numbers included.

Each oracle is the notes' own hand computation (their staged backprop code,
transcribed as plain Python math), never symgrad's output.
"""

import math

import numpy as np
import pytest

import symgrad as sg
from example_modules import load_example


circuits = load_example("circuits")


def test_add_multiply_circuit():
    # seeds/002 §2.3 and 003: x=-2, y=5, z=-4 -> q=3, f=-12; df/dx = df/dy = -4, df/dz = 3.
    table = circuits.add_multiply()
    expected = {"x": (-2, -4), "y": (5, -4), "z": (-4, 3), "q": (3, -4), "f": (-12, 1)}
    for name, (value, gradient) in expected.items():
        assert table[name][0] == value and table[name][1] == gradient, name


def test_add_multiply_max_circuit():
    # seeds/003 "patterns in backward flow": f = 2(xy + max(z, w)) at x=3, y=-4, z=2, w=-1.
    # The max gate routes 2.00 to z (w gets 0); x gets -4.00 x 2.00 = -8.00.
    table = circuits.add_multiply_max()
    expected = {"x": (3, -8), "y": (-4, 6), "z": (2, 2), "w": (-1, 0),
                "x*y": (-12, 2), "max": (2, 2), "sum": (-10, 2), "f": (-20, 1)}
    for name, (value, gradient) in expected.items():
        assert table[name][0] == value and table[name][1] == gradient, name


def test_sigmoid_neuron():
    # seeds/003, the notes' code: w = [2,-3,-3], x = [-1,-2].
    w, x = [2, -3, -3], [-1, -2]
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    dx = [w[0] * ddot, w[1] * ddot]
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]

    table = circuits.sigmoid_neuron()
    assert table["dot"][0] == 1.0
    np.testing.assert_allclose(table["f"][0], f, rtol=1e-15)
    assert round(float(table["f"][0]), 2) == 0.73 and round(ddot, 1) == 0.2  # the notes' rounded figures
    np.testing.assert_allclose(table["dot"][1], ddot, rtol=1e-14)
    np.testing.assert_allclose(table["x"][1], dx, rtol=1e-14)
    np.testing.assert_allclose(table["w"][1], dw, rtol=1e-14)


def test_staged_example():
    # seeds/003 "backprop in practice: staged computation", forward lines (1)-(8), backward in reverse.
    x, y = 3, -4
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den ** 2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dx = (1) * dxpy
    dy = (1) * dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += (1) * dnum
    dsigy = (1) * dnum
    dy += ((1 - sigy) * sigy) * dsigy

    table = circuits.staged()
    notes = {"sigy": (sigy, dsigy), "num": (num, dnum), "sigx": (sigx, dsigx), "xpy": (xpy, dxpy),
             "xpysqr": (xpysqr, dxpysqr), "den": (den, dden), "invden": (invden, dinvden),
             "f": (f, 1.0), "x": (x, dx), "y": (y, dy)}
    for name, (value, gradient) in notes.items():
        np.testing.assert_allclose(table[name][0], value, rtol=1e-14, err_msg=name)
        np.testing.assert_allclose(table[name][1], gradient, rtol=1e-13, err_msg=name)


def test_gradient_graph_lives_in_the_same_graph_and_reuses_forward_nodes():
    # seeds/002 §3.1: symbol-to-symbol; the gradient is more nodes of the same graph.
    with sg.Graph() as g:
        x, y = sg.scalar("x"), sg.scalar("y")
        s = sg.sigmoid(x * y)
        before = len(g)
        dx = sg.grad(s, x)
        assert dx.graph is g and len(g) > before
        assert s in sg.ancestors([dx])  # sigmoid's derivative is written with the sigmoid node
        assert sum(n.op.name == "sigmoid" for n in g) == 1


def test_mul_of_a_node_with_itself():
    # seeds/000: bprop treats mul(x, x) as two inputs and sums: d(x*x)/dx = 2x.
    x = sg.scalar("x")
    assert sg.grad(x * x, x).eval({x: 3.5}) == 7.0


def test_xor_textbook_solution_and_training():
    xor = load_example("xor")
    with sg.Graph():
        params, prediction, loss = xor.build()
        feeds = dict(zip(params, [np.ones((2, 2)), [0.0, -1.0], [1.0, -2.0], 0.0]))
        np.testing.assert_array_equal(sg.evaluate(prediction, feeds), xor.LABELS)
        assert sg.evaluate(loss, feeds) == 0.0
    values, losses, predicted = xor.train(log_every=0)
    assert losses[-1] < 1e-6 < losses[0]
    np.testing.assert_allclose(predicted, xor.LABELS, atol=1e-3)


def test_mlp_gradient_matches_the_notes_backprop():
    # seeds/002 §3.4: G = dJ_MLE/dZ; dW2 = Hᵀ G + 2λ W2; dW1 = Xᵀ G' + 2λ W1 with G' = (G W2ᵀ) zeroed where U1 < 0.
    mlp = load_example("mlp")
    rng = np.random.default_rng(3)
    m, n, h, k, decay = 32, 12, 16, 5, 1e-3
    Xv, yv = rng.normal(size=(m, n)), rng.integers(0, k, m)
    W1v, W2v = rng.normal(size=(n, h)) * 0.5, rng.normal(size=(h, k)) * 0.5
    with sg.Graph():
        X, y, W1, W2, logits, cost = mlp.build(n, h, k, decay)
        value, g1, g2 = sg.evaluate([cost] + sg.grad(cost, [W1, W2]), {X: Xv, y: yv, W1: W1v, W2: W2v})

    U1 = Xv @ W1v
    H = np.maximum(U1, 0)
    Z = H @ W2v
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    J = -np.mean(np.log(P[np.arange(m), yv])) + decay * ((W1v ** 2).sum() + (W2v ** 2).sum())
    G = (P - np.eye(k)[yv]) / m
    dW2 = H.T @ G + 2 * decay * W2v
    dW1 = Xv.T @ ((G @ W2v.T) * (U1 > 0)) + 2 * decay * W1v
    np.testing.assert_allclose(value, J, rtol=1e-13)
    np.testing.assert_allclose(g1, dW1, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(g2, dW2, rtol=1e-11, atol=1e-14)


def test_mlp_training_learns():
    mlp = load_example("mlp")
    accuracy, losses = mlp.train(epochs=3, verbose=False)
    assert losses[-1] < losses[0]
    assert accuracy > 0.8


def test_hessian_vector_product_by_the_notes_formula():
    # seeds/002 §4.8: Hv = ∇x[(∇x f)ᵀ v], v held constant. f = Σ x_i³ + x0 x1 has H = diag(6x) + offdiag.
    x = sg.vector("x", 2)
    v = sg.vector("v", 2)
    f = (x ** 3).sum() + x[0] * x[1]
    hv = sg.grad((sg.grad(f, x) * v).sum(), x)
    xv, vv = np.array([1.5, -2.0]), np.array([0.3, 0.7])
    H = np.array([[6 * xv[0], 1.0], [1.0, 6 * xv[1]]])
    np.testing.assert_allclose(hv.eval({x: xv, v: vv}), H @ vv, rtol=1e-14)


@pytest.mark.parametrize("name", ["circuits", "xor", "mlp"])
def test_examples_run(name, capsys):
    module = load_example(name)
    module.main() if hasattr(module, "main") else module.train(epochs=1)
    assert capsys.readouterr().out.strip()
