"""Tensor contractions: einsum and what is built on it (tensordot, inner, outer,
kron), diagonals and triangles (diagonal, trace, diag, tril, triu), and eye.

The primitives, which carry the derivatives:

- ``einsum`` is multilinear, so its forward rule for operand ``k`` is the
  same einsum with the tangent in place of operand ``k``, and its reverse
  rule an einsum of the cotangent with the other operands, into operand
  ``k``'s indices. An index only operand ``k`` has (``'ij->i'`` sums over
  ``j``) comes back by broadcasting; a repeated one (``'ii->i'``, a trace
  ``'ii'``) names a diagonal of the operand, so its cotangent is written onto
  that diagonal of zeros (``diagonal_scatter``). Every rule is einsum or
  these linear ops again, so derivatives of every order work.
- ``diagonal`` (NumPy's, a view) and ``diagonal_scatter`` (zeros with the
  given values on a diagonal) are each other's adjoints. ``diag`` of a
  vector is a ``diagonal_scatter`` and ``trace`` the sum of a ``diagonal``.
- ``tril`` and ``triu`` zero a triangle: each is its own adjoint, and, as a
  primitive, needs no mask constant (which would be stored in saved files and
  could not have a run-time size).

tensordot and inner are einsums; outer and kron are broadcast products
(their gradients are the gradient pass's sums); eye is a constant.

``einsum`` normalises its subscripts when the node is built: ``...`` is
spelled out in fresh letters, the implicit output (no ``->``) made explicit,
and a statically-1 axis that broadcasts against a longer one is indexed away,
so the op itself never broadcasts. Its contraction order is planned once, at
build time, from the static shapes (the ``optimize`` parameter, see
:func:`einsum`): several operands become one einsum node per pairwise step,
and a product of two operands runs as one ``np.matmul``.
"""

from __future__ import annotations

import functools
import math
import string
from collections import Counter

import numpy as np

from ..errors import ShapeError
from ..ir import Node, as_nodes, disconnected_rule, get_default_graph
from ..types import check_dtype, combine_dtypes, normalize_axis
from ._define import DENSE_NONLINEAR, batch_axes, contraction_steps, gather_sparsity, primitive, scatter_sparsity
from .arith import mul
from .reductions import sum as reduce_sum
from .select import cast
from .shape import BROADCAST_TO, batch_loop, broadcast_like, broadcast_to, getitem, reshape, transpose

# --- diagonal and its adjoint -------------------------------------------------------------

def _axis_pair(name: str, ndim: int, axis1, axis2, what) -> tuple[int, int]:
    """``axis1`` and ``axis2`` as distinct non-negative axes of an ``ndim``-dimensional array."""
    first, second = normalize_axis(name, ndim, axis1, what), normalize_axis(name, ndim, axis2, what)
    if first == second:
        raise ShapeError(f"{name}: axis1 and axis2 must differ, both are {first} for {what}")
    return first, second


_MAX_OFFSET = 2 ** 31 - 1  # np.diagonal takes a C int; np.tril overflows near the int64 limits


def _check_offset(name: str, offset) -> int:
    if not isinstance(offset, (int, np.integer)) or isinstance(offset, bool):
        raise ShapeError(f"{name}: the offset must be an int, not {offset!r}")
    if not -_MAX_OFFSET <= offset <= _MAX_OFFSET:
        raise ShapeError(f"{name}: the offset {offset} is out of range (NumPy takes at most ±{_MAX_OFFSET})")
    return int(offset)


def _diagonal_length(n, m, offset: int):
    """The length of the ``offset`` diagonal of an n x m matrix (None when it depends on a run-time size)."""
    if n is None or m is None:
        return None
    return max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))


def _diagonal_infer(a, offset, axis1, axis2):
    if a.ndim < 2:
        raise ShapeError(f"diagonal: needs an array of at least 2 dimensions, got {a.describe()}")
    axis1, axis2 = _axis_pair("diagonal", a.ndim, axis1, axis2, a.describe())
    rest = tuple(d for i, d in enumerate(a.shape) if i not in (axis1, axis2))
    return rest + (_diagonal_length(a.shape[axis1], a.shape[axis2], _check_offset("diagonal", offset)),), a.dtype


def _diagonal_view(a: np.ndarray, offset: int, axis1: int, axis2: int) -> np.ndarray:
    """The ``offset`` diagonal of ``a`` over ``axis1``/``axis2`` as a writable view (np.diagonal's is read-only)."""
    moved = np.moveaxis(a, (axis1, axis2), (-2, -1))
    part = moved[..., :, offset:] if offset >= 0 else moved[..., -offset:, :]
    length = min(part.shape[-2:])
    return np.einsum("...ii->...i", part[..., :length, :length])


def _scatter_shape(c_shape: tuple, offset: int, axis1: int, axis2: int) -> tuple:
    """The square array whose diagonal ``c`` fills: c's last axis becomes axis1 and axis2."""
    n = c_shape[-1]
    size = None if n is None else n + abs(offset)
    shape = list(c_shape[:-1])
    for axis in sorted((axis1, axis2)):
        shape.insert(axis, size)
    return tuple(shape)


def _diagonal_scatter_forward(c, *like, offset, axis1, axis2):
    shape = like[0].shape if like else _scatter_shape(c.shape, offset, axis1, axis2)
    out = np.zeros(shape, c.dtype)
    _diagonal_view(out, offset, axis1, axis2)[...] = c
    return out


