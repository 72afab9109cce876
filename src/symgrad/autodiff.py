"""Derivatives as graph: reverse mode (grad, vjp) and forward mode (jvp).

Both passes follow the notes' algorithm and add their nodes to the graph of
the outputs, so a derivative can be evaluated, drawn and differentiated again.

Reverse mode (the notes' ``build_grad``):

1. prune the graph to G', the ancestors of the outputs that are also
   descendants of the targets;
2. seed the cotangent table (the notes' ``grad_table``) with the output
   cotangents (1 for a scalar cost);
3. walk G' in reverse creation order (a reverse topological order); at each
   node, sum the contributions of all its consumers into one node, then ask
   the op's reverse rule for each input's contribution, summed back to the
   input's shape if the op broadcast it.

Forward mode walks G' in creation order and sums tangents the same way. Both
loops are iterative: graph depth is limited by memory, not the recursion limit.

A run-time (None) dimension is assumed not to broadcast, so it is never summed
over. Where an op could have broadcast one, the derivative carries a
``check_sizes`` node that raises at run time if it did, unless it is computed
from the forward node itself, which every executor checks: evaluating only a
derivative never returns a gradient of another shape than its input.
"""

from __future__ import annotations

import gc
from typing import Sequence

import numpy as np

from .errors import GradientError, RuleError, ShapeError
from .ir import (DISCONNECTED, UNDEFINED, ZERO, Node, Origin, ancestors, as_list, as_node, disconnected_rule,
                 zero_rule)
from .ops import CHECK_SIZES, add, broadcast_like, check_sizes, sum as reduce_sum, zeros_like
from .rewrite import during_pass, polynomial_form
from .types import compatible, is_float


# --- the pruned graph G' -----------------------------------------------------------

def between(outputs: Sequence[Node], wrt: Sequence[Node], mode: str | None = None,
            nodes: list[Node] | None = None) -> list[Node]:
    """G': ancestors of ``outputs`` that descend from ``wrt``, in topological order.

    With ``mode`` ("reverse" or "forward"), a node descends from ``wrt`` only
    through inputs whose rule of that mode is not ``disconnected_rule``: what
    comes after a stop_gradient or an index argument is outside G', so the
    pass never asks it for a derivative (``stop_gradient(x) > 0`` is a
    constant mask, not a derivative that cannot flow through a comparison).
    """
    reached = set(wrt)
    result = []
    for node in ancestors(outputs) if nodes is None else nodes:  # nodes: ancestors(outputs), if known
        if node in reached or any(inp in reached and not _blocks(node.op, k, mode)
                                  for k, inp in enumerate(node.inputs)):
            reached.add(node)
            result.append(node)
    return result


def _blocks(op, index: int, mode: str | None) -> bool:
    """Whether ``op``'s rule for input ``index`` in ``mode`` is disconnected (an op without
    rules of that kind is not: the pass reports it if a derivative must flow through it)."""
    rules = op.vjp if mode == "reverse" else op.jvp if mode == "forward" else None
    if not rules:
        return False
    return (rules(index) if callable(rules) else rules[index]) is disconnected_rule


def _pass_order(outputs: Sequence[Node], nodes: list[Node] | None = None) -> int:
    """1 for a first derivative, 2 when the outputs already hold first derivatives, ...
    (``nodes``: ``ancestors(outputs)``, if known)."""
    graph = outputs[0].graph
    orders = [o.order for n in (ancestors(outputs) if nodes is None else nodes)
              if (o := graph.origin(n)) is not None]
    return 1 + max(orders, default=0)


def _add_all(parts: list[Node]) -> Node:
    total = parts[0]
    for part in parts[1:]:
        total = add(total, part)
    return total


# --- checks shared by both modes ----------------------------------------------------------

def _check_targets(what: str, outputs, wrt) -> None:
    graph = outputs[0].graph
    for node in list(outputs) + list(wrt):
        if not isinstance(node, Node):
            raise TypeError(f"{what}: expected symgrad nodes, got {type(node).__name__}")
        if node.graph is not graph:
            raise GradientError(f"{what}: {node.describe()} belongs to another graph than the outputs")
    for node in wrt:
        if not is_float(node.dtype):
            raise GradientError(
                f"{what}: cannot differentiate with respect to {node.describe()}: "
                f"{node.dtype} values are not differentiable")


