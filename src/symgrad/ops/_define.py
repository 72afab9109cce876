"""Helpers named after the common shapes of op definitions.

- :func:`primitive`: one of symgrad's own ops (pure, so it may be folded over
  constants and probed for its dtype); any rules.
- :func:`elementwise`: an op applied element by element with NumPy
  broadcasting. Its Jacobian is diagonal, so one *chain rule* per input
  serves both directions: ``rule(d, out, *inputs)`` maps the derivative ``d``
  arriving on one side (``out_bar``, a cotangent of ``out``, in reverse mode;
  ``x_dot``, a tangent of the input, in forward mode) to the derivative on
  the other side. The gradient pass undoes broadcasting.
- :func:`unary`: an elementwise op of one input.

Examples
--------
>>> import numpy as np
>>> from symgrad.ops._define import unary
>>> CUBE = unary("cube_example", lambda x: x ** 3, lambda d, out, x: d * (3 * x * x))
>>> import symgrad as sg
>>> sg.grad(CUBE(sg.scalar("x")), sg.scalar("x")).eval({"x": 2.0})
array(12.)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..ir import Node, Op
from ..types import broadcast_shapes, combine_dtypes, float_result

# A constant this small is compared element by element; a larger one is not worth the time.
SMALL = 1


def primitive(name: str, forward: Callable, infer: Callable, **facts) -> Op:
    """One of symgrad's own ops: ``facts`` are :class:`~symgrad.ir.Op`'s fields."""
    return Op(name, forward, infer, pure=True, **facts)


def elementwise_infer(op_name: str, float_only: bool = True) -> Callable:
    """Shape/dtype rule of an elementwise op: broadcast the shapes, combine dtypes."""
    def infer(*nodes, **_):
        first = nodes[0]
        if all(n.shape == first.shape and n.dtype == first.dtype for n in nodes):  # the common case
            shape, dtype = first.shape, first.dtype
        else:
            shape = broadcast_shapes(op_name, [n.shape for n in nodes], nodes)
            dtype = combine_dtypes(op_name, [n.dtype for n in nodes], nodes)
        if float_only and dtype.kind != "f":
            dtype = float_result(op_name, dtype, nodes[0])
        return shape, dtype
    return infer


def elementwise(name: str, forward: Callable, chain: tuple, float_only: bool = True, **facts) -> Op:
    """An elementwise op whose ``chain`` rules (one per input) serve as both vjp and jvp.

    ``float_only``: integer and bool operands give a float64 result (math
    functions), rather than NumPy's integer arithmetic.
    """
    return primitive(name, forward, elementwise_infer(name, float_only), vjp=chain, jvp=chain,
                     broadcasts=True, **facts)


def unary(name: str, forward: Callable, chain: Callable, **facts) -> Op:
    """An elementwise op of one float input; ``chain(d, out, x)`` as in :func:`elementwise`."""
    return elementwise(name, forward, (chain,), **facts)


def is_constant(node: Node, value: float) -> bool:
    """Whether ``node`` is a small constant whose every element equals ``value``."""
    v = node.value
    if v is None:
        return False
    if v.ndim == 0:
        return bool(v == value)
    return v.size <= SMALL and bool(np.all(v == value))
