"""Special functions under scipy.special's names: erf, erfc, erfcx, erfinv, ndtr, log_ndtr,
gammaln, digamma, polygamma, xlogy, xlog1py, logit and expit (users reach them as ``sg.special``).

Each op is a row: its name and its chain rule (see :mod:`._define`); the forward is SciPy's own
function, called through the module's one handle on SciPy. SciPy is an optional extra
(``pip install 'symgrad[special]'``): symgrad imports without it, and building one of these
nodes without it raises an ImportError naming the extra. Derivatives are written with these
same functions, so they can be differentiated again: erf' is a Gaussian, digamma' is
polygamma(1, .), polygamma(n, .)' is polygamma(n + 1, .), erfinv' reuses erfinv's output.

dtypes are the elementwise helpers' (float32 stays float32; integers and bools get the dtype
SciPy gives them); a SciPy function that computes a float32 input in float64 (polygamma) has
its result cast back, as every elementwise op's is.
"""

from __future__ import annotations

import importlib
import math
from fractions import Fraction
from typing import Callable

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import Node, Op, as_nodes
from ..types import is_float, require_canonical
from ._define import BATCH_ELEMENTWISE, ELEMENTWISE, elementwise_infer, primitive
from .arith import neg
from .elementary import exp, log, log1p, square
from .select import cast, equal, where

try:
    import scipy.special as scipy_special
except ImportError:  # the optional extra symgrad[special]; tests set this to None to play its absence
    scipy_special = None

EXTRA = "symgrad[special]"


def require_scipy(user: str):
    """The scipy.special module, or an ImportError saying that ``sg.special.<user>`` needs the extra."""
    if scipy_special is None:
        raise ImportError(f"sg.special.{user} needs SciPy, which is not installed; "
                          f"install it with: pip install '{EXTRA}'")
    return scipy_special


def scipy_function(name: str) -> Callable:
    """scipy.special's function ``name``, or an ImportError naming the extra that installs SciPy."""
    return getattr(require_scipy(name), name)


def _forward(name: str, order: bool = False) -> Callable:
    """The NumPy forward of an op: SciPy's function, looked up when called (SciPy may be absent
    when this module is imported). With ``order``, the op's parameter ``n`` comes first."""
    if order:
        def forward(x, n):
            return scipy_function(name)(n, x)
    else:
        def forward(*arrays):
            return scipy_function(name)(*arrays)
    forward.__name__ = forward.__qualname__ = name
    return forward


# The special-function modules of array libraries whose array-API namespace is the key.
SPECIAL_MODULES = {"jax.numpy": "jax.scipy.special", "array_api_compat.torch": "torch.special"}


def _special_xp(name: str | None, order: bool) -> Callable:
    """The op's spelling for other array libraries: scipy.special's functions are not in the
    array-API standard, so a library runs it only with a special-function module of its own that
    has ``name`` (JAX, torch); ``name`` None: symgrad's own function on SciPy, NumPy only."""
    def spell(xp):
        if name is None:
            return "symgrad's own function on SciPy: NumPy only"
        module = SPECIAL_MODULES.get(xp.__name__)
        function = getattr(importlib.import_module(module), name, None) if module else None
        if function is None:
            return f"scipy.special's {name} is not in the array-API standard, nor in the library"
        return (lambda x, n: function(n, x)) if order else function
    return spell


