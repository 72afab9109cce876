"""The README's Python snippets run, in order, in one namespace (so the README stays true)."""

import re
from pathlib import Path

import numpy as np

import symgrad as sg

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        sg.reset_default_graph()
        exec(compile(block, str(README), "exec"), {"sg": sg, "np": np})
    printed = capsys.readouterr().out
    assert "array(-12.)" in printed and "check_grad ok" in printed


def test_readme_listing_is_what_listing_prints():
    text = README.read_text(encoding="utf-8")
    shown = text.split("print(sg.listing(sg.grad(f, w)))\n```\n\n```\n", 1)[1].split("```", 1)[0].strip()
    with sg.Graph():
        x, w = sg.scalar("x"), sg.scalar("w")
        f = sg.sigmoid(w * x)
        assert sg.listing(sg.grad(f, w)) == shown
