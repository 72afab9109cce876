"""Indexing beyond ``x[index]``: ``take``, ``take_along_axis``, and functional updates in
JAX's spelling, ``x.at[index].set(v)`` / ``.add(v)`` / ``.multiply(v)`` / ``.min(v)`` /
``.max(v)`` (nodes are immutable, so ``x[index] = v`` is an error pointing here).

``take`` is a getitem with an index array on one axis. ``take_along_axis`` is a
primitive with its adjoint ``scatter_along_axis`` (an add, so repeated indices
accumulate), which keeps run-time dimensions working.

The updates take every index getitem takes; ``v`` broadcasts to the indexed
part, and the result has ``x``'s shape and dtype. With repeated indices:

- ``add``, ``multiply``, ``min``, ``max`` accumulate every update (as JAX and
  ``np.add.at``): ``x.at[[0, 0]].add([1, 2])`` adds 3;
- ``set`` writes the last of them, as NumPy's ``x[[0, 0]] = [1, 2]`` does: the
  cotangent of the result goes to that last value only (``last_writes`` marks
  the values that land), the overwritten ones get zero;
- ``min`` and ``max`` share the derivative equally among the tied candidates
  (``x`` and the updates that attain the result), like ``sg.max``;
- ``multiply``'s derivative with respect to an update is the cotangent times
  ``x`` times the product of the *other* updates at its index, formed by
  multiplying gathers (no division, so zeros are exact). That needs the
  repeats at build time: constant index arrays on a static shape, or
  ``unique_indices=True``, which is then checked at run time.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import BackendError, DTypeError, GradientError, IndexingError, ShapeError
from ..format import index_text, value_text
from ..ir import CONSTANT, DENSE, ZERO, Node, Op, as_node, as_nodes, disconnected_rule
from ..types import (broadcast_shapes, check_bool_argument, check_choice_argument, compatible, normalize_axis,
                     require_canonical, type_string)
from ._define import batch_axes, gather_sparsity, no_dependence, primitive, scatter_sparsity
from .elementary import mod
from .select import clip, equal, where
from .shape import (BATCH_SLICE, GETITEM, _index_spec, _index_tuple, _take_axis, batch_axis_after_indexing,
                    batch_broadcast, batch_indexed, batch_lift, batch_loop, broadcast_to, concatenate, getitem, reshape,
                    transpose, zeros_like)


def _axis(op_name: str, x: Node, axis) -> int:
    return normalize_axis(op_name, x.ndim, axis, x)


def _check_bounds(op_name: str, values: np.ndarray, x: Node, axis: int) -> None:
    """Constant indices are checked when the node is built; others by NumPy at run time."""
    n = x.shape[axis]
    if n is None or values.size == 0:
        return
    bad = values[(values < -n) | (values >= n)]
    if bad.size:
        raise IndexingError(f"{op_name}: index {int(bad.flat[0])} is out of bounds for axis {axis} of "
                            f"{x.describe()} (size {n})")


def _int_indices(op_name: str, indices, x: Node):
    """An index node, or a NumPy integer array for a constant (an empty list is an empty int array)."""
    if isinstance(indices, Node):
        if indices.dtype.kind not in "iu":
            raise DTypeError(f"{op_name}: indices {indices.describe()} must be integers, not {indices.dtype} "
                             f"(for {x.describe()})")
        return indices
    values = np.asarray(indices)
    if values.size == 0 and values.dtype.kind == "f":
        values = values.astype(np.intp)
    if values.dtype.kind not in "iu":
        raise DTypeError(f"{op_name}: indices {indices!r} must be integers, not {values.dtype} "
                         f"(for {x.describe()})")
    return values


# --- take ------------------------------------------------------------------------------------

def take(a, indices, axis=None, mode: str = "raise") -> Node:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when None), as ``np.take``.

    ``mode="raise"`` (NumPy's default) checks constant indices when the node
    is built and run-time ones when it runs; ``"wrap"`` and ``"clip"`` map
    indices into range first. Repeated indices are fine: their cotangents add up.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.take(sg.constant([[1.0, 2.0], [3.0, 4.0]]), [1, 1, 0], axis=1).eval()
    array([[2., 2., 1.],
           [4., 4., 3.]])
    """
    (a,) = as_nodes(a)
    check_choice_argument("take", mode, ("raise", "wrap", "clip"), a, "mode")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis = _axis("take", a, axis)
    n = a.shape[axis]
    index = _int_indices("take", indices, a)
    if mode != "raise" and n is None:
        raise ShapeError(f"take: mode {mode!r} needs the length of axis {axis} of {a.describe()}, "
                         "which is known only at run time")
    if mode != "raise" and n == 0:
        raise IndexingError(f"take: cannot take from the empty axis {axis} of {a.describe()}")
    if isinstance(index, Node):
        if mode == "wrap":
            index = mod(index, n)
        elif mode == "clip":
            index = clip(index, 0, n - 1)
    else:
        if mode == "wrap":
            index = index % n
        elif mode == "clip":
            index = np.clip(index, 0, n - 1)
        _check_bounds("take", index, a, axis)
        if index.ndim == 0:
            index = int(index)
    return getitem(a, (slice(None),) * axis + (index,))


