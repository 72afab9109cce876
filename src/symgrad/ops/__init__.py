"""Every op of symgrad, one module per family, each op in one block.

- :mod:`._define`: helpers named after the common shapes of op definitions
- :mod:`.arith`: neg, add, sub, mul, div
- :mod:`.select`: comparisons, where, relu, maximum, minimum, clip, cast, stop_gradient
- :mod:`.elementary`: exp, log, pow, sqrt, trigonometry, tanh, sigmoid, softplus, abs, sign, floor, round
- :mod:`.shape`: reshape, transpose, broadcasting, indexing, concatenate, stack, and the
  run-time-shape adjoints (``*_like``)
- :mod:`.reductions`: sum, mean, max, min, logsumexp, argmax
- :mod:`.linalg`: matmul, dot
- :mod:`.contract`: einsum, tensordot, inner, outer, kron, trace, diag, diagonal, tril, triu, eye
- :mod:`.nn`: softmax, log_softmax, cross-entropies, mse

This module also gives :class:`~symgrad.ir.Node` its operators (``x + y``,
``x.T``, ``x.sum()``): the IR below cannot import the ops, so the ops attach
them here, once.
"""

from ..ir import CONSTANT, DISCONNECTED, PLACEHOLDER, UNDEFINED, ZERO, Node, Op, registered_ops
from .arith import *  # noqa: F401,F403
from .arith import add, div, mul, neg, sub
from .contract import *  # noqa: F401,F403
from .elementary import *  # noqa: F401,F403
from .elementary import abs, mod, pow, round  # shadowing builtins on purpose
from .linalg import *  # noqa: F401,F403
from .linalg import matmul
from .nn import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .reductions import max, mean, min, sum
from .select import *  # noqa: F401,F403
from .select import cast, greater, greater_equal, less, less_equal
from .shape import *  # noqa: F401,F403
from .shape import getitem, reshape, transpose


# symgrad's own ops: the one answer to "which ops are ours" (the leaves included).
BUILTIN_OPS = frozenset(registered_ops())


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
    "reshape": _reshape,
    "transpose": lambda self, *axes: transpose(self, axes or None),
    "astype": lambda self, dtype: cast(self, dtype),
}
for _name, _method in _OPERATORS.items():
    setattr(Node, _name, _method)
