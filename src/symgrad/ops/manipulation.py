"""NumPy's array-manipulation routines, under NumPy's names and signatures:
squeeze, moveaxis, swapaxes, flip, roll, repeat, tile, pad, split, array_split,
hstack, vstack, column_stack, atleast_1d/2d/3d, ravel.

Most are compositions of :mod:`.shape`'s ops, so their derivatives come from
those (flip is a getitem with step -1, moveaxis a transpose, hstack a
concatenate, repeat a broadcast and reshape). Two are primitives: ``roll``
(a rotation of any run-time size; its adjoint rolls back) and ``pad`` with
its adjoint ``pad_adjoint``, which folds the border back onto the elements
it copied (constant: cropped; edge: summed onto the first and last; reflect:
added onto the mirrored elements). Both are linear, so each is the other's
reverse rule and its own forward rule.

A run-time (None) dimension is never squeezed (it is assumed not to be 1, as
in broadcasting); split points and repeat counts along an axis need its size
statically unless they are explicit indices.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import Node, Op, as_nodes
from ..types import (check_choice_argument, check_float_argument, check_int_argument, is_int, normalize_axes,
                     normalize_axis, require_canonical)
from ._define import gather_sparsity, primitive, scatter_sparsity
from .shape import broadcast_to, concatenate, getitem, reshape, transpose


def _axis(op_name: str, x: Node, axis, ndim: int | None = None) -> int:
    """``axis`` as a non-negative int for an array of ``ndim`` dims (``x``'s by default)."""
    return normalize_axis(op_name, x.ndim if ndim is None else ndim, axis, x)


def _along(axis: int, item) -> tuple:
    """The index putting ``item`` on ``axis`` and taking everything on the axes before it."""
    return (slice(None),) * axis + (item,)


# --- squeeze, moveaxis, swapaxes, ravel, flip --------------------------------------------------

def squeeze(x, axis=None) -> Node:
    """Remove axes of length 1 (all of them when ``axis`` is None), as ``np.squeeze``.

    A run-time (None) dimension is never squeezed by ``axis=None``, and naming
    one is an error: it is assumed not to be 1.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.squeeze(sg.matrix("a", 1, 3)).type
    'f64[3]'
    """
    (x,) = as_nodes(x)
    if axis is None:
        axes = tuple(a for a, d in enumerate(x.shape) if d == 1)
    else:
        axes = normalize_axes("squeeze", x.shape, axis, x)
        for a in axes:
            if x.shape[a] != 1:
                size = "known only at run time" if x.shape[a] is None else x.shape[a]
                raise ShapeError(f"squeeze: axis {a} of {x.describe()} has size {size}; "
                                 "only axes of size 1 can be squeezed")
    if not axes:
        return x
    kept = tuple(d for a, d in enumerate(x.shape) if a not in axes)
    if kept.count(None) <= 1:  # a reshape (a view both ways) when at most one size is unknown
        return reshape(x, tuple(-1 if d is None else d for d in kept))
    return getitem(x, tuple(0 if a in axes else slice(None) for a in range(x.ndim)))


def moveaxis(x, source, destination) -> Node:
    """Move axes to new positions, the others keeping their order (``np.moveaxis``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.moveaxis(sg.placeholder("t", (2, 3, 4)), 0, -1).type
    'f64[3,4,2]'
    """
    (x,) = as_nodes(x)
    source = list(source) if isinstance(source, (tuple, list)) else [source]
    destination = list(destination) if isinstance(destination, (tuple, list)) else [destination]
    if len(source) != len(destination):
        raise ShapeError(f"moveaxis: source {source} and destination {destination} of {x.describe()} "
                         "must have the same number of axes")
    source = [_axis("moveaxis", x, a) for a in source]
    destination = [_axis("moveaxis", x, a) for a in destination]
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise ShapeError(f"moveaxis: repeated axis in source {source} or destination {destination} "
                         f"for {x.describe()}")
    order = [a for a in range(x.ndim) if a not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(x, tuple(order))


def swapaxes(x, axis1: int, axis2: int) -> Node:
    """Interchange two axes (``np.swapaxes``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.swapaxes(sg.placeholder("t", (2, 3, 4)), 0, 2).type
    'f64[4,3,2]'
    """
    (x,) = as_nodes(x)
    a, b = _axis("swapaxes", x, axis1), _axis("swapaxes", x, axis2)
    order = list(range(x.ndim))
    order[a], order[b] = b, a
    return transpose(x, tuple(order))


def ravel(x) -> Node:
    """The elements in one axis, in C order (``np.ravel``; also ``x.ravel()`` and ``x.flatten()``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.ravel(sg.constant([[1.0, 2.0], [3.0, 4.0]])).eval()
    array([1., 2., 3., 4.])
    """
    (x,) = as_nodes(x)
    return reshape(x, (-1,))


def flip(x, axis=None) -> Node:
    """Reverse the order of elements along ``axis`` (every axis when None), as ``np.flip``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.flip(sg.constant([[1.0, 2.0], [3.0, 4.0]]), 1).eval()
    array([[2., 1.],
           [4., 3.]])
    """
    (x,) = as_nodes(x)
    axes = normalize_axes("flip", x.shape, axis, x)
    if not axes:
        return x
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim)))


