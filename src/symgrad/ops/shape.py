"""Ops that move elements without arithmetic: reshape, transpose, broadcasting,
indexing, concatenation.

Most of these are linear, so their forward rule applies the op to the tangent
and their reverse rule applies the adjoint op (reshape back, transpose back,
scatter back into zeros) to the cotangent. Broadcasting needs no rule of its
own: the gradient pass already sums cotangents back to an input's shape.
"""

from __future__ import annotations

import itertools
import math
import weakref

import numpy as np

from ..errors import BackendError, DTypeError, IndexingError, ShapeError
from ..format import index_text
from ..ir import CONSTANT, ZERO, Node, Op, as_node, as_nodes, disconnected_rule
from ..types import (broadcast_shapes, check_int_argument, check_shape_argument, combine_dtypes, is_int,
                     normalize_axes, normalize_axis, require_canonical, runtime_broadcast_error)
from ._define import (BATCH_ELEMENTWISE, BATCH_LEADING, batch_axes, gather_sparsity, no_dependence, primitive,
                      scatter_sparsity)
from .arith import add
from .select import cast


def _same_rule(d, out, *inputs):
    return d  # the derivative passes through unchanged (either direction)


# --- reshape ----------------------------------------------------------------------

def _reshape_infer(x, shape):
    require_canonical("reshape", "shape", shape, check_shape_argument("reshape", shape, x, inferred=True), x)
    unknown = [i for i, d in enumerate(shape) if d == -1]
    known = math.prod(d for d in shape if d != -1)
    if None in x.shape:
        if not unknown:
            raise ShapeError(f"reshape: {x.describe()} has run-time dimensions; give -1 for one of {shape}")
        return tuple(None if d == -1 else d for d in shape), x.dtype
    size = math.prod(x.shape)
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape {x.describe()} (size {size}) into {shape}")
        return tuple(size // known if d == -1 else d for d in shape), x.dtype
    if known != size:
        raise ShapeError(f"reshape: cannot reshape {x.describe()} (size {size}) into {shape} (size {known})")
    return shape, x.dtype


def _reshape_back(d, x):
    if sum(dim is None for dim in x.shape) > 1:
        return x.graph.apply(RESHAPE_LIKE, (d, x))
    return reshape(d, x.shape)


def _reshape_batch(node, inputs, batched):
    (x,) = inputs
    size, shape = x.shape[0], node.params.shape
    if size is None and -1 in shape:
        raise ShapeError(f"vectorize: {node.describe()} cannot be batched over a run-time batch size: the "
                         f"reshape has a size of -1 already ({shape})")
    return reshape(x, (-1 if size is None else size,) + shape)


RESHAPE = primitive("reshape", lambda x, shape: np.reshape(x, shape), _reshape_infer,
                    vjp=(lambda out_bar, out, x: _reshape_back(out_bar, x),),
                    jvp=(lambda x_dot, out, x: reshape(x_dot, out.params.shape),),
                    numpy=lambda args, p: f"np.reshape({args[0]}, {p['shape']!r})", view=True,
                    batch=_reshape_batch, sparsity=gather_sparsity(),
    array_api="reshape")
# Reshape to another node's run-time shape: the adjoint of a reshape whose
# input has several run-time dimensions.
RESHAPE_LIKE = primitive("reshape_like", lambda x, like: np.reshape(x, like.shape),
                         lambda x, like: (like.shape, x.dtype),
                         vjp=(lambda out_bar, out, x, like: _reshape_back(out_bar, x), disconnected_rule),
                         jvp=(lambda x_dot, out, x, like: RESHAPE_LIKE(x_dot, like), disconnected_rule),
                         view=True, batch=BATCH_LEADING, sparsity=gather_sparsity(),
    array_api=lambda xp: lambda x, like: xp.reshape(x, like.shape))


def reshape(x, shape) -> Node:
    """Give ``x`` a new shape with the same elements; one dimension may be -1.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.reshape(sg.constant([1.0, 2.0, 3.0, 4.0]), (2, -1)).type
    'f64[2,2]'
    """
    (x,) = as_nodes(x, op="reshape")
    shape = check_shape_argument("reshape", shape, x, inferred=True)
    if shape == x.shape:
        return x
    if x.op is RESHAPE:  # a chain of reshapes is one reshape
        x = x.inputs[0]
        if shape == x.shape:
            return x
    return x.graph.apply(RESHAPE, (x,), {"shape": shape})


# --- transpose ------------------------------------------------------------------------

def _transpose_infer(x, axes):
    if not isinstance(axes, tuple) or sorted(normalize_axis("transpose", x.ndim, a, x) for a in axes) != list(
            range(x.ndim)) or any(a < 0 for a in axes):
        raise ShapeError(f"transpose: axes {axes} are not a permutation of the {len(x.shape)} axes of {x.describe()}")
    return tuple(x.shape[a] for a in axes), x.dtype


def _transpose_spelling(args, params):
    axes = params["axes"]
    if axes == tuple(range(len(axes)))[::-1]:
        return f"{args[0]}.T"
    return f"np.transpose({args[0]}, {axes!r})"


TRANSPOSE = primitive("transpose", lambda x, axes: np.transpose(x, axes), _transpose_infer,
                      vjp=(lambda out_bar, out, x: transpose(out_bar, tuple(np.argsort(out.params.axes))),),
                      jvp=(lambda x_dot, out, x: transpose(x_dot, out.params.axes),),
                      numpy=_transpose_spelling, view=True,
                      batch=lambda node, inputs, batched: transpose(inputs[0], (0,) + tuple(
                          a + 1 for a in node.params.axes)), sparsity=gather_sparsity(),
    array_api=lambda xp: lambda x, axes: xp.permute_dims(x, tuple(range(x.ndim))[::-1] if axes is None else axes))


def transpose(x, axes=None) -> Node:
    """Permute the axes (reverse them when ``axes`` is None); ``x.T`` is this.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.transpose(sg.constant([[1.0, 2.0, 3.0]])).type
    'f64[3,1]'
    """
    (x,) = as_nodes(x, op="transpose")
    ndim = len(x.shape)
    if axes is None:
        axes = tuple(range(ndim))[::-1]
    else:
        if not isinstance(axes, (tuple, list)):
            raise ShapeError(f"transpose: axes must be a tuple of ints or None, not {type(axes).__name__} "
                             f"{axes!r} (for {x.describe()})")
        given, axes = axes, tuple(normalize_axis("transpose", ndim, a, x) for a in axes)
        if sorted(axes) != list(range(ndim)):
            raise ShapeError(f"transpose: axes {tuple(given)} are not a permutation of the {ndim} axes of "
                             f"{x.describe()}")
    if axes == tuple(range(ndim)):
        return x
    if x.op is TRANSPOSE:  # transpose of a transpose is one transpose
        inner = x.params.axes
        return transpose(x.inputs[0], tuple(inner[a] for a in axes))
    return x.graph.apply(TRANSPOSE, (x,), {"axes": axes})


# --- broadcasting -------------------------------------------------------------------------

def _broadcast_to_infer(x, shape):
    require_canonical("broadcast_to", "shape", shape, check_shape_argument("broadcast_to", shape, x), x)
    result = broadcast_shapes("broadcast_to", [x.shape, tuple(shape)], (x, f"target shape {tuple(shape)}"))
    if result != tuple(shape):
        hint = "; a run-time (None) dimension does not broadcast" if None in x.shape else ""
        raise ShapeError(f"broadcast_to: cannot broadcast {x.describe()} to {shape}{hint}")
    return result, x.dtype


# The cotangent is summed back to x's shape by the gradient pass, and a tangent
# of x's shape is broadcast up by the forward pass: both rules hand d through.
BROADCAST_TO = primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape), _broadcast_to_infer,
                         vjp=(_same_rule,), jvp=(_same_rule,),
                         numpy=lambda args, p: f"np.broadcast_to({args[0]}, {p['shape']!r})", view=True,
                         batch=lambda node, inputs, batched: _broadcast_batch(inputs[0], node), sparsity=gather_sparsity(),
    array_api="broadcast_to")
