"""Reductions over axes: sum, mean, max, min, logsumexp, argmax, argmin, prod, all,
any, count_nonzero, and NumPy's statistics var, std, median, average and ptp.

Reverse rules broadcast the cotangent back over the reduced axes; forward
rules reduce the tangent. ``max`` and ``min`` share the gradient equally among
tied elements, so it stays a subgradient and sums to the incoming cotangent.
``logsumexp`` is a primitive because the notes ask for its stable form.
``prod``'s derivative is the product of the other elements, made of
exclusive cumulative products (never ``prod / x``), so it is exact at zeros,
to every order. var, std, median, average and ptp are compositions.

Result dtypes are NumPy's, since both executors cast a result to its node's
static dtype: a sum or product of bools and narrower integers is in int64
(``np.sum``), a mean, var, std, median or average of integers is float64
(``np.mean``), max, min and ptp keep the dtype, all and any give bools,
argmax and count_nonzero the platform integer.
"""

from __future__ import annotations

import builtins
import warnings

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import Node, Op, as_node, as_nodes, undefined_rule
from ..types import (check_bool_argument, check_float_argument, combine_dtypes, float_result, is_float, normalize_axes,
                     normalize_axis, reduced_shape, require_canonical, require_float, sum_dtype)
from ._define import REDUCE, REDUCE_LINEAR, batch_axes, no_dependence, primitive
from .elementary import SQUARE, abs, exp, sqrt, square
from .scans import exclusive_cumprod, sort
from .select import cast, equal, less, maximum, not_equal, stop_gradient, where
from .shape import broadcast_like, expand_dims, getitem, reshape, transpose, zeros_like


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
        if not empty_ok and builtins.any(x.shape[a] == 0 for a in axis):
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
                _reduction_infer("sum", lambda name, x: sum_dtype(x.dtype), empty_ok=True),
                vjp=(_spread,),
                jvp=(lambda x_dot, out, x: sum(x_dot, out.params.axis, out.params.keepdims),),
                numpy=lambda args, p: f"np.sum({args[0]}, {p['axis']!r}, keepdims={p['keepdims']})",
                batch=batch_axes("axis"), sparsity=REDUCE_LINEAR,
    array_api="sum")


def _share(out, x):
    """Where x attains its max (or min), 1 / (number of ties); elsewhere 0."""
    one, zero = (x.graph.constant(np.array(v, x.dtype)) for v in (1, 0))
    hit = where(equal(x, broadcast_like(_keep(out, out), x)), one, zero)
    return hit / sum(hit, out.params.axis, keepdims=True)


MAX = primitive("max", lambda x, axis, keepdims: np.max(x, axis, keepdims=keepdims),
                _reduction_infer("max", _same_dtype),
                vjp=(lambda out_bar, out, x: _spread(out_bar, out, x) * _share(out, x),),
                jvp=(lambda x_dot, out, x: sum(x_dot * _share(out, x), out.params.axis, out.params.keepdims),),
                batch=batch_axes("axis"), sparsity=REDUCE_LINEAR,
    array_api="max")
MIN = primitive("min", lambda x, axis, keepdims: np.min(x, axis, keepdims=keepdims),
                _reduction_infer("min", _same_dtype),
                vjp=MAX.vjp, jvp=MAX.jvp, batch=batch_axes("axis"), sparsity=REDUCE_LINEAR,
    array_api="min")


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


