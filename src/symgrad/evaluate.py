"""The interpreter: ``evaluate`` runs the nodes some outputs need, in order.

A plan is the list of nodes the outputs need, in creation (topological)
order, each with the positions of its inputs and the values that can be
dropped after it runs. Each node runs once per call; intermediates are
released after their last use, so a long chain needs memory for its live
values only.

The interpreter is the reference executor: compiled functions
(:mod:`symgrad.compile`) share its feed conversion and its run-time checks,
and rerun it to explain a failure. This module gives nodes ``node.eval``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from . import backend as backend_module
from .errors import BackendError, FeedError, IntegerOverflowError, NonFiniteError, RuleError
from .format import summary
from .ir import CONSTANT, PLACEHOLDER, Node, ancestors, output_list
from .types import fits, runtime_broadcast_error, type_string


def convert_feed(placeholder: Node, value: Any) -> np.ndarray:
    """Check a value against a placeholder's shape and dtype kind, and convert it.

    Python numbers and lists take the placeholder's dtype. NumPy arrays must be
    of the same kind (a float array for a float placeholder, an integer array
    for an integer one); their width is converted.
    """
    want = placeholder.dtype
    if isinstance(value, Node):
        raise FeedError(f"feed for {placeholder.describe()} is a symbolic node; feed a value")
    if isinstance(value, (np.ndarray, np.generic)):
        have = value.dtype.kind
        if not (have == want.kind or (have in "iu" and want.kind in "iu")):
            raise FeedError(
                f"feed for {placeholder.describe()} has dtype {value.dtype}; "
                f"expected {want.name} values (convert with .astype)")
        _check_range(placeholder, value)
        array = np.asarray(value, dtype=want)
    else:
        try:
            array = np.asarray(value)
        except Exception as err:  # ragged lists and the like
            raise FeedError(f"feed for {placeholder.describe()} is not array-like: {err}") from None
        if array.dtype == object and want.kind in "iu" and all(type(v) is int for v in array.flat):
            bad = max(array.flat, key=abs)  # Python ints beyond 64 bits
            raise IntegerOverflowError(f"feed for {placeholder.describe()} holds {bad}, out of bounds for {want}")
        if array.dtype.kind not in "biuf" or (want.kind in "iub" and array.dtype.kind == "f"):
            raise FeedError(
                f"feed for {placeholder.describe()} is a {type(value).__name__} of {array.dtype}; "
                f"expected {want.name} values")
        _check_range(placeholder, array)
        array = array.astype(want, copy=False)
    if len(array.shape) != len(placeholder.shape) or any(
            d is not None and d != a for d, a in zip(placeholder.shape, array.shape)):
        raise FeedError(
            f"feed for {placeholder.describe()} has shape {array.shape}; "
            f"expected {type_string(placeholder.shape, want)}")
    return array


def _check_range(placeholder: Node, array) -> None:
    """Integers converted to a placeholder's integer dtype must fit it: NumPy 2 raises, never wraps."""
    want = placeholder.dtype
    if want.kind not in "iu" or array.dtype.kind not in "iu" or array.dtype == want or array.size == 0:
        return
    info = np.iinfo(want)
    low, high = int(np.min(array)), int(np.max(array))
    if low < info.min or high > info.max:
        bad = low if low < info.min else high
        raise IntegerOverflowError(
            f"feed for {placeholder.describe()} holds {bad}, out of bounds for {want} "
            f"[{info.min}, {info.max}] (NumPy 2 raises OverflowError; symgrad never wraps)")


def resolve_feeds(graph, feeds: Mapping) -> dict[Node, Any]:
    """``feeds`` keyed by placeholder nodes (names looked up in ``graph``), checked."""
    resolved = {}
    if not isinstance(feeds, Mapping):
        raise FeedError(f"feeds must be a dict from placeholders (or their names) to values, "
                        f"not {type(feeds).__name__}")
    for key, value in feeds.items():
        if isinstance(key, str):
            node = graph.placeholder_named(key) if graph is not None else None
            if node is None:
                known = graph.placeholder_names() if graph is not None else []
                raise FeedError(f"feed names unknown placeholder '{key}'; the graph has {known}")
        elif isinstance(key, Node):
            node = key
            if graph is not None and node.graph is not graph:
                raise FeedError(f"feed for {node.describe()}: that placeholder belongs to another graph")
            if node.op is not PLACEHOLDER:
                raise FeedError(f"only placeholders can be fed, not {node.describe()}")
        else:
            raise FeedError(f"feed keys must be placeholders or their names, not {type(key).__name__}")
        if node in resolved:  # {"x": a, x: b}: which one was meant is unknown
            raise FeedError(f"{node.describe()} is fed twice, by its name and by its node; feed it once")
        resolved[node] = value
    return resolved


