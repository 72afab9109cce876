"""Build-time rewrites: small simplifications applied as nodes are made.

Gradient passes produce the same few patterns in bulk: a product with a
constant -1, the negation of a negation, constants combined with constants,
``b * a`` next to an existing ``a * b``. These rewrites keep values bit for
bit, NaN and Inf included (IEEE negation is exact, ``a + (-b)`` *is*
``a - b``, ``*`` and ``+`` commute exactly, ``a + a`` is ``2a``), and
folding a constant runs the op's own forward, so the folded value is the one
evaluation would compute.

Two rewrites round differently, so they apply only to what derivative passes
build: ``c1 (c2 a)`` becomes ``(c1 c2) a`` when ``c1 c2`` is a normal finite
number, and, between repeated passes, a scalar derivative that is a
polynomial in tanh/sigmoid/sin/cos values is rebuilt in Horner form (see
:func:`polynomial_form`). Folding, too, touches only derivative nodes over
one-element constants: a user's own ``constant + constant`` stays as written.

Examples
--------
>>> import symgrad as sg
>>> a, b = sg.scalar("a"), sg.scalar("b")
>>> (a + -b).op.name          # a + (-b) is a - b, bit for bit
'sub'
>>> b * a is a * b            # one node for both orders
True
"""

from __future__ import annotations

import numpy as np

# Only one-element constants are folded: enough for the scalars that passes make, and the
# size of a graph then does not depend on whether a vector happens to be short.
FOLD_SIZE = 1

_SAFE: set | None = None


def foldable_ops() -> set:
    """symgrad's own pure ops (a custom op's forward might not be pure)."""
    global _SAFE
    if _SAFE is None:
        from .ops import core, elementwise, linalg, nn, reductions, shape
        leaves = {core.PLACEHOLDER, core.CONSTANT}
        _SAFE = {v for m in (core, elementwise, linalg, nn, reductions, shape) for v in vars(m).values()
                 if isinstance(v, core.Op) and v not in leaves}
    return _SAFE


def constant_value(op, values: list, params: dict, shape: tuple, dtype,
                   float_errors: str = "raise") -> np.ndarray | None:
    """What ``op`` computes from constant ``values``, read-only, or None to leave it to evaluation.

    Only symgrad's own (pure) ops run; the op's own forward computes the
    value, so it is the one evaluation would give. A forward that raises is
    left for evaluation to report, with the node named; so is one that meets
    a floating-point error (which evaluation would warn about), unless
    ``float_errors="ignore"`` keeps the inf or nan it gives.
    """
    if op not in foldable_ops():
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


def fold(graph, op, inputs: tuple, params: dict | None, shape: tuple, dtype):
    """The constant a derivative node over small constants evaluates to, or None."""
    if graph._making is None or not inputs or None in shape or int(np.prod(shape)) > FOLD_SIZE:
        return None
    if any(node.value is None or node.value.size > FOLD_SIZE for node in inputs):
        return None
    # A derivative's one-element constant keeps the inf or nan evaluation would give, silently.
    value = constant_value(op, [n.value for n in inputs], params or {}, shape, dtype, float_errors="ignore")
    return None if value is None else graph.constant(value)


def is_constant(node, value: float) -> bool:
    """Whether ``node`` is a constant whose every element equals ``value`` (checked cheaply)."""
    v = node.value
    if v is None:
        return False
    if v.ndim == 0:
        return bool(v == value)
    return v.size <= FOLD_SIZE and bool(np.all(v == value))


# --- polynomials in bounded functions, between repeated gradient passes ---------------------------
#
# Differentiating tanh, sigmoid, sin or cos again and again gives polynomials in those very values
# (tanh' = 1 - tanh², σ' = σ(1 - σ)), but each reverse pass copies the whole previous graph's
# structure, so the graph doubles with every order. Between passes, a scalar derivative that is a
# polynomial in such bounded values is rebuilt in Horner form. Because the atoms are bounded, no
# intermediate of either form can overflow: the values agree to rounding, and a NaN atom gives NaN
# both ways. A sum whose terms cancel to an exact zero coefficient is left alone (x - x is not 0
# when x is NaN).

BOUNDED = {"tanh", "sigmoid", "sin", "cos"}
MAX_TERMS = 64
MAX_ATOMS = 3


def _poly_of(node, polys: dict, atoms: dict):
    """The polynomial ``node`` computes, as {monomial: coefficient}, or None if it is not one."""
    name = node.op.name
    if node.value is not None:
        return {(): float(node.value)} if node.value.shape == () and node.value.dtype.kind == "f" else None
    if node.shape != () or node.dtype.kind != "f":
        return None
    if name in BOUNDED:
        if node not in atoms:
            if len(atoms) == MAX_ATOMS:
                return None
            atoms[node] = len(atoms)
        return {((atoms[node], 1),): 1.0}
    parts = [polys.get(i) for i in node.inputs]
    if any(p is None for p in parts) or name not in ("add", "sub", "neg", "mul", "square"):
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


def _horner(poly: dict, atom_nodes: list, level: int, like):
    """Build ``poly`` (monomials over atoms[level:]) as nested Horner forms; None for zero."""
    from .ops.elementwise import add, mul
    if level == len(atom_nodes):
        c = poly.get((), 0.0)
        return like.graph.constant(np.array(c, like.dtype))
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


def polynomial_form(node):
    """``node`` rebuilt in Horner form when it is a scalar polynomial in tanh/sigmoid/sin/cos values.

    Returns ``node`` itself when it is not one, or when the Horner form is not smaller.

    Examples
    --------
    >>> import symgrad as sg
    >>> from symgrad.simplify import polynomial_form
    >>> x = sg.scalar("x")
    >>> t = sg.tanh(x)
    >>> p = (1 - t * t) * (1 - t * t)
    >>> q = polynomial_form(p)                        # 1 - 2t² + t⁴ in Horner form
    >>> abs(float(q.eval({x: 0.3})) - float(p.eval({x: 0.3}))) < 1e-15
    True
    """
    from .graph import ancestors
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
    from .autodiff import _building
    with _building(node.graph, node.graph.origin(node)):  # the rebuilt nodes belong to node's pass
        built = _horner(poly, list(atoms), 0, node)
    return built if len(ancestors([built])) < len(region) else node