# --- take_along_axis and its adjoint ------------------------------------------------------------

def _along_index(shape: tuple, source_shape: tuple, indices, axis: int) -> tuple:
    """The index tuple that np.take_along_axis reads with (a result of ``shape`` from an array of
    ``source_shape``): the indices on ``axis``, an open grid on the others (zeros where the source
    has length 1). Its adjoint adds at the same places."""
    items = []
    for k, n in enumerate(shape):
        if k == axis:
            items.append(indices)
        else:
            grid = np.arange(n) if source_shape[k] == n else np.zeros(n, np.intp)
            items.append(grid.reshape((-1,) + (1,) * (len(shape) - 1 - k)))
    return tuple(items)


def _scatter_along_forward(d, like, indices, axis):
    out = np.zeros(like.shape, d.dtype)
    try:
        np.add.at(out, _along_index(d.shape, like.shape, indices, axis), d)
    except IndexError as err:  # an index array's value, known only now, out of range
        raise IndexingError(f"scatter_along_axis: {err}") from None
    return out


def _take_along_forward(arr, indices, axis):
    try:
        return np.take_along_axis(arr, indices, axis)
    except IndexError as err:  # as getitem: an index known only now (a feed) out of range
        raise IndexingError(f"take_along_axis: {err}") from None


def _take_along_infer(arr, indices, axis, name="take_along_axis"):
    require_canonical(name, "axis", axis, normalize_axis(name, arr.ndim, axis, arr), arr)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"{name}: indices {indices.describe()} must be integers, not {indices.dtype}")
    if indices.ndim != arr.ndim:
        raise ShapeError(f"{name}: indices {indices.describe()} and {arr.describe()} must have the "
                         "same number of dimensions")
    if indices.value is not None:  # constant indices (a file may move them to another axis)
        _check_bounds(name, indices.value, arr, axis)
    outer = arr.shape[:axis] + (1,) + arr.shape[axis + 1:]
    return broadcast_shapes(name, [outer, indices.shape], (arr, indices)), arr.dtype


def _scatter_along_infer(d, like, indices, axis):
    taken, _ = _take_along_infer(like, indices, axis, "scatter_along_axis")
    if not compatible(d.shape, taken):
        raise ShapeError(f"scatter_along_axis: {d.describe()} does not fit the {type_string(taken, like.dtype)} "
                         f"that take_along_axis reads from {like.describe()} at {indices.describe()}")
    return like.shape, d.dtype


def _take_along(arr: Node, indices: Node, axis: int) -> Node:
    return arr.graph.apply(TAKE_ALONG_AXIS, (arr, indices), {"axis": axis})


def _scatter_along(d: Node, like: Node, indices: Node, axis: int) -> Node:
    return d.graph.apply(SCATTER_ALONG_AXIS, (d, like, indices), {"axis": axis})


def _along_landing(codes, d, like, i, axis):
    """Where each element of d lands (scatter_along_axis's sparsity fact)."""
    return np.take_along_axis(codes, i, axis)


