"""Elementary functions: exp, log, powers, trigonometry, tanh, sigmoid, softplus,
abs and the piecewise-constant sign, floor and round.

Each op is one row: its name, its NumPy forward, its chain rule (see
:mod:`._define`), and its spelling with Python floats for scalar graphs.
Derivatives reuse the op's own output where the notes do (exp, tanh,
sigmoid). At singular points symgrad follows NumPy: sqrt'(0) = inf,
log'(0) = inf; ``check_finite=True`` names the node where such a value
first appears.
"""

from __future__ import annotations

import numpy as np

from ..ir import ZERO, Node, as_nodes, zero_rule
from ..types import broadcast_shapes, is_float
from ._define import ELEMENTWISE, ELEMENTWISE_LINEAR, elementwise, is_constant, unary
from .arith import div, neg
from .select import cast, equal, where

EXP = unary("exp", np.exp, lambda d, out, x: d * out, math="math.exp({})", sparsity=ELEMENTWISE)
LOG = unary("log", np.log, lambda d, out, x: d / x, math="math.log({})", sparsity=ELEMENTWISE)
LOG1P = unary("log1p", np.log1p, lambda d, out, x: d / (1 + x), math="math.log1p({})", sparsity=ELEMENTWISE)
EXPM1 = unary("expm1", np.expm1, lambda d, out, x: d * (out + 1), math="math.expm1({})", sparsity=ELEMENTWISE)
SQRT = unary("sqrt", np.sqrt, lambda d, out, x: d * (0.5 / out), math="math.sqrt({})", sparsity=ELEMENTWISE)
SQUARE = unary("square", np.square, lambda d, out, x: d * (2 * x), math="{0} * {0}", sparsity=ELEMENTWISE)
SIN = unary("sin", np.sin, lambda d, out, x: d * cos(x), math="math.sin({})", bounded=True, sparsity=ELEMENTWISE)
COS = unary("cos", np.cos, lambda d, out, x: neg(d * sin(x)), math="math.cos({})", bounded=True,
            sparsity=ELEMENTWISE)
TAN = unary("tan", np.tan, lambda d, out, x: d * (1 + square(out)), math="math.tan({})", sparsity=ELEMENTWISE)
TANH = unary("tanh", np.tanh, lambda d, out, x: d * (1 - square(out)), math="math.tanh({})", bounded=True,
             sparsity=ELEMENTWISE)


def _sigmoid(x):
    # exp of a non-positive number only: no overflow at either end.
    if x.dtype.kind != "f":  # -|x| of an integer wraps (unsigned ones, int8 -128): take np.exp's float first
        x = x.astype(np.promote_types(x.dtype, np.float16))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)


def _sigmoid_xp(xp):
    """The sigmoid in the array-API standard, from exp(-|x|) as in NumPy's (no overflow)."""
    def kernel(x):
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return kernel


# The notes' point: sigmoid's derivative is written with the sigmoid node itself. In the scalar
# dialect, 1/(1+exp(-x)) is accurate for any x (to an ulp or two of the two-branch form); below
# x = -709 exp(-x) overflows, and the call reruns with NumPy.
SIGMOID = unary("sigmoid", _sigmoid, lambda d, out, x: d * (out * (1 - out)),
                math="1.0 / (1.0 + math.exp(-{}))", bounded=True, sparsity=ELEMENTWISE,
    array_api=_sigmoid_xp)
# log(1 + e^x) computed as logaddexp(0, x): finite for any x.
SOFTPLUS = unary("softplus", lambda x: np.logaddexp(0.0, x), lambda d, out, x: d * sigmoid(x), sparsity=ELEMENTWISE,
    array_api=lambda xp: lambda x: xp.logaddexp(xp.zeros_like(x), x))
ABS = unary("abs", np.abs, lambda d, out, x: d * sign(x), math="abs({})", sparsity=ELEMENTWISE_LINEAR)
SIGN = unary("sign", np.sign, zero_rule, sparsity=ELEMENTWISE_LINEAR)
FLOOR = unary("floor", np.floor, zero_rule, sparsity=ELEMENTWISE_LINEAR)
ROUND = unary("round", np.round, zero_rule, sparsity=ELEMENTWISE_LINEAR)


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
    base = x.value
    if base is not None and is_float(x.dtype) and base.size and np.all((base > 0) & np.isfinite(base)):
        # A constant base (2**y): move one factor x into the constant, on the side that shrinks
        # x**y, so x**y overflowing cannot make inf of a finite x**y log x (2**1024 log 2 < max).
        log_base = np.log(base)
        if np.all(base >= 1):
            return d * (pow(x, y - 1) * (base * log_base))
        if np.all(base <= 1):
            return d * (pow(x, y + 1) * (log_base / base))
    if x.value is None or np.any(x.value == 0):
        x = where(equal(x, 0), 1, x)  # log 1 = 0 rather than 0·(-inf); nothing flows to the replaced zeros
    if not is_float(x.dtype):  # an integer base: its log in the result's float type
        x = cast(x, out.dtype)
    return d * (out * log(x))


