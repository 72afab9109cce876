"""Matrix products: matmul (NumPy's ``@``, with batch broadcasting) and dot.

matmul is bilinear, so its forward rules are matmul itself; its reverse rules
are the notes' ``dW = dD @ X.T`` and ``dX = W.T @ dD``, with 1-d operands
treated as a row (left) or column (right) and the extra axis removed again.
Batch dimensions broadcast (a run-time one must not, as for elementwise ops);
the gradient pass sums them back.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..ir import Node, as_nodes
from ..types import broadcast_shapes, combine_dtypes
from ._define import contraction_steps, primitive
from .manipulation import swapaxes
from .shape import batch_lift, getitem, reshape, transpose


def _matmul_infer(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least one dimension, got {a.describe()} and "
                         f"{b.describe()}; use mul for scalars")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a is not None and k_b is not None and k_a != k_b:
        raise ShapeError(f"matmul: inner dimensions differ: {a.describe()} @ {b.describe()} ({k_a} != {k_b})")
    batch = broadcast_shapes("matmul", [a.shape[:-2], b.shape[:-2]], (a, b))
    rows = a.shape[-2:-1] if a.ndim >= 2 else ()
    cols = b.shape[-1:] if b.ndim >= 2 else ()
    return batch + rows + cols, combine_dtypes("matmul", [a.dtype, b.dtype], (a, b))


def _vjp_a(out_bar, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return out_bar * b
    if b.ndim == 1:  # (..., n) cotangent times b as a row: an outer product
        return getitem(out_bar, (Ellipsis, slice(None), None)) * b
    if a.ndim == 1:  # a was a row (1, k): add the row axis, multiply, take it away again
        row = getitem(out_bar, (Ellipsis, None, slice(None)))
        return getitem(matmul(row, swapaxes(b, -1, -2)), (Ellipsis, 0, slice(None)))
    return matmul(out_bar, swapaxes(b, -1, -2))


def _vjp_b(out_bar, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return out_bar * a
    if a.ndim == 1:  # a as a column times the cotangent as a row: an outer product
        return getitem(a, (slice(None), None)) * getitem(out_bar, (Ellipsis, None, slice(None)))
    if b.ndim == 1 and a.ndim == 2:  # A^T v as v A: a vector-matrix product, no axes added
        return matmul(out_bar, a)
    if b.ndim == 1:  # b was a column (k, 1)
        return getitem(matmul(swapaxes(a, -1, -2), getitem(out_bar, (Ellipsis, None))), (Ellipsis, 0))
    return matmul(swapaxes(a, -1, -2), out_bar)


def is_identity(x: Node) -> bool:
    """Whether ``x`` is a constant identity matrix."""
    v = x.value
    return (v is not None and v.ndim == 2 and v.shape[0] == v.shape[1] and np.count_nonzero(v) == v.shape[0]
            and bool(np.all(np.diagonal(v) == 1)))


def _matmul_batch(node: Node, inputs: tuple, batched: tuple) -> Node:
    """Batching: one matrix product where the batch axis can join the rows (the common cases of
    dense Jacobians and Hessians), else NumPy's batch broadcasting."""
    (a0, b0), (a, b), (a_batched, b_batched) = node.inputs, inputs, batched
    if a_batched and not b_batched and b.ndim == 2:
        if a0.ndim == 1 and is_identity(a):  # the rows of the identity: the seeds of a dense Jacobian
            return b
        if a0.ndim == 1:  # a stack of rows times a matrix
            return matmul(a, b)
        if None not in a.shape[:-1]:  # every row of every batch element times b, in one product
            return reshape(matmul(reshape(a, (-1, a.shape[-1])), b), a.shape[:-1] + b.shape[-1:])
    if b_batched and not a_batched and a.ndim == 2:
        if b0.ndim == 1 and is_identity(b):
            return transpose(a)
        if b0.ndim == 1:  # A v for a stack of v: (V A^T)
            return matmul(b, transpose(a))
        if b0.ndim == 2 and b.shape[-1] == 1:  # a stack of columns
            return getitem(matmul(getitem(b, (slice(None), slice(None), 0)), transpose(a)),
                           (slice(None), slice(None), None))
    # matrices with the batch axis in front, lined up with the other operand's batch axes
    a_m = getitem(a, (Ellipsis, None, slice(None))) if a0.ndim == 1 else a
    b_m = getitem(b, (Ellipsis, slice(None), None)) if b0.ndim == 1 else b
    ndim = max(a0.ndim, b0.ndim, 2)
    a_m = batch_lift(a_m, ndim) if a_batched else a_m
    b_m = batch_lift(b_m, ndim) if b_batched else b_m
    out = matmul(a_m, b_m)
    if b0.ndim == 1:
        out = getitem(out, (Ellipsis, 0))
    if a0.ndim == 1:
        out = getitem(out, (Ellipsis, 0, slice(None)) if b0.ndim > 1 else (Ellipsis, 0))
    return out


def _matmul_sparsity(out, a, b):
    """Each result element depends on its row of ``a`` and its column of ``b`` (einsum's rule)."""
    batch = "".join(chr(ord("A") + k) for k in range(max(a.ndim, b.ndim) - 2))
    a_labels = "k" if a.ndim == 1 else batch[len(batch) - (a.ndim - 2):] + "ik"
    b_labels = "k" if b.ndim == 1 else batch[len(batch) - (b.ndim - 2):] + "kj"
    out_labels = batch + ("i" if a.ndim > 1 else "") + ("j" if b.ndim > 1 else "")
    return [contraction_steps(a.shape, a_labels, out.shape, out_labels),
            contraction_steps(b.shape, b_labels, out.shape, out_labels)], ((0, 1),)


# Bilinear: the forward rules are matmul itself. np.matmul takes out=, but BLAS cannot write
# into an operand it reads, so a matmul writes only into buffers other matmuls made. The batch
# axes broadcast (core_dims=2 keeps the matrix axes out of it): a run-time batch axis must not.
MATMUL = primitive("matmul", np.matmul, _matmul_infer,
                   vjp=(_vjp_a, _vjp_b),
                   jvp=(lambda a_dot, out, a, b: matmul(a_dot, b), lambda b_dot, out, a, b: matmul(a, b_dot)),
                   broadcasts=True, core_dims=2, out=True, own_buffers=True, batch=_matmul_batch,
                   sparsity=_matmul_sparsity)


def matmul(a, b) -> Node:
    """Matrix product with NumPy's ``@`` rules (1-d operands, batch broadcasting).

    Examples
    --------
    >>> import symgrad as sg
    >>> W = sg.constant([[1.0, 2.0], [3.0, 4.0]])
    >>> (W @ sg.constant([1.0, 1.0])).eval()
    array([3., 7.])
    """
    return MATMUL(a, b)


def dot(a, b) -> Node:
    """``np.dot`` for scalars, vectors and matrices (use matmul for batches).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.dot(sg.constant([1.0, 2.0]), sg.constant([3.0, 4.0])).eval()
    array(11.)
    """
    a, b = as_nodes(a, b, op="dot")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        raise ShapeError(f"dot: operands of more than 2 dimensions ({a.describe()}, {b.describe()}) "
                         "follow different rules in NumPy; use matmul")
    return matmul(a, b)


__all__ = ["MATMUL", "matmul", "dot"]
