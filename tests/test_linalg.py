"""sg.linalg: values against NumPy, derivatives of the first three orders against finite differences
and closed forms, batches and float32, singular and degenerate points, build-time errors, and one
kernel call per decomposition in both executors.

The op table (helpers.py) checks each op's value, gradient, second derivative, VJP/JVP identity and
float32 too; this file adds what the table cannot say.
"""

import numpy as np
import pytest

import symgrad as sg
from example_modules import load_example
from finite_differences import along
from symgrad.ops.decompositions import triangular_solve_numpy

L = sg.linalg
RNG = np.random.default_rng(20261130)


def well_conditioned(*shape):
    n = shape[-1]
    return RNG.standard_normal(shape) + 2.0 * np.sqrt(n) * np.eye(n)


def spd(*shape):
    m = RNG.standard_normal(shape)
    n = shape[-1]
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def lower_symmetric(a):
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


# op name -> (build from one matrix, NumPy reference, a matrix in the op's smooth domain)
SQUARE = 4
OPS = {
    "solve": (lambda a: L.solve(a, sg.cast(sg.constant(np.arange(1.0, 5.0)), a.dtype)),
              lambda a: np.linalg.solve(a, np.arange(1.0, 5.0)), well_conditioned),
    "inv": (L.inv, np.linalg.inv, well_conditioned),
    "det": (L.det, np.linalg.det, well_conditioned),
    "slogdet": (lambda a: L.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1], well_conditioned),
    "cholesky": (L.cholesky, np.linalg.cholesky, spd),
    "solve_triangular": (lambda a: L.solve_triangular(a, a[..., :, :2], lower=True),
                         lambda a: np.linalg.solve(np.tril(a), a[..., :, :2]), well_conditioned),
    "eigh_w": (lambda a: L.eigh(a)[0], lambda a: np.linalg.eigh(a)[0], spd),
    "eigh_v": (lambda a: L.eigh(a)[1] ** 2, lambda a: np.linalg.eigh(a)[1] ** 2, spd),
    "eigvalsh": (L.eigvalsh, np.linalg.eigvalsh, spd),
    "svd_u": (lambda a: L.svd(a)[0] ** 2, lambda a: np.linalg.svd(a)[0] ** 2, well_conditioned),
    "svd_s": (lambda a: L.svd(a)[1], lambda a: np.linalg.svd(a)[1], well_conditioned),
    "svd_vh": (lambda a: L.svd(a)[2] ** 2, lambda a: np.linalg.svd(a)[2] ** 2, well_conditioned),
    "qr": (lambda a: L.qr(a)[0] * L.qr(a)[1][..., :1, :], lambda a: np.linalg.qr(a)[0] * np.linalg.qr(a)[1][..., :1, :],
           well_conditioned),
    "pinv": (L.pinv, np.linalg.pinv, well_conditioned),
    "norm_nuc": (lambda a: L.norm(a, "nuc", axis=(-2, -1)), lambda a: np.linalg.norm(a, "nuc", axis=(-2, -1)),
                 well_conditioned),
}


def along_line(name, batch=(), dtype="float64"):
    """g(t) = sum(u * f(A + t V)) for the op ``name``: its graph, t, and a point A with a direction V."""
    build, _, sample = OPS[name]
    a, v = sample(*batch, SQUARE, SQUARE), RNG.standard_normal(batch + (SQUARE, SQUARE))
    t = sg.scalar("t", dtype)
    out = build(sg.constant(a.astype(dtype)) + t * sg.constant(v.astype(dtype)))
    u = sg.constant(RNG.standard_normal(out.shape).astype(dtype))
    return sg.sum(u * out), t


@pytest.mark.parametrize("name", sorted(OPS))
def test_value_batched_and_float32(name):
    build, reference, sample = OPS[name]
    a = sample(3, SQUARE, SQUARE)
    for dtype, rtol in (("float64", 1e-11), ("float32", 2e-4)):
        x = sg.placeholder(f"a_{dtype}", a.shape, dtype)
        out = build(x)
        value = sg.evaluate(out, {x: a.astype(dtype)})
        assert value.dtype == np.dtype(dtype) and out.dtype == np.dtype(dtype)
        expected = reference(a.astype(dtype).astype(np.float64))
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", sorted(OPS))
def test_three_derivatives_along_a_line_match_finite_differences(name):
    """d/dt, d2/dt2 and d3/dt3 of g(t) = sum(u * f(A + tV)), batched: each symbolic derivative
    against the central difference of the one before (the third derivative takes three passes)."""
    with sg.Graph():
        g, t = along_line(name, batch=(2,))
        derivatives = [g]
        for _ in range(3):
            derivatives.append(sg.grad(derivatives[-1], t))
        f = sg.function([t], derivatives)
        h = 1e-3
        at_0, plus, minus, plus2, minus2 = f(0.0), f(h), f(-h), f(2 * h), f(-2 * h)
        for k in range(1, 4):  # the five-point stencil
            numeric = (8 * (plus[k - 1] - minus[k - 1]) - (plus2[k - 1] - minus2[k - 1])) / (12 * h)
            scale = max(1.0, abs(float(numeric)))
            assert abs(float(at_0[k]) - numeric) <= 2e-5 * scale, (name, k, at_0[k], numeric)


