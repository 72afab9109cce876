"""Elementwise ops: arithmetic, math functions, activations, selection, casts.

An elementwise op's Jacobian is diagonal, so one chain rule per input serves
both directions: ``rule(d, out, *inputs)`` maps the derivative ``d`` arriving
on one side (a cotangent of ``out`` in reverse mode, a tangent of the input in
forward mode) to the derivative on the other side. NumPy broadcasting is
undone by the gradient pass, not here.

Non-smooth points follow the notes: relu'(0) = 0, maximum sends the gradient
to its first operand when x >= y, |x|'(0) = 0, and floor, round and sign have
derivative zero.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError
from ..graph import Node, as_nodes, check_dtype, is_float
from ..simplify import FOLD_SIZE, is_constant
from .core import (ZERO, Op, broadcast_shapes, combine_dtypes,
                   disconnected_rule, elementwise_infer, undefined_rule, zero_rule)


def define_elementwise(name: str, forward, rules, float_only: bool = True, doc: str = "") -> Op:
    """An elementwise op whose chain ``rules`` serve as both vjp and jvp."""
    return Op(name, forward, elementwise_infer(name, float_only, forward), vjp=rules, jvp=rules, doc=doc,
              broadcasts=True)


def _apply(op: Op, *values) -> Node:
    nodes = as_nodes(*values)
    return nodes[0].graph.apply(op, nodes)


# --- arithmetic -----------------------------------------------------------------

NEG = define_elementwise("neg", np.negative, (lambda d, out, x: neg(d),), float_only=False)
ADD = define_elementwise("add", np.add, (lambda d, out, x, y: d,
                                  lambda d, out, x, y: d), float_only=False)
SUB = define_elementwise("sub", np.subtract, (lambda d, out, x, y: d,
                                       lambda d, out, x, y: neg(d)), float_only=False)
MUL = define_elementwise("mul", np.multiply, (lambda d, out, x, y: d * y,
                                       lambda d, out, x, y: d * x), float_only=False)
DIV = define_elementwise("div", np.true_divide, (lambda d, out, x, y: d / y,
                                          lambda d, out, x, y: neg(d * out / y)))


# pow's rules, y x**(y-1) and x**y log x, meet 0·inf at x = 0 where x**y is smooth: x**0 is 1
# for every x, and x**y is 0 for every y > 0. There the base is replaced by 1 in a rule, with a
# `where` whose condition has no derivative, so the rule and every derivative of it are finite.
# A constant exponent (x**2, the usual case) gets the plain rule, or none.

def _pow_base_rule(d, out, x, y):
    """d(x**y)/dx = y x**(y-1); 0 at x = 0 when y = 0 (x**0 is the constant 1)."""
    if y.value is not None:
        if not np.any(y.value):  # x**0 is 1
            return ZERO
        if np.all(y.value == 1):  # x**1 is x
            return d
        if np.all(y.value != 0):  # no 0·inf
            return d * (y * pow(x, y - 1))
    # Only where x = 0 and y = 0: elsewhere the base stays x, so derivatives in y stay exact
    # (d/dy y x**(y-1) is 1/x at y = 0). Where y is 0, x is tested; elsewhere y, not 0, is.
    both_zero = equal(where(equal(y, 0), x, y), 0)
    return d * (y * pow(where(both_zero, 1, x), y - 1))


def _pow_exponent_rule(d, out, x, y):
    """d(x**y)/dy = x**y log x; 0 at x = 0, its limit where x**y is 0 (y > 0)."""
    if x.value is None or np.any(x.value == 0):
        x = _zero_as_one(x)  # log 1 = 0 rather than 0·(-inf)
    if not is_float(x.dtype):  # an integer base: its log in the result's float type
        x = cast(x, out.dtype)
    return d * (out * log(x))


def _zero_as_one(x):
    """x with its zeros replaced by 1: no derivative flows to the replaced ones."""
    return where(equal(x, 0), 1, x)


POW = define_elementwise("pow", np.power, (_pow_base_rule, _pow_exponent_rule), float_only=False)


def neg(x) -> Node:
    """-x, elementwise.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.neg(sg.constant([1.0, -2.0])).eval()
    array([-1.,  2.])
    """
    (x,) = as_nodes(x)
    if x.op is NEG:  # -(-x) is x, exactly
        return x.inputs[0]
    return _apply(NEG, x)


def add(x, y) -> Node:
    """x + y with NumPy broadcasting.

    Examples
    --------
    >>> import symgrad as sg
    >>> (sg.constant(2.0) + 3.0).eval()
    array(5.)
    """
    x, y = as_nodes(x, y)
    if y.op is NEG:  # x + (-b) is x - b, exactly (IEEE defines subtraction so)
        return sub(x, y.inputs[0])
    if x.op is NEG:
        return sub(y, x.inputs[0])
    if x is y and is_float(x.dtype) and x.graph._making is not None:  # in a derivative pass, a + a is 2a, exactly
        return mul(x.graph.constant(np.array(2, x.dtype)), x)
    found = _commuted(ADD, x, y)
    return found if found is not None else _apply(ADD, x, y)


def sub(x, y) -> Node:
    """x - y with NumPy broadcasting.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sub(5.0, sg.constant(3.0)).eval()
    array(2.)
    """
    x, y = as_nodes(x, y)
    if y.op is NEG:  # x - (-b) is x + b, exactly
        return add(x, y.inputs[0])
    return _apply(SUB, x, y)


def mul(x, y) -> Node:
    """x * y with NumPy broadcasting; multiplying by an exact 1 of the same shape is skipped.

    Examples
    --------
    >>> import symgrad as sg
    >>> (sg.constant([1.0, 2.0]) * 3.0).eval()
    array([3., 6.])
    """
    x, y = as_nodes(x, y)
    for one, other in ((x, y), (y, x)):
        if one.value is not None and other.dtype == one.dtype and other.shape == broadcast_shapes("mul", x, y):
            if is_constant(one, 1):
                return other
            if is_constant(one, -1) and is_float(other.dtype):  # negation is exact, like * -1
                return neg(other)
    if x.op is NEG and y.op is NEG:  # (-a)(-b) is ab, exactly
        return mul(x.inputs[0], y.inputs[0])
    found = _commuted(MUL, x, y)
    if found is not None or x.graph._making is None:  # the rest rewrites derivative passes' nodes only
        return found if found is not None else _apply(MUL, x, y)
    for spread, other in ((x, y), (y, x)):  # broadcast_to(a) * y is a * y when y has the result's shape
        if spread.op.name == "broadcast_to" and other.shape == spread.shape and other.dtype == spread.dtype:
            return mul(spread.inputs[0], other)
    for neg_side, other in ((x, y), (y, x)):  # (-a)c is a(-c), exactly
        if neg_side.op is NEG:
            if other.value is not None and other.value.size <= FOLD_SIZE and is_float(other.dtype):
                return mul(neg_side.inputs[0], other.graph.constant(-other.value))
    for c1, rest in ((x, y), (y, x)):  # c1 (c2 a) is (c1 c2) a, within rounding, for scalar constants
        if c1.value is not None and c1.value.size == 1 and rest.op is MUL and is_float(c1.dtype):
            for c2, a in ((rest.inputs[0], rest.inputs[1]), (rest.inputs[1], rest.inputs[0])):
                if (c2.value is not None and c2.value.size == 1 and c2.dtype == c1.dtype
                        and a.shape == broadcast_shapes("mul", x, y)):  # the constants only scale a
                    with np.errstate(all="ignore"):
                        product = c1.value * c2.value
                    if np.isfinite(product) and product != 0 and np.abs(product) >= np.finfo(product.dtype).tiny:
                        return mul(c1.graph.constant(product), a)
    return _apply(MUL, x, y)


def _commuted(op: Op, x: Node, y: Node) -> Node | None:
    """``y op x`` if that node exists already: + and * commute exactly, so hash-consing can share it."""
    return x.graph._by_key.get((op, (), (y.id, x.id), None))


def div(x, y) -> Node:
    """x / y (true division) with NumPy broadcasting.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.div(1.0, sg.constant(4.0)).eval()
    array(0.25)
    """
    return _apply(DIV, x, y)


def pow(x, y) -> Node:
    """x ** y with NumPy broadcasting; a float ``x ** 1`` is ``x`` itself.

    At x = 0 every derivative that exists as a one-sided limit is that limit:
    d/dx x**0 = 0, d^n/dy^n x**y = 0 for y > 0, d^n/dx^n x**k = 0 for an
    integer 0 <= k < n. One that does not exist (d/dx x**0.5 at 0) is inf
    or nan, or may be finite at x = 0: x**y jumps at x = y = 0, where
    d/dy is given as 0. As for relu'(0), do not rely on those values.

    Examples
    --------
    >>> import symgrad as sg
    >>> (sg.constant(3.0) ** 2).eval()
    array(9.)
    """
    x, y = as_nodes(x, y)
    if is_constant(y, 1) and y.dtype == x.dtype and is_float(x.dtype) and x.shape == broadcast_shapes("pow", x, y):
        return x  # x**1 is x, exactly (NumPy computes it as a copy)
    return _apply(POW, x, y)


# --- math functions ------------------------------------------------------------------

def _unary(name, forward, rule, doc=""):
    return define_elementwise(name, forward, (rule,), doc=doc)


EXP = _unary("exp", np.exp, lambda d, out, x: d * out)
LOG = _unary("log", np.log, lambda d, out, x: d / x)
LOG1P = _unary("log1p", np.log1p, lambda d, out, x: d / (1 + x))
EXPM1 = _unary("expm1", np.expm1, lambda d, out, x: d * (out + 1))
SQRT = _unary("sqrt", np.sqrt, lambda d, out, x: d * (0.5 / out))
SQUARE = _unary("square", np.square, lambda d, out, x: d * (2 * x))
SIN = _unary("sin", np.sin, lambda d, out, x: d * cos(x))
COS = _unary("cos", np.cos, lambda d, out, x: neg(d * sin(x)))
TAN = _unary("tan", np.tan, lambda d, out, x: d * (1 + square(out)))
TANH = _unary("tanh", np.tanh, lambda d, out, x: d * (1 - square(out)))


def _sigmoid(x):
    # exp of a non-positive number only: no overflow at either end.
    if x.dtype.kind != "f":  # -|x| of an integer wraps (unsigned ones, int8 -128): take np.exp's float first
        x = x.astype(np.promote_types(x.dtype, np.float16))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)


# The notes' point: sigmoid's derivative is written with the sigmoid node itself.
SIGMOID = _unary("sigmoid", _sigmoid, lambda d, out, x: d * (out * (1 - out)))
# log(1 + e^x) computed as logaddexp(0, x): finite for any x.
SOFTPLUS = _unary("softplus", lambda x: np.logaddexp(0.0, x),
                  lambda d, out, x: d * sigmoid(x))
ABS = _unary("abs", np.abs, lambda d, out, x: d * sign(x))
SIGN = _unary("sign", np.sign, zero_rule)
FLOOR = _unary("floor", np.floor, zero_rule)
ROUND = _unary("round", np.round, zero_rule)


def exp(x) -> Node:
    """e ** x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.exp(sg.constant(0.0)).eval()
    array(1.)
    """
    return _apply(EXP, x)


def log(x) -> Node:
    """Natural logarithm.

    At the singular point, as NumPy: log(0) = -inf and its derivative 1/x
    is inf; negative inputs give NaN. ``check_finite=True`` in
    ``sg.evaluate`` / ``sg.function`` names the node where such a value first
    appears.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.log(sg.constant(1.0)).eval()
    array(0.)
    """
    return _apply(LOG, x)


def log1p(x) -> Node:
    """log(1 + x), accurate for small x.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.log1p(sg.constant(1e-20)).eval())
    1e-20
    """
    return _apply(LOG1P, x)


def expm1(x) -> Node:
    """e ** x - 1, accurate for small x.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.expm1(sg.constant(1e-20)).eval())
    1e-20
    """
    return _apply(EXPM1, x)


def sqrt(x) -> Node:
    """Square root.

    At the singular point: sqrt(0) = 0, finite, but its derivative
    0.5 / sqrt(x) is inf there (and a second derivative -inf); negative
    inputs give NaN. ``check_finite=True`` names the node where such a value
    first appears.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sqrt(sg.constant(9.0)).eval()
    array(3.)
    """
    return _apply(SQRT, x)


def square(x) -> Node:
    """x * x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.square(sg.constant(-3.0)).eval()
    array(9.)
    """
    return _apply(SQUARE, x)


def sin(x) -> Node:
    """Sine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sin(sg.constant(0.0)).eval()
    array(0.)
    """
    return _apply(SIN, x)


def cos(x) -> Node:
    """Cosine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cos(sg.constant(0.0)).eval()
    array(1.)
    """
    return _apply(COS, x)


def tan(x) -> Node:
    """Tangent.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.tan(sg.constant(0.0)).eval()
    array(0.)
    """
    return _apply(TAN, x)


def tanh(x) -> Node:
    """Hyperbolic tangent; its derivative 1 - tanh(x)**2 reuses the tanh node.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.tanh(sg.constant(0.0)).eval()
    array(0.)
    """
    return _apply(TANH, x)


def sigmoid(x) -> Node:
    """The logistic function 1 / (1 + e ** -x), computed without overflow.

    Examples
    --------
    >>> import symgrad as sg
    >>> print(f"{float(sg.sigmoid(sg.constant(1.0)).eval()):.2f}")
    0.73
    """
    return _apply(SIGMOID, x)


def softplus(x) -> Node:
    """log(1 + e ** x), finite for every finite x; its derivative is sigmoid(x).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.softplus(sg.constant(800.0)).eval())
    800.0
    """
    return _apply(SOFTPLUS, x)


def abs(x) -> Node:
    """|x|, with derivative sign(x) (0 at 0).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.abs(sg.constant([-2.0, 3.0])).eval()
    array([2., 3.])
    """
    return _apply(ABS, x)


def sign(x) -> Node:
    """-1, 0 or 1; derivative zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sign(sg.constant([-2.0, 0.0, 3.0])).eval()
    array([-1.,  0.,  1.])
    """
    return _apply(SIGN, x)


def floor(x) -> Node:
    """Round down; derivative zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.floor(sg.constant(2.7)).eval()
    array(2.)
    """
    return _apply(FLOOR, x)


def round(x) -> Node:
    """Round half to even (NumPy's rule); derivative zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.round(sg.constant(2.5)).eval()
    array(2.)
    """
    return _apply(ROUND, x)


# --- selection: relu, maximum, minimum, where ----------------------------------------

def _pass_where(cond, d):
    return where(cond, d, 0.0)


def _block_where(cond, d):
    return where(cond, 0.0, d)


# The mask reads the output (out > 0 exactly where x > 0, NaN included), so the
# pre-activation need not be kept for the backward pass.
RELU = _unary("relu", lambda x: np.maximum(x, 0), lambda d, out, x: _pass_where(out > 0, d))
LEAKY_RELU = Op(
    "leaky_relu", lambda x, alpha: np.where(x > 0, x, x * alpha),
    elementwise_infer("leaky_relu"),
    vjp=(lambda d, out, x: where(x > 0, d, d * out.params.alpha),),
    jvp=(lambda d, out, x: where(x > 0, d, d * out.params.alpha),))
MAXIMUM = define_elementwise("maximum", np.maximum, (lambda d, out, x, y: _pass_where(x >= y, d),
                                              lambda d, out, x, y: _block_where(x >= y, d)),
                      float_only=False)
MINIMUM = define_elementwise("minimum", np.minimum, (lambda d, out, x, y: _pass_where(x <= y, d),
                                              lambda d, out, x, y: _block_where(x <= y, d)),
                      float_only=False)


def _where_infer(cond, x, y):
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: the condition {cond.describe()} must be bool, not {cond.dtype}")
    return broadcast_shapes("where", cond, x, y), combine_dtypes("where", x, y)


def _select(cond, x, y, out=None):
    """``np.where(cond, x, y)``, bit for bit; optionally written into ``out``.

    Gradients through relu, maximum and where are ``where(c, d, 0)`` or
    ``where(c, 0, d)``. np.where branches per element and is slow on a mixed
    mask (about 9x a multiply), so that form multiplies the bits of ``d``,
    seen as integers, by the 0/1 mask: +0.0 where np.where gives 0.0, every
    other value kept exactly (NaN and Inf too), and ``out`` may be ``d``.
    """
    kept, zero_when = _zero_branch(cond, x, y)
    if kept is None:
        result = np.where(cond, x, y)
        if out is None:
            return result
        np.copyto(out, result)
        return out
    ints = np.dtype(f"i{kept.itemsize}")
    result = np.empty(kept.shape, kept.dtype) if out is None else out
    keep = np.logical_not(cond) if zero_when else cond
    np.multiply(kept.view(ints), keep, out=result.view(ints))
    return result


def _zero_branch(cond, x, y):
    """(the array branch, whether the zero is taken where cond is true), or (None, None)."""
    for kept, zero, zero_when in ((x, y, False), (y, x, True)):
        if (type(kept) is np.ndarray and kept.dtype.kind == "f" and kept.dtype.isnative
                and kept.itemsize in (2, 4, 8) and type(cond) is np.ndarray and cond.shape == kept.shape
                and (type(zero) is float or getattr(zero, "dtype", None) == kept.dtype)
                and np.ndim(zero) == 0 and zero == 0 and not np.signbit(zero)):
            return kept, zero_when
    return None, None


# The result is piecewise constant in the condition: its derivative there is
# zero (as for floor), so grad(grad(relu(x).sum()), x) is zeros, not an error.
WHERE = Op("where", _select, _where_infer,
           vjp=(zero_rule, lambda d, out, c, x, y: _pass_where(c, d),
                lambda d, out, c, x, y: _block_where(c, d)),
           jvp=(zero_rule, lambda d, out, c, x, y: _pass_where(c, d),
                lambda d, out, c, x, y: _block_where(c, d)), broadcasts=True)


def relu(x) -> Node:
    """max(x, 0), with relu'(0) = 0 as the notes choose.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.relu(sg.constant([-1.0, 2.0])).eval()
    array([0., 2.])
    """
    return _apply(RELU, x)


def leaky_relu(x, alpha: float = 0.01) -> Node:
    """x where x > 0, else alpha * x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.leaky_relu(sg.constant([-1.0, 2.0]), 0.1).eval()
    array([-0.1,  2. ])
    """
    (x,) = as_nodes(x)
    return x.graph.apply(LEAKY_RELU, (x,), {"alpha": float(alpha)})


def prelu(x, alpha) -> Node:
    """Parametric relu, max(0, x) + alpha * min(0, x), with a learnable ``alpha``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.prelu(sg.constant([-1.0, 2.0]), 0.25).eval()
    array([-0.25,  2.  ])
    """
    x, alpha = as_nodes(x, alpha)
    return relu(x) + alpha * minimum(x, 0.0)


def maximum(x, y) -> Node:
    """Elementwise max; the gradient goes to x where x >= y, else to y.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.maximum(sg.constant([1.0, 5.0]), 3.0).eval()
    array([3., 5.])
    """
    return _apply(MAXIMUM, x, y)


def minimum(x, y) -> Node:
    """Elementwise min; the gradient goes to x where x <= y, else to y.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.minimum(sg.constant([1.0, 5.0]), 3.0).eval()
    array([1., 3.])
    """
    return _apply(MINIMUM, x, y)


def where(cond, x, y) -> Node:
    """x where ``cond`` is true, else y; the derivative through ``cond`` (bool) is zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> v = sg.constant([-1.0, 2.0])
    >>> sg.where(v > 0, v, 0.0).eval()
    array([0., 2.])
    """
    return _apply(WHERE, cond, x, y)


def clip(x, low, high) -> Node:
    """x limited to [low, high]; the gradient passes where low <= x <= high.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.clip(sg.constant([-5.0, 0.5, 5.0]), 0.0, 1.0).eval()
    array([0. , 0.5, 1. ])
    """
    return minimum(maximum(x, low), high)


# --- comparisons: boolean results, no derivative -------------------------------------

def _comparison(name, forward):
    def infer(x, y):
        combine_dtypes(name, x, y)
        return broadcast_shapes(name, x, y), np.dtype(np.bool_)
    return Op(name, forward, infer, vjp=(undefined_rule, undefined_rule),
              jvp=(undefined_rule, undefined_rule), broadcasts=True)


LESS = _comparison("less", np.less)
LESS_EQUAL = _comparison("less_equal", np.less_equal)
GREATER = _comparison("greater", np.greater)
GREATER_EQUAL = _comparison("greater_equal", np.greater_equal)
EQUAL = _comparison("equal", np.equal)
NOT_EQUAL = _comparison("not_equal", np.not_equal)


def less(x, y) -> Node:
    """x < y as a bool node (not differentiable)."""
    return _apply(LESS, x, y)


def less_equal(x, y) -> Node:
    """x <= y as a bool node (not differentiable)."""
    return _apply(LESS_EQUAL, x, y)


def greater(x, y) -> Node:
    """x > y as a bool node (not differentiable)."""
    return _apply(GREATER, x, y)


def greater_equal(x, y) -> Node:
    """x >= y as a bool node (not differentiable)."""
    return _apply(GREATER_EQUAL, x, y)


def equal(x, y) -> Node:
    """x == y elementwise as a bool node (``==`` on nodes keeps its identity meaning)."""
    return _apply(EQUAL, x, y)


def not_equal(x, y) -> Node:
    """x != y elementwise as a bool node."""
    return _apply(NOT_EQUAL, x, y)


# --- casts and stop_gradient ------------------------------------------------------------

CAST = Op("cast", lambda x, dtype: x.astype(dtype, copy=False),
          lambda x, dtype: (x.shape, dtype),
          vjp=(lambda d, out, x: cast(d, x.dtype),),
          jvp=(lambda d, out, x: cast(d, out.dtype),))


def cast(x, dtype) -> Node:
    """Convert to ``dtype``; the only way to mix float32 and float64.

    Derivatives pass between float types; integers and bools carry none.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cast(sg.constant([1.5]), "float32").type
    'f32[1]'
    """
    (x,) = as_nodes(x)
    dtype = check_dtype(dtype, f"cast of {x.describe()}")
    if x.dtype == dtype:
        return x
    return x.graph.apply(CAST, (x,), {"dtype": dtype})


STOP_GRADIENT = Op("stop_gradient", lambda x: x, lambda x: (x.shape, x.dtype),
                   vjp=(disconnected_rule,), jvp=(disconnected_rule,))


def stop_gradient(x) -> Node:
    """The identity forward; blocks every derivative (the value is a constant to them).

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> g = sg.grad(x * sg.stop_gradient(x), x)
    >>> g.eval({x: 3.0})
    array(3.)
    """
    (x,) = as_nodes(x)
    return x.graph.apply(STOP_GRADIENT, (x,))


# The ops and functions defined here (not the names imported above).
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_")
           and (isinstance(value, Op) or getattr(value, "__module__", None) == __name__)]
