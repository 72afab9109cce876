"""Random well-formed symgrad programs, each with a plain NumPy mirror.

A :class:`Program` is data: input shapes and values, and a list of steps, each
naming an op, the earlier values it reads (inputs first, then step results)
and its parameters. The same program can be *built* as a symgrad graph at
float64 or float32 and *mirrored* in plain NumPy, written independently of
symgrad's forward functions (a naive sigmoid, a naive logsumexp, ...). The
mirror is the oracle for values and, through central differences, for
gradients.

The generator computes each step's value while it draws the program and only
keeps a step whose inputs lie where the op is smooth, with a margin far larger
than a finite-difference step: log and sqrt away from 0, relu, abs and
maximum away from their kinks, floor and round away from their jumps, max
reductions without near ties, where's condition away from its threshold, tan
away from its poles. Every intermediate stays below ``LIMIT`` in magnitude.
Input values and constants are float32-representable, so the float32 build
starts from exactly the same numbers as the float64 one.

Edge families (``programs(edges=...)``, each switched on by name) go to the
points the margin avoids, on purpose:

- ``zeros``: exact 0.0 (and -0.0) inputs; x ** n for n = 0..3 at any base,
  x ** c with an integer-valued exponent array, b ** y with a base array
  holding zeros, products with constants holding zeros, and log, sqrt and
  division at small positive values (2 ** -6 and up, where they are smooth);
  abs at exactly 0;
- ``ties``: inputs drawn partly from a few shared values, so max and min
  reductions see exactly tied elements and maximum / minimum see x == y
  (maximum(v, v) included);
- ``kinks``: inputs partly from a grid holding 0, the clip bounds, integers
  and halves, and relu, leaky_relu, prelu, abs, sign, floor, round, clip
  (also with low == high, low > high, and bounds that are program values) and
  where allowed exactly at their kink, jump or threshold;
- ``indices``: integer-array indexing with forced repeats and negative
  aliases of the same element, 2-d index arrays, two index arrays (adjacent or
  split by a slice, where NumPy moves the indexed axes first); slices with
  explicit bounds, some beyond the axis (NumPy clips them);
- ``ints``: bool, int8, uint8 and int32 placeholders, summed, averaged,
  maxed and minned over axes (NumPy's result dtypes: the sum of bools
  counts, int8 sums promote), argmaxed and argminned (ties are common: the
  first wins), cast into the float program, mixed with float values directly
  (+ - * maximum minimum: the float's dtype wins), and bools as where's
  condition;
- ``masks``: bool values made in the graph, counted (sum or mean of
  ``stop_gradient(x) > t``), and ``where`` with constant conditions (Python
  bools and bool arrays);
- ``size1``: more length-1 dimensions, some of which the run-time build
  declares ``None``.

With any family on, reductions also run over ``axis=()`` and over scalars,
and every float value no step reads is added to the output (as the mean of
its product with a random constant), so every edge step's derivatives are
checked.

A kink is only ever met exactly, at a value computed exactly (see
``EXACT_OPS``), so float32 and float64 builds and the mirror all sit on the
same side, or on it; near misses are still kept beyond ``MARGIN``. At a kink
the oracle is the documented one-sided value: the mirror records its
branch choices at the drawn point (:func:`selections`: masks, signs, shares
among ties) and, given them, computes the smooth branch instead, so central
differences of that *frozen* mirror give relu'(0) = 0, |x|'(0) = 0, maximum's
gradient to x when x >= y, an equal share among tied maxima, clip's gradient
passing on its bounds, and zero for sign, floor and round. Away from kinks
the frozen mirror is the mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import strategies as st

import symgrad as sg

MARGIN = 0.05   # distance kept from kinks, jumps, poles and domain edges
LIMIT = 1e3     # largest magnitude an intermediate value may reach
MAX_SIZE = 64   # largest number of elements of an intermediate value


@dataclass(frozen=True)
class Step:
    op: str
    args: tuple            # positions in the value pool
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        args = ", ".join(f"v{a}" for a in self.args)
        return f"{self.op}({', '.join(p for p in (args, params) if p)})"


def _full(value: np.ndarray) -> str:
    """Every element, each printed so that it reads back exactly."""
    return np.array2string(value, separator=", ", floatmode="unique", threshold=MAX_SIZE + 1)


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else np.array2string(value, separator=",")
    return repr(value)


@dataclass
class Program:
    shapes: list            # input shapes
    values: list            # input values (float64 arrays, float32-representable)
    steps: list             # Step list; pool value len(shapes) + len(data) + k is steps[k]
    weights: np.ndarray     # fixed cotangent u: the cost is sum(u * output)
    data: list = field(default_factory=list)          # bool / integer inputs: fed, never differentiated
    runtime_ones: list = field(default_factory=list)  # per input (floats, then data): length-1 axes
                                                      # the run-time build declares None
    kinks: bool = False     # some step sits exactly on a kink, tie or jump
    steep: bool = False     # some step divides by, or takes log or sqrt of, values near 0

    def __repr__(self) -> str:
        inputs = [*self.values, *self.data]
        lines = [f"v{k} = input {v.dtype} {v.shape} {_full(v)}" for k, v in enumerate(inputs)]
        first = len(self.shapes) + len(self.data)
        lines += [f"v{first + k} = {step}" for k, step in enumerate(self.steps)]
        if any(self.runtime_ones):
            lines.append(f"run-time length-1 axes: {self.runtime_ones}")
        if self.kinks:
            lines.append("(at a kink: derivatives are the documented one-sided values)")
        if self.steep:
            lines.append("(near a singularity: log, sqrt or a division of values down to 2 ** -6)")
        return "Program:\n  " + "\n  ".join(lines)


# --- how each op is built in symgrad and mirrored in NumPy ------------------------

def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_log_softmax(x, axis):
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


def _swap(x):
    return np.swapaxes(x, -1, -2)


def _np_cross_entropy(x, labels):
    picked = np.take_along_axis(_np_log_softmax(x, -1), labels[..., None], axis=-1)
    return -np.mean(picked)


def _np_sign(x):
    return np.where(x > 0, 1.0, np.where(x < 0, -1.0, 0.0))


def _np_round(x):
    """Half to even, as np.round: a value exactly halfway goes to the even neighbour."""
    up = np.floor(x + 0.5)
    return up - ((up - x == 0.5) & (np.mod(up, 2) == 1))


def _np_int_power(x, n):
    """x ** n for an integer-valued exponent array n in 0..3, by repeated products (0 ** 0 = 1)."""
    result = np.ones(np.broadcast_shapes(np.shape(x), np.shape(n)))
    for k in (1, 2, 3):
        result = np.where(n >= k, result * x, result)
    return result


def _np_pow_zero_base(b, y):
    """b ** y for a base array b >= 0 and exponents y > 0: 0 where b is 0."""
    return np.where(b == 0, 0.0, np.exp(y * np.log(np.where(b == 0, 1.0, b))))


def _share(x, axis, top):
    """1 / (number of ties) where x attains top(x) over ``axis``, else 0."""
    hit = (x == top(x, axis=axis, keepdims=True)).astype(np.float64)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _sg_count(x, t, axis, keepdims, how):
    return getattr(sg, how)(sg.stop_gradient(x) > t, axis, keepdims)


def _np_count(x, t, axis, keepdims, how):
    return getattr(np, how)(x > t, axis=axis, keepdims=keepdims)


# name -> (symgrad builder, NumPy mirror); both take (*values, **params)
OPS: dict[str, tuple[Callable, Callable]] = {
    "neg": (lambda x: -x, np.negative),
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "div": (lambda x, y: x / y, np.divide),
    "add_scalar": (lambda x, c: x + c, lambda x, c: x + c),
    "rsub_scalar": (lambda x, c: c - x, lambda x, c: c - x),
    "mul_scalar": (lambda x, c: c * x, lambda x, c: c * x),
    "rdiv_scalar": (lambda x, c: c / x, lambda x, c: c / x),
    "pow_int": (lambda x, n: x ** n, lambda x, n: x ** n),
    "pow_float": (lambda x, c: x ** c, lambda x, c: np.exp(c * np.log(x))),
    "pow": (lambda x, y: x ** y, lambda x, y: np.exp(y * np.log(x))),
    "rpow_scalar": (lambda x, c: c ** x, lambda x, c: np.exp(x * np.log(c))),
    "exp": (sg.exp, np.exp),
    "log": (sg.log, np.log),
    "log1p": (sg.log1p, lambda x: np.log(1 + x)),
    "expm1": (sg.expm1, lambda x: np.exp(x) - 1),
    "sqrt": (sg.sqrt, lambda x: x ** 0.5),
    "square": (sg.square, lambda x: x * x),
    "sin": (sg.sin, np.sin),
    "cos": (sg.cos, np.cos),
    "tan": (sg.tan, lambda x: np.sin(x) / np.cos(x)),
    "tanh": (sg.tanh, lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)),
    "sigmoid": (sg.sigmoid, _np_sigmoid),
    "softplus": (sg.softplus, lambda x: np.log(1 + np.exp(x))),
    "relu": (sg.relu, lambda x: np.where(x > 0, x, 0 * x)),
    "leaky_relu": (lambda x, alpha: sg.leaky_relu(x, alpha), lambda x, alpha: np.where(x > 0, x, alpha * x)),
    "prelu": (sg.prelu, lambda x, a: np.where(x > 0, x, a * x)),
    "abs": (sg.abs, lambda x: np.where(x < 0, -x, x)),
    "sign": (sg.sign, _np_sign),
    "floor": (sg.floor, lambda x: x - np.mod(x, 1)),
    "round": (sg.round, _np_round),
    "maximum": (sg.maximum, lambda x, y: np.where(x > y, x, y)),
    "minimum": (sg.minimum, lambda x, y: np.where(x < y, x, y)),
    "where": (lambda c, x, y, t: sg.where(c > t, x, y), lambda c, x, y, t: np.where(c > t, x, y)),
    "clip": (lambda x, lo, hi: sg.clip(x, lo, hi), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)),
    "clip_nodes": (sg.clip, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)),
    "sum": (lambda x, axis, keepdims: sg.sum(x, axis, keepdims),
            lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)),
    "mean": (lambda x, axis, keepdims: sg.mean(x, axis, keepdims),
             lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)
             / (x.size // max(np.sum(x, axis=axis, keepdims=keepdims).size, 1))),
    "max": (lambda x, axis, keepdims: sg.max(x, axis, keepdims),
            lambda x, axis, keepdims: -np.min(-x, axis=axis, keepdims=keepdims)),
    "min": (lambda x, axis, keepdims: sg.min(x, axis, keepdims),
            lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims)),
    "logsumexp": (lambda x, axis, keepdims: sg.logsumexp(x, axis, keepdims),
                  lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
    "softmax": (lambda x, axis: sg.softmax(x, axis),
                lambda x, axis: np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)),
    "log_softmax": (lambda x, axis: sg.log_softmax(x, axis), _np_log_softmax),
    "cross_entropy": (lambda x, labels: sg.cross_entropy(x, labels), _np_cross_entropy),
    "cross_entropy_soft": (lambda x, p: sg.cross_entropy(x, p),
                           lambda x, p: -np.mean(np.sum(p * _np_log_softmax(x, -1), axis=-1))),
    "sigmoid_cross_entropy": (lambda x, y: sg.sigmoid_cross_entropy(x, y),
                              lambda x, y: np.mean(np.log(1 + np.exp(x)) - y * x)),
    "mse": (lambda x, t: sg.mse(x, t), lambda x, t: np.mean((x - t) ** 2)),
    "transpose": (lambda x, axes: sg.transpose(x, axes), lambda x, axes: np.transpose(x, axes)),
    "reshape": (lambda x, shape: sg.reshape(x, shape), lambda x, shape: np.reshape(x, shape)),
    "broadcast_to": (lambda x, shape: sg.broadcast_to(x, shape), lambda x, shape: np.broadcast_to(x, shape)),
    "getitem": (lambda x, index: x[index], lambda x, index: x[index]),
    "expand_dims": (lambda x, axis: sg.expand_dims(x, axis), lambda x, axis: np.expand_dims(x, axis)),
    "concatenate": (lambda x, y, axis: sg.concatenate([x, y], axis),
                    lambda x, y, axis: np.concatenate([x, y], axis)),
    "stack": (lambda x, y, axis: sg.stack([x, y], axis), lambda x, y, axis: np.stack([x, y], axis)),
    "matmul": (lambda a, b: a @ b, np.matmul),
    "matmul_const": (lambda a, b: a @ b, lambda a, b: np.matmul(a, b)),
    "rmatmul_const": (lambda a, b: b @ a, lambda a, b: np.matmul(b, a)),
    "gram": (lambda a: sg.transpose(a, _swap_axes(a.ndim)) @ a, lambda a: _swap(a) @ a),
    "dot": (sg.dot, np.dot),
    # edge families
    "pow_int_array": (lambda x, n: x ** n, _np_int_power),
    "pow_zero_base": (lambda y, b: sg.pow(b, y), lambda y, b: _np_pow_zero_base(b, y)),
    "mul_const": (lambda x, c: x * c, lambda x, c: x * c),
    "int_sum": (lambda x, axis, keepdims: sg.sum(x, axis, keepdims),
                lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)),
    "int_mean": (lambda x, axis, keepdims: sg.mean(x, axis, keepdims),
                 lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims)),
    "int_max": (lambda x, axis, keepdims: sg.max(x, axis, keepdims),
                lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims)),
    "int_min": (lambda x, axis, keepdims: sg.min(x, axis, keepdims),
                lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims)),
    "int_argmax": (lambda x, axis: sg.argmax(x, axis), lambda x, axis: np.argmax(x, axis)),
    "int_argmin": (lambda x, axis: sg.argmin(x, axis), lambda x, axis: np.argmin(x, axis)),
    "where_data": (sg.where, np.where),
    "to_float": (lambda x, scale: sg.cast(x, scale.dtype) * scale, lambda x, scale: x.astype(scale.dtype) * scale),
    "count": (_sg_count, _np_count),
    "where_const": (lambda x, y, cond: sg.where(cond, x, y), lambda x, y, cond: np.where(cond, x, y)),
}

# Ops whose result is exact (the real-number result, the same in float32, float64 and the
# mirror) when their arguments are exact and the result is float32-representable: for
# + - * of float32 values the float64 result is the real one, so representable means exact.
EXACT_OPS = frozenset((
    "neg", "add", "sub", "mul", "add_scalar", "rsub_scalar", "mul_scalar", "square", "pow_int",
    "pow_int_array", "mul_const", "relu", "leaky_relu", "prelu", "abs", "sign", "floor", "round",
    "maximum", "minimum", "where", "where_const", "where_data", "clip", "clip_nodes", "max", "min",
    "transpose", "reshape", "broadcast_to", "getitem", "expand_dims", "concatenate", "stack",
    "int_sum", "int_mean", "int_max", "int_min", "int_argmax", "int_argmin", "count", "to_float"))

# Ops whose result is not in the build's float dtype (bool, int, or the float64 mean of
# ints): kept apart in the pool, and only ``to_float`` brings them into the float program.
RAW_OPS = frozenset(("int_sum", "int_mean", "int_max", "int_min", "int_argmax", "int_argmin", "count"))


def _held(value, *args, **params):
    return value


def _clip_select(x, lo, hi):
    """clip is minimum(maximum(x, lo), hi): which operand each of the two passes on."""
    low = x >= lo
    return low, np.where(low, x, lo) <= hi


def _clip_follow(m, x, lo, hi):
    return np.where(m[1], np.where(m[0], x, lo), hi)


# The branch each non-smooth op takes at the drawn point, and the op with that branch held:
# name -> (selection from the arguments, the smooth branch given the selection). The
# branches are the documented one-sided choices: relu'(0) = 0, |x|'(0) = 0, maximum's
# gradient to x when x >= y (minimum's when x <= y), equal shares among tied maxima, clip
# passing on its bounds, and piecewise-constant sign, floor, round and counts.
BRANCHES: dict[str, tuple[Callable, Callable]] = {
    "relu": (lambda x: x > 0, lambda m, x: np.where(m, x, 0 * x)),
    "leaky_relu": (lambda x, alpha: x > 0, lambda m, x, alpha: np.where(m, x, alpha * x)),
    "prelu": (lambda x, a: x > 0, lambda m, x, a: np.where(m, x, a * x)),
    "abs": (_np_sign, lambda s, x: s * x),
    "sign": (_np_sign, _held),
    "floor": (OPS["floor"][1], _held),
    "round": (_np_round, _held),
    "count": (_np_count, _held),
    "maximum": (lambda x, y: x >= y, lambda m, x, y: np.where(m, x, y)),
    "minimum": (lambda x, y: x <= y, lambda m, x, y: np.where(m, x, y)),
    "where": (lambda c, x, y, t: c > t, lambda m, c, x, y, t: np.where(m, x, y)),
    "clip": (_clip_select, _clip_follow),
    "clip_nodes": (_clip_select, _clip_follow),
    "max": (lambda x, axis, keepdims: _share(x, axis, np.max),
            lambda s, x, axis, keepdims: np.sum(x * s, axis=axis, keepdims=keepdims)),
    "min": (lambda x, axis, keepdims: _share(x, axis, np.min),
            lambda s, x, axis, keepdims: np.sum(x * s, axis=axis, keepdims=keepdims)),
}


def _swap_axes(ndim: int) -> tuple:
    axes = list(range(ndim))
    axes[-2:] = axes[-1], axes[-2]
    return tuple(axes)


def _cast(value, dtype):
    """Float constants take the build's dtype; everything else is kept."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    return value