BROADCAST_LIKE = primitive("broadcast_like", lambda x, like: np.broadcast_to(x, like.shape),
                           lambda x, like: (broadcast_shapes("broadcast_like", [x.shape, like.shape], (x, like)),
                                            x.dtype),
                           vjp=(_same_rule, disconnected_rule), jvp=(_same_rule, disconnected_rule), view=True,
                           batch=lambda node, inputs, batched: _broadcast_batch(
                               inputs[0] if batched[0] else batch_broadcast(inputs[0], inputs[1]),
                               node, inputs[1] if batched[1] else None), sparsity=gather_sparsity(),
    array_api=lambda xp: lambda x, like: xp.broadcast_to(x, like.shape))
ZEROS_LIKE = primitive("zeros_like", np.zeros_like, lambda x: (x.shape, x.dtype),
                       vjp=(disconnected_rule,), jvp=(disconnected_rule,), batch=BATCH_ELEMENTWISE, sparsity=no_dependence)


def _broadcast_batch(x: Node, node: Node, like: Node | None = None) -> Node:
    """A batched ``x`` broadcast to ``node``'s shape behind the batch axis (to ``like``'s shape, batched)."""
    x = batch_lift(x, node.ndim)
    if like is not None:
        return BROADCAST_LIKE(x, like)
    if x.shape[0] is not None and None not in node.shape:
        return broadcast_to(x, x.shape[:1] + node.shape)
    target = node.inputs[-1] if node.op is BROADCAST_LIKE else broadcast_to(x.graph.constant(
        np.zeros((), x.dtype)), node.shape)  # only its shape is read
    return BROADCAST_LIKE(x, batch_broadcast(target, x))


def broadcast_to(x, shape) -> Node:
    """Broadcast ``x`` to a static ``shape`` (NumPy's rules).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.broadcast_to(sg.constant(1.0), (2, 3)).type
    'f64[2,3]'
    """
    (x,) = as_nodes(x, op="broadcast_to")
    shape = check_shape_argument("broadcast_to", shape, x)
    if shape == x.shape:
        return x
    return x.graph.apply(BROADCAST_TO, (x,), {"shape": shape})


def broadcast_like(x: Node, like: Node) -> Node:
    """Broadcast ``x`` to the run-time shape of ``like`` (which may have run-time dims)."""
    if x.shape == like.shape:
        return x
    if None not in like.shape:
        return broadcast_to(x, like.shape)
    return BROADCAST_LIKE(x, like)


def zeros_like(x: Node) -> Node:
    """Zeros of ``x``'s run-time shape and dtype; nothing flows back through it."""
    if None not in x.shape:
        return x.graph.constant(np.zeros(x.shape, x.dtype))
    return ZEROS_LIKE(x)


# --- run-time dimensions must not broadcast ------------------------------------------------
# A run-time (None) dimension is assumed not to broadcast: the gradient pass sums a cotangent
# back only over axes that are statically 1. Where an op could have broadcast one
# (``Op.runtime_broadcast_axes``), the executors check the forward node, and the derivative
# passes put a check_sizes node in the derivative graph, so a derivative evaluated alone is
# checked too.

