"""Linear algebra beyond products: solves, inverses, determinants and decompositions.

NumPy's names and batching: every op takes ``(..., n, n)`` (or ``(..., m, n)``)
arrays and works on the last two axes; the batch axes in front broadcast where
NumPy's do (solve, solve_triangular). Like LAPACK, ``cholesky`` and ``eigh``
read only the lower triangle, and ``solve_triangular`` only the triangle it is
told to: their derivatives with respect to the other entries are zero.

A decomposition with several results (slogdet, eigh, svd, qr) is one op per
result, each with its own rules (the reverse rules of the whole decomposition
are the sums of the results' separate contributions); the ops of one
decomposition share a kernel (``Op.shares``), which both executors call once
per evaluation.

Rules use the stable forms: solves and triangular solves, never an explicit
inverse where a solve serves (det's and slogdet's reverse rules need the whole
inverse transpose, and take it from ``inv``); cholesky's and qr's rules by
triangular solves. Cholesky's reverse rule is an op of its own,
``cholesky_grad``, computed by Murray's blocked algorithm.

Where a derivative does not exist, the result is not a finite number:

- inv, det and slogdet of a singular matrix: the derivatives need a solve or
  an inverse, which raise NumPy's ``LinAlgError`` (with a note naming the
  node) when LAPACK meets an exactly singular matrix; a nearly singular one
  gives the large, correct derivative of that matrix;
- eigh's eigenvectors at repeated eigenvalues, svd's singular vectors at
  repeated singular values (or at zero ones, when the matrix is not square):
  the factors ``1 / (w_j - w_i)`` are infinite, so the derivatives are inf
  or NaN, and ``check_finite=True`` names the node that produced them. The
  eigenvalues and singular values themselves stay differentiable there;
- qr of a rank-deficient matrix: R has a zero on its diagonal, and the
  triangular solves of the rules raise ``LinAlgError``; qr of a wide matrix
  (fewer rows than columns) has no derivative rules (a GradientError).

``pinv``'s rules are those of a matrix of constant rank (pinv jumps where the
rank changes).

Examples
--------
>>> import numpy as np
>>> import symgrad as sg
>>> a = sg.matrix("a", 2, 2)
>>> sign, logdet = sg.linalg.slogdet(a)
>>> g = sg.grad(logdet, a)            # inv(a).T
>>> sg.evaluate([logdet, g], {"a": np.array([[2.0, 0.0], [0.0, 4.0]])})[1]
array([[0.5 , 0.  ],
       [0.  , 0.25]])
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import UNDEFINED, Node, Op, as_nodes, zero_rule
from ..types import (broadcast_shapes, check_bool_argument, combine_dtypes, normalize_axis, require_canonical,
                     require_float)
from ._define import BATCH_LEADING, matrix_sparsity, no_dependence, primitive
from .contract import trace, tril, triu
from .elementary import abs, sqrt, square
from .linalg import matmul
from .manipulation import swapaxes
from .reductions import max as amax, min as amin, sum
from .select import equal, where
from .shape import batch_lift, getitem, transpose

# --- helpers that build nodes --------------------------------------------------------------


def _mT(x: Node) -> Node:
    """Swap the last two axes (a batch of transposes)."""
    return swapaxes(x, -1, -2)


def _col(v: Node) -> Node:
    """(..., n) -> (..., n, 1)."""
    return getitem(v, (Ellipsis, None))


def _row(v: Node) -> Node:
    """(..., n) -> (..., 1, n)."""
    return getitem(v, (Ellipsis, None, slice(None)))


def _constant(x: Node, value: np.ndarray) -> Node:
    return x.graph.constant(value)


def _trace(x: Node) -> Node:
    return trace(x, 0, -2, -1)


def _triangle(x: Node, lower: bool, k: int = 0) -> Node:
    """np.tril(x, k) or np.triu(x, k) of a batch."""
    return tril(x, k) if lower else triu(x, k)


def _halve_diagonal(n: int, dtype) -> np.ndarray:
    """Phi as a mask: 1 below the diagonal, 1/2 on it, 0 above."""
    return (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(dtype)


def _phi(x: Node) -> Node:
    """The lower triangle with its diagonal halved: the map in Cholesky's derivative."""
    return x * _constant(x, _halve_diagonal(x.shape[-1], x.dtype))


def _copy_lower(x: Node) -> Node:
    """The symmetric matrix with x's lower triangle (LAPACK reads only that triangle)."""
    return _triangle(x, True) + _mT(_triangle(x, True, -1))


def _lower_adjoint(g: Node) -> Node:
    """The adjoint of :func:`_copy_lower`: the cotangent of the matrix whose lower triangle was read."""
    return _phi(g + _mT(g))


def _off_diagonal_inverse(d: Node) -> Node:
    """1 / d off the diagonal, 0 on it, with d's diagonal kept out of every derivative (no 0 * inf)."""
    diagonal = _constant(d, np.eye(d.shape[-1], dtype=bool))
    return where(diagonal, 0.0, 1.0 / where(diagonal, 1.0, d))


def _apply(m: Node, v: Node) -> Node:
    """A batch of matrices times a batch of vectors: (..., n, k) @ (..., k) -> (..., n)."""
    return getitem(matmul(m, _col(v)), (Ellipsis, 0))


# --- op blocks and shape rules ---------------------------------------------------------------------------

def _matrix_op(name: str, forward, infer, **facts) -> Op:
    """An op on the last two axes: it maps over the leading (batch) axes, and each result element
    may depend on every element of its own matrix; ``facts`` as :func:`._define.primitive`'s."""
    facts.setdefault("batch", BATCH_LEADING)
    facts.setdefault("sparsity", matrix_sparsity)
    return primitive(name, forward, infer, **facts)