def mirror(program: Program, inputs: list, dtype=np.float64, selected: list | None = None) -> list:
    """Every pool value of the program computed by the NumPy mirror (inputs first).

    With ``selected`` (from :func:`selections`) each non-smooth op keeps the
    branch it took at the drawn point.
    """
    pool = [np.asarray(v, dtype) for v in inputs] + list(program.data)
    for k, step in enumerate(program.steps):
        pool.append(_np_step(step, pool, dtype, None if selected is None else selected[k]))
    return pool


def run_numpy(program: Program, inputs: list, dtype=np.float64, selected: list | None = None) -> np.ndarray:
    """The program's output computed by the NumPy mirror (see :func:`mirror`)."""
    return mirror(program, inputs, dtype, selected)[-1]


def selections(program: Program) -> list:
    """The branch each step's op takes at the program's input values (None for smooth ops)."""
    pool = [np.asarray(v, np.float64) for v in program.values] + list(program.data)
    chosen = []
    for step in program.steps:
        args = [pool[a] for a in step.args]
        with np.errstate(all="ignore"):
            chosen.append(BRANCHES[step.op][0](*args, **step.params) if step.op in BRANCHES else None)
        pool.append(_np_step(step, pool, np.float64))
    return chosen


def _np_step(step: Step, pool: list, dtype, selection=None) -> np.ndarray:
    params = {k: _cast(v, dtype) for k, v in step.params.items()}
    args = [pool[a] for a in step.args]
    with np.errstate(all="ignore"):
        if selection is None:
            value = np.asarray(OPS[step.op][1](*args, **params))
        else:
            value = np.asarray(BRANCHES[step.op][1](selection, *args, **params))
    # Bools, ints and the float64 mean of ints keep NumPy's dtype; float steps take the build's.
    return value if step.op in RAW_OPS else value.astype(dtype, copy=False)


