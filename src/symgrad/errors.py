"""The exceptions symgrad raises.

Every error a user can cause derives from :class:`Error`, so ``except
sg.Error`` catches them all. Each subclass also derives from the built-in
exception a Python programmer would expect (a shape problem is a
``ValueError``, a dtype problem a ``TypeError``), so existing handlers keep
working.

    Error
    ├── GraphError      nodes of two graphs, a placeholder name reused (ValueError)
    ├── ShapeError      shapes, axes, indices that do not fit an op; a bad reshape (ValueError)
    │   └── IndexingError   an index out of range, too many indices (also IndexError, as in NumPy)
    ├── DTypeError      dtypes that do not fit an op; mixed float widths; unknown dtypes (TypeError)
    ├── FeedError       a missing, unknown, ill-shaped or ill-typed feed; wrong arity (ValueError)
    ├── GradientError   disconnected or undefined gradients, non-scalar cost, integer
    │                   targets, a cotangent/tangent/vector of the wrong dtype (ValueError)
    ├── RuleError       an op broke the op contract: a rule returned an array, a node of
    │                   the wrong shape or dtype, rules not one per input, a forward whose
    │                   result disagrees with the shape rule (TypeError)
    ├── GradCheckError  check_grad found a derivative that disagrees (AssertionError)
    ├── NonFiniteError  check_finite=True met a NaN or Inf (FloatingPointError)
    ├── IntegerOverflowError  an integer (a feed, a Python int operand) out of its dtype's
    │                   range, where NumPy 2 raises OverflowError (OverflowError)
    ├── BackendError    backend=: an op the array library cannot run, a library not
    │                   installed, float64 it would narrow (NotImplementedError)
    └── FormatError     sg.load met a malformed, truncated or hostile file; sg.save met
                        a graph the file format cannot hold (ValueError)

Passing a Python object where a node is required (``sg.grad(3.0, x)``) or
asking for the truth value of a node (``if x > 0:``) raises a plain
``TypeError``: these are mistakes in the calling code, not in the graph.
An exception raised inside an op's NumPy forward while evaluating carries a
note naming the node and its inputs' shapes and ranges.

Examples
--------
>>> import symgrad as sg
>>> try:
...     sg.vector("a", 3) + sg.vector("b", 4)
... except sg.ShapeError as err:
...     print(err)
add: shapes do not broadcast: placeholder 'a' f64[3] and placeholder 'b' f64[4] (axis -1)
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error symgrad raises on bad input."""


class GraphError(Error, ValueError):
    """A graph was misused: nodes of two graphs combined, a name reused."""


class ShapeError(Error, ValueError):
    """An op was given operands whose shapes it cannot accept."""


class IndexingError(ShapeError, IndexError):
    """An index does not fit the node it indexes: out of range, or too many indices.

    It is also an ``IndexError``, as NumPy raises, so ``except IndexError`` works.
    """


class DTypeError(Error, TypeError):
    """An op was given operands whose dtypes it cannot accept."""


class FeedError(Error, ValueError):
    """A value fed to a placeholder is missing, unknown or of the wrong kind."""


class GradientError(Error, ValueError):
    """A derivative was asked for that does not exist or is not defined."""


class RuleError(Error, TypeError):
    """An op broke the op contract: a rule returned something other than what it must."""


class GradCheckError(Error, AssertionError):
    """``check_grad`` found a derivative that disagrees with finite differences."""


class NonFiniteError(Error, FloatingPointError):
    """With ``check_finite=True``, a node produced a NaN or an infinity."""


class FormatError(Error, ValueError):
    """A saved graph file is malformed, truncated, of another version or unsafe to load."""


class IntegerOverflowError(Error, OverflowError):
    """An integer does not fit the integer dtype it must take (a feed of 300 for an int8
    placeholder, ``x_int8 + 300``): NumPy 2 raises OverflowError there, and symgrad never
    wraps it silently."""


class BackendError(Error, NotImplementedError):
    """An array library (``backend=``) cannot run a graph: an op it has no spelling for,
    a library that is not installed, or float64 where the library computes float32."""