def _special(name: str, chain: tuple, check: Callable | None = None, order: bool = False,
             forward: Callable | None = None, user: str | None = None, **facts) -> Op:
    """An elementwise op computed by scipy.special's ``name`` (or by ``forward``, which uses
    SciPy on behalf of ``sg.special.<user>``); ``chain`` as in :func:`._define.elementwise`.

    Its shape/dtype rule first asks for SciPy, so a missing SciPy is an ImportError when the node
    is built (or loaded), then runs ``check`` on the op's one parameter, the order ``n`` (a Python int).
    """
    forward = forward or _forward(name, order)
    infer = elementwise_infer(name, forward, params=() if check is None else ("n",))

    def infer_with_scipy(*nodes, **params):
        require_scipy(user or name)
        if check is not None:
            if "n" not in params:
                raise ShapeError(f"{name}: needs its order n (applied to {nodes[0].describe()})")
            check(params["n"])
            require_canonical(name, "n", params["n"], int(params["n"]), nodes[0])
        return infer(*nodes, **params)

    facts.setdefault("array_api", _special_xp(name if user is None else None, order))
    return primitive(name, forward, infer_with_scipy, vjp=chain, jvp=chain, broadcasts=True,
                     batch=BATCH_ELEMENTWISE, sparsity=ELEMENTWISE, **facts)


# Python floats: they take the float width of the node they meet.
_2_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_1_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_1_OVER_SQRT_2 = 1.0 / math.sqrt(2.0)


def _gaussian(x: Node, scale: float) -> Node:
    """scale * exp(-x²): 0 (never NaN) once x² overflows."""
    return scale * exp(neg(square(x)))


# --- the derivatives of log Φ, one op with the order n as its parameter ---------------------------
# log Φ(x)' = φ(x)/Φ(x) = r. Written with nodes, each further derivative cancels: r' = -r (x + r)
# is -1 + 1/x² - ... where x + r is about -1/x, and the third derivative, 2/|x|³ for very negative
# x, is a difference of terms of size 1/|x| (7 digits left at x = -40, none at -1e10). So the
# n-th derivative is one op, computed in NumPy:
# - for x > -9, from r by the recurrence r⁽ᵐ⁺¹⁾ = -Σⱼ C(m, j) r⁽ʲ⁾ q⁽ᵐ⁻ʲ⁾ with q = x + r (mild
#   cancellation there: the third derivative is good to 1e-10, the fourth to 1e-8, next to -9),
#   with r = sqrt(2/π) / erfcx(-x/√2) for x < 0 (no underflow where φ and Φ vanish) and
#   φ(x)/Φ(x) for x >= 0 (no overflow of erfcx);
# - for x <= -9, from the asymptotic series log Φ(x) = -x²/2 - log(-x) - log(2π)/2 + Σₖ gₖ x⁻²ᵏ,
#   differentiated term by term; gₖ are the coefficients of log Σₖ (-1)ᵏ (2k-1)!! uᵏ, exact
#   fractions summed once. Its terms shrink until k ≈ x²/2 (40 at x = -9), so 40 of them give
#   the first four derivatives to rounding for x <= -10 and to 1e-11 at -9.

_TAIL = -9.0
_TERMS = 40
_FAR = 1e3  # beyond it φ(x) underflows and every derivative is 0: no 0·inf at x = inf


def _log_series_coefficients(count: int) -> list[float]:
    """g_1..g_count with log(Σ (-1)^k (2k-1)!! u^k) = Σ g_k u^k, from S·G' = S' in exact fractions."""
    a = [Fraction((-1) ** k * math.prod(range(1, 2 * k, 2))) for k in range(count + 1)]
    g = [Fraction(0)] * (count + 1)
    for k in range(1, count + 1):
        g[k] = (k * a[k] - sum(j * g[j] * a[k - j] for j in range(1, k))) / k
    return [float(v) for v in g[1:]]


_LOG_SERIES = _log_series_coefficients(_TERMS)


def _tail_derivative(x: np.ndarray, n: int) -> np.ndarray:
    """The n-th derivative of log Φ for x <= -9, from the asymptotic series (see above)."""
    u = 1.0 / (x * x)
    series = np.zeros_like(x)
    for k in range(_TERMS, 0, -1):  # Horner in u of Σ g_k (2k)(2k+1)…(2k+n-1) u^k
        series = (series + _LOG_SERIES[k - 1] * math.prod(range(2 * k, 2 * k + n))) * u
    result = (-1) ** n * (math.factorial(n - 1) + series) / x ** n  # -log(-x) and the series
    if n <= 2:  # -x²/2
        result = result - (x if n == 1 else 1.0)
    return result