def _diagonal_scatter_infer(c, *like, offset, axis1, axis2):
    if c.ndim < 1:
        raise ShapeError(f"diagonal_scatter: the values must have at least 1 dimension, got {c.describe()}")
    offset = _check_offset("diagonal_scatter", offset)
    if not like:
        axis1, axis2 = _axis_pair("diagonal_scatter", c.ndim + 1, axis1, axis2, c.describe())
        return _scatter_shape(c.shape, offset, axis1, axis2), c.dtype
    (like,) = like
    diagonal_shape, _ = _diagonal_infer(like, offset, axis1, axis2)
    if len(diagonal_shape) != c.ndim or any(
            a is not None and b is not None and a != b for a, b in zip(diagonal_shape, c.shape)):
        raise ShapeError(f"diagonal_scatter: {c.describe()} does not fit the diagonal of {like.describe()} "
                         f"(offset {offset}, axes {axis1} and {axis2}), which has shape {diagonal_shape}")
    return like.shape, c.dtype


def _scatter_again(c_dot, out, c, *like):
    return out.graph.apply(DIAGONAL_SCATTER, (c_dot, *like), out.params.as_dict())


def _diagonal_of(d, out, *inputs):
    """The diagonal of ``d`` that ``out``'s parameters name (diagonal's forward rule, diagonal_scatter's reverse)."""
    return out.graph.apply(DIAGONAL, (d,), out.params.as_dict())


def _diagonal_xp(xp):
    """np.diagonal as the standard's linalg.diagonal, over the two axes moved last."""
    def kernel(a, offset, axis1, axis2):
        rest = tuple(k for k in range(a.ndim) if k not in (axis1 % a.ndim, axis2 % a.ndim))
        return xp.linalg.diagonal(xp.permute_dims(a, rest + (axis1, axis2)), offset=offset)
    return kernel


# diagonal(a) is a view of a's diagonal; its adjoint writes a cotangent onto the diagonal of zeros
# shaped like a. Both are linear: the forward rules apply the op to the tangent.
DIAGONAL = primitive("diagonal", np.diagonal, _diagonal_infer,
                     vjp=(lambda out_bar, out, a: out.graph.apply(DIAGONAL_SCATTER, (out_bar, a),
                                                                  out.params.as_dict()),),
                     jvp=(_diagonal_of,), view=True, batch=batch_axes("axis1", "axis2"), sparsity=gather_sparsity(),
                     array_api=_diagonal_xp)


def _diagonal_landing(codes, c, *like, offset, axis1, axis2):
    """Where each element of c lands (diagonal_scatter's sparsity fact): the diagonal of the result's codes."""
    return np.diagonal(codes, offset, axis1, axis2)


def _diagonal_scatter_xp(xp):
    """diagonal_scatter as one-hot rows times c times one-hot columns: (R * c) @ S^T, no setitem."""
    def kernel(c, *like, offset, axis1, axis2):
        shape = like[0].shape if like else _scatter_shape(c.shape, offset, axis1, axis2)
        first, second = axis1 % len(shape), axis2 % len(shape)
        rest = tuple(k for k in range(len(shape)) if k not in (first, second))
        k = c.shape[-1]
        place = xp.arange(k)
        rows = xp.astype(xp.arange(shape[first])[:, None] == place + max(0, -offset), c.dtype)  # (n1, k)
        cols = xp.astype(xp.arange(shape[second])[:, None] == place + max(0, offset), c.dtype)  # (n2, k)
        moved = xp.matmul(rows * c[..., None, :], xp.matrix_transpose(cols))  # (rest..., n1, n2)
        order = rest + (first, second)
        return xp.permute_dims(moved, tuple(order.index(j) for j in range(len(shape))))
    return kernel


# diagonal_scatter(c[, like]): zeros shaped like ``like`` (without it, the square array whose
# diagonal c fills: np.diag of a vector), with c on the offset diagonal over axis1 and axis2.
DIAGONAL_SCATTER = primitive("diagonal_scatter", _diagonal_scatter_forward, _diagonal_scatter_infer,
                             vjp=lambda index: _diagonal_of if index == 0 else disconnected_rule,
                             jvp=lambda index: _scatter_again if index == 0 else disconnected_rule,
                             batch=batch_axes("axis1", "axis2"), sparsity=scatter_sparsity(_diagonal_landing),
                             array_api=_diagonal_scatter_xp)


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Node:
    """NumPy's ``diagonal``: the ``offset`` diagonal over ``axis1`` and ``axis2``, as a new last axis.

    Examples
    --------
    >>> import symgrad as sg
    >>> A = sg.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> sg.diagonal(A).eval(), sg.diagonal(A, 1).eval(), sg.diagonal(A, -1).eval()
    (array([1., 5.]), array([2., 6.]), array([4.]))
    """
    (a,) = as_nodes(a)
    if a.ndim < 2:
        raise ShapeError(f"diagonal: needs an array of at least 2 dimensions, got {a.describe()}")
    axis1, axis2 = _axis_pair("diagonal", a.ndim, axis1, axis2, a.describe())
    return a.graph.apply(DIAGONAL, (a,), {"offset": _check_offset("diagonal", offset), "axis1": axis1,
                                          "axis2": axis2})


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None) -> Node:
    """NumPy's ``trace``: the sum of the ``offset`` diagonal (over ``axis1`` and ``axis2``).

    The result dtype is ``np.trace``'s (integers add up like ``np.sum``);
    ``dtype`` casts ``a`` first, as NumPy accumulates in it.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.trace(sg.constant([[1.0, 2.0], [3.0, 4.0]])).eval()
    array(5.)
    """
    (a,) = as_nodes(a)
    if dtype is not None:
        a = cast(a, check_dtype(dtype, "trace"))
    return reduce_sum(diagonal(a, offset, axis1, axis2), -1)


