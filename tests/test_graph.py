"""Nodes and graphs: hash-consing, order, default graphs, networkx, constants, build-time errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import symgrad as sg


# --- hash-consing and order ----------------------------------------------------------------

def test_building_an_existing_node_returns_it():
    with sg.Graph() as graph:
        x, y = sg.scalar("x"), sg.scalar("y")
        first = x * y
        size = len(graph)
        second = x * y
        assert second is first
        assert len(graph) == size
        assert sg.sin(first) is sg.sin(second)
        assert x - y is not y - x  # operand order is part of the node
        assert x * y is y * x and x + y is y + x  # but + and * commute exactly, so b*a reuses a*b


def test_parameters_are_part_of_the_node_identity():
    x = sg.matrix("x", 2, 3)
    assert x.sum(axis=0) is x.sum(axis=0)
    assert x.sum(axis=0) is not x.sum(axis=1)
    assert x.sum(axis=0) is not x.sum(axis=0, keepdims=True)
    assert sg.leaky_relu(x, 0.1) is not sg.leaky_relu(x, 0.2)


def test_equal_constants_are_one_node_and_python_numbers_are_cached():
    with sg.Graph() as graph:
        x = sg.vector("x", 2)
        assert sg.constant([1.0, 2.0]) is sg.constant(np.array([1.0, 2.0]))
        assert sg.constant([1.0, 2.0]) is not sg.constant([1.0, 2.5])
        assert sg.constant([1.0, 2.0]) is not sg.constant(np.array([1.0, 2.0], np.float32))
        size = len(graph)
        for _ in range(5):
            x + 1.0
        assert len(graph) == size + 2  # one constant, one add


def test_creation_order_is_topological():
    with sg.Graph() as graph:
        x, w = sg.vector("x", 3), sg.matrix("w", 3, 3)
        y = sg.tanh(w @ x).sum() + (x * x).mean()
        sg.grad(y, [x, w])
    for node in graph:
        assert all(inp.id < node.id for inp in node.inputs)
    assert [n.id for n in graph] == list(range(len(graph)))
    assert nx.is_directed_acyclic_graph(graph.to_networkx())


def test_nodes_are_immutable_in_practice():
    x = sg.scalar("x")
    with pytest.raises(AttributeError):
        x.extra = 1  # __slots__: no new attributes
    assert isinstance((x + 1.0).inputs, tuple)


# --- graphs ----------------------------------------------------------------------------------

def test_with_graph_makes_it_the_default_and_restores_the_previous_one():
    outer = sg.get_default_graph()
    with sg.Graph() as first:
        assert sg.get_default_graph() is first
        a = sg.scalar("a")
        with sg.Graph() as second:
            b = sg.scalar("a")  # same name, another graph: no clash
            assert sg.get_default_graph() is second
        assert sg.get_default_graph() is first
    assert sg.get_default_graph() is outer
    assert a.graph is first and b.graph is second
    assert len(first) == 1 and len(second) == 1


def test_len_and_iteration():
    with sg.Graph() as graph:
        x = sg.scalar("x")
        y = x * x + x * x
    assert len(graph) == 3  # x, x * x (built once), the sum
    assert list(graph) == [x, y.inputs[0], y]


def test_to_networkx_has_every_node_and_edges_with_their_input_index():
    with sg.Graph() as graph:
        x, y = sg.scalar("x"), sg.scalar("y")
        square = x * x
        z = sg.sub(y, square)
    g = graph.to_networkx()
    assert isinstance(g, nx.MultiDiGraph)
    assert set(g.nodes) == {n.id for n in graph}
    assert g.nodes[z.id]["op"] == "sub" and g.nodes[x.id]["name"] == "x"
    assert g.nodes[z.id]["shape"] == () and g.nodes[z.id]["dtype"] == "float64"
    # x feeds x * x twice: two edges, one per input position.
    assert sorted(d["index"] for d in g.get_edge_data(x.id, square.id).values()) == [0, 1]
    assert [d["index"] for d in g.get_edge_data(y.id, z.id).values()] == [0]
    assert [d["index"] for d in g.get_edge_data(square.id, z.id).values()] == [1]
    assert nx.ancestors(g, z.id) == {x.id, y.id, square.id}


def test_to_networkx_of_outputs_keeps_only_what_they_need():
    with sg.Graph() as graph:
        x = sg.scalar("x")
        needed = sg.sin(x)
        sg.cos(x)
    assert set(graph.to_networkx([needed]).nodes) == {x.id, needed.id}


def test_combining_nodes_of_two_graphs_is_an_error():
    with sg.Graph():
        x = sg.scalar("x")
    with sg.Graph():
        y = sg.scalar("y")
        with pytest.raises(sg.GraphError, match=r"another graph.*'x'|'x'.*another graph"):
            y + x
    with pytest.raises(sg.GraphError, match="another graph"):
        sg.matmul(sg.vector("v", 2), sg.vector("w", 2, graph=x.graph))


def test_a_placeholder_name_cannot_be_redefined():
    x = sg.vector("x", 3)
    assert sg.vector("x", 3) is x
    with pytest.raises(sg.GraphError, match=r"'x'.*f64\[3\].*f64\[4\]"):
        sg.vector("x", 4)
    with pytest.raises(sg.GraphError, match="f32"):
        sg.vector("x", 3, "float32")


def test_nodes_have_no_truth_value():
    x = sg.scalar("x")
    with pytest.raises(TypeError, match="where"):
        if x > 0:
            pass


# --- constants and dtypes -----------------------------------------------------------------

def test_python_numbers_are_weakly_typed():
    x32 = sg.vector("x32", 3, "float32")
    for node in (x32 * 2.0, 2.0 * x32, x32 + 1, x32 / 3, 1.0 - x32, x32 ** 2, sg.maximum(x32, 0.0)):
        assert node.dtype == np.float32, node
    assert (sg.vector("x", 3) * 2).dtype == np.float64
    assert sg.constant(2.0).dtype == np.float64
    assert sg.constant(2).dtype == np.int64


def test_float32_with_float64_is_an_error_not_an_upcast():
    x32, x64 = sg.vector("x32", 3, "float32"), sg.vector("x64", 3)
    with pytest.raises(sg.DTypeError, match=r"float32 and float64.*x64|float32 and float64.*x32"):
        x32 + x64
    with pytest.raises(sg.DTypeError, match="sg.cast"):
        x32 * np.ones(3)  # a NumPy array keeps its float64 dtype
    with pytest.raises(sg.DTypeError):
        sg.matmul(sg.matrix("m32", 3, 3, "float32"), x64)
    assert (sg.cast(x32, "float64") + x64).dtype == np.float64


def test_integer_and_bool_nodes_exist():
    i = sg.placeholder("i", (3,), "int64")
    assert (i + 1).dtype == np.int64
    assert (i > 1).dtype == np.bool_
    assert sg.argmax(sg.vector("x", 3), 0).dtype == np.int64
    assert sg.exp(i).dtype == np.float64  # math functions of integers give floats


def test_python_ints_keep_an_integer_node_width_when_they_fit():
    i32 = sg.placeholder("i32", (2,), "int32")
    assert (i32 + 1).dtype == np.int32
    assert (i32 * 2).eval({i32: [3, 4]}).dtype == np.int32
    with pytest.raises(sg.IntegerOverflowError):  # does not fit: raises as in NumPy 2 (NEP 50), never wraps
        i32 + 2 ** 40


def test_constants_hold_a_private_read_only_copy():
    source = np.array([1.0, 2.0])
    c = sg.constant(source)
    source[0] = 99.0
    np.testing.assert_array_equal(c.eval(), [1.0, 2.0])
    with pytest.raises(ValueError):
        c.value[0] = 5.0


def test_constants_reject_non_numeric_values():
    with pytest.raises(sg.DTypeError):
        sg.constant(np.array(["a", "b"]))


# --- shape rules reject bad operands at build time, naming both shapes ---------------------

@pytest.mark.parametrize("build, names", [
    (lambda: sg.matrix("a", 2, 3) + sg.vector("b", 4), ["f64[2,3]", "f64[4]"]),
    (lambda: sg.matrix("a", 2, 3) * sg.matrix("b", 3, 2), ["f64[2,3]", "f64[3,2]"]),
    (lambda: sg.matrix("a", 2, 3) @ sg.matrix("b", 4, 5), ["f64[2,3]", "f64[4,5]"]),
    (lambda: sg.vector("a", 3) @ sg.vector("b", 4), ["f64[3]", "f64[4]"]),
    (lambda: sg.where(sg.vector("c", 2) > 0, sg.vector("a", 2), sg.vector("b", 3)), ["f64[2]", "f64[3]"]),
    (lambda: sg.concatenate([sg.matrix("a", 2, 3), sg.matrix("b", 3, 4)], axis=0), ["f64[2,3]", "f64[3,4]"]),
    (lambda: sg.stack([sg.vector("a", 2), sg.vector("b", 3)]), ["f64[2]", "f64[3]"]),
    (lambda: sg.mse(sg.vector("a", 2), sg.vector("b", 3)), ["f64[2]", "f64[3]"]),
])
def test_binary_shape_mismatch_names_both_shapes(build, names):
    with pytest.raises(sg.ShapeError) as info:
        build()
    for name in names:
        assert name in str(info.value)


@pytest.mark.parametrize("build, pattern", [
    (lambda x: x.reshape(4, 2), r"reshape.*f64\[2,3\].*\(4, 2\)"),
    (lambda x: x.sum(axis=2), r"sum: axis 2 is out of range.*f64\[2,3\]"),
    (lambda x: x.transpose(0, 0), r"transpose.*f64\[2,3\]"),
    (lambda x: sg.broadcast_to(x, (3, 3)), r"broadcast_to.*f64\[2,3\]"),
    (lambda x: x[5], r"getitem.*f64\[2,3\]"),
    (lambda x: x[0, 0, 0], r"getitem.*f64\[2,3\]"),
    (lambda x: sg.cross_entropy(x, sg.placeholder("y", (3,), "int64")), r"cross_entropy"),
    (lambda x: sg.matmul(x, 2.0), r"matmul.*f64\[2,3\]"),
])
def test_single_operand_shape_errors_name_the_op_and_node(build, pattern):
    x = sg.matrix("x", 2, 3)
    with pytest.raises(sg.ShapeError, match=pattern):
        build(x)


def test_dtype_rules_reject_bad_operands():
    x = sg.vector("x", 2)
    with pytest.raises(sg.DTypeError, match="where.*bool"):
        sg.where(x, x, x)
    with pytest.raises(sg.DTypeError, match="getitem.*integer"):
        x[sg.constant([0.0, 1.0])]
    with pytest.raises(sg.DTypeError, match="one_hot"):
        sg.one_hot(x, 3)


def test_run_time_dimensions():
    x = sg.placeholder("batch", (None, 3))
    y = sg.tanh(x @ sg.constant(np.ones((3, 2))))
    assert y.shape == (None, 2) and y.type == "f64[?,2]"
    assert x.sum(axis=1).shape == (None,)
    value = y.eval({x: np.zeros((5, 3))})
    assert value.shape == (5, 2)
    gx = sg.grad(y.sum(), x)
    assert gx.shape == (None, 3)
    np.testing.assert_allclose(gx.eval({x: np.zeros((4, 3))}), np.full((4, 3), 2.0))


# --- the gradient graph is part of the same graph and reuses forward nodes ---------------------

def test_sigmoid_derivative_reuses_the_sigmoid_node():
    with sg.Graph() as graph:
        x = sg.vector("x", 3)
        s = sg.sigmoid(x)
        gx = sg.grad(s.sum(), x)
    assert gx.graph is graph
    assert s in sg.ancestors([gx])
    assert nx.has_path(graph.to_networkx(), s.id, gx.id)
    assert [n for n in graph if n.op.name == "sigmoid"] == [s]  # no second sigmoid was made
    point = np.array([-1.0, 0.0, 2.0])
    sig = 1 / (1 + np.exp(-point))
    np.testing.assert_allclose(gx.eval({x: point}), sig * (1 - sig))


def test_derivative_nodes_record_where_they_came_from():
    with sg.Graph() as graph:
        x = sg.scalar("x")
        y = sg.tanh(x)
        gx = sg.grad(y, x)
    assert graph.origin(x) is None and graph.origin(y) is None
    origin = graph.origin(gx)
    assert origin.kind == "cotangent" and origin.order == 1 and origin.primal is y


def test_repeated_gradient_passes_build_nothing_new():
    with sg.Graph() as graph:
        x = sg.vector("x", 3)
        cost = (sg.tanh(x) ** 2).sum()
        first = sg.grad(cost, x)
        size = len(graph)
        again = sg.grad(cost, x)
    assert again is first
    assert len(graph) == size
