"""Rewrites that change a graph for size: the one home of simplification.

Exact rewrites, which keep every value bit for bit, live with their ops
(``-(-x)`` is ``x``, see :mod:`symgrad.ops.arith`) and apply to every graph.
This module holds the rest, and they apply at one moment only: while a
derivative pass builds nodes. The passes install :func:`during_pass` as the
graph's rewrite (``graph.recording(origin, during_pass)``), so a user's own
expressions are built exactly as written. Gradient passes produce a few
patterns in bulk, and these keep them small:

- constant folding: a derivative node whose inputs are one-element
  constants becomes a constant, computed by the op's own forward (the
  value evaluation would give, inf or nan included);
- ``a + a`` is ``2 a`` (exact);
- ``broadcast_to(a) * y`` is ``a * y`` when ``y`` has the result's shape,
  and ``broadcast_to(a) * c`` is ``broadcast_to(a * c)`` for a scalar constant ``c`` (exact);
- ``(-a) c`` is ``a (-c)`` for a small constant ``c`` (exact);
- ``c1 (c2 a)`` is ``(c1 c2) a`` for scalar constants, when ``c1 c2`` is a
  normal finite number (rounds differently, within rounding);
- between repeated ``grad`` passes, a scalar derivative that is a
  polynomial in tanh/sigmoid/sin/cos values is rebuilt in Horner form
  (:func:`polynomial_form`).

The compiler folds larger constant steps with the same :func:`constant_value`
(see :mod:`symgrad.compile.steps`).

Examples
--------
>>> import symgrad as sg
>>> x = sg.scalar("x")
>>> g = sg.grad(x * x, x)          # the pass builds x + x, rewritten to 2 x
>>> g.op.name, float(g.inputs[0].value), g.inputs[1] is x
('mul', 2.0, True)
"""

from __future__ import annotations

import numpy as np

from .ir import Graph, Node, Op, ancestors
from .ops import ADD, BROADCAST_TO, MUL, NEG, add, mul
from .types import is_float

# Only one-element constants are folded: enough for the scalars that passes make, and the
# size of a graph then does not depend on whether a vector happens to be short.
FOLD_SIZE = 1


def constant_value(op: Op, values: list, params: dict, shape: tuple, dtype,
                   float_errors: str = "raise") -> np.ndarray | None:
    """What ``op`` computes from constant ``values``, read-only, or None to leave it to evaluation.

    Only symgrad's own (pure) ops run; the op's own forward computes the
    value, so it is the one evaluation would give. A forward that raises is
    left for evaluation to report, with the node named; so is one that meets
    a floating-point error (which evaluation would warn about), unless
    ``float_errors="ignore"`` keeps the inf or nan it gives.
    """
    if not op.pure:
        return None
    try:
        with np.errstate(all=float_errors):  # thread-local, unlike warning filters
            value = np.asarray(op.forward(*values, **params))
    except Exception:
        return None
    if value.dtype != dtype:
        value = value.astype(dtype)
    if value.shape != shape:
        return None
    value.flags.writeable = False  # constants are shared
    return value


def during_pass(graph: Graph, op: Op, inputs: tuple, params: dict, shape: tuple, dtype) -> Node | None:
    """The node to use instead of a new ``op(inputs)`` made by a derivative pass, or None."""
    for n in inputs:  # a loop, not all(): this runs for every node a pass makes
        if n.value is None:
            break
    else:
        return _fold(graph, op, inputs, params, shape, dtype)
    if op is MUL:
        return _mul(*inputs, shape)
    if op is ADD and inputs[0] is inputs[1] and is_float(dtype):  # a + a is 2a, exactly
        return mul(graph.constant(np.array(2, dtype)), inputs[0])
    return None


def _fold(graph: Graph, op: Op, inputs: tuple, params: dict, shape: tuple, dtype) -> Node | None:
    if None in shape or int(np.prod(shape)) > FOLD_SIZE or any(n.value.size > FOLD_SIZE for n in inputs):
        return None
    # A derivative's one-element constant keeps the inf or nan evaluation would give, silently.
    value = constant_value(op, [n.value for n in inputs], params, shape, dtype, float_errors="ignore")
    return None if value is None else graph.constant(value)


def _mul(x: Node, y: Node, shape: tuple) -> Node | None:
    for spread, other in ((x, y), (y, x)):  # broadcast_to(a) * y is a * y when y has the result's shape
        if spread.op is BROADCAST_TO and other.shape == spread.shape and other.dtype == spread.dtype:
            return mul(spread.inputs[0], other)
    for spread, other in ((x, y), (y, x)):  # broadcast_to(a) c is broadcast_to(a c), exactly, for a scalar c
        if (spread.op is BROADCAST_TO and other.value is not None and other.ndim == 0
                and other.dtype == spread.dtype):
            return BROADCAST_TO(mul(spread.inputs[0], other), **spread.params.as_dict())
    for negated, other in ((x, y), (y, x)):  # (-a)c is a(-c), exactly
        if (negated.op is NEG and other.value is not None and other.value.size <= FOLD_SIZE
                and is_float(other.dtype)):
            return mul(negated.inputs[0], other.graph.constant(-other.value))
    for c1, rest in ((x, y), (y, x)):  # c1 (c2 a) is (c1 c2) a, within rounding, for scalar constants
        if c1.value is not None and c1.value.size == 1 and rest.op is MUL and is_float(c1.dtype):
            for c2, a in ((rest.inputs[0], rest.inputs[1]), (rest.inputs[1], rest.inputs[0])):
                if c2.value is not None and c2.value.size == 1 and c2.dtype == c1.dtype and a.shape == shape:
                    with np.errstate(all="ignore"):
                        product = c1.value * c2.value
                    if np.isfinite(product) and product != 0 and np.abs(product) >= np.finfo(product.dtype).tiny:
                        return mul(c1.graph.constant(product), a)
    return None