# NumPy computes x ** 0.5 as sqrt(x) (-0.0 at -0.0, nan at -inf, where C's pow differs), and so
# does the scalar code.
POW = elementwise("pow", np.power, (_pow_base_rule, _pow_exponent_rule),
                  operator="{} ** {}", math="math.sqrt({0}) if {1} == 0.5 else math.pow({0}, {1})",
                  sparsity=ELEMENTWISE)


def exp(x) -> Node:
    """e ** x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.exp(sg.constant(0.0)).eval()
    array(1.)
    """
    return EXP(x)


def log(x) -> Node:
    """Natural logarithm.

    At the singular point, as NumPy: log(0) = -inf and its derivative 1/x
    is inf (-inf at -0.0, as IEEE divides); negative inputs give NaN. ``check_finite=True`` in
    ``sg.evaluate`` / ``sg.function`` names the node where such a value first
    appears.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.log(sg.constant(1.0)).eval()
    array(0.)
    """
    return LOG(x)


def log1p(x) -> Node:
    """log(1 + x), accurate for small x.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.log1p(sg.constant(1e-20)).eval())
    1e-20
    """
    return LOG1P(x)


def expm1(x) -> Node:
    """e ** x - 1, accurate for small x.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.expm1(sg.constant(1e-20)).eval())
    1e-20
    """
    return EXPM1(x)


def sqrt(x) -> Node:
    """Square root.

    At the singular point: sqrt(0) = 0, finite, but its derivative 0.5 /
    sqrt(x) is inf there (and a second derivative -inf); at -0.0, where sqrt
    is -0.0, IEEE makes it -inf; negative inputs give NaN.
    ``check_finite=True`` names the node where such a value first appears.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sqrt(sg.constant(9.0)).eval()
    array(3.)
    """
    return SQRT(x)


def square(x) -> Node:
    """x * x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.square(sg.constant(-3.0)).eval()
    array(9.)
    """
    return SQUARE(x)


def sin(x) -> Node:
    """Sine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sin(sg.constant(0.0)).eval()
    array(0.)
    """
    return SIN(x)


def cos(x) -> Node:
    """Cosine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cos(sg.constant(0.0)).eval()
    array(1.)
    """
    return COS(x)


def tan(x) -> Node:
    """Tangent.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.tan(sg.constant(0.0)).eval()
    array(0.)
    """
    return TAN(x)


def tanh(x) -> Node:
    """Hyperbolic tangent; its derivative 1 - tanh(x)**2 reuses the tanh node.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.tanh(sg.constant(0.0)).eval()
    array(0.)
    """
    return TANH(x)


def sigmoid(x) -> Node:
    """The logistic function 1 / (1 + e ** -x), computed without overflow.

    Examples
    --------
    >>> import symgrad as sg
    >>> print(f"{float(sg.sigmoid(sg.constant(1.0)).eval()):.2f}")
    0.73
    """
    return SIGMOID(x)


def softplus(x) -> Node:
    """log(1 + e ** x), finite for every finite x; its derivative is sigmoid(x).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.softplus(sg.constant(800.0)).eval())
    800.0
    """
    return SOFTPLUS(x)


def abs(x) -> Node:
    """|x|, with derivative sign(x) (0 at 0).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.abs(sg.constant([-2.0, 3.0])).eval()
    array([2., 3.])
    """
    return ABS(x)


def sign(x) -> Node:
    """-1, 0 or 1; derivative zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sign(sg.constant([-2.0, 0.0, 3.0])).eval()
    array([-1.,  0.,  1.])
    """
    return SIGN(x)


def floor(x) -> Node:
    """Round down; derivative zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.floor(sg.constant(2.7)).eval()
    array(2.)
    """
    return FLOOR(x)


def round(x) -> Node:
    """Round half to even (NumPy's rule); derivative zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.round(sg.constant(2.5)).eval()
    array(2.)
    """
    return ROUND(x)


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
    x, y = as_nodes(x, y, op="pow")
    if (is_constant(y, 1) and y.dtype == x.dtype and is_float(x.dtype)
            and x.shape == broadcast_shapes("pow", [x.shape, y.shape], (x, y))):
        return x  # x**1 is x, exactly (NumPy computes it as a copy)
    return POW(x, y)



