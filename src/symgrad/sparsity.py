"""Sparse derivatives: structural patterns from the graph, and compressed sweeps by coloring.

- :func:`jacobian_sparsity`, :func:`hessian_sparsity`: which derivative elements may be
  nonzero, found without evaluating the graph by propagating index sets in topological
  order. A node's set is a boolean matrix (rows: its flattened elements; columns: ``x``'s)
  held as CSR index arrays; each op's ``sparsity`` fact (see :class:`~symgrad.ir.Op`) maps
  its inputs' sets to its own. Hessian patterns add, at every op nonlinear in its inputs,
  the outer unions of those inputs' sets (mul: cross terms only; linear ops pass sets on),
  for the op's result elements that reach the cost (found first by running the maps
  backwards from the cost).
- :func:`sparse_jacobian`, :func:`sparse_hessian`: color the pattern's columns so that no
  two columns of one color share a row (for Hessians, a symmetric star coloring, which
  allows direct recovery with fewer colors), then one forward sweep (jvp; HVP for
  Hessians) per color seeded with the color's indicator vector, and pick each nonzero out
  of the compressed result.

The patterns are structural: an element outside one is zero at every point (where the
derivative exists); an element inside may still be zero at a point. Ops whose fact is
conservative (decompositions, sort, custom ops) give larger patterns, never smaller ones.

Examples
--------
>>> import symgrad as sg
>>> x = sg.vector("x", 4)
>>> y = x[1:] * x[:-1]
>>> sg.jacobian_sparsity(y, x).astype(int)
array([[1, 1, 0, 0],
       [0, 1, 1, 0],
       [0, 0, 1, 1]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .autodiff import check_disconnected_option, depends, grad, jvp
from .derivatives import check_float_pair
from .errors import GradientError, ShapeError
from .ir import DENSE, Node, ancestors
from .ops import reshape, stack, take
from .types import is_float

try:
    import scipy.sparse as scipy_sparse
except ImportError:  # SciPy is optional (symgrad[special]); only format="scipy" and to_scipy need it
    scipy_sparse = None

FORMATS = ("numpy", "scipy", "indices")
# Above this many candidate Hessian pairs for one op, and with x small enough, the pairs are
# accumulated as a dense boolean product instead of listed (a dense layer makes n² pairs per row).
_PAIR_BUDGET = 4_000_000
_DENSE_HESSIAN_LIMIT = 10_000


# --- boolean CSR matrices as (indptr, indices) -------------------------------------------

def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(s, s + l)`` for each pair, without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - lengths - starts, lengths)


def _unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct keys (a sort and a mask: faster than np.unique's hashing on small arrays)."""
    keys = np.sort(keys)
    keep = np.ones(keys.size, bool)
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _from_pairs(rows: np.ndarray, cols: np.ndarray, m: int, n: int) -> tuple:
    """CSR of the set of (row, col) pairs, sorted and without repeats."""
    keys = _unique(rows.astype(np.int64) * n + cols)
    rows, cols = np.divmod(keys, n)
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m))]), cols


def _apply(step, pattern: tuple, n: int) -> tuple:
    in_index, out_index, out_size = step
    indptr, indices = pattern
    starts, lengths = indptr[:-1], np.diff(indptr)
    if out_index is None:  # a gather: one input row (or none) per result row
        valid = in_index >= 0
        picked = in_index[valid]
        counts = np.zeros(in_index.size, np.int64)
        counts[valid] = lengths[picked]
        return np.concatenate([[0], np.cumsum(counts)]), indices[_ranges(starts[picked], counts[valid])]
    counts = lengths[in_index]
    rows = np.repeat(out_index, counts)
    return _from_pairs(rows, indices[_ranges(starts[in_index], counts)], out_size, n)


def _map(steps, pattern: tuple, out_size: int, n: int) -> tuple:
    if steps is DENSE:
        union = np.unique(pattern[1])
        return np.arange(out_size + 1, dtype=np.int64) * union.size, np.tile(union, out_size)
    for step in steps:
        pattern = _apply(step, pattern, n)
    return pattern


