"""How each step is written in generated source, read from its op's facts.

Every op's line calls the very function the interpreter runs (its
``forward``): a NumPy function is spelled ``np.<name>``, anything else is
bound into the generated module's namespace as ``f_<op>``. An op may give
a plainer spelling that NumPy computes identically (``x.T``, ``x[0, ::2]``,
``np.maximum(x, 0)`` for relu) as its ``numpy`` fact. Ops whose spelling
takes ``out=`` let the buffer planner reuse dead arrays.

``math_lines`` is the other dialect: scalar float64 graphs written with
Python floats and the ``math`` module (each op's ``math`` fact), for call
latency.
"""

from __future__ import annotations

import numpy as np

from .steps import Step


def literal(value) -> str | None:
    """Python source that evaluates to ``value``, or None when there is none."""
    if isinstance(value, float) and not np.isfinite(value):
        return None  # repr gives `inf` / `nan`, which are not Python names
    if isinstance(value, (bool, int, float, str, type(None))):
        return repr(value)
    if isinstance(value, np.dtype):
        return f"np.dtype({value.name!r})"
    if isinstance(value, tuple):
        parts = [literal(v) for v in value]
        if None in parts and any(v is not None for v, p in zip(value, parts) if p is None):
            return None
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return None


def numpy_spelling(function) -> str | None:
    """``np.add`` for ``numpy.add``; None for functions NumPy does not export by that name."""
    name = getattr(function, "__name__", None)
    return f"np.{name}" if name and getattr(np, name, None) is function else None


class Call:
    """The right-hand side of one line: ``text``, and whether ``out=`` may be appended."""

    def __init__(self, text: str, out: bool = False, fresh: bool = True, plain: str | None = None):
        self.text = text          # a complete expression; when ``out``, a call ending in ")"
        self.plain = plain        # the same computation as an operator (``x + y``), used without out=
        self.out = out            # accepts out= (an elementwise ufunc, matmul or where)
        self.fresh = fresh        # returns a newly allocated array, never a view of an input

    def finish(self, out: str | None) -> str:
        if out is None:
            return self.plain if self.plain is not None else self.text
        return f"{self.text[:-1]}, out={out})"


def array_call(step: Step, args: list[str], bind) -> Call:
    """The NumPy source computing ``step`` from the variables ``args``.

    ``bind(prefix, obj)`` puts ``obj`` in the generated module's namespace and
    returns the name it got. A custom (not pure) op is assumed to return
    arrays that may share memory with its inputs.
    """
    op, params = step.op, step.params
    fresh = op.pure and not op.view
    if op.numpy is not None:
        return Call(op.numpy(args, params), out=bool(op.out), fresh=fresh)
    spelled = numpy_spelling(op.forward)
    if spelled is None:
        spelled = bind(f"f_{op.name}", op.forward)
    keywords = keyword_args(params, bind)
    out = op.out if op.out is not None else isinstance(op.forward, np.ufunc) and not keywords
    plain = op.operator.format(*args) if op.operator is not None else None
    return Call(f"{spelled}({', '.join(args + keywords)})", out=out, fresh=fresh, plain=plain)


def keyword_args(params: dict, bind) -> list[str]:
    """``params`` as source keyword arguments (``axis=1``), a value with no literal bound by ``bind``."""
    if not all(key.isascii() and key.isidentifier() for key in params):
        # Python would NFKC-normalise a keyword such as `ｋ=` into another one: pass a dict
        return [f"**{bind('params', dict(params))}"]
    keywords = []
    for key, value in params.items():
        text = literal(value)
        keywords.append(f"{key}={text if text is not None else bind(f'p_{key}', value)}")
    return keywords


def math_lines(step: Step, args: list[str], target: str) -> list[str] | None:
    """Lines computing ``step`` with Python floats, or None when the op has no scalar form.

    Errors Python raises where NumPy returns inf or nan (division by zero,
    log of 0, overflow) are caught by the caller, which reruns the call with
    the array code.
    """
    if step.op.math is None:
        return None
    return [f"{target} = " + step.op.math.format(*args)]