# --- roll ----------------------------------------------------------------------------------------

def _roll_forward(x, shift, axis):
    return np.roll(x, shift if axis is not None else shift[0], axis)


def _roll(x: Node, shift: tuple, axis) -> Node:
    return x.graph.apply(ROLL, (x,), {"shift": shift, "axis": axis})


def _roll_spelling(args, params):
    shift, axis = params["shift"], params["axis"]
    return f"np.roll({args[0]}, {shift if axis is not None else shift[0]!r}, {axis!r})"


def _roll_infer(x, shift, axis):
    count = 1 if axis is None else len(axis) if isinstance(axis, tuple) else None  # shifts expected
    if not isinstance(shift, tuple) or len(shift) != count:
        raise ShapeError(f"roll: parameters shift={shift!r} and axis={axis!r} of {x.describe()} must be a tuple "
                         "of shifts and a tuple of as many axes, or one shift and axis None")
    ints = tuple(check_int_argument("roll", s, x, None, "shift") for s in shift)
    require_canonical("roll", "shift", shift, ints, x)
    if axis is not None:
        require_canonical("roll", "axis", axis, normalize_axes("roll", x.shape, axis, x), x)
    return x.shape, x.dtype


def _roll_batch(node, inputs, batched):
    (x,) = inputs
    shift, axis = node.params.shift, node.params.axis
    if axis is not None:
        return _roll(x, shift, tuple(a + 1 for a in axis))
    flat = reshape(x, (-1, node.size) if node.size is not None else (x.shape[0], -1))
    return reshape(_roll(flat, shift, (1,)), x.shape[:1] + node.shape)


ROLL = primitive("roll", _roll_forward, _roll_infer,
                 vjp=(lambda out_bar, out, x: _roll(out_bar, tuple(-s for s in out.params.shift),
                                                    out.params.axis),),
                 jvp=(lambda x_dot, out, x: _roll(x_dot, out.params.shift, out.params.axis),),
                 numpy=_roll_spelling, view=False, batch=_roll_batch, sparsity=gather_sparsity(),
    array_api=lambda xp: lambda x, shift, axis: xp.roll(x, shift=shift if axis is not None else shift[0], axis=axis))