def diag(v, k: int = 0) -> Node:
    """NumPy's ``diag``: a 1-d ``v`` on the ``k``-th diagonal of a square matrix; the
    ``k``-th diagonal of a 2-d ``v``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.diag(sg.constant([1.0, 2.0])).eval()
    array([[1., 0.],
           [0., 2.]])
    >>> sg.diag(sg.constant([[1.0, 2.0], [3.0, 4.0]]), 1).eval()
    array([2.])
    """
    (v,) = as_nodes(v)
    k = _check_offset("diag", k)
    if v.ndim == 1:
        return v.graph.apply(DIAGONAL_SCATTER, (v,), {"offset": k, "axis1": 0, "axis2": 1})
    if v.ndim == 2:
        return diagonal(v, k)
    raise ShapeError(f"diag: the input must be 1-d or 2-d, got {v.describe()}")


# --- triangles -----------------------------------------------------------------------------

def _triangle_infer(name):
    def infer(m, k):
        if m.ndim == 0:
            raise ShapeError(f"{name}: needs an array of at least 1 dimension, got {m.describe()}")
        _check_offset(name, k)
        # As NumPy: a 1-d m is broadcast against the (n, n) mask, giving an n x n result.
        return (m.shape * 2 if m.ndim == 1 else m.shape), m.dtype
    return infer


def _triangle_batch(node, inputs, batched):
    (m,) = inputs
    if node.inputs[0].ndim == 1:  # as NumPy: a 1-d m is broadcast against the (n, n) mask
        m = broadcast_to(getitem(m, (slice(None), None)), m.shape[:1] + node.shape)
    return node.graph.apply(node.op, (m,), node.params.as_dict())


# Zeroing a fixed triangle is linear and self-adjoint: every rule is the op itself. A 1-d input
# gives an n x n result (as NumPy), and the gradient pass sums its cotangent back to n.
TRIL = primitive("tril", np.tril, _triangle_infer("tril"),
                 vjp=(lambda out_bar, out, m: tril(out_bar, out.params.k),),
                 jvp=(lambda m_dot, out, m: tril(m_dot, out.params.k),),
                 batch=_triangle_batch, sparsity=gather_sparsity())
TRIU = primitive("triu", np.triu, _triangle_infer("triu"),
                 vjp=(lambda out_bar, out, m: triu(out_bar, out.params.k),),
                 jvp=(lambda m_dot, out, m: triu(m_dot, out.params.k),),
                 batch=_triangle_batch, sparsity=gather_sparsity())


def tril(m, k: int = 0) -> Node:
    """NumPy's ``tril``: ``m`` with the elements above the ``k``-th diagonal zeroed (last two axes).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.tril(sg.constant([[1.0, 2.0], [3.0, 4.0]])).eval()
    array([[1., 0.],
           [3., 4.]])
    """
    (m,) = as_nodes(m)
    return m.graph.apply(TRIL, (m,), {"k": _check_offset("tril", k)})


def triu(m, k: int = 0) -> Node:
    """NumPy's ``triu``: ``m`` with the elements below the ``k``-th diagonal zeroed (last two axes).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.triu(sg.constant([[1.0, 2.0], [3.0, 4.0]]), 1).eval()
    array([[0., 2.],
           [0., 0.]])
    """
    (m,) = as_nodes(m)
    return m.graph.apply(TRIU, (m,), {"k": _check_offset("triu", k)})


# --- einsum ---------------------------------------------------------------------------------
# The op's subscripts are always explicit ("ij,jk->ik"): letters only, no "...", and each
# letter of one size in every operand (no broadcasting). The user function gets them there.

_LETTERS = string.ascii_letters  # the indices NumPy accepts
# Up to this many multiply-adds (all letters' sizes multiplied), NumPy's one C loop is faster
# than a planned contraction, whose calls cost microseconds more and pay off through BLAS.
_SMALL_CONTRACTION = 2 ** 15
_STRATEGIES = ("greedy", "optimal")


def _split(subscripts) -> tuple[list[str], str]:
    """The operands' terms and the output of explicit subscripts, checked."""
    if not isinstance(subscripts, str) or subscripts.count("->") != 1:
        raise ShapeError(f"einsum: subscripts {subscripts!r} must be a string with one '->'")
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    for part in terms + [output]:
        bad = [c for c in part if c not in _LETTERS]
        if bad:
            raise ShapeError(f"einsum: invalid subscript {bad[0]!r} in {subscripts!r}: subscripts are letters "
                             "a-z and A-Z, one '...' per operand, ',' and '->'")
    _check_output(output, terms, subscripts)
    return terms, output


def _check_output(output: str, terms: list[str], subscripts: str) -> None:
    repeated = [c for c, n in Counter(output).items() if n > 1]
    if repeated:
        raise ShapeError(f"einsum: the output of {subscripts!r} names index {repeated[0]!r} more than once")
    unknown = [c for c in output if not any(c in t for t in terms)]
    if unknown:
        raise ShapeError(f"einsum: the output of {subscripts!r} names index {unknown[0]!r}, which no operand has")


def _shapes_text(operands) -> str:
    return ", ".join(x.describe() for x in operands)


