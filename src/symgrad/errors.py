"""The exceptions symgrad raises.

Every error a user can cause derives from :class:`Error`, so ``except
sg.Error`` catches them all. Each subclass also derives from the built-in
exception a Python programmer would expect (a shape problem is a
``ValueError``, a dtype problem a ``TypeError``), so existing handlers keep
working.

    Error
    ├── GraphError      nodes of two graphs, duplicate placeholder names
    ├── ShapeError      shapes that do not fit an op (ValueError)
    ├── DTypeError      dtypes that do not fit an op (TypeError)
    ├── FeedError       a missing, unknown or ill-shaped feed (ValueError)
    ├── GradientError   disconnected or undefined gradients, non-scalar cost
    ├── RuleError       a custom op's rule broke the rule contract
    ├── GradCheckError  check_grad found a derivative that disagrees (AssertionError)
    └── NonFiniteError  check_finite=True met a NaN or Inf (FloatingPointError)
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error symgrad raises on bad input."""


class GraphError(Error, ValueError):
    """A graph was misused: nodes of two graphs combined, a name reused."""


class ShapeError(Error, ValueError):
    """An op was given operands whose shapes it cannot accept."""


class DTypeError(Error, TypeError):
    """An op was given operands whose dtypes it cannot accept."""


class FeedError(Error, ValueError):
    """A value fed to a placeholder is missing, unknown or of the wrong kind."""


class GradientError(Error, ValueError):
    """A derivative was asked for that does not exist or is not defined."""


class RuleError(Error, TypeError):
    """A differentiation rule returned something other than what it must."""


class GradCheckError(Error, AssertionError):
    """``check_grad`` found a derivative that disagrees with finite differences."""


class NonFiniteError(Error, FloatingPointError):
    """With ``check_finite=True``, a node produced a NaN or an infinity."""