# NumPy's own function, which broadcasts indices and arr against each other on the other axes.
TAKE_ALONG_AXIS = primitive(
    "take_along_axis", _take_along_forward, _take_along_infer,
    vjp=(lambda out_bar, out, arr, i: _scatter_along(out_bar, arr, i, out.params.axis), disconnected_rule),
    jvp=(lambda x_dot, out, arr, i: _take_along(x_dot, i, out.params.axis), disconnected_rule), view=False,
    batch=batch_axes("axis"), sparsity=gather_sparsity(), array_api="take_along_axis")


def _scatter_along_xp(xp):
    """scatter_along_axis as a one-hot sum over the read positions (no in-place add.at)."""
    def kernel(d, like, indices, axis):
        n = like.shape[axis]
        moved_d, moved_i = xp.moveaxis(d, axis, -1), xp.moveaxis(indices, axis, -1)
        moved_i = xp.where(moved_i < 0, moved_i + n, moved_i)
        picks = xp.astype(moved_i[..., None] == xp.arange(n), d.dtype)  # (..., k, n)
        out = xp.moveaxis(xp.sum(moved_d[..., None] * picks, axis=-2), -1, axis)
        spread = tuple(k for k in range(like.ndim) if like.shape[k] == 1 and out.shape[k] != 1)
        return xp.sum(out, axis=spread, keepdims=True) if spread else out
    return kernel


# The adjoint: zeros shaped like ``like`` with ``d`` added where take_along_axis read.
SCATTER_ALONG_AXIS = primitive(
    "scatter_along_axis", _scatter_along_forward, _scatter_along_infer,
    vjp=(lambda out_bar, out, d, like, i: _take_along(out_bar, i, out.params.axis), disconnected_rule,
         disconnected_rule),
    jvp=(lambda d_dot, out, d, like, i: _scatter_along(d_dot, like, i, out.params.axis), disconnected_rule,
         disconnected_rule), batch=batch_axes("axis"), sparsity=scatter_sparsity(_along_landing),
    array_api=_scatter_along_xp)


def take_along_axis(arr, indices, axis=-1) -> Node:
    """``arr`` read at ``indices`` along ``axis``, matching 1-d slices (``np.take_along_axis``).

    ``indices`` has ``arr``'s number of dimensions and broadcasts against it
    on the other axes; with ``axis=None`` both are flattened first.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.constant([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> sg.take_along_axis(x, [[1], [0]], axis=1).eval()
    array([[30.],
           [60.]])
    """
    (arr,) = as_nodes(arr)
    index = _int_indices("take_along_axis", indices, arr)
    if axis is None:
        if index.ndim != 1:
            raise ShapeError(f"take_along_axis: with axis=None the indices must be 1-d, not {index.shape} "
                             f"(for {arr.describe()})")
        arr, axis = reshape(arr, (-1,)), 0
    axis = _axis("take_along_axis", arr, axis)
    if not isinstance(index, Node):
        _check_bounds("take_along_axis", index, arr, axis)
        index = arr.graph.constant(index)
    return _take_along(arr, index, axis)


# --- functional updates: x.at[index].set / add / multiply / min / max ------------------------------

def _update_infer(name: str):
    flags = ("unique_indices",) if name == "multiply" else ()  # bool parameters besides spec

    def infer(x, v, *arrays, spec, **params):
        if not set(params) <= set(flags):
            raise ShapeError(f"at_{name}: takes no parameter {sorted(set(params) - set(flags))} "
                             f"(for {x.describe()})")
        for flag, value in params.items():
            require_canonical(f"at_{name}", flag, value, check_bool_argument(f"at_{name}", value, x, flag), x)
        def described() -> str:  # the update as the user wrote it; only for a well-formed spec
            shown = [value_text(a.value) if a.value is not None else a.name or f"%{a.id}" for a in arrays]
            return f"at_{name} (x.at[{index_text(spec, shown)}].{name})"
        try:
            indexed, _ = GETITEM.infer(x, *arrays, spec=spec)
        except IndexingError as err:  # a well-formed index that does not fit x
            raise IndexingError(f"{described()}: {str(err).removeprefix('getitem: ')}") from None
        except ShapeError as err:  # a malformed spec (a file, a direct call)
            raise ShapeError(f"at_{name}: {str(err).removeprefix('getitem: ')}") from None
        what = described()
        part = f"the indexed part {type_string(indexed, x.dtype)} of {x.describe()}"
        shape = broadcast_shapes(what, [indexed, v.shape], (part, v))
        if v.ndim > len(indexed) or not compatible(shape, indexed):
            raise ShapeError(f"{what}: values {v.describe()} do not broadcast to {part}")
        if v.dtype.kind == "f" and x.dtype.kind == "f" and v.dtype != x.dtype:
            raise DTypeError(f"at_{name}: cannot mix {x.describe()} and values {v.describe()} in x.at[...].{name}; "
                             "cast one explicitly with sg.cast")
        if not (v.dtype == x.dtype or (v.dtype.kind in "biu" and (
                x.dtype.kind == "f" or np.can_cast(v.dtype, x.dtype, "safe")))):
            raise DTypeError(f"at_{name}: values {v.describe()} would be cast silently into {x.describe()} by "
                             f"x.at[...].{name}; cast them to its dtype with sg.cast first")
        return x.shape, x.dtype
    return infer


