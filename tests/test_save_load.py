"""save/load node for node: every op, derivative passes and exact parameters; fuzzed files raise FormatError only."""

import json

import numpy as np
import pytest

import symgrad as sg
from finite_differences import fd_jacobian
from symgrad.errors import FormatError
from symgrad.ops import core, elementwise, linalg, nn, reductions, shape
from symgrad.serialize import _decode_param, _encode_param, _saved_nodes, from_json, to_json

BUILTIN_OPS = {v.name for m in (core, elementwise, linalg, nn, reductions, shape)
               for v in vars(m).values() if isinstance(v, sg.Op)}

FEEDS = {
    "x": np.array([0.3, -1.2, 2.5]),
    "A": np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]),
    "i": np.array([2, 0, 2]),
    "labels": np.array([1, 0]),
    "v": np.array([0.7, -0.1, 1.3]),
    "M": np.array([[0.2, -0.4], [1.1, 0.6]]),
}


def every_op_graph():
    """A cost using every public op, its gradients (which add the adjoint-only ops), an HVP and JVPs."""
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
        sg.cast(sg.argmin(A, 0), "float64") * x,
        sg.broadcast_to(x[:1], (3,)) * x, sg.zeros_like(x) + x,
    ]
    logits = sg.transpose(A @ sg.reshape(x, (3, 1)))  # (1, 2)
    scores = A @ sg.tanh(x) + sg.sum(sg.stack(parts), axis=0)[:2]
    cost = (sg.sum(scores) + sg.mean(logits) + sg.max(A, axis=1).sum() + sg.min(A) + sg.logsumexp(x)
            + sg.cross_entropy(A * x, labels) + sg.sum(sg.one_hot(labels, 3) * A) + sg.mse(x, 1.0)
            + sg.sum(sg.softmax(A, axis=1) * A) + sg.sum(sg.expand_dims(x, 0) * A))
    # run-time dimensions: their adjoints need the *_like ops
    v, M = sg.vector("v", None), sg.matrix("M", None, None)
    cost = (cost + sg.sum(sg.concatenate([v, sg.tanh(v)]) ** 2) + sg.sum(sg.maximum(v, 0.0) * sg.mean(v))
            + sg.sum(sg.exp(sg.zeros_like(v))) + sg.sum(sg.sin(sg.reshape(M, (-1,)))))
    gx, gv, gM = sg.grad(cost, [x, v, M])
    hv = sg.hvp(cost, x, sg.constant([1.0, -2.0, 0.5]))
    (jv,) = sg.jvp([cost], [x], [sg.constant([0.5, 0.25, -1.0])])
    # v * tanh(v): two run-time dims that must match, checked by the forward pass (check_sizes)
    (jc,) = sg.jvp([sg.concatenate([v, v * sg.tanh(v)])], [v], [sg.tanh(v)])
    return [cost, gx, gv, gM, hv, jv, jc]


def round_trip(outputs, tmp_path):
    path = tmp_path / "graph.json"
    sg.save(outputs, path)
    return sg.load(path)


def test_every_op_and_its_derivatives_round_trip_node_for_node(tmp_path):
    with sg.Graph():
        outputs = every_op_graph()
        saved = _saved_nodes(outputs)
        expected = sg.evaluate(outputs, FEEDS)
        graph, loaded = round_trip(outputs, tmp_path)
    assert BUILTIN_OPS <= {n.op.name for n in saved}, BUILTIN_OPS - {n.op.name for n in saved}
    assert len(graph.nodes) == len(saved)
    position = {node: k for k, node in enumerate(saved)}
    for before, after in zip(saved, graph.nodes):
        assert (after.op, after.shape, after.dtype, after.name) == (before.op, before.shape, before.dtype, before.name)
        assert [i.id for i in after.inputs] == [position[i] for i in before.inputs]
        assert repr(after.params) == repr(before.params)  # same values and the same types
        o1, o2 = before.graph.origin(before), graph.origin(after)
        assert (o1 is None) == (o2 is None)
        if o1 is not None:
            assert (o1.order, o1.kind, position[o1.primal]) == (o2.order, o2.kind, o2.primal.id)
    for a, b in zip(expected, sg.evaluate(loaded, FEEDS)):
        np.testing.assert_array_equal(a, b)  # the same ops in the same order: bitwise equal


