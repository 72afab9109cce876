"""Reductions over axes: sum, mean, max, min, logsumexp, argmax, argmin.

Reverse rules broadcast the cotangent back over the reduced axes; forward
rules reduce the tangent. ``max`` and ``min`` share the gradient equally among
tied elements, so it stays a subgradient and sums to the incoming cotangent.
``logsumexp`` is a primitive because the notes ask for its stable form.

Result dtypes are NumPy's, since both executors cast a result to its node's
static dtype: a sum of bools counts them and narrower integers sum in int64
(``np.sum``), a mean of integers is float64 (``np.mean``), max and min keep
the dtype, argmax gives the platform integer.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..ir import Node, as_nodes, undefined_rule
from ..types import (check_bool_argument, float_result, is_float, normalize_axes, normalize_axis, reduced_shape,
                     require_canonical, require_float)
from ._define import primitive
from .elementary import SQUARE, exp
from .select import cast, equal, stop_gradient, where
from .shape import broadcast_like, getitem, reshape, zeros_like


_INT, _UINT = np.dtype(np.int_), np.dtype(np.uint)  # NumPy's default (platform) integers


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of ``np.sum`` over ``dtype``: bools and narrower integers add up in the
    platform integer (a sum of bools counts them; int8 [100, 100, 100] sums to 300),
    narrower unsigned ones in the platform unsigned integer; floats keep their dtype."""
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < _INT.itemsize):
        return _INT
    if dtype.kind == "u" and dtype.itemsize < _UINT.itemsize:
        return _UINT
    return dtype


