"""Builders shared by several test modules (conftest puts this folder on ``sys.path``).

- The op-case table ``CASES`` (with ``IDS``, ``instantiate`` and ``squared_cost``): each case is
  a symbolic expression (``build``), the same computation written in plain NumPy (``ref``) and
  input arrays chosen in a smooth domain (away from kinks, ties and jumps). test_ops.py checks
  each case against independent oracles; test_compile.py checks that compiled code computes
  what the interpreter computes.
- ``tanh_derivative``: the n-th derivative of tanh in closed form (test_simplify.py,
  test_higher_order.py).

Float inputs of a case become placeholders of the dtype under test and are the
differentiation targets; integer and bool inputs (labels, indices, masks)
become placeholders of their own dtype and are never differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.special as sc  # the test extra installs it (symgrad[special])
from numpy.polynomial import polynomial as P

import symgrad as sg

# --- the op-case table -----------------------------------------------------------------------

RNG = np.random.default_rng(20261123)


@dataclass
class Case:
    id: str
    build: Callable   # placeholders -> node
    ref: Callable     # float64 arrays -> array, in plain NumPy
    args: list        # input arrays


CASES: list[Case] = []


def case(id, build, ref, *args):
    CASES.append(Case(id, build, ref, [np.asarray(a) for a in args]))


# --- input samplers ------------------------------------------------------------------

def normal(*shape):
    return RNG.standard_normal(shape)


def uniform(low, high, *shape):
    return RNG.uniform(low, high, shape)


def away_from_zero(*shape, margin=0.2):
    """Values with |x| in [margin, margin + 1.5], random signs: clear of the kink at 0."""
    return RNG.choice([-1.0, 1.0], shape) * RNG.uniform(margin, margin + 1.5, shape)


def signed(*shape):
    """Magnitudes in [0.5, 2] with random signs: safe divisors."""
    return RNG.choice([-1.0, 1.0], shape) * RNG.uniform(0.5, 2.0, shape)


def distinct(*shape):
    """Values at least 0.3 apart from each other: no ties for max/min reductions."""
    size = int(np.prod(shape))
    return (RNG.permutation(size) * 0.3 - 0.15 * size + RNG.uniform(-0.05, 0.05, size)).reshape(shape)


def untied_pair(shape_a, shape_b):
    """Two arrays whose broadcast elementwise difference stays 0.1 or more away from 0."""
    while True:
        a, b = normal(*shape_a), normal(*shape_b)
        if np.min(np.abs(a - b)) > 0.1:
            return a, b


def off_grid(*shape):
    """Integers plus fractions in (0.1, 0.4) or (0.6, 0.9): clear of floor's and round's jumps."""
    frac = RNG.uniform(0.1, 0.4, shape) + RNG.choice([0.0, 0.5], shape)
    return RNG.integers(-3, 3, shape) + frac


def labels(n, classes):
    return RNG.integers(0, classes, n)


# --- reference helpers (plain NumPy) ----------------------------------------------------

def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def np_log_softmax(x, axis=-1):
    return x - np_logsumexp(x, axis=axis, keepdims=True)


def np_softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


# --- binary elementwise ops with broadcasting ----------------------------------------------

BROADCAST_PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)),
                   ((), (2, 3)), ((2, 3), ()), ((4, 1, 3), (2, 1))]


def _shape_id(*shapes):
    return "&".join("x".join(map(str, s)) or "scalar" for s in shapes)


for sa, sb in BROADCAST_PAIRS:
    sid = _shape_id(sa, sb)
    case(f"add[{sid}]", lambda x, y: x + y, np.add, normal(*sa), normal(*sb))
    case(f"sub[{sid}]", lambda x, y: sg.sub(x, y), np.subtract, normal(*sa), normal(*sb))
    case(f"mul[{sid}]", lambda x, y: x * y, np.multiply, normal(*sa), normal(*sb))
    case(f"div[{sid}]", lambda x, y: x / y, np.divide, normal(*sa), signed(*sb))
    case(f"pow[{sid}]", lambda x, y: x ** y, np.power, uniform(0.5, 2.0, *sa), uniform(-1.5, 1.5, *sb))
    case(f"maximum[{sid}]", sg.maximum, np.maximum, *untied_pair(sa, sb))
    case(f"minimum[{sid}]", sg.minimum, np.minimum, *untied_pair(sa, sb))

# Operators with Python numbers (weakly typed constants) on either side.
case("radd_scalar", lambda x: 2.5 + x, lambda x: 2.5 + x, normal(2, 3))
case("rsub_scalar", lambda x: 1.0 - x, lambda x: 1.0 - x, normal(2, 3))
case("rmul_scalar", lambda x: 3 * x, lambda x: 3 * x, normal(2, 3))
case("rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x, signed(2, 3))
case("div_scalar", lambda x: x / 4, lambda x: x / 4, normal(2, 3))
case("pow_int_exponent_negative_base", lambda x: x ** 3, lambda x: x ** 3, normal(2, 3))
case("rpow_scalar", lambda x: 2.0 ** x, lambda x: 2.0 ** x, normal(2, 3))
case("neg_operator", lambda x: -x, np.negative, normal(2, 3))
case("abs_operator", lambda x: abs(x), np.abs, away_from_zero(2, 3))

# --- unary elementwise ops -----------------------------------------------------------------

UNARY = [
    ("neg", sg.neg, np.negative, normal(2, 3)),
    ("exp", sg.exp, np.exp, normal(2, 3)),
    ("exp_scalar", sg.exp, np.exp, normal()),
    ("log", sg.log, np.log, uniform(0.3, 3.0, 2, 3)),
    ("log1p", sg.log1p, np.log1p, uniform(-0.6, 2.0, 2, 3)),
    ("expm1", sg.expm1, np.expm1, normal(2, 3)),
    ("sqrt", sg.sqrt, np.sqrt, uniform(0.3, 3.0, 2, 3)),
    ("square", sg.square, np.square, normal(2, 3)),
    ("sin", sg.sin, np.sin, normal(2, 3)),
    ("cos", sg.cos, np.cos, normal(2, 3)),
    ("tan", sg.tan, np.tan, uniform(-1.2, 1.2, 2, 3)),
    ("tanh", sg.tanh, np.tanh, normal(2, 3)),
    ("sigmoid", sg.sigmoid, np_sigmoid, 2 * normal(2, 3)),
    ("softplus", sg.softplus, lambda x: np.log1p(np.exp(x)), 2 * normal(2, 3)),
    ("relu", sg.relu, lambda x: np.where(x > 0, x, 0.0), away_from_zero(2, 3)),
    ("leaky_relu", lambda x: sg.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
     away_from_zero(2, 3)),
    ("abs", sg.abs, np.abs, away_from_zero(2, 3)),
    ("sign", sg.sign, np.sign, away_from_zero(2, 3)),
    ("floor", sg.floor, np.floor, off_grid(2, 3)),
    ("round", sg.round, np.round, off_grid(2, 3)),
]
for name, fn, ref, x in UNARY:
    case(name, fn, ref, x)

# --- selections with extra operands ----------------------------------------------------------

case("prelu[2x3&3]", sg.prelu, lambda x, a: np.maximum(x, 0) + a * np.minimum(x, 0),
     away_from_zero(2, 3), uniform(0.05, 0.5, 3))
case("prelu[2x3&scalar]", sg.prelu, lambda x, a: np.maximum(x, 0) + a * np.minimum(x, 0),
     away_from_zero(2, 3), uniform(0.05, 0.5))
case("where[bool2x3,2x3,3]", sg.where, np.where,
     RNG.random((2, 3)) > 0.5, normal(2, 3), normal(3))
case("where[bool2x1,1x3,scalar]", sg.where, np.where,
     np.array([[True], [False]]), normal(1, 3), normal())
case("where[on_comparison]", lambda x, y: sg.where(x > y, x * y, x - y),
     lambda x, y: np.where(x > y, x * y, x - y), *untied_pair((2, 3), (3,)))
# Values kept 0.05 or more away from the bounds.
case("clip", lambda x: sg.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
     np.array([[-1.2, -0.3, 0.1], [0.45, 0.8, -0.55]]))
case("clip[node_bounds_3]", lambda x, lo, hi: sg.clip(x, lo, hi), np.clip,
     np.array([[-1.2, -0.3, 0.1], [0.45, 0.8, -0.05]]), np.array([-0.5, -0.4, 0.0]),
     np.array([0.5, 0.6, 0.7]))

# --- matrix products ------------------------------------------------------------------------

MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 3), (5, 3, 4)),
                 ((5, 2, 3), (3,)), ((3,), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2))]
for sa, sb in MATMUL_SHAPES:
    case(f"matmul[{_shape_id(sa, sb)}]", lambda a, b: a @ b, np.matmul, normal(*sa), normal(*sb))

for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4))]:
    case(f"dot[{_shape_id(sa, sb)}]", sg.dot, np.dot, normal(*sa), normal(*sb))

# --- shape ops --------------------------------------------------------------------------------

case("transpose_T", lambda x: x.T, np.transpose, normal(2, 3))
case("transpose_axes", lambda x: x.transpose(1, 2, 0), lambda x: np.transpose(x, (1, 2, 0)),
     normal(2, 3, 4))
case("transpose_fn_negative_axes", lambda x: sg.transpose(x, (-1, 0, 1)),
     lambda x: np.transpose(x, (2, 0, 1)), normal(2, 3, 4))
case("transpose_of_transpose", lambda x: x.transpose(1, 2, 0).transpose(1, 0, 2),
     lambda x: np.transpose(np.transpose(x, (1, 2, 0)), (1, 0, 2)), normal(2, 3, 4))
case("reshape_of_reshape", lambda x: x.reshape(3, 4).reshape(2, 6),
     lambda x: x.reshape(3, 4).reshape(2, 6), normal(2, 3, 2))
case("reshape", lambda x: x.reshape(3, 2), lambda x: x.reshape(3, 2), normal(2, 3))
case("reshape_minus_one", lambda x: sg.reshape(x, (2, -1)), lambda x: x.reshape(2, -1), normal(6))
case("reshape_to_scalar", lambda x: sg.reshape(x, ()), lambda x: x.reshape(()), normal(1, 1))
case("broadcast_to[3->2x3]", lambda x: sg.broadcast_to(x, (2, 3)),
     lambda x: np.broadcast_to(x, (2, 3)), normal(3))
case("broadcast_to[2x1->2x3]", lambda x: sg.broadcast_to(x, (2, 3)),
     lambda x: np.broadcast_to(x, (2, 3)), normal(2, 1))
case("broadcast_to[scalar->2x2]", lambda x: sg.broadcast_to(x, (2, 2)),
     lambda x: np.broadcast_to(x, (2, 2)), normal())
case("concatenate_axis1", lambda a, b: sg.concatenate([a, b], axis=1),
     lambda a, b: np.concatenate([a, b], axis=1), normal(2, 3), normal(2, 2))
case("concatenate_axis0", lambda a, b: sg.concatenate([a, b]),
     lambda a, b: np.concatenate([a, b]), normal(1, 3), normal(2, 3))
case("concatenate_three", lambda a, b, c: sg.concatenate([a, b, c], axis=-1),
     lambda a, b, c: np.concatenate([a, b, c], axis=-1), normal(2), normal(3), normal(1))
case("stack_axis0", lambda a, b: sg.stack([a, b]), lambda a, b: np.stack([a, b]), normal(3), normal(3))
case("stack_axis_last", lambda a, b, c: sg.stack([a, b, c], axis=-1),
     lambda a, b, c: np.stack([a, b, c], axis=-1), normal(2, 2), normal(2, 2), normal(2, 2))
case("expand_dims0", lambda x: sg.expand_dims(x, 0), lambda x: np.expand_dims(x, 0), normal(2, 3))
case("expand_dims_last", lambda x: sg.expand_dims(x, -1), lambda x: np.expand_dims(x, -1), normal(2, 3))

GETITEM = [
    ("slices", lambda x: x[1:, ::-1]),
    ("int", lambda x: x[0]),
    ("int_column", lambda x: x[:, 1]),
    ("newaxis_slice", lambda x: x[None, 1:3]),
    ("ellipsis", lambda x: x[..., 0]),
    ("negative_int_step", lambda x: x[-1, 1::2]),
    ("int_array_repeated", lambda x: x[[0, 2, 2]]),
    ("two_int_arrays", lambda x: x[[0, 1], [3, 0]]),
    ("slice_and_int_array", lambda x: x[:, [3, 0, 3]]),
]
for name, index in GETITEM:
    case(f"getitem[{name}]", index, index, normal(3, 4))
# An index array that is itself a placeholder (repeated entries accumulate).
case("getitem[index_placeholder]", lambda x, i: x[i], lambda x, i: x[i],
     normal(3, 4), np.array([[2, 0], [2, 2]]))
# argmax as an index: the gradient flows to the selected element only.
case("argmax_as_index", lambda x: x[sg.argmax(x, 0)], lambda x: x[np.argmax(x, 0)], distinct(5))

# --- reductions ------------------------------------------------------------------------------

# A float64 sum of squares over every axis is one fused op (one pass, no temporary).
case("sum_squares", lambda x: sg.square(x).sum(), lambda x: np.sum(x * x), normal(3, 4))
case("sum_squares_in_mse", lambda x, y: sg.mse(x, y), lambda x, y: np.mean((x - y) ** 2),
     normal(2, 3), normal(2, 3))

REDUCTIONS = [
    ("sum", lambda x, a, k: x.sum(axis=a, keepdims=k), np.sum, normal),
    ("mean", lambda x, a, k: x.mean(axis=a, keepdims=k), np.mean, normal),
    ("max", lambda x, a, k: x.max(axis=a, keepdims=k), np.max, distinct),
    ("min", lambda x, a, k: sg.min(x, axis=a, keepdims=k), np.min, distinct),
    ("logsumexp", lambda x, a, k: sg.logsumexp(x, axis=a, keepdims=k), np_logsumexp, normal),
]
for name, fn, ref, sampler in REDUCTIONS:
    for axis, keepdims in [(None, False), (None, True), (1, False), (1, True), (-1, False),
                           ((0, 2), False), ((0, 2), True)]:
        case(f"{name}[axis={axis},keepdims={keepdims}]",
             lambda x, fn=fn, axis=axis, keepdims=keepdims: fn(x, axis, keepdims),
             lambda x, ref=ref, axis=axis, keepdims=keepdims: ref(x, axis=axis, keepdims=keepdims),
             sampler(2, 3, 4))
case("sum_function_form", lambda x: sg.sum(x, 0), lambda x: np.sum(x, 0), normal(2, 3))
case("mean_function_form", lambda x: sg.mean(x, (0, 1)), lambda x: np.mean(x, (0, 1)), normal(2, 3))
case("max_function_form", lambda x: sg.max(x, 1), lambda x: np.max(x, 1), distinct(2, 3))

# --- neural-network functions -------------------------------------------------------------

case("softmax", sg.softmax, np_softmax, normal(2, 3))
case("softmax_axis0", lambda x: sg.softmax(x, axis=0), lambda x: np_softmax(x, 0), normal(2, 3))
case("log_softmax", sg.log_softmax, np_log_softmax, normal(2, 3))
case("log_softmax_axis0", lambda x: sg.log_softmax(x, axis=0), lambda x: np_log_softmax(x, 0),
     normal(2, 3))
case("cross_entropy_int_labels", sg.cross_entropy,
     lambda z, y: -np.mean(np_log_softmax(z)[np.arange(len(y)), y]), normal(4, 3), labels(4, 3))
case("cross_entropy_prob_labels", sg.cross_entropy,
     lambda z, p: -np.mean(np.sum(p * np_log_softmax(z), -1)), normal(2, 3),
     np_softmax(normal(2, 3)))
case("sigmoid_cross_entropy", sg.sigmoid_cross_entropy,
     lambda z, y: np.mean(-y * np.log(np_sigmoid(z)) - (1 - y) * np.log(1 - np_sigmoid(z))),
     2 * normal(2, 3), uniform(0.0, 1.0, 2, 3))
case("mse", sg.mse, lambda p, t: np.mean((p - t) ** 2), normal(2, 3), normal(2, 3))
case("mse_broadcast", sg.mse, lambda p, t: np.mean((p - t) ** 2), normal(2, 3), normal(3))
case("one_hot_mask", lambda x, y: x * sg.one_hot(y, 3, x.dtype),
     lambda x, y: x * np.eye(3)[y], normal(4, 3), labels(4, 3))

# --- running a case --------------------------------------------------------------------------

def instantiate(c: Case, dtype=np.float64):
    """Placeholders for the case's inputs, its output, the float targets and the feeds."""
    nodes, targets, feeds = [], [], {}
    for k, arg in enumerate(c.args):
        if arg.dtype.kind == "f":
            arg = arg.astype(dtype)
            node = sg.placeholder(f"a{k}", arg.shape, dtype)
            targets.append(node)
        else:
            node = sg.placeholder(f"a{k}", arg.shape, arg.dtype)
        nodes.append(node)
        feeds[node] = arg
    return c.build(*nodes), targets, feeds


