"""Second and dense derivatives built on ``grad``, ``vjp``, ``jvp`` and ``vectorize``.

- :func:`hvp`: Hessian-vector products, by forward-over-reverse (a ``jvp`` of
  the gradient: Pearlmutter's R-operator) or reverse-over-reverse (the notes'
  ``∇x[(∇x f)ᵀ v]``). Either way the vector is held constant, as the notes
  warn: a vector computed from ``x`` is wrapped in ``stop_gradient``. With
  ``batched=True``, a whole stack of vectors in one vectorized sweep.
- :func:`jacobian`: one *vectorized* sweep: a ``jvp`` (forward) or ``vjp``
  (reverse) seeded with a stand-in placeholder, rebuilt by
  :func:`~symgrad.vectorize` with the identity in its place. The graph has the
  same size for any number of elements; matrix products by the identity
  become transposes. Where an op has no batching rule (a custom op), or
  when asked, one sweep per element instead, each seeded with a one-hot
  constant (the graph then grows linearly with the number of sweeps).
- :func:`hessian`: the Jacobian of the gradient (HVPs against the identity).

A second pass never reports a disconnected input: once the cost depends on
``x`` (checked by the first pass), a gradient that does not depend on ``x``
(a linear cost) has a zero Hessian, not a missing one.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .autodiff import as_derivative, check_disconnected_option, depends, grad, jvp, vjp
from .errors import GradientError, RuleError, ShapeError
from .ir import CONSTANT, Node, as_list, as_node
from .ops import STOP_GRADIENT, reshape, stack, stop_gradient, sum as reduce_sum, transpose
from .types import compatible, is_float
from .vectorize import vectorize

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


def hvp(cost: Node, wrt, vectors, method: str = DEFAULT_HVP_METHOD, disconnected: str = "raise",
        batched: bool = False):
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
    batched : bool
        The vectors are stacks ``V`` of shape ``(k, *x.shape)`` (one ``k`` for
        every variable); the results are ``(k, *x.shape)`` too, ``H V[i]`` in
        row ``i``, computed in one vectorized sweep.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> f = x[0] ** 3 + x[0] * x[1]      # H = [[6 x0, 1], [1, 0]]
    >>> sg.hvp(f, x, [1.0, 0.0]).eval({x: [2.0, 5.0]})
    array([12.,  1.])
    >>> sg.hvp(f, x, [1.0, 0.0], method="reverse-over-reverse").eval({x: [2.0, 5.0]})
    array([12.,  1.])
    >>> sg.hvp(f, x, [[1.0, 0.0], [0.0, 1.0]], batched=True).eval({x: [2.0, 5.0]})
    array([[12.,  1.],
           [ 1.,  0.]])
    """
    _check_method(method)
    targets, many = as_list(wrt)
    given = list(vectors) if many else [vectors]
    if len(given) != len(targets):
        raise GradientError(f"hvp: {len(targets)} variables but {len(given)} vectors")
    if batched:
        stacks = [_held_constant(_as_stack(v, x, "hvp", "vectors")) for v, x in zip(given, targets)]
        seeds = [_seed(x, "hvp") for x in targets]
        results = vectorize(hvp(cost, targets, seeds, method, disconnected), dict(zip(seeds, stacks)))
        return results if many else results[0]
    grads = grad(cost, targets, disconnected=disconnected)
    vs = [_held_constant(as_derivative(v, x, "hvp", "vector")) for v, x in zip(given, targets)]
    if method == FORWARD_OVER_REVERSE:
        results = jvp(grads, targets, vs)
    else:
        results = grad(_inner(grads, vs), targets, disconnected="zero")
    return results if many else results[0]


def _as_stack(value, like: Node, what: str, role: str) -> Node:
    """A stack of tangents for ``like`` given by the user: a node or an array of shape (k, *like.shape)."""
    node = value if isinstance(value, Node) else as_node(np.asarray(value, dtype=like.dtype), like.graph)
    if node.graph is not like.graph:
        raise GradientError(f"{what}: the {role} {node.describe()} belong to another graph")
    if node.ndim != like.ndim + 1 or not compatible(node.shape[1:], like.shape):
        raise ShapeError(f"{what}: the {role} {node.describe()} must be a stack of arrays shaped like "
                         f"{like.describe()}: shape (k, {', '.join(map(str, like.shape))})")
    if node.dtype != like.dtype:
        raise GradientError(f"{what}: the {role} {node.describe()} must have the dtype of {like.describe()}")
    return node


def _seed(like: Node, what: str) -> Node:
    """A placeholder standing for one tangent or cotangent of ``like``: the sweep is built with it,
    then vectorized with a stack of seeds in its place (it is never fed)."""
    return like.graph.placeholder(f"{what}_seed_for_%{like.id}", like.shape, like.dtype)


def check_float_pair(y: Node, x: Node, what: str) -> None:
    """The checks of every dense or sparse derivative ``dy/dx``: float nodes of one graph."""
    for node, role in ((y, "output"), (x, "input")):
        if not isinstance(node, Node):
            raise TypeError(f"{what}: the {role} must be a node, got {type(node).__name__}")
        if not is_float(node.dtype):
            raise GradientError(f"{what}: the {role} {node.describe()} must be a float")
    if x.graph is not y.graph:
        raise GradientError(f"{what}: {x.describe()} belongs to another graph than {y.describe()}")


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