def _check_sizes_forward(x, *like, axes, sizes, stands_for, node, input):
    for axis, size in zip(axes, sizes):
        have = np.shape(x)[axis]
        want = size if size is not None else np.shape(like[0])[axis - np.ndim(x) + np.ndim(like[0])]
        if have != want:
            if stands_for == "given":  # a tangent or cotangent the user gave for ``like``
                raise ShapeError(f"{node}: {input} has size {have} on axis {axis}, but it stands for a value "
                                 f"of size {want} there")
            input_size, result_size = (have, want) if stands_for == "input" else (want, have)
            raise runtime_broadcast_error(node, input, axis, input_size, result_size)
    return x


def _check_sizes_rule(index):
    return _same_rule if index == 0 else disconnected_rule


_STANDS_FOR = ("input", "result", "given")


def _check_sizes_infer(x, *like, axes, sizes, stands_for, node, input):
    if len(like) > 1 or not isinstance(axes, tuple) or not isinstance(sizes, tuple) or len(axes) != len(sizes):
        raise ShapeError(f"check_sizes: needs axes and sizes of one length and at most one other input, "
                         f"for {x.describe()}")
    for axis, size in zip(axes, sizes):
        require_canonical("check_sizes", "axes", axis, normalize_axis("check_sizes", x.ndim, axis, x), x)
        if size is not None:
            check_int_argument("check_sizes", size, x, 0)
        elif not like or axis - x.ndim + like[0].ndim < 0:
            raise ShapeError(f"check_sizes: a size of None needs another input to take it from, for {x.describe()}")
    if stands_for not in _STANDS_FOR or not isinstance(node, str) or not isinstance(input, str):
        raise ShapeError(f"check_sizes: stands_for must be one of {_STANDS_FOR} and node, input strings")
    # A checked axis has the size it was checked against: a cotangent checked against a run-time
    # size is run-time again, so it does not look static (and get checked again) further down.
    shape = list(x.shape)
    for axis, size in zip(axes, sizes):
        shape[axis] = size if size is not None else like[0].shape[axis - x.ndim + like[0].ndim]
    return tuple(shape), x.dtype


# check_sizes(x[, like]) is x (the very array), once its run-time sizes on ``axes`` are checked:
# each must be the static one in ``sizes``, or where that is None, like's on the same axis
# counted from the end. The derivative passes through; ``like`` only lends its shape.
def _check_sizes_batch(node, inputs, batched):
    x = inputs[0] if batched[0] else batch_broadcast(inputs[0], inputs[1])
    params = node.params.as_dict()
    params["axes"] = tuple(a + 1 for a in params["axes"])
    return x.graph.apply(CHECK_SIZES, (x, *inputs[1:]), params)


CHECK_SIZES = primitive("check_sizes", _check_sizes_forward, _check_sizes_infer,
                        vjp=_check_sizes_rule, jvp=_check_sizes_rule, view=True, batch=_check_sizes_batch, sparsity=gather_sparsity(),
    array_api=lambda xp: _check_sizes_forward)


def check_sizes(x: Node, like: Node | None, axes: tuple, sizes: tuple, stands_for: str, node: Node,
                index: int) -> Node:
    """``x``, checked at run time against the sizes of ``like`` (or the static ``sizes``) on ``axes``.

    The derivative passes use it where an op may have broadcast a run-time
    dimension of its input ``index``: ``x`` is that input's tangent
    (``stands_for="input"``, checked against ``node``) or its cotangent
    (``stands_for="result"``, checked against the input). The error names
    ``node`` and the input.

    Examples
    --------
    >>> import numpy as np, symgrad as sg
    >>> x, c = sg.placeholder("x", (None, 3)), sg.placeholder("c", (4, 3))
    >>> y = x + c
    >>> t = check_sizes(x, None, (0,), (4,), "input", y, 0)
    >>> t.eval({x: np.ones((4, 3))}).shape
    (4, 3)
    >>> t.eval({x: np.ones((1, 3))})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: add %...: input 0 placeholder 'x' f64[?,3] has size 1 on its run-time axis 0 ...
    """
    inputs = (x,) if like is None else (x, like)
    params = {"axes": tuple(axes), "sizes": tuple(sizes), "stands_for": stands_for, "node": node.describe(),
              "input": f"input {index} {node.inputs[index].describe()}"}
    return x.graph.apply(CHECK_SIZES, inputs, params)


# --- indexing ------------------------------------------------------------------------------
# An index is kept as a hashable spec; integer index arrays become inputs of the
# node, so ``x[i]`` with a placeholder ``i`` works and is part of the graph.

def _index_spec(x: Node, index) -> tuple[tuple, list]:
    items = index if isinstance(index, tuple) else (index,)
    spec, arrays = [], []
    for item in items:
        if item is None:
            spec.append(("newaxis",))
        elif item is Ellipsis:
            spec.append(("ellipsis",))
        elif isinstance(item, slice):
            parts = (item.start, item.stop, item.step)
            if not all(part is None or is_int(part) for part in parts):
                raise IndexingError(f"getitem: slice bounds must be ints or None, got {item} on {x.describe()}")
            if item.step is not None and item.step == 0:
                raise ShapeError(f"getitem: slice step cannot be zero ({item} on {x.describe()})")
            spec.append(("slice", *(None if part is None else int(part) for part in parts)))
        elif isinstance(item, (bool, np.bool_)):
            raise ShapeError(f"getitem: a bool index on {x.describe()} is not supported; use sg.where")
        elif isinstance(item, (int, np.integer)):
            spec.append(("int", int(item)))
        elif not isinstance(item, (Node, np.ndarray, list, tuple)):
            raise IndexingError(
                f"getitem: {type(item).__name__} {item!r:.40} cannot index {x.describe()}: indices are ints, "
                "slices, None, ... and integer arrays")
        else:
            node = item if isinstance(item, Node) else _index_array(item, x)
            if node.dtype.kind == "b":
                raise ShapeError(
                    f"getitem: boolean mask indexing of {x.describe()} gives a data-dependent shape; "
                    "use sg.where instead")
            if node.dtype.kind not in "iu":
                raise DTypeError(f"getitem: index array {node.describe()} for {x.describe()} must be integer, "
                                 f"not {node.dtype}")
            spec.append(("array", len(arrays)))
            arrays.append(node)
    return tuple(spec), arrays


