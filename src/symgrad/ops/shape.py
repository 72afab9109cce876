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

from ..errors import DTypeError, IndexingError, ShapeError
from ..format import index_text
from ..ir import CONSTANT, ZERO, Node, Op, as_node, as_nodes, disconnected_rule
from ..types import broadcast_shapes, combine_dtypes, runtime_broadcast_error
from ._define import primitive


def _same_rule(d, out, *inputs):
    return d  # the derivative passes through unchanged (either direction)


# --- reshape ----------------------------------------------------------------------

def _reshape_infer(x, shape):
    if any(d < -1 for d in shape):
        raise ShapeError(f"reshape: cannot reshape {x.describe()} into {shape}: "
                         "dimensions must be non-negative, or -1 (or None) for one inferred dimension")
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise ShapeError(f"reshape: at most one dimension of {shape} may be -1 or None")
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


RESHAPE = primitive("reshape", lambda x, shape: np.reshape(x, shape), _reshape_infer,
                    vjp=(lambda out_bar, out, x: _reshape_back(out_bar, x),),
                    jvp=(lambda x_dot, out, x: reshape(x_dot, out.params.shape),),
                    numpy=lambda args, p: f"np.reshape({args[0]}, {p['shape']!r})", view=True)
# Reshape to another node's run-time shape: the adjoint of a reshape whose
# input has several run-time dimensions.
RESHAPE_LIKE = primitive("reshape_like", lambda x, like: np.reshape(x, like.shape),
                         lambda x, like: (like.shape, x.dtype),
                         vjp=(lambda out_bar, out, x, like: _reshape_back(out_bar, x), disconnected_rule),
                         jvp=(lambda x_dot, out, x, like: RESHAPE_LIKE(x_dot, like), disconnected_rule),
                         view=True)


def reshape(x, shape) -> Node:
    """Give ``x`` a new shape with the same elements; one dimension may be -1.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.reshape(sg.constant([1.0, 2.0, 3.0, 4.0]), (2, -1)).type
    'f64[2,2]'
    """
    (x,) = as_nodes(x)
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not all(d is None or isinstance(d, (int, np.integer)) for d in shape):
        raise ShapeError(f"reshape: the new shape {tuple(shape)} of {x.describe()} must hold ints (-1 or None "
                         "for one inferred dimension)")
    shape = tuple(-1 if d is None else int(d) for d in shape)
    if shape == x.shape:
        return x
    if x.op is RESHAPE:  # a chain of reshapes is one reshape
        x = x.inputs[0]
        if shape == x.shape:
            return x
    return x.graph.apply(RESHAPE, (x,), {"shape": shape})


# --- transpose ------------------------------------------------------------------------

def _transpose_infer(x, axes):
    if sorted(axes) != list(range(len(x.shape))):
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
                      numpy=_transpose_spelling, view=True)


def transpose(x, axes=None) -> Node:
    """Permute the axes (reverse them when ``axes`` is None); ``x.T`` is this.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.transpose(sg.constant([[1.0, 2.0, 3.0]])).type
    'f64[3,1]'
    """
    (x,) = as_nodes(x)
    ndim = len(x.shape)
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(a) % ndim if ndim else int(a) for a in axes)
    if axes == tuple(range(ndim)):
        return x
    if x.op is TRANSPOSE:  # transpose of a transpose is one transpose
        inner = x.params.axes
        return transpose(x.inputs[0], tuple(inner[a] for a in axes))
    return x.graph.apply(TRANSPOSE, (x,), {"axes": axes})


# --- broadcasting -------------------------------------------------------------------------

def _broadcast_to_infer(x, shape):
    result = broadcast_shapes("broadcast_to", [x.shape, tuple(shape)], (x, f"target shape {tuple(shape)}"))
    if result != tuple(shape):
        hint = "; a run-time (None) dimension does not broadcast" if None in x.shape else ""
        raise ShapeError(f"broadcast_to: cannot broadcast {x.describe()} to {shape}{hint}")
    return result, x.dtype


