"""Shapes and dtypes: the vocabulary of every shape/dtype rule.

A shape is a tuple of ints and ``None`` (a dimension known only at run
time). These functions work on plain shapes and dtypes; a ``what`` or
``labels`` argument only names the operands in error messages: a string, or
a node, whose ``describe()`` is called only when a message is written.

Checking an op's arguments
--------------------------
Ops take arguments as NumPy does, and refuse what NumPy refuses: an axis out
of range is an error (never taken modulo the rank), a float is not an int
(``broadcast_to(v, (2.7, 3))`` is not truncated), a bool is not an int
(``sum(axis=True)``), a string is not a bool (``keepdims="no"``), and a
negative size never makes a node with a negative dimension. Every message
starts with the op's name and names the operand. The helpers:

- :func:`normalize_axes`: ``axis`` of a reduction (int, tuple, list or None)
  as a sorted tuple of distinct non-negative axes;
- :func:`normalize_axis`: one axis (``argmax``, ``concatenate``; ``stack``
  and ``expand_dims`` pass the rank of their result) as a non-negative int;
- :func:`check_int_argument`: a size, depth or count (``minimum`` bounds it);
- :func:`check_shape_argument`: a target shape (``reshape`` may allow one -1);
- :func:`check_bool_argument`: a flag such as ``keepdims``;
- :func:`check_float_argument`: a real number such as leaky_relu's slope;
- :func:`check_choice_argument`: one of a few strings, such as pad's mode;
- :func:`check_dtype`: a dtype given as an argument (``cast``, ``one_hot``);
- :func:`check_shape`: a placeholder's shape (``None`` for run-time dimensions);
- :func:`check_name`: a placeholder's or constant's name;
- :func:`is_int`: whether a value is an int as NumPy takes one (not a bool).

Axes, shapes and sizes that do not fit raise :class:`~symgrad.errors.ShapeError`;
flags, numbers and dtypes of the wrong type raise :class:`~symgrad.errors.DTypeError`.

The same helpers check a node's parameters in the op's shape rule (``infer``),
which :meth:`Graph.apply` runs for every node, whether built by a user
function or read from a file by ``sg.load``: so a file cannot hold
parameters the functions would refuse. A user function normalises (``-1``
becomes the last axis, an int becomes a tuple); the shape rule demands the
normalised form, with :func:`require_canonical`.

Examples
--------
>>> from symgrad.types import broadcast_shapes, type_string
>>> broadcast_shapes("add", [(None, 3), (1, 3)])
(None, 3)
>>> type_string((2, None), "float64")
'f64[2,?]'
>>> normalize_axes("sum", (2, 3), -1, "x")
(1,)
>>> check_shape_argument("broadcast_to", (2.7, 3), "x")
Traceback (most recent call last):
...
symgrad.errors.ShapeError: broadcast_to: the shape (2.7, 3) for x must hold ints, not float 2.7
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from .errors import DTypeError, GraphError, ShapeError

MAX_NDIM = 64  # NumPy's limit: no array has more dimensions

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


def is_int(value) -> bool:
    """A Python or NumPy integer, and not a bool (NumPy refuses bools as sizes and axes)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _kind(value) -> str:
    """``float 2.7``: a value with its type, for messages."""
    return f"{type(value).__name__} {value!r}"


def check_shape(shape, what: str) -> Shape:
    """``shape`` as a tuple of non-negative ints and ``None`` (a placeholder's shape)."""
    if is_int(shape) or shape is None:
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)):
        raise ShapeError(f"{what}: shape {shape!r} must be a tuple of non-negative ints or None")
    dims = []
    for d in shape:
        if d is not None and (not is_int(d) or d < 0):
            raise ShapeError(f"{what}: shape {tuple(shape)} must hold non-negative ints or None")
        dims.append(None if d is None else int(d))
    if len(dims) > MAX_NDIM:
        raise ShapeError(f"{what}: shape of {len(dims)} dimensions; NumPy arrays have at most {MAX_NDIM}")
    return tuple(dims)


def check_name(name, what: str, required: bool = True):
    """A node's name: a non-empty string where ``required`` (a placeholder), else a string or ``None``."""
    if not required and (name is None or isinstance(name, str)):
        return name
    if not isinstance(name, str) or not name:
        needed = "a non-empty string" if required else "a string or None"
        raise GraphError(f"{what}: the name must be {needed}, not {_kind(name)}")
    return name


def check_int_argument(op_name: str, value, what, minimum: int | None = None, argument: str = "size") -> int:
    """``value`` as an int: a Python or NumPy integer, not a bool or float, at least ``minimum``.

    >>> check_int_argument("one_hot", True, "labels", 0, "depth")
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: one_hot: depth must be an int, not bool True (for labels)
    """
    if not is_int(value):
        raise ShapeError(f"{op_name}: {argument} must be an int, not {_kind(value)} (for {label(what)})")
    if minimum is not None and value < minimum:
        raise ShapeError(f"{op_name}: {argument} {value} must be at least {minimum} (for {label(what)})")
    return int(value)


