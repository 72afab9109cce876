"""Text fragments shared by listings, drawings, generated code and error messages.

One formatter per kind of thing: :func:`value_text` for a value written on
a listing or a drawing, :func:`summary` for a value described in an error,
:func:`index_text` for an index, :func:`params_text` for an op's parameters.
(A derivative node's provenance is ``str(origin)``, see
:class:`symgrad.ir.Origin`; a node in a message is ``node.describe()``.)

Examples
--------
>>> import numpy as np
>>> from symgrad.format import summary, value_text
>>> value_text(np.array([0.5, -2.0]))
'[0.5, -2]'
>>> summary(np.array([1.0, np.inf]))
'f64[2] with 0 NaN and 1 Inf in [1, 1]'
"""

from __future__ import annotations

import numpy as np

from .ir import CONSTANT, PLACEHOLDER, Node
from .types import type_string


def _number_text(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if x == 0:
        return "-0" if np.signbit(x) else "0"
    return format(x, ".4g")


def value_text(value) -> str:
    """``-12``, ``0.7311``, ``[2, -3, -3]``, ``[[1, 2], [3, 4]]`` or ``[0.1, 2, 3, ...] (2x5)``."""
    array = np.asarray(value)
    if array.ndim == 0:
        return _number_text(array[()])
    if array.size == 0:  # never walk the rows: a (10**12, 0) array has that many
        return "[]" if array.shape[0] == 0 else f"[] ({'x'.join(map(str, array.shape))})"
    if array.size <= 4:
        def nested(a):
            return "[" + ", ".join(nested(b) if b.ndim else _number_text(b[()]) for b in a) + "]"
        return nested(array)  # at most 4 numbers, so this nests no deeper than the array's dims
    first = ", ".join(_number_text(x) for x in array.flat[:3])
    return f"[{first}, ...] ({'x'.join(map(str, array.shape))})"


def summary(value) -> str:
    """``f64[3] in [-1, 2.5]``, with a count of NaN and Inf values when there are any."""
    array = np.asarray(value)
    text = type_string(array.shape, array.dtype)
    if array.size == 0 or array.dtype.kind not in "biuf":
        return text
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        bad = array.size - int(finite.sum())
        if bad:
            nans = int(np.isnan(array).sum())
            text += f" with {nans} NaN and {bad - nans} Inf"
        array = array[finite]
        if array.size == 0:
            return text
    return text + f" in [{array.min():.4g}, {array.max():.4g}]"


def index_text(spec: tuple, arrays: list[str] | None = None) -> str:
    """A getitem spec written the way it was indexed: ``:, None, 2, a0``.

    ``arrays`` names the index arrays (``a0``, ``a1``, ... by default).
    """
    parts = []
    for item in spec:
        kind = item[0]
        if kind == "slice":
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif kind == "int":
            parts.append(str(item[1]))
        elif kind == "array":
            parts.append(arrays[item[1]] if arrays is not None else f"a{item[1]}")
        else:
            parts.append({"newaxis": "None", "ellipsis": "..."}[kind])
    return ", ".join(parts)


def params_text(node: Node) -> str:
    """``[axis=(0,), keepdims=False]``; empty for ops without parameters."""
    if node.op is PLACEHOLDER or node.op is CONSTANT:
        return ""
    shown = [index_text(v) if k == "spec" else f"{k}={v}" for k, v in node.params]
    return f"[{', '.join(shown)}]" if shown else ""