@pytest.mark.parametrize("name", sorted(OPS))
def test_hvp_matches_finite_differences_of_the_gradient(name):
    build, _, sample = OPS[name]
    a, v = sample(SQUARE, SQUARE), RNG.standard_normal((SQUARE, SQUARE))
    x = sg.matrix("a", SQUARE, SQUARE)
    out = build(x)
    cost = sg.sum(sg.constant(RNG.standard_normal(out.shape)) * out)
    hv = sg.evaluate(sg.hvp(cost, x, sg.constant(v)), {x: a})
    numeric = along(sg.function([x], sg.grad(cost, x)), [a], [v], 1e-5)
    np.testing.assert_allclose(hv, numeric, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(numeric).max()))


def test_logdet_closed_forms_to_third_order():
    """log|det(A + tV)|: first derivative tr(A^-1 V), second -tr((A^-1 V)^2), third 2 tr((A^-1 V)^3)."""
    a, v = well_conditioned(SQUARE, SQUARE), RNG.standard_normal((SQUARE, SQUARE))
    t = sg.scalar("t")
    _, logdet = L.slogdet(sg.constant(a) + t * sg.constant(v))
    d1 = sg.grad(logdet, t)
    d2 = sg.grad(d1, t)
    d3 = sg.grad(d2, t)
    m = np.linalg.solve(a, v)
    values = sg.evaluate([d1, d2, d3], {t: 0.0})
    expected = [np.trace(m), -np.trace(m @ m), 2 * np.trace(m @ m @ m)]
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    # and the gradient: inv(A).T; det's: det(A) inv(A).T; the Hessian of logdet is -(A^-1 V A^-1).T
    x = sg.matrix("a", SQUARE, SQUARE)
    grads = sg.evaluate([sg.grad(L.slogdet(x)[1], x), sg.grad(L.det(x), x),
                         sg.hvp(L.slogdet(x)[1], x, sg.constant(v))], {x: a})
    inverse = np.linalg.inv(a)
    np.testing.assert_allclose(grads[0], inverse.T, rtol=1e-10)
    np.testing.assert_allclose(grads[1], np.linalg.det(a) * inverse.T, rtol=1e-10)
    np.testing.assert_allclose(grads[2], -(inverse @ v @ inverse).T, rtol=1e-10, atol=1e-12)


def test_spectral_closed_forms():
    """d sum(eigvalsh) = I; d max eigenvalue = v v^T (on the lower triangle); d nuclear norm = U Vh."""
    a = spd(SQUARE, SQUARE)
    x = sg.matrix("a", SQUARE, SQUARE)
    w, v = np.linalg.eigh(a)
    got = sg.evaluate([sg.grad(sg.sum(L.eigvalsh(x)), x), sg.grad(L.eigh(x)[0][-1], x)], {x: a})
    np.testing.assert_allclose(got[0], np.eye(SQUARE), atol=1e-12)
    top = np.outer(v[:, -1], v[:, -1])
    np.testing.assert_allclose(got[1], np.tril(2 * top) - np.diag(np.diag(top)), atol=1e-12)
    b = RNG.standard_normal((5, 3))
    y = sg.matrix("b", 5, 3)
    u, _, vh = np.linalg.svd(b, full_matrices=False)
    np.testing.assert_allclose(sg.grad(L.norm(y, "nuc"), y).eval({y: b}), u @ vh, atol=1e-12)


def test_cholesky_gradient_is_zero_above_the_diagonal_and_symmetric_below():
    """LAPACK reads the lower triangle: moving an upper entry changes nothing."""
    a = spd(SQUARE, SQUARE)
    x = sg.matrix("a", SQUARE, SQUARE)
    cost = sg.sum(sg.constant(RNG.standard_normal((SQUARE, SQUARE))) * L.cholesky(x))
    gradient = sg.grad(cost, x).eval({x: a})
    assert np.all(np.triu(gradient, 1) == 0)
    assert sg.check_grad(cost, x, {x: a}).ok


