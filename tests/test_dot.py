"""Graphviz export: real `dot` accepts every drawing, values and gradients land on the right wires."""

import re
import shutil
import subprocess

import numpy as np
import pytest

import symgrad as sg
from example_modules import load_example
from symgrad.format import value_text

draw_circuit = load_example("draw_circuit")


def run_dot(text: str, format: str = "svg") -> str:
    """Run the real Graphviz on ``text``; fail on any error or warning it prints."""
    assert shutil.which("dot"), "Graphviz's dot is needed for these tests (apt-get install graphviz)"
    done = subprocess.run(["dot", f"-T{format}"], input=text.encode("utf-8"), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Error" not in done.stderr and b"Warning" not in done.stderr, done.stderr.decode()
    return done.stdout.decode("utf-8")


def wire_label(text: str, source: sg.Node) -> list[str]:
    """The (value, gradient) texts on the first wire leaving ``source``."""
    match = re.search(rf'"n{source.id}" -> "\w+" \[label=<(.*?)>[,\]]', text)
    assert match, f"no labelled wire leaves n{source.id}"
    return re.findall(r'<FONT COLOR="#[0-9a-f]+">(.*?)</FONT>', match.group(1))


# --- the example graphs ------------------------------------------------------------------------

def max_circuit():
    x, y, z, w = (sg.scalar(n) for n in "xyzw")
    return 2.0 * (x * y + sg.maximum(z, w)), {x: 3.0, y: -4.0, z: 2.0, w: -1.0}


def add_multiply():
    x, y, z = sg.scalar("x"), sg.scalar("y"), sg.scalar("z")
    return (x + y) * z, {x: -2.0, y: 5.0, z: -4.0}


def neuron():
    w, x = sg.vector("w", 3), sg.vector("x", 2)
    return sg.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2]), {w: [2.0, -3.0, -3.0], x: [-1.0, -2.0]}


def staged():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = (x + sg.sigmoid(y)) * (1.0 / (sg.sigmoid(x) + (x + y) ** 2))
    return f, {x: 3.0, y: -4.0}


def xor_loss():
    params, _, loss = load_example("xor").build()
    rng = np.random.default_rng(0)
    return loss, {p: rng.normal(size=p.shape) for p in params}


def mlp_cost():
    X, y, W1, W2, _, cost = load_example("mlp").build(4, 5, 3, 1e-3)
    rng = np.random.default_rng(0)
    return cost, {X: rng.normal(size=(6, 4)), y: np.array([0, 1, 2, 0, 1, 2]),
                  W1: rng.normal(size=(4, 5)), W2: rng.normal(size=(5, 3))}


BUILDERS = [max_circuit, add_multiply, neuron, staged, xor_loss, mlp_cost,
            draw_circuit.max_circuit, draw_circuit.sigmoid_neuron]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: f"{b.__module__}.{b.__name__}")
def test_dot_accepts_every_example_plain_with_values_and_as_a_gradient_graph(build):
    with sg.Graph() as graph:
        cost, feeds = build()
        run_dot(sg.to_dot(cost))
        svg = run_dot(sg.to_dot(cost, feeds=feeds, gradients=True))
        assert "<svg" in svg
        targets = [n for n in sg.ancestors([cost]) if n.op.name == "placeholder" and n.dtype.kind == "f"]
        grads = sg.grad(cost, targets)
        second = sg.grad(sg.sum(grads[0] * grads[0]), targets[0], disconnected="zero")  # a second pass
        run_dot(sg.to_dot(grads + [second], feeds=feeds, clusters=True))
        run_dot(sg.to_dot(graph))


def test_max_circuit_shows_the_notes_values_and_gradients():
    with sg.Graph():
        f, feeds = max_circuit()
        x, y, z, w = (f.graph.placeholder_named(n) for n in "xyzw")
        text = sg.to_dot(f, feeds=feeds, gradients=True)
    # closed forms: f = 2(xy + max(z, w)); df/dx = 2y, df/dy = 2x, df/dz = 2 (z > w), df/dw = 0
    assert wire_label(text, x) == ["3", "-8"]
    assert wire_label(text, y) == ["-4", "6"]
    assert wire_label(text, z) == ["2", "2"]
    assert wire_label(text, w) == ["-1", "0"]
    assert wire_label(text, f) == ["-20", "1"]  # the output's own wire
    run_dot(text)


