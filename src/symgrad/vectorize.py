"""Vectorization as a graph transformation: JAX's ``vmap`` over a leading axis, done on the graph.

:func:`vectorize` rebuilds some outputs with nodes replaced by *batched* nodes, which carry one
extra leading axis; every node that depends on a replaced one is rebuilt with that axis in front,
by its op's batching rule (``Op.batch``, in the op's block), in topological order. Nodes that do
not depend on the replaced ones are shared, unbatched, as they are: a rule broadcasts them only
where its op needs all its operands batched.

Dense Jacobians and Hessians are one vectorized sweep (:mod:`symgrad.derivatives`): a ``jvp`` or
``vjp`` seeded with a placeholder, vectorized with the identity in its place, so their graphs do
not grow with the number of elements.
"""

from __future__ import annotations

import numpy as np

from .errors import GraphError, RuleError, ShapeError
from .ir import Node, ancestors, output_list
from .ops import (ADD, DIV, MATMUL, MUL, NEG, SUB, add, batch_all, batch_broadcast, batch_lift, batch_loop,
                  broadcast_to, div, getitem, mul, neg, sub, transpose)
from .ops.linalg import is_identity
from .ops._define import BATCH_ELEMENTWISE, BATCH_LEADING, BATCH_LOOP
from .types import compatible, is_float


def _apply(node: Node, inputs) -> Node:
    """``node``'s op applied to other inputs with its parameters."""
    return node.graph.apply(node.op, inputs, node.params.as_dict())


def _shift(node: Node, value, name: str):
    """An axis parameter (an int or a tuple of ints) moved past the batch axis."""
    ndim = node.inputs[0].ndim if node.inputs else node.ndim
    if isinstance(value, (tuple, list)):
        return tuple(_shift(node, v, name) for v in value)
    if isinstance(value, (int, np.integer)):
        return int(value) % max(ndim, 1) + 1 if value < 0 else int(value) + 1
    raise RuleError(f"vectorize: {node.describe()}: the axis parameter {name}={value!r} cannot be shifted")


def batch_node(node: Node, inputs: list, batched: list) -> Node:
    """``node`` rebuilt on ``inputs``, where those marked in ``batched`` carry a leading batch axis."""
    rule = node.op.batch
    if rule is None:
        raise RuleError(f"vectorize: the op {node.op.name} of {node.describe()} has no batching rule "
                        "(give its Op a batch=... fact; see symgrad.Op)")
    if rule == BATCH_ELEMENTWISE:
        return _apply(node, [batch_lift(x, node.ndim) if b else x for x, b in zip(inputs, batched)])
    if rule == BATCH_LEADING:
        inputs = batch_all(inputs, batched)
        if node.op.broadcasts:  # their batch axes line up behind the new one
            inputs = [batch_lift(x, node.ndim) for x in inputs]
        return _apply(node, inputs)
    if rule == BATCH_LOOP:
        return batch_loop(node, inputs, batched)
    if isinstance(rule, tuple) and rule and rule[0] == "axes":
        params = node.params.as_dict()
        for name in rule[1:]:
            if params.get(name) is not None:
                params[name] = _shift(node, params[name], name)
        return node.graph.apply(node.op, batch_all(inputs, batched), params)
    if callable(rule):
        return rule(node, inputs, batched)
    raise RuleError(f"vectorize: the op {node.op.name} has an unknown batching rule {rule!r}")


def vectorize(outputs, replacements: dict):
    """``outputs`` rebuilt with each key of ``replacements`` replaced by its value, a *batched*
    node with one extra leading axis; the results carry that leading axis (JAX's ``vmap``).

    Parameters
    ----------
    outputs : Node or list of Node
        What to rebuild; a list in gives a list out.
    replacements : dict
        ``{node: batched_node}``: ``batched_node`` has ``node``'s dtype and shape behind one
        leading batch axis, the same length (static or run-time) for every replacement.

    Returns
    -------
    Node or list of Node
        Each output with the batch axis in front. An output that does not depend on any
        replaced node is broadcast along it (a view).

    Examples
    --------
    >>> import numpy as np, symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> y = sg.tanh(x).sum()
    >>> xs = sg.placeholder("xs", (2, 3))
    >>> ys = sg.vectorize(y, {x: xs})
    >>> ys.type
    'f64[2]'
    >>> np.allclose(ys.eval({xs: [[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]]}), [np.tanh([0.1, 0.2, 0.3]).sum(),
    ...                                                                   np.tanh([1.0, 2.0, 3.0]).sum()])
    True
    """
    nodes, many = output_list(outputs)
    if not isinstance(replacements, dict) or not replacements:
        raise TypeError("vectorize: replacements must be a non-empty dict {node: batched_node}")
    size = None
    for node, batched in replacements.items():
        if not isinstance(node, Node) or not isinstance(batched, Node):
            raise TypeError("vectorize: replacements must map nodes to nodes")
        if nodes and (node.graph is not nodes[0].graph or batched.graph is not node.graph):
            raise GraphError(f"vectorize: {node.describe()} and {batched.describe()} must belong to the "
                             "outputs' graph")
        if batched.ndim != node.ndim + 1 or not compatible(batched.shape[1:], node.shape) \
                or batched.dtype != node.dtype:
            raise ShapeError(f"vectorize: {batched.describe()} cannot stand for a batch of {node.describe()}: "
                             f"it needs one leading axis before shape {node.shape}, and dtype {node.dtype}")
        if size is not None and batched.shape[0] != size[0]:
            raise ShapeError(f"vectorize: the batched nodes disagree on the batch size ({size[0]} for "
                             f"{size[1].describe()}, {batched.shape[0]} for {batched.describe()})")
        size = (batched.shape[0], batched)
    scaled = _Scaled(dict(replacements))
    for node in ancestors(nodes):
        if node in scaled.pairs or not node.inputs:
            continue
        flags = [inp in scaled.pairs for inp in node.inputs]
        if True not in flags or scaled.rescale(node, flags):
            continue
        result = batch_node(node, [scaled.value(inp) if b else inp for inp, b in zip(node.inputs, flags)], flags)
        if result.ndim != node.ndim + 1 or not compatible(result.shape[1:], node.shape) \
                or result.dtype != node.dtype:
            raise RuleError(f"vectorize: the batching rule of {node.op.name} made {result.describe()} for "
                            f"{node.describe()}; it needs one leading batch axis before the same shape and dtype")
        scaled.pairs[node] = (result, None)
    like = size[1]
    results = [scaled.value(n) if n in scaled.pairs else batch_broadcast(n, like) for n in nodes]
    return results if many else results[0]


