"""What an op is, and the helpers the op modules are written with.

An :class:`Op` bundles, side by side:

- ``forward(*arrays, **params) -> array``: the NumPy computation;
- ``infer(*nodes, **params) -> (shape, dtype)``: the static shape and dtype
  rule, which rejects bad operands when the node is built;
- ``vjp``: one reverse rule per input, ``rule(g, out, *inputs)``, returning
  the cotangent that input receives from ``out`` when ``out``'s cotangent is
  ``g`` (the notes' ``op.bprop``);
- ``jvp``: one forward rule per input, ``rule(t, out, *inputs)``, returning
  the tangent ``out`` receives when that input's tangent is ``t``.

Rules build nodes with symgrad's own functions, never arrays, so every
derivative can be differentiated again. Chores belong to the pass, not the
rules: a rule may return a cotangent of the broadcast output shape (the pass
sums it down to the input's shape) and a tangent of the input's shape (the
pass broadcasts it up).

"No derivative" has exactly one spelling per meaning; a rule returns:

- ``ZERO``: the derivative exists and is zero (floor, sign, round, and
  ``where``'s condition, in which the result is piecewise constant). The
  input is connected; it just receives nothing. A rule that is always zero
  is spelled ``zero_rule``, and the passes skip it without calling it.
- ``DISCONNECTED``: the input is not a differentiable argument at all (an
  index array, one_hot's labels, ``stop_gradient``). If every path from
  the cost to a target is disconnected, ``grad`` reports the target as
  disconnected.
- ``UNDEFINED``: the derivative does not exist (argmax, a comparison, a cast
  from integers). The pass raises :class:`GradientError` naming the op if a
  derivative must flow through it, instead of pretending it is zero.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import DTypeError, GradientError, RuleError, ShapeError
from ..graph import Node, as_nodes, is_float


_REGISTRY: dict[str, "Op"] = {}


def lookup_op(name: str) -> "Op | None":
    """The op first defined under ``name`` (used when loading saved graphs)."""
    return _REGISTRY.get(name)


class _NoDerivative:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ZERO = _NoDerivative("ZERO")
DISCONNECTED = _NoDerivative("DISCONNECTED")
UNDEFINED = _NoDerivative("UNDEFINED")


@dataclass(frozen=True, eq=False)
class Op:
    """An operation: forward, shape/dtype rule, reverse rules, forward rules.

    ``vjp`` and ``jvp`` hold one rule per input; an op with any number of
    inputs (concatenate) gives instead a function of the input's position
    that returns its rule. Such an op may also give ``jvp_all(tangents, out,
    *inputs)``, the tangent of ``out`` from all inputs' tangents at once (ZERO
    where an input has none): one concatenate of n tangents, rather than n
    concatenates, one per input, summed.

    ``broadcasts`` says the op NumPy-broadcasts its inputs against each
    other; the last ``core_dims`` axes of each input are not broadcast (2 for
    matmul's matrix axes, whose batch axes broadcast).
    """

    name: str
    forward: Callable
    infer: Callable
    vjp: tuple | Callable = ()
    jvp: tuple | Callable = ()
    doc: str = field(default="", compare=False)
    broadcasts: bool = field(default=False, compare=False)  # NumPy-broadcasts its inputs against each other
    core_dims: int = field(default=0, compare=False)  # trailing axes that do not broadcast (matmul's 2)
    jvp_all: Callable | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _REGISTRY.setdefault(self.name, self)

    def vjp_rule(self, index: int) -> Callable:
        return self.vjp(index) if callable(self.vjp) else self.vjp[index] if self.vjp else self._no_rules("reverse")

    def jvp_rule(self, index: int) -> Callable:
        return self.jvp(index) if callable(self.jvp) else self.jvp[index] if self.jvp else self._no_rules("forward")

    def _no_rules(self, kind: str):
        raise GradientError(f"{self.name}: the op has no {kind} rules, so no derivative can flow through it")

    def check_arity(self, count: int) -> None:
        """Called when a node is made: a tuple of rules needs one rule per input."""
        for kind, rules in (("reverse", self.vjp), ("forward", self.jvp)):
            if isinstance(rules, tuple) and rules and len(rules) != count:
                raise RuleError(
                    f"{self.name}: the op has {len(rules)} {kind} rules but was applied to {count} inputs; "
                    "give one rule per input (or a function of the input's position)")

    def __repr__(self) -> str:
        return f"Op({self.name})"

    def __call__(self, *inputs, **params) -> Node:
        """Apply the op to nodes (or values, which become constants)."""
        nodes = as_nodes(*inputs)
        if not nodes:
            raise TypeError(f"{self.name} needs at least one input")
        return nodes[0].graph.apply(self, nodes, params)


def _same(value):
    """A rule that hands the derivative through unchanged (for linear ops)."""
    return value


def undefined_rule(*_):
    return UNDEFINED


def zero_rule(*_):
    return ZERO


def disconnected_rule(*_):
    return DISCONNECTED


# --- shape and dtype rules --------------------------------------------------------

def broadcast_shapes(op_name: str, *nodes: Node) -> tuple:
    """NumPy broadcasting on static shapes. A dimension broadcasts only where it
    is statically 1; a run-time dimension (None) is assumed not to broadcast."""
    ndim = max(len(n.shape) for n in nodes)
    result = []
    for axis in range(-ndim, 0):
        dims = [n.shape[axis] for n in nodes if len(n.shape) >= -axis]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            shapes = " and ".join(f"{n.describe()}" for n in nodes)
            raise ShapeError(f"{op_name}: shapes do not broadcast: {shapes} (axis {axis})")
        if known:
            result.append(known.pop())
        elif None in dims:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def combine_dtypes(op_name: str, *nodes: Node) -> np.dtype:
    """Floats of one width only; an int or bool operand takes the float's dtype.

    Mixing float32 with float64 is an error rather than a silent upcast.
    """
    floats = {n.dtype for n in nodes if is_float(n.dtype)}
    if len(floats) > 1:
        described = " and ".join(n.describe() for n in nodes)
        raise DTypeError(
            f"{op_name}: cannot mix {' and '.join(sorted(map(str, floats)))} operands "
            f"({described}); cast one explicitly with sg.cast")
    if floats:
        return floats.pop()
    return np.result_type(*(n.dtype for n in nodes))


def float_result(op_name: str, node: Node) -> np.dtype:
    """symgrad's own float functions (logsumexp, log_softmax) keep a float dtype and
    compute integers and bools in float64, as ``np.mean`` and scipy do."""
    if node.dtype.kind in "biu":
        return np.dtype(np.float64)
    if not is_float(node.dtype):
        raise DTypeError(f"{op_name}: unsupported dtype in {node.describe()}")
    return node.dtype


def require_float(op_name: str, node: Node) -> None:
    if not is_float(node.dtype):
        raise DTypeError(f"{op_name}: {node.describe()} must be a float array, not {node.dtype}")


def normalize_axes(op_name: str, node: Node, axis) -> tuple:
    """``axis`` as a sorted tuple of non-negative ints (``None`` means every axis)."""
    ndim = len(node.shape)
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise ShapeError(f"{op_name}: axis must be an int, a tuple of ints or None, not {axis!r}")
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ShapeError(f"{op_name}: axis {a} is out of range for {node.describe()} ({ndim} dims)")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op_name}: repeated axis in {axis} for {node.describe()}")
    return tuple(sorted(result))


def reduced_shape(shape: tuple, axes: tuple, keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def describe_shapes(nodes: Sequence[Node]) -> str:
    return ", ".join(f"{n.describe()}" for n in nodes)


def elementwise_infer(op_name: str, float_only: bool = True, forward: Callable | None = None):
    """Shape/dtype rule of an elementwise op: broadcast the shapes, combine dtypes.

    With a float operand the result has that float's dtype (:func:`combine_dtypes`).
    Without one, the result has the dtype NumPy gives ``forward`` on operands of
    those dtypes (np.exp of int8 is float16, np.square of int8 is int8, np.negative
    of bool is an error, raised here as a :class:`DTypeError`): the executors run
    ``forward`` and cast its result to the static dtype, so a static dtype that
    disagreed would silently wrap (square of int8 as float64) or lose precision
    (exp of int8 as float64, computed in float16). Without ``forward``, a
    ``float_only`` op gives float64 for integer and bool operands.
    """
    def infer(*nodes, **params):
        first = nodes[0]
        if all(n.shape == first.shape and n.dtype == first.dtype for n in nodes):  # the common case
            shape, dtype = first.shape, first.dtype
        else:
            shape, dtype = broadcast_shapes(op_name, *nodes), combine_dtypes(op_name, *nodes)
        if dtype.kind != "f":
            if forward is not None:
                dtype = _numpy_dtype(op_name, forward, nodes, params)
            elif float_only:
                dtype = np.dtype(np.float64)
        return shape, dtype
    return infer


def _numpy_dtype(op_name: str, forward: Callable, nodes: Sequence[Node], params: dict) -> np.dtype:
    """The dtype of ``forward(*arrays, **params)`` for arrays of the nodes' dtypes, as NumPy computes it."""
    result = _forward_dtype(forward, tuple(n.dtype for n in nodes), tuple(sorted(params.items())))
    if isinstance(result, str):
        raise DTypeError(f"{op_name}: NumPy does not compute {op_name} of {describe_shapes(nodes)} ({result})")
    return result


@functools.lru_cache(maxsize=None)
def _forward_dtype(forward: Callable, dtypes: tuple, params: tuple) -> "np.dtype | str":
    """What ``forward`` gives on empty arrays of ``dtypes``: a dtype, or the TypeError's message.

    Under NumPy 2's promotion rules (NEP 50) a result dtype depends on the operands'
    dtypes only, never on their values or sizes, so empty arrays answer for all.
    """
    try:
        with np.errstate(all="ignore"):
            return np.asarray(forward(*(np.empty(0, d) for d in dtypes), **dict(params))).dtype
    except TypeError as err:  # NumPy's UFuncTypeError: no loop for these dtypes
        return str(err)


# --- leaves: the evaluator supplies their values ------------------------------------

def _leaf_forward(**_):
    raise AssertionError("leaves are supplied by the evaluator, never computed")


PLACEHOLDER = Op("placeholder", _leaf_forward, lambda shape, dtype: (shape, dtype))
CONSTANT = Op("constant", _leaf_forward, lambda shape, dtype: (shape, dtype))