def _result_op(name: str, kernel, index: int, spell, infer, **facts) -> Op:
    """Result ``index`` of a decomposition with several results: NumPy's ``kernel(a)`` computes them
    all (once per evaluation for all of them, ``Op.shares``), as ``spell(xp, a)`` does in an array library."""
    return _matrix_op(name, lambda a: kernel(a)[index], infer, shares=(kernel, index),
                      array_api=lambda xp: lambda a: spell(xp, a)[index], **facts)


def _lapack_float(name: str, x: Node) -> None:
    """float32 or float64: what LAPACK computes in (NumPy refuses float16; integers are not differentiable)."""
    require_float(name, x.dtype, x)
    if x.dtype.itemsize < 4:
        raise DTypeError(f"{name}: {x.describe()} must be float32 or float64 (LAPACK has no {x.dtype})")


def _matrix(name: str, a: Node, square: bool = True) -> tuple[int, int]:
    """Check that ``a`` is a (batch of) float matrices with static matrix dimensions."""
    _lapack_float(name, a)
    if a.ndim < 2:
        raise ShapeError(f"{name}: {a.describe()} is not a matrix; it needs at least 2 dimensions")
    rows, cols = a.shape[-2:]
    if rows is None or cols is None:
        raise ShapeError(f"{name}: the matrix dimensions of {a.describe()} must be known when the graph is built")
    if square and rows != cols:
        raise ShapeError(f"{name}: {a.describe()} is not square ({rows} x {cols})")
    return rows, cols


def _square_infer(name: str, result):
    """Shape rule of an op of one square matrix; ``result(batch, n)`` is the result's shape."""
    def infer(a):
        n, _ = _matrix(name, a)
        return result(a.shape[:-2], n), a.dtype
    return infer


def _solve_infer(name: str, flags: tuple = ()):
    """``a`` (..., n, n) and ``b`` (n,) or (..., n, k), batch axes broadcasting (NumPy 2's rule);
    ``flags`` names the op's bool parameters."""
    def infer(a, b, **params):
        if set(params) != set(flags):
            raise ShapeError(f"{name}: takes the parameters {list(flags)}, not {sorted(params)} (for {a.describe()})")
        for flag, value in params.items():
            require_canonical(name, flag, value, check_bool_argument(name, value, a, flag), a)
        n, _ = _matrix(name, a)
        _lapack_float(name, b)
        dtype = combine_dtypes(name, [a.dtype, b.dtype], (a, b))
        if b.ndim == 0:
            raise ShapeError(f"{name}: the right-hand side {b.describe()} must be a vector or a matrix")
        rows = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if rows is not None and rows != n:
            raise ShapeError(f"{name}: {a.describe()} and the right-hand side {b.describe()} do not match "
                             f"({n} rows against {rows})")
        if b.ndim == 1:
            return a.shape[:-2] + (n,), dtype
        batch = broadcast_shapes(name, [a.shape[:-2], b.shape[:-2]], (a, b))
        return batch + b.shape[-2:], dtype
    return infer


# --- solve ---------------------------------------------------------------------------------

def _solve_b_bar(out_bar, out, a, b):
    if b.ndim == 1:
        return _solve_vector(_mT(a), out_bar)
    return solve(_mT(a), out_bar)


def _solve_vector(a: Node, v: Node) -> Node:
    """solve for a batch of vectors (..., n), whatever their number of dimensions."""
    return getitem(solve(a, _col(v)), (Ellipsis, 0))


def _solve_a_bar(out_bar, out, a, b):
    b_bar = _solve_b_bar(out_bar, out, a, b)
    if b.ndim == 1:
        return -(_col(b_bar) * _row(out))
    return -matmul(b_bar, _mT(out))


def _solve_a_dot(a_dot, out, a, b):
    if b.ndim == 1:
        return -_solve_vector(a, _apply(a_dot, out))
    return -solve(a, matmul(a_dot, out))


def _solve_b_dot(b_dot, out, a, b):
    return _solve_vector(a, b_dot) if b.ndim == 1 else solve(a, b_dot)


def _solve_batch(node, inputs, batched):
    """Batching of solve and solve_triangular: b as columns, the batched operands' batch axis in
    front of the other's batch axes (which broadcast, as NumPy 2's)."""
    (a0, b0), (a, b) = node.inputs, inputs
    b = getitem(b, (Ellipsis, None)) if b0.ndim == 1 else b
    ndim = max(a0.ndim, b0.ndim if b0.ndim > 1 else 2)
    a, b = (batch_lift(a, ndim) if batched[0] else a), (batch_lift(b, ndim) if batched[1] else b)
    out = node.graph.apply(node.op, (a, b), node.params.as_dict())
    return getitem(out, (Ellipsis, 0)) if b0.ndim == 1 else out


SOLVE = _matrix_op("solve", np.linalg.solve, _solve_infer("solve"),
                   vjp=(_solve_a_bar, _solve_b_bar), jvp=(_solve_a_dot, _solve_b_dot),
                   broadcasts=True, core_dims=2, batch=_solve_batch)


def solve(a, b) -> Node:
    """x with ``a @ x == b``, as ``np.linalg.solve``: ``b`` is (n,) or (..., n, k).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.solve(sg.constant([[2.0, 0.0], [0.0, 4.0]]), sg.constant([1.0, 1.0])).eval()
    array([0.5 , 0.25])
    """
    return SOLVE(a, b)


# --- inv, det, slogdet ---------------------------------------------------------------------

