"""Sparsity patterns from the graph and compressed sparse derivatives.

A pattern may be larger than the nonzeros at a point, never smaller: every case of the op table
checks that the dense Jacobian's (and the Hessian's of a linear functional of the case) nonzeros,
at the case's point and at edge points (zeros, ties), lie inside the pattern found from the graph.
Sparse derivatives must equal the dense ones (sg.jacobian, sg.hessian) on random inputs.
"""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings

import graph_strategies as gs

import symgrad as sg
import symgrad.sparsity
from example_modules import load_example
from helpers import CASES

RNG = np.random.default_rng(15)
# the derivatives are taken with respect to the float inputs: a case needs one
FLOAT_CASES = [c for c in CASES if any(a.dtype.kind == "f" for a in c.args)]
FLOAT_IDS = [c.id for c in FLOAT_CASES]


def _joint(c, values=None):
    """The case built on slices of one vector z holding every float input (so Hessian patterns
    are checked across inputs too), the feeds for ``values`` (default: the case's own)."""
    values = c.args if values is None else values
    floats = [a for a in c.args if a.dtype.kind == "f"]
    z = sg.vector("z", sum(a.size for a in floats))
    nodes, feeds, offset = [], {}, 0
    for k, (arg, value) in enumerate(zip(c.args, values)):
        if arg.dtype.kind == "f":
            nodes.append(sg.reshape(z[offset:offset + arg.size], arg.shape))
            offset += arg.size
        else:
            nodes.append(sg.placeholder(f"a{k}", arg.shape, arg.dtype))
            feeds[nodes[-1]] = value
    feeds[z] = np.concatenate([np.ravel(v) for a, v in zip(c.args, values) if a.dtype.kind == "f"])
    return c.build(*nodes), z, feeds


def _points(c):
    """The case's own values, nearby ones, and edge points: zeros and ties (all floats equal)."""
    def each(change):
        return [change(a) if a.dtype.kind == "f" else a for a in c.args]
    return [c.args, each(lambda a: a + 0.01 * RNG.standard_normal(a.shape)), each(np.zeros_like),
            each(lambda a: np.full_like(a, 0.5))]