def _letter_sizes(terms: list[str], operands, subscripts: str, broadcast: bool, spread: str = "") -> dict:
    """Each letter's size: the static one (a run-time one matches any), else None.

    With ``broadcast``, a statically-1 axis may meet a longer one of another
    operand, as in NumPy; without, sizes must agree exactly. ``spread`` holds
    the letters standing for '...' (named so in messages).
    """
    for k, (term, x) in enumerate(zip(terms, operands)):
        if len(term) != x.ndim:
            raise ShapeError(f"einsum: subscript {term!r} of operand {k} names {len(term)} indices but "
                             f"{x.describe()} has {x.ndim} dimensions (subscripts {subscripts!r})")
    sizes: dict = {}
    seen: dict = {}  # letter -> (operand, size) of the first static size that decides it
    for k, (term, x) in enumerate(zip(terms, operands)):
        for letter, size in zip(term, x.shape):
            own = [d for t, d in zip(term, x.shape) if t == letter]
            if len(own) > 1 and None not in own and len(set(own)) > 1:
                raise ShapeError(f"einsum: index {letter!r} repeats in subscript {term!r} of operand {k} with "
                                 f"sizes {own} ({x.describe()}); a repeated index takes a diagonal and needs "
                                 f"one size (subscripts {subscripts!r})")
            sizes.setdefault(letter, None)
            if size is None or (broadcast and size == 1):
                continue
            if letter in seen and seen[letter][1] != size:
                first, before = seen[letter]
                index = (f"index {letter!r}" if letter not in spread else
                         f"the '...' axis {spread.index(letter) - len(spread)}")
                raise ShapeError(f"einsum: {index} has size {before} in operand {first} "
                                 f"({operands[first].describe()}) but size {size} in operand {k} "
                                 f"({x.describe()}) (subscripts {subscripts!r})")
            seen.setdefault(letter, (k, size))
            sizes[letter] = size
    if broadcast:  # a letter that is 1 wherever it is static and never run-time has size 1
        for term, x in zip(terms, operands):
            for letter, size in zip(term, x.shape):
                if size == 1 and letter not in seen and not _runtime_anywhere(letter, terms, operands):
                    sizes[letter] = 1
    return sizes


def _runtime_anywhere(letter: str, terms, operands) -> bool:
    return any(size is None for term, x in zip(terms, operands) for t, size in zip(term, x.shape) if t == letter)


def _einsum_dtype(operands) -> np.dtype:
    """combine_dtypes: float32 with float64 is an error; integers and bools take the float's dtype."""
    return combine_dtypes("einsum", [x.dtype for x in operands], operands)


def _einsum_infer(*operands, subscripts, optimize):
    terms, output = _split(subscripts)
    if len(terms) != len(operands):
        raise ShapeError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands but "
                         f"{len(operands)} were given ({_shapes_text(operands)})")
    if not (optimize is False or optimize in _STRATEGIES
            or (isinstance(optimize, tuple) and optimize[:1] == ("einsum_path",))):
        raise ShapeError(f"einsum: optimize={optimize!r} is not a contraction plan")
    sizes = _letter_sizes(terms, operands, subscripts, broadcast=False)
    return tuple(sizes[c] for c in output), _einsum_dtype(operands)


def _einsum_forward(*operands, subscripts, optimize):
    if len(operands) == 1:
        return np.einsum(subscripts, operands[0])
    if any(1 in x.shape for x in operands):
        _check_no_broadcast(operands, subscripts)
    dtype = operands[0].dtype
    if any(x.dtype != dtype for x in operands):  # computed in the static dtype, as the shape rule says
        floats = [x.dtype for x in operands if x.dtype.kind == "f"]
        dtype = floats[0] if floats else np.result_type(*operands)
        operands = [x.astype(dtype, copy=False) for x in operands]
    if len(operands) == 2 and optimize is not False:
        route = _matmul_route(subscripts)
        if route is not None:
            return _by_matmul(*operands, route, subscripts)
    return np.einsum(subscripts, *operands, optimize=optimize)


@functools.lru_cache(maxsize=None)
def _matmul_route(subscripts: str) -> tuple | None:
    """How a planned contraction of two operands is one np.matmul, or None when it is not a plain
    product (a repeated letter, a letter only one operand has and sums, no summed letter).

    The route: each operand's axes in the order they are merged into a (batch, rows, columns)
    stack of matrices, whether that stack is then read transposed, the numbers of batch, kept
    and summed axes, and the output's axes. An operand whose summed axes come first is merged
    as (summed, kept) and read transposed, so that merging axes seldom copies (BLAS reads a
    transposed matrix as it is).

    np.einsum reaches BLAS too, but NumPy 2's path for it (bmm_einsum) takes several times as
    long as matmul on the same arrays (512x64 by 64x64: 240 us against 37 us).
    """
    (ta, tb), out = _split(subscripts)
    if len(set(ta)) < len(ta) or len(set(tb)) < len(tb):
        return None
    if any(c not in tb and c not in out for c in ta) or any(c not in ta and c not in out for c in tb):
        return None
    summed = [c for c in ta if c in tb and c not in out]
    if not summed:
        return None
    batch = [c for c in out if c in ta and c in tb]
    left = [c for c in out if c in ta and c not in tb]
    right = [c for c in out if c in tb and c not in ta]
    # summed letters in b's order when b leads with them (b is then read as it lies), else in a's
    if tb.index(summed[0]) < min((tb.index(c) for c in right), default=len(tb)):
        summed = [c for c in tb if c in summed]
    swap_a = bool(left) and ta.index(summed[0]) < ta.index(left[0])
    swap_b = bool(right) and tb.index(right[0]) < tb.index(summed[0])
    order_a = batch + (summed + left if swap_a else left + summed)
    order_b = batch + (right + summed if swap_b else summed + right)
    order = batch + left + right
    return (tuple(ta.index(c) for c in order_a), swap_a, tuple(tb.index(c) for c in order_b), swap_b,
            (len(batch), len(left), len(summed), len(right)), tuple(order.index(c) for c in out))


def _merged(x, nb: int, first: int, swap: bool):
    """x, whose axes are (batch, group 1, group 2) with ``first`` axes in group 1, as a stack of
    matrices (batch, group 1, group 2); read transposed with ``swap``."""
    batch = x.shape[:nb]
    rows, cols = math.prod(x.shape[nb:nb + first]), math.prod(x.shape[nb + first:])
    matrices = x.reshape(batch + (rows, cols))
    return np.swapaxes(matrices, -1, -2) if swap else matrices