def _union(patterns: list, m: int, n: int) -> tuple:
    first = patterns[0]
    if all(p[1].size == first[1].size and np.array_equal(p[1], first[1]) and np.array_equal(p[0], first[0])
           for p in patterns[1:]):
        return first  # x + x, or two inputs with one pattern (common on chains)
    rows = np.concatenate([np.repeat(np.arange(m), np.diff(p[0])) for p in patterns])
    return _from_pairs(rows, np.concatenate([p[1] for p in patterns]), m, n)


def _outer_pairs(a: tuple, b: tuple) -> tuple:
    """All (col of a's row r, col of b's row r) pairs, over every row r."""
    a_lengths, b_lengths = np.diff(a[0]), np.diff(b[0])
    a_rows = np.repeat(np.arange(a_lengths.size), a_lengths)
    times = b_lengths[a_rows]
    return np.repeat(a[1], times), b[1][_ranges(b[0][:-1][a_rows], times)]


def _dense_rows(pattern: tuple, rows: slice, n: int) -> np.ndarray:
    indptr, indices = pattern
    lo, hi = rows.start, min(rows.stop, indptr.size - 1)
    block = np.zeros((hi - lo, n), np.float32)
    counts = np.diff(indptr[lo:hi + 1])
    block[np.repeat(np.arange(hi - lo), counts), indices[indptr[lo]:indptr[hi]]] = 1
    return block


# --- propagation -------------------------------------------------------------------------

def _check(y: Node, x: Node, what: str) -> tuple[int, int]:
    check_float_pair(y, x, what)
    for node in (y, x):
        if None in node.shape:
            raise ShapeError(f"{what}: {node.describe()} has run-time dimensions; a sparsity pattern "
                             "needs static shapes")
    return math.prod(y.shape), math.prod(x.shape)


def _fact(node: Node) -> tuple:
    """The node's op's sparsity fact applied: (maps, pairs); dense and nonlinear without one."""
    if node.op.sparsity is None:  # a custom op: every element may depend on every element, nonlinearly
        return [DENSE] * len(node.inputs), "all"
    return node.op.sparsity(node, *node.inputs, **node.params.as_dict())


def _dependents(y: Node, x: Node, what: str) -> list[Node]:
    """The float nodes among y's ancestors that depend on x (x first), in topological order."""
    found, dependent = {x}, [x]
    for node in ancestors([y]):
        if node.id > x.id and is_float(node.dtype) and any(inp in found for inp in node.inputs):
            if None in node.shape:
                raise ShapeError(f"{what}: {node.describe()} has run-time dimensions; a sparsity "
                                 "pattern needs static shapes")
            found.add(node)
            dependent.append(node)
    return dependent


def _pull(steps, mask: np.ndarray, size: int) -> np.ndarray:
    """The input elements that reach the result elements in ``mask`` through ``steps``."""
    if steps is DENSE:
        return np.full(size, bool(mask.any()))
    sizes = [size] + [step[2] for step in steps[:-1]]
    for (in_index, out_index, _), in_size in zip(reversed(steps), reversed(sizes)):
        reached = np.zeros(in_size, bool)
        if out_index is None:
            reached[in_index[mask & (in_index >= 0)]] = True
        else:
            reached[in_index[mask[out_index]]] = True
        mask = reached
    return mask


def _live(nodes: list[Node], y: Node) -> dict:
    """For each node, which of its elements reach y (an element that does not cannot add
    Hessian terms): the facts' maps run backwards, from y's last node to x."""
    dependent = set(nodes)
    live = {y: np.ones(math.prod(y.shape), bool)}
    for node in reversed(nodes[1:]):
        mask = live.get(node)
        if mask is None or not mask.any():
            continue
        maps, _ = _fact(node)
        for inp, steps in zip(node.inputs, maps):
            if steps is not None and inp in dependent:
                reached = _pull(steps, mask, math.prod(inp.shape))
                live[inp] = live[inp] | reached if inp in live else reached
    return live