def _not_differentiable(consumer: Node, inp: Node) -> GradientError:
    return GradientError(
        f"{consumer.op.name}: a derivative must flow through {inp.describe()}, whose {inp.dtype} "
        f"values are not differentiable (needed by {consumer.describe()}); "
        "wrap it in sg.stop_gradient to treat it as a constant")


def _checked(result, rule_kind: str, node: Node, index: int, like: Node):
    """Validate what a rule returned, so a broken custom rule fails loudly, here."""
    if result is ZERO or result is DISCONNECTED:
        return result
    if result is UNDEFINED:
        raise GradientError(
            f"{node.op.name}: the derivative of {node.describe()} with respect to its input {index} "
            f"({node.inputs[index].describe()}) is undefined")
    if not isinstance(result, Node):
        raise RuleError(
            f"{node.op.name}: the {rule_kind} rule for input {index} returned {type(result).__name__}, "
            "not a node; rules must build nodes with symgrad functions (sg.constant for fixed values)")
    if result.graph is not node.graph:
        raise RuleError(f"{node.op.name}: the {rule_kind} rule for input {index} built a node in another graph")
    if result.dtype != like.dtype:
        raise RuleError(
            f"{node.op.name}: the {rule_kind} rule for input {index} returned {result.describe()}, "
            f"but {like.describe()} needs dtype {like.dtype}")
    return result


def _sum_to(value: Node, node: Node, target: Node, index: int, broadcast: set) -> Node:
    """Sum a broadcast cotangent back to ``target``'s shape (a chore of the pass).

    Only statically-1 axes are summed: a run-time (None) axis of ``target`` is
    assumed not to have broadcast, and where it could have, that is checked at
    run time, so a gradient never comes back with another shape than its
    input's. ``broadcast`` holds the ``(input, axis)`` pairs where ``node`` may
    have broadcast a run-time dimension (``Op.runtime_broadcast_axes``).
    """
    if value.shape != target.shape:
        value = _reduced(value, node, target, index)
    if None not in target.shape:
        return value
    runtime = [a for a, d in enumerate(target.shape) if d is None]
    maybe = [a for a in runtime if (index, a) in broadcast]
    # Every executor checks a broadcasting node it evaluates (the same sizes), so a cotangent
    # computed from the node itself needs no check of its own.
    if maybe and _reads(value, node):
        maybe = []
    # A static size where the target's is known only at run time, whatever the op, is checked too
    # (concatenate([c, x], axis=1) with c of 4 rows gives x a 4-row cotangent).
    static = [a for a in runtime if value.shape[a] is not None and (index, a) not in broadcast]
    axes = tuple(sorted(maybe + static))
    if not axes:
        return value
    return check_sizes(value, target, axes, (None,) * len(axes), "result", node, index)


def _reads(value: Node, node: Node, budget: int = 16) -> bool:
    """Whether ``node`` is seen among the ancestors of ``value`` in a short search.

    Only nodes made after ``node`` can descend from it, so the search stays
    among the few that the pass has just made; it gives up after ``budget``.
    """
    stack, seen = [value], set()
    while stack and len(seen) < budget:
        current = stack.pop()
        if current is node:
            return True
        if current.id > node.id and current not in seen:
            seen.add(current)
            stack.extend(current.inputs)
    return False


def _reduced(value: Node, node: Node, target: Node, index: int) -> Node:
    shape = target.shape
    lead = value.ndim - len(shape)
    if value.ndim > max(len(shape), node.ndim):  # extra axes can only come from broadcasting into node
        raise RuleError(f"{node.op.name}: the reverse rule for input {index} returned {value.describe()}, "
                        f"which has more dimensions than both {target.describe()} and {node.describe()}")
    if lead < 0:
        raise RuleError(f"{node.op.name}: the reverse rule for input {index} returned {value.describe()}, "
                        f"which has fewer dimensions than {target.describe()}")
    if lead:
        value = reduce_sum(value, tuple(range(lead)))
    ones = tuple(i for i, d in enumerate(shape) if d == 1 and value.shape[i] != 1)
    if ones:
        value = reduce_sum(value, ones, keepdims=True)
    for have, want in zip(value.shape, shape):
        if have is not None and want is not None and have != want:
            raise RuleError(f"{node.op.name}: the reverse rule for input {index} returned {value.describe()}, "
                            f"which does not reduce to the shape of {target.describe()}")
    return value


