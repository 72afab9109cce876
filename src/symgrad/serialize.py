"""Saving graphs to a versioned JSON file, and loading them back safely.

The file is one JSON object::

    {"format": "symgrad-graph", "version": 1,
     "nodes": [{"op": "placeholder", "inputs": [], "params": {...}, "name": "x",
                "shape": [3], "dtype": "float64", "origin": null}, ...],
     "outputs": [5]}

A node's ``inputs`` (and an origin's ``primal``) are positions of earlier
nodes in ``nodes``, so the file is in topological order and cannot hold a
cycle. A constant carries ``"value": {"dtype", "shape", "data"}`` with the
little-endian bytes in base64. A derivative node's ``origin`` is
``{"order", "primal", "kind"}``; the primals of saved derivative nodes are
saved too, so the loaded graph draws and lists like the original.

Parameter values are encoded so that they come back exactly: JSON ints,
bools, null and strings as themselves, tuples as JSON arrays, floats as
``{"float": repr}`` (which keeps nan, inf and -0.0), dtypes as
``{"dtype": name}``.

Loading looks ops up by name in the registry of ops already defined (import
the module of a custom op first) and rebuilds every node with
``Graph.apply``, so shapes and dtypes are inferred again and compared with
the file. Nothing in the file is executed: no pickle, no eval, no import.
Anything wrong with the file raises :class:`~symgrad.errors.FormatError`,
a node no NumPy array can hold included (more than 64 dimensions, or more
than 1 TiB: loading allocates nothing, but such a file is certainly corrupted).

Parameters are checked by the op's own shape rule, the one that checks them
when a user function builds the node: an axis out of range, a float where an
int belongs or a parameter the op does not take is refused on loading, in
the same words, rather than failing later in a listing, a drawing or an
evaluation. Saving refuses what loading would refuse (a dtype the format
cannot hold, a placeholder without a proper name, an op whose name is not a
string), so every file ``save`` writes loads.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import NamedTuple

import numpy as np

from .compile.function import Function, function
from .errors import FormatError
from .ir import CONSTANT, PLACEHOLDER, Graph, Node, Origin, ancestors, lookup_op, output_list
from .types import MAX_NDIM

FORMAT = "symgrad-graph"
VERSION = 1
# Dtypes a file may name: exactly the ones a graph can hold.
_DTYPES = {name: np.dtype(name) for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64")}
_MAX_DIM = 2 ** 40  # a larger dimension is certainly a corrupted file
_MAX_BYTES = 2 ** 40  # and so is a node of more than 1 TiB: no machine evaluates it
_MAX_PARAM_DEPTH = 16  # getitem specs nest two deep; deeper is hostile
_KINDS = ("cotangent", "tangent")


class Loaded(NamedTuple):
    """What :func:`load` returns: the new graph and its outputs, in the saved order."""

    graph: Graph
    outputs: list


def save(graph_or_outputs, path) -> None:
    """Write a graph (or the part some outputs need) to ``path`` as JSON.

    Given a :class:`Graph`, every node is saved and the outputs are the nodes
    no other node uses. Given nodes, those nodes and everything they need are
    saved, and the outputs are those nodes.

    Examples
    --------
    >>> import os, tempfile
    >>> import symgrad as sg
    >>> with sg.Graph():
    ...     x = sg.scalar("x")
    ...     dx = sg.grad(x * sg.sin(x), x)
    >>> path = os.path.join(tempfile.mkdtemp(), "grad.json")
    >>> sg.save(dx, path)
    >>> graph, (loaded,) = sg.load(path)
    >>> float(sg.evaluate(loaded, {"x": 1.0})) == float(sg.evaluate(dx, {"x": 1.0}))
    True
    """
    text = json.dumps(to_json(graph_or_outputs), separators=(",", ":"), allow_nan=False)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def load(path) -> Loaded:
    """Read a file written by :func:`save` into a new graph: ``graph, outputs = sg.load(path)``.

    Raises :class:`~symgrad.errors.FormatError` (and nothing else) for a
    file that is not valid JSON, not UTF-8, of another format or version,
    truncated, or inconsistent; ``OSError`` if it cannot be read.
    """
    with open(path, "rb") as file:
        data = file.read()
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise FormatError(f"load: {path} is not a symgrad graph file (not UTF-8 JSON: {err})") from None
    return from_json(document)


# --- writing ---------------------------------------------------------------------------

def saved_nodes(outputs: list[Node]) -> list[Node]:
    """The outputs, everything they need, and the primals of derivative nodes among them."""
    if not outputs:
        return []
    graph = outputs[0].graph
    nodes = set(ancestors(outputs))
    while True:  # a primal needs its own ancestors, which may hold further derivative nodes
        primals = {o.primal for n in nodes if (o := graph.origin(n)) is not None} - nodes
        if not primals:
            return sorted(nodes, key=lambda n: n.id)
        nodes.update(ancestors(list(primals)))


def to_json(graph_or_outputs) -> dict:
    """The JSON document :func:`save` writes, as Python objects."""
    if isinstance(graph_or_outputs, Graph):
        graph = graph_or_outputs
        nodes = list(graph.nodes)
        outputs = graph.sinks()
    else:
        outputs, _ = output_list(graph_or_outputs)  # nodes of one graph, else TypeError / GraphError
        graph = outputs[0].graph if outputs else Graph()
        nodes = saved_nodes(outputs)
    position = {node: k for k, node in enumerate(nodes)}
    records = []
    for node in nodes:
        _check_savable(node)
        if lookup_op(node.op.name) is not node.op:
            raise FormatError(
                f"save: {node.describe()} uses an op that is not the one registered under "
                f"'{node.op.name}', so a loaded file would run a different op")
        record = {"op": node.op.name, "inputs": [position[i] for i in node.inputs],
                  "params": {}, "name": node.name, "shape": list(node.shape),
                  "dtype": node.dtype.name, "origin": None}
        if node.op is CONSTANT:
            record["value"] = _encode_array(node.value)
        elif node.op is not PLACEHOLDER:  # the leaves' params are their shape and dtype
            record["params"] = {key: encode_param(value, node, key) for key, value in node.params}
        origin = graph.origin(node)
        if origin is not None:
            record["origin"] = {"order": origin.order, "primal": position[origin.primal], "kind": origin.kind}
        records.append(record)
    return {"format": FORMAT, "version": VERSION, "nodes": records, "outputs": [position[n] for n in outputs]}


def _check_savable(node: Node) -> None:
    """Refuse, when saving, a node :func:`load` would refuse: no file is written that cannot be read."""
    if not isinstance(node.op.name, str) or not node.op.name:
        raise FormatError(f"save: node %{node.id} uses an op named {node.op.name!r}; the format needs a "
                          "non-empty string")
    if node.dtype.name not in _DTYPES:
        raise FormatError(f"save: {node.describe()} has dtype {node.dtype}, which the format cannot hold "
                          f"(it holds {', '.join(_DTYPES)})")
    _check_size(node.shape, node.dtype, f"save: {node.describe()}")
    if node.name is not None and not isinstance(node.name, str) or node.op is PLACEHOLDER and not node.name:
        raise FormatError(f"save: node %{node.id} ({node.op.name}) is named {node.name!r}; the format needs a "
                          "non-empty string" + (" for a placeholder" if node.op is PLACEHOLDER else " or None"))


def _encode_array(array: np.ndarray) -> dict:
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return {"dtype": array.dtype.name, "shape": list(array.shape),
            "data": base64.b64encode(little.tobytes()).decode("ascii")}


def encode_param(value, node: Node, key: str):
    """A parameter value as JSON that :func:`decode_param` turns back into the same value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return {"float": repr(float(value))}
    if isinstance(value, np.dtype):
        if value.name not in _DTYPES:
            raise FormatError(f"save: {node.describe()} has parameter {key}={value!r}, a dtype the format cannot hold")
        return {"dtype": value.name}
    if isinstance(value, tuple):
        return [encode_param(item, node, key) for item in value]
    raise FormatError(
        f"save: {node.describe()} has parameter {key}={value!r} of type {type(value).__name__}, "
        "which the format cannot hold (ints, floats, bools, None, strings, tuples and dtypes can be saved)")


