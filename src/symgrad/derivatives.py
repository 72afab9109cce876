"""Second and dense derivatives built on ``grad``, ``vjp`` and ``jvp``.

- :func:`hvp`: Hessian-vector products, by forward-over-reverse (a ``jvp`` of
  the gradient: Pearlmutter's R-operator) or reverse-over-reverse (the notes'
  ``∇x[(∇x f)ᵀ v]``). Either way the vector is held constant, as the notes
  warn: a vector computed from ``x`` is wrapped in ``stop_gradient``.
- :func:`jacobian`: one sweep per input element (forward) or per output
  element (reverse), whichever count is smaller. Each sweep is seeded with a
  one-hot *constant*, so a sweep only adds the nodes that carry the seed;
  everything else (forward values, derivative factors like ``1 - tanh²``) is
  shared through hash-consing. The graph grows linearly with the number of
  sweeps.
- :func:`hessian`: the Jacobian of the gradient, one HVP-shaped sweep per
  element of ``x``.

A second pass never reports a disconnected input: once the cost depends on
``x`` (checked by the first pass), a gradient that does not depend on ``x``
(a linear cost) has a zero Hessian, not a missing one.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .autodiff import as_derivative, check_disconnected_option, depends, grad, jvp, vjp
from .errors import GradientError, ShapeError
from .ir import CONSTANT, Node, as_list
from .ops import STOP_GRADIENT, reshape, stack, stop_gradient, sum as reduce_sum
from .types import is_float

FORWARD_OVER_REVERSE = "forward-over-reverse"
REVERSE_OVER_REVERSE = "reverse-over-reverse"
HVP_METHODS = (FORWARD_OVER_REVERSE, REVERSE_OVER_REVERSE)
# On the notes' ReLU net (bench/bench_hvp.py) the two methods are within 1-3% of each other, both
# about 1.5x the time of the gradient and 0.8x a hand-written R-operator; this one was ahead more often.
DEFAULT_HVP_METHOD = FORWARD_OVER_REVERSE


def _check_method(method: str) -> None:
    if method not in HVP_METHODS:
        raise GradientError(f"hvp: method must be one of {HVP_METHODS}, not {method!r}")


def _held_constant(vector: Node) -> Node:
    """The notes' warning: a vector computed by the graph must not be differentiated."""
    if vector.op is CONSTANT or vector.op is STOP_GRADIENT:
        return vector
    return stop_gradient(vector)


def _inner(grads: Sequence[Node], vectors: Sequence[Node]) -> Node:
    """Σ_i <grads_i, vectors_i> as one scalar node."""
    total = None
    for g, v in zip(grads, vectors):
        term = g * v
        term = reduce_sum(term) if term.ndim else term
        total = term if total is None else total + term
    return total


def hvp(cost: Node, wrt, vectors, method: str = DEFAULT_HVP_METHOD, disconnected: str = "raise"):
    """Hessian-vector products ``H v`` of a scalar ``cost``, as new nodes.

    Parameters
    ----------
    cost : Node
        A scalar float node.
    wrt : Node or list of Node
        The variables ``x`` (any shapes); a list in gives a list out, one
        block ``Σ_j H_ij v_j`` per variable.
    vectors : node, array, or a list of them
        ``v``, matching ``wrt`` in number and shape. A node computed from
        ``wrt`` is held constant (wrapped in ``stop_gradient``).
    method : {"forward-over-reverse", "reverse-over-reverse"}
        Forward-over-reverse is a ``jvp`` of the gradient (Pearlmutter's
        R-operator); reverse-over-reverse is the notes' ``∇x[(∇x f)ᵀ v]``.
        Both give the same values.
    disconnected : {"raise", "zero"}
        What to do when ``cost`` does not depend on an element of ``wrt``.
        A cost that depends on ``x`` only linearly has zero ``H v``, never an
        error.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> f = x[0] ** 3 + x[0] * x[1]      # H = [[6 x0, 1], [1, 0]]
    >>> sg.hvp(f, x, [1.0, 0.0]).eval({x: [2.0, 5.0]})
    array([12.,  1.])
    >>> sg.hvp(f, x, [1.0, 0.0], method="reverse-over-reverse").eval({x: [2.0, 5.0]})
    array([12.,  1.])
    """
    _check_method(method)
    targets, many = as_list(wrt)
    given = list(vectors) if many else [vectors]
    if len(given) != len(targets):
        raise GradientError(f"hvp: {len(targets)} variables but {len(given)} vectors")
    grads = grad(cost, targets, disconnected=disconnected)
    vs = [_held_constant(as_derivative(v, x, "hvp", "vector")) for v, x in zip(given, targets)]
    if method == FORWARD_OVER_REVERSE:
        results = jvp(grads, targets, vs)
    else:
        results = grad(_inner(grads, vs), targets, disconnected="zero")
    return results if many else results[0]