def _checked_tangent(x_dot: Node, node: Node, index: int, broadcast: list) -> Node:
    """The tangent of ``node``'s input ``index``, checked at run time where ``node`` may have
    broadcast a run-time dimension of that input (``broadcast``: ``Op.runtime_broadcast_axes``)."""
    axes = tuple(axis for k, axis, _ in broadcast if k == index)
    if not axes:
        return x_dot
    sizes = tuple(node.shape[position] for k, _, position in broadcast if k == index)
    like = node if None in sizes else None  # static sizes need no forward value
    return check_sizes(x_dot, like, axes, sizes, "input", node, index)


def _broadcast_tangent(x_dot: Node, node: Node, index: int) -> Node:
    """Broadcast a tangent up to ``node``'s shape (a chore of the pass)."""
    try:
        return broadcast_like(x_dot, node)
    except ShapeError:
        raise RuleError(f"{node.op.name}: the forward rule for input {index} returned {x_dot.describe()}, "
                        f"which does not broadcast to the shape of {node.describe()}") from None


# --- reverse mode -----------------------------------------------------------------------------

def _reverse(outputs: list[Node], cotangents: list[Node], wrt: list[Node], disconnected: str,
             what: str) -> list[Node]:
    # The pass makes millions of objects for a long graph and frees none: the cyclic collector's
    # repeated full scans would only cost time (a quarter of it at 3e5 nodes), so it waits.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _reverse_pass(outputs, cotangents, wrt, disconnected, what)
    finally:
        if collecting:
            gc.enable()


def _reverse_pass(outputs: list[Node], cotangents: list[Node], wrt: list[Node], disconnected: str,
                  what: str) -> list[Node]:
    graph = outputs[0].graph
    nodes = ancestors(outputs)  # one walk serves both
    order = _pass_order(outputs, nodes)
    region = between(outputs, wrt, "reverse", nodes)
    inside = set(region)
    targets = set(wrt)
    parts: dict[Node, list[Node]] = {}   # the notes' grad_table, before summing
    connected: set[Node] = set()         # reached by the cost, even if only through zeros
    totals: dict[Node, Node] = {}
    for out, out_bar in zip(outputs, cotangents):
        parts.setdefault(out, []).append(out_bar)
        connected.add(out)

    for node in reversed(region):
        if node not in connected:
            continue
        axes = node.op.runtime_broadcast_axes(node.inputs)
        broadcast = {(k, axis) for k, axis, _ in axes} if axes else ()
        with graph.recording(Origin(order, node, "cotangent"), during_pass):
            total = _add_all(parts.pop(node)) if node in parts else None
            if node in targets and total is not None:
                totals[node] = total
            for index, inp in enumerate(node.inputs):
                if inp not in inside:
                    continue
                rule = node.op.vjp_rule(index)
                if rule is disconnected_rule:
                    continue
                if total is None or rule is zero_rule:  # connected, but nothing to send
                    connected.add(inp)
                    continue
                if not is_float(inp.dtype):
                    raise _not_differentiable(node, inp)
                inp_bar = _checked(rule(total, node, *node.inputs), "reverse", node, index, inp)
                if inp_bar is DISCONNECTED:
                    continue
                connected.add(inp)
                if inp_bar is not ZERO:
                    parts.setdefault(inp, []).append(_sum_to(inp_bar, node, inp, index, broadcast))

    results = []
    for target in wrt:
        if target in totals:
            results.append(totals[target])
        elif target in connected or disconnected == "zero":
            results.append(zeros_like(target))
        else:
            names = ", ".join(o.describe() for o in outputs)
            raise GradientError(
                f"{what}: {names} does not depend on {target.describe()} (or only through "
                "stop_gradient, integer values or index arguments); pass disconnected='zero' for zeros")
    return results