def _index_array(item, x: Node) -> Node:
    """A list or array used as an index, as a constant; ragged or non-numeric lists are refused."""
    try:
        array = np.asarray(item)
    except ValueError as err:  # a ragged list
        raise IndexingError(f"getitem: the index {item!r} on {x.describe()} is not a regular array: {err}") from None
    if array.dtype.kind not in "biuf":
        raise IndexingError(f"getitem: the index array {item!r} on {x.describe()} must hold integers, "
                            f"not {array.dtype}")
    return as_node(array if array.size else array.astype(np.intp), x.graph)  # [] indexes nothing


def _check_spec(spec, arrays: tuple, x: Node, op_name: str) -> None:
    """A getitem spec's shape: what :func:`_index_spec` makes; a file or a direct call must match it."""
    if not isinstance(spec, tuple):
        raise ShapeError(f"{op_name}: spec {spec!r} of {x.describe()} must be a tuple of index items")
    count = ellipses = 0
    for item in spec:
        kind = item[0] if isinstance(item, tuple) and item else None
        if kind == "slice" and len(item) == 4 and all(p is None or is_int(p) for p in item[1:]) \
                and item[3] != 0:
            continue
        if kind == "int" and len(item) == 2 and is_int(item[1]):
            continue
        if kind == "array" and len(item) == 2 and is_int(item[1]) and item[1] == count:
            count += 1
            continue
        if kind in ("newaxis", "ellipsis") and len(item) == 1:
            ellipses += kind == "ellipsis"
            continue
        raise ShapeError(f"{op_name}: bad index item {item!r} in the spec of {x.describe()}")
    if count != len(arrays) or ellipses > 1:
        raise IndexingError(f"{op_name}: the spec of {x.describe()} names {count} index arrays and {ellipses} "
                         f"ellipses; {len(arrays)} arrays and at most one ellipsis were given")
    for array in arrays:
        if array.dtype.kind not in "iu":
            raise DTypeError(f"{op_name}: index array {array.describe()} must be integer, not {array.dtype}")


def _index_tuple(spec, arrays) -> tuple:
    out = []
    for item in spec:
        kind = item[0]
        if kind == "newaxis":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        elif kind == "slice":
            out.append(slice(*item[1:]))
        elif kind == "int":
            out.append(item[1])
        else:
            out.append(arrays[item[1]])
    return tuple(out)


def _getitem_infer(x, *arrays, spec):
    """The shape of ``x[index]`` from shapes alone, by NumPy's rules (nothing is allocated).

    Basic items (ints, slices, None) keep their place. Integer arrays, and ints among them,
    are advanced indices: their broadcast shape replaces them where they sit side by side,
    else it comes first. A slice of a run-time axis has a run-time length however it is
    bounded (``x[:50]`` is ``min(50, n)`` long); bounds on run-time axes are checked at run
    time, and constant index arrays are checked against static sizes now.
    """
    _check_spec(spec, arrays, x, "getitem")

    def bad(message):
        return IndexingError(f"getitem: bad index [{index_text(spec)}] for {x.describe()}: {message}")

    if sum(item[0] == "ellipsis" for item in spec) > 1:
        raise bad("an index can only have a single ellipsis ('...')")
    consumed = sum(item[0] in ("int", "slice", "array") for item in spec)
    if consumed > len(x.shape):
        raise bad(f"too many indices: {consumed} for {len(x.shape)} dimensions")
    # (position in the index as written, item): "side by side" is judged as written, where `...`
    # separates even when it stands for no axis
    rest = [("slice", None, None, None)] * (len(x.shape) - consumed)
    kinds = [item[0] for item in spec]
    at = kinds.index("ellipsis") if "ellipsis" in kinds else len(spec)
    items = ([(k, item) for k, item in enumerate(spec[:at])] + [(at, item) for item in rest]
             + [(at + 1 + k, item) for k, item in enumerate(spec[at + 1:])])
    advanced = "array" in kinds
    parts, adv_shapes, adv_places, axis = [], [], [], 0  # parts: a dimension, or "adv" (advanced indices' place)
    for place, item in items:
        kind = item[0]
        if kind == "newaxis":
            parts.append(1)
            continue
        size = x.shape[axis]
        if kind == "slice":
            parts.append(None if size is None else len(range(*slice(*item[1:]).indices(size))))
        elif kind == "int":
            if size is not None and not -size <= item[1] < size:
                raise bad(f"index {item[1]} is out of bounds for axis {axis} with size {size}")
            if advanced:
                adv_shapes.append(())
                adv_places.append(place)
        else:
            index = arrays[item[1]]
            if size is not None and index.op is CONSTANT and index.value.size:
                low, high = int(index.value.min()), int(index.value.max())
                if low < -size or high >= size:
                    raise bad(f"index {low if low < -size else high} is out of bounds for axis {axis} with size {size}")
            adv_shapes.append(index.shape)
            adv_places.append(place)
        if place in adv_places[-1:] and "adv" not in parts:
            parts.append("adv")
        axis += 1
    if not advanced:
        return tuple(parts), x.dtype
    try:
        broadcast = broadcast_shapes("getitem", adv_shapes)
    except ShapeError:
        raise bad(f"the index arrays' shapes {adv_shapes} do not broadcast together") from None
    if adv_places != list(range(adv_places[0], adv_places[-1] + 1)):  # not side by side: first
        parts = ["adv"] + [p for p in parts if p != "adv"]
    at = parts.index("adv")
    return tuple(parts[:at]) + tuple(broadcast) + tuple(parts[at + 1:]), x.dtype