def test_neuron_values_and_gradients_match_numpy():
    with sg.Graph():
        f, feeds = neuron()
        w, x = f.graph.placeholder_named("w"), f.graph.placeholder_named("x")
        text = sg.to_dot(f, feeds=feeds, gradients=True)
    wv, xv = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    s = 1 / (1 + np.exp(-(wv[0] * xv[0] + wv[1] * xv[1] + wv[2])))
    dw = s * (1 - s) * np.array([xv[0], xv[1], 1.0])
    dx = s * (1 - s) * wv[:2]
    assert wire_label(text, f) == [value_text(s), "1"]
    assert wire_label(text, w) == [value_text(wv), value_text(dw)]
    assert wire_label(text, x) == [value_text(xv), value_text(dx)]
    assert value_text(s) == "0.7311" and value_text(dw) == "[-0.1966, -0.3932, 0.1966]"


def test_value_text_is_compact():
    assert value_text(np.float64(-12.0)) == "-12"
    assert value_text(np.float64(-0.0)) == "-0"
    assert value_text(np.array(np.nan)) == "nan"
    assert value_text(np.array([[1.0, 2.0], [3.0, 4.5]])) == "[[1, 2], [3, 4.5]]"
    assert value_text(np.arange(10.0).reshape(2, 5)) == "[0, 1, 2, ...] (2x5)"
    assert value_text(np.array(True)) == "True"
    assert value_text(np.zeros((0, 3))) == "[]"


HOSTILE = ['say "hi"', "back\\slash\\", "new\nline", "{braces}", "<b>&amp;</b>", "λ∂x 😀",
           "ctl\x00\x01\x1b\x7f", "lone\ud800", "]]>", "\\N \\G \\l", "-- <!-- x -->", "", " ", "é\u2028\u200b"]


@pytest.mark.parametrize("clusters", [False, True])
def test_hostile_names_give_valid_dot(clusters):
    with sg.Graph():
        xs = [sg.scalar(name or "empty") for name in HOSTILE]
        total = sum((sg.constant(2.0, name=name) * x for name, x in zip(HOSTILE, xs)), sg.constant(0.0))
        cost = sg.sin(total)
        gx = sg.grad(cost, xs[0])
        text = sg.to_dot([cost, gx], feeds={x: 0.5 for x in xs}, clusters=clusters)
    svg = run_dot(text)
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in svg  # the name comes through as text, not markup
    assert 'say &quot;hi&quot;' in svg or 'say "hi"' in svg
    assert "λ∂x 😀" in svg
    assert "\\u0000" in svg  # unprintable characters drawn as escapes


def test_golden_text_of_a_tiny_graph():
    with sg.Graph():
        x = sg.scalar("x")
        y = sg.sub(x, sg.constant(1.0))
        text = sg.to_dot(y)
    small = '<BR/><FONT POINT-SIZE="9" COLOR="#6b7280">f64[]</FONT>'
    index = 'labelfontsize=9, labeldistance=1.6, labelfontcolor="#6b7280"'
    assert text == (
        "digraph symgrad {\n"
        "  rankdir=LR;\n"
        '  node [fontname="Helvetica", fontsize=11];\n'
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];\n'
        f'  "n0" [label=<<B>x</B>{small}>, shape=box, style="rounded,filled", fillcolor="#dbeafe"];\n'
        f'  "n1" [label=<1{small}>, shape=box, style="filled", fillcolor="#f3f4f6"];\n'
        f'  "n2" [label=<sub{small}>, shape=ellipse, style="filled", fillcolor="#ffffff", peripheries=2];\n'
        f'  "n0" -> "n2" [headlabel=<0>, {index}];\n'
        f'  "n1" -> "n2" [headlabel=<1>, {index}];\n'
        "}\n")


def test_same_graph_same_text():
    texts = []
    for _ in range(2):
        with sg.Graph():
            f, feeds = neuron()
            g = sg.grad(f, f.graph.placeholder_named("w"))
            texts.append(sg.to_dot([f, g], feeds=feeds, clusters=True))
            assert sg.to_dot([f, g], feeds=feeds, clusters=True) == texts[-1]
    assert texts[0] == texts[1]


def test_derivative_nodes_are_coloured_by_pass_and_clustered():
    with sg.Graph():
        x = sg.scalar("x")
        d1 = sg.grad(sg.sin(x) * sg.exp(x), x)
        d2 = sg.grad(d1, x)
        graph = x.graph
        text = sg.to_dot(d2, clusters=True)
        orders = {graph.origin(n).order for n in sg.ancestors([d2]) if graph.origin(n)}
    assert orders == {1, 2}
    assert 'subgraph "cluster_pass1_cotangent"' in text and 'subgraph "cluster_pass2_cotangent"' in text
    assert 'fillcolor="#fbcfe8"' in text and 'fillcolor="#fde68a"' in text
    run_dot(text)