def projection(out, seed=1):
    """A fixed random cotangent shaped like ``out``."""
    return np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)


def squared_cost(out):
    """sum(u * out**2): a scalar whose gradient depends on the input through every op."""
    return (sg.constant(projection(out)) * out * out).sum()


# --- closed forms ----------------------------------------------------------------------------

def tanh_derivative(n, x):
    """d^n tanh / dx^n from its polynomial in t = tanh x: p_0 = t, p_{k+1} = (1 - t²) p_k'."""
    p = np.array([0.0, 1.0])
    for _ in range(n):
        p = P.polymul([1.0, 0.0, -1.0], P.polyder(p))
    return P.polyval(np.tanh(x), p)


# --- more of NumPy's elementary functions (drawn last: the cases above keep their values) -------

MORE_UNARY = [
    ("sinh", sg.sinh, np.sinh, normal(2, 3)),
    ("cosh", sg.cosh, np.cosh, normal(2, 3)),
    ("arcsin", sg.arcsin, np.arcsin, uniform(-0.9, 0.9, 2, 3)),
    ("arccos", sg.arccos, np.arccos, uniform(-0.9, 0.9, 2, 3)),
    ("arctan", sg.arctan, np.arctan, 2 * normal(2, 3)),
    ("arcsinh", sg.arcsinh, np.arcsinh, 2 * normal(2, 3)),
    ("arccosh", sg.arccosh, np.arccosh, uniform(1.1, 4.0, 2, 3)),
    ("arctanh", sg.arctanh, np.arctanh, uniform(-0.9, 0.9, 2, 3)),
    ("log2", sg.log2, np.log2, uniform(0.3, 3.0, 2, 3)),
    ("log10", sg.log10, np.log10, uniform(0.3, 3.0, 2, 3)),
    ("exp2", sg.exp2, np.exp2, normal(2, 3)),
    ("cbrt", sg.cbrt, np.cbrt, away_from_zero(2, 3)),
    ("reciprocal", sg.reciprocal, np.reciprocal, signed(2, 3)),
]
for name, fn, ref, x in MORE_UNARY:
    case(name, fn, ref, x)