@dataclass
class Built:
    graph: sg.Graph
    inputs: list            # float placeholders
    data: list              # bool / integer placeholders
    output: sg.Node
    nodes: list             # the node of every pool value

    def feeds(self, program: Program, dtype="float64") -> dict:
        """Placeholder -> value: the float inputs in ``dtype``, the data inputs as they are."""
        return {**{p: v.astype(dtype) for p, v in zip(self.inputs, program.values)},
                **dict(zip(self.data, program.data))}


def build(program: Program, dtype="float64", runtime_dims: bool = False) -> Built:
    """The program as a symgrad graph in a fresh Graph.

    With ``runtime_dims`` every input dimension longer than 1 is declared
    ``None`` (known only at run time); length-1 dimensions stay static, since
    only those broadcast, except the ones ``program.runtime_ones`` lists.
    """
    def shape(k, value):
        ones = program.runtime_ones[k] if program.runtime_ones else ()
        return tuple(None if runtime_dims and (n > 1 or i in ones) else n for i, n in enumerate(value.shape))

    graph = sg.Graph()
    with graph:
        inputs = [sg.placeholder(f"x{k}", shape(k, v), dtype) for k, v in enumerate(program.values)]
        first = len(inputs)
        data = [sg.placeholder(f"x{first + k}", shape(first + k, v), v.dtype) for k, v in enumerate(program.data)]
        pool = inputs + data
        for step in program.steps:
            params = {k: _cast(v, dtype) for k, v in step.params.items()}
            pool.append(OPS[step.op][0](*(pool[a] for a in step.args), **params))
    return Built(graph, inputs, data, pool[-1], pool)


