"""Run-time (None) dimensions that broadcast are an error wherever they are met (DESIGN.md),
also when only a derivative is evaluated, in every executor; where nothing can broadcast, the
derivative graph gets no extra node.

Oracles are closed forms: d/dx sum(x + c) = 1, d/dA sum(A @ B) = 1 @ Bᵀ, d/dx sum(sin(x) c) = c cos(x).
"""

import numpy as np
import pytest

import symgrad as sg
from example_modules import load_example

RNG = np.random.default_rng(7)


def _evaluate(out, feeds):
    return sg.evaluate(out, feeds)


def _function(out, feeds):
    return sg.function(list(feeds), out)(*feeds.values())


def _eval(out, feeds):
    return [o.eval(feeds) for o in out] if isinstance(out, list) else out.eval(feeds)


RUNS = pytest.mark.parametrize("run", [_evaluate, _function, _eval], ids=["evaluate", "function", "eval"])


def _raises_broadcast(run, out, feeds, *words):
    """``run`` refuses the feeds with a ShapeError naming the op, the input and both sizes."""
    with pytest.raises(sg.ShapeError) as info:
        run(out, feeds)
    message = str(info.value)
    for word in ("must not broadcast", *words):
        assert word in message, message


def _checks(graph) -> int:
    """Check nodes where an op may have broadcast (not those of a tangent or cotangent the user gave)."""
    return sum(node.op.name == "check_sizes" and node.params.stands_for != "given" for node in graph.nodes)


# --- reverse mode: only the gradient is evaluated ------------------------------------------------------

@RUNS
@pytest.mark.parametrize("kind", ["placeholder", "constant"])
def test_gradient_of_an_add_with_a_static_operand_checks_the_runtime_dim(run, kind):
    c_value = RNG.normal(size=(4, 3))
    with sg.Graph():
        x = sg.placeholder("x", (None, 3))
        c = sg.placeholder("c", (4, 3)) if kind == "placeholder" else sg.constant(c_value)
        gx = sg.grad((x + c).sum(), x)

        def feeds(rows):
            given = {x: RNG.normal(size=(rows, 3))}
            return given | {c: c_value} if kind == "placeholder" else given

        # was a (4, 3) "gradient" for a (1, 3) input, without error
        _raises_broadcast(run, gx, feeds(1), "add", "input 0 placeholder 'x' f64[?,3]", "size 1", "size 4")
        np.testing.assert_array_equal(run(gx, feeds(4)), np.ones((4, 3)))


@RUNS
def test_gradient_of_a_batched_matmul_checks_the_runtime_batch(run):
    b_value = RNG.normal(size=(4, 3, 5))
    with sg.Graph():
        a, b = sg.placeholder("a", (None, 2, 3)), sg.placeholder("b", (4, 3, 5))
        cost = (a @ b).sum()
        ga, gb = sg.grad(cost, [a, b])
        for out in (ga, [cost, ga]):  # with or without the forward node
            _raises_broadcast(run, out, {a: np.ones((1, 2, 3)), b: b_value}, "matmul", "'a' f64[?,2,3]",
                              "size 1", "size 4")
        # b's gradient is aᵀ @ (cotangent): that matmul of the derivative is the one that broadcasts
        _raises_broadcast(run, gb, {a: np.ones((1, 2, 3)), b: b_value}, "matmul", "size 1", "size 4")
        a_value = RNG.normal(size=(4, 2, 3))
        ga_value, gb_value = run([ga, gb], {a: a_value, b: b_value})
    np.testing.assert_allclose(ga_value, np.ones((4, 2, 5)) @ np.swapaxes(b_value, 1, 2), rtol=1e-13)
    np.testing.assert_allclose(gb_value, np.swapaxes(a_value, 1, 2) @ np.ones((4, 2, 5)), rtol=1e-13)