def _scatter_forward(d, like, *arrays, spec):
    out = np.zeros(like.shape, d.dtype)
    index = _index_tuple(spec, arrays)
    if arrays:
        np.add.at(out, index, d)  # repeated indices accumulate
    else:
        out[index] = d
    return out


def _getitem_vjp(index):
    if index == 0:
        return lambda out_bar, out, x, *arrays: SCATTER_ADD(out_bar, x, *arrays, spec=out.params.spec)
    return disconnected_rule


def _getitem_jvp(index):
    if index == 0:
        return lambda x_dot, out, x, *arrays: GETITEM(x_dot, *arrays, spec=out.params.spec)
    return disconnected_rule


def _scatter_vjp(index):
    if index == 0:
        return lambda out_bar, out, d, like, *arrays: GETITEM(out_bar, *arrays, spec=out.params.spec)
    return disconnected_rule


def _scatter_jvp(index):
    if index == 0:
        return lambda d_dot, out, d, like, *arrays: SCATTER_ADD(d_dot, like, *arrays, spec=out.params.spec)
    return disconnected_rule


def _getitem_spelling(args, params):
    spec = params["spec"]
    if not spec:
        return f"{args[0]}[()]"  # x[()]: a view of all of x (x[] is no Python)
    index = index_text(spec, args[1:])
    if len(spec) == 1 and spec[0][0] == "array":
        index += ","  # x[(a,)]: one index array, not a tuple of indices to unpack
    if not spec:
        index = "()"  # x[()]: `x[]` is not Python
    return f"{args[0]}[{index}]"


def _getitem_forward(x, *arrays, spec):
    try:
        return x[_index_tuple(spec, arrays)]
    except IndexError as err:  # an index array's value, known only now, out of range
        raise IndexingError(f"getitem: {err}") from None


# Batching: a full slice in front of the spec. Where NumPy moves the advanced-index axes to the
# front (index arrays, or ints among them, not next to each other), the batch axis lands behind them.
BATCH_SLICE = ("slice", None, None, None)


def batch_axis_after_indexing(spec, arrays) -> int:
    """Where the batch axis lands when ``(BATCH_SLICE,) + spec`` indexes a batched array."""
    if not arrays:
        return 0
    advanced = [k for k, item in enumerate(spec) if item[0] in ("array", "int")]
    if advanced[-1] - advanced[0] + 1 == len(advanced):  # next to each other: they stay in place
        return 0
    return len(broadcast_shapes("getitem", [a.shape for a in arrays], arrays))


def batch_indexed(node, inputs, batched):
    """Batching of getitem and of the ops shaped like its result (``op(x, *arrays, spec)``)."""
    if any(batched[1:]):  # batched index arrays: one element at a time
        return batch_loop(node, inputs, batched)
    x, *arrays = inputs
    spec = node.params.spec
    result = node.graph.apply(node.op, (x, *arrays), {**node.params.as_dict(), "spec": (BATCH_SLICE,) + spec})
    axis = batch_axis_after_indexing(spec, arrays)
    if axis:
        order = list(range(result.ndim))
        result = transpose(result, [axis] + order[:axis] + order[axis + 1:])
    return result


def _scatter_batch(node, inputs, batched):
    if any(batched[2:]):
        return batch_loop(node, inputs, batched)
    d, like, *arrays = inputs
    d = d if batched[0] else batch_broadcast(d, like)
    like = like if batched[1] else batch_broadcast(like, d)
    spec = node.params.spec
    axis = batch_axis_after_indexing(spec, arrays)
    if axis:
        order = list(range(1, d.ndim))
        d = transpose(d, order[:axis] + [0] + order[axis:])
    return SCATTER_ADD(d, like, *arrays, spec=(BATCH_SLICE,) + spec)


def batch_loop(node, inputs, batched):
    size = next(x.shape[0] for x, b in zip(inputs, batched) if b)
    if size is None:
        raise ShapeError(f"vectorize: {node.describe()} with batched index arrays batches one element at a "
                         "time, which needs a static batch size")
    return stack([node.graph.apply(node.op, [getitem(x, k) if b else x for x, b in zip(inputs, batched)],
                                   node.params.as_dict()) for k in range(size)])


def _full(item) -> bool:
    """Whether an index item takes a whole axis (``:`` or ``...``); an index array never does."""
    return item is Ellipsis or (isinstance(item, slice) and item == slice(None))


def _take_axis(index: tuple, arrays) -> int | None:
    """The axis of ``x[index]`` that is ``xp.take`` along one integer array (flattened), if it is that."""
    if len(arrays) != 1:
        return None
    at = [k for k, item in enumerate(index) if item is arrays[0]][0]
    if any(item is Ellipsis for item in index[:at]) or not all(_full(item) for k, item in enumerate(index) if k != at):
        return None
    return at


