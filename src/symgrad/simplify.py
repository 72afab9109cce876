"""Build-time rewrites: small, exact simplifications applied as nodes are made.

Gradient passes produce the same few patterns in bulk: a product with a
constant -1, the negation of a negation, constants combined with constants,
``b * a`` next to an existing ``a * b``. Each rewrite here keeps values
bit for bit (IEEE negation is exact, ``a + (-b)`` *is* ``a - b``, and ``*`` and
``+`` commute exactly), including NaN and Inf, so it is safe to apply
everywhere. Folding constants runs the op's own forward on the constants,
so the folded value is the one evaluation would compute.

Folding applies only to nodes a derivative pass makes, and only when every
input is a constant of a few elements: a user's own ``constant + constant``
stays visible as written.

Examples
--------
>>> import symgrad as sg
>>> x = sg.scalar("x")
>>> d = sg.grad(sg.tanh(x), x)          # 1 - tanh(x)**2
>>> d2 = sg.grad(d, x)                   # -(2 tanh x)(1 - tanh(x)**2)
>>> print(*sg.listing(d2).split(chr(10))[-3:], sep=chr(10))
%7: f64[] = mul %6 %1    # cotangent, pass 2, from %3 square
%8: f64[] = neg %7    # cotangent, pass 2, from %3 square
%9: f64[] = mul %8 %4    # cotangent, pass 2, from %1 tanh
"""

from __future__ import annotations

import numpy as np

# Only one-element constants are folded: enough for the scalars that passes make, and the
# size of a graph then does not depend on whether a vector happens to be short.
FOLD_SIZE = 1

_SAFE: set | None = None


def _foldable_ops() -> set:
    """symgrad's own pure ops (a custom op's forward might not be pure)."""
    from .ops import core, elementwise, linalg, nn, reductions, shape
    leaves = {core.PLACEHOLDER, core.CONSTANT}
    return {v for m in (core, elementwise, linalg, nn, reductions, shape) for v in vars(m).values()
            if isinstance(v, core.Op) and v not in leaves}


def fold(graph, op, inputs: tuple, params: dict | None, shape: tuple, dtype):
    """The constant a derivative node over small constants evaluates to, or None."""
    global _SAFE
    if graph._making is None or not inputs or None in shape or int(np.prod(shape)) > FOLD_SIZE:
        return None
    for node in inputs:
        if node.value is None or node.value.size > FOLD_SIZE:
            return None
    if _SAFE is None:
        _SAFE = _foldable_ops()
    if op not in _SAFE:
        return None
    try:
        with np.errstate(all="ignore"):  # evaluation would give the same inf or nan, silently
            value = op.forward(*(n.value for n in inputs), **(params or {}))
    except Exception:  # leave the error to evaluation, where it names the node
        return None
    value = np.asarray(value)
    if value.dtype != dtype:
        value = value.astype(dtype)
    if value.shape != shape:
        return None
    return graph.constant(value)


def is_constant(node, value: float) -> bool:
    """Whether ``node`` is a constant whose every element equals ``value`` (checked cheaply)."""
    v = node.value
    if v is None:
        return False
    if v.ndim == 0:
        return bool(v == value)
    return v.size <= FOLD_SIZE and bool(np.all(v == value))