def _propagate(y: Node, x: Node, what: str, hessian: bool):
    """``(pattern of y, Hessian pairs)``: y's Jacobian pattern as CSR, and, if asked, the
    (row, col) pairs of the Hessian pattern of sum(y), unsorted and possibly repeated."""
    m, n = _check(y, x, what)
    nodes = _dependents(y, x, what)
    live = _live(nodes, y) if hessian else {}
    uses: dict = {}
    for node in nodes:
        for inp in node.inputs:
            uses[inp] = uses.get(inp, 0) + 1
    patterns = {x: (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))}
    pairs = _PairList()
    for node in nodes[1:]:
        maps, nonlinear = _fact(node)
        size = math.prod(node.shape)
        known = [patterns.get(inp) for inp in node.inputs]
        mapped = {k: _map(maps[k], p, size, n) for k, p in enumerate(known)
                  if p is not None and maps[k] is not None}
        if mapped:
            patterns[node] = _union(list(mapped.values()), size, n)
            mask = live.get(node)
            if hessian and nonlinear and mask is not None and mask.any():
                if nonlinear == "all":
                    nonlinear = [(i, j) for i in mapped for j in mapped if i <= j]
                for i, j in nonlinear:
                    if i in mapped and j in mapped:
                        _add_pairs(_rows_in(mapped[i], mask), _rows_in(mapped[j], mask), n, pairs)
        for inp in node.inputs:  # free sets no later node reads
            uses[inp] -= 1
            if uses[inp] == 0 and inp is not y:
                patterns.pop(inp, None)
    result = patterns.get(y, (np.zeros(m + 1, np.int64), np.zeros(0, np.int64)))
    if pairs.dense is not None:
        pairs.append(np.nonzero(pairs.dense))
    return result, pairs


def _rows_in(pattern: tuple, mask: np.ndarray) -> tuple:
    """The pattern with the rows outside ``mask`` emptied."""
    if mask.all():
        return pattern
    indptr, indices = pattern
    counts = np.where(mask, np.diff(indptr), 0)
    return np.concatenate([[0], np.cumsum(counts)]), indices[np.repeat(mask, np.diff(indptr))]


class _PairList(list):
    """(rows, cols) arrays of Hessian pairs; how many were added since the last merge and how
    many the merge kept; and a dense boolean matrix for the pairs of dense rows (made if needed)."""
    pending = merged = 0
    dense = None