INV = _matrix_op("inv", np.linalg.inv, _square_infer("inv", lambda batch, n: batch + (n, n)),
                 vjp=(lambda out_bar, out, a: -matmul(_mT(out), matmul(out_bar, _mT(out))),),
                 jvp=(lambda a_dot, out, a: -matmul(out, matmul(a_dot, out)),))


def inv(a) -> Node:
    """The inverse of a (batch of) square matrices, as ``np.linalg.inv``.

    Prefer :func:`solve` to ``inv(a) @ b``: it is cheaper and more accurate.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.inv(sg.constant([[2.0, 0.0], [0.0, 4.0]])).eval()
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return INV(a)


def _scalar_times_inverse_transpose(s: Node, a: Node) -> Node:
    """s[..., None, None] * inv(a).T: d log|det a| / da scaled (the whole inverse is the answer here)."""
    return getitem(s, (Ellipsis, None, None)) * _mT(inv(a))


DET = _matrix_op("det", np.linalg.det, _square_infer("det", lambda batch, n: batch),
                 vjp=(lambda out_bar, out, a: _scalar_times_inverse_transpose(out_bar * out, a),),
                 jvp=(lambda a_dot, out, a: out * _trace(solve(a, a_dot)),))


def det(a) -> Node:
    """The determinant of a (batch of) square matrices, as ``np.linalg.det``.

    Its derivative is ``det(a) * inv(a).T``; at a singular matrix the inverse
    does not exist and evaluating the derivative raises ``LinAlgError``. For
    logarithms of determinants use :func:`slogdet`, which cannot overflow.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.det(sg.constant([[2.0, 1.0], [1.0, 3.0]])).eval()
    array(5.)
    """
    return DET(a)


def _slogdet(a):
    """np.linalg.slogdet as a tuple: (sign, log|det|)."""
    sign, logabsdet = np.linalg.slogdet(a)
    return sign, logabsdet


_SLOGDET_SHAPE = _square_infer("slogdet", lambda batch, n: batch)
def _slogdet_xp(xp, a):
    return xp.linalg.slogdet(a)


SLOGDET_SIGN = _result_op("slogdet_sign", _slogdet, 0, _slogdet_xp, _SLOGDET_SHAPE,
                          vjp=(zero_rule,), jvp=(zero_rule,), sparsity=no_dependence)
SLOGDET_LOGABSDET = _result_op("slogdet_logabsdet", _slogdet, 1, _slogdet_xp, _SLOGDET_SHAPE,
                               vjp=(lambda out_bar, out, a: _scalar_times_inverse_transpose(out_bar, a),),
                               jvp=(lambda a_dot, out, a: _trace(solve(a, a_dot)),))


def slogdet(a) -> tuple[Node, Node]:
    """``(sign, logabsdet)`` of a (batch of) square matrices, as ``np.linalg.slogdet``.

    The sign is piecewise constant (zero derivative); the derivative of
    ``logabsdet`` is ``inv(a).T``. A singular matrix gives sign 0 and
    logabsdet -inf, and its derivative raises ``LinAlgError``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sign, logdet = sg.linalg.slogdet(sg.constant([[-2.0, 0.0], [0.0, 3.0]]))
    >>> sg.evaluate([sign, logdet])
    [array(-1.), array(1.79175947)]
    """
    (a,) = as_nodes(a)
    return SLOGDET_SIGN(a), SLOGDET_LOGABSDET(a)


# --- triangular solves ---------------------------------------------------------------------

BLOCK = 64  # rows solved one by one before the rest is updated by one matrix product


def triangular_solve_numpy(a: np.ndarray, b: np.ndarray, lower: bool = True) -> np.ndarray:
    """x with ``tril(a) @ x == b`` (``triu`` when ``lower`` is false), in NumPy alone.

    Blocked substitution: within a block of rows, row by row; the rows below
    (above) are then updated by one matrix product, so most of the work is
    BLAS's. ``b`` is (..., n, k); the batch axes broadcast. A zero on the
    diagonal raises ``LinAlgError``, as LAPACK's solvers do.

    Examples
    --------
    >>> import numpy as np
    >>> triangular_solve_numpy(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[2.0], [3.0]]))
    array([[1.],
           [2.]])
    """
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=np.result_type(a, b))
    diagonal = np.diagonal(a, axis1=-2, axis2=-1)
    if not np.all(diagonal != 0):
        raise np.linalg.LinAlgError("singular matrix: the triangular factor has a zero on its diagonal")
    plain = a.ndim == 2 and x.ndim == 2  # plain indexing costs a third of the batched form's
    starts = range(0, n, BLOCK) if lower else reversed(range(0, n, BLOCK))
    for start in starts:
        stop = min(start + BLOCK, n)
        for i in (range(start, stop) if lower else range(stop - 1, start - 1, -1)):
            known = slice(start, i) if lower else slice(i + 1, stop)
            first = i == start if lower else i == stop - 1
            if plain:
                if not first:
                    x[i] -= a[i, known] @ x[known]
                x[i] /= diagonal[i]
                continue
            if not first:
                x[..., i, :] -= np.matmul(a[..., i:i + 1, known], x[..., known, :])[..., 0, :]
            x[..., i, :] /= diagonal[..., i, None]
        rest = slice(stop, n) if lower else slice(0, start)
        if (stop < n) if lower else (start > 0):
            x[..., rest, :] -= np.matmul(a[..., rest, start:stop], x[..., start:stop, :])
    return x


@functools.lru_cache(maxsize=None)
def _lapack_solver():
    """SciPy's solve_triangular (LAPACK's trtrs) when SciPy is installed (the "linalg" extra), else None."""
    try:
        from scipy.linalg import solve_triangular  # optional, and slow to import: only when first needed
    except ImportError:
        return None
    return solve_triangular


def _solve_triangular(a: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    vector = b.ndim == 1
    if vector:
        b = b[..., None]
    lapack = _lapack_solver() if a.ndim == 2 and b.ndim == 2 else None
    if lapack is not None:
        x = lapack(a, b, lower=lower, check_finite=False)
        return x[:, 0] if vector else x
    x = triangular_solve_numpy(a, b, lower)
    return x[..., 0] if vector else x


def _tri_b_bar(out_bar, out, a, b):
    lower = out.params.lower
    if b.ndim == 1:
        return getitem(solve_triangular(_mT(a), _col(out_bar), lower=not lower), (Ellipsis, 0))
    return solve_triangular(_mT(a), out_bar, lower=not lower)


def _tri_a_bar(out_bar, out, a, b):
    b_bar = _tri_b_bar(out_bar, out, a, b)
    outer = _col(b_bar) * _row(out) if b.ndim == 1 else matmul(b_bar, _mT(out))
    return -_triangle(outer, out.params.lower)


def _tri_a_dot(a_dot, out, a, b):
    lower = out.params.lower
    a_dot = _triangle(a_dot, lower)
    if b.ndim == 1:
        return -getitem(solve_triangular(a, _col(_apply(a_dot, out)), lower=lower), (Ellipsis, 0))
    return -solve_triangular(a, matmul(a_dot, out), lower=lower)


def _tri_b_dot(b_dot, out, a, b):
    return solve_triangular(a, b_dot, lower=out.params.lower)


SOLVE_TRIANGULAR = _matrix_op(
    "solve_triangular", _solve_triangular, _solve_infer("solve_triangular", ("lower",)),
    vjp=(_tri_a_bar, _tri_b_bar), jvp=(_tri_a_dot, _tri_b_dot), broadcasts=True, core_dims=2, batch=_solve_batch,
    array_api=lambda xp: lambda a, b, lower: xp.linalg.solve(xp.tril(a) if lower else xp.triu(a), b))


def solve_triangular(a, b, lower: bool = True) -> Node:
    """x with ``tril(a) @ x == b`` (``triu(a)`` when ``lower`` is false), SciPy's name.

    Only that triangle of ``a`` is read (its derivative is zero elsewhere).
    ``b`` is (n,) or (..., n, k), and batch axes broadcast, as in
    :func:`solve`. Computed by substitution: LAPACK's through SciPy when it
    is installed (the ``linalg`` extra, for 2-d operands), else a blocked
    substitution in NumPy.

    Examples
    --------
    >>> import symgrad as sg
    >>> l = sg.constant([[2.0, 0.0], [1.0, 1.0]])
    >>> sg.linalg.solve_triangular(l, sg.constant([2.0, 3.0])).eval()
    array([1., 2.])
    """
    a, b = as_nodes(a, b)
    lower = check_bool_argument("solve_triangular", lower, a, "lower")
    return a.graph.apply(SOLVE_TRIANGULAR, (a, b), {"lower": lower})


# --- cholesky ------------------------------------------------------------------------------
#
# For L = cholesky(A), A's lower triangle read: L_dot = L Phi(L^-1 S L^-T), S the symmetric tangent
# with a_dot's lower triangle, and the reverse rule is A_bar = Phi(G + G^T), G = L^-T Phi(L^T L_bar) L^-1.
# The reverse rule is its own op, cholesky_grad(L, L_bar), computed by Murray's blocked algorithm
# (I. Murray, "Differentiation of the Cholesky decomposition", 2016), with the formula on each
# diagonal block: about the cost of one more Cholesky factorisation instead of a matrix product and
# two triangular solves with n right-hand sides. Its own rules (for second and higher derivatives)
# are the formula's, differentiated by hand below.

def _cholesky_dot(a_dot, out, a):
    """L (Phi(L^-1 S L^-T)), S the symmetric tangent whose lower triangle is a_dot's."""
    z = solve_triangular(out, _copy_lower(a_dot), lower=True)
    x = _mT(solve_triangular(out, _mT(z), lower=True))
    return matmul(out, _phi(x))


