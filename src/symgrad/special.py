"""scipy.special's functions, with derivatives of every order: ``sg.special.erf`` and the rest.

SciPy computes them; it is the optional extra ``symgrad[special]`` (``pip install
'symgrad[special]'``). symgrad imports without it; building one of these nodes without SciPy
raises an ImportError that says so. The ops themselves live in :mod:`symgrad.ops.special`.

Examples
--------
>>> import symgrad as sg
>>> x = sg.scalar("x")
>>> sg.grad(sg.special.gammaln(x), x).eval({x: 1.0})  # digamma(1)
array(-0.57721566)
"""

from .ops.special import (digamma, erf, erfc, erfcx, erfinv, expit, gammaln, log_ndtr, logit, ndtr, polygamma,
                          xlog1py, xlogy)

__all__ = ["erf", "erfc", "erfcx", "erfinv", "ndtr", "log_ndtr", "gammaln", "digamma", "polygamma", "xlogy",
           "xlog1py", "logit", "expit"]
