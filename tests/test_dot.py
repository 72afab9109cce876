"""Graphviz export: every drawing renders (Graphviz's dot, else graphviz-pure), values and gradients land on the right wires."""

import collections
import html
import os
import re
import shutil
import struct
import subprocess
import sysconfig
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

import symgrad as sg
from example_modules import load_example
from symgrad.format import value_text

draw_circuit = load_example("draw_circuit")

SVG = "{http://www.w3.org/2000/svg}"
# Printed when text widths are estimated without a font library (graphviz-pure; dot without
# pango) and a label has non-ASCII text: a note about the layout, not about the DOT.
FONT_WIDTH_WARNING = re.compile(
    r"Warning: (Warning: )?no value for width of non-ASCII character \d+\. "
    r"Falling back to width of space character\n")


def graphviz_pure() -> str:
    """Where graphviz-pure is: on PATH or beside this Python (the test extra installs it)."""
    program = shutil.which("graphviz-pure") or shutil.which("graphviz-pure", path=sysconfig.get_path("scripts"))
    assert program, "graphviz-pure is not installed: pip install -e '.[test]' brings it"
    return program


def renderers() -> list[str]:
    """The programs installed, the one sg.render prefers first: Graphviz's dot, graphviz-pure."""
    return [program for program in (shutil.which("dot"), graphviz_pure()) if program]


def run_dot(text: str, format: str = "svg", program: str | None = None) -> bytes:
    """Draw ``text`` with ``program`` (default: the one sg.render prefers); fail on any error or warning."""
    program = program or renderers()[0]
    done = subprocess.run([program, f"-T{format}"], input=text.encode("utf-8"), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    stderr = FONT_WIDTH_WARNING.sub("", done.stderr.decode())
    assert "Error" not in stderr and "Warning" not in stderr, stderr
    return done.stdout


def require_real_dot() -> None:
    """Skip without Graphviz's dot, unless SYMGRAD_REQUIRE_DOT is set (.ci/run installs dot and sets it)."""
    if shutil.which("dot"):
        return
    if os.environ.get("SYMGRAD_REQUIRE_DOT", "") not in ("", "0"):
        pytest.fail("SYMGRAD_REQUIRE_DOT is set but Graphviz's dot is not on PATH (apt-get install graphviz)")
    pytest.skip("Graphviz's dot is not installed (CI installs it and sets SYMGRAD_REQUIRE_DOT=1)")


def hide_programs(monkeypatch, *names: str) -> None:
    """Make ``shutil.which`` miss ``names``, as on a machine without them."""
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in names else which(name, *a, **k))