def roll(x, shift, axis=None) -> Node:
    """Rotate elements along ``axis`` by ``shift`` (``np.roll``); with ``axis=None``, the
    flattened array is rolled and the shape restored. ``shift`` and ``axis`` may be tuples.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.roll(sg.constant([1.0, 2.0, 3.0, 4.0]), 1).eval()
    array([4., 1., 2., 3.])
    """
    (x,) = as_nodes(x)
    if axis is None:
        if isinstance(shift, (tuple, list)):
            raise ShapeError(f"roll: with axis=None the shift must be one int, not {shift!r} (for {x.describe()})")
        shift = check_int_argument("roll", shift, x, None, "shift")
        size = x.size
        shift = shift % size if size else shift
        return x if shift == 0 and size is not None else _roll(x, (shift,), None)
    shifts = tuple(shift) if isinstance(shift, (tuple, list)) else (shift,)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    shifts = tuple(check_int_argument("roll", s, x, None, "shift") for s in shifts)
    if len(shifts) == 1:
        shifts *= len(axes)
    elif len(axes) == 1:
        axes *= len(shifts)
    if len(shifts) != len(axes):
        raise ShapeError(f"roll: {len(shifts)} shifts for {len(axes)} axes of {x.describe()}")
    total: dict[int, int] = {}  # NumPy adds the shifts of a repeated axis
    for s, a in zip(shifts, axes):
        a = _axis("roll", x, a)
        total[a] = total.get(a, 0) + int(s)
    total = {a: (s % x.shape[a] if x.shape[a] else s) for a, s in total.items()}
    total = {a: s for a, s in sorted(total.items()) if s != 0}
    if not total:
        return x
    return _roll(x, tuple(total.values()), tuple(total))


# --- repeat and tile -------------------------------------------------------------------------------