def test_ill_conditioned_solve_and_logdet_agree_with_closed_forms():
    """cond(A) ~ 1e9: the rules are solves, as accurate as NumPy's own solves allow."""
    q, _ = np.linalg.qr(RNG.standard_normal((6, 6)))
    a = q @ np.diag(np.logspace(0, -9, 6)) @ q.T
    b = RNG.standard_normal(6)
    x, y = sg.matrix("a", 6, 6), sg.vector("b", 6)
    solution = L.solve(x, y)
    u = RNG.standard_normal(6)
    grads = sg.evaluate(sg.grad(sg.sum(sg.constant(u) * solution), [x, y]), {x: a, y: b})
    b_bar = np.linalg.solve(a.T, u)
    np.testing.assert_allclose(grads[1], b_bar, rtol=1e-6)
    np.testing.assert_allclose(grads[0], -np.outer(b_bar, np.linalg.solve(a, b)), rtol=1e-6)
    np.testing.assert_allclose(sg.grad(L.slogdet(x)[1], x).eval({x: a}), np.linalg.inv(a).T, rtol=1e-6)


@pytest.mark.parametrize("n, batch, lower", [(150, (), True), (150, (), False), (70, (2,), True), (5, (3,), False)])
def test_triangular_solve_in_numpy_alone(n, batch, lower):
    """The blocked substitution used without SciPy, across several blocks, against a general solve."""
    a = RNG.standard_normal(batch + (n, n)) + 3 * np.sqrt(n) * np.eye(n)
    b = RNG.standard_normal(batch + (n, 4))
    triangle = np.tril(a) if lower else np.triu(a)
    np.testing.assert_allclose(triangular_solve_numpy(a, b, lower), np.linalg.solve(triangle, b), rtol=1e-10,
                               atol=1e-12)
    a32 = a.astype(np.float32)
    assert triangular_solve_numpy(a32, b.astype(np.float32), lower).dtype == np.float32
    a[..., 3, 3] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        triangular_solve_numpy(a, b, lower)


# --- where a derivative does not exist ---------------------------------------------------------

def test_singular_matrix_derivatives_raise_naming_the_node():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    x = sg.matrix("a", 2, 2)
    assert float(L.det(x).eval({x: singular})) == 0.0
    sign, logdet = sg.evaluate(list(L.slogdet(x)), {x: singular})
    assert sign == 0 and logdet == -np.inf
    for cost in (L.det(x), L.slogdet(x)[1], sg.sum(L.inv(x))):
        with pytest.raises(np.linalg.LinAlgError) as info:
            sg.evaluate(sg.grad(cost, x), {x: singular})
        assert any("inv" in note for note in info.value.__notes__)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1 / 0 at the tie, on purpose
def test_repeated_eigenvalues_give_non_finite_eigenvector_derivatives_not_wrong_numbers():
    a = np.diag([1.0, 1.0, 3.0])
    x = sg.matrix("a", 3, 3)
    w, v = L.eigh(x)
    # the eigenvalues stay differentiable at a tie
    np.testing.assert_allclose(sg.grad(sg.sum(w * w), x).eval({x: a}), np.diag([2.0, 2.0, 6.0]), atol=1e-12)
    cost = sg.sum(sg.constant(RNG.standard_normal((3, 3))) * v)
    gradient = sg.grad(cost, x)
    assert not np.all(np.isfinite(gradient.eval({x: a})))
    with pytest.raises(sg.NonFiniteError, match="eigh_v"):
        sg.evaluate(gradient, {x: a}, check_finite=True)
    tangent = sg.jvp(v, x, np.ones((3, 3)))
    assert not np.all(np.isfinite(tangent.eval({x: a})))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1 / 0 at the tie, on purpose
def test_repeated_singular_values():
    a = np.diag([2.0, 2.0, 1.0])
    x = sg.matrix("a", 3, 3)
    u, s, vh = L.svd(x)
    np.testing.assert_allclose(sg.grad(sg.sum(s), x).eval({x: a}), np.eye(3), atol=1e-12)
    gradient = sg.grad(sg.sum(sg.constant(RNG.standard_normal((3, 3))) * u), x)
    with pytest.raises(sg.NonFiniteError, match="svd_u"):
        sg.evaluate(gradient, {x: a}, check_finite=True)