def _static_size(node: Node, what: str) -> int:
    if None in node.shape:
        raise ShapeError(f"{what}: {node.describe()} has run-time dimensions; a dense derivative "
                         "needs static shapes (use hvp, vjp or jvp for run-time shapes)")
    return math.prod(node.shape)


def _one_hot(graph, k: int, shape: tuple, dtype) -> Node:
    """The k-th basis array of ``shape`` as a constant seed for one sweep."""
    seed = np.zeros(math.prod(shape), dtype)
    seed[k] = 1
    return graph.constant(seed.reshape(shape))


def jacobian(y: Node, x: Node, mode: str = "auto", disconnected: str = "raise") -> Node:
    """The Jacobian ``dy/dx`` as one node of shape ``y.shape + x.shape``.

    Parameters
    ----------
    y, x : Node
        Float nodes with static shapes.
    mode : {"auto", "forward", "reverse"}
        ``"forward"`` runs one ``jvp`` per element of ``x``, ``"reverse"``
        one ``vjp`` per element of ``y``; ``"auto"`` picks the fewer sweeps
        (forward on a tie, as a forward sweep is the cheaper one).
    disconnected : {"raise", "zero"}
        What to do when ``y`` does not depend on ``x``.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> y = sg.stack([x[0] * x[1], sg.sin(x[0])])
    >>> sg.jacobian(y, x).eval({x: [0.0, 3.0]})
    array([[3., 0.],
           [1., 0.]])
    """
    for node, role in ((y, "output"), (x, "input")):
        if not isinstance(node, Node):
            raise TypeError(f"jacobian: the {role} must be a node, got {type(node).__name__}")
        if not is_float(node.dtype):
            raise GradientError(f"jacobian: the {role} {node.describe()} must be a float")
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    check_disconnected_option(disconnected)
    if x.graph is not y.graph:
        raise GradientError(f"jacobian: {x.describe()} belongs to another graph than {y.describe()}")
    m, n = _static_size(y, "jacobian"), _static_size(x, "jacobian")
    graph = y.graph
    forward = mode == "forward" or (mode == "auto" and n <= m)
    if not depends(y, x, "forward" if forward else "reverse"):
        if disconnected == "raise":
            raise GradientError(f"jacobian: {y.describe()} does not depend on {x.describe()} (or only "
                                "through stop_gradient, integer values or index arguments); "
                                "pass disconnected='zero' for zeros")
        return graph.constant(np.zeros(y.shape + x.shape, y.dtype))
    if m == 0 or n == 0:
        return graph.constant(np.zeros(y.shape + x.shape, y.dtype))
    if forward:
        columns = [jvp(y, x, _one_hot(graph, j, x.shape, x.dtype)) for j in range(n)]
        return reshape(stack(columns, axis=-1), y.shape + x.shape)
    rows = [vjp(y, x, _one_hot(graph, i, y.shape, y.dtype), disconnected="zero") for i in range(m)]
    return reshape(stack(rows), y.shape + x.shape)


def hessian(cost: Node, x: Node, method: str = DEFAULT_HVP_METHOD, disconnected: str = "raise") -> Node:
    """The Hessian of a scalar ``cost`` as one node of shape ``x.shape + x.shape``.

    One sweep per element of ``x``: a ``jvp`` of the gradient
    (forward-over-reverse) or a ``vjp`` of it (reverse-over-reverse), each
    seeded with a one-hot constant, i.e. ``n`` Hessian-vector products.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> f = x[0] ** 3 + x[0] * x[1]
    >>> sg.hessian(f, x).eval({x: [2.0, 5.0]})
    array([[12.,  1.],
           [ 1.,  0.]])
    """
    _check_method(method)
    gradient = grad(cost, x, disconnected=disconnected)
    mode = "forward" if method == FORWARD_OVER_REVERSE else "reverse"
    return jacobian(gradient, x, mode=mode, disconnected="zero")  # zeros for a linear cost
