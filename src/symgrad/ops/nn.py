"""Neural-network functions, in the numerically stable forms the notes ask for.

``log_softmax`` is a primitive (shift by the row maximum, subtract the log of
the sum of exponentials) whose derivatives reuse its output; ``softmax`` is
its exponential, and the cross-entropies are compositions written on the
logits, never on probabilities, so neither ``log(0)`` nor ``exp(1000)`` can
occur.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError, IndexingError, ShapeError
from ..ir import Node, as_nodes, disconnected_rule
from ..types import (check_dtype, check_int_argument, compatible, float_result, is_float, normalize_axes,
                     normalize_axis, require_canonical)
from ._define import (BATCH_ELEMENTWISE, along_axis_sparsity, batch_axes, elementwise, elementwise_sparsity,
                      no_dependence, primitive)
from .elementary import exp, sigmoid, square
from .reductions import mean, sum
from .select import equal, where


def _log_softmax(x, axis):
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    with np.errstate(over="ignore"):  # 1e308 - (-1e308) is -inf, exactly what log_softmax rounds to
        shifted = x - np.max(x, axis, keepdims=True)  # the row maximum becomes exactly 0
    return shifted - np.log(np.sum(np.exp(shifted), axis, keepdims=True))


def _log_softmax_infer(x, axis):
    require_canonical("log_softmax", "axis", axis, normalize_axes("log_softmax", x.shape, axis, x), x)
    if any(x.shape[a] == 0 for a in axis):
        raise ShapeError(f"log_softmax: cannot normalize over the empty axis of {x.describe()}")
    return x.shape, float_result("log_softmax", x.dtype, x)


def _log_softmax_xp(xp):
    """log_softmax in the array-API standard: the max taken out."""
    def kernel(x, axis):
        z = x - xp.max(x, axis=axis, keepdims=True)
        return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))
    return kernel


# With p = softmax = exp(out): d out = d x - sum(p d x), and its transpose
# d x = d - p sum(d). exp(out) is accurate: out <= 0, computed from shifted logits.
LOG_SOFTMAX = primitive(
    "log_softmax", _log_softmax, _log_softmax_infer,
    vjp=(lambda out_bar, out, x: out_bar - exp(out) * sum(out_bar, out.params.axis, keepdims=True),),
    jvp=(lambda x_dot, out, x: x_dot - sum(exp(out) * x_dot, out.params.axis, keepdims=True),),
    batch=batch_axes("axis"), sparsity=along_axis_sparsity("all"),
    array_api=_log_softmax_xp)


def log_softmax(x, axis: int = -1) -> Node:
    """log(softmax(x)) = s - log(sum(exp(s))) with s = x - max(x), stable for any logits.

    Shifting by the row maximum first keeps the result exact when the logits
    are much larger than their differences: ``x - logsumexp(x)`` would lose
    log 2 of ``[1e8, 1e8]`` in float32 rounding. One op, whose derivatives
    use its own output: softmax is ``exp(log_softmax)``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.log_softmax(sg.constant([0.0, 0.0])).eval()
    array([-0.69314718, -0.69314718])
    >>> sg.softmax(sg.constant([1e8, 1e8], dtype="float32")).eval()
    array([0.5, 0.5], dtype=float32)
    """
    (x,) = as_nodes(x, op="log_softmax")
    return LOG_SOFTMAX(x, axis=normalize_axes("log_softmax", x.shape, axis, x))


def softmax(x, axis: int = -1) -> Node:
    """exp(x) / sum(exp(x)) along ``axis``, computed as exp(log_softmax(x)).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.softmax(sg.constant([1000.0, 1000.0])).eval()
    array([0.5, 0.5])
    """
    return exp(log_softmax(x, axis))


def _one_hot(labels, depth, dtype):
    if labels.size and (labels.min() < 0 or labels.max() >= depth):
        raise IndexingError(f"one_hot: labels must lie in [0, {depth}), got values from "
                         f"{labels.min()} to {labels.max()}")
    return (labels[..., None] == np.arange(depth)).astype(dtype)


def _one_hot_infer(labels, depth, dtype):
    require_canonical("one_hot", "depth", depth, check_int_argument("one_hot", depth, labels, 0, "depth"), labels)
    require_canonical("one_hot", "dtype", dtype, check_dtype(dtype, f"one_hot of {labels.describe()}"), labels)
    if labels.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: labels {labels.describe()} must be integers, not {labels.dtype}")
    return labels.shape + (depth,), dtype


ONE_HOT = primitive("one_hot", _one_hot, _one_hot_infer, vjp=(disconnected_rule,), jvp=(disconnected_rule,),
                    batch=BATCH_ELEMENTWISE, sparsity=no_dependence,
    array_api=lambda xp: lambda labels, depth, dtype: xp.astype(labels[..., None] == xp.arange(depth), getattr(xp, np.dtype(dtype).name)))


def one_hot(labels, depth: int, dtype="float64") -> Node:
    """Integer labels as one-hot rows of length ``depth``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.one_hot(sg.constant([2, 0]), 3).eval()
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    (labels,) = as_nodes(labels, op="one_hot")
    depth = check_int_argument("one_hot", depth, labels, 0, "depth")
    return ONE_HOT(labels, depth=depth, dtype=check_dtype(dtype, f"one_hot of {labels.describe()}"))


