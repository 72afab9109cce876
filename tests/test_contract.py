"""Tensor contractions (einsum, tensordot, inner, outer, kron, trace, diag, diagonal, tril, triu,
eye): values against NumPy, and first, second and third derivatives against central differences
and closed forms, with repeated indices, ellipsis, broadcasting, float32 and run-time sizes."""

import json

import numpy as np
import pytest

import symgrad as sg
from finite_differences import along

RNG = np.random.default_rng(13)


def normal(*shape):
    return RNG.standard_normal(shape)


# id, symbolic function, NumPy reference, input shapes
CASES = [
    ("matmul", lambda a, b: sg.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b),
     [(2, 3), (3, 4)]),
    ("implicit", lambda a, b: sg.einsum("jk,ij", a, b), lambda a, b: np.einsum("jk,ij", a, b), [(3, 4), (2, 3)]),
    ("implicit_uppercase_first", lambda a: sg.einsum("bBa", a), lambda a: np.einsum("bBa", a), [(2, 3, 4)]),
    ("trace", lambda a: sg.einsum("ii", a), np.trace, [(3, 3)]),
    ("diagonal", lambda a: sg.einsum("ii->i", a), np.diagonal, [(3, 3)]),
    ("repeated_three_times", lambda a: sg.einsum("iii->i", a), lambda a: np.einsum("iii->i", a), [(3, 3, 3)]),
    ("repeated_apart", lambda a: sg.einsum("iji->ji", a), lambda a: np.einsum("iji->ji", a), [(3, 2, 3)]),
    ("repeated_with_product", lambda a, b: sg.einsum("iij,jk,kk->ik", a, b, a[0]),
     lambda a, b: np.einsum("iij,jk,kk->ik", a, b, a[0]), [(2, 2, 2), (2, 2)]),
    ("sum_all", lambda a: sg.einsum("ij->", a), np.sum, [(2, 3)]),
    ("sum_rows_transposed", lambda a: sg.einsum("ijk->ki", a), lambda a: np.einsum("ijk->ki", a), [(2, 3, 4)]),
    ("outer_letters", lambda a, b: sg.einsum("i,j", a, b), np.outer, [(3,), (2,)]),
    ("scalar_operand", lambda s, a: sg.einsum(",ij->ji", s, a), lambda s, a: np.einsum(",ij->ji", s, a),
     [(), (2, 3)]),
    ("ellipsis_batch", lambda a, b: sg.einsum("...ij,...jk->...ik", a, b),
     lambda a, b: np.einsum("...ij,...jk->...ik", a, b), [(4, 2, 3), (3, 2)]),
    ("ellipsis_broadcast_one", lambda a, b: sg.einsum("...i,...i->...", a, b),
     lambda a, b: np.einsum("...i,...i->...", a, b), [(1, 3), (4, 3)]),
    ("ellipsis_implicit", lambda a, b: sg.einsum("i...,i", a, b), lambda a, b: np.einsum("i...,i", a, b),
     [(3, 2, 4), (3,)]),
    ("ellipsis_summed_in_middle", lambda a: sg.einsum("i...j->...", a), lambda a: np.einsum("i...j->...", a),
     [(2, 3, 4)]),
    ("named_index_broadcast", lambda a, b: sg.einsum("ij,ij->ij", a, b), lambda a, b: np.einsum("ij,ij->ij", a, b),
     [(2, 1), (2, 3)]),
    ("same_operand_twice", lambda a: sg.einsum("ij,ij->", a, a), lambda a: np.einsum("ij,ij->", a, a), [(2, 3)]),
    ("quadratic_form", lambda x, a: sg.einsum("i,ij,j", x, a, x), lambda x, a: x @ a @ x, [(3,), (3, 3)]),
    ("chain_of_four", lambda a, b, c, d: sg.einsum("ij,jk,kl,lm->im", a, b, c, d),
     lambda a, b, c, d: a @ b @ c @ d, [(2, 3), (3, 4), (4, 3), (3, 2)]),
    ("sublists", lambda a, b: sg.einsum(a, [0, 1], b, [1, Ellipsis], [Ellipsis, 0]),
     lambda a, b: np.einsum(a, [0, 1], b, [1, Ellipsis], [Ellipsis, 0]), [(2, 3), (3, 4)]),
    ("tensordot_int", sg.tensordot, np.tensordot, [(2, 3, 4), (3, 4, 2)]),
    ("tensordot_pairs", lambda a, b: sg.tensordot(a, b, ([2, 0], [0, 2])),
     lambda a, b: np.tensordot(a, b, ([2, 0], [0, 2])), [(2, 3, 4), (4, 3, 2)]),
    ("tensordot_zero", lambda a, b: sg.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0), [(2,), (3,)]),
    ("inner", sg.inner, np.inner, [(2, 3), (4, 3)]),
    ("inner_scalar", sg.inner, np.inner, [(), (2, 3)]),
    ("outer", sg.outer, np.outer, [(2, 2), (3,)]),
    ("kron", sg.kron, np.kron, [(2, 3), (3, 2)]),
    ("kron_ranks_differ", sg.kron, np.kron, [(3,), (2, 2)]),
    ("trace_fn", sg.trace, np.trace, [(3, 3)]),
    ("trace_offset_axes", lambda a: sg.trace(a, -1, 2, 0), lambda a: np.trace(a, -1, 2, 0), [(3, 2, 4)]),
    ("diag_embed", sg.diag, np.diag, [(3,)]),
    ("diag_embed_offset", lambda v: sg.diag(v, 2), lambda v: np.diag(v, 2), [(3,)]),
    ("diag_embed_negative_offset", lambda v: sg.diag(v, -1), lambda v: np.diag(v, -1), [(2,)]),
    ("diag_of_matrix", lambda a: sg.diag(a, 1), lambda a: np.diag(a, 1), [(3, 4)]),
    ("diagonal_rectangular", sg.diagonal, np.diagonal, [(4, 3)]),
    ("diagonal_offset_axes", lambda a: sg.diagonal(a, 1, -1, 0), lambda a: np.diagonal(a, 1, -1, 0),
     [(3, 2, 4)]),
    ("tril", sg.tril, np.tril, [(3, 4)]),
    ("tril_1d", lambda v: sg.tril(v, -1), lambda v: np.tril(v, -1), [(3,)]),
    ("triu_batched", lambda a: sg.triu(a, 1), lambda a: np.triu(a, 1), [(2, 3, 3)]),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request):
    return request.param