def test_ordered_inputs_are_numbered_and_commutative_ones_are_not():
    with sg.Graph():
        a, b = sg.matrix("a", 2, 2), sg.matrix("b", 2, 2)
        text = sg.to_dot([a @ b, a + b, a * b, sg.where(a > b, a, b)])
    assert text.count("headlabel=<0>") == 3  # matmul, greater, where
    assert text.count("headlabel=<2>") == 1  # where's third input


def test_whole_graph_draws_unused_nodes_too():
    with sg.Graph() as graph:
        x = sg.scalar("x")
        sg.sin(x)
        sg.cos(x)
        text = sg.to_dot(graph)
    assert "sin" in text and "cos" in text and text.count("peripheries=2") == 2


def test_ten_thousand_node_graph_exports_with_values():
    with sg.Graph():
        x = sg.scalar("x")
        y = x
        for k in range(5000):
            y = sg.sin(y) + x
        assert len(sg.ancestors([y])) > 10_000
        text = sg.to_dot(y, feeds={x: 0.1})
    assert text.count(" -> ") == 15_000 + 1


def test_render_png_svg_and_notebook_display(tmp_path):
    with sg.Graph():
        f, feeds = max_circuit()
        png = sg.render(f, tmp_path / "c.png", format="png", feeds=feeds)
        drawing = sg.draw(f, feeds=feeds, gradients=True)
    assert png.startswith(b"\x89PNG") and (tmp_path / "c.png").read_bytes() == png
    svg = drawing._repr_svg_()
    assert "<svg" in svg and ">&#45;8<" in svg  # Graphviz writes '-' as &#45; in SVG
    drawing.save(tmp_path / "c.gv")
    assert (tmp_path / "c.gv").read_text(encoding="utf-8") == str(drawing)


def test_missing_graphviz_is_named(monkeypatch):
    monkeypatch.setattr("symgrad.drawing.shutil.which", lambda name: None)
    with sg.Graph():
        f, _ = max_circuit()
        with pytest.raises(FileNotFoundError, match="'dot'.*apt-get install graphviz"):
            sg.render(f)
        assert sg.draw(f)._repr_svg_() is None


def test_bad_options():
    with sg.Graph():
        f, feeds = max_circuit()
        with pytest.raises(ValueError, match="gradients=True needs feeds"):
            sg.to_dot(f, gradients=True)
        with pytest.raises(ValueError, match="format"):
            sg.render(f, format="jpeg")
        with pytest.raises(TypeError, match="expected nodes"):
            sg.to_dot([f, 3.0])


def test_draw_circuit_example_writes_both_drawings(tmp_path, capsys):
    draw_circuit.main(str(tmp_path))
    circuit = (tmp_path / "circuit.svg").read_text(encoding="utf-8")
    neuron = (tmp_path / "neuron.svg").read_text(encoding="utf-8")
    # Graphviz writes '-' as &#45; in SVG text: f = -20, df/dx = -8; the neuron's f = 0.7311, dx1 = -0.5898
    assert ">&#45;20<" in circuit and ">&#45;8<" in circuit
    assert ">0.7311<" in neuron and "&#45;0.5898" in neuron
    assert "wrote" in capsys.readouterr().out


def test_gradients_reach_derivative_nodes_of_a_cost_built_from_a_gradient():
    with sg.Graph():
        x = sg.scalar("x")
        g = sg.grad(sg.sin(x) * x, x)
        cost = g * g
        text = sg.to_dot(cost, feeds={x: 0.8}, gradients=True)
    gv = np.cos(0.8) * 0.8 + np.sin(0.8)  # closed form of d(x sin x)/dx
    assert wire_label(text, g) == [value_text(gv), value_text(2 * gv)]
    assert wire_label(text, cost) == [value_text(gv * gv), "1"]
    run_dot(text)


def test_values_positional_as_in_the_design_contract():
    # DESIGN.md: sg.to_dot(outputs_or_graph, values=None). Feeds given there are evaluated.
    with sg.Graph():
        x = sg.scalar("x")
        f = sg.sin(x) * x
        assert sg.to_dot(f, {x: 0.5}) == sg.to_dot(f, feeds={x: 0.5})
        assert sg.to_dot(f, {"x": 0.5}, gradients=True) == sg.to_dot(f, feeds={x: 0.5}, gradients=True)
        computed = {f: np.array(12.25)}
        assert "12.25" in sg.to_dot(f, computed)