for sa, sb in (((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3))):
    sid = _shape_id(sa, sb)
    case(f"arctan2[{sid}]", sg.arctan2, np.arctan2, normal(*sa), signed(*sb))
    case(f"hypot[{sid}]", sg.hypot, np.hypot, signed(*sa), normal(*sb))
    case(f"logaddexp[{sid}]", sg.logaddexp, np.logaddexp, 3 * normal(*sa), 3 * normal(*sb))
    # away from the jumps of mod and fmod: x / y stays 0.1 or more from an integer
    y = signed(*sb)
    x = (RNG.integers(-3, 3, sa) + uniform(0.1, 0.9, *sa)) * (y if len(sa) == len(sb) and sa == sb else 1.0)
    if sa == sb:
        case(f"mod[{sid}]", lambda a, b: a % b, np.mod, x, y)
        case(f"fmod[{sid}]", sg.fmod, np.fmod, x, y)
case("rmod_scalar", lambda x: 7.5 % x, lambda x: 7.5 % x, uniform(2.1, 2.4, 2, 3))
case("mod_scalar", lambda x: x % 2.0, lambda x: x % 2.0, uniform(0.1, 1.9, 2, 3) + 2.0 * RNG.integers(-2, 2, (2, 3)))

# --- linear algebra: sg.linalg (drawn after the cases above, which keep their values) ---------------

