"""How each op is written in generated source.

Every op's line calls the very function the interpreter runs (its
``forward``): a NumPy function is spelled ``np.<name>``, anything else is
bound into the generated module's namespace as ``f_<op>``. A few ops get a
plainer spelling that NumPy computes identically (``x.T``, ``x[0, ::2]``,
``np.maximum(x, 0)`` for relu). Ops written as NumPy ufuncs can take
``out=``, which the buffer planner uses.

``math_lines`` is the other dialect: scalar float64 graphs written with
Python floats and the ``math`` module, for call latency.
"""

from __future__ import annotations

import numpy as np

from ..listing import index_text
from ..ops import elementwise, reductions, shape
from .steps import Step


def literal(value) -> str | None:
    """Python source that evaluates to ``value``, or None when there is none."""
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

    def __init__(self, text: str, ufunc: bool = False, fresh: bool = True, plain: str | None = None):
        self.text = text          # without the closing parenthesis when ufunc
        self.plain = plain        # the same computation as an operator (``x + y``), used without out=
        self.ufunc = ufunc        # accepts out= (an elementwise ufunc, matmul or where)
        self.fresh = fresh        # returns a newly allocated array, never a view of an input

    def finish(self, out: str | None) -> str:
        if not self.ufunc:
            return self.text
        if out is None and self.plain is not None:
            return self.plain
        return self.text + (f", out={out})" if out else ")")


def _fresh_ops() -> set:
    """symgrad's own ops that always return a newly allocated array (never a view).

    Anything else (views such as reshape and getitem, casts that may return
    their input, users' custom ops) is assumed to share memory with its inputs.
    """
    from .. import ops
    may_alias = KNOWN_VIEWS | {ops.PLACEHOLDER, ops.CONSTANT}
    module_names = ("elementwise", "reductions", "shape", "linalg", "nn")
    found = set()
    for module in module_names:
        for value in vars(getattr(ops, module)).values():
            if isinstance(value, ops.Op) and value not in may_alias:
                found.add(value)
    return found


# Ops whose result may be a view of an input (head_like and tail_like are slices; check_sizes
# returns its input itself).
KNOWN_VIEWS = {shape.RESHAPE, shape.RESHAPE_LIKE, shape.TRANSPOSE, shape.BROADCAST_TO,
               shape.BROADCAST_LIKE, shape.GETITEM, shape.HEAD_LIKE, shape.TAIL_LIKE, shape.CHECK_SIZES,
               elementwise.STOP_GRADIENT, elementwise.CAST}
FRESH_OPS = _fresh_ops()


def array_call(step: Step, args: list[str], bind) -> Call:
    """The NumPy source computing ``step`` from the variables ``args``.

    ``bind(prefix, obj)`` puts ``obj`` in the generated module's namespace and
    returns the name it got.
    """
    kind, p, op = step.kind, step.params, step.op
    if op is elementwise.RELU:
        return Call(f"np.maximum({args[0]}, 0", ufunc=True)
    if op is shape.TRANSPOSE:
        axes = p["axes"]
        if axes == tuple(range(len(axes)))[::-1]:
            return Call(f"{args[0]}.T", fresh=False)
        return Call(f"np.transpose({args[0]}, {literal(axes)})", fresh=False)
    if op is shape.RESHAPE:
        return Call(f"np.reshape({args[0]}, {literal(p['shape'])})", fresh=False)
    if op is shape.BROADCAST_TO:
        return Call(f"np.broadcast_to({args[0]}, {literal(p['shape'])})", fresh=False)
    if op is reductions.SUM:
        return Call(f"np.sum({args[0]}, {literal(p['axis'])}, keepdims={p['keepdims']})")
    if op is shape.GETITEM and literal(p["spec"]) is not None:
        index = index_text(p["spec"], args[1:])
        if len(p["spec"]) == 1 and p["spec"][0][0] == "array":
            index += ","  # x[(a,)]: one index array, not a tuple of indices to unpack
        return Call(f"{args[0]}[{index}]", fresh=False)
    if op is elementwise.STOP_GRADIENT:
        return Call(args[0], fresh=False)
    if op is elementwise.WHERE:  # not a ufunc, but takes out= (see elementwise._select)
        return Call(f"{bind('f_where', op.forward)}({', '.join(args)}", ufunc=True)
    spelled = numpy_spelling(step.op.forward)
    if spelled is None:
        spelled = bind(f"f_{kind}", step.op.forward)
    keywords = []
    for key, value in p.items():
        text = literal(value)
        keywords.append(f"{key}={text if text is not None else bind(f'p_{key}', value)}")
    ufunc = isinstance(op.forward, np.ufunc) and not keywords
    text = f"{spelled}({', '.join(args + keywords)}"
    plain = _OPERATORS[op].format(*args) if op in _OPERATORS else None
    return Call(text if ufunc else text + ")", ufunc=ufunc, fresh=op in FRESH_OPS, plain=plain)


# NumPy's operators on arrays call exactly these ufuncs.
_OPERATORS = {elementwise.ADD: "{} + {}", elementwise.SUB: "{} - {}", elementwise.MUL: "{} * {}",
              elementwise.DIV: "{} / {}", elementwise.NEG: "-{}", elementwise.POW: "{} ** {}"}


# --- scalar dialect: Python floats and the math module ---------------------------------

def math_lines(step: Step, args: list[str], target: str) -> list[str] | None:
    """Lines computing ``step`` with Python floats, or None when the op has no scalar form.

    Errors Python raises where NumPy returns inf or nan (division by zero,
    log of 0, overflow) are caught by the caller, which reruns the call with
    the array code.
    """
    template = _MATH.get(step.op)
    if template is not None:
        return [f"{target} = " + template.format(*args)]
    return None


_MATH = {elementwise.EXP: "math.exp({})", elementwise.LOG: "math.log({})",
         elementwise.LOG1P: "math.log1p({})", elementwise.EXPM1: "math.expm1({})",
         elementwise.SQRT: "math.sqrt({})", elementwise.SIN: "math.sin({})",
         elementwise.COS: "math.cos({})", elementwise.TAN: "math.tan({})",
         elementwise.TANH: "math.tanh({})", elementwise.NEG: "-{}",
         elementwise.SQUARE: "{0} * {0}", elementwise.ABS: "abs({})",
         elementwise.ADD: "{} + {}", elementwise.SUB: "{} - {}", elementwise.MUL: "{} * {}",
         elementwise.DIV: "{} / {}",
         # NumPy computes x ** 0.5 as sqrt(x) (-0.0 at -0.0, nan at -inf, where C's pow differs)
         elementwise.POW: "math.sqrt({0}) if {1} == 0.5 else math.pow({0}, {1})",
         # accurate for any x (to an ulp or two of the interpreter's two-branch form); below
         # x = -709 exp(-x) overflows, and the call reruns with NumPy
         elementwise.SIGMOID: "1.0 / (1.0 + math.exp(-{}))"}
