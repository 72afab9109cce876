"""Arithmetic: neg, add, sub, mul, div (pow lives with the math functions).

Each op's chain rule serves both directions (see :mod:`._define`). The
functions apply only exact rewrites, which keep values bit for bit, NaN and
Inf included: ``-(-x)`` is ``x``, ``a + (-b)`` is ``a - b`` (IEEE defines
subtraction so), ``b * a`` is the existing ``a * b`` (``+`` and ``*``
commute exactly), ``1 * x`` is ``x``. Rewrites that round differently apply
only inside derivative passes (see :mod:`symgrad.rewrite`).

Examples
--------
>>> import symgrad as sg
>>> a, b = sg.scalar("a"), sg.scalar("b")
>>> (a + -b).op.name          # a + (-b) is a - b, bit for bit
'sub'
>>> b * a is a * b            # one node for both orders
True
"""

from __future__ import annotations

import numpy as np

from ..ir import Node, as_nodes
from ..types import broadcast_shapes, is_float
from ._define import BILINEAR, ELEMENTWISE_LINEAR, QUOTIENT, elementwise, is_constant

# --- neg ------------------------------------------------------------------------------------

NEG = elementwise("neg", np.negative, (lambda d, out, x: neg(d),),
                  operator="-{}", math="-{}", sparsity=ELEMENTWISE_LINEAR)


def neg(x) -> Node:
    """-x, elementwise.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.neg(sg.constant([1.0, -2.0])).eval()
    array([-1.,  2.])
    """
    (x,) = as_nodes(x, op="neg")
    if x.op is NEG:  # -(-x) is x, exactly
        return x.inputs[0]
    return NEG(x)


# --- add ------------------------------------------------------------------------------------

ADD = elementwise("add", np.add, (lambda d, out, x, y: d, lambda d, out, x, y: d),
                  operator="{} + {}", math="{} + {}", sparsity=ELEMENTWISE_LINEAR)


def add(x, y) -> Node:
    """x + y with NumPy broadcasting.

    Examples
    --------
    >>> import symgrad as sg
    >>> (sg.constant(2.0) + 3.0).eval()
    array(5.)
    """
    x, y = as_nodes(x, y, op="add")
    if y.op is NEG:  # x + (-b) is x - b, exactly
        return sub(x, y.inputs[0])
    if x.op is NEG:
        return sub(y, x.inputs[0])
    found = x.graph.find(ADD, (y, x))
    return found if found is not None else ADD(x, y)


# --- sub ------------------------------------------------------------------------------------

SUB = elementwise("sub", np.subtract, (lambda d, out, x, y: d, lambda d, out, x, y: neg(d)),
                  operator="{} - {}", math="{} - {}", sparsity=ELEMENTWISE_LINEAR)


def sub(x, y) -> Node:
    """x - y with NumPy broadcasting.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.sub(5.0, sg.constant(3.0)).eval()
    array(2.)
    """
    x, y = as_nodes(x, y, op="sub")
    if y.op is NEG:  # x - (-b) is x + b, exactly
        return add(x, y.inputs[0])
    return SUB(x, y)


# --- mul ------------------------------------------------------------------------------------

MUL = elementwise("mul", np.multiply, (lambda d, out, x, y: d * y, lambda d, out, x, y: d * x),
                  operator="{} * {}", math="{} * {}", sparsity=BILINEAR)


def mul(x, y) -> Node:
    """x * y with NumPy broadcasting; multiplying by an exact 1 of the same shape is skipped.

    Examples
    --------
    >>> import symgrad as sg
    >>> (sg.constant([1.0, 2.0]) * 3.0).eval()
    array([3., 6.])
    """
    x, y = as_nodes(x, y, op="mul")
    for one, other in ((x, y), (y, x)):
        if one.value is None or other.dtype != one.dtype:
            continue
        unit = is_constant(one, 1)  # the shapes are compared only then: most constants are not ±1
        if (unit or (is_constant(one, -1) and is_float(other.dtype))) \
                and other.shape == broadcast_shapes("mul", [x.shape, y.shape], (x, y)):
            return other if unit else neg(other)  # negation is exact, like * -1
    if x.op is NEG and y.op is NEG:  # (-a)(-b) is ab, exactly
        return mul(x.inputs[0], y.inputs[0])
    found = x.graph.find(MUL, (y, x))
    return found if found is not None else MUL(x, y)


# --- div ------------------------------------------------------------------------------------

DIV = elementwise("div", np.true_divide, (lambda d, out, x, y: d / y, lambda d, out, x, y: neg(d * out / y)),
                  operator="{} / {}", math="{} / {}", sparsity=QUOTIENT)


def div(x, y) -> Node:
    """x / y (true division) with NumPy broadcasting.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.div(1.0, sg.constant(4.0)).eval()
    array(0.25)
    """
    return DIV(x, y)


__all__ = ["NEG", "ADD", "SUB", "MUL", "DIV", "neg", "add", "sub", "mul", "div"]