# --- reading -----------------------------------------------------------------------------

def from_json(document) -> Loaded:
    """Rebuild a graph from a parsed document; see :func:`load`."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FormatError(f"load: not a symgrad graph file (expected \"format\": \"{FORMAT}\")")
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise FormatError(f"load: file format version {version!r} is not supported (this symgrad reads {VERSION})")
    records = _field(document, "nodes", list, "the file")
    output_ids = _field(document, "outputs", list, "the file")
    graph = Graph()
    nodes: list[Node] = []
    for k, record in enumerate(records):
        nodes.append(_load_node(graph, nodes, k, record))
    outputs = [nodes[_node_ref(ref, len(nodes), "outputs")] for ref in output_ids]
    return Loaded(graph, outputs)


def _field(record, key: str, kind, where: str):
    if not isinstance(record, dict):
        raise FormatError(f"load: {where} must be a JSON object, not {type(record).__name__}")
    if key not in record:
        raise FormatError(f"load: {where} has no \"{key}\"")
    value = record[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"load: \"{key}\" of {where} must be {_kind_name(kind)}, not {type(value).__name__}")
    return value


def _kind_name(kind) -> str:
    names = {list: "a list", dict: "an object", str: "a string", int: "an integer"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, "null") for k in kind)
    return names.get(kind, str(kind))


def _node_ref(ref, limit: int, where: str) -> int:
    if not isinstance(ref, int) or isinstance(ref, bool) or not 0 <= ref < limit:
        raise FormatError(f"load: {where} refers to node {ref!r}; only nodes 0..{limit - 1} exist before it")
    return ref


def _load_node(graph: Graph, nodes: list[Node], k: int, record) -> Node:
    where = f"node {k}"
    op_name = _field(record, "op", str, where)
    op = lookup_op(op_name)
    if op is None:
        raise FormatError(f"load: {where} uses unknown op '{op_name}' (import the module that defines it first)")
    inputs = [nodes[_node_ref(ref, k, f"{where} ({op_name})")] for ref in _field(record, "inputs", list, where)]
    name = _field(record, "name", (str, type(None)), where)
    shape = _shape(_field(record, "shape", list, where), where)
    dtype = _dtype(_field(record, "dtype", str, where), where)
    # the rebuilt node must agree with the file's type, so checking that one suffices
    _check_size(shape, dtype, f"load: {where} ({op_name}) of type {dtype.name}{list(shape)}")
    params = _field(record, "params", dict, where)
    try:
        if op_name == "placeholder":
            if inputs or not name:
                raise FormatError(f"load: {where} is a placeholder; it needs a name and no inputs")
            node = graph.placeholder(name, shape, dtype)
        elif op_name == "constant":
            if inputs:
                raise FormatError(f"load: {where} is a constant; it takes no inputs")
            node = graph.constant(_decode_array(_field(record, "value", dict, where), where), name=name)
        else:
            decoded = {_param_key(key, where): decode_param(value, where) for key, value in params.items()}
            count = len(graph.nodes)
            node = graph.apply(op, inputs, decoded, name=name)
            if name is not None and len(graph.nodes) == count and node.name != name:
                raise FormatError(f"load: {where} repeats an earlier node under another name")
    except FormatError:
        raise
    except Exception as err:  # the op's own shape rule rejected the file's inputs or parameters
        raise FormatError(f"load: {where} ({op_name}) cannot be rebuilt: {type(err).__name__}: {err}") from None
    if node.shape != shape or node.dtype != dtype:
        raise FormatError(
            f"load: {where} ({op_name}) is {node.type} when rebuilt, but the file says "
            f"{dtype.name}{list(shape)}")
    _load_origin(graph, nodes, node, record.get("origin"), k, where)
    return node


def _load_origin(graph: Graph, nodes: list[Node], node: Node, origin, k: int, where: str) -> None:
    if origin is None:
        return
    order = _field(origin, "order", int, f"the origin of {where}")
    primal = nodes[_node_ref(_field(origin, "primal", int, f"the origin of {where}"), k, f"the origin of {where}")]
    kind = _field(origin, "kind", str, f"the origin of {where}")
    if order < 1 or kind not in _KINDS:
        raise FormatError(f"load: the origin of {where} must have order >= 1 and kind in {_KINDS}")
    graph.restore_origin(node, Origin(order, primal, kind))


def _shape(dims: list, where: str) -> tuple:
    for d in dims:
        if d is not None and (not isinstance(d, int) or isinstance(d, bool) or not 0 <= d < _MAX_DIM):
            raise FormatError(f"load: {where} has a bad shape {dims!r}")
    return tuple(dims)


def _check_size(shape: tuple, dtype: np.dtype, where: str) -> None:
    """Refuse a node no NumPy array can hold: more than 64 dimensions, or more than 1 TiB (a
    product of dimensions may overflow int64, where NumPy fails with a ValueError at run time)."""
    if len(shape) > MAX_NDIM:
        raise FormatError(f"{where} has {len(shape)} dimensions; NumPy arrays have at most {MAX_NDIM}")
    size = math.prod(d for d in shape if d is not None) * dtype.itemsize
    if size > _MAX_BYTES:
        raise FormatError(f"{where} is {size:.3g} bytes; a node of more than 2**40 bytes (1 TiB) is "
                          "certainly a corrupted file")


def _dtype(name: str, where: str) -> np.dtype:
    dtype = _DTYPES.get(name)
    if dtype is None:
        raise FormatError(f"load: {where} names dtype {name!r}; expected one of {sorted(_DTYPES)}")
    return dtype


def _decode_array(record: dict, where: str) -> np.ndarray:
    dtype = _dtype(_field(record, "dtype", str, f"the value of {where}"), where)
    shape = _shape(_field(record, "shape", list, f"the value of {where}"), where)
    if None in shape:
        raise FormatError(f"load: the value of {where} has a run-time dimension in its shape {list(shape)}")
    text = _field(record, "data", str, f"the value of {where}")
    size = math.prod(shape) * dtype.itemsize
    # Checked before decoding: a declared shape cannot make us decode (or allocate) more than the file holds.
    if len(text) != 4 * math.ceil(size / 3):
        raise FormatError(f"load: the value of {where} has {len(text)} base64 characters; "
                          f"{dtype.name}{list(shape)} needs {4 * math.ceil(size / 3)}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as err:
        raise FormatError(f"load: the value of {where} is not valid base64: {err}") from None
    if len(raw) != size:
        raise FormatError(f"load: the value of {where} decodes to {len(raw)} bytes; expected {size}")
    array = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(shape).astype(dtype)
    if dtype == np.bool_ and np.frombuffer(raw, np.uint8).max(initial=0) > 1:
        raise FormatError(f"load: the value of {where} holds bool bytes other than 0 and 1")
    return array


def _param_key(key: str, where: str) -> str:
    if not key.isidentifier():
        raise FormatError(f"load: {where} has a parameter named {key!r}, which is not an identifier")
    return key


def decode_param(value, where: str, depth: int = 0):
    """A parameter value read from a file (``where`` names the node in errors)."""
    if depth > _MAX_PARAM_DEPTH:
        raise FormatError(f"load: the parameters of {where} nest deeper than {_MAX_PARAM_DEPTH}")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, list):
        return tuple(decode_param(item, where, depth + 1) for item in value)
    if isinstance(value, dict) and len(value) == 1:
        (tag, content), = value.items()
        if tag == "float" and isinstance(content, str):
            try:
                return float(content)
            except ValueError:
                raise FormatError(f"load: {where} has a bad float parameter {content!r}") from None
        if tag == "dtype" and isinstance(content, str):
            return _dtype(content, where)
    raise FormatError(f"load: {where} has a parameter value {value!r} the format does not define")


# --- pickling ------------------------------------------------------------------------------
#
# A graph or a compiled function pickles as its JSON document (ops by name, looked up in the
# registry when loading), so unpickling runs no code from the payload beyond these two
# functions, and a function can be shipped to dask.distributed's workers.

def _rebuild_graph(document: dict) -> Graph:
    return from_json(document).graph


def _reduce_graph(graph: Graph):
    return _rebuild_graph, (to_json(graph),)


def _rebuild_function(document: dict, count: int, many: bool, options: dict) -> Function:
    loaded = from_json(document).outputs
    outputs = loaded[count:]
    return function(loaded[:count], outputs if many else outputs[0], **options)


def _reduce_function(fn: Function):
    options = {"check_finite": fn.check_finite, "floats": fn.floats, "backend": fn.backend}
    return _rebuild_function, (to_json(fn.inputs + fn._outputs), len(fn.inputs), fn._many, options)


Graph.__reduce__ = _reduce_graph
Function.__reduce__ = _reduce_function