def _between_inverses(l: Node, p: Node) -> Node:
    """L^-T p L^-1, by two triangular solves."""
    upper = _mT(l)
    z = solve_triangular(upper, p, lower=False)
    return _mT(solve_triangular(upper, _mT(z), lower=False))


def _swap_np(x: np.ndarray) -> np.ndarray:
    """A batch of transposes of arrays (np.matrix_transpose, which NumPy 1 lacks)."""
    return np.swapaxes(x, -1, -2)


def _diagonal_block_reverse(d_inv: np.ndarray, d: np.ndarray, d_bar: np.ndarray) -> np.ndarray:
    """The reverse rule on one diagonal block, by the formula: Phi(G + G^T), G = D^-T Phi(D^T D_bar) D^-1."""
    mask = _halve_diagonal(d.shape[-1], d_bar.dtype)
    g = np.matmul(_swap_np(d_inv), np.matmul(np.matmul(_swap_np(d), d_bar) * mask, d_inv))
    return (g + _swap_np(g)) * mask


def _cholesky_grad(l: np.ndarray, l_bar: np.ndarray) -> np.ndarray:
    """A_bar from L and L_bar: Murray's blocked reverse mode, right to left over blocks of columns."""
    n = l.shape[-1]
    batch = np.broadcast_shapes(l.shape[:-2], l_bar.shape[:-2])
    l = np.broadcast_to(l, batch + (n, n))
    a_bar = np.tril(np.broadcast_to(l_bar, batch + (n, n))).astype(np.result_type(l, l_bar))
    for stop in range(n, 0, -BLOCK):
        start = max(0, stop - BLOCK)
        r, d = l[..., start:stop, :start], l[..., start:stop, start:stop]
        b, c = l[..., stop:, :start], l[..., stop:, start:stop]
        # the inverse of a (small) triangular block, by substitution: three products then serve
        d_inv = _solve_triangular(d, np.broadcast_to(np.eye(stop - start, dtype=d.dtype), d.shape), lower=True)
        if stop < n:
            c_bar = a_bar[..., stop:, start:stop]
            c_bar[...] = np.matmul(c_bar, d_inv)
            if start > 0:
                a_bar[..., stop:, :start] -= np.matmul(c_bar, r)
            a_bar[..., start:stop, start:stop] -= np.tril(np.matmul(_swap_np(c_bar), c))
        a_bar[..., start:stop, start:stop] = _diagonal_block_reverse(d_inv, d, a_bar[..., start:stop, start:stop])
        if start > 0:
            d_bar = a_bar[..., start:stop, start:stop]
            update = np.matmul(d_bar + _swap_np(d_bar), r)
            if stop < n:
                update += np.matmul(_swap_np(a_bar[..., stop:, start:stop]), b)
            a_bar[..., start:stop, :start] -= update
    return a_bar