# The cotangent is summed back to x's shape by the gradient pass, and a tangent
# of x's shape is broadcast up by the forward pass: both rules hand d through.
BROADCAST_TO = primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape), _broadcast_to_infer,
                         vjp=(_same_rule,), jvp=(_same_rule,),
                         numpy=lambda args, p: f"np.broadcast_to({args[0]}, {p['shape']!r})", view=True)
BROADCAST_LIKE = primitive("broadcast_like", lambda x, like: np.broadcast_to(x, like.shape),
                           lambda x, like: (broadcast_shapes("broadcast_like", [x.shape, like.shape], (x, like)),
                                            x.dtype),
                           vjp=(_same_rule, disconnected_rule), jvp=(_same_rule, disconnected_rule), view=True)
ZEROS_LIKE = primitive("zeros_like", np.zeros_like, lambda x: (x.shape, x.dtype),
                       vjp=(disconnected_rule,), jvp=(disconnected_rule,))


def broadcast_to(x, shape) -> Node:
    """Broadcast ``x`` to a static ``shape`` (NumPy's rules).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.broadcast_to(sg.constant(1.0), (2, 3)).type
    'f64[2,3]'
    """
    (x,) = as_nodes(x)
    shape = tuple(int(d) for d in shape)
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


def _check_sizes_infer(x, *like, axes, sizes, **_):
    # A checked axis has the size it was checked against: a cotangent checked against a run-time
    # size is run-time again, so it does not look static (and get checked again) further down.
    shape = list(x.shape)
    for axis, size in zip(axes, sizes):
        shape[axis] = size if size is not None else like[0].shape[axis - x.ndim + like[0].ndim]
    return tuple(shape), x.dtype


# check_sizes(x[, like]) is x (the very array), once its run-time sizes on ``axes`` are checked:
# each must be the static one in ``sizes``, or where that is None, like's on the same axis
# counted from the end. The derivative passes through; ``like`` only lends its shape.
CHECK_SIZES = primitive("check_sizes", _check_sizes_forward, _check_sizes_infer,
                        vjp=_check_sizes_rule, jvp=_check_sizes_rule, view=True)


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
            for part in (item.start, item.stop, item.step):
                if part is not None and not isinstance(part, (int, np.integer)):
                    raise ShapeError(f"getitem: slice bounds must be Python ints, got {item} on {x.describe()}")
            if item.step is not None and item.step == 0:
                raise ShapeError(f"getitem: slice step cannot be zero, got {item} on {x.describe()}")
            spec.append(("slice", item.start, item.stop, item.step))
        elif isinstance(item, (bool, np.bool_)):
            raise ShapeError(f"getitem: a bool index on {x.describe()} is not supported; use sg.where")
        elif isinstance(item, (int, np.integer)):
            spec.append(("int", int(item)))
        else:
            if not isinstance(item, (Node, np.ndarray, list, tuple)):
                raise IndexingError(
                    f"getitem: {type(item).__name__} {item!r:.40} cannot index {x.describe()}: indices are ints, "
                    "slices, None, ... and integer arrays")
            node = as_node(item, x.graph) if not isinstance(item, Node) else item
            if node.dtype.kind == "b":
                raise ShapeError(
                    f"getitem: boolean mask indexing of {x.describe()} gives a data-dependent shape; "
                    "use sg.where instead")
            if node.dtype.kind not in "iu":
                raise DTypeError(f"getitem: index array {node.describe()} must be integer, not {node.dtype}")
            spec.append(("array", len(arrays)))
            arrays.append(node)
    return tuple(spec), arrays


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


GETITEM = primitive("getitem", _getitem_forward, _getitem_infer,
                    vjp=_getitem_vjp, jvp=_getitem_jvp, numpy=_getitem_spelling, view=True)
