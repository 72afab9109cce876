"""sg.vectorize: a batched graph computes what the unbatched one computes on each batch element.

The oracle is the unbatched graph itself, evaluated once per element and stacked (and, for the
dense derivatives built on vectorize, finite differences).
"""

import numpy as np
import pytest

import symgrad as sg
from helpers import CASES, instantiate, squared_cost

BATCH = 3
# integer inputs are never batched: a case needs a float input to have something to batch
FLOAT_CASES = [c for c in CASES if any(a.dtype.kind == "f" for a in c.args)]
FLOAT_IDS = [c.id for c in FLOAT_CASES]


def batch_of(value: np.ndarray, k: int) -> np.ndarray:
    """``k`` copies of ``value``, nudged apart by less than the cases' margins (no new ties or kinks)."""
    scale = 1.0 + 0.003 * np.arange(k).reshape((k,) + (1,) * value.ndim)
    return (value[None] * scale).astype(value.dtype)


def check_case(case, only_first: bool):
    with sg.Graph():
        out, targets, feeds = instantiate(case)
        chosen = targets[:1] if only_first else targets
        batched = {x: sg.placeholder(f"{x.name}_batch", (BATCH,) + x.shape, x.dtype) for x in chosen}
        values = {x: batch_of(feeds[x], BATCH) for x in chosen}
        grads = sg.grad(squared_cost(out), targets, disconnected="zero") if out.dtype.kind == "f" else []
        outputs = [out, *grads]
        vectorized = sg.vectorize(outputs, batched)
        got = sg.evaluate(vectorized, {**feeds, **{batched[x]: v for x, v in values.items()}})
        for k in range(BATCH):
            want = sg.evaluate(outputs, {**feeds, **{x: v[k] for x, v in values.items()}})
            for g, w, node in zip(got, want, outputs):
                assert g.shape == (BATCH,) + w.shape, node.describe()
                assert g.dtype == w.dtype, node.describe()
                np.testing.assert_allclose(g[k], w, rtol=1e-9, atol=1e-12, err_msg=f"{node.describe()} [{k}]")


@pytest.mark.parametrize("case", FLOAT_CASES, ids=FLOAT_IDS)
def test_each_case_batched_over_all_float_inputs_equals_stacked_evaluations(case):
    check_case(case, only_first=False)


@pytest.mark.parametrize("case", FLOAT_CASES, ids=FLOAT_IDS)
def test_each_case_batched_over_one_input_equals_stacked_evaluations(case):
    check_case(case, only_first=True)


# --- edge points ------------------------------------------------------------------------------------

RNG = np.random.default_rng(15)


def stacked(outputs, x, values, feeds=None):
    """The oracle: ``outputs`` evaluated once per element of ``values`` (fed to ``x``), stacked."""
    runs = [sg.evaluate(outputs, {**(feeds or {}), x: v}) for v in values]
    return np.stack(runs) if not isinstance(outputs, list) else [np.stack(r) for r in zip(*runs)]


def test_a_batch_of_one():
    x = sg.vector("x", 4)
    y = sg.softmax(sg.tanh(x) * x[::-1])
    xs = sg.placeholder("xs", (1, 4))
    values = RNG.normal(size=(1, 4))
    np.testing.assert_allclose(sg.vectorize(y, {x: xs}).eval({xs: values}), stacked(y, x, values), rtol=1e-14)


def test_run_time_dimensions_and_a_run_time_batch_size():
    x = sg.placeholder("x", (None, 3))
    W = sg.placeholder("W", (3, 2))
    y = sg.logsumexp(sg.tanh(x @ W), axis=1).sum() + sg.square(x).mean()
    g = sg.grad(y, x)
    xs = sg.placeholder("xs", (None, None, 3))
    values, w = RNG.normal(size=(5, 4, 3)), RNG.normal(size=(3, 2))
    got = sg.evaluate(sg.vectorize([y, g], {x: xs}), {xs: values, W: w})
    want = stacked([y, g], x, values, {W: w})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # a run-time batch size with static element shapes: unbatched inputs are broadcast at run time
    v = sg.vector("v", 3)
    c = sg.placeholder("c", (None, 3))
    z = sg.concatenate([v[None], c]) * sg.sin(v)
    vs = sg.placeholder("vs", (None, 3))
    cv = RNG.normal(size=(2, 3))
    np.testing.assert_allclose(sg.vectorize(z, {v: vs}).eval({vs: values[:, 0], c: cv}),
                               stacked(z, v, values[:, 0], {c: cv}), rtol=1e-14)