# --- the generator -----------------------------------------------------------------

def _f32(array) -> np.ndarray:
    """Round to the nearest float32 value, kept as float64."""
    return np.asarray(array, np.float32).astype(np.float64)


def _broadcastable(*shapes) -> tuple | None:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


_SCALARS = (0.5, 0.75, 1.5, 2.0, -0.5, -1.25, 3.0)   # exactly representable in float32


class _Drawer:
    """What a step generator needs: hypothesis draws, the pool, a seeded rng, the edge families."""

    def __init__(self, draw, pool: list, rng: np.random.Generator, edges=frozenset(),
                 exact: frozenset = frozenset(), raw: frozenset = frozenset()):
        self.draw, self.pool, self.rng, self.edges = draw, pool, rng, edges
        self.exact = exact   # ids of the pool values computed exactly (see EXACT_OPS)
        self.raw = raw       # ids of the pool values outside the float program (see RAW_OPS)
        self.hit = False     # the step drawn last sits exactly on a kink
        self.steep = False   # the step drawn last works near a singularity (see NEAR_ZERO)

    def index(self, where=lambda v: True, raw: bool = False) -> int | None:
        """A pool position whose value satisfies ``where`` (late values more likely).

        Float program values only, or with ``raw`` only bool, int and other raw values.
        """
        choices = [k for k, v in enumerate(self.pool) if (id(v) in self.raw) == raw and where(v)]
        if not choices:
            return None
        # Index from the end, so shrinking moves towards the most recent value.
        return choices[-1 - self.draw(st.integers(0, len(choices) - 1))]

    def allows(self, distance, values, families) -> bool:
        """Every element is beyond MARGIN from a kink, or (an edge family on, the values exact) on it."""
        far = np.abs(distance) > MARGIN
        if np.all(far):
            return True
        return (any(f in self.edges for f in families) and all(id(v) in self.exact for v in values)
                and bool(np.all(far | (distance == 0))))

    def note(self, distance) -> None:
        self.hit = self.hit or bool(np.any(distance == 0))

    def partner(self, first: int, where=lambda v: True) -> int | None:
        """A pool position broadcasting with ``first`` (itself included: x * x)."""
        shape = self.pool[first].shape
        return self.index(lambda v: _broadcastable(shape, v.shape) is not None
                          and int(np.prod(_broadcastable(shape, v.shape))) <= MAX_SIZE and where(v))

    def scalar(self) -> float:
        return self.draw(st.sampled_from(_SCALARS))

    def constant(self, shape, low=-1.5, high=1.5) -> np.ndarray:
        return _f32(self.rng.uniform(low, high, shape))

    def axes(self, ndim: int):
        """None, one axis or a tuple of axes, as sum(axis=...) accepts (with edges, also ())."""
        kind = self.draw(st.sampled_from(("all", "one", "several") + (("none",) if self.edges else ())))
        if kind == "none":
            return ()
        if kind == "all" or ndim == 0:
            return None
        if kind == "one":
            return self.draw(st.integers(-ndim, ndim - 1))
        chosen = self.draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim))
        return tuple(sorted(chosen))


def _unary(op, where=lambda x: True):
    def make(d: _Drawer):
        k = d.index(where)
        return None if k is None else Step(op, (k,))
    return make


def _kinked(op, distance, families=("kinks",)):
    """A unary op with kinks or jumps where ``distance(x)`` is 0."""
    def make(d: _Drawer):
        k = d.index(lambda x: d.allows(distance(x), [x], families))
        if k is None:
            return None
        d.note(distance(d.pool[k]))
        return Step(op, (k,))
    return make


def _to_integer(x):
    return x - np.floor(x + 0.5)


def _to_half(x):
    return x - np.floor(x) - 0.5


def _selection(op):
    """maximum or minimum: exact ties x == y allowed with ``ties`` (maximum(v, v) included)."""
    def make(d: _Drawer):
        i = d.index()
        j = d.partner(i)
        if j is None:
            return None
        gap = np.subtract(d.pool[i], d.pool[j])
        if i == j and "ties" in d.edges:
            d.hit = True
        elif i == j or not d.allows(gap, [d.pool[i], d.pool[j]], ("ties",)):
            return None
        d.note(gap)
        return Step(op, (i, j))
    return make


def _binary(op, where=lambda x, y: True):
    def make(d: _Drawer):
        i = d.index()
        j = d.partner(i)
        if j is None or not where(*np.broadcast_arrays(d.pool[i], d.pool[j])):
            return None
        return Step(op, (i, j))
    return make


def _with_scalar(op, where=lambda x, c: True):
    def make(d: _Drawer):
        c = d.scalar()
        k = d.index(lambda x: where(x, c))
        return None if k is None else Step(op, (k,), {"c": c})
    return make


def _reduction(op):
    def make(d: _Drawer):
        k = d.index(lambda x: x.ndim >= (0 if d.edges else 1))   # with edges, scalars too
        if k is None:
            return None
        x = d.pool[k]
        axis = d.axes(x.ndim)
        if op in ("max", "min"):
            top = (np.max if op == "max" else np.min)(x, axis=axis, keepdims=True)
            on = x == top
            if not np.all(on | (np.abs(x - top) > MARGIN)):   # a near tie
                return None
            if np.any(np.sum(on, axis=axis) > 1):              # an exact tie
                if "ties" not in d.edges or id(x) not in d.exact:
                    return None
                d.hit = True
        return Step(op, (k,), {"axis": axis, "keepdims": d.draw(st.booleans())})
    return make


def _softmax_like(op):
    def make(d: _Drawer):
        k = d.index(lambda x: x.ndim >= 1)
        if k is None:
            return None
        return Step(op, (k,), {"axis": d.draw(st.integers(-d.pool[k].ndim, d.pool[k].ndim - 1))})
    return make


def _cross_entropy(d: _Drawer):
    k = d.index(lambda x: x.ndim >= 1)
    if k is None:
        return None
    shape = d.pool[k].shape
    if d.draw(st.booleans()):
        labels = d.rng.integers(0, shape[-1], shape[:-1])
        return Step("cross_entropy", (k,), {"labels": np.asarray(labels, np.int64)})
    p = d.rng.uniform(0.1, 1.0, shape)
    return Step("cross_entropy_soft", (k,), {"p": _f32(p / p.sum(-1, keepdims=True))})


def _sigmoid_cross_entropy(d: _Drawer):
    k = d.index()
    return Step("sigmoid_cross_entropy", (k,), {"y": d.constant(d.pool[k].shape, 0.0, 1.0)})


def _mse(d: _Drawer):
    k = d.index()
    return Step("mse", (k,), {"t": d.constant(d.pool[k].shape)})


def _leaky_relu(d: _Drawer):
    step = _kinked("leaky_relu", lambda x: x)(d)
    return None if step is None else Step("leaky_relu", step.args, {"alpha": d.draw(st.sampled_from((0.125, 0.25)))})