def _by_matmul(a, b, route, subscripts):
    axes_a, swap_a, axes_b, swap_b, (nb, nl, ns, nr), out_axes = route
    a, b = a.transpose(axes_a), b.transpose(axes_b)
    kept_a = a.shape[nb + ns:] if swap_a else a.shape[nb:nb + nl]
    summed_a = a.shape[nb:nb + ns] if swap_a else a.shape[nb + nl:]
    kept_b = b.shape[nb:nb + nr] if swap_b else b.shape[nb + ns:]
    summed_b = b.shape[nb + nr:] if swap_b else b.shape[nb:nb + ns]
    if a.shape[:nb] != b.shape[:nb] or summed_a != summed_b:
        raise ShapeError(f"einsum {subscripts!r}: the operands' shapes disagree on an index of run-time size "
                         f"(batch {a.shape[:nb]} and {b.shape[:nb]}, summed {summed_a} and {summed_b})")
    product = np.matmul(_merged(a, nb, ns if swap_a else nl, swap_a), _merged(b, nb, nr if swap_b else ns, swap_b))
    return product.reshape(a.shape[:nb] + kept_a + kept_b).transpose(out_axes)


def _check_no_broadcast(operands, subscripts: str) -> None:
    """np.einsum would broadcast a size-1 axis silently; the op's letters have one size each
    (only a run-time dimension can differ here, and those must not broadcast)."""
    terms = subscripts.split("->")[0].split(",")
    sizes: dict = {}
    for k, (term, x) in enumerate(zip(terms, operands)):
        for letter, size in zip(term, x.shape):
            first = sizes.setdefault(letter, (k, size))
            if first[1] != size:
                raise ShapeError(f"einsum {subscripts!r}: index {letter!r} has size {first[1]} in operand "
                                 f"{first[0]} but size {size} in operand {k}; run-time (None) dimensions "
                                 "must not broadcast: declare the dimension as 1 to broadcast it")


def _distinct(term: str) -> str:
    """The letters of ``term`` in order, each once."""
    return "".join(dict.fromkeys(term))


def _diagonal_steps(term: str) -> list[tuple[int, int, str]]:
    """How a term with repeated letters is taken down to its distinct letters by np.diagonal:
    (axis1, axis2, the term after that step) per step. ``'iji'`` takes one step, to ``'ji'``."""
    steps = []
    while len(_distinct(term)) < len(term):
        letter = next(c for c in term if term.count(c) > 1)
        p = term.index(letter)
        q = term.index(letter, p + 1)
        term = "".join(c for i, c in enumerate(term) if i not in (p, q)) + letter
        steps.append((p, q, term))
    return steps


def _einsum_vjp(index):
    def rule(out_bar, out, *operands):
        terms, output = _split(out.params.subscripts)
        term, x = terms[index], operands[index]
        others = [k for k in range(len(operands)) if k != index]
        steps = _diagonal_steps(term)
        distinct = steps[-1][2] if steps else term  # the letters of x's diagonal, as np.diagonal orders them
        out_bar, out_term = _unbroadcast(out_bar, output)
        elsewhere = set(out_term).union(*(terms[k] for k in others))
        kept = "".join(c for c in distinct if c in elsewhere)
        x_bar = _contract([out_bar] + [operands[k] for k in others], [out_term] + [terms[k] for k in others], kept)
        if kept != distinct:  # x's letters that only x has, or the cotangent had broadcast, come back as copies
            x_bar = getitem(x_bar, tuple(slice(None) if c in kept else None for c in distinct))
            shape = _static_shape(distinct, x, term)
            x_bar = (broadcast_to(x_bar, shape) if None not in shape
                     else broadcast_like(x_bar, _contract([x], [term], distinct)))
        for p, q, _ in reversed(steps):  # repeated letters: back onto the diagonals they read
            x_bar = x_bar.graph.apply(DIAGONAL_SCATTER, (x_bar,), {"offset": 0, "axis1": p, "axis2": q})
        return x_bar
    return rule


def _unbroadcast(out_bar: Node, output: str) -> tuple[Node, str]:
    """A broadcast cotangent (a sum's, often of a constant 1) as what was broadcast, with its letters:
    contracting that and copying the result costs less than multiplying by the copies."""
    if out_bar.op is not BROADCAST_TO:
        return out_bar, output
    inner = out_bar.inputs[0]
    lead = out_bar.ndim - inner.ndim
    spread = [i for i, d in enumerate(inner.shape) if d == 1 and out_bar.shape[lead + i] != 1]
    if spread:
        inner = getitem(inner, tuple(0 if i in spread else slice(None) for i in range(inner.ndim)))
    return inner, "".join(c for i, c in enumerate(output[lead:]) if i not in spread)


def _static_shape(letters: str, x: Node, term: str) -> tuple:
    size = dict(zip(term, x.shape))
    return tuple(size[c] for c in letters)


def _einsum_jvp(index):
    def rule(x_dot, out, *operands):
        terms, output = _split(out.params.subscripts)
        return _contract([x_dot if k == index else x for k, x in enumerate(operands)], terms, output)
    return rule


# np.einsum with the plan made at build time. A one-operand einsum ("ii->i", "ij->ji") is a
# view of its operand; the others are fresh arrays.
def _einsum_batch(node, inputs, batched):
    """Batching: one more index, on the batched operands and in front of the output."""
    terms, output = _split(node.params.subscripts)
    free = [c for c in _LETTERS if c not in node.params.subscripts]
    if not free:
        return batch_loop(node, inputs, batched)
    terms = [free[0] + t if b else t for t, b in zip(terms, batched)]
    return _contract(inputs, terms, free[0] + output, optimize=node.params.optimize is not False, broadcast=False)