def _mean_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype ``np.mean`` adds up in: float64 for bools and integers (no wrap-around),
    float32 for float16 (no overflow past 65504); the mean of float16 is then rounded back."""
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _reduction_infer(name, result_dtype, empty_ok=False):
    """Shape/dtype rule of a reduction; ``result_dtype(name, x)`` is NumPy's result dtype.

    Only a reduction with an identity (a sum) may reduce an empty axis, as in NumPy.
    """
    def infer(x, axis, keepdims):
        require_canonical(name, "axis", axis, normalize_axes(name, x.shape, axis, x), x)
        require_canonical(name, "keepdims", keepdims, check_bool_argument(name, keepdims, x), x)
        if not empty_ok and any(x.shape[a] == 0 for a in axis):
            raise ShapeError(f"{name}: cannot reduce the empty axis of {x.describe()}")
        return reduced_shape(x.shape, axis, keepdims), result_dtype(name, x)
    return infer


def _same_dtype(name, x):
    return x.dtype


def _keep(d: Node, out: Node) -> Node:
    """``d`` (shaped like ``out``: a cotangent, or ``out`` itself) with the reduced axes kept as length 1."""
    if out.params.keepdims or not out.params.axis:
        return d
    axes = out.params.axis
    ndim = d.ndim + len(axes)
    return getitem(d, tuple(None if i in axes else slice(None) for i in range(ndim)))


def _spread(out_bar, out, x):
    """The adjoint of a sum: copy ``out_bar`` back over the reduced axes of ``x``."""
    return broadcast_like(_keep(out_bar, out), x)


def _reduce(op: Op, x, axis, keepdims) -> Node:
    (x,) = as_nodes(x, op=op.name)
    axes = normalize_axes(op.name, x.shape, axis, x)
    keepdims = check_bool_argument(op.name, keepdims, x)
    return x.graph.apply(op, (x,), {"axis": axes, "keepdims": keepdims})


SUM = primitive("sum", lambda x, axis, keepdims: np.sum(x, axis, keepdims=keepdims),
                _reduction_infer("sum", lambda name, x: _sum_dtype(x.dtype), empty_ok=True),
                vjp=(_spread,),
                jvp=(lambda x_dot, out, x: sum(x_dot, out.params.axis, out.params.keepdims),),
                numpy=lambda args, p: f"np.sum({args[0]}, {p['axis']!r}, keepdims={p['keepdims']})")


def _share(out, x):
    """Where x attains its max (or min), 1 / (number of ties); elsewhere 0."""
    one, zero = (x.graph.constant(np.array(v, x.dtype)) for v in (1, 0))
    hit = where(equal(x, broadcast_like(_keep(out, out), x)), one, zero)
    return hit / sum(hit, out.params.axis, keepdims=True)


MAX = primitive("max", lambda x, axis, keepdims: np.max(x, axis, keepdims=keepdims),
                _reduction_infer("max", _same_dtype),
                vjp=(lambda out_bar, out, x: _spread(out_bar, out, x) * _share(out, x),),
                jvp=(lambda x_dot, out, x: sum(x_dot * _share(out, x), out.params.axis, out.params.keepdims),))
MIN = primitive("min", lambda x, axis, keepdims: np.min(x, axis, keepdims=keepdims),
                _reduction_infer("min", _same_dtype),
                vjp=MAX.vjp, jvp=MAX.jvp)


def _logsumexp(x, axis, keepdims):
    if x.dtype.kind != "f":
        x = x.astype(np.float64)  # the static rule: integers and bools reduce in float64
    peak = np.max(x, axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)  # all -inf rows give -inf, not nan
    with np.errstate(divide="ignore"):
        total = np.log(np.sum(np.exp(x - peak), axis, keepdims=True)) + peak
    return total if keepdims else np.squeeze(total, axis)


def _softmax_of(out, x):
    """softmax(x) over the reduced axes: the derivative of logsumexp.

    Computed as exp(x - max) / sum rather than exp(x - out): where the
    elements are huge, ``out`` rounds away what tells them apart (float32
    logsumexp([1e8, 1e8]) is 1e8, and exp(x - out) would be [1, 1]). The
    shift is held constant; softmax does not change under it.
    """
    axes = out.params.axis
    e = exp(x - stop_gradient(max(x, axes, keepdims=True)))
    return e / sum(e, axes, keepdims=True)


LOGSUMEXP = primitive("logsumexp", _logsumexp,
                      _reduction_infer("logsumexp", lambda name, x: float_result(name, x.dtype, x)),
                      vjp=(lambda out_bar, out, x: _spread(out_bar, out, x) * _softmax_of(out, x),),
                      jvp=(lambda x_dot, out, x: sum(x_dot * _softmax_of(out, x), out.params.axis,
                                                     out.params.keepdims),))


def _sum_squares_infer(x):
    require_float("sum_squares", x.dtype, x)
    return (), x.dtype


# The sum of all squares (weight decay, mean squared error, norms) in one pass over x, as
# np.linalg.norm computes it: a dot product, rounded like any sum of x*x, without the
# temporary array x*x and the second pass that reads it.
SUM_SQUARES = primitive("sum_squares", lambda x: np.vdot(x, x), _sum_squares_infer,
                        vjp=(lambda out_bar, out, x: out_bar * (2.0 * x),),
                        jvp=(lambda x_dot, out, x: 2.0 * sum(x * x_dot),))


def sum(x, axis=None, keepdims: bool = False) -> Node:
    """Sum over ``axis`` (an int, a tuple, or None for every axis).

    The result dtype is ``np.sum``'s: the sum of bools counts them, and
    narrower integers add up in int64 (uint64 when unsigned), so they do not
    wrap. A float64 ``sum(square(x))`` over every axis is one ``sum_squares`` op.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sum(sg.constant([[1.0, 2.0], [3.0, 4.0]]), axis=0).eval()
    array([4., 6.])
    >>> sg.sum(sg.constant([True, True, False])).eval()
    array(2)
    >>> sg.sum(sg.square(sg.vector("w", 3))).op.name
    'sum_squares'
    """
    (x,) = as_nodes(x, op="sum")
    axes = normalize_axes("sum", x.shape, axis, x)
    keepdims = check_bool_argument("sum", keepdims, x)
    if axis is not None and not axes and not keepdims:
        return cast(x, _sum_dtype(x.dtype))  # a sum over no axis still has np.sum's dtype
    if (x.op is SQUARE and x.ndim and len(axes) == x.ndim and not keepdims
            and x.dtype == np.float64 and x.inputs[0].dtype == np.float64):
        return x.graph.apply(SUM_SQUARES, x.inputs)
    return _reduce(SUM, x, axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Node:
    """Mean over ``axis``: a sum divided by the count (a run-time count for run-time dims).

    The result dtype is ``np.mean``'s: float64 for bools and integers (the
    mean of a bool mask is the fraction of True), the input's float dtype
    otherwise. As NumPy, integers add up in float64 and float16 in float32.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.mean(sg.constant([1.0, 2.0, 6.0])).eval()
    array(3.)
    >>> sg.mean(sg.constant([True, True, True, False])).eval()
    array(0.75)
    """
    (x,) = as_nodes(x, op="mean")
    axes = normalize_axes("mean", x.shape, axis, x)
    keepdims = check_bool_argument("mean", keepdims, x)
    terms = cast(x, _mean_dtype(x.dtype))
    total = sum(terms, axes, keepdims)
    sizes = [x.shape[a] for a in axes]
    if None not in sizes:
        average = total / float(np.prod(sizes, dtype=np.float64))
    else:
        count = sum(zeros_like(terms) + 1.0, axes, keepdims)  # counted at run time; carries no derivative
        average = total / count
    return cast(average, x.dtype) if is_float(x.dtype) else average


def max(x, axis=None, keepdims: bool = False) -> Node:
    """Largest element over ``axis``; ties share the gradient equally.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.max(sg.constant([1.0, 7.0, 3.0])).eval()
    array(7.)
    """
    return _reduce(MAX, x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Node:
    """Smallest element over ``axis``; ties share the gradient equally.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.min(sg.constant([1.0, 7.0, 3.0])).eval()
    array(1.)
    """
    return _reduce(MIN, x, axis, keepdims)


def logsumexp(x, axis=None, keepdims: bool = False) -> Node:
    """log(sum(exp(x))) over ``axis``, computed without overflow.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.logsumexp(sg.constant([1000.0, 1000.0])).eval())  # 1000 + log 2
    1000.6931471805599
    """
    return _reduce(LOGSUMEXP, x, axis, keepdims)


def _arg_infer(name):
    def infer(x, axis):
        if x.ndim == 0:
            raise ShapeError(f"{name}: {x.describe()} has no axis to reduce")
        axis = normalize_axis(name, x.ndim, axis, x)  # files of earlier versions hold -1
        if x.shape[axis] == 0:
            raise ShapeError(f"{name}: cannot reduce the empty axis {axis} of {x.describe()}")
        return tuple(d for i, d in enumerate(x.shape) if i != axis), np.dtype(np.intp)
    return infer


ARGMAX = primitive("argmax", lambda x, axis: np.argmax(x, axis), _arg_infer("argmax"),
                   vjp=(undefined_rule,), jvp=(undefined_rule,))
ARGMIN = primitive("argmin", lambda x, axis: np.argmin(x, axis), _arg_infer("argmin"),
                   vjp=(undefined_rule,), jvp=(undefined_rule,))


def argmax(x, axis: int | None = -1) -> Node:
    """Index of the largest element along ``axis`` (integer; no derivative); ``None``: of all elements.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.argmax(sg.constant([[1.0, 9.0], [8.0, 2.0]])).eval()
    array([1, 0])
    """
    return _arg(ARGMAX, x, axis)


def argmin(x, axis: int | None = -1) -> Node:
    """Index of the smallest element along ``axis`` (integer; no derivative); ``None``: of all elements."""
    return _arg(ARGMIN, x, axis)


def _arg(op, x, axis) -> Node:
    (x,) = as_nodes(x, op=op.name)
    if axis is None:  # as NumPy: the index into the flattened array
        x, axis = reshape(x, (-1,)), 0
    if x.ndim == 0:
        raise ShapeError(f"{op.name}: {x.describe()} has no axis to reduce")
    return x.graph.apply(op, (x,), {"axis": normalize_axis(op.name, x.ndim, axis, x)})


__all__ = ["SUM", "SUM_SQUARES", "MAX", "MIN", "LOGSUMEXP", "ARGMAX", "ARGMIN",
           "sum", "mean", "max", "min", "logsumexp", "argmax", "argmin"]