def _near_derivative(x: np.ndarray, n: int) -> np.ndarray:
    """The n-th derivative of log Φ for x > -9 (a 1-d array), from r = φ/Φ by the recurrence (see above)."""
    negative = x < 0
    r = np.empty_like(x)
    r[negative] = _SQRT_2_OVER_PI / scipy_function("erfcx")(x[negative] * -_1_OVER_SQRT_2)
    rest = x[~negative]
    r[~negative] = _1_OVER_SQRT_2PI * np.exp(-0.5 * rest * rest) / scipy_function("ndtr")(rest)
    rs = [r]
    q = [x + r]
    for m in range(n - 1):
        rs.append(-sum(math.comb(m, j) * rs[j] * q[m - j] for j in range(m + 1)))
        q.append(1.0 + rs[1] if m == 0 else rs[m + 1])
    return rs[n - 1]


def _log_ndtr_derivative(x, n):
    x = np.asarray(x, dtype=np.float64)  # float32 too: rounded to its dtype by the executors
    flat = x.reshape(-1)
    result = np.empty_like(flat)
    tail = flat <= _TAIL  # each method computes only its own points
    with np.errstate(all="ignore"):
        result[tail] = _tail_derivative(flat[tail], n)
        result[~tail] = _near_derivative(np.minimum(flat[~tail], _FAR), n)
    return result.reshape(x.shape)


# Beyond it the values overflow float64 (the 100th derivative is 6e108 at x = 2.5; the series'
# coefficients overflow near 140) and the recurrence costs n² array operations: a file's n = 10**12
# would never finish.
_MAX_DERIVATIVE_ORDER = 100


