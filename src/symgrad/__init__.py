"""symgrad: a symbol-to-symbol differentiation compiler for Python and NumPy.

Build an expression graph over NumPy arrays; ``grad``, ``vjp`` and ``jvp`` add
derivative nodes to the same graph, so derivatives can be evaluated, drawn and
differentiated again.

>>> import symgrad as sg
>>> x, y, z = sg.scalar("x"), sg.scalar("y"), sg.scalar("z")
>>> f = (x + y) * z
>>> sg.evaluate(sg.grad(f, [x, y, z]), {"x": -2.0, "y": 5.0, "z": -4.0})
[array(-4.), array(-4.), array(3.)]
"""

from . import ops
from .autodiff import grad, jvp, vjp
from .check import GradCheck, check_grad
from .derivatives import hessian, hvp, jacobian
from .drawing import Drawing, draw, render, to_dot, write_dot
from .errors import (DTypeError, Error, FeedError, FormatError, GradCheckError, GradientError, GraphError,
                     IndexingError, NonFiniteError, RuleError, ShapeError)
from .evaluate import Function, evaluate, function
from .graph import (Graph, Node, Origin, ancestors, constant, get_default_graph, matrix, placeholder,
                    reset_default_graph, scalar, vector)
from .listing import listing
from .serialize import Loaded, load, save
from .ops import DISCONNECTED, UNDEFINED, ZERO, Op
from .ops.elementwise import (abs, add, cast, clip, cos, div, equal, exp, expm1, floor, greater,
                              greater_equal, leaky_relu, less, less_equal, log, log1p, maximum,
                              minimum, mul, neg, not_equal, pow, prelu, relu, round, sigmoid, sign,
                              sin, softplus, sqrt, square, stop_gradient, sub, tan, tanh, where)
from .ops.linalg import dot, matmul
from .ops.nn import cross_entropy, log_softmax, mse, one_hot, sigmoid_cross_entropy, softmax
from .ops.reductions import argmax, argmin, logsumexp, max, mean, min, sum
from .ops.shape import (broadcast_to, concatenate, expand_dims, getitem, reshape, stack, transpose,
                        zeros_like)

__version__ = "0.1.0"