def repeat(x, repeats, axis=None) -> Node:
    """Repeat each element ``repeats`` times along ``axis`` (``np.repeat``; flattened when None).

    ``repeats`` is an int or one count per element along the axis. An int
    repeat of a static array is a broadcast and a reshape (its gradient a
    sum); counts per element are a gather. The axis needs a static length.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.repeat(sg.constant([1.0, 2.0]), 2).eval()
    array([1., 1., 2., 2.])
    >>> sg.repeat(sg.constant([[1.0, 2.0]]), [1, 2], axis=1).eval()
    array([[1., 2., 2.]])
    """
    (x,) = as_nodes(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis("repeat", x, axis)
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise ShapeError(f"repeat: repeats must be an int or a 1-d sequence of ints, not {repeats!r} "
                         f"(for {x.describe()})")
    if np.any(counts < 0):
        raise ShapeError(f"repeat: repeats {repeats!r} must not be negative (for {x.describe()})")
    n = x.shape[axis]
    if n is None:
        raise ShapeError(f"repeat: axis {axis} of {x.describe()} is known only at run time; "
                         "repeat needs its length")
    if counts.ndim == 1 and counts.size not in (1, n):
        raise ShapeError(f"repeat: {counts.size} repeat counts for axis {axis} of {x.describe()} "
                         f"(length {n}); give one count or {n}")
    if counts.ndim == 1 and counts.size == 1:
        counts = counts[0]
    if counts.ndim == 0:
        r = int(counts)
        if r == 1:
            return x
        if None not in x.shape:
            wide = list(x.shape)
            wide.insert(axis + 1, 1)
            spread = reshape(x, tuple(wide))
            wide[axis + 1] = r
            spread = broadcast_to(spread, tuple(wide))
            merged = list(x.shape)
            merged[axis] = n * r
            return reshape(spread, tuple(merged))
    index = np.repeat(np.arange(n), counts)
    return getitem(x, _along(axis, index))


def tile(x, reps) -> Node:
    """Repeat the whole array ``reps`` times along each axis (``np.tile``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.tile(sg.constant([1.0, 2.0]), (2, 2)).eval()
    array([[1., 2., 1., 2.],
           [1., 2., 1., 2.]])
    """
    (x,) = as_nodes(x)
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    if not all(is_int(r) and r >= 0 for r in reps):  # not bools: NumPy's tile would take True as 1
        raise ShapeError(f"tile: reps {reps!r} must be non-negative ints (for {x.describe()})")
    reps = (1,) * (x.ndim - len(reps)) + tuple(int(r) for r in reps)
    if len(reps) > x.ndim:  # NumPy prepends axes of length 1
        x = getitem(x, (None,) * (len(reps) - x.ndim))
    if all(r == 1 for r in reps):
        return x
    if None in x.shape:  # copies joined along each axis: concatenate cuts run-time sizes at run time
        for a, r in enumerate(reps):
            if r != 1:
                x = concatenate([x] * r, a) if r else getitem(x, _along(a, slice(0, 0)))
        return x
    # (1, n0, 1, n1, ...) broadcast to (r0, n0, r1, n1, ...) and merged pairwise
    spread = reshape(x, tuple(d for n in x.shape for d in (1, n)))
    wide = tuple(d for r, n in zip(reps, x.shape) for d in (r, n))
    return reshape(broadcast_to(spread, wide), tuple(r * n for r, n in zip(reps, x.shape)))


# --- pad ---------------------------------------------------------------------------------------------
# pad_width is ((before, after), ...) per axis. The adjoint folds each axis's border back:
# the output position j of an axis of length n came from element np.pad(arange(n), ...)[j].

PAD_MODES = ("constant", "edge", "reflect")


def _pad_forward(x, pad_width, mode, constant_values):
    if mode == "constant":
        return np.pad(x, pad_width, mode, constant_values=np.asarray(constant_values, x.dtype))
    return np.pad(x, pad_width, mode)


def _pad_adjoint_forward(d, pad_width, mode):
    for axis, (before, after) in enumerate(pad_width):
        if before == after == 0:
            continue
        n = d.shape[axis] - before - after
        moved = np.moveaxis(d, axis, 0)
        folded = moved[before:before + n].copy()
        if mode != "constant":
            source = np.pad(np.arange(n), (before, after), mode)
            for j in [*range(before), *range(before + n, before + n + after)]:
                folded[source[j]] += moved[j]
        d = np.moveaxis(folded, 0, axis)
    return d


def _pairs(op_name: str, x: Node, value, what: str, check) -> tuple:
    """A shape rule's ``value``: one (before, after) pair per axis of ``x``, each number ``check``ed."""
    if not (isinstance(value, tuple) and len(value) == x.ndim
            and all(isinstance(pair, tuple) and len(pair) == 2 for pair in value)):
        raise ShapeError(f"{op_name}: parameter {what}={value!r} must hold one (before, after) pair for each "
                         f"axis of {x.describe()}")
    return tuple(tuple(check(v) for v in pair) for pair in value)


def _check_widths(op_name: str, x: Node, pad_width, mode, inner: Callable) -> tuple:
    """pad_width and mode in normal form; the lengths of the unpadded axes, ``inner(n, before, after)``
    for each axis of length n."""
    widths = _pairs(op_name, x, pad_width, "pad_width",
                    lambda w: check_int_argument(op_name, w, x, 0, "pad width"))
    require_canonical(op_name, "pad_width", pad_width, widths, x)
    check_choice_argument(op_name, mode, PAD_MODES, x, "mode")
    lengths = tuple(None if n is None else inner(n, b, a) for (b, a), n in zip(widths, x.shape))
    if any(n is not None and n < 0 for n in lengths):
        raise ShapeError(f"{op_name}: {x.describe()} is shorter than its pad widths {pad_width}")
    for (before, after), n in zip(widths, lengths):
        if n == 0 and (before or after) and mode != "constant":  # nothing to copy or mirror
            raise ShapeError(f"{op_name}: cannot pad an empty axis of {x.describe()} in mode {mode!r}")
    return lengths


def _check_constants(x: Node, values) -> None:
    """The fill values fit x's dtype: pad does not round 2.5 into an integer array."""
    if x.dtype.kind in "biu" and any(v != np.asarray(v).astype(x.dtype) for pair in values for v in pair):
        raise DTypeError(f"pad: constant_values {values!r} do not fit {x.describe()}")


def _pad_infer(x, pad_width, mode, constant_values):
    _check_widths("pad", x, pad_width, mode, lambda n, before, after: n)
    values = _pairs("pad", x, constant_values, "constant_values",
                    lambda v: check_float_argument("pad", v, x, "a constant value"))
    require_canonical("pad", "constant_values", constant_values, values, x)
    if mode == "constant":
        _check_constants(x, values)
    return tuple(None if n is None else n + b + a for (b, a), n in zip(pad_width, x.shape)), x.dtype


def _pad_adjoint_infer(d, pad_width, mode):
    return _check_widths("pad_adjoint", d, pad_width, mode, lambda n, before, after: n - before - after), d.dtype


def _pad(x: Node, pad_width: tuple, mode: str, constant_values: tuple) -> Node:
    return x.graph.apply(PAD, (x,), {"pad_width": pad_width, "mode": mode, "constant_values": constant_values})


def _zero_pad(d: Node, out: Node) -> Node:
    """pad with ``out``'s widths and mode but zeros for constants: the linear part of pad."""
    width = out.params.pad_width
    return _pad(d, width, out.params.mode, ((0.0, 0.0),) * len(width))


def _pad_spelling(args, params):
    extra = f", constant_values={params['constant_values']!r}" if params["mode"] == "constant" else ""
    return f"np.pad({args[0]}, {params['pad_width']!r}, {params['mode']!r}{extra})"


def _unpad(d: Node, out: Node) -> Node:
    return d.graph.apply(PAD_ADJOINT, (d,), {"pad_width": out.params.pad_width, "mode": out.params.mode})


def _pad_batch(node, inputs, batched):
    params = node.params.as_dict()
    params["pad_width"] = ((0, 0),) + params["pad_width"]
    if params.get("constant_values"):
        params["constant_values"] = ((0.0, 0.0),) + params["constant_values"]
    return node.graph.apply(node.op, inputs, params)
def _pad_landing(codes, d, pad_width, mode):
    """Where each element of d lands (pad_adjoint's sparsity fact): pad run on the result's codes."""
    return _pad_forward(codes, pad_width, mode, 0)


def _pad_sources(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Where each element of an axis of length ``n`` padded in ``mode`` is read from (not constant)."""
    return np.pad(np.arange(n), (before, after), mode)


def _pad_xp(xp):
    """pad in the standard: the constant mode as concatenation with filled blocks, the others as
    xp.take of the positions each padded element reads (found from the axis lengths)."""
    def kernel(x, pad_width, mode, constant_values):
        for axis, (before, after) in enumerate(pad_width):
            if mode != "constant":
                x = xp.take(x, xp.asarray(_pad_sources(x.shape[axis], before, after, mode)), axis=axis)
                continue
            shape = list(x.shape)
            fills = constant_values[axis] if isinstance(constant_values, tuple) else (constant_values,) * 2
            parts = []
            for count, value in zip((before, after), fills):
                shape[axis] = count
                parts.append(xp.full(tuple(shape), value, dtype=x.dtype))
            x = xp.concat([parts[0], x, parts[1]], axis=axis)
        return x
    return kernel


PAD = primitive("pad", _pad_forward, _pad_infer,
                vjp=(lambda out_bar, out, x: _unpad(out_bar, out),),
                jvp=(lambda x_dot, out, x: _zero_pad(x_dot, out),),
                numpy=_pad_spelling, batch=_pad_batch, sparsity=gather_sparsity(constant_values=0),
    array_api=_pad_xp)
def _pad_adjoint_xp(xp):
    """pad_adjoint in the standard: the inner block sliced out (constant mode), or each padded
    element added back where it was read from, as a one-hot contraction (the other modes)."""
    def kernel(d, pad_width, mode):
        for axis, (before, after) in enumerate(pad_width):
            n = d.shape[axis] - before - after
            if mode == "constant":
                d = d[(slice(None),) * axis + (slice(before, before + n), Ellipsis)]
                continue
            source = xp.asarray(_pad_sources(n, before, after, mode))
            picks = xp.astype(source[:, None] == xp.arange(n), d.dtype)  # (padded length, n)
            moved = xp.tensordot(picks, d, axes=([0], [axis]))
            d = xp.moveaxis(moved, 0, axis)
        return d
    return kernel


PAD_ADJOINT = primitive("pad_adjoint", _pad_adjoint_forward, _pad_adjoint_infer,
                        vjp=(lambda out_bar, out, d: _zero_pad(out_bar, out),),
                        jvp=(lambda d_dot, out, d: _unpad(d_dot, out),), batch=_pad_batch, sparsity=scatter_sparsity(_pad_landing),
    array_api=_pad_adjoint_xp)


def _per_axis(op_name: str, x: Node, value, what: str, kind) -> tuple:
    """A pad_width-like argument broadcast to ((before, after),) * ndim, as NumPy does."""
    try:
        array = np.broadcast_to(np.asarray(value, dtype=object), (x.ndim, 2))
    except ValueError:
        raise ShapeError(f"{op_name}: {what} {value!r} does not fit the {x.ndim} axes of {x.describe()}; "
                         "give a number, a (before, after) pair or one pair per axis") from None
    return tuple((kind(b), kind(a)) for b, a in array.tolist())


def pad(x, pad_width, mode: str = "constant", constant_values=0) -> Node:
    """Pad an array (``np.pad``) in mode ``"constant"``, ``"edge"`` or ``"reflect"``.

    ``pad_width`` is an int, a (before, after) pair, or one pair per axis;
    ``constant_values`` likewise (constant mode only; held constant).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.pad(sg.constant([1.0, 2.0, 3.0]), (2, 1), mode="reflect").eval()
    array([3., 2., 1., 2., 3., 2.])
    """
    (x,) = as_nodes(x)
    check_choice_argument("pad", mode, PAD_MODES, x, "mode")
    widths = _per_axis("pad", x, pad_width, "pad_width", lambda w: check_int_argument("pad", w, x, 0, "pad width"))
    values = ((0.0, 0.0),) * x.ndim
    if mode == "constant":
        values = _per_axis("pad", x, constant_values, "constant_values",
                           lambda v: check_float_argument("pad", v, x, "a constant value"))
        _check_constants(x, values)
    if all(w == (0, 0) for w in widths):
        return x
    return _pad(x, widths, mode, values)


# --- split and array_split --------------------------------------------------------------------------

def _pieces(op_name: str, x: Node, indices_or_sections, axis: int, even: bool) -> list[Node]:
    axis = _axis(op_name, x, axis)
    n = x.shape[axis]
    if not isinstance(indices_or_sections, (tuple, list, np.ndarray)):
        sections = check_int_argument(op_name, indices_or_sections, x, None, "the number of sections")
        if sections <= 0:
            raise ShapeError(f"{op_name}: the number of sections must be positive, not {sections} "
                             f"(for {x.describe()})")
        if n is None:
            raise ShapeError(f"{op_name}: axis {axis} of {x.describe()} is known only at run time; "
                             "give split indices instead of a number of sections")
        if even and n % sections:
            raise ShapeError(f"{op_name}: axis {axis} of {x.describe()} (length {n}) does not split into "
                             f"{sections} equal sections; use array_split for unequal ones")
        size, extra = divmod(n, sections)
        sizes = [size + 1] * extra + [size] * (sections - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        indices = list(indices_or_sections)
        if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in indices):
            raise ShapeError(f"{op_name}: split indices must be ints, not {indices_or_sections!r} "
                             f"(for {x.describe()})")
        bounds = [0, *map(int, indices), None]
    return [getitem(x, _along(axis, slice(start, stop))) for start, stop in zip(bounds[:-1], bounds[1:])]


def split(x, indices_or_sections, axis: int = 0) -> list[Node]:
    """Split into equal sections, or at the given indices, along ``axis`` (``np.split``): a list of nodes.

    Each piece is a slice of ``x``, so each piece's cotangent is scattered back
    into zeros shaped like ``x``: a gradient through k pieces costs k times the
    size of ``x`` (concatenate the pieces' uses where k is large).

    Examples
    --------
    >>> import symgrad as sg
    >>> [p.type for p in sg.split(sg.vector("v", 6), [1, 4])]
    ['f64[1]', 'f64[3]', 'f64[2]']
    """
    (x,) = as_nodes(x)
    return _pieces("split", x, indices_or_sections, axis, even=True)


def array_split(x, indices_or_sections, axis: int = 0) -> list[Node]:
    """Split like :func:`split`, sections allowed to differ in length by one (``np.array_split``).

    Examples
    --------
    >>> import symgrad as sg
    >>> [p.type for p in sg.array_split(sg.vector("v", 5), 3)]
    ['f64[2]', 'f64[2]', 'f64[1]']
    """
    (x,) = as_nodes(x)
    return _pieces("array_split", x, indices_or_sections, axis, even=False)


# --- atleast_nd and the stacks -----------------------------------------------------------------------

def _at_least(x: Node, ndim: int) -> Node:
    if x.ndim >= ndim:
        return x
    if ndim == 3 and x.ndim in (1, 2):  # NumPy's placement: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)
        return getitem(x, ((None,) if x.ndim == 1 else ()) + (Ellipsis, None))
    return getitem(x, (None,) * (ndim - x.ndim))


def _at_least_all(arys, ndim: int):
    nodes = [_at_least(x, ndim) for x in as_nodes(*arys)]
    return nodes[0] if len(nodes) == 1 else nodes


def atleast_1d(*arys):
    """Each input with at least one axis (``np.atleast_1d``): a node, or a list for several.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.atleast_1d(sg.scalar("s")).type
    'f64[1]'
    """
    return _at_least_all(arys, 1)


def atleast_2d(*arys):
    """Each input with at least two axes, new ones in front (``np.atleast_2d``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.atleast_2d(sg.vector("v", 3)).type
    'f64[1,3]'
    """
    return _at_least_all(arys, 2)


def atleast_3d(*arys):
    """Each input with at least three axes, placed as NumPy does: (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1) (``np.atleast_3d``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.atleast_3d(sg.vector("v", 3)).type
    'f64[1,3,1]'
    """
    return _at_least_all(arys, 3)


def _sequence(op_name: str, tup) -> tuple:
    if isinstance(tup, Node) or not isinstance(tup, (list, tuple)):
        raise ShapeError(f"{op_name}: takes a list or tuple of arrays, as NumPy does")
    if not tup:
        raise ShapeError(f"{op_name}: needs at least one array")
    return as_nodes(*tup)


def hstack(tup) -> Node:
    """Join along the second axis (the first for 1-d arrays), as ``np.hstack``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.hstack([sg.constant([1.0]), sg.constant([2.0, 3.0])]).eval()
    array([1., 2., 3.])
    """
    xs = [_at_least(x, 1) for x in _sequence("hstack", tup)]
    return concatenate(xs, 0 if xs[0].ndim == 1 else 1)


def vstack(tup) -> Node:
    """Join along the first axis, 1-d arrays taken as rows (``np.vstack``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.vstack([sg.vector("a", 3), sg.vector("b", 3)]).type
    'f64[2,3]'
    """
    return concatenate([_at_least(x, 2) for x in _sequence("vstack", tup)], 0)


def column_stack(tup) -> Node:
    """Join 1-d arrays as columns (2-d arrays as they are) into a 2-d array (``np.column_stack``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.column_stack([sg.vector("a", 3), sg.vector("b", 3)]).type
    'f64[3,2]'
    """
    columns = []
    for x in _sequence("column_stack", tup):
        if x.ndim < 2:
            x = getitem(_at_least(x, 1), (slice(None), None))
        columns.append(x)
    return concatenate(columns, 1)


# The ops and functions defined here (not the names imported above).
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_")
           and (isinstance(value, Op) or getattr(value, "__module__", None) == __name__)]