def _identity(graph, n: int, shape: tuple, dtype) -> Node:
    """Every basis array of ``shape``, stacked: the seeds of one vectorized sweep."""
    return graph.constant(np.eye(n, dtype=dtype).reshape((n,) + shape))


# Below this many sweeps, one sweep per element runs faster than the vectorized sweep (its
# small matrix products and broadcasts cost more than n vector ops); measured with
# bench/dense_derivatives.py (see the README).
PER_ELEMENT_BELOW = 2


def jacobian(y: Node, x: Node, mode: str = "auto", disconnected: str = "raise",
             vectorized: bool | None = None) -> Node:
    """The Jacobian ``dy/dx`` as one node of shape ``y.shape + x.shape``.

    Parameters
    ----------
    y, x : Node
        Float nodes with static shapes.
    mode : {"auto", "forward", "reverse"}
        ``"forward"`` pushes the tangents of every element of ``x`` (a
        ``jvp``), ``"reverse"`` pulls the cotangents of every element of
        ``y`` (a ``vjp``); ``"auto"`` picks the fewer of them. On a tie, a
        vectorized sweep is reverse (its rows are the Jacobian's rows) and
        per-element sweeps are forward (a forward sweep is the cheaper one).
    disconnected : {"raise", "zero"}
        What to do when ``y`` does not depend on ``x``.
    vectorized : bool or None
        ``True``: one vectorized sweep seeded with the identity, so the graph
        has the same size for any number of elements; ``False``: one sweep
        per element; ``None`` (default): vectorized, except for a single
        element or where an op has no batching rule.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> y = sg.stack([x[0] * x[1], sg.sin(x[0])])
    >>> sg.jacobian(y, x).eval({x: [0.0, 3.0]})
    array([[3., 0.],
           [1., 0.]])
    """
    check_float_pair(y, x, "jacobian")
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    if vectorized not in (None, True, False):
        raise ValueError(f"jacobian: vectorized must be True, False or None, not {vectorized!r}")
    check_disconnected_option(disconnected)
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
    sweeps = n if forward else m
    # vectorized, a tie goes to reverse mode: its rows are the Jacobian's rows, where forward
    # mode's are its columns (a transposed result, read across its rows by what follows)
    vectorized_forward = mode == "forward" or (mode == "auto" and n < m)
    if vectorized is None and sweeps >= PER_ELEMENT_BELOW:
        try:
            return _vectorized_jacobian(y, x, vectorized_forward, m, n)
        except RuleError:  # an op that cannot batch (a custom op's): one sweep per element
            pass
    elif vectorized:
        return _vectorized_jacobian(y, x, vectorized_forward, m, n)
    if forward:
        columns = [jvp(y, x, _one_hot(graph, j, x.shape, x.dtype)) for j in range(n)]
        return reshape(stack(columns, axis=-1), y.shape + x.shape)
    rows = [vjp(y, x, _one_hot(graph, i, y.shape, y.dtype), disconnected="zero") for i in range(m)]
    return reshape(stack(rows), y.shape + x.shape)


def _vectorized_jacobian(y: Node, x: Node, forward: bool, m: int, n: int) -> Node:
    graph = y.graph
    if forward:  # row j: the tangent of y along the j-th basis vector, i.e. column j of J
        seed = _seed(x, "jacobian")
        columns = vectorize(jvp(y, x, seed), {seed: _identity(graph, n, x.shape, x.dtype)})
        return reshape(transpose(reshape(columns, (n, m))), y.shape + x.shape)
    seed = _seed(y, "jacobian")
    rows = vectorize(vjp(y, x, seed, disconnected="zero"), {seed: _identity(graph, m, y.shape, y.dtype)})
    return reshape(rows, y.shape + x.shape)


def hessian(cost: Node, x: Node, method: str = DEFAULT_HVP_METHOD, disconnected: str = "raise",
            vectorized: bool | None = None) -> Node:
    """The Hessian of a scalar ``cost`` as one node of shape ``x.shape + x.shape``.

    Hessian-vector products against every basis vector: a ``jvp`` of the
    gradient (forward-over-reverse) or a ``vjp`` of it (reverse-over-reverse),
    in one vectorized sweep (``vectorized`` as in :func:`jacobian`).

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
    if mode == "forward" and vectorized is not False and _static_size(x, "hessian") >= PER_ELEMENT_BELOW:
        # H is symmetric: the HVPs against the basis vectors are its rows as well as its columns,
        # so the stacked sweep is the Hessian without a transpose
        n = math.prod(x.shape)
        if depends(gradient, x, "forward"):
            try:
                seed = _seed(x, "hessian")
                rows = vectorize(jvp(gradient, x, seed), {seed: _identity(x.graph, n, x.shape, x.dtype)})
                return reshape(rows, x.shape + x.shape)
            except RuleError:  # an op that cannot batch: one sweep per element, not a second try
                if vectorized:
                    raise
                vectorized = False
    return jacobian(gradient, x, mode=mode, disconnected="zero", vectorized=vectorized)  # zeros for a linear cost