def _positive_steps(index: tuple, ndim: int, shape: tuple) -> tuple[tuple, tuple]:
    """A basic ``index`` with each negative-step slice made the positive-step slice of the same
    elements, and the result axes to flip back (torch takes no negative steps)."""
    spread = ndim - sum(1 for item in index if isinstance(item, (int, slice)))
    new, flips, axis, position = [], [], 0, 0
    for item in index:
        if isinstance(item, slice) and item.step is not None and item.step < 0:
            picked = range(shape[axis])[item]
            new.append(slice(picked[-1], picked[0] + 1, -item.step) if len(picked) else slice(0, 0))
            flips.append(position)
        else:
            new.append(item)
        axis += 1 if isinstance(item, (int, slice)) else spread if item is Ellipsis else 0
        position += 1 if item is None or isinstance(item, slice) else spread if item is Ellipsis else 0
    return tuple(new), tuple(flips)


def _merged_index(xp, shape: tuple, index: tuple, arrays):
    """``(axis, count, flat, batch)`` when ``index`` is integer arrays side by side among full slices:
    they read ``count`` axes from ``axis`` on, as the flat index ``flat`` into those axes merged,
    broadcast to ``batch``; None for any other index."""
    places = [k for k, item in enumerate(index) if any(item is a for a in arrays)]
    if not places or places != list(range(places[0], places[0] + len(places))):
        return None
    at, count = places[0], len(places)
    if any(item is Ellipsis for item in index[:at]) or not all(
            _full(item) for k, item in enumerate(index) if k not in places):
        return None
    dims = shape[at:at + count]
    parts = xp.broadcast_arrays(*(index[k] for k in places))
    flat = 0
    for part, n in zip(parts, dims):  # C order: the last merged axis varies fastest
        flat = flat * n + xp.where(part < 0, part + n, part)
    return at, count, xp.reshape(flat, (-1,)), tuple(parts[0].shape)


def _getitem_xp(xp):
    """x[index] in the array-API standard: integer arrays side by side among full slices are xp.take
    of their merged axes; slices of negative step are positive ones flipped (torch)."""
    def kernel(x, *arrays, spec):
        index = _index_tuple(spec, arrays)
        if not any(item is Ellipsis for item in index):  # the standard indexes every axis: NumPy's implicit trailing ones
            index += (Ellipsis,)
        if not arrays:
            index, flips = _positive_steps(index, x.ndim, x.shape)
            return xp.flip(x[index], axis=flips) if flips else x[index]
        merged = _merged_index(xp, x.shape, index, arrays)
        if merged is None:
            return x[index]
        at, count, flat, batch = merged  # negative indices made positive: take's are unspecified
        rest = x.shape[at + count:]
        taken = xp.take(xp.reshape(x, x.shape[:at] + (math.prod(x.shape[at:at + count]),) + rest), flat, axis=at)
        return xp.reshape(taken, x.shape[:at] + batch + rest)
    return kernel


GETITEM = primitive("getitem", _getitem_forward, _getitem_infer,
                    vjp=_getitem_vjp, jvp=_getitem_jvp, numpy=_getitem_spelling, view=True,
                    batch=batch_indexed, sparsity=gather_sparsity(),
    array_api=_getitem_xp)
# The adjoint of getitem: zeros shaped like ``like`` with ``d`` added at the index.
def _scatter_infer(d, like, *arrays, spec):
    # d must be what getitem(like, spec) gives: its shape and dtype (run-time sizes match anything)
    shape, _ = _getitem_infer(like, *arrays, spec=spec)
    if len(shape) != d.ndim or any(a is not None and b is not None and a != b for a, b in zip(shape, d.shape)):
        raise ShapeError(f"scatter_add: {d.describe()} does not fit the index of {like.describe()} "
                         f"(which selects {shape})")
    combine_dtypes("scatter_add", [d.dtype, like.dtype], (d, like))
    return like.shape, d.dtype


def _scatter_landing(codes, d, like, *arrays, spec):
    """Where each element of d lands (scatter_add's sparsity fact): getitem of the result's codes."""
    return codes[_index_tuple(spec, arrays)]


def _scatter_xp(xp):
    """scatter_add without NumPy's in-place ``add.at``: JAX's ``.at[].add``; a basic index written
    into zeros (the standard's setitem takes no newaxis: those axes are dropped from ``d``); integer
    arrays side by side among full slices as a one-hot contraction over their merged axes, so
    repeated indices accumulate."""
    def kernel(d, like, *arrays, spec):
        index = _index_tuple(spec, arrays)
        if not any(item is Ellipsis for item in index):
            index += (Ellipsis,)
        out = xp.zeros(like.shape, dtype=d.dtype)
        if hasattr(out, "at"):
            return out.at[index].add(d)
        if not arrays:
            spread = like.ndim - sum(1 for item in index if isinstance(item, (int, slice)))
            position, new = 0, []
            for item in index:
                if item is None:
                    new.append(position)
                position += 1 if item is None or isinstance(item, slice) else spread if item is Ellipsis else 0
            index, flips = _positive_steps(index, like.ndim, like.shape)
            d = xp.flip(d, axis=flips) if flips else d
            out[tuple(item for item in index if item is not None)] = xp.reshape(
                d, tuple(n for k, n in enumerate(d.shape) if k not in new))
            return out
        merged = _merged_index(xp, like.shape, index, arrays)
        if merged is None:
            raise BackendError("scatter_add: outside NumPy and JAX, only integer arrays side by side among full "
                               "slices run")
        at, count, flat, batch = merged
        size, rest = math.prod(like.shape[at:at + count]), like.shape[at + count:]
        d = xp.reshape(d, like.shape[:at] + flat.shape + rest)
        picks = xp.astype(flat[:, None] == xp.arange(size), d.dtype)  # (k, merged size)
        moved = xp.tensordot(picks, d, axes=([0], [at]))  # (merged size, d's other axes)
        moved = xp.permute_dims(moved, tuple(range(1, at + 1)) + (0,) + tuple(range(at + 1, moved.ndim)))
        return xp.reshape(moved, like.shape)
    return kernel


