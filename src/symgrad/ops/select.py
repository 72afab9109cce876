"""Selection: comparisons, where, relu and its relatives, maximum, minimum, clip,
and the two ops that only pass values on: cast and stop_gradient.

Non-smooth points follow the notes: relu'(0) = 0, maximum sends the gradient
to its first operand when x >= y (minimum when x <= y). Gradients through
relu, maximum and where are ``where(c, d, 0)`` or ``where(c, 0, d)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError
from ..ir import Node, Op, as_nodes, disconnected_rule, undefined_rule, zero_rule
from ..types import broadcast_shapes, check_dtype, check_float_argument, combine_dtypes, require_canonical
from ._define import (BATCH_ELEMENTWISE, ELEMENTWISE_LINEAR, elementwise, elementwise_infer, no_dependence,
                      primitive, unary)
from .arith import add, mul

# --- comparisons: boolean results, no derivative -----------------------------------------------


def _comparison(name: str, forward) -> Op:
    def infer(x, y):
        combine_dtypes(name, [x.dtype, y.dtype], (x, y))
        return broadcast_shapes(name, [x.shape, y.shape], (x, y)), np.dtype(np.bool_)
    return primitive(name, forward, infer, vjp=(undefined_rule, undefined_rule),
                     jvp=(undefined_rule, undefined_rule), broadcasts=True, batch=BATCH_ELEMENTWISE, sparsity=no_dependence)


LESS = _comparison("less", np.less)
LESS_EQUAL = _comparison("less_equal", np.less_equal)
GREATER = _comparison("greater", np.greater)
GREATER_EQUAL = _comparison("greater_equal", np.greater_equal)
EQUAL = _comparison("equal", np.equal)
NOT_EQUAL = _comparison("not_equal", np.not_equal)


def less(x, y) -> Node:
    """x < y as a bool node (not differentiable)."""
    return LESS(x, y)


def less_equal(x, y) -> Node:
    """x <= y as a bool node (not differentiable)."""
    return LESS_EQUAL(x, y)


def greater(x, y) -> Node:
    """x > y as a bool node (not differentiable)."""
    return GREATER(x, y)


def greater_equal(x, y) -> Node:
    """x >= y as a bool node (not differentiable)."""
    return GREATER_EQUAL(x, y)


def equal(x, y) -> Node:
    """x == y elementwise as a bool node (``==`` on nodes keeps its identity meaning)."""
    return EQUAL(x, y)


def not_equal(x, y) -> Node:
    """x != y elementwise as a bool node."""
    return NOT_EQUAL(x, y)


# --- where ---------------------------------------------------------------------------------------

def _where_infer(cond, x, y):
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: the condition {cond.describe()} must be bool, not {cond.dtype}")
    return (broadcast_shapes("where", [cond.shape, x.shape, y.shape], (cond, x, y)),
            combine_dtypes("where", [x.dtype, y.dtype], (x, y)))


def select(cond, x, y, out=None):
    """``np.where(cond, x, y)``, bit for bit; optionally written into ``out``.

    Gradients through relu, maximum and where are ``where(c, d, 0)`` or
    ``where(c, 0, d)``. np.where branches per element and is slow on a mixed
    mask (about 9x a multiply), so that form multiplies the bits of ``d``,
    seen as integers, by the 0/1 mask: +0.0 where np.where gives 0.0, every
    other value kept exactly (NaN and Inf too), and ``out`` may be ``d``.

    Examples
    --------
    >>> import numpy as np
    >>> select(np.array([True, False]), np.array([np.nan, 2.0]), 0.0)
    array([nan,  0.])
    """
    kept, zero_when = _zero_branch(cond, x, y)
    if kept is None:
        result = np.where(cond, x, y)
        if out is None:
            return result
        np.copyto(out, result)
        return out
    ints = np.dtype(f"i{kept.itemsize}")
    result = np.empty(kept.shape, kept.dtype) if out is None else out
    keep = np.logical_not(cond) if zero_when else cond
    np.multiply(kept.view(ints), keep, out=result.view(ints))
    return result


def _zero_branch(cond, x, y):
    """(the array branch, whether the zero is taken where cond is true), or (None, None)."""
    for kept, zero, zero_when in ((x, y, False), (y, x, True)):
        if (type(kept) is np.ndarray and kept.dtype.kind == "f" and kept.dtype.isnative
                and kept.itemsize in (2, 4, 8) and type(cond) is np.ndarray and cond.shape == kept.shape
                and (type(zero) is float or getattr(zero, "dtype", None) == kept.dtype)
                and np.ndim(zero) == 0 and zero == 0 and not np.signbit(zero)):
            return kept, zero_when
    return None, None


def _pass_where(cond, d):
    return where(cond, d, 0.0)


def _block_where(cond, d):
    return where(cond, 0.0, d)


# The result is piecewise constant in the condition: its derivative there is
# zero (as for floor), so grad(grad(relu(x).sum()), x) is zeros, not an error.
_WHERE_CHAIN = (zero_rule, lambda d, out, c, x, y: _pass_where(c, d), lambda d, out, c, x, y: _block_where(c, d))
WHERE = primitive("where", select, _where_infer, vjp=_WHERE_CHAIN, jvp=_WHERE_CHAIN, broadcasts=True, out=True,
                  batch=BATCH_ELEMENTWISE, sparsity=ELEMENTWISE_LINEAR,
    array_api="where")


def where(cond, x, y) -> Node:
    """x where ``cond`` is true, else y; the derivative through ``cond`` (bool) is zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> v = sg.constant([-1.0, 2.0])
    >>> sg.where(v > 0, v, 0.0).eval()
    array([0., 2.])
    """
    return WHERE(cond, x, y)


# --- relu, leaky_relu, prelu ---------------------------------------------------------------------

# The mask reads the output (out > 0 exactly where x > 0, NaN included), so the
# pre-activation need not be kept for the backward pass.
RELU = unary("relu", lambda x: np.maximum(x, 0), lambda d, out, x: _pass_where(greater(out, 0.0), d),
             numpy=lambda args, params: f"np.maximum({args[0]}, 0)", out=True, sparsity=ELEMENTWISE_LINEAR,
    array_api=lambda xp: lambda x: xp.maximum(x, xp.zeros_like(x)))


def relu(x) -> Node:
    """max(x, 0), with relu'(0) = 0 as the notes choose.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.relu(sg.constant([-1.0, 2.0])).eval()
    array([0., 2.])
    """
    return RELU(x)


def _leaky_chain(d, out, x):
    return where(greater(x, 0.0), d, d * out.params.alpha)


def _leaky_relu(x, alpha):
    return np.where(x > 0, x, x * alpha)


_leaky_relu_dtype = elementwise_infer("leaky_relu", _leaky_relu, params=("alpha",))


def _leaky_relu_infer(x, alpha):
    slope = check_float_argument("leaky_relu", alpha, x, "the slope alpha")
    require_canonical("leaky_relu", "alpha", alpha, slope, x)
    return _leaky_relu_dtype(x, alpha=alpha)


LEAKY_RELU = primitive("leaky_relu", _leaky_relu, _leaky_relu_infer,
                       vjp=(_leaky_chain,), jvp=(_leaky_chain,), batch=BATCH_ELEMENTWISE, sparsity=ELEMENTWISE_LINEAR,
    array_api=lambda xp: lambda x, alpha: xp.where(x > 0, x, x * alpha))


def leaky_relu(x, alpha: float = 0.01) -> Node:
    """x where x > 0, else alpha * x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.leaky_relu(sg.constant([-1.0, 2.0]), 0.1).eval()
    array([-0.1,  2. ])
    """
    (x,) = as_nodes(x, op="leaky_relu")
    alpha = check_float_argument("leaky_relu", alpha, x, "the slope alpha (use sg.prelu for a node)")
    return LEAKY_RELU(x, alpha=alpha)


def prelu(x, alpha) -> Node:
    """Parametric relu, max(0, x) + alpha * min(0, x), with a learnable ``alpha``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.prelu(sg.constant([-1.0, 2.0]), 0.25).eval()
    array([-0.25,  2.  ])
    """
    x, alpha = as_nodes(x, alpha, op="prelu")
    return add(relu(x), mul(alpha, minimum(x, 0.0)))


# --- maximum, minimum, clip ----------------------------------------------------------------------

MAXIMUM = elementwise("maximum", np.maximum, (lambda d, out, x, y: _pass_where(greater_equal(x, y), d),
                                              lambda d, out, x, y: _block_where(greater_equal(x, y), d)),
                      sparsity=ELEMENTWISE_LINEAR)
MINIMUM = elementwise("minimum", np.minimum, (lambda d, out, x, y: _pass_where(less_equal(x, y), d),
                                              lambda d, out, x, y: _block_where(less_equal(x, y), d)),
                      sparsity=ELEMENTWISE_LINEAR)


def maximum(x, y) -> Node:
    """Elementwise max; the gradient goes to x where x >= y, else to y.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.maximum(sg.constant([1.0, 5.0]), 3.0).eval()
    array([3., 5.])
    """
    return MAXIMUM(x, y)


def minimum(x, y) -> Node:
    """Elementwise min; the gradient goes to x where x <= y, else to y.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.minimum(sg.constant([1.0, 5.0]), 3.0).eval()
    array([1., 3.])
    """
    return MINIMUM(x, y)


def clip(x, low, high) -> Node:
    """x limited to [low, high]; the gradient passes where low <= x <= high.

    Either bound may be ``None`` (no bound on that side), as in ``np.clip``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.clip(sg.constant([-5.0, 0.5, 5.0]), 0.0, 1.0).eval()
    array([0. , 0.5, 1. ])
    """
    bounds = [b for b in (low, high) if b is not None]
    x, *bounds = as_nodes(x, *bounds, op="clip")
    if low is not None:
        x = maximum(x, bounds.pop(0))
    return x if high is None else minimum(x, bounds.pop(0))


# --- cast and stop_gradient -----------------------------------------------------------------------

def _cast_infer(x, dtype):
    require_canonical("cast", "dtype", dtype, check_dtype(dtype, f"cast of {x.describe()}"), x)
    return x.shape, dtype


CAST = primitive("cast", lambda x, dtype: x.astype(dtype, copy=False), _cast_infer,
                 vjp=(lambda out_bar, out, x: cast(out_bar, x.dtype),),
                 jvp=(lambda x_dot, out, x: cast(x_dot, out.dtype),), view=True, batch=BATCH_ELEMENTWISE, sparsity=ELEMENTWISE_LINEAR,
    array_api=lambda xp: lambda x, dtype: xp.astype(x, getattr(xp, np.dtype(dtype).name)))


def cast(x, dtype) -> Node:
    """Convert to ``dtype``; the only way to mix float32 and float64.

    Derivatives pass between float types; integers and bools carry none.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cast(sg.constant([1.5]), "float32").type
    'f32[1]'
    """
    (x,) = as_nodes(x, op="cast")
    dtype = check_dtype(dtype, f"cast of {x.describe()}")
    if x.dtype == dtype:
        return x
    return CAST(x, dtype=dtype)


STOP_GRADIENT = primitive("stop_gradient", lambda x: x, lambda x: (x.shape, x.dtype),
                          vjp=(disconnected_rule,), jvp=(disconnected_rule,),
                          numpy=lambda args, params: args[0], view=True, batch=BATCH_ELEMENTWISE, sparsity=no_dependence,
    array_api=lambda xp: lambda x: x)


def stop_gradient(x) -> Node:
    """The identity forward; blocks every derivative (the value is a constant to them).

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> g = sg.grad(x * sg.stop_gradient(x), x)
    >>> g.eval({x: 3.0})
    array(3.)
    """
    return STOP_GRADIENT(x)


__all__ = ["LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "WHERE", "RELU",
           "LEAKY_RELU", "MAXIMUM", "MINIMUM", "CAST", "STOP_GRADIENT",
           "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "where", "relu",
           "leaky_relu", "prelu", "maximum", "minimum", "clip", "cast", "stop_gradient"]
