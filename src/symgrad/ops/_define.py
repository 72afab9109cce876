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

import functools
from typing import Callable

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import Node, Op
from ..types import broadcast_shapes, combine_dtypes

# How an op batches (``Op.batch``), in one word for the common kinds; symgrad.vectorize reads them.
BATCH_ELEMENTWISE = "elementwise"  # align the inputs' ranks behind the batch axis, then apply as is
BATCH_LEADING = "leading"          # the op maps over leading axes: broadcast unbatched inputs, apply as is
BATCH_LOOP = "loop"                # one application per batch element, stacked (a static batch size)


def batch_axes(*params: str) -> tuple:
    """The kind of an op that maps over leading axes once its axis parameters ``params`` (ints or
    tuples of ints, counted from the front) are shifted past the batch axis: ``batch_axes("axis")``."""
    return ("axes", *params)


# A constant this small is compared element by element; a larger one is not worth the time.
SMALL = 1


def primitive(name: str, forward: Callable, infer: Callable, **facts) -> Op:
    """One of symgrad's own ops: ``facts`` are :class:`~symgrad.ir.Op`'s fields."""
    return Op(name, forward, infer, pure=True, **facts)


def elementwise_infer(op_name: str, forward: Callable, params: tuple | None = None) -> Callable:
    """Shape/dtype rule of an elementwise op: broadcast the shapes, combine dtypes.

    With a float operand the result has that float's dtype (``combine_dtypes``).
    Without one, the result has the dtype NumPy gives ``forward`` on operands of
    those dtypes (np.exp of int8 is float16, np.square of int8 is int8, np.negative
    of bool is an error, raised here as a :class:`DTypeError`): the executors run
    ``forward`` and cast its result to the static dtype, so a static dtype that
    disagreed would silently wrap (square of int8 as float64) or lose precision
    (exp of int8 as float64, computed in float16). Given ``params``, the op takes
    the parameters named there and no others (a file or a direct call cannot slip
    one in); without, the caller's rule checks its parameters itself.
    """
    accepted = None if params is None else frozenset(params)

    def infer(*nodes, **params):
        if accepted is not None and not accepted.issuperset(params):
            raise ShapeError(f"{op_name}: takes no parameter {sorted(set(params) - accepted)} "
                             f"(applied to {', '.join(n.describe() for n in nodes)})")
        first = nodes[0]
        shape, dtype = first.shape, first.dtype
        for n in nodes:  # the common case: one shape and dtype (a loop: no generator per node made)
            if n.shape != shape or n.dtype != dtype:
                break
        else:
            n = None
        if n is not None:
            shape = broadcast_shapes(op_name, [n.shape for n in nodes], nodes)
            dtype = combine_dtypes(op_name, [n.dtype for n in nodes], nodes)
        if dtype.kind != "f":
            dtype = _numpy_dtype(op_name, forward, nodes, params)
        return shape, dtype
    return infer


def _numpy_dtype(op_name: str, forward: Callable, nodes, params: dict) -> np.dtype:
    """The dtype of ``forward(*arrays, **params)`` for arrays of the nodes' dtypes, as NumPy computes it."""
    result = _forward_dtype(forward, tuple(n.dtype for n in nodes), tuple(sorted(params.items())))
    if isinstance(result, str):
        described = ", ".join(n.describe() for n in nodes)
        raise DTypeError(f"{op_name}: NumPy does not compute {op_name} of {described} ({result})")
    return result


@functools.lru_cache(maxsize=None)
def _forward_dtype(forward: Callable, dtypes: tuple, params: tuple) -> "np.dtype | str":
    """What ``forward`` gives on empty arrays of ``dtypes``: a dtype, or the TypeError's message.

    Under NumPy 2's promotion rules (NEP 50) a result dtype depends on the operands'
    dtypes only, never on their values or sizes, so empty arrays answer for all.
    """
    try:
        with np.errstate(all="ignore"):
            return np.asarray(forward(*(np.empty(0, d) for d in dtypes), **dict(params))).dtype
    except TypeError as err:  # NumPy's UFuncTypeError: no loop for these dtypes
        return str(err)


def elementwise(name: str, forward: Callable, chain: tuple, **facts) -> Op:
    """An elementwise op whose ``chain`` rules (one per input) serve as both vjp and jvp;
    its dtypes are :func:`elementwise_infer`'s."""
    facts.setdefault("batch", BATCH_ELEMENTWISE)
    return primitive(name, forward, elementwise_infer(name, forward, params=()), vjp=chain, jvp=chain,
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