def test_value_gradient_hvp_and_third_derivative_agree_with_numpy_and_differences(case):
    """The value is NumPy's; the gradient, an HVP and a third directional derivative of the
    nonlinear cost sum(u * sin(y)) agree with central differences (so every rule is itself
    differentiated twice), and compiled code computes what the interpreter does."""
    _, build, ref, shapes = case
    values = [normal(*s) for s in shapes]
    with sg.Graph():
        xs = [sg.placeholder(f"x{k}", s) for k, s in enumerate(shapes)]
        y = build(*xs)
        u = sg.constant(normal(*y.shape))
        cost = sg.sum(u * sg.sin(y))
        grads = sg.grad(cost, xs)
        v, w = normal(*shapes[0]), normal(*shapes[0])
        hv = sg.hvp(cost, xs[0], v)
        third = sg.grad(sg.sum(hv * w), xs[0])  # d/dx0 of w . H v
        outputs = [y, cost, *grads, hv, third]
        feeds = dict(zip(xs, values))
        got = sg.evaluate(outputs, feeds)
        compiled = sg.function(xs, outputs)(*values)
        value_of = sg.function(xs, [cost, hv])

    np.testing.assert_allclose(got[0], ref(*values), rtol=1e-12, atol=1e-12)
    assert got[0].shape == np.shape(ref(*values))
    for a, b in zip(got, compiled):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    eps = 1e-5
    for k, g in enumerate(got[2:2 + len(xs)]):
        assert g.shape == values[k].shape
        z = normal(*shapes[k])
        moved = [z if j == k else np.zeros_like(values[j]) for j in range(len(xs))]
        numeric = along(lambda *a: value_of(*a)[0], values, moved, eps)
        np.testing.assert_allclose(np.sum(g * z), numeric, rtol=1e-7, atol=1e-8)
    first_only = [v] + [np.zeros_like(a) for a in values[1:]]
    grad_of = sg.function(xs, grads[0])
    np.testing.assert_allclose(got[-2], along(grad_of, values, first_only, eps), rtol=1e-6, atol=1e-8)
    z = normal(*shapes[0])
    numeric = along(lambda *a: np.sum(value_of(*a)[1] * w), values, [z] + first_only[1:], eps)
    np.testing.assert_allclose(np.sum(got[-1] * z), numeric, rtol=1e-6, atol=1e-8)