def _einsum_sparsity(out, *operands, subscripts, optimize):
    """Each operand: the union over its contracted labels, placed in the result (dense where
    subscripts use '...'); an einsum is multilinear: cross terms between operands only."""
    terms, output = _split(subscripts)
    if "." in subscripts:
        return DENSE_NONLINEAR(out, *operands)
    maps = [contraction_steps(x.shape, term, out.shape, output) for x, term in zip(operands, terms)]
    pairs = [(i, j) for i in range(len(operands)) for j in range(len(operands)) if i < j]
    return maps, pairs


def _einsum_xp(xp):
    """einsum is not in the array-API standard: the library's own where it has one (JAX, torch, Dask),
    else a composition: repeated labels of an operand become linalg.diagonal, each operand is laid
    along all the labels (size 1 where absent), and the broadcast product is summed over the labels
    the output drops (memory: the product of every label's size)."""
    if hasattr(xp, "einsum"):
        return lambda *operands, subscripts, optimize: xp.einsum(subscripts, *operands)

    def kernel(*operands, subscripts, optimize):
        inputs, output = subscripts.split("->")
        order = list(output) + [label for label in dict.fromkeys(inputs.replace(",", "")) if label not in output]
        total = None
        for spec, x in zip(inputs.split(","), operands):
            for p, q, spec in _diagonal_steps(spec):  # a repeated label: its diagonal, as a last axis
                rest = tuple(k for k in range(x.ndim) if k not in (p, q))
                x = xp.linalg.diagonal(xp.permute_dims(x, rest + (p, q)))
            present = [label for label in order if label in spec]
            x = xp.permute_dims(x, tuple(spec.index(label) for label in present))
            x = xp.reshape(x, tuple(x.shape[present.index(label)] if label in spec else 1 for label in order))
            total = x if total is None else total * x
        summed = tuple(range(len(output), len(order)))
        return xp.sum(total, axis=summed) if summed else total
    return kernel


EINSUM = primitive("einsum", _einsum_forward, _einsum_infer, vjp=_einsum_vjp, jvp=_einsum_jvp, view=True,
                   batch=_einsum_batch, sparsity=_einsum_sparsity, array_api=_einsum_xp)


def _plan(terms: list[str], output: str, sizes: dict, optimize):
    """The ``optimize`` argument the forward passes to np.einsum: False (NumPy's C loop), a
    strategy (the order is planned at each call), or a contraction path planned now."""
    if optimize is False or len(terms) == 1:
        return False
    strategy = "greedy" if optimize is True else optimize
    if None in sizes.values():
        return strategy
    if optimize is True and math.prod(sizes.values()) <= _SMALL_CONTRACTION:
        return False
    stand_ins = [np.broadcast_to(np.zeros(()), tuple(sizes[c] for c in term)) for term in terms]
    path, _ = np.einsum_path(",".join(terms) + "->" + output, *stand_ins, optimize=strategy)
    return tuple(path)


def _contract(operands, terms: list[str], output: str, optimize=True, broadcast: bool = True,
              subscripts: str | None = None, spread: str = "") -> Node:
    """The einsum of ``operands`` (nodes) with explicit ``terms`` and ``output`` (no '...').

    Statically-1 axes that broadcast are indexed away first (with ``broadcast``); a
    one-operand einsum that only permutes is a transpose, and one that does nothing is
    its operand.
    """
    subscripts = subscripts or ",".join(terms) + "->" + output
    if len(_distinct("".join(terms))) > len(_LETTERS):
        raise ShapeError(f"einsum: {subscripts!r} needs more than {len(_LETTERS)} distinct indices")
    sizes = _letter_sizes(terms, operands, subscripts, broadcast, spread)
    operands, terms = list(operands), list(terms)
    for k, (term, x) in enumerate(zip(terms, operands)):
        ones = {c for c in term if sizes[c] != 1 and all(d == 1 for t, d in zip(term, x.shape) if t == c)}
        drop = [i for i, c in enumerate(term) if c in ones]
        if drop:
            operands[k] = getitem(x, tuple(0 if i in drop else slice(None) for i in range(x.ndim)))
            terms[k] = "".join(c for i, c in enumerate(term) if i not in drop)
    if len(operands) == 1 and len(_distinct(terms[0])) == len(terms[0]) and sorted(terms[0]) == sorted(output):
        return transpose(operands[0], tuple(terms[0].index(c) for c in output))
    scalars = [x for x, t in zip(operands, terms) if not t]
    if scalars and len(scalars) < len(operands):  # 0-d operands are factors: (s1 s2) einsum(the rest)
        rest = [(x, t) for x, t in zip(operands, terms) if t]
        factor = functools.reduce(mul, scalars)
        return mul(factor, _contract([x for x, _ in rest], [t for _, t in rest], output, optimize))
    plan = _plan(terms, output, sizes, optimize)
    if isinstance(plan, tuple) and len(plan) > 2:
        return _along(plan, operands, terms, output)
    return operands[0].graph.apply(EINSUM, operands, {"subscripts": ",".join(terms) + "->" + output,
                                                      "optimize": plan})


def _along(path: tuple, operands: list, terms: list, output: str) -> Node:
    """Several operands contracted step by step along a planned ``path`` (NumPy's format: the
    positions contracted at each step; the result goes last), one einsum node per step: their
    gradients then share the intermediate products instead of recomputing them."""
    operands, terms = list(operands), list(terms)
    for step in path[1:]:
        picked = [(operands.pop(i), terms.pop(i)) for i in sorted(step, reverse=True)][::-1]
        wanted = set(output).union(*terms)
        kept = output if not operands else "".join(c for c in _distinct("".join(t for _, t in picked)) if c in wanted)
        operands.append(_contract([x for x, _ in picked], [t for _, t in picked], kept))
        terms.append(kept)
    return operands[0]