def _update_forward(ufunc):
    def forward(x, v, *arrays, spec, unique_indices=False, out=None):
        if out is None:
            out = np.array(x, copy=True)
        elif out is not x:  # compiled code hands a buffer: x's own where x dies here (no copy)
            np.copyto(out, x)
        index = _index_tuple(spec, arrays)
        try:
            if ufunc is None:
                out[index] = v  # repeated indices: the last write lands, as in NumPy
            elif arrays:
                if unique_indices:
                    _require_unique(x.shape, index, spec)
                ufunc.at(out, index, v)  # repeated indices accumulate
            else:
                out[index] = ufunc(out[index], v)
        except IndexError as err:  # as getitem: an index known only now (a feed) out of range
            raise IndexingError(f"x.at[{index_text(spec)}]: {err}") from None
        return out
    return forward


def _require_unique(shape, index, spec) -> None:
    targets = np.arange(math.prod(shape)).reshape(shape)[index]
    if np.unique(targets).size != targets.size:
        raise IndexingError(f"x.at[{index_text(spec)}].multiply(..., unique_indices=True): "
                            "the run-time indices repeat")


def _last_writes_forward(x, *arrays, spec):
    index = _index_tuple(spec, arrays)
    stamps = np.zeros(np.shape(x), np.intp)
    try:
        ids = np.arange(stamps[index].size).reshape(stamps[index].shape)
    except IndexError as err:
        raise IndexingError(f"x.at[{index_text(spec)}]: {err}") from None
    stamps[index] = ids  # the very assignment set makes: the same element lands last
    return stamps[index] == ids


def _last_writes_infer(x, *arrays, spec):
    indexed, _ = GETITEM.infer(x, *arrays, spec=spec)
    return indexed, np.dtype(np.bool_)


def _last_writes_xp(xp):
    """last_writes in the standard: the last write to a place is the largest write number there
    (JAX: a scatter-max, defined for repeated indices where a scatter-set is not); elsewhere, one
    integer array among full slices, through a (writes, places) match table."""
    getitem_kernel = GETITEM.array_api(xp)

    def kernel(x, *arrays, spec):
        index = _index_tuple(spec, arrays)
        shape = getitem_kernel(x, *arrays, spec=spec).shape
        if hasattr(x, "at"):  # JAX
            ids = xp.reshape(xp.arange(math.prod(shape)), shape)
            return xp.zeros(x.shape, dtype=ids.dtype).at[index].max(ids)[index] == ids
        full = index + (() if any(item is Ellipsis for item in index) else (Ellipsis,))
        at = _take_axis(full, arrays)
        if at is None:
            raise BackendError("last_writes: outside NumPy and JAX, only one integer array among full slices runs")
        n = x.shape[at]
        flat = xp.reshape(arrays[0], (-1,))
        flat = xp.where(flat < 0, flat + n, flat)
        writes = xp.arange(flat.shape[0])
        last = xp.max(xp.where(flat[:, None] == xp.arange(n), writes[:, None], -1), axis=0)  # per place
        landed = xp.reshape(xp.take(last, flat, axis=0) == writes, arrays[0].shape)
        return xp.broadcast_to(xp.reshape(landed, (1,) * at + arrays[0].shape + (1,) * (len(shape) - at - arrays[0].ndim)),
                               shape)
    return kernel


