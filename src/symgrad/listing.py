"""A plain-text listing of a graph, one node per line, in topological order.

    %2 q: f64[] = add %0 %1
    %5: f64[] = mul %4 %2    # cotangent, pass 1, from %3 mul

Each line gives the node's id and name, its type, its op with parameters and
its inputs; a derivative node says which pass made it and which forward node's
rule it came from.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph, Node, ancestors


def _value_text(value: np.ndarray) -> str:
    if value.size <= 4:
        return np.array2string(value, separator=", ", threshold=4).replace("\n", "")
    return f"[{value.flat[0]:.4g}, ... ({value.size} values)]"


def index_text(spec: tuple, arrays: list[str] | None = None) -> str:
    """A getitem spec written the way it was indexed: ``:, None, 2, a0``.

    ``arrays`` names the index arrays (``a0``, ``a1``, ... by default).
    """
    parts = []
    for item in spec:
        kind = item[0]
        if kind == "slice":
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif kind == "int":
            parts.append(str(item[1]))
        elif kind == "array":
            parts.append(arrays[item[1]] if arrays is not None else f"a{item[1]}")
        else:
            parts.append({"newaxis": "None", "ellipsis": "..."}[kind])
    return ", ".join(parts)


def params_text(node: Node) -> str:
    """``[axis=(0,), keepdims=False]``; empty for ops without parameters."""
    if node.op.name in ("placeholder", "constant"):
        return ""
    shown = [index_text(v) if k == "spec" else f"{k}={v}" for k, v in node.params]
    return f"[{', '.join(shown)}]" if shown else ""


def format_node(node: Node) -> str:
    label = f"%{node.id}" + (f" {node.name}" if node.name else "")
    if node.op.name == "constant":
        rhs = f"constant {_value_text(node.value)}"
    else:
        rhs = f"{node.op.name}{params_text(node)} " + " ".join(f"%{i.id}" for i in node.inputs)
    line = f"{label}: {node.type} = {rhs.rstrip()}"
    origin = node.graph.origin(node)
    if origin is not None:
        line += f"    # {origin.kind}, pass {origin.order}, from %{origin.primal.id} {origin.primal.op.name}"
    return line


def listing(outputs_or_graph) -> str:
    """The nodes of a graph (or those some outputs need) as text, one per line.

    Examples
    --------
    >>> import symgrad as sg
    >>> with sg.Graph():
    ...     x = sg.scalar("x")
    ...     print(sg.listing(sg.sin(x)))
    %0 x: f64[] = placeholder
    %1: f64[] = sin %0
    """
    if isinstance(outputs_or_graph, Graph):
        nodes = list(outputs_or_graph.nodes)
    else:
        outputs = outputs_or_graph if isinstance(outputs_or_graph, (list, tuple)) else [outputs_or_graph]
        nodes = ancestors(outputs)
    return "\n".join(format_node(n) for n in nodes)