class _Scaled:
    """Batched values held as ``base * factor``: a batched base and an unbatched factor.

    A derivative sweep multiplies its tangents by unbatched factors over and over (chain rules
    of elementwise ops); multiplying the factors instead costs one element of the batch, not
    all of them, and one product makes the batched value where another op needs it. Sums of
    two scalings of one base are one scaling too (the two halves of a Hessian's diagonal).
    """

    def __init__(self, replacements: dict) -> None:
        self.pairs: dict[Node, tuple] = {node: (batched, None) for node, batched in replacements.items()}
        self.made: dict[Node, Node] = {}

    def value(self, node: Node) -> Node:
        """The batched value of ``node``, made once."""
        base, factor = self.pairs[node]
        if factor is None:
            return base
        made = self.made.get(node)
        if made is None:
            made = self.made[node] = mul(batch_lift(base, node.ndim), factor)
        return made

    def rescale(self, node: Node, flags: list) -> bool:
        """Record ``node`` as a scaling of a batched base, if it is one; whether it was."""
        op, inputs = node.op, node.inputs
        if not is_float(node.dtype) or any(x.dtype != node.dtype for x in inputs):
            return False
        if op is MUL and flags.count(True) == 1:
            k = flags.index(True)
            base, factor = self.pairs[inputs[k]]
            other = inputs[1 - k]
            self.pairs[node] = (base, other if factor is None else mul(factor, other))
        elif op is DIV and flags == [True, False]:
            base, factor = self.pairs[inputs[0]]
            self.pairs[node] = (base, div(1.0 if factor is None else factor, inputs[1]))
        elif op is NEG:
            base, factor = self.pairs[inputs[0]]
            self.pairs[node] = (base, node.graph.constant(-np.ones((), node.dtype)) if factor is None else neg(factor))
        elif op in (ADD, SUB) and flags == [True, True]:
            (base, f), (other_base, g) = self.pairs[inputs[0]], self.pairs[inputs[1]]
            if base is not other_base or (f is None and g is None):
                return self._add_diagonal(node)
            one = node.graph.constant(np.ones((), node.dtype))
            f, g = (one if f is None else f), (one if g is None else g)
            self.pairs[node] = (base, add(f, g) if op is ADD else sub(f, g))
        elif op is MATMUL and flags.count(True) == 1:
            return self._diagonal_product(node, flags.index(True))
        else:
            return False
        return True

    def _diagonal_product(self, node: Node, k: int) -> bool:
        """A matrix times a scaled identity seed (``diag(g) @ B``): B's rows scaled, not a product
        of n x n matrices (the seeds of a dense reverse-mode Jacobian meeting ``A @ x``)."""
        base, g = self.pairs[node.inputs[k]]
        matrix = node.inputs[1 - k]
        if g is None or node.inputs[k].ndim != 1 or matrix.ndim != 2 or not is_identity(base) \
                or g.ndim > 1:
            return False
        rows = matrix if k == 0 else transpose(matrix)  # v @ B, or A @ v = v @ A^T
        self.pairs[node] = (mul(rows, getitem(broadcast_to(g, base.shape[:1]), (slice(None), None))), None)
        return True

    def _add_diagonal(self, node: Node) -> bool:
        """``X ± scaled identity``: the scaling added onto X's diagonal (a copy of X), not a product
        and a sum of whole n x n arrays (the diagonal part of a dense Jacobian or Hessian)."""
        x, y = node.inputs
        (x_base, f), (y_base, g) = self.pairs[x], self.pairs[y]
        n = node.shape[0] if node.ndim == 1 else None
        if n is None or x.shape != node.shape or y.shape != node.shape:
            return False
        if is_identity(y_base) and g is not None and y_base.shape == (n, n):
            other, factor = x, (g if node.op is ADD else neg(g))
        elif is_identity(x_base) and f is not None and x_base.shape == (n, n) and node.op is ADD:
            other, factor = y, f
        else:
            return False
        diagonal = node.graph.constant(np.arange(n))
        self.pairs[node] = (self.value(other).at[diagonal, diagonal].add(broadcast_to(factor, (n,))), None)
        return True