def test_norm_derivatives_at_zero_are_zero():
    x = sg.vector("x", 3)
    for cost in (L.norm(x), L.norm(x, 1), sg.linalg.norm(sg.reshape(x, (1, 3)))):
        np.testing.assert_array_equal(sg.grad(cost, x).eval({x: np.zeros(3)}), np.zeros(3))
    np.testing.assert_array_equal(sg.hvp(L.norm(x), x, sg.constant(np.ones(3))).eval({x: np.zeros(3)}), np.zeros(3))


def test_qr_rank_deficient_raises_and_wide_has_no_derivative():
    x = sg.matrix("a", 3, 2)
    q, r = L.qr(x)
    with pytest.raises(np.linalg.LinAlgError):
        sg.evaluate(sg.grad(sg.sum(q), x), {x: np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])})
    wide = sg.matrix("w", 2, 3)
    with pytest.raises(sg.GradientError, match="qr_q"):
        sg.grad(sg.sum(L.qr(wide)[0]), wide)


@pytest.mark.parametrize("ord, axis", [(None, None), ("fro", None), ("nuc", None), (2, None), (-2, None),
                                       (1, None), (-1, None), (np.inf, None), (-np.inf, None), (None, 0),
                                       (1, 1), (2, -1), (np.inf, 0), (-np.inf, 1), ("fro", (1, 0))])
def test_norm_values_and_gradients(ord, axis):
    a = RNG.standard_normal((3, 4))
    x = sg.matrix("a", 3, 4)
    for keepdims in (False, True):
        out = L.norm(x, ord, axis, keepdims)
        np.testing.assert_allclose(out.eval({x: a}), np.linalg.norm(a, ord, axis, keepdims), rtol=1e-12)
    assert sg.check_grad(L.norm(x, ord, axis), x, {x: a}).ok


# --- build-time errors ---------------------------------------------------------------------------

def test_bad_operands_are_refused_when_the_node_is_built():
    square, rect = sg.matrix("s", 3, 3), sg.matrix("r", 3, 4)
    with pytest.raises(sg.ShapeError, match=r"inv: placeholder 'r' f64\[3,4\] is not square"):
        L.inv(rect)
    with pytest.raises(sg.ShapeError, match="cholesky: .* is not a matrix"):
        L.cholesky(sg.vector("v", 3))
    with pytest.raises(sg.ShapeError, match="solve: .* do not match"):
        L.solve(square, sg.vector("b", 4))
    with pytest.raises(sg.ShapeError, match="solve"):
        L.solve(sg.placeholder("sb", (2, 3, 3)), sg.placeholder("bb", (5, 3, 1)))
    with pytest.raises(sg.DTypeError, match="det: placeholder 'i' i64"):
        L.det(sg.matrix("i", 3, 3, dtype="int64"))
    with pytest.raises(sg.DTypeError, match="float32 or float64"):
        L.eigh(sg.matrix("h", 3, 3, dtype="float16"))
    with pytest.raises(sg.DTypeError, match="cannot mix"):
        L.solve(square, sg.vector("b32", 3, dtype="float32"))
    with pytest.raises(sg.ShapeError, match="must be known"):
        L.det(sg.matrix("n", None, None))
    with pytest.raises(sg.ShapeError, match="full_matrices"):
        L.svd(rect, full_matrices=True)
    with pytest.raises(ValueError, match="invalid order"):
        L.norm(sg.vector("v", 3), "nuc")


# --- one kernel call per evaluation ---------------------------------------------------------------

def test_a_decomposition_runs_once_in_the_interpreter_and_in_generated_code(monkeypatch):
    calls = []
    real = np.linalg.svd

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", counted)
    x = sg.matrix("a", 4, 3)
    u, s, vh = L.svd(x)
    cost = sg.sum(u ** 2 * sg.constant(RNG.standard_normal((4, 3)))) + sg.sum(s) + sg.sum(vh ** 3)
    outputs = [u, s, vh, cost, sg.grad(cost, x)]
    a = RNG.standard_normal((4, 3))
    values = sg.evaluate(outputs, {x: a})
    assert len(calls) == 1
    f = sg.function([x], outputs)
    assert f.source.count("f_svd(") == 1
    del calls[:]
    compiled = f(a)
    assert len(calls) == 1
    for got, want in zip(compiled, values):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    expected_u, expected_s, expected_vh = real(a, full_matrices=False)
    np.testing.assert_array_equal(values[1], expected_s)
    np.testing.assert_array_equal(values[0], expected_u)


