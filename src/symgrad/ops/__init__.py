"""Every op of symgrad, one module per family.

- :mod:`.core`: what an op is (``Op``), the no-derivative markers, shared shape rules
- :mod:`.elementwise`: arithmetic, math functions, activations, where, casts
- :mod:`.shape`: reshape, transpose, broadcasting, indexing, concatenate, stack
- :mod:`.reductions`: sum, mean, max, min, logsumexp, argmax
- :mod:`.linalg`: matmul, dot
- :mod:`.nn`: softmax, log_softmax, cross-entropies, mse
"""

from .core import CONSTANT, DISCONNECTED, PLACEHOLDER, UNDEFINED, ZERO, Op
from .elementwise import *  # noqa: F401,F403
from .elementwise import abs, pow, round  # shadowing builtins on purpose
from .linalg import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .reductions import max, min, sum
from .shape import *  # noqa: F401,F403