def well_conditioned(*shape):
    """Square matrices (batched over leading axes) with singular values near sqrt(n)."""
    n = shape[-1]
    return normal(*shape) + 2.0 * np.sqrt(n) * np.eye(n)


def spd(*shape):
    """Symmetric positive-definite matrices with distinct eigenvalues, an upper triangle of noise
    (cholesky and eigh read the lower one only)."""
    m = normal(*shape)
    n = shape[-1]
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n) + np.triu(normal(*shape), 1)


def np_lower_symmetric(a):
    """The symmetric matrix LAPACK sees when it reads a's lower triangle."""
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


L = sg.linalg
case("solve[3x3,3]", L.solve, np.linalg.solve, well_conditioned(3, 3), normal(3))
case("solve[2x3x3,2x3x2]", L.solve, np.linalg.solve, well_conditioned(2, 3, 3), normal(2, 3, 2))
case("solve[2x3x3,3x2]", L.solve, np.linalg.solve, well_conditioned(2, 3, 3), normal(3, 2))
case("inv[2x3x3]", L.inv, np.linalg.inv, well_conditioned(2, 3, 3))
case("det[3x3]", L.det, np.linalg.det, well_conditioned(3, 3))
case("slogdet[2x3x3]", lambda a: L.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1], -well_conditioned(2, 3, 3))
case("cholesky[2x3x3]", L.cholesky, np.linalg.cholesky, spd(2, 3, 3))
case("solve_triangular[lower]", L.solve_triangular, lambda a, b: np.linalg.solve(np.tril(a), b),
     well_conditioned(3, 3), normal(3, 2))
