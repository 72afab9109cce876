"""Running graphs: ``evaluate`` once, or ``function`` to plan once and call many times.

A plan is the list of nodes the outputs need, in creation (topological)
order, each with the positions of its inputs and the values that can be
dropped after it runs. Each node runs once per call; intermediates are
released after their last use, so a long chain needs memory for its live
values only.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .errors import FeedError, GraphError, NonFiniteError, RuleError
from .graph import Node, ancestors, type_string
from .ops import check_runtime_broadcasts, runtime_broadcast_axes


def _output_list(outputs) -> tuple[list[Node], bool]:
    many = isinstance(outputs, (list, tuple))
    nodes = list(outputs) if many else [outputs]
    for node in nodes:
        if not isinstance(node, Node):
            raise TypeError(f"expected symgrad nodes as outputs, got {type(node).__name__}")
    if nodes and any(n.graph is not nodes[0].graph for n in nodes):
        raise GraphError("outputs belong to different graphs")
    return nodes, many


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
        array = np.asarray(value, dtype=want)
    else:
        try:
            array = np.asarray(value)
        except Exception as err:  # ragged lists and the like
            raise FeedError(f"feed for {placeholder.describe()} is not array-like: {err}") from None
        if array.dtype.kind not in "biuf" or (want.kind in "iub" and array.dtype.kind == "f"):
            raise FeedError(
                f"feed for {placeholder.describe()} is a {type(value).__name__} of {array.dtype}; "
                f"expected {want.name} values")
        array = array.astype(want, copy=False)
    if len(array.shape) != len(placeholder.shape) or any(
            d is not None and d != a for d, a in zip(placeholder.shape, array.shape)):
        raise FeedError(
            f"feed for {placeholder.describe()} has shape {array.shape}; "
            f"expected {type_string(placeholder.shape, want)}")
    return array


def _resolve_feeds(graph, feeds: Mapping) -> dict[Node, Any]:
    resolved = {}
    if not isinstance(feeds, Mapping):
        raise FeedError(f"feeds must be a dict from placeholders (or their names) to values, "
                        f"not {type(feeds).__name__}")
    for key, value in feeds.items():
        if isinstance(key, str):
            node = graph.placeholder_named(key) if graph is not None else None
            if node is None:
                known = sorted(graph._placeholders) if graph is not None else []
                raise FeedError(f"feed names unknown placeholder '{key}'; the graph has {known}")
        elif isinstance(key, Node):
            node = key
            if graph is not None and node.graph is not graph:
                raise FeedError(f"feed for {node.describe()}: that placeholder belongs to another graph")
            if node.op.name != "placeholder":
                raise FeedError(f"only placeholders can be fed, not {node.describe()}")
        else:
            raise FeedError(f"feed keys must be placeholders or their names, not {type(key).__name__}")
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
        self.placeholders = [n for n in self.nodes if n.op.name == "placeholder"]
        self.steps = [(node, node.op.forward, tuple(position[i] for i in node.inputs),
                       node.params.as_dict(), tuple(releases[k])) for k, node in enumerate(self.nodes)]
        self.output_positions = [position[o] for o in self.outputs]
        # Nodes that may broadcast a run-time input dimension: checked at run time that it did not.
        self.runtime_broadcasts = {k: axes for k, node in enumerate(self.nodes)
                                   if (axes := runtime_broadcast_axes(node.op, node.inputs))}

    def run(self, feeds: Mapping[Node, np.ndarray], check_finite: bool = False,
            check_shapes: bool = True) -> list[np.ndarray]:
        values: list[Any] = [None] * len(self.steps)
        for k, (node, forward, inputs, params, releases) in enumerate(self.steps):
            if node.value is not None:
                value = node.value
            elif not inputs and node.op.name == "placeholder":
                value = feeds[node]
                if check_finite and value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise _non_finite(node, [], value, "was fed")
            else:
                try:
                    value = forward(*[values[i] for i in inputs], **params)
                except Exception as err:
                    err.add_note(f"symgrad: while computing {node.describe()} from "
                                 + ", ".join(_summary(values[i]) for i in inputs))
                    raise
                if value.dtype != node.dtype:
                    value = value.astype(node.dtype)
                if check_shapes and not _fits(np.shape(value), node.shape):
                    raise RuleError(
                        f"{node.op.name}: computed shape {np.shape(value)} for {node.describe()}; "
                        "the op's forward and shape rule disagree")
                if check_shapes and k in self.runtime_broadcasts:
                    check_runtime_broadcasts(node, self.runtime_broadcasts[k], [values[i] for i in inputs],
                                             np.shape(value))
                if check_finite and value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise _non_finite(node, [values[i] for i in inputs], value)
            values[k] = value
            for i in releases:
                values[i] = None
        return [np.asarray(values[k]) for k in self.output_positions]


def _fits(actual: tuple, static: tuple) -> bool:
    return len(actual) == len(static) and all(s is None or s == a for a, s in zip(actual, static))


def _summary(value) -> str:
    """``f64[3] in [-1, 2.5]``, with a count of NaN and Inf values when there are any."""
    array = np.asarray(value)
    text = type_string(array.shape, array.dtype)
    if array.size == 0 or array.dtype.kind not in "biuf":
        return text
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        bad = array.size - int(finite.sum())
        if bad:
            nans = int(np.isnan(array).sum())
            text += f" with {nans} NaN and {bad - nans} Inf"
        array = array[finite]
        if array.size == 0:
            return text
    return text + f" in [{array.min():.4g}, {array.max():.4g}]"


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
    lines = [f"{node.describe()} {verb} {_summary(value)}; the first is {value[where]} at index {where}"]
    for k, (inp, arr) in enumerate(zip(node.inputs, inputs)):
        lines.append(f"  input {k}: {inp.describe()} = {_summary(arr)}{_element(arr, value.shape, where)}")
    origin = node.graph.origin(node)
    if origin is not None:
        lines.append(f"  it belongs to the derivative (pass {origin.order}, {origin.kind}) of "
                     f"{origin.primal.describe()}")
    return NonFiniteError("\n".join(lines))


def _prepare_feeds(plan: Plan, feeds: dict[Node, Any]) -> dict[Node, np.ndarray]:
    ready = {}
    for node in plan.placeholders:
        if node not in feeds:
            needs = ", ".join(o.describe() for o in plan.outputs)
            raise FeedError(f"no value fed for {node.describe()}, which {needs} needs")
        ready[node] = convert_feed(node, feeds[node])
    return ready


def evaluate(outputs, feeds: Mapping | None = None, check_finite: bool = False):
    """Compute ``outputs`` (a node or a list of nodes) given ``feeds``.

    ``feeds`` maps placeholders, or their names, to values. Only the nodes the
    outputs need are run, each once, in topological order. With
    ``check_finite=True`` the first node to produce a NaN or an infinity
    raises :class:`NonFiniteError`, naming it, its inputs and, for a
    derivative node, the forward node it belongs to.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> sg.evaluate(x * 2, {"x": 4.0})
    array(8.)
    """
    nodes, many = _output_list(outputs)
    if not nodes:
        return []
    plan = Plan(nodes)
    values = plan.run(_prepare_feeds(plan, _resolve_feeds(nodes[0].graph, feeds or {})), check_finite)
    return values if many else values[0]


class Function:
    """A planned computation: ``f = sg.function([x], [y, gx]); f(value)``.

    Calling it with one value per input returns the outputs (a list when
    ``outputs`` was a list, else a single array).
    """

    def __init__(self, inputs: Sequence, outputs, check_finite: bool = False):
        self.check_finite = check_finite
        self._outputs, self._many = _output_list(outputs)
        graph = self._outputs[0].graph if self._outputs else None
        self.inputs = []
        for item in inputs:
            node = _resolve_feeds(graph, {item: None}).popitem()[0] if isinstance(item, str) else item
            if not isinstance(node, Node) or node.op.name != "placeholder":
                raise FeedError(f"function inputs must be placeholders, not {node!r}")
            self.inputs.append(node)
        if len(set(self.inputs)) != len(self.inputs):
            raise FeedError("function: an input is listed twice")
        self.plan = Plan(self._outputs)
        missing = [p for p in self.plan.placeholders if p not in self.inputs]
        if missing:
            raise FeedError(
                "function: the outputs need " + ", ".join(p.describe() for p in missing)
                + ", which is not among the inputs")
        # check_finite inspects every node's value, so it runs the plan; otherwise generated code runs.
        self._code = None
        if not check_finite and self._outputs:
            from .compile import compile_outputs
            self._code = compile_outputs(self.inputs, self._outputs, self._many, explain=self._explained)
            if self._code.call is not None and type(self).__call__ is Function.__call__:  # a subclass's stays
                # A scalar graph's generated code is this object's own __call__: no wrapper per call.
                self.__class__ = type(type(self).__name__, (type(self),), {"__call__": self._code.call})

    @property
    def source(self) -> str:
        """The generated Python/NumPy source (the plan's listing when ``check_finite`` is on)."""
        if self._code is None:
            from .listing import listing
            return listing(self._outputs)
        return self._code.source

    def __call__(self, *values):
        if len(values) != len(self.inputs):
            raise arity_error(self.inputs, len(values))
        if self._code is not None:
            return self._explained(self._code.run, values)  # run converts and checks the feeds itself
        feeds = {p: convert_feed(p, v) for p, v in zip(self.inputs, values)}
        values = self.plan.run(feeds, self.check_finite)
        return values if self._many else values[0]

    def _explained(self, run, values):
        """``run(*values)``; if it fails, the interpreter raises the same error with a note naming the node."""
        try:
            return run(*values)
        except Exception:
            self.plan.run({p: convert_feed(p, v) for p, v in zip(self.inputs, values)})
            raise

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.inputs)
        return f"<symgrad.Function ({names}) -> {len(self._outputs)} outputs, {len(self.plan.nodes)} nodes>"


def arity_error(inputs: Sequence[Node], count: int) -> FeedError:
    return FeedError(f"function takes {len(inputs)} values ({', '.join(p.describe() for p in inputs)}), "
                     f"got {count}")


def function(inputs: Sequence, outputs, check_finite: bool = False) -> Function:
    """Plan ``outputs`` once as a function of the placeholders ``inputs``.

    ``check_finite=True`` stops at the first NaN or Inf, as in :func:`evaluate`.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> f = sg.function([x], [x * x, sg.grad(x * x, x)])
    >>> f(3.0)
    [array(9.), array(6.)]
    """
    return Function(inputs, outputs, check_finite)