# --- more of NumPy's elementary functions, each a row and a function --------------------------------
# Chain rules as in the rows above; where a rule's form matters (arccosh near 1, logaddexp for large
# arguments, mod in its divisor) the comment says why.

_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))  # Python floats: they take x's float width
SINH = unary("sinh", np.sinh, lambda d, out, x: d * cosh(x), sparsity=ELEMENTWISE)
COSH = unary("cosh", np.cosh, lambda d, out, x: d * sinh(x), sparsity=ELEMENTWISE)
ARCSIN = unary("arcsin", np.arcsin, lambda d, out, x: d / sqrt(1 - square(x)), sparsity=ELEMENTWISE)
ARCCOS = unary("arccos", np.arccos, lambda d, out, x: neg(d / sqrt(1 - square(x))), sparsity=ELEMENTWISE)
ARCTAN = unary("arctan", np.arctan, lambda d, out, x: d / (1 + square(x)), sparsity=ELEMENTWISE)
ARCSINH = unary("arcsinh", np.arcsinh, lambda d, out, x: d / sqrt(1 + square(x)), sparsity=ELEMENTWISE)
# sqrt(x - 1) sqrt(x + 1), not sqrt(x² - 1): no cancellation next to 1.
ARCCOSH = unary("arccosh", np.arccosh, lambda d, out, x: d / (sqrt(x - 1) * sqrt(x + 1)), sparsity=ELEMENTWISE)
ARCTANH = unary("arctanh", np.arctanh, lambda d, out, x: d / (1 - square(x)), sparsity=ELEMENTWISE)
LOG2 = unary("log2", np.log2, lambda d, out, x: d / (x * _LN2), sparsity=ELEMENTWISE)
LOG10 = unary("log10", np.log10, lambda d, out, x: d / (x * _LN10), sparsity=ELEMENTWISE)
EXP2 = unary("exp2", np.exp2, lambda d, out, x: d * (out * _LN2), sparsity=ELEMENTWISE,
    array_api=lambda xp: lambda x: xp.pow(xp.asarray(2.0, dtype=x.dtype), x))
# cbrt'(x) = 1 / (3 cbrt(x)²), written with the output; inf at 0 like sqrt's.
CBRT = unary("cbrt", np.cbrt, lambda d, out, x: d / (3 * square(out)), sparsity=ELEMENTWISE,
    array_api=lambda xp: lambda x: xp.sign(x) * xp.pow(xp.abs(x), xp.asarray(1 / 3, dtype=x.dtype)))
RECIPROCAL = unary("reciprocal", np.reciprocal, lambda d, out, x: neg(d * square(out)), sparsity=ELEMENTWISE)
ARCTAN2 = elementwise("arctan2", np.arctan2, (lambda d, out, y, x: d * x / (square(x) + square(y)),
                                              lambda d, out, y, x: neg(d * y / (square(x) + square(y)))),
                      sparsity=ELEMENTWISE)
# hypot's derivative x / hypot(x, y) reuses the output; it does not exist at (0, 0).
HYPOT = elementwise("hypot", np.hypot, (lambda d, out, x, y: d * x / out, lambda d, out, x, y: d * y / out),
                    sparsity=ELEMENTWISE)
# exp(x - out) is at most 1: no overflow however large x and y are.
LOGADDEXP = elementwise("logaddexp", np.logaddexp, (lambda d, out, x, y: d * exp(x - out),
                                                    lambda d, out, x, y: d * exp(y - out)), sparsity=ELEMENTWISE)
# x mod y = x - y·floor(x / y) and fmod = x - y·trunc(x / y): derivative 1 in x and the
# (piecewise constant) -floor or -trunc in y, which is (out - x) / y: no floor or trunc node.
_REMAINDER_CHAIN = (lambda d, out, x, y: d, lambda d, out, x, y: d * ((out - x) / y))
MOD = elementwise("mod", np.mod, _REMAINDER_CHAIN, operator="{} % {}", sparsity=ELEMENTWISE_LINEAR)
FMOD = elementwise("fmod", np.fmod, _REMAINDER_CHAIN, sparsity=ELEMENTWISE_LINEAR,
    array_api=lambda xp: lambda x, y: xp.sign(x) * xp.remainder(xp.abs(x), xp.abs(y)))


def sinh(x) -> Node:
    """Hyperbolic sine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sinh(sg.constant(0.0)).eval()
    array(0.)
    """
    return SINH(x)


def cosh(x) -> Node:
    """Hyperbolic cosine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cosh(sg.constant(0.0)).eval()
    array(1.)
    """
    return COSH(x)