def check_shape_argument(op_name: str, shape, what, inferred: bool = False) -> tuple:
    """A target shape (an int, or a tuple or list of ints) as a tuple of ints.

    With ``inferred`` (reshape), one entry may be -1 or ``None`` (returned as -1):
    the size that makes the element count match. Otherwise every entry must be
    a non-negative int.

    >>> check_shape_argument("reshape", [2, None], "x", inferred=True)
    (2, -1)
    """
    if is_int(shape):
        shape = (shape,)
    if isinstance(shape, np.ndarray) and shape.ndim == 1:  # NumPy takes an array of ints as a shape
        shape = tuple(shape.tolist())
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)):
        raise ShapeError(f"{op_name}: the shape {shape!r} for {label(what)} must be an int or a tuple of ints")
    dims = []
    for d in shape:
        if d is None and inferred:
            d = -1
        if not is_int(d):
            raise ShapeError(f"{op_name}: the shape {tuple(shape)} for {label(what)} must hold ints, not {_kind(d)}")
        if d < (-1 if inferred else 0):
            allowed = "non-negative, or -1 (or None) for one inferred dimension" if inferred else "non-negative"
            raise ShapeError(f"{op_name}: the shape {tuple(shape)} for {label(what)}: dimensions must be {allowed}")
        dims.append(int(d))
    if dims.count(-1) > 1:
        raise ShapeError(f"{op_name}: at most one dimension of {tuple(shape)} may be -1 or None "
                         f"(for {label(what)})")
    if len(dims) > MAX_NDIM:
        raise ShapeError(f"{op_name}: the shape for {label(what)} has {len(dims)} dimensions; NumPy arrays "
                         f"have at most {MAX_NDIM}")
    return tuple(dims)


def check_bool_argument(op_name: str, value, what, argument: str = "keepdims") -> bool:
    """A flag: ``True`` or ``False`` (a NumPy bool too), never a string, int or None.

    >>> check_bool_argument("sum", "no", "x")
    Traceback (most recent call last):
    ...
    symgrad.errors.DTypeError: sum: keepdims must be True or False, not str 'no' (for x)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise DTypeError(f"{op_name}: {argument} must be True or False, not {_kind(value)} (for {label(what)})")
    return bool(value)


def check_float_argument(op_name: str, value, what, argument: str) -> float:
    """A real number given as an argument (an int or float; not a bool, string, complex or node)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DTypeError(f"{op_name}: {argument} must be a real number, not {type(value).__name__} "
                         f"{getattr(value, 'describe', lambda: repr(value))()} (for {label(what)})")
    return float(value)


def check_choice_argument(op_name: str, value, choices: tuple, what, argument: str):
    """One of ``choices`` (strings, or None where the op has a default): a mode or a kind.

    >>> check_choice_argument("pad", "wrap", ("constant", "edge"), "x", "mode")
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: pad: mode must be one of 'constant', 'edge', not str 'wrap' (for x)
    """
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ShapeError(f"{op_name}: {argument} must be one of {', '.join(map(repr, choices))}, "
                         f"not {_kind(value)} (for {label(what)})")
    return value


def require_canonical(op_name: str, argument: str, value, canonical, what) -> None:
    """A shape rule's check that a parameter is already in the form the user function gives it.

    ``value`` must equal ``canonical`` with the same types throughout: ``(True,)``
    equals ``(1,)`` in Python, but a file or a direct ``Op`` call holding it is refused.
    """
    if not _same(value, canonical):
        raise ShapeError(f"{op_name}: parameter {argument}={value!r} of {label(what)} is not in normal form "
                         f"(expected {canonical!r})")


def _same(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    return type(a) is type(b) and (a == b or a != a and b != b)  # nan is itself


def check_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a NumPy dtype symgrad can hold: bool, integer or float."""
    try:
        with warnings.catch_warnings():  # NumPy's deprecated aliases ('a') are refused below anyway
            warnings.simplefilter("ignore", DeprecationWarning)
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
    """``axis`` as a sorted tuple of distinct non-negative ints (``None`` means every axis).

    An int, or a tuple or list of ints, each in ``[-ndim, ndim)``; bools,
    floats and repeated axes are errors, as in NumPy.
    """
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    if is_int(axis):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise ShapeError(f"{op_name}: axis must be an int, a tuple of ints or None, not {_kind(axis)} "
                         f"(for {label(what)})")
    result = [normalize_axis(op_name, ndim, a, what) for a in axes]
    if len(set(result)) != len(result):
        raise ShapeError(f"{op_name}: repeated axis in {axis} for {label(what)}")
    return tuple(sorted(result))


def normalize_axis(op_name: str, ndim: int, axis, what) -> int:
    """One axis of an array of ``ndim`` dimensions, in ``[-ndim, ndim)``, as a non-negative int.

    >>> normalize_axis("argmax", 2, -1, "x")
    1
    >>> normalize_axis("transpose", 2, 2, "x")
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: transpose: axis 2 is out of range for x (2 dims)
    """
    if not is_int(axis):
        raise ShapeError(f"{op_name}: axis must be an int, not {_kind(axis)} (for {label(what)})")
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op_name}: axis {axis} is out of range for {label(what)} ({ndim} dims)")
    return int(axis) % ndim


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