def test_float32_stays_float32_and_agrees_with_float64(case):
    _, build, ref, shapes = case
    values = [normal(*s) for s in shapes]
    results = {}
    for dtype in (np.float32, np.float64):
        with sg.Graph():
            xs = [sg.placeholder(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
            y = build(*xs)
            grads = sg.grad(sg.sum(y * y), xs)
            assert y.dtype == dtype and all(g.dtype == dtype for g in grads)
            results[dtype] = sg.evaluate([y, *grads], dict(zip(xs, [a.astype(dtype) for a in values])))
    for a, b in zip(*results.values()):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# --- closed forms ----------------------------------------------------------------------------

def test_trace_of_a_product_has_the_transpose_as_gradient():
    a, b = normal(3, 4), normal(4, 3)
    A, B = sg.matrix("A", 3, 4), sg.matrix("B", 4, 3)
    ga, gb = sg.evaluate(sg.grad(sg.einsum("ij,ji", A, B), [A, B]), {A: a, B: b})
    np.testing.assert_allclose(ga, b.T, rtol=1e-15)
    np.testing.assert_allclose(gb, a.T, rtol=1e-15)


def test_quadratic_form_gradient_hessian_and_zero_third_derivative():
    x, a = normal(4), normal(4, 4)
    X, A = sg.vector("x", 4), sg.matrix("A", 4, 4)
    f = sg.einsum("i,ij,j->", X, A, X)
    hessian = sg.hessian(f, X)
    third = sg.jacobian(sg.hvp(f, X, np.ones(4)), X, disconnected="zero")
    g, h, t, ga = sg.evaluate([sg.grad(f, X), hessian, third, sg.grad(f, A)], {X: x, A: a})
    np.testing.assert_allclose(g, (a + a.T) @ x, rtol=1e-13)
    np.testing.assert_allclose(h, a + a.T, rtol=1e-15)
    np.testing.assert_array_equal(t, np.zeros((4, 4)))
    np.testing.assert_allclose(ga, np.outer(x, x), rtol=1e-15)


def test_cube_of_a_trace_to_third_order():
    """f(A) = tr(A)^3: grad 3 t^2 I, H[V] = 6 t tr(V) I, and d/dA <W, H[V]> = 6 tr(V) tr(W) I."""
    a, v, w = normal(3, 3), normal(3, 3), normal(3, 3)
    A = sg.matrix("A", 3, 3)
    f = sg.einsum("ii", A) ** 3
    hv = sg.hvp(f, A, v)
    g, h, t = sg.evaluate([sg.grad(f, A), hv, sg.grad(sg.sum(hv * w), A)], {A: a})
    tr = np.trace(a)
    np.testing.assert_allclose(g, 3 * tr ** 2 * np.eye(3), rtol=1e-14)
    np.testing.assert_allclose(h, 6 * tr * np.trace(v) * np.eye(3), rtol=1e-13)
    np.testing.assert_allclose(t, 6 * np.trace(v) * np.trace(w) * np.eye(3), rtol=1e-13)


def test_gradients_of_the_diagonal_ops_are_their_adjoints():
    v, w, m = normal(3), normal(5, 5), normal(4, 3)
    V, M = sg.vector("v", 3), sg.matrix("M", 4, 3)
    gv = sg.grad(sg.sum(sg.constant(w) * sg.diag(V, -2)), V).eval({V: v})
    np.testing.assert_allclose(gv, np.diagonal(w, -2), rtol=1e-15)
    c = normal(2)
    gm = sg.grad(sg.sum(sg.constant(c) * sg.diagonal(M, -2)), M).eval({M: m})
    expected = np.zeros((4, 3))
    expected[[2, 3], [0, 1]] = c
    np.testing.assert_array_equal(gm, expected)
    # tril of a vector is an n x n matrix of rows of v: the gradient sums the kept part of each column
    gt = sg.grad(sg.sum(sg.constant(w[:3, :3]) * sg.tril(V, 1)), V).eval({V: v})
    np.testing.assert_allclose(gt, np.tril(w[:3, :3], 1).sum(0), rtol=1e-14)


def test_repeated_index_of_size_one_broadcasts_like_numpy():
    a, b = normal(1, 1), normal(3)
    A, B = sg.matrix("A", 1, 1), sg.vector("b", 3)
    y = sg.einsum("ii,i->i", A, B)
    value, ga = sg.evaluate([y, sg.grad(sg.sum(y), A)], {A: a, B: b})
    np.testing.assert_allclose(value, np.einsum("ii,i->i", a, b), rtol=1e-15)
    np.testing.assert_allclose(ga, [[b.sum()]], rtol=1e-15)


def test_eye_is_numpys_constant():
    for args in [(3,), (2, 4), (4, 2, 1), (3, 3, -2)]:
        node = sg.eye(*args)
        assert node.op.name == "constant"
        np.testing.assert_array_equal(node.eval(), np.eye(*args))
    assert sg.eye(2, dtype="float32").dtype == np.float32
    assert sg.eye(2, dtype=int).eval().tolist() == [[1, 0], [0, 1]]


# --- dtypes ----------------------------------------------------------------------------------

def test_dtypes_combine_as_elsewhere_in_symgrad():
    f32, f64 = sg.vector("f32", 3, "float32"), sg.vector("f64", 3)
    i = sg.vector("i", 3, "int64")
    with pytest.raises(sg.DTypeError, match=r"einsum: cannot mix float32 and float64"):
        sg.einsum("i,i", f32, f64)
    with pytest.raises(sg.DTypeError, match="tensordot|einsum"):
        sg.tensordot(f32, f64, 1)
    y = sg.einsum("i,i->i", f32, i)  # integers take the float's dtype, as with x32 * ints
    assert y.dtype == np.float32
    value = y.eval({f32: np.ones(3, np.float32), i: [1, 2, 3]})
    assert value.dtype == np.float32 and value.tolist() == [1.0, 2.0, 3.0]
    counts = sg.einsum("i,i", i, i)  # integers alone stay exact integers
    assert counts.dtype == np.int64 and int(counts.eval({i: [1, 2, 2**31]})) == 5 + 2**62
    with pytest.raises(sg.GradientError):
        sg.grad(sg.cast(counts, "float64"), i)


# --- run-time dimensions ---------------------------------------------------------------------

def test_runtime_batch_dimension_values_and_gradients():
    X, W = sg.placeholder("X", (None, 3, 4)), sg.matrix("W", 4, 2)
    y = sg.einsum("bij,jk->bik", X, W)
    assert y.shape == (None, 3, 2) and y.params.optimize == "greedy"
    gX, gW = sg.grad(sg.sum(sg.sin(y)), [X, W])
    assert gX.shape == (None, 3, 4)
    f = sg.function([X, W], [y, gX, gW])
    w = normal(4, 2)
    for n in (1, 5):
        x = normal(n, 3, 4)
        value, gx, gw = f(x, w)
        np.testing.assert_allclose(value, x @ w, rtol=1e-13)
        np.testing.assert_allclose(gx, np.cos(x @ w) @ w.T, rtol=1e-13)
        np.testing.assert_allclose(gw, np.einsum("bij,bik->jk", x, np.cos(x @ w)), rtol=1e-13)


def test_runtime_square_matrix_trace_diagonal_and_triangles():
    M = sg.matrix("M", None, None)
    m = normal(4, 4)
    outputs = [sg.trace(M), sg.einsum("ii->i", M), sg.diagonal(M, 1), sg.tril(M, -1), sg.diag(sg.diagonal(M))]
    grads = [sg.grad(sg.sum(sg.sin(o)), M) for o in outputs]
    values = sg.evaluate(outputs + grads, {M: m})
    refs = [np.trace(m), np.diagonal(m), np.diagonal(m, 1), np.tril(m, -1), np.diag(np.diagonal(m))]
    for value, ref in zip(values, refs):
        np.testing.assert_allclose(value, ref, rtol=1e-15)
    eye = np.eye(4)
    np.testing.assert_allclose(values[5], np.cos(np.trace(m)) * eye, rtol=1e-15)
    np.testing.assert_allclose(values[6], np.diag(np.cos(np.diagonal(m))), rtol=1e-15)
    np.testing.assert_allclose(values[7], np.diag(np.cos(np.diagonal(m, 1)), 1), rtol=1e-15)
    np.testing.assert_allclose(values[8], np.tril(np.cos(np.tril(m, -1)), -1), rtol=1e-15)
    np.testing.assert_allclose(values[9], np.diag(np.cos(np.diagonal(m))), rtol=1e-15)
    with pytest.raises(ValueError, match="collapsing index"):  # 'ii' of a non-square matrix
        sg.evaluate(sg.trace(M) + sg.einsum("ii", M), {M: normal(3, 2)})


def test_runtime_dimensions_must_not_broadcast():
    a, b = sg.placeholder("a", (None, 3)), sg.placeholder("b", (None, 3))
    y = sg.einsum("ni,ni->n", a, b)
    np.testing.assert_allclose(y.eval({a: np.ones((2, 3)), b: np.ones((2, 3))}), [3.0, 3.0])
    with pytest.raises(sg.ShapeError, match=r"index 'n' has size 2 in operand 0 but size 1 in operand 1"):
        y.eval({a: np.ones((2, 3)), b: np.ones((1, 3))})
    with pytest.raises(sg.ShapeError, match="must not broadcast"):
        sg.function([a, b], sg.grad(sg.sum(y), a))(np.ones((2, 3)), np.ones((1, 3)))


def test_runtime_sizes_that_disagree_are_a_shape_error():
    a, b = sg.matrix("a", 2, None), sg.matrix("b", None, 4)
    y = sg.einsum("ij,jk->ik", a, b)
    np.testing.assert_allclose(y.eval({a: np.ones((2, 3)), b: np.ones((3, 4))}), np.full((2, 4), 3.0))
    with pytest.raises(sg.ShapeError, match=r"einsum 'ij,jk->ik': .* disagree on an index of run-time size"):
        y.eval({a: np.ones((2, 3)), b: np.ones((5, 4))})


def test_empty_contracted_axis_gives_zeros_and_empty_gradients():
    a, b = sg.matrix("a", 2, 0), sg.matrix("b", 0, 3)
    y = sg.einsum("ij,jk->ik", a, b)
    value, ga = sg.evaluate([y, sg.grad(sg.sum(y), a)], {a: np.ones((2, 0)), b: np.ones((0, 3))})
    np.testing.assert_array_equal(value, np.zeros((2, 3)))
    assert ga.shape == (2, 0)


def test_runtime_kron_and_outer():
    v, m = sg.vector("v", None), sg.matrix("m", 2, 3)
    k, o = sg.kron(v, m), sg.outer(v, m)
    assert k.shape == (2, None) and o.shape == (None, 6)
    x, y = normal(4), normal(2, 3)
    np.testing.assert_allclose(k.eval({v: x, m: y}), np.kron(x, y), rtol=1e-15)
    np.testing.assert_allclose(o.eval({v: x, m: y}), np.outer(x, y), rtol=1e-15)
    with pytest.raises(sg.ShapeError, match="kron: .* 2 run-time dimensions"):
        sg.kron(sg.matrix("p", None, 2), sg.matrix("q", 2, None))


# --- build-time errors -----------------------------------------------------------------------

A, B, V = (lambda: sg.matrix("a", 2, 3)), (lambda: sg.matrix("b", 4, 5)), (lambda: sg.vector("v", 3))
ERRORS = [
    (lambda: sg.einsum("ij,jk->ik", A(), B()),
     r"einsum: index 'j' has size 3 in operand 0 \(placeholder 'a' f64\[2,3\]\) but size 4 in operand 1 "
     r"\(placeholder 'b' f64\[4,5\]\) \(subscripts 'ij,jk->ik'\)"),
    (lambda: sg.einsum("ij,jk", A()), r"'ij,jk' name 2 operands but 1 were given \(placeholder 'a' f64\[2,3\]\)"),
    (lambda: sg.einsum("ijk", A()), r"subscript 'ijk' of operand 0 names 3 indices but placeholder 'a' f64\[2,3\]"),
    (lambda: sg.einsum("i...jk", V()), r"subscript 'i...jk' of operand 0 names 3 indices but .* only 1"),
    (lambda: sg.einsum("i1", A()), r"invalid subscript '1' in 'i1'"),
    (lambda: sg.einsum("i.j", A()), r"invalid subscript '.' in 'i.j'"),
    (lambda: sg.einsum("ij->i->j", A()), r"more than one '->'"),
    (lambda: sg.einsum("ij->ii", A()), r"output of 'ij->ii' names index 'i' more than once"),
    (lambda: sg.einsum("ij->k", A()), r"output of 'ij->k' names index 'k', which no operand has"),
    (lambda: sg.einsum("...i->i", A()), r"output of '...i->i' has no '...'"),
    (lambda: sg.einsum("ii", A()), r"index 'i' repeats in subscript 'ii' of operand 0 with sizes \[2, 3\]"),
    (lambda: sg.einsum("...ij,...jk", sg.placeholder("p", (2, 2, 3)), sg.placeholder("q", (3, 3, 4))),
     r"the '...' axis -1 has size 2 in operand 0 \(placeholder 'p' f64\[2,2,3\]\) but size 3 in operand 1"),
    (lambda: sg.einsum("i", V(), optimize="fast"), r"optimize must be"),
    (lambda: sg.einsum("i"), r"needs at least one operand"),
    (lambda: sg.einsum(V(), [0], V()), r"einsum: give a list of indices after each operand"),
    (lambda: sg.einsum(V(), [60]), r"index 60 .* must be an int in \[0, 52\)"),
    (lambda: sg.tensordot(A(), B()), r"tensordot: shape mismatch for the sum over axis 0 of placeholder 'a'"),
    (lambda: sg.tensordot(A(), B(), 3), r"tensordot: axes=3"),
    (lambda: sg.tensordot(A(), B(), ([0], [0, 1])), r"1 axes of a but 2 of b"),
    (lambda: sg.tensordot(A(), B(), ([0, 0], [0, 1])), r"repeated axis"),
    (lambda: sg.tensordot(sg.vector("u", 1), V(), 1), r"shape mismatch .* \(size 1\) .* \(size 3\)"),
    (lambda: sg.inner(A(), B()), r"inner: the last axes of placeholder 'a' f64\[2,3\] and placeholder 'b'"),
    (lambda: sg.diagonal(V()), r"diagonal: needs an array of at least 2 dimensions, got placeholder 'v'"),
    (lambda: sg.diagonal(A(), 0, 1, -1), r"axis1 and axis2 must differ"),
    (lambda: sg.diagonal(A(), 0, 0, 2), r"axis 2 is out of range"),
    (lambda: sg.trace(A(), offset=1.5), r"offset must be an int"),
    (lambda: sg.diag(sg.placeholder("t", (2, 2, 2))), r"diag: the input must be 1-d or 2-d"),
    (lambda: sg.tril(sg.scalar("s")), r"tril: needs an array of at least 1 dimension"),
    (lambda: sg.eye(-1), r"eye: N must be a non-negative int"),
    (lambda: sg.eye(2, dtype="complex128"), r"eye: dtype complex128 is not supported"),
]


@pytest.mark.parametrize("build, message", ERRORS, ids=range(len(ERRORS)))
def test_bad_input_is_a_clear_error_at_build_time(build, message):
    with sg.Graph(), pytest.raises((sg.ShapeError, sg.DTypeError), match=message):
        build()


# --- planning, listing, drawing, saving, generated code ----------------------------------------

def test_a_large_contraction_is_planned_once_and_split_into_pairwise_steps():
    a, b, c = normal(30, 40), normal(40, 50), normal(50, 6)
    with sg.Graph():
        A, B, C = sg.matrix("A", 30, 40), sg.matrix("B", 40, 50), sg.matrix("C", 50, 6)
        y = sg.einsum("ij,jk,kl->il", A, B, C)
        # B @ C first (the cheap order), then A @ (B C): one node per step
        assert y.op.name == "einsum" and y.inputs[0] is A and y.inputs[1].op.name == "einsum"
        assert y.inputs[1].inputs == (B, C)
        big = sg.einsum("ij,jk->ik", sg.matrix("P", 100, 100), sg.matrix("Q", 100, 100))
        assert big.params.optimize == ("einsum_path", (0, 1))  # reaches BLAS through tensordot
        small = sg.einsum("ij,jk->ik", A[:3, :3], B[:3, :3])
        assert small.params.optimize is False  # NumPy's one C loop
        grads = sg.grad(sg.sum(y * y), [A, B, C])
        values = sg.function([A, B, C], [y, *grads])(a, b, c)
    np.testing.assert_allclose(values[0], a @ b @ c, rtol=1e-12)
    r = 2 * a @ b @ c
    for got, expected in zip(values[1:], [r @ (b @ c).T, a.T @ r @ c.T, (a @ b).T @ r]):
        np.testing.assert_allclose(got, expected, rtol=1e-11)


@pytest.mark.parametrize("subscripts, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,kj->ki", [(3, 4), (5, 4)]), ("ji,jk->ki", [(4, 3), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ibj,kjb->bki", [(3, 2, 4), (5, 4, 2)]),
    ("abcd,cdbe->aeb", [(2, 3, 4, 2), (4, 2, 3, 3)]), ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]),
    ("nik,nij->jk", [(3, 2, 4), (3, 2, 5)]), ("i,i->", [(4,), (4,)]), ("ij,j->i", [(3, 4), (4,)]),
])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
def test_planned_products_of_two_operands_match_numpy(subscripts, shapes, dtype):
    """optimize='greedy' plans even small contractions, which then run as one np.matmul."""
    arrays = [(normal(*s) * 3).astype(dtype) for s in shapes]
    with sg.Graph():
        xs = [sg.placeholder(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
        y = sg.einsum(subscripts, *xs, optimize="greedy")
        assert isinstance(y.params.optimize, tuple)
        value = y.eval(dict(zip(xs, arrays)))
    expected = np.einsum(subscripts, *arrays)
    assert value.dtype == expected.dtype and value.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=1e-5 if dtype == "float32" else 1e-13)


def test_listing_drawing_generated_code_and_saved_files(tmp_path):
    with sg.Graph():
        X, W = sg.placeholder("X", (None, 3, 3)), sg.matrix("W", 3, 3)
        y = sg.einsum("...ii,ij->...j", X, W) + sg.sum(sg.tril(W, -1)) + sg.trace(sg.triu(W))
        cost = sg.sum(y * y) + sg.sum(sg.diag(sg.diagonal(W, 1), -1))
        big = sg.einsum("ij,jk->ik", sg.matrix("P", 40, 40), sg.matrix("Q", 40, 40))
        outputs = [cost, *sg.grad(cost, [X, W]), big]
        text = sg.listing(outputs)
        assert "einsum[optimize=greedy, subscripts=Aii,ij->Aj]" in text
        assert "diagonal_scatter" in text and "tril[k=-1]" in text
        assert "einsum" in sg.to_dot(outputs)
        f = sg.function([X, W, "P", "Q"], outputs)
        assert "subscripts='Aii,ij->Aj'" in f.source and "np.tril(" in f.source and "np.diagonal(" in f.source
        path = tmp_path / "contract.json"
        sg.save(outputs, path)
        graph, loaded = sg.load(path)
    assert [(n.op, n.params, n.shape) for n in sg.ancestors(loaded)] == [
        (n.op, n.params, n.shape) for n in sg.ancestors(outputs)]
    saved = json.loads(path.read_text())
    assert any(p.get("optimize") == ["einsum_path", [0, 1]] for p in
               (n.get("params", {}) for n in saved["nodes"]))
    feeds = {"X": normal(2, 3, 3), "W": normal(3, 3), "P": normal(40, 40), "Q": normal(40, 40)}
    for a, b, c in zip(sg.evaluate(outputs, feeds), sg.evaluate(loaded, feeds), f(*feeds.values())):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-13)