def svg_texts(svg: bytes) -> list[str]:
    """The texts an SVG draws; it must parse as XML with an ``<svg>`` root."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [e.text.strip() for e in root.iter(f"{SVG}text") if e.text and e.text.strip()]


def svg_width(svg: bytes) -> float:
    return float(ET.fromstring(svg).get("viewBox").split()[2])  # in points


def label_texts(text: str) -> list[str]:
    """The texts of the HTML-like labels in DOT text (where '<' and '>' only open and close tags)."""
    texts = []
    for match in re.finditer(r"label=<", text):
        start = end = match.end()
        depth = 1
        while depth:
            depth += {"<": 1, ">": -1}.get(text[end], 0)
            end += 1
        texts += [html.unescape(part).strip() for part in re.split(r"<[^>]*>", text[start:end - 1])]
    return [t for t in texts if t]


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG whose chunks check out: CRCs, IHDR first, IEND last, all pixel rows there."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + data)
        chunks.append((kind, data))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    pixels = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    assert interlace == 1 or len(pixels) == height * (1 + (width * channels * depth + 7) // 8)
    return width, height


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
        texts = [sg.to_dot(cost), sg.to_dot(cost, feeds=feeds, gradients=True)]
        targets = [n for n in sg.ancestors([cost]) if n.op.name == "placeholder" and n.dtype.kind == "f"]
        grads = sg.grad(cost, targets)
        second = sg.grad(sg.sum(grads[0] * grads[0]), targets[0], disconnected="zero")  # a second pass
        texts += [sg.to_dot(grads + [second], feeds=feeds, clusters=True), sg.to_dot(graph)]
    for program in renderers():
        for text in texts:
            # every label's text is drawn, and nothing else
            drawn = svg_texts(run_dot(text, program=program))
            assert collections.Counter(drawn) == collections.Counter(label_texts(text)), program


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
    drawn = svg_texts(run_dot(text))
    assert "<b>&amp;</b>" in drawn  # the name comes through as text, not markup
    for name in ['say "hi"', "back\\slash\\", "{braces}", "λ∂x 😀", "]]>", "-- <!-- x -->", "\\N \\G \\l"]:
        assert name in drawn
    assert "new" in drawn and "line" in drawn
    assert "ctl\\u0000\\u0001\\u001b\\u007f" in drawn  # unprintable characters drawn as escapes


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
        svg = sg.render(f, feeds=feeds)
        png = sg.render(f, tmp_path / "c.png", format="png", feeds=feeds)
        drawing = sg.draw(f, feeds=feeds, gradients=True)
    assert (tmp_path / "c.png").read_bytes() == png
    width, height = png_size(png)
    assert abs(width - svg_width(svg) * 96 / 72) <= 2  # the same drawing, at 96 dpi
    assert "-20" in svg_texts(svg) and "-8" not in svg_texts(svg)
    assert "-8" in svg_texts(drawing._repr_svg_().encode("utf-8"))  # df/dx = 2y
    assert repr(drawing) == f"<Drawing: {str(drawing).count(chr(10))} lines of DOT>"
    drawing.save(tmp_path / "c.gv")
    assert (tmp_path / "c.gv").read_text(encoding="utf-8") == str(drawing)
    drawing.save(tmp_path / "c.svg")
    assert "-8" in svg_texts((tmp_path / "c.svg").read_bytes())


def test_real_dot_is_preferred_and_draws_pdf(tmp_path):
    require_real_dot()
    with sg.Graph():
        f, feeds = max_circuit()
        svg = sg.render(f, feeds=feeds)
        pdf = sg.render(f, tmp_path / "c.pdf", format="pdf", feeds=feeds)
    assert b"(graphviz-pure)" not in svg and "-20" in svg_texts(svg)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert (tmp_path / "c.pdf").read_bytes() == pdf


def test_without_dot_graphviz_pure_draws_svg_and_png(monkeypatch, tmp_path):
    hide_programs(monkeypatch, "dot")
    with sg.Graph():
        f, feeds = max_circuit()
        svg = sg.render(f, feeds=feeds, gradients=True)
        png = sg.render(f, format="png", feeds=feeds, gradients=True)
        drawing = sg.draw(f, feeds=feeds, gradients=True)
    assert b"(graphviz-pure)" in svg  # its generator comment
    assert collections.Counter(svg_texts(svg)) == collections.Counter(label_texts(str(drawing)))
    assert abs(png_size(png)[0] - svg_width(svg) * 96 / 72) <= 2
    assert drawing._repr_svg_().encode("utf-8") == svg
    assert repr(drawing) == f"<Drawing: {str(drawing).count(chr(10))} lines of DOT>"
    drawing.save(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes() == png


def test_graphviz_pure_is_found_beside_python_when_its_venv_is_not_activated(monkeypatch, tmp_path):
    # A notebook kernel started as /path/to/venv/bin/python has no venv/bin on PATH.
    scripts = tmp_path / "venv-bin"
    scripts.mkdir()
    (scripts / "graphviz-pure").symlink_to(graphviz_pure())
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot, no graphviz-pure
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(scripts))
    with sg.Graph():
        x = sg.scalar("x")
        svg = sg.render(sg.sin(x))
    assert b"(graphviz-pure)" in svg and "sin" in svg_texts(svg)


def test_pdf_without_dot_names_graphviz(monkeypatch, tmp_path):
    hide_programs(monkeypatch, "dot")
    with sg.Graph():
        f, _ = max_circuit()
        with pytest.raises(FileNotFoundError, match=r"PDF needs Graphviz's 'dot'.*apt-get install graphviz"):
            sg.render(f, tmp_path / "c.pdf", format="pdf")
        with pytest.raises(FileNotFoundError, match=r"graphviz-pure draws only SVG and PNG"):
            sg.draw(f).save(tmp_path / "c.pdf")
    assert not (tmp_path / "c.pdf").exists()


def test_without_dot_or_graphviz_pure_the_error_and_the_notebook_say_what_to_install(monkeypatch, tmp_path):
    hide_programs(monkeypatch, "dot", "graphviz-pure")
    with sg.Graph():
        f, _ = max_circuit()
        for format in ("svg", "png"):
            with pytest.raises(FileNotFoundError,
                               match=r"apt-get install graphviz.*pip install 'symgrad\[draw\]'"):
                sg.render(f, format=format)
        with pytest.raises(FileNotFoundError, match=r"PDF needs Graphviz's 'dot'"):
            sg.render(f, format="pdf")
        drawing = sg.draw(f)
    assert drawing._repr_svg_() is None  # the notebook shows the text form instead:
    assert repr(drawing) == (f"<Drawing: {str(drawing).count(chr(10))} lines of DOT; "
                             "to see it, apt-get install graphviz or pip install 'symgrad[draw]'>")
    drawing.save(tmp_path / "c.gv")  # the DOT text needs no program
    assert (tmp_path / "c.gv").read_text(encoding="utf-8") == str(drawing)


def test_bad_options():
    with sg.Graph():
        f, feeds = max_circuit()
        with pytest.raises(ValueError, match="gradients=True needs feeds"):
            sg.to_dot(f, gradients=True)
        with pytest.raises(ValueError, match="format must be 'svg', 'png' or 'pdf', not 'jpeg'"):
            sg.render(f, format="jpeg")
        with pytest.raises(TypeError, match="expected nodes"):
            sg.to_dot([f, 3.0])


def test_draw_circuit_example_writes_both_drawings(tmp_path, capsys):
    draw_circuit.main(str(tmp_path))
    circuit = svg_texts((tmp_path / "circuit.svg").read_bytes())
    neuron = svg_texts((tmp_path / "neuron.svg").read_bytes())
    # f = -20, df/dx = -8; the neuron's f = 0.7311, dx = [0.3932, -0.5898]
    assert "-20" in circuit and "-8" in circuit
    assert "0.7311" in neuron and "[0.3932, -0.5898]" in neuron
    assert "wrote" in capsys.readouterr().out


def test_draw_circuit_example_writes_dot_text_without_a_renderer(monkeypatch, tmp_path, capsys):
    hide_programs(monkeypatch, "dot", "graphviz-pure")
    draw_circuit.main(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["circuit.dot", "neuron.dot"]
    assert (tmp_path / "circuit.dot").read_text(encoding="utf-8").startswith("digraph symgrad {")
    out = capsys.readouterr().out
    assert "wrote" in out and "pip install 'symgrad[draw]'" in out


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
