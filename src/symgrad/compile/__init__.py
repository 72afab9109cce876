"""Compiling graphs: the steps a function needs become straight-line NumPy source.

- :mod:`.steps`: the compiler's view of a graph (a schedule of steps), constant folding
- :mod:`.buffers`: which buffer each step writes into, and when variables die
- :mod:`.emit`: how each step is spelled, read from its op's facts
- :mod:`.codegen`: the source of the array and scalar (``math``) versions, exec'd once
- :mod:`.function`: ``sg.function`` and the :class:`Function` it returns; ``fn.source`` shows the code
"""

from .codegen import CompiledCode
from .function import Function, compile_outputs, function

__all__ = ["CompiledCode", "Function", "compile_outputs", "function"]