class Plan:
    """The nodes ``outputs`` need, in order, with their inputs and release points."""

    def __init__(self, outputs: Sequence[Node]):
        self.outputs = list(outputs)
        self.nodes = ancestors(self.outputs)
        position = {node: k for k, node in enumerate(self.nodes)}
        last_use = {}
        for k, node in enumerate(self.nodes):
            for inp in node.inputs:
                last_use[inp] = k
        for out in self.outputs:
            last_use[out] = len(self.nodes)
        releases: list[list[int]] = [[] for _ in self.nodes]
        for node, k in last_use.items():
            if k < len(self.nodes):
                releases[k].append(position[node])
        self.placeholders = [n for n in self.nodes if n.op is PLACEHOLDER]
        self.steps = [(node, node.op.forward, tuple(position[i] for i in node.inputs),
                       node.params.as_dict(), tuple(releases[k])) for k, node in enumerate(self.nodes)]
        self.output_positions = [position[o] for o in self.outputs]
        self.copies = outputs_to_copy(self.outputs, lambda n: n.inputs,
                                      lambda n: n.op is PLACEHOLDER or n.op is CONSTANT,
                                      lambda n: n.op.view or not n.op.pure)
        # Nodes that may broadcast a run-time input dimension: checked at run time that it did not.
        self.runtime_broadcasts = {k: axes for k, node in enumerate(self.nodes)
                                   if (axes := node.op.runtime_broadcast_axes(node.inputs))}
        self.shared = shared_kernels(self.steps)

    def _shared(self, k: int, args: list, params: dict, cache: dict):
        """Step ``k``'s result from its kernel's results, computed once per run and dropped
        after the last step that shares them."""
        kernel, index, key, last = self.shared[k]
        results = cache.get(key)
        if results is None:
            results = cache[key] = kernel(*args, **params)
        if k == last:
            del cache[key]
        return results[index]

    def run(self, feeds: Mapping[Node, np.ndarray], check_finite: bool = False,
            check_shapes: bool = True) -> list[np.ndarray]:
        values: list[Any] = [None] * len(self.steps)
        shared, cache = self.shared, {}
        for k, (node, forward, inputs, params, releases) in enumerate(self.steps):
            if node.value is not None:
                value = node.value
            elif not inputs and node.op is PLACEHOLDER:
                value = feeds[node]
                if check_finite and value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise _non_finite(node, [], value, "was fed")
            else:
                args = [values[i] for i in inputs]  # gathered once: the checks below reuse them
                try:
                    if shared and k in shared:
                        value = self._shared(k, args, params, cache)
                    else:
                        value = forward(*args, **params)
                except Exception as err:
                    err.add_note(f"symgrad: while computing {node.describe()} from "
                                 + ", ".join(map(summary, args)))
                    raise
                if not isinstance(value, (np.ndarray, np.generic)):
                    raise RuleError(f"{node.op.name}: the forward returned {type(value).__name__} {value!r:.60} "
                                    f"for {node.describe()}; it must return a NumPy array")
                if value.dtype != node.dtype:
                    value = value.astype(node.dtype)
                if check_shapes:
                    check_computed(node, args, value, self.runtime_broadcasts.get(k))
                if check_finite and value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise _non_finite(node, args, value)
            values[k] = value
            for i in releases:
                values[i] = None
        return [np.array(values[k]) if copy else np.asarray(values[k])
                for k, copy in zip(self.output_positions, self.copies)]


def outputs_to_copy(outputs: Sequence, inputs_of, is_leaf, may_view) -> list[bool]:
    """Which outputs to copy so that each returned array is fresh and writable.

    An output may be (a view of) a fed array or a constant's read-only value: ``x``,
    ``x * 1.0`` (simplified to ``x``), ``x.T``, ``x[1:]``, ``stop_gradient(x)``, or share
    memory with an earlier output (``[y, y.T]``, ``[y, y]``). Those are copied; the
    others are returned as computed. ``may_view(n)``: n's value may share its inputs'
    memory (a view op, a custom op); ``is_leaf(n)``: a placeholder or constant.
    """
    claimed: set = set()  # ids of the values earlier outputs returned uncopied may share memory with
    copies = []
    for out in outputs:
        reached, stack, copy = set(), [out], False
        while stack:
            node = stack.pop()
            if id(node) in reached:
                continue
            if is_leaf(node) or id(node) in claimed:
                copy = True
                break
            reached.add(id(node))
            if may_view(node):
                stack.extend(inputs_of(node))
        if not copy:
            claimed |= reached
        copies.append(copy)
    return copies


def shared_kernels(steps: Sequence) -> dict[int, tuple]:
    """For each step ``(node, forward, input positions, params, releases)`` whose op shares a
    kernel (``Op.shares``): ``(kernel, index, key, last)``. Steps with one key (the kernel, the
    input positions and the parameters) take their results from one call of the kernel; ``last``
    is the position of the last of them."""
    found, last = {}, {}
    for k, (node, _, inputs, params, _) in enumerate(steps):
        if node.op.shares is not None:
            kernel, index = node.op.shares
            key = (kernel, inputs, node.params)
            found[k] = (kernel, index, key)
            last[key] = k
    return {k: (kernel, index, key, last[key]) for k, (kernel, index, key) in found.items()}


