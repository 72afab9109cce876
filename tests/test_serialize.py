"""sg.save / sg.load: every op round-trips, derivatives included; bad files raise FormatError only."""

import json
import math
import random

import numpy as np
import pytest

import symgrad as sg
from symgrad.serialize import FORMAT, VERSION, to_json
from test_save_load import BUILTIN_OPS, must_refuse, round_trip


def every_op_graph():
    """Outputs that between them use every built-in op, with the feeds they need."""
    rng = np.random.default_rng(0)
    x = sg.placeholder("x", (2, 3))
    v = sg.vector("v", 3)
    r = sg.placeholder("r", (None, None))
    labels = sg.placeholder("labels", (2,), "int64")
    pos = sg.exp(x) + 0.5
    parts = [
        sg.abs(x), x - v, x / pos, pos ** 1.5, sg.cos(x), sg.sin(x), sg.tan(x * 0.1), sg.tanh(x),
        sg.expm1(x), sg.log(pos), sg.log1p(pos), sg.sqrt(pos), sg.square(x), sg.sigmoid(x),
        sg.softplus(x), sg.relu(x), sg.leaky_relu(x, 0.2), sg.sign(x), sg.floor(x), sg.round(x),
        sg.maximum(x, v), sg.minimum(x, v), sg.where(x > v, x, -x), sg.clip(x, -0.5, 0.5),
        sg.stop_gradient(x), sg.cast(sg.cast(x, "float32"), "float64"),
        sg.broadcast_to(v, (2, 3)), sg.reshape(x, (3, 2)).T, sg.transpose(x).T,
        sg.concatenate([x, x * 2.0], 1)[:, ::2], x[[1, 0]], x[:, labels],
        sg.stack([v, v], 0), sg.softmax(x), sg.log_softmax(x),
        sg.logsumexp(x, 1, keepdims=True), sg.max(x, 0, keepdims=True), sg.min(x, 1, keepdims=True),
        sg.mean(x, 0, keepdims=True),
    ]
    cost = sum(sg.sum(p) for p in parts) + sg.cross_entropy(x, labels) + sg.sum(x @ v)
    flags = [sg.equal(x, v), sg.not_equal(x, v), sg.less(x, v), sg.less_equal(x, v), sg.greater_equal(x, v)]
    discrete = sg.sum(sg.one_hot(labels, 3)) + sg.sum(sg.cast(sg.argmax(x, 1) + sg.argmin(x, 1), "float64"))
    discrete = discrete + sum(sg.sum(sg.cast(f, "float64")) for f in flags)  # not differentiable
    ragged = sg.reshape(r * 2.0, (-1,))  # run-time dims: reshape_like, broadcast_like...
    odd = sg.sum(ragged * ragged) + sg.sum(sg.zeros_like(r) + 1.0)
    odd = odd + sg.sum(sg.concatenate([r, r * 3.0, r], 0) ** 2.0)  # head_like, tail_like
    grads = sg.grad(cost, [x, v]) + [sg.grad(odd, r)]
    outputs = [cost, odd] + grads + [discrete] + [sg.jvp(cost, x, np.ones((2, 3)))]
    outputs.append(sg.jvp(r * sg.tanh(r), r, r))  # run-time dims that must match: check_sizes
    feeds = {"x": rng.normal(size=(2, 3)), "v": rng.normal(size=3), "r": rng.normal(size=(4, 5)),
             "labels": np.array([2, 0])}
    return outputs, feeds


def test_every_op_round_trips_and_evaluates_alike(tmp_path):
    with sg.Graph() as graph:
        outputs, feeds = every_op_graph()
    used = {n.op.name for n in graph.nodes}
    assert BUILTIN_OPS <= used, f"extend every_op_graph with {BUILTIN_OPS - used}"
    loaded, new_outputs = round_trip(outputs, tmp_path)
    assert len(new_outputs) == len(outputs)
    for old, new in zip(outputs, new_outputs):
        assert (old.shape, old.dtype) == (new.shape, new.dtype)
        np.testing.assert_array_equal(sg.evaluate(new, feeds), sg.evaluate(old, feeds))
    # A loaded graph is a graph: it can be differentiated again.
    x = loaded.placeholder_named("x")
    again = sg.grad(sg.sum(new_outputs[2] * new_outputs[2]), x)
    assert again.shape == (2, 3)