def _cholesky_grad_l_dot(l_dot, out, l, l_bar):
    """d/dL of Phi(G + G^T): Phi(Y + Y^T - W - W^T), Y = L^-T Phi(L_dot^T L_bar) L^-1,
    W = (G + G^T) L_dot L^-1, and G + G^T = out + out^T (out is Phi of it)."""
    l_dot = _triangle(l_dot, True)  # the kernel reads L's lower triangle only
    y = _between_inverses(l, _phi(matmul(_mT(l_dot), l_bar)))
    w = _mT(solve_triangular(_mT(l), _mT(matmul(out + _mT(out), l_dot)), lower=False))
    return _phi(y + _mT(y) - w - _mT(w))


def _cholesky_grad_l_bar(out_bar, out, l, l_bar):
    """The adjoint of :func:`_cholesky_grad_l_dot`: the lower triangle of -(G + G^T) H L^-T + L_bar Phi(Z)^T,
    H = copy_lower(out_bar), Z = L^-1 H L^-T."""
    h = _copy_lower(out_bar)
    z = solve_triangular(l, _mT(solve_triangular(l, h, lower=True)), lower=True)
    h_l = _mT(solve_triangular(l, matmul(h, out + _mT(out)), lower=True))
    return _triangle(matmul(l_bar, _mT(_phi(z))) - h_l, True)


def _cholesky_grad_xp(xp):
    """A_bar = Phi(G + G^T), G = L^-T Phi(L^T tril(L_bar)) L^-1 (Phi: the lower triangle, its
    diagonal halved), with the standard's solve: the closed form of Murray's blocked reverse mode."""
    def phi(x):
        return xp.tril(x) - 0.5 * xp.tril(xp.triu(x))

    def kernel(l, l_bar):
        n = l.shape[-1]
        l_inv = xp.linalg.solve(xp.tril(l), xp.broadcast_to(xp.eye(n, dtype=l.dtype), l.shape))
        g = xp.matrix_transpose(l_inv) @ phi(xp.matrix_transpose(l) @ xp.tril(l_bar)) @ l_inv
        return phi(g + xp.matrix_transpose(g))
    return kernel


CHOLESKY_GRAD = _matrix_op(
    "cholesky_grad", _cholesky_grad, lambda l, l_bar: (broadcast_shapes(
        "cholesky_grad", [l.shape, l_bar.shape], (l, l_bar)), combine_dtypes("cholesky_grad", [l.dtype, l_bar.dtype],
                                                                               (l, l_bar))),
    # linear in L_bar, whose adjoint is cholesky's forward rule
    vjp=(_cholesky_grad_l_bar, lambda out_bar, out, l, l_bar: _cholesky_dot(out_bar, l, None)),
    jvp=(_cholesky_grad_l_dot, lambda l_bar_dot, out, l, l_bar: CHOLESKY_GRAD(l, l_bar_dot)),
    broadcasts=True, core_dims=2, array_api=_cholesky_grad_xp)


CHOLESKY = _matrix_op("cholesky", np.linalg.cholesky, _square_infer("cholesky", lambda batch, n: batch + (n, n)),
                      vjp=(lambda out_bar, out, a: CHOLESKY_GRAD(out, out_bar),), jvp=(_cholesky_dot,),
                      array_api=lambda xp: lambda a: xp.linalg.cholesky(_lower_symmetric_xp(xp, a)))


def cholesky(a) -> Node:
    """The lower Cholesky factor L (``L @ L.T == a``) of symmetric positive-definite matrices.

    As ``np.linalg.cholesky``, only the lower triangle of ``a`` is read; a
    matrix that is not positive definite raises ``LinAlgError``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.cholesky(sg.constant([[4.0, 2.0], [2.0, 5.0]])).eval()
    array([[2., 0.],
           [1., 2.]])
    """
    return CHOLESKY(a)


# --- eigh and eigvalsh ---------------------------------------------------------------------

def _eigh(a):
    w, v = np.linalg.eigh(a)
    return w, v