def _where(d: _Drawer):
    t = d.draw(st.sampled_from((0.0, 0.5, -0.5)))
    c = d.index(lambda v: d.allows(v - t, [v], ("kinks",)))
    if c is None:
        return None
    d.note(d.pool[c] - t)
    x = d.partner(c)
    y = d.partner(x) if x is not None else None
    if y is None or _broadcastable(*(d.pool[a].shape for a in (c, x, y))) is None:
        return None
    return Step("where", (c, x, y), {"t": t})


def _clip_gaps(x, lo, hi):
    """The nearer of clip's two kinks: x against lo in maximum, then that against hi in minimum."""
    low, high = x - lo, np.where(x >= lo, x, lo) - hi
    return np.where(np.abs(low) < np.abs(high), low, high)


def _clip(d: _Drawer):
    bounds = (-1.0, -0.25, 0.0, 0.5, 1.25)
    if "kinks" in d.edges:  # also low == high (x passes only where it equals both) and low > high
        lo, hi = d.draw(st.sampled_from(bounds)), d.draw(st.sampled_from(bounds))
    else:
        lo, hi = sorted(d.draw(st.sets(st.sampled_from(bounds), min_size=2, max_size=2)))
    step = _kinked("clip", lambda x: _clip_gaps(x, lo, hi))(d)
    return None if step is None else Step("clip", step.args, {"lo": lo, "hi": hi})


def _clip_nodes(d: _Drawer):
    """clip with bounds that are values of the program: the gradient reaches the bounds too."""
    k = d.index()
    lo = d.partner(k)
    hi = d.partner(lo) if lo is not None else None
    if hi is None or _broadcastable(*(d.pool[a].shape for a in (k, lo, hi))) is None:
        return None
    x, low, high = d.pool[k], d.pool[lo], d.pool[hi]
    if not d.allows(_clip_gaps(x, low, high), [x, low, high], ("kinks",)):
        return None
    d.note(_clip_gaps(x, low, high))
    return Step("clip_nodes", (k, lo, hi))


def _prelu(d: _Drawer):
    step = _kinked("prelu", lambda x: x)(d)
    if step is None:
        return None
    k = step.args[0]
    a = d.partner(k)
    return None if a is None else Step("prelu", (k, a))


def _transpose(d: _Drawer):
    k = d.index(lambda x: x.ndim >= 2)
    if k is None:
        return None
    axes = d.draw(st.permutations(range(d.pool[k].ndim)))
    return Step("transpose", (k,), {"axes": tuple(axes)})


