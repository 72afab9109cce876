"""FUZZ: load thousands of hostile graph files; each must raise FormatError or load a graph that works.

A reproducible corpus (``--seed``) is made from the saved document of a graph
that uses every built-in op (built below from the public API, like the test
suite's ``every_op_graph``) and from the sub-document of each op's first node
(that node and its ancestors). Families of mutations:

- ``truncate``: the file cut at random byte offsets;
- ``flip``: one to three random bytes replaced;
- ``type``: every field of the first node of every op (and of the file) set to
  a value of the wrong JSON type, or deleted;
- ``param``: every (op, parameter) pair set to each of a list of hostile values
  (sizes of 10**12 and -10**12, 2**63, NaN, inf, shapes whose product
  overflows, 1000 dimensions, long strings, deep nesting, bad index specs...);
- ``struct``: cycles by forward references, self references, duplicate
  outputs and placeholders, op names swapped for other ops' names, constants
  of shape [10**12, 0], integer constants (index arrays) out of range, names
  of 100,000 characters, a chain of 50,000 nodes, placeholders of 2**39
  entries per dimension flowing through many ops (products overflow int64).

Each file is loaded by one of ``--workers`` child processes with a time limit
(``--timeout``, a hang kills and replaces the child) and an address-space cap
(``--memory-cap`` GB, so a runaway allocation becomes MemoryError, not swap).
A file that loads is then listed, drawn to DOT and evaluated with fixed feeds.
Per file the child reports the outcome and its peak resident memory (VmHWM,
reset before every file through /proc/self/clear_refs).

Outcomes: ``FormatError`` (refused on loading, as it must be); ``loaded, worked``;
``loaded, symgrad error`` (a symgrad error class after loading: a feed the
mutated graph does not accept, say); ``other`` (any other exception, on
loading or after); ``hang``; ``crash`` (the child died). The script prints a
table of counts, the worst peak memory, and every ``other``/``hang``/``crash``
with its mutation, so it can be fixed.

    python bench/file_fuzz.py [--seed 0] [--workers 2] [--timeout 10] [--scale 1.0]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import argparse  # noqa: E402
import base64  # noqa: E402
import collections  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import multiprocessing.connection  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from symgrad.errors import FormatError  # noqa: E402
from symgrad.ops import BUILTIN_OPS  # noqa: E402
from symgrad import serialize  # noqa: E402
from symgrad.ir import lookup_op  # noqa: E402
from symgrad.serialize import decode_param, from_json, to_json  # noqa: E402

FEEDS = {
    "x": np.array([0.3, -1.2, 2.5]),
    "A": np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]),
    "i": np.array([2, 0, 2]),
    "labels": np.array([1, 0]),
    "v": np.array([0.7, -0.1, 1.3]),
    "M": np.array([[0.2, -0.4, 0.9], [1.1, 0.6, -1.5]]),
    "X": np.array([[0.9, -0.35, 1.6], [-1.3, 0.45, 0.1]]),
    "S": np.array([[4.0, 0.5, -0.3], [0.5, 3.0, 0.2], [-0.3, 0.2, 2.0]]),
}


# --- the graph every file starts from -------------------------------------------------------

def every_op_outputs() -> list:
    """Outputs that between them use every built-in op, derivatives included (build in a Graph)."""
    x, A = sg.vector("x", 3), sg.matrix("A", 2, 3)
    i, labels = sg.vector("i", 3, dtype="int64"), sg.vector("labels", 2, dtype="int64")
    pos = sg.exp(x) + 1.0
    parts = [
        sg.sin(x), sg.cos(x), sg.tan(x * 0.1), sg.tanh(x), sg.sigmoid(x), sg.softplus(x), sg.abs(x),
        sg.sign(x) * x, sg.floor(x) + sg.round(x) + x, sg.relu(x), sg.leaky_relu(x, 0.1), sg.sqrt(pos),
        sg.square(x), sg.log(pos), sg.log1p(pos), sg.expm1(x), -x, x - 1.0, x / pos, pos ** x,
        sg.maximum(x, 0.5), sg.minimum(x, 0.5), sg.where(x > 0, x, 2 * x), sg.where(x >= 0, x, x * x),
        sg.where(x < 0, x, 0.0) + sg.where(x <= 0, x, 0.0), sg.where(sg.equal(x, 0.3), x, 0.0),
        sg.where(sg.not_equal(x, 0.3), x, 0.0), sg.stop_gradient(x) * x, sg.clip(x, -1.0, 1.0),
        x[i], x[::-1], x[None, :][0], sg.concatenate([x[:1], x[1:]]),
        sg.cast(sg.cast(x, "float32"), "float64"), sg.cast(sg.argmax(A, 0), "float64") * x,
        sg.cast(sg.argmin(A, 0), "float64") * x, sg.broadcast_to(x[:1], (3,)) * x, sg.zeros_like(x) + x,
        sg.sinh(x) + sg.cosh(x) + sg.arctan(x) + sg.arcsinh(x) + sg.exp2(x) + sg.cbrt(pos),
        sg.arcsin(x * 0.1) + sg.arccos(x * 0.1) + sg.arctanh(x * 0.1) + sg.arccosh(pos + 1.0),
        sg.log2(pos) + sg.log10(pos) + sg.reciprocal(pos) + sg.arctan2(x, pos) + sg.hypot(x, pos),
        sg.logaddexp(x, pos) + x % pos + sg.fmod(x, pos),
        sg.special.erf(x) + sg.special.erfc(x) + sg.special.erfcx(x) + sg.special.erfinv(x * 0.1),
        sg.special.ndtr(x) + sg.special.log_ndtr(x) + sg.special.gammaln(pos) + sg.special.polygamma(2, pos),
        sg.special.xlogy(x, pos) + sg.special.xlog1py(x, pos) + sg.special.logit(sg.special.expit(x)),
        sg.cumsum(x), sg.cumprod(x), sg.sort(x), sg.prod(x) * x, sg.cumprod(A, 1)[0] + sg.prod(A, 0),
        (sg.var(x) + sg.std(A, 1, ddof=1).sum() + sg.median(x) + sg.ptp(A)) * x,
        sg.average(A, 0, weights=[2.0, 1.0]) + sg.where(sg.all(A > -1.0, 0), x, 0.0)
        + sg.where(sg.any(A > 1.0, 0), x, 0.0),
        sg.cast(sg.count_nonzero(A > 0.0, 0) + sg.argsort(A[0]), "float64") * x,
    ]
    logits = sg.transpose(A @ sg.reshape(x, (3, 1)))
    scores = A @ sg.tanh(x) + sg.sum(sg.stack(parts), axis=0)[:2]
    cost = (sg.sum(scores) + sg.mean(logits) + sg.max(A, axis=1).sum() + sg.min(A) + sg.logsumexp(x)
            + sg.cross_entropy(A * x, labels) + sg.sum(sg.one_hot(labels, 3) * A) + sg.mse(x, 1.0)
            + sg.sum(sg.softmax(A, axis=1) * A) + sg.sum(sg.expand_dims(x, 0) * A)
            + sg.sigmoid_cross_entropy(x, sg.constant([0.0, 0.5, 1.0])))
    v, M = sg.vector("v", None), sg.matrix("M", None, None)
    cost = (cost + sg.sum(sg.concatenate([v, sg.tanh(v)]) ** 2) + sg.sum(sg.maximum(v, 0.0) * sg.mean(v))
            + sg.sum(sg.exp(sg.zeros_like(v))) + sg.sum(sg.sin(sg.reshape(M, (-1,))))
            + sg.sum(sg.zeros_like(M) + 1.0) + sg.sum(sg.concatenate([M, M * 3.0, M], 0) ** 2.0))
    outputs = [cost, *sg.grad(cost, [x, v, M]), sg.hvp(cost, x, sg.constant([1.0, -2.0, 0.5])),
               *sg.jvp([cost], [x], [sg.constant([0.5, 0.25, -1.0])]),
               *sg.jvp([sg.concatenate([v, v * sg.tanh(v)])], [v], [sg.tanh(v)])]

    X = sg.matrix("X", 2, 3)
    pos_X = sg.exp(X) + 0.5
    matrix_parts = [
        X - x, X / pos_X, pos_X ** 1.5, sg.maximum(X, x), sg.minimum(X, x), sg.where(X > x, X, -X),
        sg.leaky_relu(X, 0.2), sg.clip(X, -0.5, 0.5), sg.broadcast_to(x, (2, 3)), sg.reshape(X, (3, 2)).T,
        sg.transpose(X).T, sg.concatenate([X, X * 2.0], 1)[:, ::2], X[[1, 0]], X[:, labels],
        sg.stack([x, x], 0), sg.softmax(X), sg.log_softmax(X), sg.logsumexp(X, 1, keepdims=True),
        sg.max(X, 0, keepdims=True), sg.min(X, 1, keepdims=True), sg.mean(X, 0, keepdims=True),
    ]
    matrix_cost = sum(sg.sum(p) for p in matrix_parts) + sg.cross_entropy(X, labels) + sg.sum(X @ x)
    outputs += [matrix_cost, *sg.grad(matrix_cost, [X, x]), sg.jvp(matrix_cost, X, np.ones((2, 3)))]

    reshaped = [sg.roll(X, 1, 1), sg.pad(X, ((1, 0), (2, 1)), "reflect"), sg.pad(X, 1, "edge"),
                sg.pad(X, 1, constant_values=0.5), sg.take_along_axis(X, sg.reshape(i, (1, 3)), 1),
                X.at[labels].set(x), X.at[:, i].add(x), X.at[[0, 0]].multiply(x), X.at[:, i].min(x),
                X.at[:, i].max(x)]
    shape_cost = sum(sg.sum(p * p) for p in reshaped)
    outputs += [shape_cost, *sg.grad(shape_cost, [X, x]), sg.hvp(shape_cost, X, np.ones((2, 3))),
                sg.jvp(shape_cost, [X, x], [np.ones((2, 3)), np.ones(3)])]

    flags = [sg.equal(X, x), sg.not_equal(X, x), sg.less(X, x), sg.less_equal(X, x), sg.greater_equal(X, x)]
    discrete = sg.sum(sg.one_hot(labels, 3)) + sg.sum(sg.cast(sg.argmax(X, 1) + sg.argmin(X, 1), "float64"))
    outputs.append(discrete + sum(sg.sum(sg.cast(f, "float64")) for f in flags))

    S, L = sg.matrix("S", 3, 3), sg.linalg
    sign, logdet = L.slogdet(S)
    w, V = L.eigh(S)
    U, s, Vh = L.svd(A)
    Q, R = L.qr(A.T)
    algebra = (sg.sum(L.solve(S, x)) + sg.sum(L.inv(S)) + L.det(S) + sign * logdet + sg.sum(L.cholesky(S))
               + sg.sum(L.solve_triangular(S, S, lower=False)) + sg.sum(w) + sg.sum(V ** 2) + sg.sum(L.eigvalsh(S))
               + sg.sum(U ** 2) + sg.sum(s) + sg.sum(Vh ** 2) + sg.sum(Q) + sg.sum(R) + sg.sum(L.pinv(A)))
    outputs += [algebra, sg.grad(algebra, S), sg.hvp(algebra, S, sg.constant(np.eye(3))),
                sg.jvp(algebra, S, np.ones((3, 3)))]
    contract = (sg.einsum("ii", X @ A.T) + sg.sum(sg.einsum("ij,kj->ik", X, A, optimize="greedy") ** 2)
                + sg.sum(sg.diag(sg.diagonal(X, 1))) + sg.sum(sg.tril(X) * sg.triu(A, -1))
                + sg.sum(sg.einsum("ij,ij,ij,ij->i", X, A, X, A, optimize="greedy"))
                + sg.sum(sg.einsum("i,i", v, v) * x))
    outputs += [contract, *sg.grad(contract, [X, v])]
    return outputs


def huge_shape_outputs() -> list:
    """Nodes over placeholders of 2**39 entries per dimension: a file may declare them, and the
    size of their products (2**78) does not fit an int64. Each op that refuses them is left out."""
    big = 2 ** 39
    builders = [
        lambda x, y: x[:, None] * y[None, :], lambda x, y: sg.einsum("i,j->ij", x, y),
        lambda x, y: sg.reshape(x[:, None] * y[None, :], (-1,)), lambda x, y: sg.sum(x[:, None] * y[None, :]),
        lambda x, y: sg.broadcast_to(x, (big, big)), lambda x, y: sg.one_hot(sg.cast(x, "int64"), big),
        lambda x, y: sg.concatenate([x, y]), lambda x, y: sg.pad(x, big), lambda x, y: sg.cumsum(x),
        lambda x, y: sg.sort(x), lambda x, y: sg.outer(x, y) if hasattr(sg, "outer") else x,
        lambda x, y: sg.diag(x), lambda x, y: sg.stack([x, y]), lambda x, y: sg.tril(x[:, None] * y[None, :]),
        lambda x, y: sg.mean(x[:, None] * y[None, :], 0), lambda x, y: sg.softmax(x[:, None] * y[None, :]),
        lambda x, y: sg.grad(sg.sum(sg.tanh(x[:, None] * y[None, :])), x),
        lambda x, y: sg.linalg.inv(x[:, None] * y[None, :]), lambda x, y: x[::big // 2],
    ]
    outputs = []
    x, y = sg.vector("x", big), sg.vector("y", big)
    for build in builders:
        try:
            outputs.append(build(x, y))
        except sg.errors.Error:
            pass
    return outputs


# --- mutations ----------------------------------------------------------------------------

WRONG_TYPES = [None, True, -1, 0, 10 ** 30, 1.5, "", "x", [], [0], [-1], [None], {}, {"float": "1"}, [[[]]],
               {"dtype": "float64"}, "placeholder", 2 ** 64, -(2 ** 63) - 1]

DEEP_15 = json.loads("[" * 15 + "0" + "]" * 15)
HOSTILE_PARAMS = [
    10 ** 12, -10 ** 12, 2 ** 40, 2 ** 63, -(2 ** 63), 2 ** 64 + 1, 10 ** 300, -1, -2, 0, 1, 2, 9, True, False,
    None, "a", "x" * 100_000, "ii->i" * 1000, "i" * 60 + "->", {"float": "nan"}, {"float": "inf"},
    {"float": "-inf"}, {"float": "1e308"}, {"float": "-0.0"}, {"float": "1e-320"}, {"float": "1" + "0" * 5000},
    {"dtype": "float16"}, {"dtype": "bool"}, {"dtype": "uint64"}, [], [10 ** 12], [-10 ** 12], [-1], [0, 0],
    [2 ** 39, 2 ** 39, 2 ** 39], [10 ** 12, 0], [0] * 64, [1] * 1000, [0] * 100_000, DEEP_15,
    [[10 ** 12, 10 ** 12]], [[-10 ** 12, 1]], [["slice", 10 ** 12, -10 ** 12, 1]],
    [["slice", None, None, -10 ** 12]], [["int", 10 ** 12]], [["int", -10 ** 12]], [["array", 10 ** 12]],
    [["array", -1]], [["newaxis"]] * 100, [["ellipsis"]] * 2, [{"float": "nan"}, 2],
]


def sub_document(document: dict, k: int) -> dict:
    """The file of node ``k`` and its ancestors only (origins dropped), node ``k`` its output."""
    nodes, keep, stack = document["nodes"], set(), [k]
    while stack:
        j = stack.pop()
        if j not in keep:
            keep.add(j)
            stack.extend(nodes[j]["inputs"])
    order = sorted(keep)
    position = {j: n for n, j in enumerate(order)}
    records = [{**nodes[j], "inputs": [position[i] for i in nodes[j]["inputs"]], "origin": None} for j in order]
    return {**document, "nodes": records, "outputs": [position[k]]}


def copy(document):
    return json.loads(json.dumps(document))


def dump(document) -> bytes:
    return json.dumps(document).encode()


def make_corpus(seed: int, scale: float) -> list[tuple[str, str, bytes]]:
    """(family, description, file bytes) of every hostile file, the same for the same seed."""
    rng = np.random.default_rng(seed)
    with sg.Graph():
        whole = to_json(every_op_outputs())
    missing = {op.name for op in BUILTIN_OPS} - {r["op"] for r in whole["nodes"]}
    if missing:
        print(f"note: the base graph misses ops {sorted(missing)}")
    first_of_op, first_of_param = {}, {}
    for k, record in enumerate(whole["nodes"]):
        first_of_op.setdefault(record["op"], k)
        for key in record["params"]:
            first_of_param.setdefault((record["op"], key), k)
    subs = {op: sub_document(whole, k) for op, k in sorted(first_of_op.items())}
    ops = sorted(subs)
    corpus = []

    def count(n):
        return max(1, int(n * scale))

    whole_bytes = dump(whole)
    for cut in sorted(rng.integers(0, len(whole_bytes), count(200))):
        corpus.append(("truncate", f"whole file cut at byte {cut}", whole_bytes[:cut]))
    for n in range(count(200)):
        op = ops[n % len(ops)]
        data = dump(subs[op])
        cut = int(rng.integers(0, len(data)))
        corpus.append(("truncate", f"sub-document of {op} cut at byte {cut}", data[:cut]))
    for source, n_files in (("whole", count(300)), ("sub", count(400))):
        for n in range(n_files):
            op = ops[n % len(ops)]
            data = bytearray(whole_bytes if source == "whole" else dump(subs[op]))
            where = rng.integers(0, len(data), size=int(rng.integers(1, 4)))
            values = rng.integers(0, 256, size=len(where))
            for w, b in zip(where, values):
                data[w] = b
            label = "whole file" if source == "whole" else f"sub-document of {op}"
            corpus.append(("flip", f"{label}, bytes {dict(zip(where.tolist(), values.tolist()))}", bytes(data)))

    # wrong JSON types in every field of the first node of every op, and of the file
    n = 0
    for op in ops:
        document = subs[op]
        k = len(document["nodes"]) - 1
        for key in list(document["nodes"][k]) + ["<delete>"]:
            if key == "<delete>":
                for field in document["nodes"][k]:
                    edited = copy(document)
                    del edited["nodes"][k][field]
                    corpus.append(("type", f"{op}: field {field} deleted", dump(edited)))
                continue
            for _ in range(2):
                wrong = WRONG_TYPES[n % len(WRONG_TYPES)]
                n += 1
                edited = copy(document)
                edited["nodes"][k][key] = wrong
                corpus.append(("type", f"{op}: {key} = {short(wrong)}", dump(edited)))
    for key in ("format", "version", "nodes", "outputs"):
        for wrong in WRONG_TYPES:
            edited = copy(subs["add"])
            edited[key] = wrong
            corpus.append(("type", f"file: {key} = {short(wrong)}", dump(edited)))

    # hostile values of every (op, parameter)
    for (op, key), k in sorted(first_of_param.items()):
        document = sub_document(whole, k)
        at = len(document["nodes"]) - 1
        for wrong in HOSTILE_PARAMS:
            edited = copy(document)
            edited["nodes"][at]["params"][key] = wrong
            corpus.append(("param", f"{op}.{key} = {short(wrong)}", dump(edited)))
        # the same values with the node's type as the rule infers it, so that a size the rule
        # accepts (a one_hot depth of 10**12, say) loads and reaches the evaluation
        for wrong, edited in retyped(document, key, HOSTILE_PARAMS):
            corpus.append(("param+type", f"{op}.{key} = {short(wrong)}, type {edited['nodes'][-1]['dtype']}"
                           f"{short(edited['nodes'][-1]['shape'])}", dump(edited)))
        edited = copy(document)  # and a parameter the op does not take
        edited["nodes"][at]["params"]["__class__"] = 1
        corpus.append(("param", f"{op}: extra parameter __class__", dump(edited)))

    corpus += structural(whole, subs, ops, rng)
    return corpus


def retyped(document: dict, key: str, values: list):
    """(value, document) for each value of parameter ``key`` of the last node that its op's
    rule accepts and that changes the node's type, the file's type made to agree."""
    nodes = document["nodes"]
    record = nodes[-1]
    graph, built = from_json({**document, "nodes": nodes[:-1], "outputs": list(range(len(nodes) - 1))})
    op = lookup_op(record["op"])
    for value in values:
        try:
            params = {k: decode_param(value if k == key else v, "fuzz") for k, v in record["params"].items()}
            node = graph.apply(op, [built[i] for i in record["inputs"]], params)
        except Exception:  # noqa: BLE001  (refused by the rule: the plain mutation covers it)
            continue
        if [list(node.shape), node.dtype.name] != [record["shape"], record["dtype"]]:
            edited = copy(document)
            edited["nodes"][-1]["params"][key] = value
            edited["nodes"][-1].update(shape=list(node.shape), dtype=node.dtype.name)
            yield value, edited


def structural(whole: dict, subs: dict, ops: list, rng) -> list[tuple[str, str, bytes]]:
    corpus = []
    add = corpus.append
    for op in ops:
        document = subs[op]
        k = len(document["nodes"]) - 1
        record = document["nodes"][k]
        # another op's name on this node, same inputs and params
        other = ops[int(rng.integers(0, len(ops)))]
        edited = copy(document)
        edited["nodes"][k]["op"] = other
        add(("struct", f"{op} node renamed to op {other}", dump(edited)))
        if record["inputs"]:
            edited = copy(document)  # a cycle: the node's first input is itself / a later node
            edited["nodes"][k]["inputs"][0] = k
            add(("struct", f"{op}: input refers to itself", dump(edited)))
            edited = copy(document)
            edited["nodes"].append(copy(record))
            edited["nodes"][k]["inputs"][0] = k + 1
            add(("struct", f"{op}: input refers forward to a copy of itself (cycle)", dump(edited)))
        edited = copy(document)  # the same node twice, and outputs repeated
        edited["nodes"].append(copy(record))
        edited["outputs"] = [k, k + 1, k, k + 1] * 1000
        add(("struct", f"{op}: node duplicated, outputs repeated 4000 times", dump(edited)))
        edited = copy(document)
        edited["nodes"][k]["name"] = "ｃ" * 100_000
        add(("struct", f"{op}: a name of 100,000 full-width characters", dump(edited)))
        if record["origin"] is None and k > 0:
            edited = copy(document)
            edited["nodes"][k]["origin"] = {"order": 10 ** 12, "primal": k - 1, "kind": "cotangent"}
            add(("struct", f"{op}: origin of order 10**12", dump(edited)))

    # placeholders and constants declaring huge or empty-huge shapes
    base = subs["add"]
    for shape in ([10 ** 12, 0], [0, 10 ** 12], [2 ** 39, 2 ** 39, 0], [0] * 64, [0] * 65, [1] * 1000,
                  [2 ** 40 - 1], [2 ** 39, 2 ** 39], [2 ** 39] * 4, [None] * 100):
        for where in ("placeholder", "constant"):
            edited = copy(base)
            node = next((n for n in edited["nodes"] if n["op"] == where), None)
            if node is None:
                continue
            if where == "constant":
                node["value"] = {"dtype": node["dtype"], "shape": shape, "data": ""}
                node["shape"] = shape
            else:
                node["shape"] = shape
            add(("struct", f"{where} of shape {short(shape)}", dump(edited)))
        edited = {"format": "symgrad-graph", "version": 1, "outputs": [0], "nodes": [
            {"op": "constant", "inputs": [], "params": {}, "name": None, "shape": shape, "dtype": "float64",
             "origin": None, "value": {"dtype": "float64", "shape": shape, "data": ""}}]}
        add(("struct", f"a lone constant of shape {short(shape)}", dump(edited)))

    # names that are not ops, a placeholder name twice with two shapes, nesting past the limits
    for name in ("os.system", "eval", "__import__", "builtins.exec", "numpy.load", "constant.__class__"):
        edited = copy(base)
        edited["nodes"][-1]["op"] = name
        add(("struct", f"op named {name!r}", dump(edited)))
    edited = copy(base)
    twin = next(n for n in edited["nodes"] if n["op"] == "placeholder")
    edited["nodes"].append({**twin, "shape": [7]})
    edited["outputs"].append(len(edited["nodes"]) - 1)
    add(("struct", "a placeholder name twice, with two shapes", dump(edited)))
    for depth in (17, 40, 900):  # spliced in as text: json itself cannot nest 900 deep here
        edited = copy(subs["getitem"])
        edited["nodes"][-1]["params"]["spec"] = "@SPEC@"
        add(("struct", f"getitem spec nested {depth} deep",
             dump(edited).replace(b'"@SPEC@"', b"[" * depth + b"]" * depth)))
    add(("struct", "JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000))
    add(("struct", "a version of 10,000 digits", b'{"format": "symgrad-graph", "version": ' + b"9" * 10_000 + b"}"))

    # integer constants (index arrays) with entries out of range
    for k, record in enumerate(whole["nodes"]):
        if record["op"] != "constant" or not record["dtype"].startswith(("int", "uint")):
            continue
        users = [j for j, r in enumerate(whole["nodes"]) if k in r["inputs"]]
        for bad in (10 ** 9, -10 ** 9, 2 ** 62, -1, 3):
            array = np.full(record["value"]["shape"], bad).astype(record["dtype"]).astype(
                np.dtype(record["dtype"]).newbyteorder("<"))
            value = {**record["value"], "data": base64.b64encode(array.tobytes()).decode()}
            for j in users[:3]:
                edited = copy(sub_document(whole, j))
                for node in edited["nodes"]:
                    if node["op"] == "constant" and node["value"] == record["value"]:
                        node["value"] = value
                add(("struct", f"int constant %{k} used by {whole['nodes'][j]['op']} set to {bad}", dump(edited)))

    # a chain of 50,000 nodes, and a graph of 2**39-sized placeholders through many ops
    chain = [{"op": "placeholder", "inputs": [], "params": {}, "name": "x", "shape": [3], "dtype": "float64",
              "origin": None}]
    chain += [{"op": "neg", "inputs": [n], "params": {}, "name": None, "shape": [3], "dtype": "float64",
               "origin": None} for n in range(50_000)]
    add(("struct", "a chain of 50,000 neg nodes", dump({"format": "symgrad-graph", "version": 1,
                                                         "nodes": chain, "outputs": [50_000]})))
    # sg.save refuses them: written here as a careless or hostile writer would, without its checks
    with sg.Graph(), mock.patch.object(serialize, "_check_size", lambda *args: None, create=True):
        for node in huge_shape_outputs():
            add(("struct", f"2**39-sized operands: {node.op.name} {list(node.shape)}", dump(to_json([node]))))
    return corpus


def short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


# --- the child that loads ----------------------------------------------------------------

def peak_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")  # resets VmHWM to the current resident size
    except OSError:
        pass


def try_file(path: str) -> tuple[str, str]:
    """(outcome, detail) of loading one file and, if it loads, listing, drawing and evaluating it."""
    try:
        graph, outputs = sg.load(path)
    except FormatError:
        return "FormatError", ""
    except Exception as err:  # noqa: BLE001  (every other class is what the fuzzer looks for)
        return "other", f"load: {type(err).__name__}: {str(err)[:300]}"
    stage = "listing"
    try:
        sg.listing(outputs)
        stage = "to_dot"
        sg.to_dot(outputs)
        stage = "evaluate"
        feeds = {name: FEEDS[name] for name in graph.placeholder_names() if name in FEEDS}
        sg.evaluate(outputs, feeds)
    except sg.errors.Error as err:
        return "loaded, symgrad error", f"{stage}: {type(err).__name__}"
    except Exception as err:  # noqa: BLE001
        return "other", f"{stage}: {type(err).__name__}: {str(err)[:300]}"
    return "loaded, worked", ""


def child(conn, memory_cap: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    while True:
        task = conn.recv()
        if task is None:
            return
        index, path = task
        reset_peak()
        start = time.perf_counter()
        outcome, detail = try_file(path)
        conn.send((index, outcome, detail, peak_kb(), time.perf_counter() - start))
        gc.collect()  # the next file's peak starts from the child's resting size


class Worker:
    def __init__(self, context, memory_cap: int):
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=child, args=(child_end, memory_cap), daemon=True)
        self.process.start()
        child_end.close()
        self.task = None
        self.deadline = 0.0

    def stop(self):
        self.process.kill()
        self.process.join()
        self.conn.close()


def run(corpus, directory: str, workers: int, timeout: float, memory_cap: int) -> list[tuple]:
    """(outcome, detail, peak kB, seconds) of every file, in corpus order."""
    # Children of a fork server: they do not inherit the corpus, so their resident size is their own.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["symgrad"])
    pool = [Worker(context, memory_cap) for _ in range(workers)]
    results: list = [None] * len(corpus)
    pending = list(range(len(corpus)))[::-1]

    def give(worker):
        index = pending.pop()
        path = os.path.join(directory, f"{index:05d}.json")
        with open(path, "wb") as file:
            file.write(corpus[index][2])
        worker.task, worker.deadline = index, time.monotonic() + timeout
        worker.conn.send((index, path))

    for worker in pool:
        if pending:
            give(worker)
    while any(w.task is not None for w in pool):
        busy = [w for w in pool if w.task is not None]
        wait = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=wait)
        for k, worker in enumerate(pool):
            if worker.task is None:
                continue
            index = worker.task
            if worker.conn in ready:
                try:
                    _, outcome, detail, peak, seconds = worker.conn.recv()
                except EOFError:  # the child died on this file
                    outcome, detail, peak, seconds = "crash", f"exit code {worker.process.exitcode}", 0, 0.0
                    worker.stop()
                    pool[k] = worker = Worker(context, memory_cap)
            elif time.monotonic() >= worker.deadline:
                outcome, detail, peak, seconds = "hang", f"no answer in {timeout:g} s", 0, timeout
                worker.stop()
                pool[k] = worker = Worker(context, memory_cap)
            else:
                continue
            results[index] = (outcome, detail, peak, seconds)
            os.unlink(os.path.join(directory, f"{index:05d}.json"))
            worker.task = None
            if pending:
                give(worker)
    for worker in pool:
        worker.conn.send(None)
        worker.process.join(5)
    return results


ORDER = ["FormatError", "loaded, worked", "loaded, symgrad error", "other", "hang", "crash"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per file before it counts as a hang")
    parser.add_argument("--memory-cap", type=float, default=4.0, help="address space of a child, GB")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the random families' sizes")
    parser.add_argument("--verbose", action="store_true", help="also list the files that loaded")
    args = parser.parse_args()

    start = time.perf_counter()
    corpus = make_corpus(args.seed, args.scale)
    made = time.perf_counter() - start
    print(f"{len(corpus)} hostile files made in {made:.1f} s (seed {args.seed}, "
          f"{sum(len(c[2]) for c in corpus) / 1e6:.0f} MB); loading with {args.workers} children, "
          f"{args.timeout:g} s and {args.memory_cap:g} GB each")
    directory = tempfile.mkdtemp(prefix="symgrad-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        results = run(corpus, directory, args.workers, args.timeout, int(args.memory_cap * 2 ** 30))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    elapsed = time.perf_counter() - start

    families = sorted({c[0] for c in corpus}, key=[c[0] for c in corpus].index)
    table = collections.Counter((corpus[k][0], r[0]) for k, r in enumerate(results))
    width = max(len(o) for o in ORDER)
    print(f"\n{'family':<10}{'files':>7}" + "".join(f"{o:>{width + 2}}" for o in ORDER))
    for family in families + ["all"]:
        row = [sum(n for (f, o), n in table.items() if o == outcome and family in (f, "all")) for outcome in ORDER]
        print(f"{family:<10}{sum(row):>7}" + "".join(f"{n:>{width + 2}}" for n in row))
    worst = max(range(len(results)), key=lambda k: results[k][2])
    slowest = max(range(len(results)), key=lambda k: results[k][3])
    baseline = sorted(r[2] for r in results)[len(results) // 2]
    print(f"\npeak RSS of a child: median {baseline / 1024:.0f} MB, worst {results[worst][2] / 1024:.0f} MB "
          f"({corpus[worst][0]}: {corpus[worst][1]})")
    print(f"slowest file: {results[slowest][3]:.2f} s ({corpus[slowest][0]}: {corpus[slowest][1]})")
    print(f"total {elapsed:.0f} s")
    bad = [k for k, r in enumerate(results) if r[0] in ("other", "hang", "crash")]
    if bad:
        print(f"\n{len(bad)} files escaped (other / hang / crash):")
        for k in bad:
            print(f"  [{corpus[k][0]}] {corpus[k][1]}\n      -> {results[k][0]}: {results[k][1]}")
    if args.verbose:
        print("\nfiles that loaded:")
        for k, r in enumerate(results):
            if r[0].startswith("loaded"):
                print(f"  [{corpus[k][0]}] {corpus[k][1]} -> {r[0]} {r[1]}")
    symgrad_errors = collections.Counter(results[k][1] for k in range(len(results))
                                         if results[k][0] == "loaded, symgrad error")
    if symgrad_errors:
        print("\nloaded, then a symgrad error: " + ", ".join(f"{d} x{n}" for d, n in symgrad_errors.most_common()))


if __name__ == "__main__":
    main()