def test_second_order_graphs_round_trip_and_differentiate_again(tmp_path):
    with sg.Graph():
        x = sg.vector("x", 3)
        cost = sg.sum(sg.tanh(x) * sg.exp(x[::-1]))
        hess = sg.hessian(cost, x)
        d3 = sg.grad(sg.sum(sg.grad(sg.sum(sg.grad(cost, x) ** 2), x)), x)
        feeds = {"x": FEEDS["x"]}
        expected = sg.evaluate([hess, d3], feeds)
        graph, loaded = round_trip([hess, d3], tmp_path)
    assert {graph.origin(n).order for n in graph.nodes if graph.origin(n)} >= {1, 2, 3}
    for a, b in zip(expected, sg.evaluate(loaded, feeds)):
        np.testing.assert_array_equal(a, b)
    # the loaded Hessian's first row, differentiated again, against central differences of it
    row = loaded[0][0]
    x_new = graph.placeholder_named("x")
    jac = sg.evaluate(sg.jacobian(row, x_new), feeds)
    np.testing.assert_allclose(jac, fd_jacobian(row, x_new, FEEDS["x"]), rtol=1e-5, atol=1e-6)


def test_a_whole_graph_saves_with_its_sinks_as_outputs(tmp_path):
    with sg.Graph() as g:
        x = sg.scalar("x")
        sg.sin(x)
        sg.cos(x)
        graph, outputs = round_trip(g, tmp_path)
    assert [o.op.name for o in outputs] == ["sin", "cos"]
    assert isinstance(graph, sg.Graph) and outputs[0].graph is graph


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int8", "uint16", "bool"])
def test_constants_keep_their_exact_bytes(tmp_path, dtype):
    values = np.array([[0.0, -0.0, np.nan], [np.inf, -np.inf, 1e-310]])
    array = values.astype(dtype) if dtype[0] == "f" else np.arange(-3, 3).reshape(2, 3).astype(dtype)
    with sg.Graph():
        c = sg.constant(array, name="c")
        graph, (loaded,) = round_trip(c, tmp_path)
    assert loaded.name == "c" and loaded.value.dtype == array.dtype
    assert loaded.value.tobytes() == array.tobytes()


@pytest.mark.parametrize("value", [
    0, -7, 2 ** 70, True, False, None, "", "λ \"quoted\"\n", 0.1, -0.0, float("nan"), float("inf"),
    -float("inf"), 5e-324, (), (1, (None, ("slice", 1, None, -1)), ((),)), np.dtype("float32"), np.dtype("bool")])
def test_params_round_trip_with_their_types(value):
    with sg.Graph():
        node = sg.scalar("x")
        text = json.dumps(_encode_param(value, node, "p"), allow_nan=False)
    back = _decode_param(json.loads(text), "node", 0)
    assert repr(back) == repr(value) and type(back) is type(value)


def test_ops_the_format_cannot_name_are_refused_when_saving(tmp_path):
    twin = sg.Op("sin", np.sin, lambda x: (x.shape, x.dtype))  # not the registered "sin"
    with sg.Graph() as g:
        x = sg.scalar("x")
        with pytest.raises(FormatError, match="not the one registered"):
            sg.save(g.apply(twin, [x]), tmp_path / "f.json")


# --- fuzzed and hostile files ---------------------------------------------------------------

def valid_document():
    with sg.Graph():
        x, i = sg.vector("x", 3), sg.vector("i", 2, dtype="int64")
        cost = sg.sum(sg.leaky_relu(x[i] * sg.constant([1.5, -2.0]), 0.2) ** 2)
        return to_json([cost, sg.grad(cost, x)])


def must_refuse(document_or_bytes, tmp_path, match=None):
    path = tmp_path / "bad.json"
    if isinstance(document_or_bytes, bytes):
        path.write_bytes(document_or_bytes)
    else:
        path.write_text(json.dumps(document_or_bytes), encoding="utf-8")
    with pytest.raises(FormatError, match=match):
        sg.load(path)


def test_the_valid_document_loads_and_computes_the_numpy_values():
    graph, outputs = from_json(valid_document())
    x = np.array([0.5, -1.0, 2.0])
    value, grad = sg.evaluate(outputs, {"x": x, "i": np.array([2, 1])})
    z = x[[2, 1]] * np.array([1.5, -2.0])
    lrelu = np.where(z > 0, z, 0.2 * z)
    assert np.isclose(value, np.sum(lrelu ** 2))
    dz = 2 * lrelu * np.where(z > 0, 1.0, 0.2) * np.array([1.5, -2.0])
    np.testing.assert_allclose(grad, np.bincount([2, 1], weights=dz, minlength=3))


def test_every_truncation_is_refused(tmp_path):
    data = json.dumps(valid_document()).encode()
    for end in range(0, len(data), 3):
        must_refuse(data[:end], tmp_path)


