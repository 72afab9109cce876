"""Graphviz drawings of graphs, optionally with values and gradients on the wires.

``to_dot`` writes DOT text; ``render`` runs Graphviz's ``dot`` program on it
(or, when ``dot`` is not installed, graphviz-pure, a port of Graphviz that
``pip install 'symgrad[draw]'`` brings: SVG and PNG only); ``draw`` returns an
object a notebook shows inline.

The drawing reads left to right like the notes' circuit diagrams:

- placeholders are blue rounded boxes, constants grey boxes, ops ellipses
  labelled with the op, its parameters and its type (``f64[2,3]``);
- a derivative node is filled with the colour of the pass that made it
  (pass 1 pink, pass 2 amber, pass 3 violet, pass 4 teal, then again) and
  ``clusters=True`` groups each pass in a box;
- an edge into an op whose input order matters (``sub``, ``div``,
  ``matmul``, ``where``...) carries the input's position at its head;
- outputs have a double border;
- with ``feeds`` (or ``values``), each wire carries the forward value of the
  node it leaves, in green; with ``gradients=True`` (or a mapping), the
  gradient of the cost with respect to that node, in red, below it. Each
  output gets a short wire of its own to show its value.

Scalars are written with four significant digits (``-12``, ``0.7311``),
arrays as their first few numbers and their shape.

Every label is an HTML-like label whose text is escaped (``& < > "``), and
characters that are not printable are written as ``\\u`` escapes, so any
name gives valid DOT. Node ids are ``n<id>``: the same graph gives the same
text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from typing import Mapping

from .autodiff import grad
from .evaluate import evaluate
from .format import params_text, value_text
from .ir import CONSTANT, PLACEHOLDER, Graph, Node, ancestors, as_list

# Ops whose inputs can be swapped: their edges carry no position.
_ORDERLESS = frozenset({"add", "mul", "equal", "not_equal"})
# Fill colours of derivative nodes, by pass order (1, 2, 3, 4, then again).
_PASS_COLOURS = ("#fbcfe8", "#fde68a", "#ddd6fe", "#99f6e4")
_VALUE_COLOUR = "#15803d"  # green, above the wire, as in the notes
_GRADIENT_COLOUR = "#b91c1c"  # red, below it
_INDEX_COLOUR = "#6b7280"
_INDEX_STYLE = f'labelfontsize=9, labeldistance=1.6, labelfontcolor="{_INDEX_COLOUR}"'


def to_dot(outputs_or_graph, values: Mapping | None = None, *, feeds: Mapping | None = None,
           gradients: bool | Mapping = False, clusters: bool = False, rankdir: str = "LR") -> str:
    """The graph (or the part some outputs need) as Graphviz DOT text.

    Parameters
    ----------
    outputs_or_graph : Node, list of Node or Graph
        Outputs (everything they need is drawn) or a whole graph.
    values : dict, optional
        Node -> array: values already computed, written instead of
        evaluating. A dict whose keys are all placeholders (or their names)
        is taken as ``feeds``.
    feeds : dict, optional
        Placeholder values: every drawn node is evaluated and its value
        written, in green, on the wires leaving it.
    gradients : bool or dict, optional
        ``True`` (with ``feeds``): the output must be one float scalar cost;
        ``sg.grad(cost, nodes, disconnected="zero")`` is built for every
        drawn float node except constants, derivative nodes included (this
        adds those gradient nodes to the graph, as ``sg.grad`` does; they
        are not drawn), evaluated, and
        written in red under each value. A dict Node -> array gives
        gradients already computed.
    clusters : bool
        Group the nodes of each derivative pass in a labelled box.
    rankdir : {"LR", "TB"}
        Left to right (like the notes) or top to bottom.

    Examples
    --------
    >>> import symgrad as sg
    >>> with sg.Graph():
    ...     x = sg.scalar("x")
    ...     text = sg.to_dot(sg.sin(x), feeds={"x": 0.0})
    >>> print(text.splitlines()[0])
    digraph symgrad {
    >>> '<FONT COLOR="#15803d">0</FONT>' in text
    True
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"to_dot: rankdir must be 'LR', 'TB', 'RL' or 'BT', not {rankdir!r}")
    nodes, outputs = _drawn(outputs_or_graph)
    for what, given in (("values", values), ("feeds", feeds), ("gradients", gradients)):
        if given is not None and not isinstance(given, (Mapping, bool)):
            raise TypeError(f"to_dot: {what} must be a dict keyed by nodes (or placeholder names), "
                            f"not {type(given).__name__}")
    if feeds is None and values is not None and all(
            isinstance(k, str) or (isinstance(k, Node) and k.op is PLACEHOLDER) for k in values):
        feeds, values = values, None
    known_values = _values(nodes, feeds, values)
    known_gradients = _gradients(nodes, outputs, feeds, gradients)
    consumers = _orderful_inputs(nodes)
    lines = ["digraph symgrad {",
             f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];']
    graph = nodes[0].graph if nodes else None
    passes: dict[tuple, list[str]] = {}
    output_set = set(outputs)
    for node in nodes:
        line = f'  "n{node.id}" [{_node_attributes(node, node in output_set)}];'
        origin = graph.origin(node)
        if clusters and origin is not None:
            passes.setdefault((origin.order, origin.kind), []).append("  " + line)
        else:
            lines.append(line)
    for k, ((order, kind), members) in enumerate(sorted(passes.items())):
        lines.append(f'  subgraph "cluster_pass{order}_{kind}" {{')
        lines.append(f'    label=<{_escape(f"pass {order} ({kind}s)")}>; style="dashed"; color="#9ca3af";')
        lines.extend(members)
        lines.append("  }")
    for node in nodes:
        ordered = node in consumers
        for index, inp in enumerate(node.inputs):
            attributes = _edge_attributes(inp, known_values, known_gradients)
            if ordered:
                attributes.append(f"headlabel=<{index}>, {_INDEX_STYLE}")
            attr_text = f" [{', '.join(attributes)}]" if attributes else ""
            lines.append(f'  "n{inp.id}" -> "n{node.id}"{attr_text};')
    if known_values:  # a wire out of each output, to carry its value like the others
        for node in outputs:
            attributes = _edge_attributes(node, known_values, known_gradients)
            lines.append(f'  "out{node.id}" [shape=point, width=0.05];')
            lines.append(f'  "n{node.id}" -> "out{node.id}" [{", ".join(attributes)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(path, outputs_or_graph, **options) -> None:
    """Write :func:`to_dot`'s text to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(to_dot(outputs_or_graph, **options))


def render(outputs_or_graph, path=None, *, format: str = "svg", **options) -> bytes:
    """Draw the graph as an image; return it (and write it to ``path``).

    The drawing is made by Graphviz's ``dot`` program when it is installed,
    else by graphviz-pure (``pip install 'symgrad[draw]'``), which draws SVG
    and PNG but not PDF.

    Parameters
    ----------
    outputs_or_graph : Node, list of Node or Graph
        What to draw, as in :func:`to_dot`.
    path : str or path-like, optional
        Where to write the image too.
    format : {"svg", "png", "pdf"}
        The image format; ``"pdf"`` needs Graphviz's ``dot``.
    **options
        Passed to :func:`to_dot` (``feeds``, ``gradients``, ``clusters``...).

    Returns
    -------
    bytes
        The image.

    Raises
    ------
    FileNotFoundError
        When no installed program draws ``format``; the message says what to
        install (``apt-get install graphviz`` or ``pip install 'symgrad[draw]'``).

    Examples
    --------
    >>> import symgrad as sg
    >>> with sg.Graph():
    ...     x = sg.scalar("x")
    ...     svg = sg.render(sg.sin(x), feeds={"x": 0.0})
    >>> b"<svg" in svg
    True
    """
    image = _run_renderer(to_dot(outputs_or_graph, **options), format)
    if path is not None:
        with open(path, "wb") as file:
            file.write(image)
    return image


class Drawing:
    """A drawing a notebook shows inline (as SVG when ``dot`` or graphviz-pure is installed).

    ``str(drawing)`` is the DOT text; ``drawing.save("f.svg")`` renders it.
    Without either program, its text form says what to install.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        size = f"{self.source.count(chr(10))} lines of DOT"
        if _which("dot") is None and _which("graphviz-pure") is None:
            # What a notebook shows when it cannot have the SVG: say how to get it.
            return f"<Drawing: {size}; to see it, apt-get install graphviz or pip install 'symgrad[draw]'>"
        return f"<Drawing: {size}>"

    def _repr_svg_(self) -> str | None:
        try:
            program = _renderer("svg")
        except FileNotFoundError:
            return None  # the notebook falls back to the text repr, which says what to install
        return _run(program, self.source, "svg").decode("utf-8")

    def save(self, path) -> None:
        """Write SVG, PNG or PDF according to ``path``'s suffix, DOT text for ``.dot``/``.gv``."""
        suffix = str(path).rsplit(".", 1)[-1].lower()
        if suffix in ("dot", "gv"):
            with open(path, "w", encoding="utf-8") as file:
                file.write(self.source)
            return
        image = _run_renderer(self.source, suffix)
        with open(path, "wb") as file:
            file.write(image)


def draw(outputs_or_graph, **options) -> Drawing:
    """A :class:`Drawing` of the graph: shown inline in a notebook. ``options`` as :func:`to_dot`."""
    return Drawing(to_dot(outputs_or_graph, **options))


# --- what is drawn -------------------------------------------------------------------

def _drawn(outputs_or_graph) -> tuple[list[Node], list[Node]]:
    if isinstance(outputs_or_graph, Graph):
        return list(outputs_or_graph.nodes), outputs_or_graph.sinks()
    outputs = as_list(outputs_or_graph)[0]
    for node in outputs:
        if not isinstance(node, Node):
            raise TypeError(f"to_dot: expected nodes or a Graph, got {type(node).__name__}")
    return ancestors(outputs), list(dict.fromkeys(outputs))


def _values(nodes: list[Node], feeds, values) -> dict:
    if values is not None:
        return dict(values)
    if feeds is None:
        return {}
    return dict(zip(nodes, evaluate(nodes, feeds)))


def _gradients(nodes: list[Node], outputs: list[Node], feeds, gradients) -> dict:
    if gradients is False or gradients is None:
        return {}
    if gradients is not True:
        return dict(gradients)
    if feeds is None or len(outputs) != 1:
        raise ValueError("to_dot: gradients=True needs feeds and exactly one output, the scalar cost")
    cost = outputs[0]
    targets = [n for n in nodes if n.dtype.kind == "f" and n.op is not CONSTANT]
    results = evaluate(grad(cost, targets, disconnected="zero"), feeds)
    return dict(zip(targets, results))


def _orderful_inputs(nodes: list[Node]) -> set:
    return {n for n in nodes if len(n.inputs) > 1 and n.op.name not in _ORDERLESS}


# --- attributes ------------------------------------------------------------------------

def _node_attributes(node: Node, is_output: bool) -> str:
    kind = node.op.name
    type_line = f'<BR/><FONT POINT-SIZE="9" COLOR="{_INDEX_COLOUR}">{_escape(node.type)}</FONT>'
    if kind == "placeholder":
        label = f"<B>{_escape(node.name or '')}</B>{type_line}"
        style = 'shape=box, style="rounded,filled", fillcolor="#dbeafe"'
    elif kind == "constant":
        name = f"<B>{_escape(node.name)}</B> " if node.name else ""
        label = f"{name}{_escape(value_text(node.value))}{type_line}"
        style = 'shape=box, style="filled", fillcolor="#f3f4f6"'
    else:
        name = f"<B>{_escape(node.name)}</B>: " if node.name else ""
        label = f"{name}{_escape(kind + params_text(node))}{type_line}"
        origin = node.graph.origin(node)
        if origin is None:
            style = 'shape=ellipse, style="filled", fillcolor="#ffffff"'
        else:
            colour = _PASS_COLOURS[(origin.order - 1) % len(_PASS_COLOURS)]
            tip = _escape(str(origin))
            style = f'shape=ellipse, style="filled", fillcolor="{colour}", tooltip=<{tip}>'
    if is_output:
        style += ", peripheries=2"
    return f"label=<{label}>, {style}"


def _edge_attributes(node: Node, values: dict, gradients: dict) -> list[str]:
    parts = []
    if node in values:
        parts.append(f'<FONT COLOR="{_VALUE_COLOUR}">{_escape(value_text(values[node]))}</FONT>')
    if node in gradients:
        parts.append(f'<FONT COLOR="{_GRADIENT_COLOUR}">{_escape(value_text(gradients[node]))}</FONT>')
    return [f"label=<{'<BR/>'.join(parts)}>"] if parts else []


# A backslash is doubled: Graphviz expands \N, \G, \L ... even in HTML labels (after entities).
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "<BR/>",
                              "\\": "\\\\"})