case("solve_triangular[upper,2x3x3,3]", lambda a, b: L.solve_triangular(a, b, lower=False),
     lambda a, b: np.linalg.solve(np.triu(a), b[..., None])[..., 0], well_conditioned(2, 3, 3), normal(3))
case("eigh_w[2x3x3]", lambda a: L.eigh(a)[0], lambda a: np.linalg.eigh(a)[0], spd(2, 3, 3))
# squares: the eigenvectors' signs are arbitrary
case("eigh_v[3x3]", lambda a: L.eigh(a)[1] ** 2, lambda a: np.linalg.eigh(a)[1] ** 2, spd(3, 3))
case("eigvalsh[3x3]", L.eigvalsh, np.linalg.eigvalsh, spd(3, 3))
case("svd_s[2x4x3]", lambda a: L.svd(a)[1], lambda a: np.linalg.svd(a)[1], normal(2, 4, 3))
case("svd_u[4x3]", lambda a: L.svd(a)[0] ** 2, lambda a: np.linalg.svd(a, full_matrices=False)[0] ** 2,
     normal(4, 3))
case("svd_vh[3x4]", lambda a: L.svd(a)[2] ** 2, lambda a: np.linalg.svd(a, full_matrices=False)[2] ** 2,
     normal(3, 4))
case("qr[4x3]", lambda a: L.qr(a)[0] + L.qr(a)[1][..., :1, :], lambda a: np.linalg.qr(a)[0] + np.linalg.qr(a)[1][:1],
     normal(4, 3))