@RUNS
def test_matmul_forward_node_with_a_runtime_batch_of_1_raises_like_add(run):
    with sg.Graph():
        a, b = sg.placeholder("a", (None, 2, 3)), sg.placeholder("b", (4, 3, 5))
        # was a (4, 2, 5) product, as NumPy broadcasts the batch of 1
        _raises_broadcast(run, a @ b, {a: np.ones((1, 2, 3)), b: np.ones((4, 3, 5))}, "matmul", "size 1",
                          "size 4")
        p, q = sg.placeholder("p", (None, 2, 3)), sg.placeholder("q", (None, 3, 5))
        _raises_broadcast(run, p @ q, {p: np.ones((4, 2, 3)), q: np.ones((1, 3, 5))}, "matmul",
                          "input 1 placeholder 'q' f64[?,3,5]", "size 1", "size 4")


@RUNS
def test_matmul_matrix_axes_are_not_batch_axes(run):
    """Run-time rows and columns of a matmul never broadcast: no check, no error, right values."""
    with sg.Graph() as graph:
        a, w, v = sg.placeholder("a", (None, 2, 3)), sg.placeholder("w", (3, None)), sg.vector("v", None)
        cost = (a @ w).sum() + (w @ v).sum()
        ga, gw = sg.grad(cost, [a, w])
        assert _checks(graph) == 0
        a_value, w_value, v_value = RNG.normal(size=(1, 2, 3)), RNG.normal(size=(3, 1)), RNG.normal(size=1)
        ga_value, gw_value = run([ga, gw], {a: a_value, w: w_value, v: v_value})
    np.testing.assert_allclose(ga_value, np.ones((1, 2, 1)) @ w_value.T, rtol=1e-13)
    np.testing.assert_allclose(gw_value, a_value.sum(axis=(0, 1))[:, None] + v_value[None, :], rtol=1e-13)


@RUNS
def test_gradient_through_concatenate_with_a_static_operand_checks_the_runtime_dim(run):
    with sg.Graph():
        x, c = sg.placeholder("x", (None, 3)), sg.placeholder("c", (4, 3))
        gx = sg.grad(sg.concatenate([c, x], 1).sum(), x)
        _raises_broadcast(run, gx, {x: np.ones((1, 3)), c: np.ones((4, 3))}, "concatenate", "size 1", "size 4")
        np.testing.assert_array_equal(run(gx, {x: np.ones((4, 3)), c: np.ones((4, 3))}), np.ones((4, 3)))


# --- two run-time dimensions that differ at run time ---------------------------------------------------

@RUNS
def test_runtime_operands_that_differ_at_run_time(run):
    with sg.Graph():
        x, y = sg.placeholder("x", (None, 3)), sg.placeholder("y", (None, 3))
        g = sg.placeholder("g", (None, 3))
        bad = {x: np.ones((1, 3)), y: np.ones((4, 3))}
        for out in sg.grad((x * y).sum(), [x, y]):
            _raises_broadcast(run, out, bad, "mul", "placeholder 'x' f64[?,3]", "size 1", "size 4")
        # a cotangent of the output's size: the forward node x + y is never evaluated
        bar = sg.vjp(x + y, x, g)
        _raises_broadcast(run, bar, bad | {g: np.ones((4, 3))}, "add", "'x' f64[?,3]", "size 1", "size 4")
        # the one of size 1 may be either operand
        _raises_broadcast(run, sg.grad((x * y).sum(), x), {x: np.ones((4, 3)), y: np.ones((1, 3))},
                          "mul", "input 1 placeholder 'y' f64[?,3]", "size 1", "size 4")