def as_derivative(value, like: Node, what: str, role: str) -> Node:
    """A cotangent or tangent given by the user: a node or an array of ``like``'s shape."""
    if not isinstance(value, Node):
        try:
            array = None if value is None else np.asarray(value)  # np.asarray(None, float) would be NaN
        except ValueError:  # a ragged list
            array = None
        if array is None or array.dtype.kind not in "biuf":
            raise GradientError(f"{what}: the {role} for {like.describe()} is {type(value).__name__} {value!r:.40}; "
                                f"give a node or numbers of shape {like.shape}")
        value = as_node(array.astype(like.dtype), like.graph)
    node = value
    if node.graph is not like.graph:
        raise GradientError(f"{what}: the {role} {node.describe()} belongs to another graph")
    if not compatible(node.shape, like.shape):
        raise ShapeError(f"{what}: the {role} {node.describe()} does not match the shape of {like.describe()}")
    if node.dtype != like.dtype:
        raise GradientError(f"{what}: the {role} {node.describe()} must have the dtype of {like.describe()}")
    runtime = tuple(a for a, d in enumerate(like.shape) if d is None)
    if runtime and node is not like:  # sizes known only at run time: checked then
        return like.graph.apply(CHECK_SIZES, (node, like), {
            "axes": runtime, "sizes": (None,) * len(runtime), "stands_for": "given", "node": what,
            "input": f"the {role} {node.describe()} of {like.describe()}"})
    return node


def grad(cost: Node, wrt, disconnected: str = "raise"):
    """The gradient of a scalar ``cost`` with respect to ``wrt``, as new nodes.

    Parameters
    ----------
    cost : Node
        A scalar (shape ``()``) float node.
    wrt : Node or list of Node
        Float nodes (placeholders or intermediates); a list in gives a list out.
    disconnected : {"raise", "zero"}
        What to do when ``cost`` does not depend on an element of ``wrt``.

    Examples
    --------
    >>> import symgrad as sg
    >>> x, y, z = sg.scalar("x"), sg.scalar("y"), sg.scalar("z")
    >>> f = (x + y) * z
    >>> dx, dz = sg.grad(f, [x, z])
    >>> sg.evaluate([dx, dz], {"x": -2.0, "y": 5.0, "z": -4.0})
    [array(-4.), array(3.)]
    """
    targets, many = as_list(wrt)
    if not isinstance(cost, Node):
        raise TypeError(f"grad: the cost must be a node, got {type(cost).__name__}")
    if cost.shape != ():
        raise GradientError(
            f"grad: the cost must be a scalar, but {cost.describe()} has shape {cost.shape}; "
            "reduce it (e.g. .sum()) or use sg.vjp with a cotangent")
    if not is_float(cost.dtype):
        raise GradientError(f"grad: the cost {cost.describe()} must be a float")
    check_disconnected_option(disconnected)
    _check_targets("grad", [cost], targets)
    repeated = cost.graph.origin(cost) is not None
    if repeated:  # between repeated passes: keep d^n small (see symgrad.rewrite)
        cost = polynomial_form(cost)
    seed = cost.graph.constant(np.ones((), cost.dtype))
    results = _reverse([cost], [seed], targets, disconnected, "grad")
    if repeated:
        results = [polynomial_form(r) for r in results]
    return results if many else results[0]


def vjp(outputs, wrt, cotangents, disconnected: str = "raise"):
    """Vector-Jacobian products: the cotangents of ``wrt`` given those of ``outputs``.

    ``cotangents`` match ``outputs`` one to one, as nodes or arrays (a list
    when ``outputs`` is a list, else a single cotangent).

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> (x_bar,) = sg.vjp([x * x], [x], [[1.0, 10.0]])
    >>> x_bar.eval({x: [3.0, 4.0]})
    array([ 6., 80.])
    """
    outs, many_outs = as_list(outputs)
    targets, many = as_list(wrt)
    out_bars = list(cotangents) if many_outs else [cotangents]
    if len(out_bars) != len(outs):
        raise GradientError(f"vjp: {len(outs)} outputs but {len(out_bars)} cotangents")
    check_disconnected_option(disconnected)
    _check_targets("vjp", outs, targets)
    for out in outs:
        if not is_float(out.dtype):
            raise GradientError(f"vjp: the output {out.describe()} must be a float")
    out_bars = [as_derivative(b, out, "vjp", "cotangent") for b, out in zip(out_bars, outs)]
    results = _reverse(outs, out_bars, targets, disconnected, "vjp")
    return results if many else results[0]


