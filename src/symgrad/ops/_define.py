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
import math
from typing import Callable

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import DENSE, Node, Op
from ..types import broadcast_shapes, combine_dtypes, normalize_axes

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


# --- sparsity facts (ir.Op's ``sparsity``) ---------------------------------------------------
#
# A fact maps the op's inputs' dependency patterns to its result's (see ir.Op): per input, None
# (no dependence), DENSE, or steps ``(in_index, out_index, out_size)``; and the ``pairs`` of
# inputs in which the op may be nonlinear (for Hessian patterns). Index arrays are flat (C order).

def _flat(shape: tuple) -> np.ndarray:
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)


def _size(node: Node) -> int:
    return math.prod(node.shape)


def broadcast_steps(shape: tuple, out_shape: tuple) -> list:
    """Steps taking an operand of ``shape`` to the ``out_shape`` it broadcasts to (none: the same)."""
    if tuple(shape) == tuple(out_shape):
        return []
    return [(np.broadcast_to(_flat(shape), out_shape).ravel(), None, math.prod(out_shape))]


def reduce_steps(shape: tuple, axes: tuple) -> list:
    """The step of a union over ``axes``: each element feeds the result element it reduces into."""
    kept = tuple(1 if a in axes else d for a, d in enumerate(shape))
    out_index = np.broadcast_to(_flat(kept), shape).ravel()
    return [(np.arange(out_index.size, dtype=np.int64), out_index, math.prod(kept))]


def elementwise_sparsity(pairs) -> Callable:
    """Elementwise: a result element depends on the elements its (broadcast) operands give it."""
    def sparsity(out, *inputs, **_):
        return [broadcast_steps(x.shape, out.shape) for x in inputs], pairs
    return sparsity


ELEMENTWISE_LINEAR = elementwise_sparsity(())  # add, neg, and the piecewise linear (relu, abs, max)
ELEMENTWISE = elementwise_sparsity("all")  # nonlinear in every operand (exp, pow, hypot)
BILINEAR = elementwise_sparsity(((0, 1),))  # mul: cross terms only
QUOTIENT = elementwise_sparsity(((0, 1), (1, 1)))  # div: linear in the numerator


def no_dependence(out, *inputs, **_):
    """No derivative flows: comparisons, argmax, integer results, stop_gradient, zeros_like."""
    return [None] * len(inputs), ()


def dense_sparsity(pairs="all") -> Callable:
    """Every result element may depend on every element of each float input (decompositions:
    conservative); integer inputs (indices, labels) carry no derivative."""
    def sparsity(out, *inputs, **_):
        return [DENSE if x.dtype.kind == "f" else None for x in inputs], pairs
    return sparsity


DENSE_NONLINEAR = dense_sparsity("all")


def matrix_sparsity(out, *inputs, **_):
    """A decomposition of a stack of matrices (inv, det, eigh, svd...): each result element may
    depend, nonlinearly, on every element of its own matrix, none of another's."""
    maps = []
    aligned = len({x.ndim for x in inputs if x.dtype.kind == "f"}) == 1  # else batches broadcast: dense
    for x in inputs:
        batch = tuple(x.shape[:-2])
        if x.dtype.kind != "f":
            maps.append(None)
        elif not aligned or x.ndim < 2 or tuple(out.shape[:len(batch)]) != batch:
            maps.append(DENSE)  # conservative
        else:
            trailing = (1,) * (len(out.shape) - len(batch))
            index = np.broadcast_to(_flat(batch).reshape(batch + trailing), out.shape).ravel()
            maps.append(reduce_steps(x.shape, (x.ndim - 2, x.ndim - 1)) + [(index, None, index.size)])
    return maps, "all"


def gather_sparsity(data=(0,), pairs=(), **override) -> Callable:
    """A rearrangement: each result element is one element of a ``data`` input, or a constant.

    Found by running the op's forward on codes (``offset + flat index + 1``, 0 for "none") in
    place of the data inputs: reshape, transpose, getitem, concatenate, pad, roll, tril, at_set...
    Other inputs pass their constant values (index arrays) or zeros (a ``like``: only its shape
    counts); an index known only at run time makes the fact dense. ``override`` replaces
    parameters (pad's constant value must stay 0, the code of "none").
    """
    def sparsity(out, *inputs, **params):
        carrying = range(len(inputs)) if data == "all" else data
        arrays, offsets, offset = [], {}, 1
        for k, x in enumerate(inputs):
            if k in carrying:
                arrays.append(_flat(x.shape) + offset)
                offsets[k] = offset
                offset += _size(x)
            elif x.value is not None:
                arrays.append(x.value)
            elif x.dtype.kind == "f":
                arrays.append(np.zeros(x.shape, x.dtype))
            else:  # a run-time index: any element may land anywhere
                return dense_sparsity(pairs)(out, *inputs)
        codes = np.asarray(out.op.forward(*arrays, **{**params, **override})).ravel()
        maps = [None] * len(inputs)
        for k, start in offsets.items():
            mine = (codes >= start) & (codes < start + _size(inputs[k]))
            maps[k] = [(np.where(mine, codes - start, -1), None, codes.size)]
        return maps, pairs
    return sparsity