def _eigen_gaps(w: Node) -> Node:
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (inf at a repeated eigenvalue)."""
    return _off_diagonal_inverse(_row(w) - _col(w))


def _eigvals_bar(out_bar, out, a):
    v = EIGH_V(a)
    return _lower_adjoint(matmul(v * _row(out_bar), _mT(v)))


def _eigvals_dot(a_dot, out, a):
    v = EIGH_V(a)
    return sum(v * matmul(_copy_lower(a_dot), v), -2)


def _eigvecs_bar(out_bar, out, a):
    f = _eigen_gaps(EIGH_W(a))
    return _lower_adjoint(matmul(out, matmul(f * matmul(_mT(out), out_bar), _mT(out))))


def _eigvecs_dot(a_dot, out, a):
    f = _eigen_gaps(EIGH_W(a))
    return matmul(out, f * matmul(_mT(out), matmul(_copy_lower(a_dot), out)))


def _lower_symmetric_xp(xp, a):
    """The symmetric matrix of ``a``'s lower triangle, which NumPy's eigh reads (JAX's would
    average a and its transpose; the standard leaves a non-symmetric input unspecified)."""
    return xp.tril(a) + xp.matrix_transpose(xp.tril(a, k=-1))


_EIGVALS_SHAPE = _square_infer("eigh", lambda batch, n: batch + (n,))


def _eigh_xp(xp, a):
    return xp.linalg.eigh(_lower_symmetric_xp(xp, a))


EIGH_W = _result_op("eigh_w", _eigh, 0, _eigh_xp, _EIGVALS_SHAPE, vjp=(_eigvals_bar,), jvp=(_eigvals_dot,))
EIGH_V = _result_op("eigh_v", _eigh, 1, _eigh_xp, _square_infer("eigh", lambda batch, n: batch + (n, n)),
                    vjp=(_eigvecs_bar,), jvp=(_eigvecs_dot,))
EIGVALSH = _matrix_op("eigvalsh", np.linalg.eigvalsh, _square_infer("eigvalsh", lambda batch, n: batch + (n,)),
                      vjp=(_eigvals_bar,), jvp=(_eigvals_dot,),
                      array_api=lambda xp: lambda a: xp.linalg.eigvalsh(_lower_symmetric_xp(xp, a)))


def eigh(a) -> tuple[Node, Node]:
    """``(w, v)``: the eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices.

    As ``np.linalg.eigh``, only the lower triangle of ``a`` is read. The
    eigenvalues are differentiable everywhere they are distinct or not; the
    eigenvectors are not differentiable at a repeated eigenvalue, where their
    derivatives are inf or NaN (``check_finite=True`` names the node).

    Examples
    --------
    >>> import symgrad as sg
    >>> w, v = sg.linalg.eigh(sg.constant([[2.0, 0.0], [0.0, 1.0]]))
    >>> w.eval()
    array([1., 2.])
    """
    (a,) = as_nodes(a)
    return EIGH_W(a), EIGH_V(a)


def eigvalsh(a) -> Node:
    """The eigenvalues (ascending) of symmetric matrices, as ``np.linalg.eigvalsh``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.eigvalsh(sg.constant([[2.0, 1.0], [1.0, 2.0]])).eval()
    array([1., 3.])
    """
    return EIGVALSH(a)


# --- svd -----------------------------------------------------------------------------------

def _svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


def _svd_parts(a: Node):
    return SVD_U(a), SVD_S(a), _mT(SVD_VH(a))


def _singular_gaps(s: Node) -> Node:
    """F[i, j] = 1 / (s[j]^2 - s[i]^2) off the diagonal, 0 on it."""
    s2 = square(s)
    return _off_diagonal_inverse(_row(s2) - _col(s2))


def _s_bar(out_bar, out, a):
    u, _, v = _svd_parts(a)
    return matmul(u * _row(out_bar), _mT(v))


def _s_dot(a_dot, out, a):
    u, _, v = _svd_parts(a)
    return sum(u * matmul(a_dot, v), -2)


def _u_bar(out_bar, out, a):
    u, s, v = _svd_parts(a)
    k = matmul(_mT(u), out_bar)
    inner = (_singular_gaps(s) * (k - _mT(k))) * _row(s)
    result = matmul(u, matmul(inner, _mT(v)))
    if a.shape[-2] > s.shape[-1]:  # the part of out_bar outside u's columns
        result = result + matmul((out_bar - matmul(u, k)) / _row(s), _mT(v))
    return result


def _vh_bar(out_bar, out, a):
    u, s, v = _svd_parts(a)
    v_bar = _mT(out_bar)
    k = matmul(_mT(v), v_bar)
    inner = _col(s) * (_singular_gaps(s) * (k - _mT(k)))
    result = matmul(u, matmul(inner, _mT(v)))
    if a.shape[-1] > s.shape[-1]:
        result = result + matmul(u / _row(s), _mT(v_bar - matmul(v, k)))
    return result


def _u_dot(a_dot, out, a):
    u, s, v = _svd_parts(a)
    p = matmul(_mT(u), matmul(a_dot, v))
    result = matmul(u, _singular_gaps(s) * (p * _row(s) + _col(s) * _mT(p)))
    if a.shape[-2] > s.shape[-1]:
        result = result + (matmul(a_dot, v) - matmul(u, p)) / _row(s)
    return result


def _vh_dot(a_dot, out, a):
    u, s, v = _svd_parts(a)
    p = matmul(_mT(u), matmul(a_dot, v))
    v_dot = matmul(v, _singular_gaps(s) * (_col(s) * p + _mT(p) * _row(s)))
    if a.shape[-1] > s.shape[-1]:
        at_u = matmul(_mT(a_dot), u)
        v_dot = v_dot + (at_u - matmul(v, _mT(p))) / _row(s)
    return _mT(v_dot)


def _svd_infer(which: str):
    def infer(a):
        m, n = _matrix("svd", a, square=False)
        k = np.minimum(m, n).item()
        shapes = {"u": (m, k), "s": (k,), "vh": (k, n)}
        return a.shape[:-2] + shapes[which], a.dtype
    return infer


def _svd_xp(xp, a):
    return xp.linalg.svd(a, full_matrices=False)


SVD_U = _result_op("svd_u", _svd, 0, _svd_xp, _svd_infer("u"), vjp=(_u_bar,), jvp=(_u_dot,))
SVD_S = _result_op("svd_s", _svd, 1, _svd_xp, _svd_infer("s"), vjp=(_s_bar,), jvp=(_s_dot,))
SVD_VH = _result_op("svd_vh", _svd, 2, _svd_xp, _svd_infer("vh"), vjp=(_vh_bar,), jvp=(_vh_dot,))


def svd(a, full_matrices: bool = False) -> tuple[Node, Node, Node]:
    """``(u, s, vh)`` with ``a == u @ (s[..., None] * vh)``: the reduced SVD, as ``np.linalg.svd``.

    For an m x n matrix and k = min(m, n): u is m x k, s (descending) has k
    values and vh is k x n. Only the reduced form is differentiable (the
    extra columns of the full one are arbitrary), so ``full_matrices=True``
    is accepted for square matrices only. The singular values are
    differentiable where they are distinct or not; the singular vectors are
    not at repeated singular values (nor at zero ones of a non-square
    matrix), where their derivatives are inf or NaN.

    Examples
    --------
    >>> import symgrad as sg
    >>> u, s, vh = sg.linalg.svd(sg.constant([[3.0, 0.0], [0.0, -4.0]]))
    >>> s.eval()
    array([4., 3.])
    """
    (a,) = as_nodes(a)
    if check_bool_argument("svd", full_matrices, a, "full_matrices") and a.ndim >= 2 and a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"svd: full_matrices=True for the non-square {a.describe()}: only the reduced "
                         "SVD (full_matrices=False) is supported, as the extra columns have no derivative")
    return SVD_U(a), SVD_S(a), SVD_VH(a)


# --- qr ------------------------------------------------------------------------------------

def _qr(a):
    q, r = np.linalg.qr(a)
    return q, r


def _right_solve_upper_transpose(x: Node, r: Node) -> Node:
    """x @ inv(r).T for an upper-triangular r, by a triangular solve."""
    return _mT(solve_triangular(r, _mT(x), lower=False))


def _qr_wide(a: Node) -> bool:
    return a.shape[-2] < a.shape[-1]


def _q_bar(out_bar, out, a):
    if _qr_wide(a):
        return UNDEFINED
    r = QR_R(a)
    w = _copy_lower(matmul(_mT(out_bar), out))
    return _right_solve_upper_transpose(out_bar - matmul(out, w), r)


def _r_bar(out_bar, out, a):
    if _qr_wide(a):
        return UNDEFINED
    q = QR_Q(a)
    return _right_solve_upper_transpose(matmul(q, _copy_lower(matmul(out, _mT(out_bar)))), out)


def _qr_tangents(a_dot, a):
    """(B, C - Omega): B = a_dot inv(R), C = Q^T B, Omega its antisymmetric part from C's lower triangle."""
    q, r = QR_Q(a), QR_R(a)
    b = _mT(solve_triangular(_mT(r), _mT(a_dot), lower=True))
    c = matmul(_mT(q), b)
    below = _triangle(c, True, -1)
    return b, c - below + _mT(below)