@RUNS
def test_runtime_dims_that_are_legitimately_1_everywhere(run):
    with sg.Graph():
        x, y = sg.placeholder("x", (None, 3)), sg.placeholder("y", (None, 3))
        bias = sg.placeholder("bias", (1, 3))
        a, b = sg.placeholder("a", (None, 2, 3)), sg.placeholder("b", (None, 3, 5))
        cost = (x * y).sum() + (x + bias).sum() + (a @ b).sum()
        grads = sg.grad(cost, [x, y, bias, a, b])
        tangent = sg.jvp(x * y + bias, [x, y], [y, x])
        xv, yv, bv = RNG.normal(size=(1, 3)), RNG.normal(size=(1, 3)), RNG.normal(size=(1, 3))
        av, bbv = RNG.normal(size=(1, 2, 3)), RNG.normal(size=(1, 3, 5))
        gx, gy, gbias, ga, gb, t = run(grads + [tangent], {x: xv, y: yv, bias: bv, a: av, b: bbv})
    np.testing.assert_allclose(gx, yv + 1.0, rtol=1e-14)
    np.testing.assert_allclose(gy, xv, rtol=1e-14)
    np.testing.assert_allclose(gbias, np.ones((1, 3)))
    np.testing.assert_allclose(ga, np.ones((1, 2, 5)) @ np.swapaxes(bbv, 1, 2), rtol=1e-13)
    np.testing.assert_allclose(gb, np.swapaxes(av, 1, 2) @ np.ones((1, 2, 5)), rtol=1e-13)
    np.testing.assert_allclose(t, yv * yv + xv * xv, rtol=1e-14)  # x_dot = y, y_dot = x


@RUNS
def test_a_static_1_still_broadcasts_against_a_runtime_dim(run):
    with sg.Graph():
        x, c = sg.placeholder("x", (None, 3)), sg.placeholder("c", (1, 3))
        gx, gc = sg.grad((x * c).sum(), [x, c])
        xv, cv = RNG.normal(size=(5, 3)), RNG.normal(size=(1, 3))
        gx_value, gc_value = run([gx, gc], {x: xv, c: cv})
    np.testing.assert_allclose(gx_value, np.broadcast_to(cv, (5, 3)), rtol=1e-14)
    np.testing.assert_allclose(gc_value, xv.sum(axis=0, keepdims=True), rtol=1e-14)


# --- forward mode ----------------------------------------------------------------------------------------

@RUNS
def test_jvp_checks_the_runtime_dim_of_the_tangent(run):
    with sg.Graph():
        x, c = sg.placeholder("x", (None, 3)), sg.placeholder("c", (4, 3))
        t = sg.placeholder("t", (None, 3))
        dot = sg.jvp(x + c, x, t)
        # was a (1, 3) tangent broadcast to (4, 3)
        _raises_broadcast(run, dot, {x: np.ones((1, 3)), c: np.ones((4, 3)), t: np.ones((1, 3))}, "add",
                          "'x' f64[?,3]", "size 1", "size 4")
        t_value = RNG.normal(size=(4, 3))
        np.testing.assert_array_equal(run(dot, {x: np.ones((4, 3)), c: np.ones((4, 3)), t: t_value}), t_value)
        # a tangent given as an array, of the wrong run-time size for x: refused as given
        fixed = sg.jvp(x + c, x, np.ones((1, 3)))
        with pytest.raises(sg.ShapeError, match=r"jvp: the tangent .* has size 1 on axis 0, but it stands for a "
                                                r"value of size 4"):
            run(fixed, {x: np.ones((4, 3)), c: np.ones((4, 3))})


@RUNS
def test_jvp_of_runtime_operands_that_differ(run):
    with sg.Graph():
        x, y, t = sg.placeholder("x", (None, 3)), sg.placeholder("y", (None, 3)), sg.placeholder("t", (None, 3))
        a, b, s = sg.placeholder("a", (None, 2, 3)), sg.placeholder("b", (4, 3, 5)), sg.placeholder("s", (None, 2, 3))
        _raises_broadcast(run, sg.jvp(x + y, x, t), {x: np.ones((1, 3)), y: np.ones((4, 3)), t: np.ones((1, 3))},
                          "add", "size 1", "size 4")
        _raises_broadcast(run, sg.jvp(a @ b, a, s), {a: np.ones((1, 2, 3)), b: np.ones((4, 3, 5)),
                                                     s: np.ones((1, 2, 3))}, "matmul", "size 1", "size 4")


