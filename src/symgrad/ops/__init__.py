"""Every op of symgrad, one module per family, each op in one block.

- :mod:`._define`: helpers named after the common shapes of op definitions
- :mod:`.arith`: neg, add, sub, mul, div
- :mod:`.select`: comparisons, where, relu, maximum, minimum, clip, cast, stop_gradient
- :mod:`.elementary`: exp, log, pow, sqrt, trigonometry, tanh, sigmoid, softplus, abs, sign, floor, round
- :mod:`.shape`: reshape, transpose, broadcasting, indexing, concatenate, stack, and the
  run-time-shape adjoints (``*_like``)
- :mod:`.manipulation`: NumPy's squeeze, moveaxis, swapaxes, flip, roll, repeat, tile, pad, split,
  array_split, hstack, vstack, column_stack, atleast_1d/2d/3d, ravel
- :mod:`.indexing`: take, take_along_axis, and the functional updates ``x.at[index].set(v)`` and kin
- :mod:`.scans`: cumsum, cumprod, sort, argsort, and the linear recurrence, permutation and
  tie averaging their derivatives use
- :mod:`.reductions`: sum, mean, max, min, logsumexp, argmax, prod, all, any, count_nonzero,
  var, std, median, average, ptp
- :mod:`.linalg`: matmul, dot
- :mod:`.contract`: einsum, tensordot, inner, outer, kron, trace, diag, diagonal, tril, triu, eye
- :mod:`.decompositions`: solve, inv, det, slogdet, solve_triangular, cholesky, eigh, eigvalsh, svd,
  qr, pinv, norm (public as ``sg.linalg``)
- :mod:`.nn`: softmax, log_softmax, cross-entropies, mse
- :mod:`.special`: scipy.special's erf, gammaln, digamma, polygamma, xlogy, logit, ... (``sg.special``)

This module also gives :class:`~symgrad.ir.Node` its operators (``x + y``,
``x.T``, ``x.sum()``): the IR below cannot import the ops, so the ops attach
them here, once.
"""

from ..ir import CONSTANT, DISCONNECTED, PLACEHOLDER, UNDEFINED, ZERO, Node, Op, registered_ops
from .arith import *  # noqa: F401,F403
from .arith import add, div, mul, neg, sub
from .contract import *  # noqa: F401,F403
from .decompositions import *  # noqa: F401,F403
from .elementary import *  # noqa: F401,F403
from .elementary import abs, mod, pow, round  # shadowing builtins on purpose
from .indexing import *  # noqa: F401,F403
from .indexing import At, no_item_assignment, take
from .linalg import *  # noqa: F401,F403
from .linalg import matmul
from .manipulation import *  # noqa: F401,F403
from .manipulation import ravel, repeat, squeeze, swapaxes
from .nn import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .reductions import all, any, max, mean, min, prod, std, sum, var
from .scans import *  # noqa: F401,F403
from .scans import argsort, cumprod, cumsum
from .select import *  # noqa: F401,F403
from .select import cast, greater, greater_equal, less, less_equal
from .shape import *  # noqa: F401,F403
from .shape import getitem, reshape, transpose
from . import special  # noqa: F401  (scipy.special's names, reached as sg.special: not star-imported here)


# symgrad's own ops: the one answer to "which ops are ours" (the leaves included).
BUILTIN_OPS = frozenset(registered_ops())


def _method_axes(axes: tuple):
    """``x.transpose()``, ``x.transpose(1, 0)`` and ``x.transpose((1, 0))``, as NumPy takes them."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        return axes[0]
    return axes or None


def _reshape(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return reshape(self, shape)


_OPERATORS = {
    "__add__": lambda self, other: add(self, other),
    "__radd__": lambda self, other: add(other, self),
    "__sub__": lambda self, other: sub(self, other),
    "__rsub__": lambda self, other: sub(other, self),
    "__mul__": lambda self, other: mul(self, other),
    "__rmul__": lambda self, other: mul(other, self),
    "__truediv__": lambda self, other: div(self, other),
    "__rtruediv__": lambda self, other: div(other, self),
    "__pow__": lambda self, other: pow(self, other),
    "__mod__": lambda self, other: mod(self, other),
    "__rmod__": lambda self, other: mod(other, self),
    "__rpow__": lambda self, other: pow(other, self),
    "__matmul__": lambda self, other: matmul(self, other),
    "__rmatmul__": lambda self, other: matmul(other, self),
    "__neg__": lambda self: neg(self),
    "__pos__": lambda self: self,
    "__abs__": lambda self: abs(self),
    "__lt__": lambda self, other: less(self, other),
    "__le__": lambda self, other: less_equal(self, other),
    "__gt__": lambda self, other: greater(self, other),
    "__ge__": lambda self, other: greater_equal(self, other),
    "__getitem__": lambda self, index: getitem(self, index),
    "T": property(lambda self: transpose(self)),
    "sum": lambda self, axis=None, keepdims=False: sum(self, axis, keepdims),
    "mean": lambda self, axis=None, keepdims=False: mean(self, axis, keepdims),
    "max": lambda self, axis=None, keepdims=False: max(self, axis, keepdims),
    "min": lambda self, axis=None, keepdims=False: min(self, axis, keepdims),
    # ndarray's methods of the same names; after ``axis`` their arguments are keywords, since
    # NumPy's next positional ones (dtype, out) mean something else. No ``sort`` method:
    # ndarray.sort sorts in place and returns None, which an immutable node cannot do
    # (use sg.sort(x)).
    "prod": lambda self, axis=None, *, keepdims=False, dtype=None: prod(self, axis, keepdims, dtype=dtype),
    "var": lambda self, axis=None, *, ddof=0, keepdims=False, dtype=None: var(self, axis, ddof=ddof,
                                                                              keepdims=keepdims, dtype=dtype),
    "std": lambda self, axis=None, *, ddof=0, keepdims=False, dtype=None: std(self, axis, ddof=ddof,
                                                                              keepdims=keepdims, dtype=dtype),
    "cumsum": lambda self, axis=None, *, dtype=None: cumsum(self, axis, dtype=dtype),
    "cumprod": lambda self, axis=None, *, dtype=None: cumprod(self, axis, dtype=dtype),
    "all": lambda self, axis=None, *, keepdims=False: all(self, axis, keepdims=keepdims),
    "any": lambda self, axis=None, *, keepdims=False: any(self, axis, keepdims=keepdims),
    "argsort": lambda self, axis=-1, kind=None, *, stable=None: argsort(self, axis, kind, stable=stable),
    "reshape": _reshape,
    "transpose": lambda self, *axes: transpose(self, _method_axes(axes)),
    "astype": lambda self, dtype: cast(self, dtype),
    "flatten": lambda self: ravel(self),
    "ravel": lambda self: ravel(self),
    "squeeze": lambda self, axis=None: squeeze(self, axis),
    "swapaxes": lambda self, axis1, axis2: swapaxes(self, axis1, axis2),
    "repeat": lambda self, repeats, axis=None: repeat(self, repeats, axis),
    "take": lambda self, indices, axis=None, mode="raise": take(self, indices, axis, mode),
    "at": property(lambda self: At(self)),
    "__setitem__": no_item_assignment,
}
for _name, _method in _OPERATORS.items():
    setattr(Node, _name, _method)