# The adjoint of getitem: zeros shaped like ``like`` with ``d`` added at the index.
SCATTER_ADD = primitive("scatter_add", _scatter_forward,
                        lambda d, like, *arrays, spec: (like.shape, d.dtype),
                        vjp=_scatter_vjp, jvp=_scatter_jvp)


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
    (x,) = as_nodes(x)
    spec, arrays = _index_spec(x, index)
    return x.graph.apply(GETITEM, (x, *arrays), {"spec": spec})


def expand_dims(x, axis: int) -> Node:
    """Insert a length-1 axis at ``axis``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.expand_dims(sg.constant([1.0, 2.0]), 0).type
    'f64[1,2]'
    """
    (x,) = as_nodes(x)
    axis = axis % (x.ndim + 1)
    return getitem(x, (slice(None),) * axis + (None,))


# --- concatenate and stack ----------------------------------------------------------------

def _concatenate_infer(*xs, axis):
    first = xs[0]
    for x in xs[1:]:
        if x.ndim != first.ndim:
            raise ShapeError(f"concatenate: {first.describe()} and {x.describe()} differ in rank")
    if not -first.ndim <= axis < first.ndim:
        raise ShapeError(f"concatenate: axis {axis} is out of range for {first.describe()}")
    axis %= first.ndim
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


HEAD_LIKE = primitive("head_like", _cut_forward(True), _cut_infer(True),
                      vjp=(_pad_rule(True), disconnected_rule),
                      jvp=(lambda d_dot, out, d, like: _cut(HEAD_LIKE, d_dot, like, out.params.axis),
                           disconnected_rule), view=True)
TAIL_LIKE = primitive("tail_like", _cut_forward(False), _cut_infer(False),
                      vjp=(_pad_rule(False), disconnected_rule),
                      jvp=(lambda d_dot, out, d, like: _cut(TAIL_LIKE, d_dot, like, out.params.axis),
                           disconnected_rule), view=True)


def _concat_jvp(index):
    def rule(x_dot, out, *inputs):
        parts = [x_dot if i == index else zeros_like(x) for i, x in enumerate(inputs)]
        return concatenate(parts, out.params.axis)
    return rule


def _concat_jvp_all(tangents, out, *inputs):
    parts = [zeros_like(x) if t is ZERO else t for t, x in zip(tangents, inputs)]
    return concatenate(parts, out.params.axis)


CONCATENATE = primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis), _concatenate_infer,
                 vjp=_concat_vjp, jvp=_concat_jvp, jvp_all=_concat_jvp_all)


def concatenate(xs, axis: int = 0) -> Node:
    """Join arrays along an existing axis.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.concatenate([sg.constant([1.0]), sg.constant([2.0, 3.0])]).eval()
    array([1., 2., 3.])
    """
    xs = as_nodes(*xs)
    if not xs:
        raise ShapeError("concatenate: needs at least one array")
    if len(xs) == 1:
        return xs[0]
    return xs[0].graph.apply(CONCATENATE, xs, {"axis": int(axis)})


def stack(xs, axis: int = 0) -> Node:
    """Join arrays of one shape along a new axis.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.stack([sg.constant([1.0, 2.0]), sg.constant([3.0, 4.0])]).type
    'f64[2,2]'
    """
    xs = as_nodes(*xs)
    if not xs:
        raise ShapeError("stack: needs at least one array")
    for x in xs[1:]:  # a run-time dimension may stand for any static one
        if x.ndim != xs[0].ndim or any(a is not None and b is not None and a != b
                                       for a, b in zip(x.shape, xs[0].shape)):
            raise ShapeError(f"stack: {xs[0].describe()} and {x.describe()} differ in shape")
    return concatenate([expand_dims(x, axis) for x in xs], axis % (xs[0].ndim + 1))


# The ops and functions defined here (not the names imported above).
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_")
           and (isinstance(value, Op) or getattr(value, "__module__", None) == __name__)]