def _from_sublists(first, rest) -> tuple[str, tuple]:
    """NumPy's other spelling, ``einsum(a, [0, 1], b, [1, 2], [0, 2])``, as a subscripts string."""
    args = (first,) + tuple(rest)
    output = args[-1] if len(args) % 2 else None
    operands, lists = args[0:len(args) - len(args) % 2:2], args[1::2]
    if not all(isinstance(sub, (list, tuple)) for sub in lists + ((output,) if output is not None else ())):
        raise ShapeError("einsum: give a list of indices after each operand (and optionally one for the output), "
                         "or a subscripts string first")

    def letters(sub) -> str:
        text = []
        for item in sub:
            if item is Ellipsis:
                text.append("...")
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < len(_LETTERS):
                text.append(_LETTERS[26 + item] if item < 26 else _LETTERS[item - 26])  # NumPy: 0 is 'A'
            else:
                raise ShapeError(f"einsum: index {item!r} in {list(sub)} must be an int in [0, 52) or Ellipsis")
        return "".join(text)

    subscripts = ",".join(letters(s) for s in lists) + ("" if output is None else "->" + letters(output))
    return subscripts, operands


def _expand(subscripts: str, operands) -> tuple[list[str], str, str]:
    """Explicit terms and output for NumPy's subscripts, and the fresh letters that spell out '...'."""
    text = subscripts.replace(" ", "")
    if text.count("->") > 1:
        raise ShapeError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ShapeError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands but {len(operands)} "
                         f"were given ({_shapes_text(operands)})")
    for part in terms + ([output] if arrow else []):
        bare = part.replace("...", "", 1)
        bad = [c for c in bare if c not in _LETTERS]
        if bad:
            raise ShapeError(f"einsum: invalid subscript {bad[0]!r} in {subscripts!r}: subscripts are letters "
                             "a-z and A-Z, one '...' per operand, ',' and '->'")
    used = set(text)
    fresh = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in used]
    # the dimensions each '...' stands for, broadcast right-aligned as NumPy does
    ellipsis_ndim = []
    for k, (term, x) in enumerate(zip(terms, operands)):
        named = len(term.replace("...", ""))
        if "..." in term:
            if named > x.ndim:
                raise ShapeError(f"einsum: subscript {term!r} of operand {k} names {named} indices but "
                                 f"{x.describe()} has only {x.ndim} dimensions (subscripts {subscripts!r})")
            ellipsis_ndim.append(x.ndim - named)
        elif named != x.ndim:
            raise ShapeError(f"einsum: subscript {term!r} of operand {k} names {named} indices but "
                             f"{x.describe()} has {x.ndim} dimensions (subscripts {subscripts!r})")
        else:
            ellipsis_ndim.append(0)
    width = max(ellipsis_ndim)
    if width > len(fresh):
        raise ShapeError(f"einsum: {subscripts!r} needs more than {len(_LETTERS)} distinct indices")
    spread = "".join(fresh[:width])
    terms = [t.replace("...", spread[width - n:]) for t, n in zip(terms, ellipsis_ndim)]
    if not arrow:  # implicit: the broadcast axes, then the letters met once, in alphabetical order
        counts = Counter("".join(terms))
        return terms, spread + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in spread)), spread
    if "..." in output:
        output = output.replace("...", spread)
    elif width:
        raise ShapeError(f"einsum: the output of {subscripts!r} has no '...', but the operands' '...' stand for "
                         f"{width} dimension(s) ({_shapes_text(operands)}); add '...' to the output to keep them")
    _check_output(output, terms, subscripts)
    return terms, output, spread