def arcsin(x) -> Node:
    """Inverse sine; its derivative 1 / sqrt(1 - x²) is inf at ±1, where it does not exist.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.arcsin(sg.constant(0.0)).eval()
    array(0.)
    """
    return ARCSIN(x)


def arccos(x) -> Node:
    """Inverse cosine; its derivative -1 / sqrt(1 - x²) is -inf at ±1.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.arccos(sg.constant(1.0)).eval()
    array(0.)
    """
    return ARCCOS(x)


def arctan(x) -> Node:
    """Inverse tangent.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.arctan(sg.constant(0.0)).eval()
    array(0.)
    """
    return ARCTAN(x)


def arcsinh(x) -> Node:
    """Inverse hyperbolic sine.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.arcsinh(sg.constant(0.0)).eval()
    array(0.)
    """
    return ARCSINH(x)


def arccosh(x) -> Node:
    """Inverse hyperbolic cosine (x >= 1); its derivative is inf at 1.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.arccosh(sg.constant(1.0)).eval()
    array(0.)
    """
    return ARCCOSH(x)


def arctanh(x) -> Node:
    """Inverse hyperbolic tangent (|x| < 1).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.arctanh(sg.constant(0.0)).eval()
    array(0.)
    """
    return ARCTANH(x)


def log2(x) -> Node:
    """Base-2 logarithm.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.log2(sg.constant(8.0)).eval()
    array(3.)
    """
    return LOG2(x)


def log10(x) -> Node:
    """Base-10 logarithm.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.log10(sg.constant(100.0)).eval()
    array(2.)
    """
    return LOG10(x)


def exp2(x) -> Node:
    """2 ** x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.exp2(sg.constant(3.0)).eval()
    array(8.)
    """
    return EXP2(x)


def cbrt(x) -> Node:
    """Cube root, real for negative x; its derivative is inf at 0.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cbrt(sg.constant(-8.0)).eval()
    array(-2.)
    """
    return CBRT(x)


def reciprocal(x) -> Node:
    """1 / x.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.reciprocal(sg.constant(4.0)).eval()
    array(0.25)
    """
    return RECIPROCAL(x)


def arctan2(y, x) -> Node:
    """The angle of the point (x, y), NumPy's argument order.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.arctan2(sg.constant(1.0), sg.constant(1.0)).eval())  # pi / 4
    0.7853981633974483
    """
    return ARCTAN2(y, x)


def hypot(x, y) -> Node:
    """sqrt(x² + y²) without overflow; its derivative does not exist at (0, 0).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.hypot(sg.constant(3.0), sg.constant(4.0)).eval()
    array(5.)
    """
    return HYPOT(x, y)


def logaddexp(x, y) -> Node:
    """log(exp(x) + exp(y)), finite for any finite x and y.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.logaddexp(sg.constant(1000.0), sg.constant(1000.0)).eval())  # 1000 + log 2
    1000.6931471805599
    """
    return LOGADDEXP(x, y)


def mod(x, y) -> Node:
    """x mod y with the sign of y (NumPy's ``np.mod``, Python's ``%``); ``x % y`` is this.

    The derivative is 1 in x and -floor(x / y) in y, except at the jumps.

    Examples
    --------
    >>> import symgrad as sg
    >>> (sg.constant([5.0, -5.0]) % 3.0).eval()
    array([2., 1.])
    """
    return MOD(x, y)


def fmod(x, y) -> Node:
    """x mod y with the sign of x (C's fmod, ``np.fmod``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.fmod(sg.constant([5.0, -5.0]), 3.0).eval()
    array([ 2., -2.])
    """
    return FMOD(x, y)


true_divide = div  # NumPy's other names
power = pow
remainder = mod


__all__ = ["EXP", "LOG", "LOG1P", "EXPM1", "SQRT", "SQUARE", "SIN", "COS", "TAN", "TANH", "SIGMOID",
           "SOFTPLUS", "ABS", "SIGN", "FLOOR", "ROUND", "POW",
           "exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan", "tanh", "sigmoid",
           "softplus", "abs", "sign", "floor", "round", "pow",
           "SINH", "COSH", "ARCSIN", "ARCCOS", "ARCTAN", "ARCSINH", "ARCCOSH", "ARCTANH", "LOG2", "LOG10", "EXP2",
           "CBRT", "RECIPROCAL", "ARCTAN2", "HYPOT", "LOGADDEXP", "MOD", "FMOD",
           "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "log2", "log10", "exp2",
           "cbrt", "reciprocal", "arctan2", "hypot", "logaddexp", "mod", "fmod", "true_divide", "power", "remainder"]