def _check_derivative_order(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_DERIVATIVE_ORDER:
        raise DTypeError(f"log_ndtr_derivative: the order n must be an int >= 1 and <= {_MAX_DERIVATIVE_ORDER}, "
                         f"not {n!r}")


def _not_a_factor(x: Node, y: Node) -> Node:
    """Where x = 0 and y = 0 both (bool): there x·(...)/y is taken as 0 and y replaced by 1.

    Where x is 0 the test is on y, elsewhere on x (not 0): one `equal`, no logical-and op.
    """
    return equal(where(equal(x, 0), y, x), 0)


def _x_over(x: Node, y: Node) -> Node:
    """x / y, and 0 wherever x = 0 (y = 0 included): the y-derivative of x·log(y), which is
    0 on the whole line x = 0 because the function is. Only at x = y = 0 is y replaced, so the
    x-derivative 1/y stays exact at x = 0, y != 0."""
    return x / where(_not_a_factor(x, y), 1, y)


def _as_float(y: Node, like: Node) -> Node:
    """y itself, or an integer y cast to the float type of ``like`` (log of an int8 would be float16)."""
    return y if is_float(y.dtype) else cast(y, like.dtype)


def _check_order(n) -> None:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DTypeError(f"polygamma: the order n must be an int >= 0, not {n!r}")


ERF = _special("erf", (lambda d, out, x: d * _gaussian(x, _2_OVER_SQRT_PI),), bounded=True)
ERFC = _special("erfc", (lambda d, out, x: d * _gaussian(x, -_2_OVER_SQRT_PI),))
# erfcx(x) = exp(x²) erfc(x); its derivative 2x·erfcx(x) - 2/√π reuses the output.
ERFCX = _special("erfcx", (lambda d, out, x: d * (2.0 * (x * out) - _2_OVER_SQRT_PI),))
# (erf⁻¹)'(x) = √π/2 · exp(erfinv(x)²), written with the output; inf at ±1.
ERFINV = _special("erfinv", (lambda d, out, x: d * (_SQRT_PI_OVER_2 * exp(square(out))),))
NDTR = _special("ndtr", (lambda d, out, x: d * _gaussian(x * _1_OVER_SQRT_2, _1_OVER_SQRT_2PI),), bounded=True)
LOG_NDTR = _special("log_ndtr", (lambda d, out, x: d * LOG_NDTR_DERIVATIVE(x, n=1),))
# d^n/dx^n log Φ(x) (see the block above); its derivative is the next order.
LOG_NDTR_DERIVATIVE = _special("log_ndtr_derivative",
                               (lambda d, out, x: d * LOG_NDTR_DERIVATIVE(x, n=out.params.n + 1),),
                               check=_check_derivative_order, forward=_log_ndtr_derivative,
                               user="log_ndtr")
# log|Γ(x)|: its derivative is digamma everywhere, negative x included.
GAMMALN = _special("gammaln", (lambda d, out, x: d * digamma(x),))
DIGAMMA = _special("digamma", (lambda d, out, x: d * polygamma(1, x),))
POLYGAMMA = _special("polygamma", (lambda d, out, x: d * polygamma(out.params.n + 1, x),),
                     check=_check_order, order=True)
XLOGY = _special("xlogy", (lambda d, out, x, y: d * log(_as_float(y, out)), lambda d, out, x, y: d * _x_over(x, y)))
XLOG1PY = _special("xlog1py", (lambda d, out, x, y: d * log1p(_as_float(y, out)),
                               lambda d, out, x, y: d * _x_over(x, 1 + y)))
# logit'(p) = 1/p + 1/(1 - p) (1 - p is exact for p >= 1/2), not 1 / (p (1 - p)): the product's
# reverse rule meets inf·0 at p = 0 and 1, where every derivative is a signed infinity.
LOGIT = _special("logit", (lambda d, out, x: d * (1 / x + 1 / (1 - x)),))
# expit'(x) = expit(x) expit(-x): both factors accurate, where 1 - expit(x) is 0 for x > 37.
EXPIT = _special("expit", (lambda d, out, x: d * (out * expit(neg(x))),), bounded=True)


def erf(x) -> Node:
    """The error function 2/√π ∫₀ˣ exp(-t²) dt (``scipy.special.erf``).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.special.erf(sg.constant(0.5)).eval())
    0.5204998778130465
    """
    return ERF(x)


def erfc(x) -> Node:
    """1 - erf(x), accurate where erf(x) is near 1 (``scipy.special.erfc``).

    Examples
    --------
    >>> import symgrad as sg
    >>> print(f"{float(sg.special.erfc(sg.constant(10.0)).eval()):.6e}")
    2.088488e-45
    """
    return ERFC(x)


def erfcx(x) -> Node:
    """The scaled complementary error function exp(x²) erfc(x) (``scipy.special.erfcx``).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.special.erfcx(sg.constant(0.0)).eval())
    1.0
    """
    return ERFCX(x)


def erfinv(x) -> Node:
    """The inverse of erf on (-1, 1); ±inf at ±1 (``scipy.special.erfinv``).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.special.erfinv(sg.special.erf(sg.constant(0.5))).eval())
    0.5
    """
    return ERFINV(x)


def ndtr(x) -> Node:
    """The standard normal distribution function Φ(x) (``scipy.special.ndtr``).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.special.ndtr(sg.constant(0.0)).eval())
    0.5
    """
    return NDTR(x)


def log_ndtr(x) -> Node:
    """log Φ(x), accurate for very negative x (``scipy.special.log_ndtr``).

    Its derivatives, φ(x)/Φ(x) and those after it, are one op of the order n
    (``log_ndtr_derivative``), computed without underflow or cancellation: for x <= -9 from
    the asymptotic series of log Φ, exact to rounding (φ/Φ is 40.02... at x = -40, where φ
    and Φ are both below 1e-300); above, from φ/Φ (via erfcx for x < 0) by a recurrence
    that loses a few digits in the third and fourth derivatives between -9 and 0 (relative
    error below 1e-10 there).

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> print(f"{float(sg.grad(sg.special.log_ndtr(x), x).eval({x: -40.0})):.6f}")
    40.024969
    """
    return LOG_NDTR(x)


def gammaln(x) -> Node:
    """log|Γ(x)| (``scipy.special.gammaln``); inf at the poles 0, -1, -2, ...

    The derivative is digamma(x), which is -inf or NaN at the poles as SciPy gives it.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.special.gammaln(sg.constant(5.0)).eval())  # log(4!)
    3.1780538303479458
    """
    return GAMMALN(x)


def digamma(x) -> Node:
    """ψ(x) = Γ'(x)/Γ(x) (``scipy.special.digamma``); its derivative is polygamma(1, x).

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.special.digamma(sg.constant(1.0)).eval())  # minus Euler's constant
    -0.5772156649015329
    """
    return DIGAMMA(x)


def polygamma(n: int, x) -> Node:
    """The n-th derivative of digamma (``scipy.special.polygamma``), for a fixed int order n >= 0.

    ``polygamma(0, x)`` is ``digamma(x)``; the derivative of polygamma(n, x) is
    polygamma(n + 1, x). A float32 ``x`` is computed in float64 by SciPy and rounded.

    Examples
    --------
    >>> import symgrad as sg
    >>> print(f"{float(sg.special.polygamma(1, sg.constant(1.0)).eval()):.12f}")  # π²/6
    1.644934066848
    """
    _check_order(n)
    if n == 0:
        return digamma(x)
    return POLYGAMMA(x, n=int(n))


def xlogy(x, y) -> Node:
    """x * log(y), and 0 where x = 0 (y not NaN) (``scipy.special.xlogy``).

    Derivatives: log(y) in x (-inf at y = 0, where x·log(y) is ∓inf for x ≠ 0), and x / y in
    y, which is 0 wherever x = 0, y = 0 included, as the function is 0 on that line.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.special.xlogy(sg.constant([0.0, 2.0]), sg.constant([0.0, 1.0])).eval()
    array([0., 0.])
    """
    x, y = as_nodes(x, y)
    return XLOGY(x, y)


def xlog1py(x, y) -> Node:
    """x * log1p(y), and 0 where x = 0 (``scipy.special.xlog1py``); derivatives as
    :func:`xlogy`'s with 1 + y for y.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.special.xlog1py(sg.constant(0.0), sg.constant(-1.0)).eval()
    array(0.)
    """
    x, y = as_nodes(x, y)
    return XLOG1PY(x, y)


def logit(p) -> Node:
    """log(p / (1 - p)); -inf at 0 and inf at 1 (``scipy.special.logit``).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.special.logit(sg.constant([0.0, 0.5, 1.0])).eval()
    array([-inf,   0.,  inf])
    """
    return LOGIT(p)


def expit(x) -> Node:
    """The logistic function 1 / (1 + exp(-x)) (``scipy.special.expit``).

    Its derivative expit(x) expit(-x) stays accurate for large |x| (e^-40 at x = 40).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.special.expit(sg.constant([-800.0, 0.0, 800.0])).eval()
    array([0. , 0.5, 1. ])
    """
    return EXPIT(x)


__all__ = ["ERF", "ERFC", "ERFCX", "ERFINV", "NDTR", "LOG_NDTR", "LOG_NDTR_DERIVATIVE", "GAMMALN", "DIGAMMA",
           "POLYGAMMA", "XLOGY", "XLOG1PY", "LOGIT", "EXPIT",
           "erf", "erfc", "erfcx", "erfinv", "ndtr", "log_ndtr", "gammaln", "digamma", "polygamma", "xlogy",
           "xlog1py", "logit", "expit"]