# Which values of x.at[index].set(v) land (not overwritten by a later one at the same place):
# a bool mask of the indexed part, shaped like x[index].
LAST_WRITES = primitive("last_writes", _last_writes_forward, _last_writes_infer,
                        vjp=lambda index: disconnected_rule, jvp=lambda index: disconnected_rule, batch=batch_indexed, sparsity=no_dependence,
    array_api=_last_writes_xp)


def _update_batch(node, inputs, batched):
    """Batching of x.at[index]: the batch axis indexed by a full slice in front; the values lined up
    with x[index]'s batched shape (where NumPy moves the advanced-index axes first, behind them)."""
    if any(batched[2:]):  # batched index arrays: one element at a time
        return batch_loop(node, inputs, batched)
    x, v, *arrays = inputs
    x = x if batched[0] else batch_broadcast(x, v)
    v = v if batched[1] else batch_broadcast(v, x)
    spec = node.params.spec
    indexed, _ = GETITEM.infer(node.inputs[0], *node.inputs[2:], spec=spec)
    v = batch_lift(v, len(indexed))
    axis = batch_axis_after_indexing(spec, arrays)
    if axis:
        order = list(range(1, v.ndim))
        v = transpose(v, order[:axis] + [0] + order[axis:])
    return _update(node.op, x, v, arrays, {**node.params.as_dict(), "spec": (BATCH_SLICE,) + spec})


def _update(op: Op, x: Node, v: Node, arrays, params) -> Node:
    return x.graph.apply(op, (x, v, *arrays), dict(params))


def _zero(like: Node) -> Node:
    return like.graph.constant(np.zeros((), like.dtype))


def _ones_like(x: Node) -> Node:
    if None not in x.shape:
        return x.graph.constant(np.ones(x.shape, x.dtype))
    return zeros_like(x) + 1


def _landed(g: Node, x: Node, arrays, spec) -> Node:
    """``g`` (shaped like x[index]) where set's values land, zero where a later one overwrote them."""
    if not arrays:  # basic indexing never repeats a place
        return g
    if None not in x.shape and all(a.op is CONSTANT for a in arrays):
        mask = _last_writes_forward(np.empty(x.shape), *[a.value for a in arrays], spec=spec)
        return g if mask.all() else where(g.graph.constant(mask), g, 0.0)
    return where(x.graph.apply(LAST_WRITES, (x, *arrays), {"spec": spec}), g, 0.0)


def _rule(index: int, for_x, for_v):
    return for_x if index == 0 else for_v if index == 1 else disconnected_rule


def _tangents(dots, out, x):
    x_dot, v_dot = dots[0], dots[1]
    return (zeros_like(x) if x_dot is ZERO else x_dot), v_dot


# set: linear in (x, v) jointly, so its tangent is a set of the tangents.
def _set_jvp_all(dots, out, x, v, *arrays):
    x_dot, v_dot = _tangents(dots, out, x)
    return _update(AT_SET, x_dot, _zero(x) if v_dot is ZERO else v_dot, arrays, out.params)


def _update_sparsity(pairs):
    """``x.at[index].<update>(v)``: x element by element, and v's elements added into the
    result elements the index picks (repeated indices gather several)."""
    def sparsity(out, x, v, *arrays, spec, unique_indices=False):
        if any(a.value is None for a in arrays):  # a run-time index may pick any element
            return [[], DENSE] + [None] * len(arrays), pairs
        size = math.prod(out.shape)
        landing = np.arange(size, dtype=np.int64).reshape(out.shape)[_index_tuple(spec, [a.value for a in arrays])]
        v_index = np.broadcast_to(np.arange(math.prod(v.shape), dtype=np.int64).reshape(v.shape), landing.shape)
        return [[], [(v_index.ravel(), landing.ravel(), size)]] + [None] * len(arrays), pairs
    return sparsity