def _logsumexp_xp(xp):
    """logsumexp in the array-API standard: the max taken out (none where it is infinite)."""
    def kernel(x, axis, keepdims):
        m = xp.max(x, axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        s = xp.sum(xp.exp(x - m), axis=axis, keepdims=keepdims)
        return xp.log(s) + xp.reshape(m, s.shape)
    return kernel


LOGSUMEXP = primitive("logsumexp", _logsumexp,
                      _reduction_infer("logsumexp", lambda name, x: float_result(name, x.dtype, x)),
                      vjp=(lambda out_bar, out, x: _spread(out_bar, out, x) * _softmax_of(out, x),),
                      jvp=(lambda x_dot, out, x: sum(x_dot * _softmax_of(out, x), out.params.axis,
                                                     out.params.keepdims),),
                      batch=batch_axes("axis"), sparsity=REDUCE,
    array_api=_logsumexp_xp)


def _sum_squares_infer(x):
    require_float("sum_squares", x.dtype, x)
    return (), x.dtype


# The sum of all squares (weight decay, mean squared error, norms) in one pass over x, as
# np.linalg.norm computes it: a dot product, rounded like any sum of x*x, without the
# temporary array x*x and the second pass that reads it.
SUM_SQUARES = primitive("sum_squares", lambda x: np.vdot(x, x), _sum_squares_infer,
                        vjp=(lambda out_bar, out, x: out_bar * (2.0 * x),),
                        jvp=(lambda x_dot, out, x: 2.0 * sum(x * x_dot),),
                        batch=lambda node, inputs, batched: sum(square(inputs[0]), tuple(range(1, inputs[0].ndim))), sparsity=REDUCE,
    array_api=lambda xp: lambda x: xp.sum(x * x))


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
        return cast(x, sum_dtype(x.dtype))  # a sum over no axis still has np.sum's dtype
    if (x.op is SQUARE and x.ndim and len(axes) == x.ndim and not keepdims
            and x.dtype == np.float64 and x.inputs[0].dtype == np.float64):
        return x.graph.apply(SUM_SQUARES, x.inputs)
    return _reduce(SUM, x, axis, keepdims)


def _count(x: Node, axes: tuple, keepdims: bool):
    """How many elements of ``x`` each result reduces over ``axes``: a float, or a node
    counting at run time (it carries no derivative) when a reduced axis has a run-time size."""
    sizes = [x.shape[a] for a in axes]
    if None not in sizes:
        return float(np.prod(sizes, dtype=np.float64))
    return sum(zeros_like(x) + 1.0, axes, keepdims)


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
    average = sum(terms, axes, keepdims) / _count(terms, axes, keepdims)
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
                   vjp=(undefined_rule,), jvp=(undefined_rule,), batch=batch_axes("axis"), sparsity=no_dependence,
    array_api="argmax")
ARGMIN = primitive("argmin", lambda x, axis: np.argmin(x, axis), _arg_infer("argmin"),
                   vjp=(undefined_rule,), jvp=(undefined_rule,), batch=batch_axes("axis"), sparsity=no_dependence,
    array_api="argmin")


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


# --- products -----------------------------------------------------------------------------

def _others(x: Node, axes: tuple) -> Node:
    """For each element of ``x``, the product of the other elements over ``axes``.

    Along one axis: the product of those before it times the product of those after
    it. Over several axes: the others along the first axis, times the others of the
    products along it over the remaining axes. No division, so it is exact where
    elements are zero, and so are its derivatives (through cumprod's).
    """
    result, rest = None, x
    for axis in axes:
        part = exclusive_cumprod(rest, axis) * exclusive_cumprod(rest, axis, reverse=True)
        result = part if result is None else result * part
        rest = prod(rest, axis, keepdims=True)
    return result


PROD = primitive("prod", lambda x, axis, keepdims: np.prod(x, axis, keepdims=keepdims),
                 _reduction_infer("prod", lambda name, x: sum_dtype(x.dtype), empty_ok=True),
                 vjp=(lambda out_bar, out, x: _spread(out_bar, out, x) * _others(x, out.params.axis),),
                 jvp=(lambda x_dot, out, x: sum(x_dot * _others(x, out.params.axis), out.params.axis,
                                                out.params.keepdims),),
                 numpy=lambda args, p: f"np.prod({args[0]}, {p['axis']!r}, keepdims={p['keepdims']})",
                 batch=batch_axes("axis"), sparsity=REDUCE,
    array_api="prod")