def _add_pairs(a: tuple, b: tuple, n: int, pairs: _PairList) -> None:
    count = int(np.diff(a[0]) @ np.diff(b[0]))
    if count == 0:
        return
    if count > _PAIR_BUDGET and n <= _DENSE_HESSIAN_LIMIT:
        if pairs.dense is None:
            pairs.dense = np.zeros((n, n), bool)
        chunk = max(1, 10_000_000 // n)
        for lo in range(0, a[0].size - 1, chunk):
            rows = slice(lo, lo + chunk)
            pairs.dense |= (_dense_rows(a, rows, n).T @ _dense_rows(b, rows, n)) > 0
        return
    pairs.append(_outer_pairs(a, b))
    pairs.pending += count
    if pairs.pending > max(_PAIR_BUDGET, pairs.merged):  # merge, dropping repeats (chains repeat pairs)
        rows, cols = np.divmod(_unique(np.concatenate([p[0] * n + p[1] for p in pairs])), n)
        pairs[:] = [(rows, cols)]
        pairs.pending, pairs.merged = 0, rows.size


def _hessian_pairs(cost: Node, x: Node, what: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The Hessian pattern of ``cost`` (summed, if not a scalar) as sorted (row, col) arrays."""
    _, pairs = _propagate(cost, x, what, hessian=True)
    n = math.prod(x.shape)
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), n
    r = np.concatenate([p[0] for p in pairs] + [p[1] for p in pairs])
    c = np.concatenate([p[1] for p in pairs] + [p[0] for p in pairs])
    indptr, cols = _from_pairs(r, c, n, n)
    return np.repeat(np.arange(n), np.diff(indptr)), cols, n


def _formatted(rows: np.ndarray, cols: np.ndarray, shape: tuple, format: str, what: str):
    if format == "indices":
        return rows, cols
    if format == "scipy":
        if scipy_sparse is None:
            raise ImportError(f"{what}: format='scipy' needs SciPy (pip install scipy, or symgrad[special]); "
                              "format='indices' gives the (rows, cols) arrays without it")
        data = np.ones(rows.size, bool)
        return scipy_sparse.csr_array((data, (rows, cols)), shape=shape)
    if format != "numpy":
        raise ValueError(f"{what}: format must be one of {FORMATS}, not {format!r}")
    dense = np.zeros(shape, bool)
    dense[rows, cols] = True
    return dense


def jacobian_sparsity(y: Node, x: Node, format: str = "numpy"):
    """The structural nonzeros of the Jacobian ``dy/dx``, found from the graph alone.

    Parameters
    ----------
    y, x : Node
        Float nodes with static shapes; the pattern's rows are ``y``'s flattened
        elements and its columns ``x``'s.
    format : {"numpy", "scipy", "indices"}
        A dense bool array of shape ``(y.size, x.size)``; a ``scipy.sparse``
        CSR array (needs SciPy); or the ``(rows, cols)`` int arrays, sorted by row.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> sg.jacobian_sparsity(sg.stack([x[0] * x[2], x.sum()]), x)
    array([[ True, False,  True],
           [ True,  True,  True]])
    """
    (indptr, cols), _ = _propagate(y, x, "jacobian_sparsity", hessian=False)
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    return _formatted(rows, cols, (indptr.size - 1, math.prod(x.shape)), format, "jacobian_sparsity")


def hessian_sparsity(cost: Node, x: Node, format: str = "numpy"):
    """The structural nonzeros of the Hessian of a scalar ``cost`` with respect to ``x``.

    Every op nonlinear in its inputs adds the outer union of those inputs' Jacobian
    patterns (mul only the cross terms); linear and piecewise linear ops add nothing.

    Parameters
    ----------
    cost : Node
        A scalar float node.
    x : Node
        A float node with a static shape (rows and columns: its flattened elements).
    format : {"numpy", "scipy", "indices"}
        As in :func:`jacobian_sparsity`; use "scipy" or "indices" for a large ``x``.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> sg.hessian_sparsity(x[0] * x[1] + sg.exp(x[2]), x).astype(int)
    array([[0, 1, 0],
           [1, 0, 0],
           [0, 0, 1]])
    """
    if isinstance(cost, Node) and cost.shape != ():
        raise ShapeError(f"hessian_sparsity: the cost must be a scalar, got {cost.describe()}")
    rows, cols, n = _hessian_pairs(cost, x, "hessian_sparsity")
    return _formatted(rows, cols, (n, n), format, "hessian_sparsity")


# --- coloring and compressed sweeps ------------------------------------------------------

def _column_coloring(rows: np.ndarray, cols: np.ndarray, m: int, n: int) -> np.ndarray:
    """A color per column such that no two columns of one color share a row (greedy, networkx)."""
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    lengths = np.bincount(rows, minlength=m)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    a, b = _outer_pairs((indptr, cols), (indptr, cols))
    keep = a < b
    conflicts = nx.Graph()
    conflicts.add_nodes_from(range(n))
    conflicts.add_edges_from(zip(a[keep].tolist(), b[keep].tolist()))
    coloring = nx.greedy_color(conflicts, strategy="largest_first")
    return np.array([coloring[j] for j in range(n)], np.int64) if n else np.zeros(0, np.int64)


def _star_coloring(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """A star coloring of the symmetric pattern's graph (off-diagonal entries are its edges).

    A proper coloring in which every path on four vertices uses at least three colors, so each
    Hessian nonzero can be read directly from one HVP (Gebremedhin, Manne and Pothen 2005).
    Greedy, vertices by decreasing degree; a count of each vertex's neighbors' colors makes
    every test O(1), so the cost is the sum of squared degrees (linear for bounded degree, as
    the distance-2 coloring it improves on, e.g. arrowheads: 2 colors instead of n).
    """
    off = rows != cols
    order = np.argsort(rows[off], kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(rows[off], minlength=n))]).tolist()
    flat = cols[off][order].tolist()
    neighbors = [flat[starts[v]:starts[v + 1]] for v in range(n)]
    color = [-1] * n
    counts = [dict() for _ in range(n)]  # per vertex: color -> how many of its neighbors have it
    for v in np.argsort(-np.diff(starts), kind="stable").tolist():
        mine = counts[v]
        forbidden = set(mine)
        for w in neighbors[v]:
            a = color[w]
            if a < 0:
                continue
            repeated = mine[a] >= 2  # x-v-w-y with color(x) = color(w): v must differ from every y
            for x in neighbors[w]:
                b = color[x]
                # v-w-x-y with color(y) = color(w): v must differ from x
                if b >= 0 and x != v and (repeated or counts[x][a] >= 2):
                    forbidden.add(b)
        c = 0
        while c in forbidden:
            c += 1
        color[v] = c
        for u in neighbors[v]:
            counts[u][c] = counts[u].get(c, 0) + 1
    return np.array(color, np.int64)


def _star_read(rows: np.ndarray, cols: np.ndarray, colors: np.ndarray, n: int) -> np.ndarray:
    """Where each nonzero (i, j) is read in the compressed Hessian B (row: color, column: index).

    H_ij is B[color(j), i] when no other neighbor of i has color(j), else B[color(i), j];
    a star coloring makes one of the two hold for every nonzero.
    """
    count = int(colors.max()) + 1 if colors.size else 1
    keys = rows * count + colors[cols]
    _, inverse, repeats = np.unique(keys, return_inverse=True, return_counts=True)
    direct = repeats[inverse] == 1
    return np.where(direct, colors[cols] * n + rows, colors[rows] * n + cols)


def _seeds(colors: np.ndarray, shape: tuple, dtype) -> list[np.ndarray]:
    count = int(colors.max()) + 1 if colors.size else 0
    return [(colors == c).astype(dtype).reshape(shape) for c in range(count)]


def _sweeps(sweep, seeds: list[np.ndarray]) -> Node:
    """The compressed derivative: one sweep per seed, stacked (shape (colors, m)).

    Not one sweep vectorized over the stacked seeds: with a few colors that measured
    slower (bench/sparse_derivatives.py at n = 100,000: the Bratu Jacobian 4.4x a
    residual call against 2.9x, the extended Rosenbrock Hessian 3.7x against 3.5x).
    """
    return stack([reshape(sweep(seed), (-1,)) for seed in seeds])


@dataclass(frozen=True, eq=False)
class SparseDerivative:
    """A sparse Jacobian or Hessian: the values of its structural nonzeros as one node.

    ``rows`` and ``cols`` (NumPy int arrays, fixed when built) give each value's place in a
    matrix of ``shape`` (rows: the output's flattened elements; columns: ``x``'s);
    ``values`` is the node computing them; ``sweeps`` counts the forward sweeps (colors)
    it took; ``colors`` gives each column's color.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: Node
    shape: tuple
    sweeps: int
    colors: np.ndarray

    @property
    def nnz(self) -> int:
        return int(self.rows.size)

    def to_scipy(self, values):
        """The values (from evaluating ``self.values``) as a ``scipy.sparse`` CSR array."""
        if scipy_sparse is None:
            raise ImportError("to_scipy needs SciPy (pip install scipy, or symgrad[special]); "
                              "to_dense works without it")
        return scipy_sparse.csr_array((np.asarray(values), (self.rows, self.cols)), shape=self.shape)

    def to_dense(self, values) -> np.ndarray:
        """The values (from evaluating ``self.values``) as a dense NumPy matrix."""
        values = np.asarray(values)
        dense = np.zeros(self.shape, values.dtype)
        dense[self.rows, self.cols] = values
        return dense


def _compressed(graph, sweep, read: np.ndarray, colors, x: Node, dtype) -> tuple:
    """The values node (of ``dtype``): the compressed derivative's elements at ``read`` (flat (color, row))."""
    seeds = _seeds(colors, x.shape, x.dtype)
    if not seeds or read.size == 0:
        return graph.constant(np.zeros(0, dtype)), 0
    return take(reshape(_sweeps(sweep, seeds), (-1,)), read), len(seeds)


def _check_connected(y: Node, x: Node, disconnected: str, what: str) -> None:
    check_disconnected_option(disconnected)
    if disconnected == "raise" and not depends(y, x, "forward"):
        raise GradientError(f"{what}: {y.describe()} does not depend on {x.describe()} (or only "
                            "through stop_gradient, integer values or index arguments); "
                            "pass disconnected='zero' for no nonzeros")


def sparse_jacobian(y: Node, x: Node, disconnected: str = "raise") -> SparseDerivative:
    """The Jacobian ``dy/dx`` by coloring its pattern: one jvp per color instead of per column.

    Columns that share no row get one color; a jvp seeded with a color's indicator
    vector gives all their columns at once (Curtis, Powell and Reid). As with
    :func:`~symgrad.jacobian`, a ``y`` that does not depend on ``x`` raises a
    GradientError unless ``disconnected="zero"`` (then: no nonzeros, no sweeps).

    Examples
    --------
    >>> import numpy as np
    >>> import symgrad as sg
    >>> x = sg.vector("x", 6)
    >>> y = x[:-2] - 2 * x[1:-1] + x[2:] + sg.exp(x[1:-1])
    >>> J = sg.sparse_jacobian(y, x)
    >>> J.sweeps, J.shape
    (3, (4, 6))
    >>> bool(np.allclose(J.to_dense(J.values.eval({x: np.zeros(6)})), sg.jacobian(y, x).eval({x: np.zeros(6)})))
    True
    """
    rows, cols = jacobian_sparsity(y, x, format="indices")
    _check_connected(y, x, disconnected, "sparse_jacobian")
    m, n = math.prod(y.shape), math.prod(x.shape)
    colors = _column_coloring(rows, cols, m, n)
    read = colors[cols] * m + rows
    values, count = _compressed(y.graph, lambda seed: jvp(y, x, seed), read, colors, x, y.dtype)
    return SparseDerivative(rows, cols, values, (m, n), count, colors)


def sparse_hessian(cost: Node, x: Node, disconnected: str = "raise") -> SparseDerivative:
    """The Hessian of a scalar ``cost`` by coloring its pattern: one HVP per color.

    The coloring is a star coloring of the pattern's graph (adjacent columns differ, and
    every path of four columns uses three colors), so each nonzero is read directly from
    one HVP: an arrowhead Hessian takes 2 sweeps, a tridiagonal one 3. A cost that
    does not depend on ``x`` raises a GradientError unless ``disconnected="zero"``;
    a linear one has no nonzeros (and takes no sweeps).

    Examples
    --------
    >>> import numpy as np
    >>> import symgrad as sg
    >>> x = sg.vector("x", 6)
    >>> f = sg.sum(100 * (x[1::2] - x[::2] ** 2) ** 2 + (1 - x[::2]) ** 2)
    >>> H = sg.sparse_hessian(f, x)
    >>> H.sweeps, H.nnz
    (2, 12)
    >>> point = {x: np.arange(6.0)}
    >>> bool(np.allclose(H.to_dense(H.values.eval(point)), sg.hessian(f, x).eval(point)))
    True
    """
    if isinstance(cost, Node) and cost.shape != ():
        raise ShapeError(f"sparse_hessian: the cost must be a scalar, got {cost.describe()}")
    rows, cols, n = _hessian_pairs(cost, x, "sparse_hessian")
    _check_connected(cost, x, disconnected, "sparse_hessian")
    colors = _star_coloring(rows, cols, n)
    sweep = None
    if rows.size:
        gradient = grad(cost, x)
        sweep = lambda seed: jvp(gradient, x, seed)  # noqa: E731  (an HVP: forward over reverse)
    read = _star_read(rows, cols, colors, n)
    values, count = _compressed(cost.graph, sweep, read, colors, x, cost.dtype)
    return SparseDerivative(rows, cols, values, (n, n), count, colors)