def _update_xp(kind: str):
    """at_<kind> in the array-API standard: JAX's ``.at[]`` for every index; elsewhere a basic index
    updates a copy (setitem), and one integer array among full slices goes through a (writes,
    places) match table: each place's writes reduced (added, multiplied, min, max; for set, the
    last write, as NumPy lands it), then combined with x where anything was written."""
    def spell(xp):
        combine = {"add": xp.add, "multiply": xp.multiply, "min": xp.minimum, "max": xp.maximum}.get(kind)
        reduce = {"add": xp.sum, "multiply": xp.prod, "min": xp.min, "max": xp.max, "set": xp.sum}[kind]
        last_writes = LAST_WRITES.array_api(xp)
        getitem_kernel = GETITEM.array_api(xp)

        def identity(dtype):
            if kind in ("add", "set"):
                return 0
            if kind == "multiply":
                return 1
            big = float("inf") if xp.isdtype(dtype, "real floating") else xp.iinfo(dtype).max
            return big if kind == "min" else -big

        def kernel(x, v, *arrays, spec, unique_indices=False):
            index = _index_tuple(spec, arrays)
            if hasattr(x, "at"):  # JAX
                return getattr(x.at[index], kind)(v)
            if not arrays:
                out = xp.asarray(x, copy=True)
                out[index] = v if combine is None else combine(out[index], v)
                return out
            full = index + (() if any(item is Ellipsis for item in index) else (Ellipsis,))
            at = _take_axis(full, arrays)
            if at is None:
                raise BackendError(f"at_{kind}: outside NumPy and JAX, only one integer array among full slices runs")
            shape = getitem_kernel(x, *arrays, spec=spec).shape
            values = xp.broadcast_to(xp.astype(v, x.dtype), shape)
            if kind == "set":  # only the write that lands counts
                values = xp.where(last_writes(x, *arrays, spec=spec), values, xp.zeros_like(values))
            n, flat = x.shape[at], xp.reshape(arrays[0], (-1,))
            flat = xp.where(flat < 0, flat + n, flat)
            writes = xp.moveaxis(xp.reshape(values, x.shape[:at] + flat.shape + x.shape[at + 1:]), at, 0)  # (k, rest)
            match = flat[:, None] == xp.arange(n)  # (k, n)
            match = xp.reshape(match, match.shape + (1,) * (writes.ndim - 1))
            table = xp.where(match, writes[:, None, ...], xp.asarray(identity(x.dtype), dtype=x.dtype))
            reduced = xp.moveaxis(reduce(table, axis=0), 0, at)  # per place
            hit = xp.moveaxis(xp.reshape(xp.any(match, axis=0), (n,) + (1,) * (writes.ndim - 1)), 0, at)
            return xp.where(hit, reduced if kind == "set" else combine(x, reduced), x)
        return kernel
    return spell


AT_SET = primitive(
    "at_set", _update_forward(None), _update_infer("set"),
    vjp=lambda index: _rule(
        index, lambda out_bar, out, x, v, *arrays: _update(AT_SET, out_bar, _zero(out_bar), arrays, out.params),
        lambda out_bar, out, x, v, *arrays: _landed(GETITEM(out_bar, *arrays, spec=out.params.spec), x, arrays,
                                                    out.params.spec)),
    jvp=lambda index: _rule(
        index, lambda x_dot, out, x, v, *arrays: _update(AT_SET, x_dot, _zero(x), arrays, out.params),
        lambda v_dot, out, x, v, *arrays: _update(AT_SET, zeros_like(x), v_dot, arrays, out.params)),
    jvp_all=_set_jvp_all, batch=_update_batch, sparsity=gather_sparsity((0, 1)),
    array_api=_update_xp("set"))


def _add_jvp_all(dots, out, x, v, *arrays):
    x_dot, v_dot = _tangents(dots, out, x)
    return x_dot if v_dot is ZERO else _update(AT_ADD, x_dot, v_dot, arrays, out.params)


# out=True: compiled code may hand it the buffer of an x that dies here, which it updates in place
AT_ADD = primitive(
    "at_add", _update_forward(np.add), _update_infer("add"), out=True,
    vjp=lambda index: _rule(
        index, lambda out_bar, out, x, v, *arrays: out_bar,
        lambda out_bar, out, x, v, *arrays: GETITEM(out_bar, *arrays, spec=out.params.spec)),
    jvp=lambda index: _rule(
        index, lambda x_dot, out, x, v, *arrays: x_dot,
        lambda v_dot, out, x, v, *arrays: _update(AT_ADD, zeros_like(x), v_dot, arrays, out.params)),
    jvp_all=_add_jvp_all, batch=_update_batch, sparsity=_update_sparsity(()),
    array_api=_update_xp("add"))