case("pinv[2x4x3]", L.pinv, np.linalg.pinv, normal(2, 4, 3))
case("norm[fro]", L.norm, np.linalg.norm, normal(3, 4))
case("norm[nuc]", lambda a: L.norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"), normal(3, 4))
case("norm[vector,axis1]", lambda a: L.norm(a, axis=1), lambda a: np.linalg.norm(a, axis=1), normal(3, 4))
# --- shapes and indexing: NumPy's manipulation routines, take, and x.at[...] updates ---------------


def np_at(ufunc, index):
    """The NumPy reference of x.at[index].<update>(v): np.<ufunc>.at on a copy (a plain
    assignment for set, where the last of repeated indices lands)."""
    def ref(x, v):
        out = x.copy()
        if ufunc is None:
            out[index] = v
        else:
            ufunc.at(out, index, v)
        return out
    return ref


def _weighted(pieces, axis):
    """Pieces joined back, each scaled differently: a gradient tells them apart."""
    return sg.concatenate([p * float(k + 1) for k, p in enumerate(pieces)], axis)


def _np_weighted(pieces, axis):
    return np.concatenate([p * float(k + 1) for k, p in enumerate(pieces)], axis)


case("squeeze", lambda x: sg.squeeze(x, 1), lambda x: np.squeeze(x, 1), normal(2, 1, 3))
case("squeeze_all", lambda x: x.squeeze(), np.squeeze, normal(1, 3, 1))
case("moveaxis", lambda x: sg.moveaxis(x, [0, 2], [-1, 0]), lambda x: np.moveaxis(x, [0, 2], [-1, 0]),
     normal(2, 3, 4))
case("swapaxes", lambda x: x.swapaxes(0, -1), lambda x: np.swapaxes(x, 0, -1), normal(2, 3, 4))
case("flip", lambda x: sg.flip(x, 1), lambda x: np.flip(x, 1), normal(2, 3))
case("flip_all", sg.flip, np.flip, normal(2, 3))
case("roll", lambda x: sg.roll(x, (1, -2), (0, 1)), lambda x: np.roll(x, (1, -2), (0, 1)), normal(2, 3))
case("roll_flat", lambda x: sg.roll(x, 4), lambda x: np.roll(x, 4), normal(2, 3))
case("repeat", lambda x: sg.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1), normal(2, 3))
case("repeat_counts", lambda x: x.repeat([0, 2, 3], axis=1), lambda x: np.repeat(x, [0, 2, 3], axis=1),
     normal(2, 3))
case("repeat_flat", lambda x: sg.repeat(x, 3), lambda x: np.repeat(x, 3), normal(2, 3))
case("tile", lambda x: sg.tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)), normal(2, 3))
for mode in ("constant", "edge", "reflect"):
    case(f"pad_{mode}", lambda x, mode=mode: sg.pad(x, ((1, 2), (3, 1)), mode),
         lambda x, mode=mode: np.pad(x, ((1, 2), (3, 1)), mode), normal(2, 3))
case("pad_constant_values", lambda x: sg.pad(x, 2, constant_values=((1.5, -1.0), (0.5, 2.0))),
     lambda x: np.pad(x, 2, constant_values=((1.5, -1.0), (0.5, 2.0))), normal(2, 3))
case("split", lambda x: _weighted(sg.split(x, 3, axis=1), 1), lambda x: _np_weighted(np.split(x, 3, axis=1), 1),
     normal(2, 6))
case("split_indices", lambda x: _weighted(sg.split(x, [1, 1, 3]), 0), lambda x: _np_weighted(np.split(x, [1, 1, 3]), 0),
     normal(5, 2))
case("array_split", lambda x: _weighted(sg.array_split(x, 3, axis=1), 1),
     lambda x: _np_weighted(np.array_split(x, 3, axis=1), 1), normal(2, 7))
case("hstack", lambda x, y: sg.hstack([x, y * 2.0]), lambda x, y: np.hstack([x, y * 2.0]), normal(2, 3), normal(2, 1))
case("vstack", lambda x, y: sg.vstack([x, y * 2.0]), lambda x, y: np.vstack([x, y * 2.0]), normal(2, 3), normal(3))
case("column_stack", lambda x, y: sg.column_stack([x, y * 2.0]), lambda x, y: np.column_stack([x, y * 2.0]),
     normal(3), normal(3, 2))
case("atleast_3d", lambda x: sg.atleast_3d(x) * 2.0, lambda x: np.atleast_3d(x) * 2.0, normal(2, 3))
case("ravel", lambda x: sg.ravel(x.T), lambda x: np.ravel(x.T), normal(2, 3))
case("flatten", lambda x: x.flatten(), lambda x: x.flatten(), normal(2, 3))
case("take", lambda x: sg.take(x, [[2, -1], [0, 2]], axis=1), lambda x: np.take(x, [[2, -1], [0, 2]], axis=1),
     normal(2, 3))
case("take_flat_runtime_indices", lambda x, i: sg.take(x, i), lambda x, i: np.take(x, i), normal(2, 3), labels(5, 6))
case("take_along_axis", lambda x, i: sg.take_along_axis(x, i, axis=1),
     lambda x, i: np.take_along_axis(x, i, axis=1), normal(3, 4), RNG.integers(0, 4, (3, 5)))
case("take_along_axis_broadcast", lambda x: sg.take_along_axis(x, np.array([[0], [2], [2]]), axis=0),
     lambda x: np.take_along_axis(x, np.array([[0], [2], [2]]), axis=0), normal(3, 4))
case("at_set", lambda x, v: x.at[[2, 0, 2]].set(v), np_at(None, [2, 0, 2]), normal(3, 2), normal(3, 2))
case("at_set_slice", lambda x, v: x.at[:, 1:].set(v), np_at(None, (slice(None), slice(1, None))), normal(3, 3),
     normal(2))
case("at_set_runtime_indices", lambda x, i, v: x.at[i].set(v), lambda x, i, v: np_at(None, i)(x, v), normal(4, 2),
     np.array([3, 1, 3]), normal(3, 1))