SCATTER_ADD = primitive("scatter_add", _scatter_forward, _scatter_infer,
                        vjp=_scatter_vjp, jvp=_scatter_jvp, batch=_scatter_batch, sparsity=scatter_sparsity(_scatter_landing),
    array_api=_scatter_xp)


def getitem(x, index) -> Node:
    """``x[index]`` with NumPy's rules: ints, slices, None, ``...`` and integer arrays.

    Examples
    --------
    >>> import symgrad as sg
    >>> v = sg.constant([[1.0, 2.0], [3.0, 4.0]])
    >>> v[1, ::-1].eval()
    array([4., 3.])
    >>> v[[0, 0, 1]].type
    'f64[3,2]'
    """
    (x,) = as_nodes(x, op="getitem")
    spec, arrays = _index_spec(x, index)
    return x.graph.apply(GETITEM, (x, *arrays), {"spec": spec})


def expand_dims(x, axis) -> Node:
    """Insert a length-1 axis at ``axis`` (an int or a tuple of ints: axes of the result).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.expand_dims(sg.constant([1.0, 2.0]), 0).type
    'f64[1,2]'
    >>> sg.expand_dims(sg.constant([1.0, 2.0]), (0, -1)).type
    'f64[1,2,1]'
    """
    (x,) = as_nodes(x, op="expand_dims")
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    axes = normalize_axes("expand_dims", (None,) * (x.ndim + count), axis, x)
    return getitem(x, tuple(None if i in axes else slice(None) for i in range(x.ndim + count)))


# --- concatenate and stack ----------------------------------------------------------------

def _concatenate_infer(*xs, axis):
    first = xs[0]
    for x in xs[1:]:
        if x.ndim != first.ndim:
            raise ShapeError(f"concatenate: {first.describe()} and {x.describe()} differ in rank")
    axis = normalize_axis("concatenate", first.ndim, axis, first)
    shape = list(first.shape)
    for x in xs[1:]:
        for i, (a, b) in enumerate(zip(shape, x.shape)):
            if i != axis and a is not None and b is not None and a != b:
                raise ShapeError(
                    f"concatenate: {first.describe()} and {x.describe()} differ on axis {i}, "
                    f"which is not the concatenation axis {axis}")
    sizes = [x.shape[axis] for x in xs]
    shape[axis] = None if None in sizes else sum(sizes)
    return tuple(shape), combine_dtypes("concatenate", [x.dtype for x in xs], xs)


# Start offsets of each concatenated input, per node, computed once: recomputing
# them for every input would make the gradient of an n-way concatenate O(n^2).
_OFFSETS: "weakref.WeakKeyDictionary[Node, list]" = weakref.WeakKeyDictionary()


def _concat_offsets(out, inputs, index):
    axis = out.params.axis % out.ndim
    sizes = [x.shape[axis] for x in inputs] if out not in _OFFSETS else None
    if sizes is not None:
        _OFFSETS[out] = list(itertools.accumulate(sizes, lambda a, b: None if a is None or b is None else a + b,
                                                  initial=0))
    starts = _OFFSETS[out]
    return axis, starts[index], starts[index + 1]  # None when a size is known only at run time


def _concat_vjp(index):
    def rule(out_bar, out, *inputs):
        axis, start, stop = _concat_offsets(out, inputs, index)
        if start is None or stop is None:
            return _runtime_part(out, out_bar, inputs, index, axis)
        return getitem(out_bar, (slice(None),) * axis + (slice(start, stop),))
    return rule


# Where sizes along the axis are known only at run time, the cotangent is cut at
# run time: input k's part is head(tail(...tail(d, x0)..., x[k-1]), x[k]), where
# head keeps the first len(x) entries along the axis and tail drops them. Both
# are views; the chain of tails is kept per node so n inputs cost O(n) nodes.
_RESTS: "weakref.WeakKeyDictionary[Node, tuple]" = weakref.WeakKeyDictionary()


def _runtime_part(out, d, inputs, index, axis):
    cut_for, done, rest = _RESTS.get(out, (None, 0, d))
    if cut_for is not d or done > index:
        done, rest = 0, d
    for x in inputs[done:index]:
        rest = _cut(TAIL_LIKE, rest, x, axis)
    _RESTS[out] = (d, index, rest)
    return _cut(HEAD_LIKE, rest, inputs[index], axis)


def _cut(op, d, like, axis):
    return op(d, like, axis=axis)


def _cut_forward(head):
    def forward(d, like, axis):
        size = like.shape[axis]
        return d[(slice(None),) * axis + (slice(None, size) if head else slice(size, None),)]
    return forward


def _cut_infer(head):
    def infer(d, like, axis):
        name = "head_like" if head else "tail_like"
        require_canonical(name, "axis", axis, normalize_axis(name, min(d.ndim, like.ndim), axis, d), d)
        shape = list(d.shape)
        size, total = like.shape[axis], d.shape[axis]
        shape[axis] = size if head else (None if None in (size, total) else total - size)
        return tuple(shape), d.dtype
    return infer


def _pad_rule(head):
    """The adjoint of a cut: put the cotangent back in place, zeros in the part cut off."""
    def rule(out_bar, out, d, like):
        axis = out.params.axis
        other = zeros_like(_cut(TAIL_LIKE if head else HEAD_LIKE, d, like, axis))
        return concatenate([out_bar, other] if head else [other, out_bar], axis)
    return rule