def test_whole_graph_round_trips_node_for_node_with_origins(tmp_path):
    with sg.Graph() as graph:
        x = sg.vector("x", 3)
        y = sg.sum(sg.tanh(x) * x)
        gx = sg.grad(y, x)
        hv = sg.grad(sg.sum(gx * sg.constant([1.0, -2.0, 0.5])), x)
    loaded, outputs = round_trip(graph, tmp_path)
    assert len(loaded) == len(graph)
    assert sg.listing(loaded) == sg.listing(graph)  # ops, params, names, types and origins
    orders = {loaded.origin(n).order for n in loaded if loaded.origin(n)}
    assert orders == {1, 2}
    new_hv = next(n for n in outputs if n.id == hv.id)
    value = [0.3, -1.2, 2.0]
    np.testing.assert_allclose(sg.evaluate(new_hv, {"x": value}), sg.evaluate(hv, {"x": value}), rtol=0, atol=0)


def test_second_order_values_match_closed_form(tmp_path):
    with sg.Graph():
        x = sg.scalar("x")
        d2 = sg.grad(sg.grad(sg.sin(x) * x, x), x)
    _, (loaded,) = round_trip(d2, tmp_path)
    for value in (-1.3, 0.0, 2.5):
        np.testing.assert_allclose(loaded.eval({"x": value}), 2 * math.cos(value) - value * math.sin(value))


@pytest.mark.parametrize("value", [0.1, -0.0, float("inf"), float("-inf"), 1e-310, 2.0 ** 60])
def test_float_parameters_come_back_exactly(value):
    with sg.Graph():
        y = sg.leaky_relu(sg.scalar("x"), value)
    _, (loaded,) = _round_trip(y)
    got = loaded.params.alpha
    assert got == value and math.copysign(1, got) == math.copysign(1, value)


def test_nan_parameter_and_constants_of_every_dtype():
    with sg.Graph():
        y = sg.leaky_relu(sg.scalar("x"), float("nan"))
        consts = [sg.constant(np.array(v, dtype=d)) for v, d in [
            ([np.nan, -0.0, np.inf], "float64"), ([1.5, -2.25], "float32"), ([True, False], "bool"),
            ([[-3, 7]], "int64"), (np.arange(6).reshape(2, 3), "uint8"), (2.5, "float16")]]
    _, outputs = _round_trip([y] + consts)
    assert math.isnan(outputs[0].params.alpha)
    for old, new in zip(consts, outputs[1:]):
        assert new.value.dtype == old.value.dtype and new.value.shape == old.value.shape
        np.testing.assert_array_equal(new.value, old.value)
        assert np.signbit(new.value).tolist() == np.signbit(old.value).tolist()


def _round_trip(outputs):
    return sg.serialize.from_json(json.loads(json.dumps(to_json(outputs))))


def test_loading_never_touches_pickle_or_eval(monkeypatch, tmp_path):
    with sg.Graph():
        y = sg.sum(sg.sigmoid(sg.vector("w", 2)) @ sg.constant([1.0, 2.0]))
    sg.save(y, tmp_path / "y.json")

    def forbidden(*args, **kwargs):
        raise AssertionError("load executed code")
    import builtins
    import pickle
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    _, (loaded,) = sg.load(tmp_path / "y.json")
    monkeypatch.undo()
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(loaded.eval({"w": w}), (1 / (1 + np.exp(-w))) @ [1.0, 2.0])


# --- hostile and broken files -------------------------------------------------------------

def _document():
    with sg.Graph():
        x = sg.placeholder("x", (2, 3))
        y = sg.sum(x[:, 1] * sg.constant([1.0, 2.0])) - sg.max(x)
        return to_json([y, sg.grad(y, x)])


def test_truncated_files(tmp_path):
    data = json.dumps(_document()).encode()
    for cut in sorted({0, 1, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1} |
                      set(random.Random(1).sample(range(len(data)), 30))):
        must_refuse(data[:cut], tmp_path)


def test_random_byte_flips_load_or_raise_format_error(tmp_path):
    data = bytearray(json.dumps(_document()).encode())
    rng = random.Random(2)
    path = tmp_path / "flip.json"
    for _ in range(150):
        corrupted = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        path.write_bytes(bytes(corrupted))
        try:
            sg.load(path)
        except sg.FormatError:
            pass  # anything else propagates and fails the test


def _mutated(change):
    document = _document()
    change(document)
    return document


def _node(document, op):
    return next(n for n in document["nodes"] if n["op"] == op)