def test_random_byte_flips_raise_format_error_or_load(tmp_path):
    data = bytearray(json.dumps(valid_document()).encode())
    rng = np.random.default_rng(1234)
    path = tmp_path / "maybe.json"
    for _ in range(400):
        damaged = bytearray(data)
        for where in rng.integers(0, len(data), size=rng.integers(1, 4)):
            damaged[where] = rng.integers(0, 256)
        path.write_bytes(bytes(damaged))
        try:
            sg.load(path)
        except FormatError:
            pass  # any other exception fails the test


WRONG_VALUES = [None, True, -1, 0, 10 ** 30, 1.5, "", "x", [], [0], [-1], [None], {}, {"float": "1"}]


def test_wrong_json_types_in_every_field_raise_format_error_or_load():
    base = valid_document()
    for k in range(len(base["nodes"])):
        for key in list(base["nodes"][k]) + ["missing"]:
            for wrong in WRONG_VALUES:
                document = json.loads(json.dumps(base))
                document["nodes"][k][key] = wrong
                try:
                    from_json(document)
                except FormatError:
                    pass
    for key in ("format", "version", "nodes", "outputs"):
        for wrong in WRONG_VALUES:
            document = json.loads(json.dumps(base))
            document[key] = wrong
            if key == "outputs" and wrong in ([], [0]):
                continue  # still a valid file
            with pytest.raises(FormatError):
                from_json(document)


def test_specific_hostile_files(tmp_path):
    def changed(edit):
        document = valid_document()
        edit(document)
        return document

    nodes = valid_document()["nodes"]
    const = next(k for k, n in enumerate(nodes) if n["op"] == "constant")
    getitem = next(k for k, n in enumerate(nodes) if n["op"] == "getitem")
    leaky = next(k for k, n in enumerate(nodes) if n["op"] == "leaky_relu")
    last = len(nodes) - 1
    must_refuse(b"\xff\xfe not utf-8", tmp_path, "not UTF-8 JSON")
    must_refuse(b"[" * 100_000 + b"]" * 100_000, tmp_path)  # nesting deeper than the parser allows
    must_refuse(b'{"format": "symgrad-graph", "version": ' + b"9" * 10_000 + b"}", tmp_path)
    must_refuse([], tmp_path, "not a symgrad graph file")
    must_refuse(changed(lambda d: d.update(version=2)), tmp_path, "version 2")
    must_refuse(changed(lambda d: d["nodes"][last].update(op="os.system")), tmp_path, "unknown op 'os.system'")
    must_refuse(changed(lambda d: d["nodes"][last].update(inputs=[last])), tmp_path, "refers to node")
    must_refuse(changed(lambda d: d["nodes"][2].update(inputs=[3, 0])), tmp_path, "refers to node")
    must_refuse(changed(lambda d: d["nodes"][last].update(shape=[7])), tmp_path, "when rebuilt")
    must_refuse(changed(lambda d: d["nodes"][last].update(origin={"order": 1, "primal": last, "kind": "cotangent"})),
                tmp_path, "refers to node")
    huge = {"dtype": "float64", "shape": [10 ** 11, 10 ** 11], "data": "AAAA"}
    must_refuse(changed(lambda d: d["nodes"][const].update(value=huge)), tmp_path, "base64 characters")
    must_refuse(changed(lambda d: d["nodes"][const].update(value={**huge, "shape": [2 ** 50]})), tmp_path, "bad shape")
    bad64 = {"dtype": "float64", "shape": [2], "data": "!" * 24}
    must_refuse(changed(lambda d: d["nodes"][const].update(value=bad64)), tmp_path, "base64")
    two_bools = {"dtype": "bool", "shape": [2], "data": "AQI="}
    must_refuse(changed(lambda d: d["nodes"][const].update(value=two_bools)), tmp_path, "bool bytes")
    deep = json.loads("[" * 30 + "]" * 30)
    for spec in ([["slice", "a", None, None]], [["zzz"]], [["array", 7]], [[]], "spec", deep):
        must_refuse(changed(lambda d: d["nodes"][getitem]["params"].update(spec=spec)), tmp_path)
    must_refuse(changed(lambda d: d["nodes"][getitem]["params"].update({"not an identifier": 1})), tmp_path)
    must_refuse(changed(lambda d: d["nodes"][leaky]["params"].update(alpha={"float": "one"})), tmp_path, "bad float")
    must_refuse(changed(lambda d: d["nodes"][leaky]["params"].update(alpha={"code": "print(1)"})), tmp_path)
    # two placeholders of one name and different shapes
    must_refuse(changed(lambda d: d["nodes"][1].update(name=d["nodes"][0]["name"])), tmp_path)


def test_the_documented_example_file_loads():
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "graph-file-format.md").read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    graph, (out,) = from_json(json.loads(example))
    np.testing.assert_array_equal(sg.evaluate(out, {"x": [1.0, -2.0, 0.5]}), [2.0, -4.0, 1.0])