# --- polynomials in bounded functions, between repeated gradient passes ---------------------------
#
# Differentiating tanh, sigmoid, sin or cos again and again gives polynomials in those very values
# (tanh' = 1 - tanh², σ' = σ(1 - σ)), but each reverse pass copies the whole previous graph's
# structure, so the graph doubles with every order. Between passes, a scalar derivative that is a
# polynomial in such bounded values (ops marked ``bounded``) is rebuilt in Horner form. Because
# the atoms are bounded, no intermediate of either form can overflow: the values agree to
# rounding, and a NaN atom gives NaN both ways. A sum whose terms cancel to an exact zero
# coefficient is left alone (x - x is not 0 when x is NaN).

MAX_TERMS = 64
MAX_ATOMS = 3
_POLYNOMIAL_OPS = ("add", "sub", "neg", "mul", "square")


def _poly_of(node: Node, polys: dict, atoms: dict):
    """The polynomial ``node`` computes, as {monomial: coefficient}, or None if it is not one."""
    if node.value is not None:
        return {(): float(node.value)} if node.value.shape == () and node.value.dtype.kind == "f" else None
    if node.shape != () or node.dtype.kind != "f":
        return None
    if node.op.bounded:
        if node not in atoms:
            if len(atoms) == MAX_ATOMS:
                return None
            atoms[node] = len(atoms)
        return {((atoms[node], 1),): 1.0}
    name = node.op.name
    parts = [polys.get(i) for i in node.inputs]
    if any(p is None for p in parts) or name not in _POLYNOMIAL_OPS or not node.op.pure:
        return None
    if name == "neg":
        return {m: -c for m, c in parts[0].items()}
    if name in ("add", "sub"):
        sign = 1.0 if name == "add" else -1.0
        result = dict(parts[0])
        for m, c in parts[1].items():
            total = result.get(m, 0.0) + sign * c
            if total == 0.0:
                return None  # an exact cancellation: not ours to drop
            result[m] = total
        return result if len(result) <= MAX_TERMS else None
    left, right = (parts[0], parts[0]) if name == "square" else parts
    if len(left) * len(right) > 4 * MAX_TERMS:  # too big to be worth expanding
        return None
    result: dict = {}
    for m1, c1 in left.items():
        for m2, c2 in right.items():
            powers = dict(m1)
            for atom, k in m2:
                powers[atom] = powers.get(atom, 0) + k
            m = tuple(sorted(powers.items()))
            result[m] = result.get(m, 0.0) + c1 * c2
    if len(result) > MAX_TERMS or any(c == 0.0 or not np.isfinite(c) for c in result.values()):
        return None
    return result


def _horner(poly: dict, atom_nodes: list, level: int, like: Node) -> Node:
    """Build ``poly`` (monomials over atoms[level:]) as nested Horner forms.

    Recursive, but only MAX_ATOMS + 1 deep, whatever the graph's depth.
    """
    if level == len(atom_nodes):
        return like.graph.constant(np.array(poly.get((), 0.0), like.dtype))
    atom = atom_nodes[level]
    by_power: dict = {}
    for m, c in poly.items():
        powers = dict(m)
        k = powers.pop(level, 0)
        by_power.setdefault(k, {})[tuple(sorted(powers.items()))] = c
    result = None
    for k in range(max(by_power), -1, -1):
        if result is not None:
            result = mul(result, atom)
        if k in by_power:
            coefficient = _horner(by_power[k], atom_nodes, level + 1, like)
            result = coefficient if result is None else add(result, coefficient)
    return result


def polynomial_form(node: Node) -> Node:
    """``node`` rebuilt in Horner form when it is a scalar polynomial in tanh/sigmoid/sin/cos values.

    Returns ``node`` itself when it is not one, or when the Horner form is not smaller.

    Examples
    --------
    >>> import symgrad as sg
    >>> from symgrad.rewrite import polynomial_form
    >>> x = sg.scalar("x")
    >>> t = sg.tanh(x)
    >>> p = (1 - t * t) * (1 - t * t)
    >>> q = polynomial_form(p)                        # 1 - 2t² + t⁴ in Horner form
    >>> abs(float(q.eval({x: 0.3})) - float(p.eval({x: 0.3}))) < 1e-15
    True
    """
    if node.shape != () or node.dtype.kind != "f" or node.value is not None:
        return node
    polys: dict = {}
    atoms: dict = {}
    region = ancestors([node])
    for n in region:
        p = _poly_of(n, polys, atoms)
        if p is not None:
            polys[n] = p
    poly = polys.get(node)
    if poly is None or not atoms:
        return node
    with node.graph.recording(node.graph.origin(node), during_pass):  # the rebuilt nodes belong to node's pass
        built = _horner(poly, list(atoms), 0, node)
    return built if len(ancestors([built])) < len(region) else node