@pytest.mark.parametrize("change", [
    lambda d: d.update(format="something-else"),
    lambda d: d.update(version=2),
    lambda d: d.update(version=True),
    lambda d: d.update(nodes={"0": 1}),
    lambda d: d.update(outputs=[10 ** 6]),
    lambda d: d.update(outputs=["0"]),
    lambda d: d["nodes"].append(42),
    lambda d: _node(d, "mul").update(op="no_such_op"),
    lambda d: _node(d, "mul").update(op=["mul"]),
    lambda d: _node(d, "mul").update(inputs=[len(d["nodes"]) + 3]),          # forward reference
    lambda d: d["nodes"][1].update(inputs=[1]),                             # a node as its own input: a cycle
    lambda d: _node(d, "mul").update(inputs=[-1, 0]),
    lambda d: _node(d, "mul").update(inputs=[True, 0]),
    lambda d: _node(d, "mul").update(shape=[7]),                             # disagrees with inference
    lambda d: _node(d, "mul").update(dtype="float32"),
    lambda d: _node(d, "mul").update(dtype="object"),
    lambda d: _node(d, "mul").update(dtype="V100"),
    lambda d: _node(d, "placeholder").update(shape=[10 ** 30, 3]),          # huge shapes
    lambda d: _node(d, "placeholder").update(shape=[-2, 3]),
    lambda d: _node(d, "placeholder").update(shape="(2, 3)"),
    lambda d: _node(d, "placeholder").update(name=None),
    lambda d: _node(d, "constant")["value"].update(shape=[10 ** 12]),
    lambda d: _node(d, "constant")["value"].update(data="!!!!"),
    lambda d: _node(d, "constant")["value"].update(data=12),
    lambda d: _node(d, "constant")["value"].update(dtype="float128"),
    lambda d: _node(d, "constant").pop("value"),
    lambda d: _node(d, "getitem").update(params={"spec": [["slice", {"float": "nan"}, None, None]]}),
    lambda d: _node(d, "getitem").update(params={"spec": {"__reduce__": "os.system"}}),
    lambda d: _node(d, "getitem").update(params={"spec": json.loads("[" * 40 + "]" * 40)}),
    lambda d: _node(d, "getitem").update(params={"spec": [["slice", 1, 2, 0]]}),
    lambda d: _node(d, "max").update(params={"axis": [9], "keepdims": False}),
    lambda d: _node(d, "max").update(params={"axis": [0], "keepdims": False, "extra": 1}),
    lambda d: _node(d, "max").update(params={"axis": {"float": "1e999x"}, "keepdims": False}),
    lambda d: _node(d, "max").update(params={"axis": {"dtype": "object"}, "keepdims": False}),
    lambda d: next(n for n in d["nodes"] if n["origin"]).update(origin={"order": 1, "primal": 10 ** 5,
                                                                        "kind": "cotangent"}),
    lambda d: next(n for n in d["nodes"] if n["origin"]).update(origin={"order": 0, "primal": 0,
                                                                        "kind": "cotangent"}),
    lambda d: next(n for n in d["nodes"] if n["origin"]).update(origin={"order": 1, "primal": 0,
                                                                        "kind": "exec"}),
    lambda d: next(n for n in d["nodes"] if n["origin"]).update(origin="pass 1"),
])
def test_hostile_or_inconsistent_documents(change, tmp_path):
    must_refuse(_mutated(change), tmp_path)


@pytest.mark.parametrize("text", [
    b"", b"\xff\xfe\x00", b"null", b"[]", b"{}", b'{"format": "symgrad-graph"}',
    b"[" * 100000 + b"]" * 100000, b'{"format": "symgrad-graph", "version": 1, "nodes": NaN}',
    b'{"format": "symgrad-graph", "version": 1, "nodes": [], "outputs": [0]}',
])
def test_not_graph_files(text, tmp_path):
    must_refuse(text, tmp_path)


def test_saved_document_says_its_format_and_version():
    document = _document()
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert all(i < k for k, node in enumerate(document["nodes"]) for i in node["inputs"])


def test_unsavable_parameter_is_a_format_error(tmp_path):
    with sg.Graph() as graph:
        x = sg.scalar("x")
        odd = graph.apply(sg.ops.elementwise.LEAKY_RELU, (x,), {"alpha": frozenset({1})})
    with pytest.raises(sg.FormatError, match="alpha"):
        sg.save(odd, tmp_path / "odd.json")