# --- second derivatives ---------------------------------------------------------------------------------

@RUNS
def test_second_derivatives_check_the_runtime_dim(run):
    """d/dx sum(sin(x) c) = c cos(x), and its derivative -c sin(x): only derivative nodes meet c."""
    c_value = RNG.normal(size=(4, 3))
    with sg.Graph():
        x, c, v = sg.placeholder("x", (None, 3)), sg.placeholder("c", (4, 3)), sg.placeholder("v", (None, 3))
        cost = (sg.sin(x) * c).sum()
        gx = sg.grad(cost, x)
        second = sg.grad((gx * v).sum(), x)
        products = [sg.hvp(cost, x, v, method=m) for m in ("forward-over-reverse", "reverse-over-reverse")]
        for out in [gx, second] + products:
            _raises_broadcast(run, out, {x: np.ones((1, 3)), c: c_value, v: np.ones((1, 3))}, "mul", "size 1",
                              "size 4")
        xv, vv = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
        values = run([gx, second] + products, {x: xv, c: c_value, v: vv})
    np.testing.assert_allclose(values[0], c_value * np.cos(xv), rtol=1e-14)
    for hv in values[1:]:
        np.testing.assert_allclose(hv, -c_value * np.sin(xv) * vv, rtol=1e-13, atol=1e-15)


@RUNS
def test_second_derivatives_of_a_batched_matmul_check_the_runtime_batch(run):
    """f = sum((A B)²)/2: the gradient is (A B) Bᵀ, linear in A, so H V = (V B) Bᵀ."""
    b_value = RNG.normal(size=(4, 3, 5))
    with sg.Graph():
        a, b, v = sg.placeholder("a", (None, 2, 3)), sg.placeholder("b", (4, 3, 5)), sg.placeholder("v", (None, 2, 3))
        cost = ((a @ b) ** 2).sum() / 2
        second = sg.grad((sg.grad(cost, a) * v).sum(), a)
        products = [sg.hvp(cost, a, v, method=m) for m in ("forward-over-reverse", "reverse-over-reverse")]
        for out in [second] + products:  # were (4, 2, 3) for a batch of 1
            # The first node to meet the batch of 1 may be a matmul or the product with v.
            _raises_broadcast(run, out, {a: np.ones((1, 2, 3)), b: b_value, v: np.ones((1, 2, 3))},
                              "size 1", "size 4")
        av, vv = RNG.normal(size=(4, 2, 3)), RNG.normal(size=(4, 2, 3))
        values = run([second] + products, {a: av, b: b_value, v: vv})
    for hv in values:
        np.testing.assert_allclose(hv, vv @ b_value @ np.swapaxes(b_value, 1, 2), rtol=1e-12)


@RUNS
def test_hvp_with_runtime_operands_that_differ(run):
    """H v of sum((x y)²)/2 with respect to x is y² v."""
    with sg.Graph():
        x, y, v = sg.placeholder("x", (None, 3)), sg.placeholder("y", (None, 3)), sg.placeholder("v", (None, 3))
        cost = ((x * y) ** 2).sum() / 2
        for method in ("forward-over-reverse", "reverse-over-reverse"):
            hv = sg.hvp(cost, x, v, method=method)
            _raises_broadcast(run, hv, {x: np.ones((1, 3)), y: np.ones((4, 3)), v: np.ones((1, 3))}, "size 1",
                              "size 4")
            xv, yv, vv = RNG.normal(size=(1, 3)), RNG.normal(size=(1, 3)), RNG.normal(size=(1, 3))
            np.testing.assert_allclose(run(hv, {x: xv, y: yv, v: vv}), yv ** 2 * vv, rtol=1e-14)