def test_integer_inputs_stay_unbatched_and_index_arrays_may_be_batched():
    x = sg.vector("x", 5)
    i = sg.placeholder("i", (3,), "int64")
    labels = sg.placeholder("labels", (2,), "int64")
    y = sg.cross_entropy(sg.reshape(x[i][:2], (1, 2)) * x[:2], labels[:1]) + x[i].sum()
    xs = sg.placeholder("xs", (4, 5))
    values, index = RNG.normal(size=(4, 5)), np.array([4, 0, 4])
    feeds = {i: index, labels: np.array([1, 0])}
    np.testing.assert_allclose(sg.vectorize(y, {x: xs}).eval({xs: values, **feeds}),
                               stacked(y, x, values, feeds), rtol=1e-14)
    # a batch of index arrays: each element indexed on its own
    idx = sg.placeholder("idx", (4, 3), "int64")
    indices = RNG.integers(0, 5, size=(4, 3))
    got = sg.vectorize(x[i] * 2.0, {i: idx}).eval({idx: indices, x: values[0]})
    np.testing.assert_array_equal(got, values[0][indices] * 2.0)


def test_outputs_that_do_not_depend_on_the_batched_node_are_broadcast():
    x, w = sg.vector("x", 3), sg.vector("w", 3)
    xs = sg.placeholder("xs", (2, 3))
    both = sg.vectorize([sg.exp(w), x * w], {x: xs})
    wv, values = RNG.normal(size=3), RNG.normal(size=(2, 3))
    got = sg.evaluate(both, {w: wv, xs: values})
    np.testing.assert_array_equal(got[0], np.broadcast_to(np.exp(wv), (2, 3)))
    np.testing.assert_allclose(got[1], values * wv, rtol=1e-15)


@pytest.mark.parametrize("a_shape, b_shape", [((4,), (4, 3)), ((2, 4), (4,)), ((3, 2, 4), (4, 5)),
                                              ((2, 4), (3, 4, 5)), ((4,), (4,)), ((2, 2, 4), (4, 1))])
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_matmul_batched_on_either_side(a_shape, b_shape, which):
    a, b = sg.placeholder("a", a_shape), sg.placeholder("b", b_shape)
    out = sg.matmul(a, b)
    av, bv = RNG.normal(size=(3, *a_shape)), RNG.normal(size=(3, *b_shape))
    batched = {"a": {a: sg.placeholder("as", (3, *a_shape))}, "b": {b: sg.placeholder("bs", (3, *b_shape))},
               "both": {a: sg.placeholder("as", (3, *a_shape)), b: sg.placeholder("bs", (3, *b_shape))}}[which]
    feeds = {batched[a]: av} if a in batched else {a: av[0]}
    feeds.update({batched[b]: bv} if b in batched else {b: bv[0]})
    want = np.stack([(av[k] if a in batched else av[0]) @ (bv[k] if b in batched else bv[0]) for k in range(3)])
    np.testing.assert_allclose(sg.vectorize(out, batched).eval(feeds), want, rtol=1e-13)


def test_advanced_indices_apart_keep_the_batch_axis_in_front():
    x = sg.placeholder("x", (4, 3, 5))
    rows, cols = np.array([0, 3, 3]), np.array([4, 0, 1])
    outputs = [x[rows, :, cols], x[1, :, cols], x[:, 1, cols]]
    cost = sum((o * o).sum() for o in outputs)
    grads = sg.grad(cost, x)
    xs = sg.placeholder("xs", (2, 4, 3, 5))
    values = RNG.normal(size=(2, 4, 3, 5))
    got = sg.evaluate(sg.vectorize(outputs + [grads], {x: xs}), {xs: values})
    for g, w in zip(got, stacked(outputs + [grads], x, values)):
        np.testing.assert_allclose(g, w, rtol=1e-14)