def _q_dot(a_dot, out, a):
    if _qr_wide(a):
        return UNDEFINED
    b, upper = _qr_tangents(a_dot, a)
    return b - matmul(out, upper)


def _r_dot(a_dot, out, a):
    if _qr_wide(a):
        return UNDEFINED
    _, upper = _qr_tangents(a_dot, a)
    return matmul(upper, out)


def _qr_infer(which: str):
    def infer(a):
        m, n = _matrix("qr", a, square=False)
        k = np.minimum(m, n).item()
        return a.shape[:-2] + ((m, k) if which == "q" else (k, n)), a.dtype
    return infer


def _qr_xp(xp, a):
    return xp.linalg.qr(a)


QR_Q = _result_op("qr_q", _qr, 0, _qr_xp, _qr_infer("q"), vjp=(_q_bar,), jvp=(_q_dot,))
QR_R = _result_op("qr_r", _qr, 1, _qr_xp, _qr_infer("r"), vjp=(_r_bar,), jvp=(_r_dot,))


def qr(a) -> tuple[Node, Node]:
    """``(q, r)``: the reduced QR decomposition, as ``np.linalg.qr`` (mode "reduced").

    Differentiable for matrices with at least as many rows as columns and
    full column rank (R's diagonal nonzero); for a wide matrix the
    derivative raises GradientError, for a rank-deficient one LinAlgError.

    Examples
    --------
    >>> import symgrad as sg
    >>> q, r = sg.linalg.qr(sg.constant([[3.0, 0.0], [4.0, 1.0]]))
    >>> r.eval().round(6)
    array([[-5. , -0.8],
           [ 0. ,  0.6]])
    """
    (a,) = as_nodes(a)
    return QR_Q(a), QR_R(a)


# --- pinv ----------------------------------------------------------------------------------

def _pinv_dot(a_dot, out, a):
    """d pinv = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X, for X = pinv(A) of constant rank."""
    at_dot = _mT(a_dot)
    left = matmul(out, matmul(_mT(out), at_dot))
    right = matmul(at_dot, matmul(_mT(out), out))
    return (-matmul(out, matmul(a_dot, out)) + left - matmul(matmul(left, a), out)
            + right - matmul(out, matmul(a, right)))


def _pinv_bar(out_bar, out, a):
    """The adjoint of :func:`_pinv_dot`."""
    xt = _mT(out)
    first = matmul(_mT(out_bar), matmul(out, xt))
    second = matmul(xt, matmul(out, _mT(out_bar)))
    return (-matmul(xt, matmul(out_bar, xt)) + first - matmul(a, matmul(out, first))
            + second - matmul(matmul(second, out), a))