# --- the message -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("run", [_evaluate, _function], ids=["evaluate", "function"])
def test_the_message_names_the_node_the_input_the_axis_and_both_sizes(run):
    with sg.Graph():
        x, c = sg.placeholder("x", (2, None)), sg.placeholder("c", (2, 5))
        y = x - c
        expected = (rf"^sub %{y.id} f64\[2,5\]: input 0 placeholder 'x' f64\[2,\?\] has size 1 on its run-time "
                    r"axis 1 but the result has size 5 there; run-time \(None\) dimensions must not broadcast")
        feeds = {x: np.ones((2, 1)), c: np.ones((2, 5))}
        for out in (y, sg.grad(y.sum(), x)):  # the forward node's check and the gradient's say the same
            with pytest.raises(sg.ShapeError, match=expected):
                run(out, feeds)


# --- nothing is added where nothing can broadcast --------------------------------------------------------

def test_no_check_node_where_nothing_can_broadcast():
    with sg.Graph() as graph:
        x = sg.placeholder("x", (None, 512))
        b, row = sg.vector("b", 512), sg.placeholder("row", (1, 512))
        w = sg.placeholder("w", (512, 8))
        h = sg.tanh(x + b) * row  # a unary op, a (512,) bias, a static 1
        cost = sg.sum(h @ w) + sg.sum(x * x) + sg.sum(sg.square(w))  # and the same node twice
        sg.grad(cost, [x, b, row, w])
        sg.jvp(cost, [x, b], [np.ones((3, 512)), np.ones(512)])
        sg.hvp(cost, w, np.ones((512, 8)))
        assert _checks(graph) == 0
        x_dot = sg.placeholder("x_dot", (None, 512))
        sg.jvp(h, x, x_dot)
        assert _checks(graph) == 0
        sg.grad(sg.sum(x + sg.placeholder("c", (4, 512))), x)  # here one can
        assert _checks(graph) == 1


def test_the_mlp_example_gradient_gets_no_check_node():
    mlp = load_example("mlp")
    with sg.Graph() as graph:
        X, y, W1, W2, logits, cost = mlp.build(features=8, hidden=6, classes=3, decay=1e-3)
        grads = sg.grad(cost, [W1, W2])
        assert _checks(graph) == 0
        Xv, yv = RNG.normal(size=(5, 8)), np.array([0, 2, 1, 1, 0])
        w1, w2 = RNG.normal(size=(8, 6)), RNG.normal(size=(6, 3))
        step = sg.function([X, y, W1, W2], [cost] + grads)
        value, g1, g2 = step(Xv, yv, w1, w2)
        # labels for one row against five rows of logits
        with pytest.raises(sg.ShapeError, match="must not broadcast"):
            step(Xv, yv[:1], w1, w2)
    # closed form: softmax minus one-hot, back through the ReLU layer
    hidden = np.maximum(Xv @ w1, 0)
    scores = hidden @ w2
    probs = np.exp(scores - scores.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    d_scores = (probs - np.eye(3)[yv]) / 5
    np.testing.assert_allclose(g2, hidden.T @ d_scores + 2e-3 * w2, rtol=1e-12)
    np.testing.assert_allclose(g1, Xv.T @ ((d_scores @ w2.T) * (hidden > 0)) + 2e-3 * w1, rtol=1e-12)


@RUNS
def test_a_given_tangent_or_cotangent_must_have_the_runtime_size_of_what_it_stands_for(run):
    """No op broadcasts here: the size-1 vector itself is wrong for a batch of 5 (was returned as is)."""
    with sg.Graph():
        x = sg.placeholder("x", (None, 3))
        t = sg.placeholder("t", (None, 3))
        feeds = {x: np.ones((5, 3)), t: np.ones((1, 3))}
        for out in (sg.jvp(2.0 * x, x, t), sg.vjp(x * 2.0, x, t), sg.hvp((x ** 3).sum(), x, t)):
            with pytest.raises(sg.ShapeError, match=r"has size 1 on axis 0, but it stands for a value of size 5"):
                run(out, feeds)
        good = run(sg.jvp(2.0 * x, x, t), {x: np.ones((5, 3)), t: np.full((5, 3), 0.5)})
    np.testing.assert_array_equal(good, np.ones((5, 3)))