# --- min and max: the derivative shared among the tied candidates --------------------------------

def _ties(out: Node, x: Node, v: Node, arrays) -> tuple[Node, Node, Node]:
    """(x attains the result, each update attains it, how many candidates attain it) as floats."""
    spec = out.params.spec
    one, zero = (x.graph.constant(np.array(c, x.dtype)) for c in (1, 0))
    hit_x = where(equal(x, out), one, zero)
    hit_v = where(equal(v, GETITEM(out, *arrays, spec=spec)), one, zero)
    return hit_x, hit_v, _update(AT_ADD, hit_x, hit_v, arrays, {"spec": spec})


def _extremum_x(g, out, x, v, *arrays):
    """x's share, the same in both directions (``g`` is out_bar or x_dot): an elementwise scaling."""
    hit_x, _, count = _ties(out, x, v, arrays)
    return g * hit_x / count


def _extremum_vjp(index):
    def for_v(out_bar, out, x, v, *arrays):
        _, hit_v, count = _ties(out, x, v, arrays)
        return GETITEM(out_bar / count, *arrays, spec=out.params.spec) * hit_v
    return _rule(index, _extremum_x, for_v)


def _extremum_jvp(index):
    def for_v(v_dot, out, x, v, *arrays):
        _, hit_v, count = _ties(out, x, v, arrays)
        return _update(AT_ADD, zeros_like(x), v_dot * hit_v, arrays, {"spec": out.params.spec}) / count
    return _rule(index, _extremum_x, for_v)


AT_MIN = primitive("at_min", _update_forward(np.minimum), _update_infer("min"),
                   vjp=_extremum_vjp, jvp=_extremum_jvp, batch=_update_batch, sparsity=_update_sparsity(()),
    array_api=_update_xp("min"))
AT_MAX = primitive("at_max", _update_forward(np.maximum), _update_infer("max"),
                   vjp=_extremum_vjp, jvp=_extremum_jvp, batch=_update_batch, sparsity=_update_sparsity(()),
    array_api=_update_xp("max"))


# --- multiply: the product of the other updates at a repeated index ------------------------------

def _others_product(out: Node, x: Node, v: Node, arrays) -> Node | None:
    """For each update (shaped like x[index]): the product of the other updates at its place;
    None when no place repeats."""
    spec = out.params.spec
    if not arrays or out.params.unique_indices:
        return None
    if None in x.shape or not all(a.op is CONSTANT for a in arrays):
        raise GradientError(
            f"at_multiply: the derivative of {out.describe()} with respect to its values needs to know "
            "which indices repeat (each value's derivative holds the product of the others at its place): "
            "use constant index arrays on an array of static shape, or x.at[...].multiply(v, "
            "unique_indices=True) when the run-time indices never repeat (checked when it runs)")
    targets = np.arange(math.prod(x.shape)).reshape(x.shape)[_index_tuple(spec, [a.value for a in arrays])]
    flat = targets.ravel()
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # where each place's group starts
    sizes = np.diff(np.r_[first, flat.size])
    if sizes.size == 0 or sizes.max() == 1:
        return None
    start = np.repeat(first, sizes)
    rank, size = np.arange(flat.size) - start, np.repeat(sizes, sizes)
    # Row r holds, for each update, its (r+1)-th partner in the group, or the pad (a 1) if it has none.
    flat_v = reshape(broadcast_to(v, targets.shape), (-1,))
    padded = concatenate([flat_v, v.graph.constant(np.ones(1, v.dtype))])
    product = None
    for r in range(1, int(sizes.max())):
        partner = np.full(flat.size, flat.size)
        has = r < size
        partner[order[has]] = order[(start + (rank + r) % size)[has]]
        factor = getitem(padded, partner)
        product = factor if product is None else product * factor
    return reshape(product, targets.shape)


def _multiply_x(g, out, x, v, *arrays):
    """x's share, the same in both directions (``g`` is out_bar or x_dot): an elementwise scaling."""
    return g * _update(AT_MULTIPLY, _ones_like(x), v, arrays, out.params)