def test_listing_drawing_saving_and_source_show_each_result(tmp_path):
    x = sg.matrix("a", 3, 3)
    w, v = L.eigh(x)
    sign, logdet = L.slogdet(x)
    outputs = [w, v, sign * logdet, sg.grad(sg.sum(w) + logdet, x)]
    text, dot = sg.listing(outputs), sg.to_dot(outputs)
    for name in ("eigh_w", "eigh_v", "slogdet_sign", "slogdet_logabsdet"):
        assert name in text and name in dot
    sg.save(outputs, tmp_path / "g.json")
    loaded = sg.load(tmp_path / "g.json")
    a = spd(3, 3)
    for got, want in zip(sg.evaluate(loaded.outputs, {"a": a}), sg.evaluate(outputs, {x: a})):
        np.testing.assert_array_equal(got, want)
    source = sg.function([x], outputs).source
    assert source.count("f_eigh(") == 1 and source.count("f_slogdet(") == 1


# --- the Gaussian-process example ----------------------------------------------------------------

def gp_gradient_by_hand(theta, x, y):
    """d NLL / d theta = 1/2 tr((K^-1 - alpha alpha^T) dK/dtheta), written out in NumPy."""
    length, signal, noise = np.exp(theta)
    d2 = (x[:, None] - x[None, :]) ** 2
    shape = signal ** 2 * np.exp(-0.5 * d2 / length ** 2)
    k = shape + noise ** 2 * np.eye(len(x))
    k_inv = np.linalg.inv(k)
    alpha = k_inv @ y
    middle = k_inv - np.outer(alpha, alpha)
    dk = [shape * d2 / length ** 2, 2 * shape, 2 * noise ** 2 * np.eye(len(x))]
    return np.array([0.5 * np.sum(middle * d) for d in dk])


def test_gaussian_process_example_fits_by_newton_cg(capsys):
    example = load_example("gaussian_process")
    results = example.main()
    printed = capsys.readouterr().out
    assert "iterations" in printed and "length scale" in printed
    assert np.linalg.norm(results["gradient"]) < 1e-8 and results["steps"] < 20
    x, y = example.make_data()
    np.testing.assert_allclose(gp_gradient_by_hand(results["theta"], x, y), 0.0, atol=1e-7)
    length, signal, noise = np.exp(results["theta"])
    assert 0.05 < noise < 0.2  # the data's noise is 0.1
    # away from the optimum the gradient is the hand-written one, and the Hessian its finite difference
    theta = sg.vector("theta", 3)
    nll = example.negative_log_likelihood(theta, x, y)
    point = np.log(np.array([0.7, 1.3, 0.4]))
    gradient = sg.grad(nll, theta)
    np.testing.assert_allclose(gradient.eval({theta: point}), gp_gradient_by_hand(point, x, y), rtol=1e-9)
    hessian = sg.hessian(nll, theta).eval({theta: point})
    numeric = np.stack([(gp_gradient_by_hand(point + 1e-6 * e, x, y) - gp_gradient_by_hand(point - 1e-6 * e, x, y))
                        / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(hessian, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n, batch", [(100, (2,)), (64, ()), (65, ())])
def test_cholesky_reverse_rule_across_blocks_matches_the_formula(n, batch):
    """Murray's blocked reverse sweep against A_bar = Phi(G + G^T), G = L^-T Phi(L^T L_bar) L^-1 in NumPy."""
    a = spd(*batch, n, n)
    l_bar = RNG.standard_normal(batch + (n, n))
    x = sg.placeholder("a", a.shape)
    got = sg.vjp(L.cholesky(x), x, l_bar).eval({x: a})
    chol = np.linalg.cholesky(a)
    halve = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    inverse = np.linalg.inv(chol)
    g = np.swapaxes(inverse, -1, -2) @ ((np.swapaxes(chol, -1, -2) @ l_bar) * halve) @ inverse
    np.testing.assert_allclose(got, (g + np.swapaxes(g, -1, -2)) * halve, rtol=1e-9, atol=1e-11)


def test_jacobian_of_inv_and_hessian_of_logdet_are_the_closed_forms():
    """d inv(A)[i, j] / dA[k, l] = -inv[i, k] inv[l, j]; d2 log|det A| / dA[i, j] dA[k, l] = -inv[j, k] inv[l, i]."""
    a = well_conditioned(3, 3)
    x = sg.matrix("a", 3, 3)
    inverse = np.linalg.inv(a)
    jacobian = sg.jacobian(L.inv(x), x).eval({x: a})
    np.testing.assert_allclose(jacobian, -np.einsum("ik,lj->ijkl", inverse, inverse), rtol=1e-10, atol=1e-12)
    hessian = sg.hessian(L.slogdet(x)[1], x).eval({x: a})
    np.testing.assert_allclose(hessian, -np.einsum("jk,li->ijkl", inverse, inverse), rtol=1e-10, atol=1e-12)