case("at_add", lambda x, v: x.at[:, [0, 2, 0]].add(v), np_at(np.add, (slice(None), [0, 2, 0])), normal(2, 3),
     normal(2, 3))
case("at_add_runtime_indices", lambda x, i, v: x.at[i].add(v), lambda x, i, v: np_at(np.add, i)(x, v),
     normal(4, 2), labels(6, 4), normal(6, 2))
case("at_multiply", lambda x, v: x.at[[1, 1, 0, 1]].multiply(v), np_at(np.multiply, [1, 1, 0, 1]), normal(3, 2),
     normal(4, 2))
case("at_multiply_unique_runtime", lambda x, i, v: x.at[i].multiply(v, unique_indices=True),
     lambda x, i, v: np_at(np.multiply, i)(x, v), normal(4, 2), np.array([3, 0]), normal(2, 2))
_ties_apart = distinct(7, 2)
case("at_min", lambda x, v: x.at[[1, 1, 0, 2]].min(v), np_at(np.minimum, [1, 1, 0, 2]), _ties_apart[:3],
     _ties_apart[3:])
case("at_max", lambda x, v: x.at[[1, 1, 0, 2]].max(v), np_at(np.maximum, [1, 1, 0, 2]), _ties_apart[:3],
     _ties_apart[3:])
# --- sg.special: scipy.special's functions, SciPy as the reference (drawn last: earlier cases keep their values)

SPECIAL_UNARY = [
    ("special.erf", sg.special.erf, sc.erf, normal(2, 3)),
    ("special.erfc", sg.special.erfc, sc.erfc, normal(2, 3)),
    ("special.erfcx", sg.special.erfcx, sc.erfcx, uniform(-1.0, 3.0, 2, 3)),
    ("special.erfinv", sg.special.erfinv, sc.erfinv, uniform(-0.9, 0.9, 2, 3)),
    ("special.ndtr", sg.special.ndtr, sc.ndtr, 2 * normal(2, 3)),
    ("special.log_ndtr", sg.special.log_ndtr, sc.log_ndtr, 3 * normal(2, 3)),
    ("special.gammaln", sg.special.gammaln, sc.gammaln, uniform(0.3, 6.0, 2, 3)),
    ("special.gammaln_negative", sg.special.gammaln, sc.gammaln, off_grid(2, 3) - 3.0),
    ("special.digamma", sg.special.digamma, sc.digamma, uniform(0.3, 6.0, 2, 3)),
    ("special.polygamma2", lambda x: sg.special.polygamma(2, x), lambda x: sc.polygamma(2, x),
     uniform(0.3, 6.0, 2, 3)),
    ("special.logit", sg.special.logit, sc.logit, uniform(0.05, 0.95, 2, 3)),
    ("special.expit", sg.special.expit, sc.expit, 3 * normal(2, 3)),
]
for name, fn, ref, x in SPECIAL_UNARY:
    case(name, fn, ref, x)
for sa, sb in (((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3))):
    sid = _shape_id(sa, sb)
    case(f"special.xlogy[{sid}]", sg.special.xlogy, sc.xlogy, normal(*sa), uniform(0.2, 3.0, *sb))
    case(f"special.xlog1py[{sid}]", sg.special.xlog1py, sc.xlog1py, normal(*sa), uniform(-0.8, 3.0, *sb))
# --- reductions and scans: prod, cumsum, cumprod, var, std, median, sort, average, ptp -----------
# (drawn after every case above, which keep their values)

def np_linear_recurrence(a, b, axis=-1, reverse=False):
    """y[k] = a[k] y[k-1] + b[k] (reverse: y[k] = a[k+1] y[k+1] + b[k]), one step at a time."""
    a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
    y = np.zeros_like(b)
    steps = range(b.shape[-1] - 1, -1, -1) if reverse else range(b.shape[-1])
    for k in steps:
        near = k + 1 if reverse else k - 1
        y[..., k] = b[..., k] + (a[..., max(k, near)] * y[..., near] if 0 <= near < b.shape[-1] else 0.0)
    return np.moveaxis(y, -1, axis)


for axis in (None, 1, (0, 2)):
    case(f"prod[axis={axis}]", lambda x, axis=axis: sg.prod(x, axis), lambda x, axis=axis: np.prod(x, axis),
         uniform(0.5, 1.5, 2, 3, 4) * RNG.choice([-1.0, 1.0], (2, 3, 4)))
case("prod[zeros]", lambda x: x.prod(axis=1, keepdims=True), lambda x: np.prod(x, 1, keepdims=True),
     np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0], [0.5, 2.0, 1.25]]))
case("cumsum[axis=1]", lambda x: sg.cumsum(x, 1), lambda x: np.cumsum(x, 1), normal(2, 3))
case("cumsum[flat]", lambda x: x.cumsum(), np.cumsum, normal(2, 3))
case("cumprod[axis=0]", lambda x: sg.cumprod(x, 0), lambda x: np.cumprod(x, 0), signed(4, 2))
case("cumprod[zeros]", lambda x: x.cumprod(-1), lambda x: np.cumprod(x, -1),
     np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, 1.0]]))