def _multiply_vjp(index):
    def for_v(out_bar, out, x, v, *arrays):
        g = GETITEM(out_bar * x, *arrays, spec=out.params.spec)
        others = _others_product(out, x, v, arrays)
        return g if others is None else g * others
    return _rule(index, _multiply_x, for_v)


def _multiply_jvp(index):
    def for_v(v_dot, out, x, v, *arrays):
        others = _others_product(out, x, v, arrays)
        terms = v_dot if others is None else v_dot * others
        return x * _update(AT_ADD, zeros_like(x), terms, arrays, {"spec": out.params.spec})
    return _rule(index, _multiply_x, for_v)


AT_MULTIPLY = primitive("at_multiply", _update_forward(np.multiply), _update_infer("multiply"),
                        vjp=_multiply_vjp, jvp=_multiply_jvp, batch=_update_batch, sparsity=_update_sparsity("all"),
    array_api=_update_xp("multiply"))


# --- the user's side: x.at[index] --------------------------------------------------------------------

class IndexUpdate:
    """``x.at[index]``: functional updates of the elements ``x[index]`` (JAX's spelling).

    Each method returns a new node shaped like ``x``; ``x`` is unchanged.
    Repeated indices accumulate in ``add``, ``multiply``, ``min`` and ``max``;
    ``set`` writes the last value, as NumPy's assignment does.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.constant([1.0, 2.0, 3.0])
    >>> x.at[1].set(10.0).eval()
    array([ 1., 10.,  3.])
    >>> x.at[[0, 0, 2]].add([1.0, 1.0, 5.0]).eval()
    array([3., 2., 8.])
    >>> x.at[[0, 0]].multiply([2.0, 3.0]).eval()
    array([6., 2., 3.])
    """

    __slots__ = ("x", "index")

    def __init__(self, x: Node, index) -> None:
        self.x, self.index = x, index

    def _apply(self, op: Op, values, **params) -> Node:
        spec, arrays = _index_spec(self.x, self.index)
        v = as_node(values, self.x.graph, like=self.x)
        return _update(op, self.x, v, arrays, {"spec": spec, **params})

    def get(self) -> Node:
        """``x[index]``."""
        return getitem(self.x, self.index)

    def set(self, values) -> Node:
        """``x`` with ``x[index]`` replaced by ``values`` (the last one where an index repeats)."""
        return self._apply(AT_SET, values)

    def add(self, values) -> Node:
        """``x`` with ``values`` added at ``index`` (every one where an index repeats)."""
        return self._apply(AT_ADD, values)

    def multiply(self, values, unique_indices: bool = False) -> Node:
        """``x`` with ``x[index]`` multiplied by ``values`` (by all of them where an index repeats).

        The derivative with respect to ``values`` needs constant index arrays,
        or ``unique_indices=True`` (a promise, checked when the node runs).
        """
        unique_indices = check_bool_argument("at_multiply", unique_indices, self.x, "unique_indices")
        return self._apply(AT_MULTIPLY, values, unique_indices=unique_indices)

    def min(self, values) -> Node:
        """``x`` with ``x[index]`` lowered to ``values`` where they are smaller."""
        return self._apply(AT_MIN, values)

    def max(self, values) -> Node:
        """``x`` with ``x[index]`` raised to ``values`` where they are larger."""
        return self._apply(AT_MAX, values)


class At:
    """``x.at``: index it to get an :class:`IndexUpdate`."""

    __slots__ = ("x",)

    def __init__(self, x: Node) -> None:
        self.x = x

    def __getitem__(self, index) -> IndexUpdate:
        return IndexUpdate(self.x, index)


def no_item_assignment(x: Node, index, value) -> None:
    """``x[index] = value``: always a TypeError, since nodes are immutable."""
    try:
        text = index_text(_index_spec(x, index)[0])
    except Exception:  # an index getitem would refuse: the advice stands
        text = "index"
    raise TypeError(f"{x.describe()} does not support item assignment: nodes are immutable; "
                    f"write y = x.at[{text}].set(value) for a new node with those elements replaced")


# The ops and functions defined here (not the names imported above).
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_")
           and (isinstance(value, Op) or getattr(value, "__module__", None) == __name__)]
