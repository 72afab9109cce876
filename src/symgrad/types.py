"""Shapes and dtypes: the vocabulary of every shape/dtype rule.

A shape is a tuple of ints and ``None`` (a dimension known only at run
time). These functions work on plain shapes and dtypes; a ``what`` or
``labels`` argument only names the operands in error messages: a string, or
a node, whose ``describe()`` is called only when a message is written.

Examples
--------
>>> from symgrad.types import broadcast_shapes, type_string
>>> broadcast_shapes("add", [(None, 3), (1, 3)])
(None, 3)
>>> type_string((2, None), "float64")
'f64[2,?]'
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import DTypeError, ShapeError

Shape = tuple  # of int | None


def dtype_tag(dtype) -> str:
    """Short dtype spelling used in listings and messages: f64, f32, i64, bool."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    return f"{dtype.kind}{dtype.itemsize * 8}"


def type_string(shape: Shape, dtype) -> str:
    """``f64[2,?]`` for a float64 array whose second dimension is a run-time one."""
    dims = ",".join("?" if d is None else str(d) for d in shape)
    return f"{dtype_tag(dtype)}[{dims}]"


def is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def label(what) -> str:
    """The text naming an operand in a message: ``what`` itself, or ``what.describe()``."""
    return what if isinstance(what, str) else what.describe()


def fits(actual: tuple, static: Shape) -> bool:
    """Whether a concrete shape matches a static one (a run-time dimension matches any size)."""
    return len(actual) == len(static) and all(s is None or s == a for a, s in zip(actual, static))


def compatible(a: Shape, b: Shape) -> bool:
    """Whether two static shapes can describe the same array (run-time dimensions match anything)."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def check_shape(shape, what: str) -> Shape:
    """``shape`` as a tuple of non-negative ints and ``None``."""
    if isinstance(shape, (int, np.integer)) or shape is None:
        shape = (shape,)
    dims = []
    for d in shape:
        if d is not None and (not isinstance(d, (int, np.integer)) or d < 0):
            raise ShapeError(f"{what}: shape {tuple(shape)} must hold non-negative ints or None")
        dims.append(None if d is None else int(d))
    return tuple(dims)


def check_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a NumPy dtype symgrad can hold: bool, integer or float."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype") from None
    if dtype.kind not in "biuf":
        raise DTypeError(f"{what}: dtype {dtype} is not supported; use a float, integer or bool dtype")
    return dtype


def broadcast_shapes(op_name: str, shapes: Sequence[Shape], labels: Sequence | None = None) -> Shape:
    """NumPy broadcasting on static shapes. A dimension broadcasts only where it
    is statically 1; a run-time dimension (None) is assumed not to broadcast."""
    ndim = max(len(s) for s in shapes)
    result = []
    for axis in range(-ndim, 0):
        dims = [s[axis] for s in shapes if len(s) >= -axis]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            named = [label(x) for x in labels] if labels is not None else [f"shape {tuple(s)}" for s in shapes]
            raise ShapeError(f"{op_name}: shapes do not broadcast: {' and '.join(named)} (axis {axis})")
        if known:
            result.append(known.pop())
        elif None in dims:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def combine_dtypes(op_name: str, dtypes: Sequence[np.dtype], labels: Sequence) -> np.dtype:
    """Floats of one width only; an int or bool operand takes the float's dtype.

    Mixing float32 with float64 is an error rather than a silent upcast.
    """
    floats = {d for d in dtypes if is_float(d)}
    if len(floats) > 1:
        raise DTypeError(
            f"{op_name}: cannot mix {' and '.join(sorted(map(str, floats)))} operands "
            f"({' and '.join(map(label, labels))}); cast one explicitly with sg.cast")
    if floats:
        return floats.pop()
    return np.result_type(*dtypes)


def float_result(op_name: str, dtype: np.dtype, what) -> np.dtype:
    """symgrad's own float functions (logsumexp, log_softmax) keep a float dtype and
    compute integers and bools in float64, as ``np.mean`` and scipy do."""
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if not is_float(dtype):
        raise DTypeError(f"{op_name}: unsupported dtype in {label(what)}")
    return dtype


_INT, _UINT = np.dtype(np.int_), np.dtype(np.uint)  # NumPy's default (platform) integers


def sum_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of ``np.sum`` (and ``np.prod``, ``np.cumsum``, ``np.cumprod``) over ``dtype``:
    bools and narrower integers add up in the platform integer (a sum of bools counts them;
    int8 [100, 100, 100] sums to 300), narrower unsigned ones in the platform unsigned
    integer; floats keep their dtype."""
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < _INT.itemsize):
        return _INT
    if dtype.kind == "u" and dtype.itemsize < _UINT.itemsize:
        return _UINT
    return dtype


def require_float(op_name: str, dtype: np.dtype, what) -> None:
    if not is_float(dtype):
        raise DTypeError(f"{op_name}: {label(what)} must be a float array, not {dtype}")


def normalize_axes(op_name: str, shape: Shape, axis, what) -> tuple:
    """``axis`` as a sorted tuple of non-negative ints (``None`` means every axis)."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise ShapeError(f"{op_name}: axis must be an int, a tuple of ints or None, not {axis!r}")
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ShapeError(f"{op_name}: axis {a} is out of range for {label(what)} ({ndim} dims)")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op_name}: repeated axis in {axis} for {label(what)}")
    return tuple(sorted(result))


def runtime_broadcast_error(node: str, input: str, axis: int, input_size: int, result_size: int) -> ShapeError:
    """The error for a run-time dimension that broadcast (``node`` and ``input`` are descriptions)."""
    return ShapeError(
        f"{node}: {input} has size {input_size} on its run-time axis {axis} but the result has size "
        f"{result_size} there; run-time (None) dimensions must not broadcast (their gradients would not "
        "be summed): declare the dimension as 1 to broadcast it")


def reduced_shape(shape: Shape, axes: tuple, keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)