def test_updates_batched_in_the_values_or_the_array():
    x, v = sg.vector("x", 5), sg.vector("v", 3)
    index = np.array([1, 3, 1])
    y = x.at[index].add(v) * x.at[index].set(v)
    xs, vs = sg.placeholder("xs", (2, 5)), sg.placeholder("vs", (2, 3))
    xv, vv = RNG.normal(size=(2, 5)), RNG.normal(size=(2, 3))
    np.testing.assert_allclose(sg.vectorize(y, {v: vs}).eval({vs: vv, x: xv[0]}), stacked(y, v, vv, {x: xv[0]}))
    np.testing.assert_allclose(sg.vectorize(y, {x: xs}).eval({xs: xv, v: vv[0]}), stacked(y, x, xv, {v: vv[0]}))


def test_errors_name_the_op_and_the_nodes():
    # x -> 2x, linear: its rules are the op itself, so its derivatives hold it too
    custom = sg.Op("no_batching_rule_here", lambda x: x * 2.0, lambda x: (x.shape, x.dtype),
                   vjp=(lambda out_bar, out, x: custom(out_bar),), jvp=(lambda x_dot, out, x: custom(x_dot),))
    x = sg.vector("x", 3)
    xs = sg.placeholder("xs", (2, 3))
    with pytest.raises(sg.RuleError, match="no_batching_rule_here"):
        sg.vectorize(custom(x).sum(), {x: xs})
    with pytest.raises(sg.ShapeError, match="stand for a batch"):
        sg.vectorize(x.sum(), {x: sg.placeholder("wrong", (2, 4))})
    with pytest.raises(sg.ShapeError, match="stand for a batch"):
        sg.vectorize(x.sum(), {x: sg.placeholder("xs32", (2, 3), "float32")})
    with pytest.raises(sg.ShapeError, match="batch size"):
        w = sg.vector("w", 3)
        sg.vectorize(x + w, {x: xs, w: sg.placeholder("ws", (4, 3))})
    # a custom op without a rule still has a dense Jacobian: one sweep per element
    np.testing.assert_allclose(sg.jacobian(custom(x), x).eval({x: np.ones(3)}), 2.0 * np.eye(3))
    with pytest.raises(sg.RuleError, match="no_batching_rule_here"):
        sg.jacobian(custom(x), x, vectorized=True)
    # and a dense Hessian (f = 2 sum x^2): the vectorized sweep fails, one HVP per element runs
    np.testing.assert_allclose(sg.hessian((custom(x) * x).sum(), x).eval({x: np.ones(3)}), 4.0 * np.eye(3))
    with pytest.raises(sg.RuleError, match="no_batching_rule_here"):
        sg.hessian((custom(x) * x).sum(), x, vectorized=True)


# --- dense derivatives built on vectorize ------------------------------------------------------------

def fd_gradient_jacobian(f, value, eps=1e-6):
    """Central differences of a function returning an array, one column per element of ``value``."""
    columns = []
    for k in range(value.size):
        step = np.zeros(value.size)
        step[k] = eps
        step = step.reshape(value.shape)
        columns.append((f(value + step) - f(value - step)) / (2 * eps))
    return np.stack(columns, axis=-1)