def einsum(subscripts, *operands, optimize=True) -> Node:
    """NumPy's ``einsum``: sums of products of the operands' elements, named by index letters.

    Explicit (``'ij,jk->ik'``) and implicit (``'ij,jk'``: the letters met
    once, in alphabetical order) outputs, repeated letters within an operand
    (``'ii'`` is the trace, ``'ii->i'`` the diagonal), ``...`` for broadcast
    axes, any number of operands, and NumPy's other spelling
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. A statically-1 axis
    broadcasts against a longer one, as in NumPy; a run-time (None) one must
    not. dtypes combine as elsewhere in symgrad: float32 with float64 is an
    error; integers with a float take the float's dtype.

    ``optimize`` plans the contraction. True (the default): NumPy's single C
    loop for one operand or a small contraction (at most 2**15 multiply-adds
    in all); otherwise NumPy's greedy order, planned once when the node is
    built (at each call where a size is known only at run time). Several
    operands then become one einsum node per pairwise step, so gradients
    share the intermediate products, and a product of two operands runs as
    one ``np.matmul`` (BLAS). False: always the C loop (NumPy's default).
    ``'greedy'`` or ``'optimal'``: that strategy, whatever the size.

    Examples
    --------
    >>> import symgrad as sg
    >>> A = sg.constant([[1.0, 2.0], [3.0, 4.0]])
    >>> sg.einsum("ij,jk->ik", A, A).eval()
    array([[ 7., 10.],
           [15., 22.]])
    >>> sg.einsum("ii", A).eval(), sg.einsum("ii->i", A).eval()
    (array(5.), array([1., 4.]))
    >>> sg.einsum("...j,j", sg.placeholder("x", (None, 5, 2)), sg.vector("w", 2)).type
    'f64[?,5]'
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _from_sublists(subscripts, operands)
    if not operands:
        raise ShapeError(f"einsum: {subscripts!r} needs at least one operand")
    if not (optimize is True or optimize is False or optimize in _STRATEGIES):
        raise ShapeError(f"einsum: optimize must be True, False, 'greedy' or 'optimal', not {optimize!r}")
    operands = as_nodes(*operands)
    terms, output, spread = _expand(subscripts, operands)
    return _contract(operands, terms, output, optimize, subscripts=subscripts, spread=spread)


# --- compositions -----------------------------------------------------------------------------

def _axes_list(name: str, axes, x: Node, which: str) -> list[int]:
    items = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    result = [normalize_axis(name, x.ndim, a, f"{which} {x.describe()}") for a in items]
    if len(set(result)) != len(result):
        raise ShapeError(f"{name}: repeated axis in {items} for {which} {x.describe()}")
    return result


def tensordot(a, b, axes=2) -> Node:
    """NumPy's ``tensordot``: sum over ``axes`` of ``a`` and ``b``.

    ``axes`` is an int N (the last N axes of ``a`` with the first N of ``b``)
    or a pair of sequences (or ints) of axes. Summed axes must have equal
    sizes (no broadcasting, as in NumPy).

    Examples
    --------
    >>> import numpy as np, symgrad as sg
    >>> a, b = sg.constant(np.ones((2, 3, 4))), sg.constant(np.ones((4, 3, 5)))
    >>> sg.tensordot(a, b, ([1, 2], [1, 0])).type
    'f64[2,5]'
    """
    a, b = as_nodes(a, b)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: axes={n} needs 0 <= axes <= the dimensions of {a.describe()} and "
                             f"{b.describe()}")
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        try:
            first, second = axes
        except (TypeError, ValueError):
            raise ShapeError(f"tensordot: axes must be an int or a pair of axis sequences, not {axes!r}") from None
        axes_a, axes_b = _axes_list("tensordot", first, a, "a"), _axes_list("tensordot", second, b, "b")
        if len(axes_a) != len(axes_b):
            raise ShapeError(f"tensordot: {len(axes_a)} axes of a but {len(axes_b)} of b were given "
                             f"({a.describe()}, {b.describe()})")
    for p, q in zip(axes_a, axes_b):
        n, m = a.shape[p], b.shape[q]
        if n is not None and m is not None and n != m:
            raise ShapeError(f"tensordot: shape mismatch for the sum over axis {p} of {a.describe()} (size {n}) "
                             f"and axis {q} of {b.describe()} (size {m})")
    letters = iter(_LETTERS)
    term_a = [next(letters) for _ in range(a.ndim)]
    term_b = [term_a[axes_a[axes_b.index(i)]] if i in axes_b else next(letters) for i in range(b.ndim)]
    output = ([c for i, c in enumerate(term_a) if i not in axes_a]
              + [c for i, c in enumerate(term_b) if i not in axes_b])
    return _contract((a, b), ["".join(term_a), "".join(term_b)], "".join(output), broadcast=False)


def inner(a, b) -> Node:
    """NumPy's ``inner``: the sum over the last axes (a product when either is a scalar).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.inner(sg.constant([1.0, 2.0]), sg.constant([3.0, 4.0])).eval()
    array(11.)
    """
    a, b = as_nodes(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    n, m = a.shape[-1], b.shape[-1]
    if n is not None and m is not None and n != m:
        raise ShapeError(f"inner: the last axes of {a.describe()} and {b.describe()} differ ({n} != {m})")
    return tensordot(a, b, ([-1], [-1]))


def outer(a, b) -> Node:
    """NumPy's ``outer``: ``out[i, j] = a.ravel()[i] * b.ravel()[j]``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.outer(sg.constant([1.0, 2.0]), sg.constant([3.0, 4.0, 5.0])).eval()
    array([[ 3.,  4.,  5.],
           [ 6.,  8., 10.]])
    """
    a, b = as_nodes(a, b)
    a, b = (x if x.ndim == 1 else reshape(x, (-1,)) for x in (a, b))
    return getitem(a, (slice(None), None)) * b


def kron(a, b) -> Node:
    """NumPy's ``kron``: the Kronecker product (the operand with fewer axes gets leading 1s).

    At most one axis of the result may have a run-time size.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.kron(sg.constant([[1.0, 2.0]]), sg.constant([[1.0], [10.0]])).eval()
    array([[ 1.,  2.],
           [10., 20.]])
    """
    a, b = as_nodes(a, b)
    ndim = max(a.ndim, b.ndim)
    a, b = (getitem(x, (None,) * (ndim - x.ndim)) if x.ndim < ndim else x for x in (a, b))
    if ndim == 0:
        return a * b
    # a[i, None, j, None] * b[None, k, None, l] is (i, k, j, l); merging pairs gives kron
    product = (getitem(a, (slice(None), None) * ndim) * getitem(b, (None, slice(None)) * ndim))
    shape = tuple(None if p is None or q is None else p * q for p, q in zip(a.shape, b.shape))
    if shape.count(None) > 1:
        raise ShapeError(f"kron: {a.describe()} and {b.describe()} give a result with "
                         f"{shape.count(None)} run-time dimensions; at most one is supported")
    return reshape(product, tuple(-1 if d is None else d for d in shape))


def eye(N: int, M: int | None = None, k: int = 0, dtype=float, *, graph=None) -> Node:
    """NumPy's ``eye``, as a constant: ones on the ``k``-th diagonal of an N x M matrix.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.eye(2, 3, k=1).eval()
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    for name, value in (("N", N), ("M", M)):
        if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool)
                                  or value < 0):
            raise ShapeError(f"eye: {name} must be a non-negative int, not {value!r}")
    k = _check_offset("eye", k)
    dtype = check_dtype(dtype, "eye")
    return (graph or get_default_graph()).constant(np.eye(N, M, k, dtype))


__all__ = ["EINSUM", "DIAGONAL", "DIAGONAL_SCATTER", "TRIL", "TRIU",
           "einsum", "tensordot", "inner", "outer", "kron", "trace", "diag", "diagonal", "tril", "triu", "eye"]