def cross_entropy(logits, labels, axis: int = -1) -> Node:
    """Mean softmax cross-entropy of unnormalised ``logits`` against ``labels``.

    ``labels`` are class indices (integers, one fewer dimension than the
    logits) or probability rows (floats, the logits' shape). Computed from
    log_softmax, so it stays finite for logits of any size.

    Examples
    --------
    >>> import symgrad as sg
    >>> z = sg.constant([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(sg.cross_entropy(z, sg.constant([0, 1])).eval()), 4)
    0.1269
    """
    logits, labels = as_nodes(logits, labels, op="cross_entropy")
    if not is_float(logits.dtype):
        raise DTypeError(f"cross_entropy: logits {logits.describe()} must be floats")
    if logits.ndim == 0:
        raise ShapeError(f"cross_entropy: logits {logits.describe()} need a class axis")
    axis = normalize_axis("cross_entropy", logits.ndim, axis, logits)
    if labels.dtype.kind in "iu":
        expected = logits.shape[:axis] + logits.shape[axis + 1:]
        depth = logits.shape[axis]
        if axis != logits.ndim - 1 or depth is None or len(labels.shape) != len(expected):
            raise ShapeError(f"cross_entropy: integer labels {labels.describe()} need logits with a static "
                             f"last class axis and one more dimension, got {logits.describe()}")
        _same_shape(labels, expected, f"integer labels {labels.describe()} need shape "
                    f"{expected}, one label per row of the logits {logits.describe()}")
        # The label's log-probability, selected rather than multiplied by a one-hot row: a -inf
        # logit elsewhere in the row would make 0 * -inf = nan.
        picked = where(one_hot(labels, depth, "bool"), log_softmax(logits, axis), 0.0)
        return mean(-sum(picked, axis))
    if not is_float(labels.dtype):
        raise DTypeError(f"cross_entropy: labels {labels.describe()} must be integers or floats")
    _same_shape(labels, logits.shape, f"probability labels {labels.describe()} need the shape of "
                f"the logits {logits.describe()}")
    log_p = log_softmax(logits, axis)
    # A zero label on a -inf log-probability (a masked logit, or 1e308 beside -1e308) adds 0, the
    # limit, not 0 * -inf = nan. Only there: elsewhere a zero label still has its derivative, -log_p.
    log_p = where(equal(labels, 0), where(equal(log_p, -np.inf), 0.0, log_p), log_p)
    return mean(-sum(labels * log_p, axis))


def _same_shape(labels: Node, shape: tuple, message: str) -> None:
    """Labels must match exactly (run-time dimensions match anything): no broadcasting of labels."""
    if not compatible(labels.shape, shape):
        raise ShapeError(f"cross_entropy: {message}")


def _sigmoid_cross_entropy(z, y):
    # softplus(z) - y z as (1 - y) max(z, 0) + y max(-z, 0) + log1p(e^-|z|): no cancellation at a
    # large logit (softplus(20) - 20 loses 3e-7), and a zero weight on an infinite logit adds 0,
    # the limit, not 0 * inf = nan.
    z = np.asarray(z)
    if z.dtype.kind != "f":  # integer or bool logits: computed in the labels' float type, else float64
        z = z.astype(y.dtype if y.dtype.kind == "f" else np.float64)
    with np.errstate(invalid="ignore"):
        above = np.where(y == 1, 0.0, (1 - y) * np.maximum(z, 0))
        below = np.where(y == 0, 0.0, y * np.maximum(-z, 0))
    return above + below + np.log1p(np.exp(-np.abs(z)))


def _sigmoid_cross_entropy_xp(xp):
    """The NumPy forward's stable form in the array-API standard."""
    def kernel(z, y):
        zero = xp.zeros_like(z)
        above = xp.where(y == 1, zero, (1 - y) * xp.maximum(z, zero))  # a zero weight on inf adds 0
        below = xp.where(y == 0, zero, y * xp.maximum(-z, zero))
        return above + below + xp.log1p(xp.exp(-xp.abs(z)))
    return kernel


# d/dz = sigmoid(z) - y, written (1 - y) sigmoid(z) - y sigmoid(-z): exact where sigmoid(z) is near y.
SIGMOID_CROSS_ENTROPY = elementwise(
    "sigmoid_cross_entropy", _sigmoid_cross_entropy,
    (lambda d, out, z, y: d * ((1 - y) * sigmoid(z) - y * sigmoid(-z)), lambda d, out, z, y: -(d * z)),
    sparsity=elementwise_sparsity(((0, 0), (0, 1))),
    array_api=_sigmoid_cross_entropy_xp)  # nonlinear in the logit, linear in the label


def sigmoid_cross_entropy(logits, labels) -> Node:
    """Mean binary cross-entropy written on the logit: softplus(z) - y z.

    Exact for every logit: no cancellation at large ones, 0 for a label of 1 at
    a logit of +inf (and of 0 at -inf); its derivative is sigmoid(z) - y.

    Examples
    --------
    >>> import symgrad as sg
    >>> float(sg.sigmoid_cross_entropy(sg.constant([800.0]), sg.constant([0.0])).eval())
    800.0
    >>> float(sg.sigmoid_cross_entropy(sg.constant([20.0]), sg.constant([1.0])).eval())  # log1p(exp(-20))
    2.061153620314381e-09
    """
    logits, labels = as_nodes(logits, labels, op="sigmoid_cross_entropy")
    return mean(SIGMOID_CROSS_ENTROPY(logits, labels))


def mse(prediction, target) -> Node:
    """Mean squared error.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.mse(sg.constant([1.0, 3.0]), sg.constant([0.0, 0.0])).eval()
    array(5.)
    """
    prediction, target = as_nodes(prediction, target, op="mse")
    return mean(square(prediction - target))


__all__ = ["ONE_HOT", "LOG_SOFTMAX", "SIGMOID_CROSS_ENTROPY", "log_softmax", "softmax", "one_hot", "cross_entropy",
           "sigmoid_cross_entropy", "mse"]
