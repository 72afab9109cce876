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

from . import backend, linalg, ops, special
from .autodiff import grad, jvp, vjp
from .check import GradCheck, check_grad
from .compile import Function, function
from .derivatives import hessian, hvp, jacobian
from .drawing import Drawing, draw, render, to_dot, write_dot
from .errors import (BackendError, DTypeError, Error, FeedError, FormatError, GradCheckError, GradientError,
                     GraphError, IndexingError, IntegerOverflowError, NonFiniteError, RuleError, ShapeError)
from .evaluate import evaluate
from .ir import (DISCONNECTED, UNDEFINED, ZERO, Graph, Node, Op, Origin, ancestors, constant, get_default_graph,
                 matrix, placeholder, reset_default_graph, scalar, vector)
from .listing import listing
from .ops import (abs, add, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, argmax, argmin, broadcast_to,
                  cast, cbrt, clip, concatenate, cos, cosh, cross_entropy, div, dot, equal, exp, exp2, expand_dims,
                  expm1, floor, fmod, getitem, greater, greater_equal, hypot, leaky_relu, less, less_equal, log,
                  log10, log1p, log2, log_softmax, logaddexp, logsumexp, matmul, max, maximum, mean, min, minimum,
                  mod, mse, mul, neg, not_equal, one_hot, pow, power, prelu, reciprocal, relu, remainder, reshape,
                  round, sigmoid, sigmoid_cross_entropy, sign, sin, sinh, softmax, softplus, sqrt, square, stack,
                  stop_gradient, sub, sum, tan, tanh, transpose, true_divide, where, zeros_like)
from .ops import (array_split, atleast_1d, atleast_2d, atleast_3d, column_stack, flip, hstack, moveaxis, pad, ravel,
                  repeat, roll, split, squeeze, swapaxes, take, take_along_axis, tile, vstack)
from .ops import (all, any, argsort, average, count_nonzero, cumprod, cumsum, median, prod,  # noqa: A004
                  ptp, sort, std, var)
from .ops import diag, diagonal, einsum, eye, inner, kron, outer, tensordot, trace, tril, triu
from .serialize import Loaded, load, save
from .sparsity import hessian_sparsity, jacobian_sparsity, sparse_hessian, sparse_jacobian, SparseDerivative
from .vectorize import vectorize

__version__ = "0.1.0"