def check_disconnected_option(value: str) -> None:
    if value not in ("raise", "zero"):
        raise GradientError(f"disconnected must be 'raise' or 'zero', not {value!r}")


# --- forward mode -------------------------------------------------------------------------------

def jvp(outputs, wrt, tangents):
    """Jacobian-vector products: the tangents of ``outputs`` given those of ``wrt``.

    ``tangents`` match ``wrt`` (a list when ``wrt`` is a list, else a single
    tangent). Outputs that do not depend on ``wrt`` get zero tangents.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2)
    >>> y_dot = sg.jvp(x * x, x, [1.0, 0.0])
    >>> y_dot.eval({x: [3.0, 4.0]})
    array([6., 0.])
    """
    outs, many = as_list(outputs)
    targets, many_targets = as_list(wrt)
    given = list(tangents) if many_targets else [tangents]
    if len(given) != len(targets):
        raise GradientError(f"jvp: {len(targets)} inputs but {len(given)} tangents")
    _check_targets("jvp", outs, targets)
    graph = outs[0].graph
    nodes = ancestors(outs)  # one walk serves both
    order = _pass_order(outs, nodes)
    dots = {w: as_derivative(t, w, "jvp", "tangent") for w, t in zip(targets, given)}  # node -> its tangent
    undefined: dict[Node, Node] = {}  # node -> the node whose derivative is undefined
    for node in between(outs, targets, "forward", nodes):
        if node in dots:
            continue
        parts = []
        joint = node.op.jvp_all is not None
        broadcast = node.op.runtime_broadcast_axes(node.inputs)
        checked = {}  # index -> the input's tangent, checked where the op may have broadcast it
        with graph.recording(Origin(order, node, "tangent"), during_pass):
            for index, inp in enumerate(node.inputs):
                rule = node.op.jvp_rule(index)
                if rule in (disconnected_rule, zero_rule) or (inp not in dots and inp not in undefined):
                    continue
                if inp in undefined:
                    raise _not_differentiable(node, undefined[inp])
                if not is_float(node.dtype):  # a comparison, argmax, cast to int: no tangent here
                    undefined[node] = node
                    break
                checked[index] = _checked_tangent(dots[inp], node, index, broadcast)
                if joint:  # the op takes every tangent at once, below
                    parts.append(index)
                    continue
                out_dot = _checked(rule(checked[index], node, *node.inputs), "forward", node, index, node)
                if out_dot is ZERO or out_dot is DISCONNECTED:
                    continue
                parts.append(out_dot if out_dot.shape == node.shape else _broadcast_tangent(out_dot, node, index))
            if parts and joint and node not in undefined:
                given_dots = [checked[k] if k in parts else ZERO for k in range(len(node.inputs))]
                out_dot = _checked(node.op.jvp_all(given_dots, node, *node.inputs), "forward", node, parts[0], node)
                if out_dot is not ZERO and out_dot is not DISCONNECTED:
                    dots[node] = out_dot
            elif parts and not joint:
                dots[node] = _add_all(parts)
    results = []
    for out in outs:
        if out in undefined:
            raise _not_differentiable(out, undefined[out])
        results.append(dots[out] if out in dots else zeros_like(out))
    return results if many else results[0]


def depends(y: Node, x: Node, mode: str = "reverse") -> bool:
    """Whether a derivative can flow from ``x`` to ``y`` in ``mode`` ("reverse" or "forward"):
    not only through stop_gradient, index arrays or other disconnected inputs."""
    return y in set(between([y], [x], mode))