def _escape(text: str) -> str:
    """Text for an HTML-like label: XML-escaped, unprintable characters as ``\\u`` escapes."""
    if not text.isprintable():  # control characters and lone surrogates are not valid XML/UTF-8
        text = "".join(ch if ch.isprintable() or ch == "\n" else f"\\u{ord(ch):04x}" for ch in text)
    return text.translate(_XML_ESCAPES)


# --- running Graphviz -------------------------------------------------------------------

_FORMATS = ("svg", "png", "pdf")
_PURE_FORMATS = ("svg", "png")  # graphviz-pure 0.2 writes no PDF


def _which(name: str) -> str | None:
    """``name`` on PATH, else in this Python's scripts directory.

    The second place finds graphviz-pure in a virtualenv that is not
    activated (a notebook kernel started by its full path).
    """
    return shutil.which(name) or shutil.which(name, path=sysconfig.get_path("scripts"))


def _renderer(format: str) -> str:
    """The program that draws ``format``: Graphviz's ``dot``, else graphviz-pure."""
    if format not in _FORMATS:
        raise ValueError(f"render: format must be 'svg', 'png' or 'pdf', not {format!r}")
    dot = _which("dot")
    if dot is not None:
        return dot
    if format not in _PURE_FORMATS:
        raise FileNotFoundError(
            f"render: {format.upper()} needs Graphviz's 'dot' program, which was not found "
            "(Debian/Ubuntu: apt-get install graphviz); graphviz-pure draws only SVG and PNG")
    pure = _which("graphviz-pure")
    if pure is None:
        raise FileNotFoundError(
            "render: neither Graphviz's 'dot' program nor graphviz-pure was found; install one: "
            "Graphviz (Debian/Ubuntu: apt-get install graphviz) or graphviz-pure "
            "(pip install 'symgrad[draw]'), or use sg.to_dot for the text")
    return pure


def _run(program: str, source: str, format: str) -> bytes:
    done = subprocess.run([program, f"-T{format}"], input=source.encode("utf-8"),
                          capture_output=True, check=False)
    if done.returncode != 0:
        name = os.path.basename(program)
        raise RuntimeError(f"render: {name} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout


def _run_renderer(source: str, format: str) -> bytes:
    return _run(_renderer(format), source, format)