def test_hessian_and_jacobian_against_finite_differences_and_the_per_element_path():
    n = 6
    A = RNG.normal(size=(n, n)) / np.sqrt(n)
    x = sg.vector("x", n)
    cost = sg.sum(sg.tanh(A @ x) ** 2) + sg.sum(sg.log1p(x * x)) + x[0] * x[n - 1] ** 3
    y = sg.tanh(A @ x) * x
    xv = RNG.normal(size=n)
    gradient = sg.function([x], sg.grad(cost, x))
    fd = fd_gradient_jacobian(lambda v: gradient(v), xv)
    for method in ("forward-over-reverse", "reverse-over-reverse"):
        vectorized = sg.hessian(cost, x, method=method).eval({x: xv})
        np.testing.assert_allclose(vectorized, fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(vectorized, sg.hessian(cost, x, method=method, vectorized=False).eval({x: xv}),
                                   rtol=1e-12, atol=1e-14)
    fy = sg.function([x], y)
    for mode in ("forward", "reverse"):
        got = sg.jacobian(y, x, mode=mode).eval({x: xv})
        np.testing.assert_allclose(got, fd_gradient_jacobian(lambda v: fy(v), xv), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got, sg.jacobian(y, x, mode=mode, vectorized=False).eval({x: xv}),
                                   rtol=1e-13, atol=1e-15)


def test_jacobian_of_matrices_and_a_wide_output():
    X = sg.placeholder("X", (2, 3))
    Y = sg.stack([sg.sum(X * X), sg.prod(X)])          # 2 outputs, 6 inputs: reverse
    Z = sg.tanh(X).T @ X                                 # (3, 3) of (2, 3)
    xv = RNG.normal(size=(2, 3))
    for out in (Y, Z):
        f = sg.function([X], out)
        want = fd_gradient_jacobian(lambda v: f(v), xv).reshape(out.shape + (2, 3))
        np.testing.assert_allclose(sg.jacobian(out, X).eval({X: xv}), want, rtol=1e-6, atol=1e-8)


def test_hvp_of_a_batch_of_vectors():
    x, w = sg.vector("x", 4), sg.matrix("w", 2, 4)
    cost = sg.sum(sg.exp(w @ x)) * sg.sum(sg.sin(x))
    V = RNG.normal(size=(5, 4))
    xv, wv = RNG.normal(size=4), RNG.normal(size=(2, 4))
    for method in ("forward-over-reverse", "reverse-over-reverse"):
        got = sg.hvp(cost, x, V, method=method, batched=True).eval({x: xv, w: wv})
        want = np.stack([sg.hvp(cost, x, v, method=method).eval({x: xv, w: wv}) for v in V])
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # a list of variables, vectors computed from x (held constant)
    got = sg.hvp(cost, [x, w], [sg.stack([x, 2 * x]), np.ones((2, 2, 4))], batched=True)
    values = sg.evaluate(got, {x: xv, w: wv})
    for k, v in enumerate([xv, 2 * xv]):
        want = sg.evaluate(sg.hvp(cost, [x, w], [v, np.ones((2, 4))]), {x: xv, w: wv})
        np.testing.assert_allclose(values[0][k], want[0], rtol=1e-12)
        np.testing.assert_allclose(values[1][k], want[1], rtol=1e-12)
    with pytest.raises(sg.ShapeError, match="stack"):
        sg.hvp(cost, x, np.ones(4), batched=True)


def test_dense_graphs_have_the_same_size_for_every_n():
    def count(n):
        with sg.Graph():
            A, x = sg.matrix("A", n, n), sg.vector("x", n)
            H = sg.hessian(sg.sum(sg.tanh(A @ x) ** 2) + sg.sum(sg.log1p(x * x)), x)
            J = sg.jacobian(sg.tanh(A @ x) * x, x)
            return len(sg.ancestors([H])), len(sg.ancestors([J]))
    assert count(10) == count(200) == count(1000)


def test_compiled_dense_derivatives_are_the_hand_written_ones_and_keep_their_results():
    """The compiled forms (identity products dropped, the diagonal added in place) against NumPy."""
    n = 7
    A, x = sg.matrix("A", n, n), sg.vector("x", n)
    H = sg.hessian(sg.sum(sg.tanh(A @ x) ** 2) + sg.sum(sg.log1p(x * x)), x)
    J = sg.jacobian(sg.tanh(A @ x) * x, x)
    f = sg.function([A, x], [H, J])
    av, xv = RNG.normal(size=(n, n)), RNG.normal(size=n)
    t = np.tanh(av @ xv)
    want_h = (av.T * (2 * (1 - t * t) * (1 - 3 * t * t))) @ av + np.diag(2 * (1 - xv * xv) / (1 + xv * xv) ** 2)
    want_j = ((1 - t * t) * xv)[:, None] * av + np.diag(t)
    h, j = f(av, xv)
    f(av + 1.0, xv - 1.0)  # a second call must not write into the first call's results
    np.testing.assert_allclose(h, want_h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(j, want_j, rtol=1e-12, atol=1e-14)