def prod(x, axis=None, keepdims: bool = False, *, dtype=None) -> Node:
    """Product over ``axis`` (an int, a tuple, or None for every axis), as ``np.prod``.

    Its derivative is the product of the other elements, computed without
    dividing, so it is exact where one or several elements are zero, at every
    order. Bools and narrower integers multiply in int64, as in NumPy; ``dtype``
    casts the elements first.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> sg.prod(x).eval({x: [2.0, 3.0, 4.0]})
    array(24.)
    >>> sg.grad(sg.prod(x), x).eval({x: [2.0, 0.0, 4.0]})
    array([0., 8., 0.])
    """
    (x,) = as_nodes(x)
    if dtype is not None:
        x = cast(x, dtype)
    axes = normalize_axes("prod", x.shape, axis, x)
    if axis is not None and not axes:
        return cast(x, sum_dtype(x.dtype))  # a product over no axis still has np.prod's dtype
    return _reduce(PROD, x, axes, keepdims)


# --- truth and counts -----------------------------------------------------------------------

def _truth(name: str, dtype, array_api=None):
    """A reduction of ``np.<name>`` to ``dtype`` that has no derivative."""
    forward = getattr(np, name)
    return primitive(name, lambda x, axis, keepdims: forward(x, axis, keepdims=keepdims),
                     _reduction_infer(name, lambda name, x: np.dtype(dtype), empty_ok=True),
                     vjp=(undefined_rule,), jvp=(undefined_rule,), batch=batch_axes("axis"), sparsity=no_dependence,
                     numpy=lambda args, p: f"np.{name}({args[0]}, {p['axis']!r}, keepdims={p['keepdims']})",
                     array_api=array_api or name)


ALL = _truth("all", bool)
ANY = _truth("any", bool)
COUNT_NONZERO = _truth("count_nonzero", np.intp, lambda xp: lambda x, axis, keepdims: xp.sum(
    xp.astype(x != 0, xp.int64), axis=axis, keepdims=keepdims))


def all(x, axis=None, *, keepdims: bool = False) -> Node:
    """Whether every element over ``axis`` is nonzero (a bool; no derivative), as ``np.all``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.all(sg.constant([[1.0, 0.0], [2.0, 3.0]]), axis=1).eval()
    array([False,  True])
    """
    return _reduce(ALL, x, axis, keepdims)


def any(x, axis=None, *, keepdims: bool = False) -> Node:
    """Whether some element over ``axis`` is nonzero (a bool; no derivative), as ``np.any``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.any(sg.constant([[1.0, 0.0], [0.0, 0.0]]), axis=1).eval()
    array([ True, False])
    """
    return _reduce(ANY, x, axis, keepdims)


def count_nonzero(x, axis=None, *, keepdims: bool = False) -> Node:
    """How many elements over ``axis`` are nonzero (the platform integer; no derivative).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.count_nonzero(sg.constant([[1.0, 0.0], [2.0, 3.0]]), axis=1).eval()
    array([1, 2])
    """
    return _reduce(COUNT_NONZERO, x, axis, keepdims)


# --- statistics -------------------------------------------------------------------------------