def _pinv_infer(a):
    m, n = _matrix("pinv", a, square=False)
    return a.shape[:-2] + (n, m), a.dtype


PINV = _matrix_op("pinv", np.linalg.pinv, _pinv_infer, vjp=(_pinv_bar,), jvp=(_pinv_dot,))


def pinv(a) -> Node:
    """The Moore-Penrose pseudo-inverse, as ``np.linalg.pinv`` (its default cutoff).

    The derivative is that of a matrix of constant rank; pinv is not
    continuous where the rank changes.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.pinv(sg.constant([[1.0, 0.0], [0.0, 0.0]])).eval()
    array([[1., 0.],
           [0., 0.]])
    """
    return PINV(a)


# --- norm ----------------------------------------------------------------------------------

def _euclidean(x: Node, axes: tuple, keepdims: bool) -> Node:
    """sqrt(sum(x^2)) with derivative 0 (a subgradient) at x = 0, where sqrt would give 0/0."""
    total = sum(square(x), axes, keepdims)
    zero = equal(total, 0.0)
    return where(zero, 0.0, sqrt(where(zero, 1.0, total)))


def _restore(result: Node, x: Node, axes: tuple, keepdims: bool) -> Node:
    """Put the reduced ``axes`` back as length 1 (keepdims)."""
    if not keepdims:
        return result
    return getitem(result, tuple(None if i in axes else slice(None) for i in range(x.ndim)))


def _matrix_norm(x: Node, ord, rows: int, cols: int, keepdims: bool) -> Node:
    if ord in (None, "fro"):
        return _euclidean(x, (rows, cols), keepdims)
    if ord in ("nuc", 2, -2):
        others = [i for i in range(x.ndim) if i not in (rows, cols)]
        s = SVD_S(transpose(x, tuple(others + [rows, cols])))
        value = sum(s, -1) if ord == "nuc" else getitem(s, (Ellipsis, 0 if ord == 2 else -1))
        return _restore(value, x, (rows, cols), keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        summed, other = (rows, cols) if ord in (1, -1) else (cols, rows)
        totals = sum(abs(x), summed, keepdims=True)
        pick = amax if ord in (1, np.inf) else amin
        value = pick(totals, (rows, cols), keepdims=True)
        return value if keepdims else getitem(value, tuple(0 if i in (rows, cols) else slice(None)
                                                          for i in range(x.ndim)))
    raise ShapeError(f"norm: invalid order {ord!r} for the matrices of {x.describe()} "
                     "(None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf)")


def norm(x, ord=None, axis=None, keepdims: bool = False) -> Node:
    """Vector and matrix norms, as ``np.linalg.norm``.

    Vectors (``axis`` an int, or a 1-d ``x``): ``ord`` None or 2 (Euclidean),
    1, inf, -inf. Matrices (``axis`` a pair, or a 2-d ``x``): None or "fro"
    (Frobenius), "nuc" (nuclear: the sum of singular values), 2 and -2 (the
    largest and smallest singular value), 1, -1, inf, -inf. With ``ord`` and
    ``axis`` both None, the Euclidean norm of all elements.

    At x = 0 the Euclidean and Frobenius norms get the derivative 0 (a
    subgradient, as ``abs`` at 0); the 1- and inf-norms follow ``abs``,
    ``max`` and ``min`` (ties share the gradient).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.linalg.norm(sg.constant([3.0, -4.0])).eval()
    array(5.)
    >>> sg.linalg.norm(sg.constant([[1.0, 2.0], [3.0, 4.0]]), 1).eval()
    array(6.)
    """
    (x,) = as_nodes(x)
    require_float("norm", x.dtype, x)
    keepdims = check_bool_argument("norm", keepdims, x)
    if isinstance(ord, (bool, np.bool_)):  # True == 1 in Python, but not an order
        raise ShapeError(f"norm: ord must be None, a number, 'fro' or 'nuc', not bool {ord} (for {x.describe()})")
    if axis is None:
        if ord is None:
            return _euclidean(x, tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise ShapeError(f"norm: ord={ord!r} needs axis for {x.describe()} (a vector or a matrix has 1 or 2 "
                             "dimensions)")
        axis = tuple(range(x.ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(normalize_axis("norm", x.ndim, a, x) for a in axes)
    if len(axes) == 2 and axes[0] != axes[1]:
        return _matrix_norm(x, ord, axes[0], axes[1], keepdims)
    if len(axes) != 1:
        raise ShapeError(f"norm: axis must be an int or a pair of distinct axes, not {axis!r}")
    if ord in (None, 2):
        return _euclidean(x, axes, keepdims)
    if ord == 1:
        return sum(abs(x), axes, keepdims)
    if ord in (np.inf, -np.inf):
        return (amax if ord > 0 else amin)(abs(x), axes, keepdims)
    raise ShapeError(f"norm: invalid order {ord!r} for the vectors of {x.describe()} (None, 1, 2, inf, -inf)")


__all__ = ["SOLVE", "INV", "DET", "SLOGDET_SIGN", "SLOGDET_LOGABSDET", "SOLVE_TRIANGULAR", "CHOLESKY", "CHOLESKY_GRAD",
           "EIGH_W", "EIGH_V", "EIGVALSH", "SVD_U", "SVD_S", "SVD_VH", "QR_Q", "QR_R", "PINV",
           "solve", "inv", "det", "slogdet", "cholesky", "solve_triangular", "eigh", "eigvalsh", "svd", "qr",
           "norm", "pinv", "triangular_solve_numpy"]