def _reshape(d: _Drawer):
    k = d.index()
    size = d.pool[k].size
    shapes = [(size,), (1, size), (size, 1)]
    shapes += [(a, size // a) for a in range(2, size) if size % a == 0]
    shapes += [(size // a, 1, a) for a in range(2, size) if size % a == 0]
    shape = d.draw(st.sampled_from(shapes))
    if d.draw(st.booleans()):  # let reshape work one dimension out
        hole = d.draw(st.integers(0, len(shape) - 1))
        shape = shape[:hole] + (-1,) + shape[hole + 1:]
    return Step("reshape", (k,), {"shape": shape})


def _broadcast_to(d: _Drawer):
    k = d.index(lambda x: 2 * x.size <= MAX_SIZE and x.ndim <= 3)
    if k is None:
        return None
    shape = d.pool[k].shape
    grown = tuple(d.draw(st.sampled_from((1, 2))) if n == 1 else n for n in shape)
    lead = (2,) if d.draw(st.booleans()) or grown == shape else ()
    return Step("broadcast_to", (k,), {"shape": lead + grown})


def _getitem(d: _Drawer):
    k = d.index(lambda x: x.ndim >= 1)
    if k is None:
        return None
    shape = d.pool[k].shape
    axis = d.draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    kind = d.draw(st.sampled_from(("slice", "int", "array", "newaxis")))
    if kind == "slice":
        step = d.draw(st.sampled_from((1, 2, -1)))
        start = d.draw(st.integers(-n, n - 1))
        item = slice(start, None, step)
    elif kind == "int":
        item = d.draw(st.integers(-n, n - 1))
    elif kind == "array":  # repeats accumulate in the gradient
        item = np.asarray(d.rng.integers(-n, n, d.draw(st.integers(1, 4))), np.int64)
    else:
        item = None
    index = (slice(None),) * axis + (item,)
    if item is not None and axis == len(shape) - 1 and d.draw(st.booleans()):
        index = (Ellipsis, item)   # the same element through ...
    if d.pool[k][index].size == 0:
        return None
    return Step("getitem", (k,), {"index": index})


def _expand_dims(d: _Drawer):
    k = d.index(lambda x: x.ndim <= 3)
    if k is None:
        return None
    ndim = d.pool[k].ndim
    return Step("expand_dims", (k,), {"axis": d.draw(st.integers(-ndim - 1, ndim))})


def _join(op):
    def make(d: _Drawer):
        k = d.index(lambda x: 1 <= x.ndim and 2 * x.size <= MAX_SIZE)
        if k is None:
            return None
        x = d.pool[k]
        axis = d.draw(st.integers(-x.ndim, x.ndim - 1))
        if op == "stack":
            other = d.index(lambda v: v.shape == x.shape)
        else:
            other = d.index(lambda v: v.ndim == x.ndim and 2 * v.size <= MAX_SIZE and all(
                a == b for i, (a, b) in enumerate(zip(v.shape, x.shape)) if i != axis % x.ndim))
        return Step(op, (k, other), {"axis": axis})
    return make


def _matmul(d: _Drawer):
    a = d.index(lambda x: x.ndim >= 1)
    if a is None:
        return None
    shape = d.pool[a].shape
    k = shape[-1]
    batch = shape[:-2]

    def fits(v):
        if v.ndim == 1:
            return v.shape[0] == k
        return v.ndim >= 2 and v.shape[-2] == k and _broadcastable(batch, v.shape[:-2]) is not None

    kind = d.draw(st.sampled_from(("pool", "const", "rconst", "gram")))
    if kind == "pool":
        b = d.index(fits)
        return None if b is None else Step("matmul", (a, b))
    if kind == "gram":
        return Step("gram", (a,)) if len(shape) >= 2 else Step("matmul", (a, a))
    m = d.draw(st.integers(1, 3))
    if kind == "const":
        b_shape = (k,) if d.draw(st.booleans()) else (k, m)
        return Step("matmul_const", (a,), {"b": d.constant(b_shape)})
    rows = shape[0] if len(shape) == 1 else shape[-2]
    return Step("rmatmul_const", (a,), {"b": d.constant((m, rows))})


def _dot(d: _Drawer):
    a = d.index(lambda x: x.ndim <= 2)
    if a is None:
        return None
    shape = d.pool[a].shape

    def fits(v):
        if v.ndim > 2:
            return False
        if not shape or not v.shape:
            return True
        return v.shape[0 if v.ndim == 1 else -2] == shape[-1]

    b = d.index(fits)
    return None if b is None else Step("dot", (a, b))


def _pow_int(d: _Drawer):
    k = d.index(_SMALL)
    return None if k is None else Step("pow_int", (k,), {"n": d.draw(st.sampled_from((2, 3)))})


def _SMALL(x) -> bool:
    """exp, expm1, softplus and powers stay moderate."""
    return bool(np.all(np.abs(x) < 5))

GENERATORS: dict[str, Callable] = {
    "neg": _unary("neg"),
    "add": _binary("add"),
    "sub": _binary("sub"),
    "mul": _binary("mul"),
    "div": _binary("div", lambda x, y: bool(np.all(np.abs(y) > 0.25))),
    "add_scalar": _with_scalar("add_scalar"),
    "rsub_scalar": _with_scalar("rsub_scalar"),
    "mul_scalar": _with_scalar("mul_scalar"),
    "rdiv_scalar": _with_scalar("rdiv_scalar", lambda x, c: bool(np.all(np.abs(x) > 0.25))),
    "pow_int": _pow_int,
    "pow_float": _with_scalar("pow_float", lambda x, c: bool(np.all(x > 0.25))),
    "pow": _binary("pow", lambda x, y: bool(np.all(x > 0.25) and np.all(np.abs(y) < 3))),
    "rpow_scalar": _with_scalar("rpow_scalar", lambda x, c: c > 0 and _SMALL(x)),
    "exp": _unary("exp", _SMALL),
    "log": _unary("log", lambda x: bool(np.all(x > 0.1))),
    "log1p": _unary("log1p", lambda x: bool(np.all(x > -0.9))),
    "expm1": _unary("expm1", _SMALL),
    "sqrt": _unary("sqrt", lambda x: bool(np.all(x > 0.1))),
    "square": _unary("square"),
    "sin": _unary("sin"),
    "cos": _unary("cos"),
    "tan": _unary("tan", lambda x: bool(np.all(np.abs(np.cos(x)) > 0.3))),
    "tanh": _unary("tanh"),
    "sigmoid": _unary("sigmoid"),
    "softplus": _unary("softplus", _SMALL),
    "relu": _kinked("relu", lambda x: x),
    "leaky_relu": _leaky_relu,
    "prelu": _prelu,
    "abs": _kinked("abs", lambda x: x, ("kinks", "zeros")),
    "sign": _kinked("sign", lambda x: x),
    "floor": _kinked("floor", _to_integer),
    "round": _kinked("round", _to_half),
    "maximum": _selection("maximum"),
    "minimum": _selection("minimum"),
    "where": _where,
    "clip": _clip,
    "sum": _reduction("sum"),
    "mean": _reduction("mean"),
    "max": _reduction("max"),
    "min": _reduction("min"),
    "logsumexp": _reduction("logsumexp"),
    "softmax": _softmax_like("softmax"),
    "log_softmax": _softmax_like("log_softmax"),
    "cross_entropy": _cross_entropy,
    "sigmoid_cross_entropy": _sigmoid_cross_entropy,
    "mse": _mse,
    "transpose": _transpose,
    "reshape": _reshape,
    "broadcast_to": _broadcast_to,
    "getitem": _getitem,
    "expand_dims": _expand_dims,
    "concatenate": _join("concatenate"),
    "stack": _join("stack"),
    "matmul": _matmul,
    "dot": _dot,
}


# --- edge families ----------------------------------------------------------------

EDGE_FAMILIES = ("zeros", "ties", "kinks", "indices", "ints", "masks", "size1")
NEAR_ZERO = 2.0 ** -6   # the smallest value log, sqrt and division see with ``zeros``


def edge_families(spec: str | None) -> frozenset:
    """The families named in ``spec`` ("zeros,ties"); None or "all" for every one, "" or "none" for none."""
    if spec is None or spec.strip() == "all":
        return frozenset(EDGE_FAMILIES)
    names = frozenset(n.strip() for n in spec.split(",") if n.strip() and n.strip() != "none")
    unknown = names - set(EDGE_FAMILIES)
    if unknown:
        raise ValueError(f"unknown edge families {sorted(unknown)}; known: {', '.join(EDGE_FAMILIES)}")
    return names


def _pow_small_int(d: _Drawer):
    """x ** n for n = 0..3 (Python ints or floats): a polynomial, smooth at 0 (where x ** 0 is 1)."""
    k = d.index(_SMALL)
    n = d.draw(st.sampled_from((0, 1, 2, 3, 0.0, 1.0, 2.0, 3.0)))
    return None if k is None else Step("pow_int", (k,), {"n": n})


def _pow_int_array(d: _Drawer):
    k = d.index(_SMALL)
    if k is None:
        return None
    return Step("pow_int_array", (k,), {"n": d.rng.integers(0, 4, d.pool[k].shape).astype(np.float64)})


def _pow_zero_base(d: _Drawer):
    """b ** y with zeros in the base b: 0 ** y = 0 for every y > 0, so d/dy is 0 there."""
    k = d.index(lambda y: bool(np.all((y > 0.25) & (y < 3))))
    if k is None:
        return None
    base = np.asarray(d.rng.choice([0.0, 0.0, 0.5, 1.5, 2.0], d.pool[k].shape))
    return Step("pow_zero_base", (k,), {"b": base})


def _mul_zeros(d: _Drawer):
    """x * c with zeros in c, or c all 0, all 1 or all -1 (which the simplifier may rewrite)."""
    k = d.index()
    shape = d.pool[k].shape
    kind = d.draw(st.sampled_from(("some zeros", "zeros", "ones", "minus ones")))
    if kind == "some zeros":
        c = d.constant(shape)
        c[d.rng.random(shape) < 0.5] = 0.0
    else:  # of x's shape or a scalar
        c = np.full(shape if d.draw(st.booleans()) else (), {"zeros": 0.0, "ones": 1.0, "minus ones": -1.0}[kind])
    return Step("mul_const", (k,), {"c": c})


def _near_zero(op):
    """log or sqrt of an exact value with elements down to NEAR_ZERO (smooth there)."""
    def make(d: _Drawer):
        k = d.index(lambda x: id(x) in d.exact and bool(np.all(x >= NEAR_ZERO)))
        d.steep = k is not None
        return None if k is None else Step(op, (k,))
    return make


def _div_near_zero(d: _Drawer):
    i = d.index()
    j = d.partner(i, lambda y: id(y) in d.exact and bool(np.all(np.abs(y) >= NEAR_ZERO)))
    d.steep = j is not None
    return None if j is None else Step("div", (i, j))


def _repeating(d: _Drawer, n: int, shape: tuple) -> np.ndarray:
    """Indices into an axis of length n with a repeat, some written negatively (-1 is n - 1)."""
    index = d.rng.integers(0, n, shape).ravel()
    if index.size > 1:
        index[-1] = index[0]
    return np.where(d.rng.random(index.size) < 0.5, index - n, index).reshape(shape).astype(np.int64)


def _getitem_repeated(d: _Drawer):
    """Integer-array indexing whose gradient must accumulate over repeated elements."""
    k = d.index(lambda x: x.ndim >= 1)
    if k is None:
        return None
    shape = d.pool[k].shape
    kind = d.draw(st.sampled_from(("repeat", "matrix", "pair")))
    if kind == "pair" and len(shape) >= 2:
        # Two advanced indices, adjacent or split by a slice (then NumPy puts their axes first);
        # one of them may be a plain int, which NumPy counts as an advanced index too.
        first, second = sorted(d.draw(st.sets(st.integers(0, len(shape) - 1), min_size=2, max_size=2)))
        m = d.draw(st.integers(1, 4))
        outer = d.draw(st.booleans())
        rows = _repeating(d, shape[first], (m, 1) if outer else (m,))
        if d.draw(st.booleans()):
            cols = _repeating(d, shape[second], (d.draw(st.integers(1, 3)),) if outer else (m,))
        else:
            cols = d.draw(st.integers(-shape[second], shape[second] - 1))
        index = [slice(None)] * (second + 1)
        index[first], index[second] = rows, cols
        return Step("getitem", (k,), {"index": tuple(index)})
    axis = d.draw(st.integers(0, len(shape) - 1))
    size = (d.draw(st.integers(2, 5)),) if kind == "repeat" else (2, d.draw(st.integers(1, 3)))
    return Step("getitem", (k,), {"index": (slice(None),) * axis + (_repeating(d, shape[axis], size),)})


def _getitem_slices(d: _Drawer):
    """Slices with explicit bounds, some beyond the axis (NumPy clips them), on one or more axes."""
    k = d.index(lambda x: x.ndim >= 1)
    if k is None:
        return None
    index = []
    for n in d.pool[k].shape[:d.draw(st.integers(1, d.pool[k].ndim))]:
        bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
        index.append(slice(d.draw(bound), d.draw(bound), d.draw(st.sampled_from((None, 1, 2, -1, -2)))))
    return Step("getitem", (k,), {"index": tuple(index)})


def _int_reduction(d: _Drawer):
    k = d.index(lambda v: v.dtype.kind in "bi", raw=True)
    if k is None:
        return None
    op = d.draw(st.sampled_from(("int_sum", "int_mean", "int_max", "int_min")))
    return Step(op, (k,), {"axis": d.axes(d.pool[k].ndim), "keepdims": d.draw(st.booleans())})


def _int_arg_reduction(d: _Drawer):
    """argmax / argmin of bools and int8s, where ties are common: NumPy takes the first."""
    k = d.index(lambda v: v.dtype.kind in "bi" and v.ndim >= 1, raw=True)
    if k is None:
        return None
    ndim = d.pool[k].ndim
    op = d.draw(st.sampled_from(("int_argmax", "int_argmin")))
    return Step(op, (k,), {"axis": d.draw(st.integers(-ndim, ndim - 1))})


def _int_mix(d: _Drawer):
    """A float value and a bool or integer one in + - * maximum minimum: the float's dtype wins."""
    k = d.index(lambda v: v.dtype.kind in "biu", raw=True)
    if k is None:
        return None
    j = d.index(lambda v: _broadcastable(v.shape, d.pool[k].shape) is not None
                and int(np.prod(_broadcastable(v.shape, d.pool[k].shape))) <= MAX_SIZE)
    if j is None:
        return None
    op = d.draw(st.sampled_from(("mul", "add", "sub", "maximum", "minimum")))
    args = (j, k) if d.draw(st.booleans()) else (k, j)
    if op in ("maximum", "minimum"):
        gap = np.subtract(*(d.pool[a].astype(np.float64) for a in args))
        if not d.allows(gap, [d.pool[j], d.pool[k]], ("ties",)):
            return None
        d.note(gap)
    return Step(op, args)


def _where_data(d: _Drawer):
    """where with a bool input as the condition."""
    c = d.index(lambda v: v.dtype == np.bool_, raw=True)
    if c is None:
        return None
    x = d.index(lambda v: _broadcastable(v.shape, d.pool[c].shape) is not None)
    y = d.partner(x) if x is not None else None
    if y is None or _broadcastable(*(d.pool[a].shape for a in (c, x, y))) is None:
        return None
    return Step("where_data", (c, x, y))


def _to_float(d: _Drawer):
    """A bool, int or float64 value cast to the build's dtype, scaled by a power of 2 to at most 4."""
    k = d.index(raw=True)
    return None if k is None else _to_float_step(d.pool, k)


def _to_float_step(pool: list, k: int) -> Step:
    peak = max(float(np.max(np.abs(pool[k].astype(np.float64)))), 1.0)
    return Step("to_float", (k,), {"scale": np.array(2.0 ** -max(0, int(np.ceil(np.log2(peak))) - 2))})


def _count(d: _Drawer):
    """How many elements (sum) or which fraction (mean) of stop_gradient(x) exceed t."""
    t = d.draw(st.sampled_from((0.0, 0.5, -0.5)))
    k = d.index(lambda x: d.allows(x - t, [x], ("masks",)))
    if k is None:
        return None
    x = d.pool[k]
    d.note(x - t)
    return Step("count", (k,), {"t": t, "axis": d.axes(x.ndim), "keepdims": d.draw(st.booleans()),
                                "how": d.draw(st.sampled_from(("sum", "mean")))})


def _where_const(d: _Drawer):
    """where with a constant condition: a Python bool, a NumPy bool or a bool array."""
    x = d.index()
    y = d.partner(x)
    if y is None:
        return None
    kind = d.draw(st.sampled_from(("array", "python", "numpy")))
    if kind == "array":
        cond = d.rng.random(np.broadcast_shapes(d.pool[x].shape, d.pool[y].shape)) < 0.5
    else:
        cond = d.draw(st.booleans()) if kind == "python" else np.bool_(d.draw(st.booleans()))
    return Step("where_const", (x, y), {"cond": cond})


# The generators each family adds, and the ones it focuses on (drawn half the time).
EDGE_GENERATORS: dict[str, dict[str, Callable]] = {
    "zeros": {"pow_int_zero": _pow_small_int, "pow_int_array": _pow_int_array,
              "pow_zero_base": _pow_zero_base, "mul_zeros": _mul_zeros, "log_near_zero": _near_zero("log"),
              "sqrt_near_zero": _near_zero("sqrt"), "div_near_zero": _div_near_zero},
    "kinks": {"clip_nodes": _clip_nodes},
    "indices": {"getitem_repeated": _getitem_repeated, "getitem_slices": _getitem_slices},
    "ints": {"int_reduction": _int_reduction, "int_arg_reduction": _int_arg_reduction, "int_mix": _int_mix,
             "where_data": _where_data, "to_float": _to_float},
    "masks": {"count": _count, "where_const": _where_const, "to_float": _to_float},
}
FOCUS = {
    "zeros": ("pow_int_zero", "pow_int_array", "pow_zero_base", "mul_zeros", "log_near_zero",
              "sqrt_near_zero", "div_near_zero", "mul", "abs"),
    "ties": ("max", "min", "maximum", "minimum", "stack", "concatenate", "broadcast_to"),
    "kinks": ("relu", "leaky_relu", "prelu", "abs", "sign", "floor", "round", "clip", "clip_nodes", "where",
              "add_scalar", "rsub_scalar", "sub"),
    "indices": ("getitem_repeated", "getitem_slices", "getitem"),
    "ints": ("int_reduction", "int_arg_reduction", "int_mix", "where_data", "to_float"),
    "masks": ("count", "where_const", "to_float"),
    "size1": ("reshape", "expand_dims", "broadcast_to", "sum", "mean", "getitem"),
}
KINK_PALETTE = (0.0, -0.25, 0.5, 1.25, -1.0, 1.0, -2.0, 1.5, -0.5, 2.5)  # clip bounds, integers, halves


def _palette(rng: np.random.Generator, edges, scale: float) -> list:
    """Values the edge families plant in the inputs."""
    palette = []
    if "zeros" in edges:
        palette += [0.0, -0.0, NEAR_ZERO, 2.0 ** -5]
    if "kinks" in edges:
        palette += list(KINK_PALETTE)
    if "ties" in edges:  # a few values shared by every input
        palette += list(_f32(rng.uniform(-scale, scale, 3)))
    return palette


def _input_values(draw, rng: np.random.Generator, shape, scale: float, palette: list) -> np.ndarray:
    values = _f32(rng.uniform(-scale, scale, shape))
    if palette:
        planted = rng.random(shape) < draw(st.sampled_from((0.5, 0.25, 1.0, 0.0)))
        values[planted] = rng.choice(palette, int(np.sum(planted)))
    return values


def _data_inputs(draw, rng: np.random.Generator, shapes: list) -> list:
    """1 or 2 bool or integer inputs shaped like float inputs."""
    data = []
    for _ in range(draw(st.sampled_from((1, 2)))):
        shape = shapes[draw(st.integers(0, len(shapes) - 1))]
        dtype = draw(st.sampled_from(("bool", "int8", "uint8", "int32")))
        if dtype == "bool":
            data.append(rng.random(shape) < 0.5)
        else:  # the whole range of the narrow types, so that sums in them would overflow
            info = np.iinfo(dtype)
            data.append(np.asarray(rng.integers(max(info.min, -1000), min(info.max, 1000) + 1, shape), dtype))
    return data


# --- programs -------------------------------------------------------------------------

def _acceptable(value: np.ndarray, raw: bool = False) -> bool:
    if not (0 < value.size <= MAX_SIZE and value.ndim <= 4):
        return False
    if value.dtype.kind != "f":
        return True
    return bool(np.all(np.isfinite(value))) and (raw or bool(np.all(np.abs(value) <= LIMIT)))


def _representable(value: np.ndarray) -> bool:
    return value.dtype.kind != "f" or bool(np.array_equal(_f32(value), value))


def _input_shapes(draw, ones: bool = False) -> list:
    """1 to 3 input shapes that broadcast together (trailing dims kept or made 1).

    With ``ones`` length-1 dimensions are drawn more often.
    """
    # sampled_from rather than integers: hypothesis favours the first choice,
    # and a rank-2 array of 2 x 3 exercises more than a scalar.
    rank = draw(st.sampled_from((2, 1, 3, 0)))
    full = [draw(st.sampled_from((1, 2, 3, 1) if ones else (2, 3, 1))) for _ in range(rank)]
    shapes = [tuple(full)]
    made_one = (True, False) if ones else (False, False, True)
    for _ in range(draw(st.sampled_from((1, 2, 3))) - 1):
        lead = min(draw(st.sampled_from((0, 1, 2))), len(full))
        shapes.append(tuple(1 if draw(st.sampled_from(made_one)) else n for n in full[lead:]))
    return shapes


@st.composite
def programs(draw, max_steps: int = 10, edges=frozenset()) -> Program:
    """A random program of 1 to ``max_steps`` steps over 1 to 3 inputs, visiting the ``edges`` families."""
    edges = edge_families(",".join(edges)) if edges else frozenset()
    shapes = _input_shapes(draw, "size1" in edges)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from((0.5, 1.0, 2.0)))
    palette = _palette(rng, edges, scale)
    values = [_input_values(draw, rng, s, scale, palette) for s in shapes]
    data = _data_inputs(draw, rng, shapes) if "ints" in edges else []
    runtime_ones = []
    if "size1" in edges:
        runtime_ones = [tuple(i for i, n in enumerate(v.shape) if n == 1 and draw(st.booleans()))
                        for v in values + data]
    generators = dict(GENERATORS)
    for family in sorted(edges):
        generators.update(EDGE_GENERATORS.get(family, {}))
    names = sorted(generators)
    focus = sorted({name for family in edges for name in FOCUS[family]})
    if edges:  # hypothesis favours a list's first choices: let each program favour others
        names, focus = list(rng.permutation(names)), list(rng.permutation(focus))
    pool = values + data
    exact, raw = {id(v) for v in pool}, {id(v) for v in data}
    steps, kinks, steep = [], False, False
    for _ in range(draw(st.integers(1, max_steps))):
        drawer = _Drawer(draw, pool, rng, edges, frozenset(exact), frozenset(raw))
        for _attempt in range(8):
            drawer.hit = drawer.steep = False
            choices = focus if focus and draw(st.booleans()) else names
            step = generators[draw(st.sampled_from(choices))](drawer)
            if step is None:
                continue
            value = _np_step(step, pool, np.float64)
            if _acceptable(value, step.op in RAW_OPS):
                break
        else:
            drawer.hit = drawer.steep = False
            step = Step("tanh", (max(k for k, v in enumerate(pool) if id(v) not in raw),))
            value = _np_step(step, pool, np.float64)
        if any(value is v for v in pool):  # pool values are told apart by identity
            value = value.copy()
        kinks, steep = kinks or drawer.hit, steep or drawer.steep
        if step.op in EXACT_OPS and all(id(pool[a]) in exact for a in step.args) and _representable(value):
            exact.add(id(value))
        if step.op in RAW_OPS:
            raw.add(id(value))
        pool.append(value)
        steps.append(step)
    if id(pool[-1]) in raw:  # the output is a float of the build's dtype
        _append(_to_float_step(pool, len(pool) - 1), pool, steps)
    if edges:
        _tie_off(pool, steps, raw, rng)
    weights = _f32(rng.uniform(-1, 1, pool[-1].shape))
    return Program(shapes, values, steps, weights, data, runtime_ones, kinks, steep)


def _append(step: Step, pool: list, steps: list) -> int:
    pool.append(_np_step(step, pool, np.float64))
    steps.append(step)
    return len(pool) - 1


def _tie_off(pool: list, steps: list, raw: set, rng: np.random.Generator) -> None:
    """Add mean(c * v), for a random constant c, of every float value no step reads to the output,
    so that the derivative of every step (an edge step especially) reaches the checks."""
    output = len(pool) - 1
    read = {a for step in steps for a in step.args}
    loose = [k for k in range(output) if k not in read and id(pool[k]) not in raw]
    total = None
    for k in loose:
        scaled = _append(Step("mul_const", (k,), {"c": _f32(rng.uniform(-1, 1, pool[k].shape))}), pool, steps)
        term = _append(Step("mean", (scaled,), {"axis": None, "keepdims": False}), pool, steps)
        total = term if total is None else _append(Step("add", (total, term)), pool, steps)
    if total is not None:
        _append(Step("add", (output, total)), pool, steps)