def var(x, axis=None, *, ddof=0, keepdims: bool = False, dtype=None) -> Node:
    """Variance over ``axis``, divided by ``n - ddof``, as ``np.var``.

    Computed as NumPy does, the mean of squared deviations from the mean, with
    one more step: the deviations are centred again on their own mean (the
    corrected two-pass algorithm), so the deviations of constant data are
    exactly 0 and their variance exactly 0, where rounding leaves NumPy a tiny
    positive number. Where the mean itself overflows, the step is skipped.
    Integers and bools are computed in float64 (``dtype``: cast the elements to
    it first). If ``ddof >= n``, the result is inf or nan with a
    RuntimeWarning, as in NumPy (here when the node is built, if n is known
    then).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.var(sg.constant([1.0, 2.0, 3.0, 4.0])).eval()
    array(1.25)
    >>> sg.var(sg.constant([1.0, 2.0, 3.0, 4.0]), ddof=1).eval()
    array(1.66666667)
    """
    (x,) = as_nodes(x)
    if dtype is not None:
        x = cast(x, dtype)
    axes = normalize_axes("var", x.shape, axis, x)
    check_float_argument("var", ddof, x, "ddof")  # a number (NumPy takes floats too), not a bool or string
    if x.dtype.kind not in "biuf":
        raise DTypeError(f"var: unsupported dtype in {x.describe()}")
    terms = x if is_float(x.dtype) else cast(x, np.float64)
    count = _count(terms, axes, keepdims=True)
    deviation = terms - sum(terms, axes, keepdims=True) / count
    drift = sum(deviation, axes, keepdims=True) / count  # rounding left in the mean: tiny
    drift = where(less(abs(drift), np.inf), drift, 0.0)  # inf or nan: the mean overflowed
    deviation = deviation - drift
    squares = sum(square(deviation), axes, keepdims)
    if isinstance(count, float):
        dof = builtins.max(count - ddof, 0.0)
        if dof <= 0:
            warnings.warn(f"var: degrees of freedom <= 0 for {x.describe()} (ddof={ddof}, {count:g} elements): "
                          "the result is inf or nan, as in NumPy", RuntimeWarning, stacklevel=2)
    else:
        dof = maximum(_count(terms, axes, keepdims) - ddof, 0.0)
    return squares / dof


def std(x, axis=None, *, ddof=0, keepdims: bool = False, dtype=None) -> Node:
    """Standard deviation over ``axis``: ``sqrt(var(x, axis, ddof=ddof))``, as ``np.std``.

    Where the variance is zero (constant data, a single element), std is not
    differentiable (it has a cone there, like ``|x|`` at 0, and no gradient);
    its derivatives there are NaN, never a finite number. Away from it they
    are exact.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> sg.std(x).eval({x: [1.0, 3.0]})
    array(1.)
    >>> sg.grad(sg.std(x), x).eval({x: [1.0, 3.0]})
    array([-0.5,  0.5])
    """
    return sqrt(var(x, axis, ddof=ddof, keepdims=keepdims, dtype=dtype))


def _merge_axes(name: str, x: Node, axes: tuple) -> Node:
    """``x`` with ``axes`` moved to the end and merged into one last axis of static length."""
    kept = [a for a in range(x.ndim) if a not in axes]
    sizes = [x.shape[a] for a in axes]
    if None in sizes:
        raise ShapeError(f"{name}: the reduced axes {axes} of {x.describe()} must have static lengths "
                         "(the middle element is picked by position)")
    moved = transpose(x, tuple(kept + list(axes))) if kept + list(axes) != list(range(x.ndim)) else x
    if len(axes) == 1:
        return moved
    return reshape(moved, tuple(-1 if x.shape[a] is None else x.shape[a] for a in kept)
                   + (int(np.prod(sizes)),))