def _missed(dense: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """Finite nonzeros outside the pattern (NaN/inf at a singular edge point say nothing)."""
    dense = dense.reshape(pattern.shape)
    with np.errstate(invalid="ignore"):
        return np.argwhere(np.isfinite(dense) & (dense != 0) & ~pattern)


@pytest.mark.parametrize("c", FLOAT_CASES, ids=FLOAT_IDS)
def test_patterns_hold_every_structural_nonzero(c):
    out, z, feeds = _joint(c)
    if not np.issubdtype(out.dtype, np.floating):
        return
    weights = sg.constant(RNG.standard_normal(out.shape))
    functional = (weights * out).sum() if out.ndim else weights * out  # linear in out: H is the op's own
    pattern = sg.jacobian_sparsity(out, z)
    assert pattern.dtype == bool and pattern.shape == (max(out.size, 1) if out.ndim else 1, z.size)
    h_pattern = sg.hessian_sparsity(functional, z)
    # the gradient's graph runs the derivative-only ops (scatter_add, pad_adjoint, permute...):
    # its Jacobian pattern must hold the Hessian's nonzeros too
    g_pattern = sg.jacobian_sparsity(sg.grad(functional, z, disconnected="zero"), z)
    jac = sg.jacobian(out, z, disconnected="zero")
    hess = sg.hessian(functional, z, disconnected="zero")
    for values in _points(c):
        _, _, point = _joint(c, values)
        point = {node.name: value for node, value in point.items()}
        try:
            with np.errstate(all="ignore"):
                j_value, h_value = sg.evaluate([jac, hess], point)
        except (sg.Error, np.linalg.LinAlgError, ValueError):
            continue  # an edge point outside the op's domain (a singular matrix)
        assert not _missed(j_value, pattern).size, f"jacobian pattern misses {_missed(j_value, pattern)[:5]}"
        assert not _missed(h_value, h_pattern).size, f"hessian pattern misses {_missed(h_value, h_pattern)[:5]}"
        assert not _missed(h_value, g_pattern).size, f"gradient's pattern misses {_missed(h_value, g_pattern)[:5]}"


# Ops and options the case table leaves out (or only meets in derivatives), built on one vector z.
def _m(z, *shape):
    return sg.reshape(z, shape)


EXTRA = {
    "pad_constant_1": (12, lambda z: sg.pad(_m(z, 3, 4) ** 2, ((1, 0), (2, 1)), constant_values=1.0)),
    "pad_edge": (12, lambda z: sg.pad(sg.sin(_m(z, 3, 4)), ((1, 2), (0, 1)), mode="edge")),
    "pad_reflect": (12, lambda z: sg.pad(sg.exp(_m(z, 3, 4)), 2, mode="reflect")),
    "take_along_axis": (12, lambda z: sg.take_along_axis(_m(z, 3, 4) ** 3, np.array([[0, 3], [1, 1], [2, 0]]), 1)),
    "take_repeated": (6, lambda z: sg.take(z * z, np.array([0, 0, 5, 2, 2]))),
    "at_add_repeated": (6, lambda z: (z ** 2).at[np.array([0, 0, 3])].add(sg.sin(z[1:4]))),
    "at_set": (6, lambda z: sg.exp(z).at[np.array([1, 4])].set(z[2:4] * z[0])),
    "at_multiply": (6, lambda z: z.at[np.array([1, 1, 2])].multiply(z[3:6])),
    "logsumexp_axis": (12, lambda z: sg.logsumexp(_m(z, 3, 4), axis=1)),
    "leaky_relu": (6, lambda z: sg.leaky_relu(z, 0.1) * z[0]),
    "arctan2": (6, lambda z: sg.arctan2(z[:3], z[3:])),
    "xlogy": (6, lambda z: sg.special.xlogy(z[:3], z[3:] ** 2 + 1)),
    "slogdet": (9, lambda z: sg.linalg.slogdet(_m(z, 3, 3) + 3 * np.eye(3))[1]),
    "eigvalsh": (9, lambda z: sg.linalg.eigvalsh(_m(z, 3, 3) + _m(z, 3, 3).T)),
    "solve_batched": (16, lambda z: sg.linalg.solve(_m(z[:8], 2, 2, 2) + 3 * np.eye(2), _m(z[8:], 2, 2, 2))),
    "cumsum_flat": (6, lambda z: sg.cumsum(_m(z, 2, 3) ** 2)),
    "cumprod_axis": (6, lambda z: sg.cumprod(_m(z, 2, 3), axis=1)),
    "sort_rows": (6, lambda z: sg.sort(_m(z, 2, 3) ** 3, axis=1)),
    "roll_tile_repeat": (6, lambda z: sg.repeat(sg.tile(sg.roll(z ** 2, 2), 2), 2)),
    "flip_moveaxis": (12, lambda z: sg.moveaxis(sg.flip(_m(z, 2, 3, 2) ** 2, 1), 0, 2)),
    "einsum_trace": (9, lambda z: sg.einsum("ii->", _m(z, 3, 3) ** 2)),
    "einsum_bilinear": (12, lambda z: sg.einsum("ij,jk->ik", _m(z[:6], 2, 3), _m(z[6:], 3, 2))),
    "matmul_batched_vector": (18, lambda z: _m(z[:12], 2, 2, 3) @ z[12:15] * z[15:17].sum()),
    "kron_diagonal_tril": (8, lambda z: sg.tril(sg.kron(_m(z[:4], 2, 2), _m(z[4:], 2, 2))) + sg.diag(z[:4] ** 2)),
    "split_concatenate": (6, lambda z: sg.concatenate(sg.split(z ** 2, 3)[::-1])),
    "softmax_mse": (6, lambda z: sg.softmax(_m(z, 2, 3), axis=0) * sg.mse(z[:3], z[3:])),
    "where_relu_max": (6, lambda z: sg.where(z > 0, sg.relu(z) * z[0], sg.max(z ** 2))),
    "sum_squares_prod": (6, lambda z: (z[:3] ** 2).sum() * sg.prod(z[3:])),
    "divide_broadcast": (6, lambda z: _m(z, 2, 3) / z[:3]),
}


@pytest.mark.parametrize("name", EXTRA)
def test_patterns_hold_on_more_ops(name):
    n, build = EXTRA[name]
    z = sg.vector("z", n)
    out = build(z)
    functional = (sg.constant(RNG.standard_normal(out.shape)) * out).sum() if out.ndim else out
    pattern, h_pattern = sg.jacobian_sparsity(out, z), sg.hessian_sparsity(functional, z)
    g_pattern = sg.jacobian_sparsity(sg.grad(functional, z), z)
    jac, hess = sg.jacobian(out, z), sg.hessian(functional, z)
    for point in (RNG.standard_normal(n), RNG.uniform(0.5, 1.5, n), np.zeros(n), np.full(n, 0.5)):
        with np.errstate(all="ignore"):
            try:
                j_value, h_value = sg.evaluate([jac, hess], {z: point})
            except (sg.Error, np.linalg.LinAlgError):
                continue
        for value, held in ((j_value, pattern), (h_value, h_pattern), (h_value, g_pattern)):
            assert not _missed(value, held).size, f"pattern misses {_missed(value, held)[:5]}"
    J = sg.sparse_jacobian(out, z)
    point = {z: RNG.uniform(0.5, 1.5, n)}
    values, dense = sg.evaluate([J.values, jac], point)
    np.testing.assert_allclose(J.to_dense(values), dense.reshape(J.shape), rtol=1e-12, atol=1e-12)
    H = sg.sparse_hessian(functional, z)
    values, dense = sg.evaluate([H.values, hess], point)
    np.testing.assert_allclose(H.to_dense(values), dense, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("c", FLOAT_CASES, ids=FLOAT_IDS)
def test_sparse_jacobian_equals_the_dense_one(c):
    out, z, feeds = _joint(c)
    if not np.issubdtype(out.dtype, np.floating):
        return
    J = sg.sparse_jacobian(out, z)
    dense = sg.jacobian(out, z, disconnected="zero")
    values, expected = sg.evaluate([J.values, dense], feeds)
    assert J.rows.dtype.kind == "i" and J.cols.dtype.kind == "i"
    assert J.sweeps <= z.size
    np.testing.assert_allclose(J.to_dense(values), expected.reshape(J.shape), rtol=1e-12, atol=1e-12)


# --- functions with known structure ----------------------------------------------------------------

sparse_newton = load_example("sparse_newton")
extended_rosenbrock = sparse_newton.extended_rosenbrock
chained_rosenbrock = sparse_newton.chained_rosenbrock
bratu = sparse_newton.bratu


@pytest.mark.parametrize("build, sweeps", [(extended_rosenbrock, 2), (chained_rosenbrock, 3)])
def test_sparse_hessian_equals_the_dense_one(build, sweeps):
    x = sg.vector("x", 10)
    f = build(x)
    H = sg.sparse_hessian(f, x)
    assert H.sweeps == sweeps and H.shape == (10, 10)
    for _ in range(3):
        point = {x: RNG.standard_normal(10)}
        values, dense = sg.evaluate([H.values, sg.hessian(f, x)], point)
        np.testing.assert_allclose(H.to_dense(values), dense, rtol=1e-12)
        np.testing.assert_allclose(H.to_scipy(values).toarray(), dense, rtol=1e-12)


def test_star_coloring_reads_an_arrowhead_in_two_sweeps():
    x = sg.vector("x", 40)
    f = x[0] * sg.sum(sg.sin(x[1:])) + sg.sum(x ** 4)  # row and column 0 full, plus the diagonal
    H = sg.sparse_hessian(f, x)
    assert H.sweeps == 2 and H.nnz == 40 + 2 * 39
    point = {x: RNG.standard_normal(40)}
    values, dense = sg.evaluate([H.values, sg.hessian(f, x)], point)
    np.testing.assert_allclose(H.to_dense(values), dense, rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_sparse_hessian_of_random_structures_equals_the_dense_one(seed):
    """Random pairs x_i x_j (and cubes) give random symmetric patterns: recovery must hold on each."""
    rng = np.random.default_rng(seed)
    n = 30
    i, j = rng.integers(0, n, (2, rng.integers(5, 60)))
    x = sg.vector("x", n)
    f = sg.sum(sg.tanh(x[i] * x[j])) + sg.sum(x[rng.integers(0, n, 10)] ** 3)
    H = sg.sparse_hessian(f, x)
    pattern = sg.hessian_sparsity(f, x)
    assert H.nnz == pattern.sum() and H.sweeps < n
    point = {x: rng.standard_normal(n)}
    values, dense = sg.evaluate([H.values, sg.hessian(f, x)], point)
    np.testing.assert_allclose(H.to_dense(values), dense, rtol=1e-12, atol=1e-14)
    assert not _missed(dense, pattern).size


def test_rosenbrock_patterns_are_exact():
    x = sg.vector("x", 8)
    block = np.kron(np.eye(4, dtype=bool), np.ones((2, 2), bool))
    np.testing.assert_array_equal(sg.hessian_sparsity(extended_rosenbrock(x), x), block)
    tridiagonal = np.abs(np.subtract.outer(np.arange(8), np.arange(8))) <= 1
    np.testing.assert_array_equal(sg.hessian_sparsity(chained_rosenbrock(x), x), tridiagonal)


def test_bratu_jacobian_in_three_sweeps():
    n = 2000
    u = sg.vector("u", n)
    J = sg.sparse_jacobian(bratu(u), u)
    assert J.sweeps == 3 and J.nnz == 3 * n - 2
    point = {u: RNG.uniform(0, 1, n)}
    values = J.values.eval(point)
    h = 1.0 / (n + 1)
    expected = (np.diag(np.full(n, 2.0)) - np.eye(n, k=1) - np.eye(n, k=-1)) / h ** 2 - np.diag(np.exp(point[u]))
    np.testing.assert_allclose(J.to_dense(values), expected, rtol=1e-12)


def test_large_rosenbrock_pattern_and_sweeps():
    n = 20_000
    x = sg.vector("x", n)
    rows, cols = sg.hessian_sparsity(chained_rosenbrock(x), x, format="indices")
    assert rows.size == 3 * n - 2 and np.all(np.abs(rows - cols) <= 1)
    pattern = sg.hessian_sparsity(extended_rosenbrock(x), x, format="scipy")
    assert scipy.sparse.issparse(pattern) and pattern.nnz == 2 * n
    assert sg.sparse_hessian(extended_rosenbrock(x), x).sweeps == 2


# --- conservative facts, options and errors --------------------------------------------------------

def test_elements_that_never_reach_the_cost_add_no_hessian_terms():
    x = sg.vector("x", 6)
    y = sg.exp(x) * x[::-1]
    expected = np.zeros((6, 6), bool)
    expected[np.ix_([1, 4], [1, 4])] = True
    np.testing.assert_array_equal(sg.hessian_sparsity(y[1] + y[4] * 0.0, x), expected)
    # y_0 = exp(x_0) x_5 and y_1 = exp(x_1) x_4: linear in x_5 and x_4, so no (5, 5) or (4, 4) term
    expected = np.zeros((6, 6), bool)
    for i, j in ((0, 0), (0, 5), (5, 0), (1, 1), (1, 4), (4, 1)):
        expected[i, j] = True
    np.testing.assert_array_equal(sg.hessian_sparsity(sg.sum(y[:2]), x), expected)


def test_mul_adds_cross_terms_only_and_division_by_a_constant_is_linear():
    x = sg.vector("x", 3)
    assert sg.hessian_sparsity(x[0] * x[1] + x[2] / 2.0, x).astype(int).tolist() == [[0, 1, 0], [1, 0, 0],
                                                                                     [0, 0, 0]]
    assert sg.hessian_sparsity(1.0 / x[2] + sg.relu(x[0]), x).astype(int).tolist() == [[0, 0, 0], [0, 0, 0],
                                                                                        [0, 0, 1]]


def test_a_custom_op_without_the_fact_is_dense():
    cube = sg.Op("cube_sparsity_test", lambda x: x ** 3, lambda x: (x.shape, x.dtype),
                 vjp=(lambda out_bar, out, x: out_bar * 3.0 * x * x,),
                 jvp=(lambda x_dot, out, x: x_dot * 3.0 * x * x,))
    x = sg.vector("x", 3)
    assert sg.jacobian_sparsity(cube(x), x).all()
    assert sg.hessian_sparsity(cube(x).sum(), x).all()


def test_matmul_and_reductions_union_over_contracted_axes():
    x = sg.matrix("x", 2, 3)
    a = sg.constant(np.ones((4, 2)))
    pattern = sg.jacobian_sparsity(a @ x, x)  # (4, 3) result: element (i, j) reads column j of x
    expected = np.zeros((4, 3, 2, 3), bool)
    for j in range(3):
        expected[:, j, :, j] = True
    np.testing.assert_array_equal(pattern, expected.reshape(12, 6))
    np.testing.assert_array_equal(sg.jacobian_sparsity(x.sum(axis=1), x), np.repeat(np.eye(2, dtype=bool), 3, 1))


def test_batched_decompositions_are_dense_per_matrix_only():
    a = sg.placeholder("a", (3, 2, 2))
    blocks = np.kron(np.eye(3, dtype=bool), np.ones((4, 4), bool))
    inverse = sg.linalg.inv(a)
    np.testing.assert_array_equal(sg.jacobian_sparsity(inverse, a), blocks)
    point = {a: RNG.standard_normal((3, 2, 2)) + 3 * np.eye(2)}
    assert not _missed(sg.jacobian(inverse, a).eval(point), blocks).size
    np.testing.assert_array_equal(sg.hessian_sparsity(sg.sum(sg.linalg.det(a)), a), blocks)


def test_formats_and_errors(monkeypatch):
    x = sg.vector("x", 3)
    y = x * x
    dense = sg.jacobian_sparsity(y, x)
    np.testing.assert_array_equal(sg.jacobian_sparsity(y, x, format="scipy").toarray(), dense)
    rows, cols = sg.jacobian_sparsity(y, x, format="indices")
    assert rows.tolist() == cols.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="format"):
        sg.jacobian_sparsity(y, x, format="csr")
    with pytest.raises(sg.ShapeError, match="run-time"):
        sg.jacobian_sparsity(sg.placeholder("r", (None,)) * 2.0, sg.placeholder("r", (None,)))
    with pytest.raises(sg.ShapeError, match="scalar"):
        sg.hessian_sparsity(y, x)
    monkeypatch.setattr(symgrad.sparsity, "scipy_sparse", None)
    with pytest.raises(ImportError, match="SciPy"):
        sg.jacobian_sparsity(y, x, format="scipy")
    J = sg.sparse_jacobian(y, x)
    with pytest.raises(ImportError, match="SciPy"):
        J.to_scipy(np.ones(3))


def test_independent_output_has_an_empty_pattern():
    x, z = sg.vector("x", 3), sg.vector("z", 2)
    assert not sg.jacobian_sparsity(sg.exp(z), x).any()
    with pytest.raises(sg.GradientError, match="does not depend"):
        sg.sparse_jacobian(sg.exp(z), x)
    with pytest.raises(sg.GradientError, match="does not depend"):
        sg.sparse_hessian(sg.sum(sg.exp(z)), x)
    linear = sg.sparse_hessian(sg.sum(x) + 1.0, x)  # connected but linear: a zero Hessian
    assert linear.sweeps == 0 and linear.nnz == 0
    J = sg.sparse_jacobian(sg.exp(z), x, disconnected="zero")
    assert J.sweeps == 0 and J.nnz == 0 and J.to_dense(J.values.eval({z: np.zeros(2)})).shape == (2, 3)


def test_sparse_newton_example_converges(capsys):
    results = sparse_newton.main(n=1000)
    assert "2 sweeps" in capsys.readouterr().out
    assert results["sweeps"] == 2 and results["error"] < 1e-6 and results["gradient"] < 1e-8


def test_deep_graphs_and_the_dense_and_merging_paths_give_the_same_patterns(monkeypatch):
    x = sg.vector("x", 30)
    y = x
    for k in range(6000):  # deeper than Python's recursion limit
        y = sg.sin(y) if k % 2 else 0.5 * y + x[::-1]
    assert sg.jacobian_sparsity(y, x).sum() == 60  # x_i and its mirror
    a = sg.constant(RNG.standard_normal((20, 30)) * (RNG.random((20, 30)) < 0.2))
    f = sg.sum(sg.tanh(a @ x) ** 2) + sg.sum(sg.exp(y[:3]))
    g = sg.sum(sg.exp(y[:3]))
    listed, chain = sg.hessian_sparsity(f, x), sg.hessian_sparsity(g, x)
    assert listed.all()  # a @ x is dense by structure: a constant's zeros are values, not structure
    for i in range(3):  # y_i depends on x_i and its mirror only; y_3.. never reach g: no terms from them
        assert chain[np.ix_([i, 29 - i], [i, 29 - i])].all()
    assert chain.sum() == 12
    monkeypatch.setattr(symgrad.sparsity, "_PAIR_BUDGET", 5)  # dense products and frequent merges
    np.testing.assert_array_equal(sg.hessian_sparsity(f, x), listed)
    np.testing.assert_array_equal(sg.hessian_sparsity(g, x), chain)


@settings(max_examples=200)
@given(gs.programs(edges=gs.edge_families("all")))
def test_patterns_hold_on_random_graphs_at_edge_points(program):
    """Random programs (zeros, ties, kinks, repeated indices...): dense derivatives at the drawn
    point, one-sided where documented, never have a finite nonzero outside the pattern."""
    built = gs.build(program)
    with built.graph:
        y = built.output
        cost = sg.sum(y * program.weights)
        feeds = built.feeds(program)
        for x in built.inputs:
            pattern, h_pattern = sg.jacobian_sparsity(y, x), sg.hessian_sparsity(cost, x)
            with np.errstate(all="ignore"):
                j_value, h_value = sg.evaluate([sg.jacobian(y, x, disconnected="zero"),
                                                sg.hessian(cost, x, disconnected="zero")], feeds)
            assert not _missed(j_value, pattern).size, f"{_missed(j_value, pattern)[:5]}\n{program}"
            assert not _missed(h_value, h_pattern).size, f"{_missed(h_value, h_pattern)[:5]}\n{program}"
