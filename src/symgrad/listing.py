"""A plain-text listing of a graph, one node per line, in topological order.

    %2 q: f64[] = add %0 %1
    %5: f64[] = mul %4 %2    # cotangent, pass 1, from %3 mul

Each line gives the node's id and name, its type, its op with parameters and
its inputs; a derivative node says which pass made it and which primal's
rule it came from.
"""

from __future__ import annotations

from .format import params_text, value_text
from .ir import CONSTANT, Graph, Node, ancestors, as_list


def format_node(node: Node) -> str:
    label = f"%{node.id}" + (f" {node.name}" if node.name else "")
    if node.op is CONSTANT:
        rhs = f"constant {value_text(node.value)}"
    else:
        rhs = f"{node.op.name}{params_text(node)} " + " ".join(f"%{i.id}" for i in node.inputs)
    line = f"{label}: {node.type} = {rhs.rstrip()}"
    origin = node.graph.origin(node)
    if origin is not None:
        line += f"    # {origin}"
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
        nodes = ancestors(as_list(outputs_or_graph)[0])
    return "\n".join(format_node(n) for n in nodes)