def median(x, axis=None, *, keepdims: bool = False) -> Node:
    """Median over ``axis`` (an int, a tuple, or None for every axis), as ``np.median``.

    The mean of the middle one or two sorted elements; NaN where the data
    hold a NaN. The reduced axes must have static lengths. Integers and bools
    give float64. The derivative goes to the middle elements through
    :func:`sort`'s, so tied elements share it equally (the median of
    [1, 2, 2] sends half to each 2), as ``max``'s ties do.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 4)
    >>> sg.median(x).eval({x: [4.0, 1.0, 3.0, 2.0]})
    array(2.5)
    >>> sg.grad(sg.median(x), x).eval({x: [4.0, 1.0, 3.0, 2.0]})
    array([0. , 0. , 0.5, 0.5])
    """
    (x,) = as_nodes(x)
    axes = normalize_axes("median", x.shape, axis, x)
    keepdims = check_bool_argument("median", keepdims, x)
    if not axes:
        return mean(x, (), keepdims)
    ordered = sort(_merge_axes("median", x, axes), -1)
    n = ordered.shape[-1]
    middle = slice(n // 2, n // 2 + 1) if n % 2 else slice(n // 2 - 1, n // 2 + 1)
    result = mean(getitem(ordered, (Ellipsis, middle)), -1)
    if is_float(x.dtype) and n:
        last = getitem(ordered, (Ellipsis, -1))  # sorted last: NaN if the data hold one
        result = where(not_equal(last, last), last, result)
    if keepdims:
        for a in axes:
            result = expand_dims(result, a)
    return result


def average(a, axis=None, weights=None, returned: bool = False, *, keepdims: bool = False):
    """Weighted mean over ``axis``, ``sum(a * weights) / sum(weights)``, as ``np.average``.

    ``weights`` has the shape of ``a``, or, with ``axis`` given, the shape of
    ``a`` along those axes. Without weights it is :func:`mean`. With
    ``returned=True``, also gives the sum of the weights (the count without
    weights), broadcast to the result's shape. Integer or bool ``a`` gives
    float64, as in NumPy; a float ``a`` keeps its dtype (symgrad's rule: an
    integer operand takes the float's dtype, and float32 and float64 do not
    mix). Where the weights sum to zero the result is inf or nan; NumPy
    raises ZeroDivisionError, which a graph cannot know before it runs.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.average(sg.constant([1.0, 2.0, 4.0]), weights=[2.0, 1.0, 1.0]).eval()
    array(2.)
    >>> sg.average(sg.constant([[1.0, 3.0], [5.0, 7.0]]), axis=1, weights=[3.0, 1.0]).eval()
    array([1.5, 5.5])
    """
    (a,) = as_nodes(a)
    axes = normalize_axes("average", a.shape, axis, a)
    returned = check_bool_argument("average", returned, a, "returned")
    if weights is None:
        result = mean(a, axes, keepdims)
        if not returned:
            return result
        return result, sum(zeros_like(cast(a, result.dtype)) + 1.0, axes, keepdims)
    w = as_node(weights, a.graph, like=a)
    if w.shape != a.shape:
        if axis is None:
            raise ShapeError(f"average: axis must be given when the shapes of {a.describe()} and the weights "
                             f"{w.describe()} differ")
        along = tuple(a.shape[k] for k in axes)
        if w.ndim != len(axes) or builtins.any(p is not None and q is not None and p != q
                                               for p, q in zip(w.shape, along)):
            raise ShapeError(f"average: the weights {w.describe()} must have the shape {along} of "
                             f"{a.describe()} along the axes {axes}")
        for k in range(a.ndim):  # the weights' axes in place, length 1 elsewhere
            if k not in axes:
                w = expand_dims(w, k)
    if a.dtype.kind in "biu" and w.dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    else:
        dtype = combine_dtypes("average", [a.dtype, w.dtype], [a, w])
        if not is_float(dtype):
            dtype = np.dtype(np.float64)
    a, w = cast(a, dtype), cast(w, dtype)
    total = sum(w, axes, keepdims)
    result = sum(a * w, axes, keepdims) / total
    if not returned:
        return result
    return result, broadcast_like(total, result) if total.shape != result.shape else total


def ptp(x, axis=None, *, keepdims: bool = False) -> Node:
    """Range over ``axis``: ``max - min``, as ``np.ptp`` (integers wrap as in NumPy).

    Tied maxima (or minima) share the gradient equally, as ``max``'s do.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.ptp(sg.constant([[4.0, 1.0], [2.0, 2.0]]), axis=1).eval()
    array([3., 0.])
    """
    (x,) = as_nodes(x)
    if x.dtype.kind == "b":
        raise DTypeError(f"ptp: NumPy does not compute ptp of {x.describe()} (max - min of bools)")
    return max(x, axis, keepdims) - min(x, axis, keepdims)


__all__ = ["SUM", "SUM_SQUARES", "MAX", "MIN", "LOGSUMEXP", "ARGMAX", "ARGMIN", "PROD", "ALL", "ANY",
           "COUNT_NONZERO", "sum", "mean", "max", "min", "logsumexp", "argmax", "argmin", "prod", "all", "any",
           "count_nonzero", "var", "std", "median", "average", "ptp"]
