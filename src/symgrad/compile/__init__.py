"""Compiling plans to Python/NumPy source (see :mod:`symgrad.compile.codegen`)."""

from .codegen import Compiled, compile_plan

__all__ = ["Compiled", "compile_plan"]