for reverse in (False, True):
    case(f"linear_recurrence[reverse={reverse}]",
         lambda a, b, reverse=reverse: sg.ops.linear_recurrence(a, b, 0, reverse),
         lambda a, b, reverse=reverse: np_linear_recurrence(a, b, 0, reverse), signed(4, 2), normal(4, 2))
case("var[axis=1]", lambda x: sg.var(x, 1), lambda x: np.var(x, 1), normal(2, 4))
case("var[ddof=1,keepdims]", lambda x: x.var((0, 1), ddof=1, keepdims=True),
     lambda x: np.var(x, (0, 1), ddof=1, keepdims=True), normal(2, 4))
case("std[axis=0]", lambda x: sg.std(x, 0), lambda x: np.std(x, 0), normal(3, 2))
case("median[odd]", lambda x: sg.median(x, 1), lambda x: np.median(x, 1), distinct(2, 5))
case("median[even,all]", lambda x: sg.median(x, keepdims=True), lambda x: np.median(x, keepdims=True),
     distinct(2, 3))
case("sort[axis=0]", lambda x: sg.sort(x, 0), lambda x: np.sort(x, 0), distinct(3, 2))
case("sort_argsort_as_index", lambda x: x[sg.argsort(x)], lambda x: x[np.argsort(x)], distinct(5))
case("average[weights]", lambda x, w: sg.average(x, 1, w), lambda x, w: np.average(x, 1, w),
     normal(2, 3), uniform(0.5, 2.0, 3))
case("ptp", lambda x: sg.ptp(x, 0), lambda x: np.ptp(x, 0), distinct(3, 2))
# --- tensor contractions (ops/contract.py) ----------------------------------------------------

CONTRACT = [
    ("einsum[ij,jk->ik]", lambda a, b: sg.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b),
     (2, 3), (3, 4)),
    ("einsum[implicit_ij,kj]", lambda a, b: sg.einsum("ij,kj", a, b), lambda a, b: np.einsum("ij,kj", a, b),
     (2, 3), (4, 3)),
    ("einsum[trace_ii]", lambda a: sg.einsum("ii", a), np.trace, (3, 3)),
    ("einsum[diagonal_ii->i]", lambda a: sg.einsum("ii->i", a), np.diagonal, (3, 3)),
    ("einsum[repeated_iji,jk->ik]", lambda a, b: sg.einsum("iji,jk->ik", a, b),
     lambda a, b: np.einsum("iji,jk->ik", a, b), (3, 2, 3), (2, 4)),
    ("einsum[sum_ijk->ki]", lambda a: sg.einsum("ijk->ki", a), lambda a: np.einsum("ijk->ki", a), (2, 3, 4)),
    ("einsum[ellipsis_broadcast]", lambda a, b: sg.einsum("...ij,...j->...i", a, b),
     lambda a, b: np.einsum("...ij,...j->...i", a, b), (2, 1, 3, 4), (5, 4)),
    ("einsum[quadratic_form]", lambda x, a: sg.einsum("i,ij,j", x, a, x), lambda x, a: x @ a @ x, (3,), (3, 3)),
    ("einsum[three_operands]", lambda a, b, c: sg.einsum("ij,jk,kl->li", a, b, c),
     lambda a, b, c: (a @ b @ c).T, (2, 3), (3, 4), (4, 2)),
    ("tensordot[axes=2]", sg.tensordot, np.tensordot, (2, 3, 4), (3, 4, 2)),
    ("tensordot[pairs]", lambda a, b: sg.tensordot(a, b, ([0, 2], [1, 0])),
     lambda a, b: np.tensordot(a, b, ([0, 2], [1, 0])), (2, 3, 4), (4, 2)),
    ("inner", sg.inner, np.inner, (2, 3), (4, 3)),
    ("outer", sg.outer, np.outer, (3,), (2, 2)),
    ("kron", sg.kron, np.kron, (2, 2), (3, 1)),
    ("trace[offset_axes]", lambda a: sg.trace(a, 1, 2, 0), lambda a: np.trace(a, 1, 2, 0), (3, 2, 4)),
    ("diag[vector_k]", lambda v: sg.diag(v, -1), lambda v: np.diag(v, -1), (3,)),
    ("diag[matrix_k]", lambda a: sg.diag(a, 1), lambda a: np.diag(a, 1), (3, 4)),
    ("diagonal[axes]", lambda a: sg.diagonal(a, -1, 0, 2), lambda a: np.diagonal(a, -1, 0, 2), (3, 2, 4)),
    ("tril[k]", lambda a: sg.tril(a, -1), lambda a: np.tril(a, -1), (3, 4)),
    ("triu[batched]", lambda a: sg.triu(a, 1), lambda a: np.triu(a, 1), (2, 3, 3)),
]
for name, build, ref, *shapes in CONTRACT:
    case(name, build, ref, *[normal(*s) for s in shapes])

IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), "case ids must be unique"