def check_computed(node: Node, inputs: list, value, runtime_broadcasts: list | None) -> None:
    """The run-time checks of a computed value: its shape agrees with the op's shape rule, and
    no run-time dimension broadcast (``runtime_broadcasts``: ``op.runtime_broadcast_axes``)."""
    if not fits(np.shape(value), node.shape):
        raise RuleError(f"{node.op.name}: computed shape {np.shape(value)} for {node.describe()}; "
                        "the op's forward and shape rule disagree")
    for k, axis, position in runtime_broadcasts or ():
        size, result_size = np.shape(inputs[k])[axis], np.shape(value)[position]
        if size != result_size:
            error = runtime_broadcast_error(node.describe(), f"input {k} {node.inputs[k].describe()}", axis,
                                            size, result_size)
            origin = node.graph.origin(node)
            if origin is not None:
                error.add_note(f"symgrad: {node.describe()} belongs to the derivative ({origin}) "
                               f"of {origin.primal.describe()}")
            raise error


def _element(array, shape: tuple, where: tuple) -> str:
    """The input element that met the output's first bad one, when the op is elementwise."""
    array = np.asarray(array)
    if array.size == 1 or array.ndim > len(shape):
        return ""
    try:
        return f"; {np.broadcast_to(array, shape)[where]} there"
    except ValueError:  # not elementwise: no single input element to show
        return ""


def _non_finite(node: Node, inputs: list, value, verb: str = "produced") -> NonFiniteError:
    where = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
    lines = [f"{node.describe()} {verb} {summary(value)}; the first is {value[where]} at index {where}"]
    for k, (inp, arr) in enumerate(zip(node.inputs, inputs)):
        lines.append(f"  input {k}: {inp.describe()} = {summary(arr)}{_element(arr, value.shape, where)}")
    origin = node.graph.origin(node)
    if origin is not None:
        lines.append(f"  it belongs to the derivative ({origin}) of {origin.primal.describe()}")
    return NonFiniteError("\n".join(lines))


def prepare_feeds(plan: Plan, feeds: dict[Node, Any]) -> dict[Node, np.ndarray]:
    """A value for each placeholder ``plan`` needs, converted (FeedError for a missing one)."""
    ready = {}
    for node in plan.placeholders:
        if node not in feeds:
            needs = ", ".join(o.describe() for o in plan.outputs)
            raise FeedError(f"no value fed for {node.describe()}, which {needs} needs")
        ready[node] = convert_feed(node, feeds[node])
    return ready


def evaluate(outputs, feeds: Mapping | None = None, check_finite: bool = False, backend: str = "numpy"):
    """Compute ``outputs`` (a node or a list of nodes) given ``feeds``.

    ``feeds`` maps placeholders, or their names, to values. Only the nodes the
    outputs need are run, each once, in topological order. With
    ``check_finite=True`` the first node to produce a NaN or an infinity
    raises :class:`NonFiniteError`, naming it, its inputs and, for a
    derivative node, the primal it belongs to. The arrays returned are fresh
    and writable: never a fed array, a view of one, a constant's value or
    memory another returned array shares (compiled functions do the same).

    ``backend`` names another array library (``"jax"``, ``"dask"``,
    ``"torch"``, ``"cupy"``, ``"array_api_strict"``; see
    :mod:`symgrad.backend`): the feeds must then be arrays of that library,
    and the results are.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> sg.evaluate(x * 2, {"x": 4.0})
    array(8.)
    """
    nodes, many = output_list(outputs)
    if not nodes:
        return []
    if backend != "numpy":
        if check_finite:
            raise BackendError(f"evaluate: check_finite runs on NumPy only, not on backend {backend!r}")
        feeds = resolve_feeds(nodes[0].graph, feeds or {})
        values = backend_module.evaluate_on(backend_module.get(backend), nodes, ancestors(nodes), feeds)
        return values if many else values[0]
    plan = Plan(nodes)
    values = plan.run(prepare_feeds(plan, resolve_feeds(nodes[0].graph, feeds or {})), check_finite)
    return values if many else values[0]


def arity_error(inputs: Sequence[Node], count: int) -> FeedError:
    return FeedError(f"function takes {len(inputs)} values ({', '.join(p.describe() for p in inputs)}), "
                     f"got {count}")


def _eval(self: Node, feeds: Mapping | None = None) -> np.ndarray:
    """Evaluate this node; ``feeds`` maps placeholders (or their names) to values.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> (x + 1.0).eval({x: 2.0})
    array(3.)
    """
    return evaluate(self, feeds or {})


Node.eval = _eval