def scatter_sparsity(gather: Callable, pairs=(), data=0) -> Callable:
    """The adjoint of a gather: input ``data``'s element k is added into one result element.

    ``gather(result_codes, *arrays, **params)`` reads, for each element of the data input, the code
    of the result element it lands in (the matching gather run on the result's codes; 0: none);
    ``arrays`` are the inputs' constant values (None where not constant).
    """
    def sparsity(out, *inputs, **params):
        values = [x.value for x in inputs]
        if any(v is None and x.dtype.kind not in "f" for k, (v, x) in enumerate(zip(values, inputs)) if k != data):
            return dense_sparsity(pairs)(out, *inputs)
        codes = np.asarray(gather(_flat(out.shape) + 1, *values, **params)).ravel()
        landed = codes > 0
        maps = [None] * len(inputs)
        maps[data] = [(np.flatnonzero(landed), codes[landed] - 1, _size(out))]
        return maps, pairs
    return sparsity


def reduce_sparsity(pairs) -> Callable:
    """A reduction over ``axis`` (params ``axis``, ``keepdims``): the union over the reduced axes."""
    def sparsity(out, x, *rest, axis=None, **_):
        axes = normalize_axes(out.op.name, x.shape, axis, x)
        return [reduce_steps(x.shape, axes)] + [None] * len(rest), pairs
    return sparsity


REDUCE_LINEAR = reduce_sparsity(())  # sum (and max, min: piecewise linear)
REDUCE = reduce_sparsity("all")  # prod, logsumexp, sum of squares


def along_axis_sparsity(pairs, prefix=False, data=(0,)) -> Callable:
    """Along ``axis`` (None: the flattened array): a result element depends on every element of
    its line (sort, softmax: conservative), or on those up to it (``prefix``: cumsum)."""
    def sparsity(out, *inputs, axis=None, **_):
        x = inputs[data[0]]
        lines = _flat(x.shape).reshape(-1) if axis is None else np.moveaxis(_flat(x.shape), axis, -1)
        lines = lines.reshape(-1, lines.shape[-1])  # at least 1-d: axis=None ravels a scalar to (1,)
        out_lines = (_flat(out.shape).reshape(-1) if axis is None else np.moveaxis(_flat(out.shape), axis, -1))
        out_lines = out_lines.reshape(lines.shape)
        count, length = lines.shape
        in_index = np.repeat(lines, length, axis=0).ravel()
        out_index = np.repeat(out_lines.ravel(), length)
        if prefix:
            keep = np.tile(np.tri(length, dtype=bool).ravel(), count)
            in_index, out_index = in_index[keep], out_index[keep]
        step = [(in_index, out_index, _size(out))]
        return [step if k in data else None for k in range(len(inputs))], pairs
    return sparsity


def contraction_steps(shape: tuple, labels: str, out_shape: tuple, out_labels: str):
    """An einsum operand's steps: the union over its labels missing from the result, then
    transposed and broadcast into the result (DENSE for a repeated label: a diagonal)."""
    if len(set(labels)) != len(labels):
        return DENSE
    steps, kept = [], [k for k, c in enumerate(labels) if c in out_labels]
    if len(kept) < len(labels):
        steps = reduce_steps(shape, tuple(k for k in range(len(labels)) if k not in kept))
    reduced = _flat(tuple(shape[k] for k in kept))
    kept_labels = [labels[k] for k in kept]
    order = sorted(range(len(kept)), key=lambda k: out_labels.index(kept_labels[k]))
    placed = np.transpose(reduced, order)
    present = [c for c in out_labels if c in kept_labels]
    expanded = placed.reshape(tuple(placed.shape[present.index(c)] if c in present else 1 for c in out_labels))
    index = np.broadcast_to(expanded, out_shape).ravel()
    return steps + [(index, None, index.size)]