def _cut_xp(head):
    """head_like / tail_like in the standard: the same slice, every other axis named by ``...``."""
    def spell(xp):
        def kernel(d, like, axis):
            size = like.shape[axis]
            return d[(slice(None),) * axis + (slice(None, size) if head else slice(size, None), Ellipsis)]
        return kernel
    return spell


HEAD_LIKE = primitive("head_like", _cut_forward(True), _cut_infer(True),
                      vjp=(_pad_rule(True), disconnected_rule),
                      jvp=(lambda d_dot, out, d, like: _cut(HEAD_LIKE, d_dot, like, out.params.axis),
                           disconnected_rule), view=True, batch=batch_axes("axis"), sparsity=gather_sparsity(),
    array_api=_cut_xp(True))
TAIL_LIKE = primitive("tail_like", _cut_forward(False), _cut_infer(False),
                      vjp=(_pad_rule(False), disconnected_rule),
                      jvp=(lambda d_dot, out, d, like: _cut(TAIL_LIKE, d_dot, like, out.params.axis),
                           disconnected_rule), view=True, batch=batch_axes("axis"), sparsity=gather_sparsity(),
    array_api=_cut_xp(False))


def _concat_jvp(index):
    def rule(x_dot, out, *inputs):
        parts = [x_dot if i == index else zeros_like(x) for i, x in enumerate(inputs)]
        return concatenate(parts, out.params.axis)
    return rule


def _concat_jvp_all(tangents, out, *inputs):
    parts = [zeros_like(x) if t is ZERO else t for t, x in zip(tangents, inputs)]
    return concatenate(parts, out.params.axis)


CONCATENATE = primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis), _concatenate_infer,
                 vjp=_concat_vjp, jvp=_concat_jvp, jvp_all=_concat_jvp_all, batch=batch_axes("axis"), sparsity=gather_sparsity("all"),
    array_api=lambda xp: lambda *xs, axis: xp.concat(xs, axis=axis))


def concatenate(xs, axis: int | None = 0) -> Node:
    """Join arrays along an existing axis (``axis=None``: flatten them first, as NumPy).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.concatenate([sg.constant([1.0]), sg.constant([2.0, 3.0])]).eval()
    array([1., 2., 3.])
    """
    xs = as_nodes(*_arrays("concatenate", xs), op="concatenate")
    if axis is None:
        xs = tuple(reshape(x, (-1,)) for x in xs)
        axis = 0
    for x in xs:
        if x.ndim == 0:
            raise ShapeError(f"concatenate: zero-dimensional {x.describe()} cannot be concatenated")
    axis = normalize_axis("concatenate", xs[0].ndim, axis, xs[0])
    if len(xs) == 1:
        return xs[0]
    return xs[0].graph.apply(CONCATENATE, xs, {"axis": axis})


def _arrays(op_name: str, xs) -> tuple:
    """The sequence of arrays concatenate and stack take: a list or tuple, not one node or a number."""
    if isinstance(xs, Node) and xs.ndim:
        xs = list(xs)  # as NumPy: an array is the sequence of its rows
    elif not isinstance(xs, (list, tuple)):
        shown = xs.describe() if isinstance(xs, Node) else repr(xs)
        raise ShapeError(f"{op_name}: takes a sequence of arrays, not {type(xs).__name__} {shown}")
    if not xs:
        raise ShapeError(f"{op_name}: needs at least one array")
    return tuple(xs)


def stack(xs, axis: int = 0) -> Node:
    """Join arrays of one shape along a new axis.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.stack([sg.constant([1.0, 2.0]), sg.constant([3.0, 4.0])]).type
    'f64[2,2]'
    """
    xs = as_nodes(*_arrays("stack", xs), op="stack")
    for x in xs[1:]:  # a run-time dimension may stand for any static one
        if x.ndim != xs[0].ndim or any(a is not None and b is not None and a != b
                                       for a, b in zip(x.shape, xs[0].shape)):
            raise ShapeError(f"stack: {xs[0].describe()} and {x.describe()} differ in shape")
    axis = normalize_axis("stack", xs[0].ndim + 1, axis, xs[0])
    return concatenate([expand_dims(x, axis) for x in xs], axis)


# --- batching helpers (symgrad.vectorize: the batch axis is axis 0) ------------------------------

def batch_lift(x: Node, ndim: int) -> Node:
    """A batched ``x`` (batch axis first) with length-1 axes after the batch axis, up to ``ndim`` axes
    behind it: a batched operand that lines up with unbatched ones under NumPy broadcasting."""
    missing = ndim - (x.ndim - 1)
    if missing <= 0:
        return x
    return getitem(x, (slice(None),) + (None,) * missing)


def batch_broadcast(x: Node, like: Node) -> Node:
    """An unbatched ``x`` repeated along a new leading axis as long as ``like``'s batch axis (a view)."""
    size = like.shape[0]
    if size is not None and None not in x.shape:
        return broadcast_to(getitem(x, (None,)), (size,) + x.shape)
    # a run-time size: a zero array of the batched shape lends its shape
    column = getitem(like, (slice(None),) + (0,) * (like.ndim - 1))
    column = getitem(column, (slice(None),) + (None,) * x.ndim)
    shape_of = add(zeros_like(cast(column, x.dtype)), getitem(zeros_like(x), (None,)))
    return BROADCAST_LIKE(getitem(x, (None,)), shape_of)


def batch_all(inputs, batched) -> list:
    """Every input batched: the unbatched ones broadcast along the batch axis of a batched one."""
    like = next(x for x, b in zip(inputs, batched) if b)
    return [x if b else batch_broadcast(x, like) for x, b in zip(inputs, batched)]


# The ops and functions defined here (not the names imported above).
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_")
           and (isinstance(value, Op) or getattr(value, "__module__", None) == __name__)]
