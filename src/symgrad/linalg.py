"""``sg.linalg``: NumPy's ``np.linalg`` names (and SciPy's ``solve_triangular``), differentiable.

The ops live in :mod:`symgrad.ops.decompositions`, which documents their
derivatives and where those do not exist.

Examples
--------
>>> import symgrad as sg
>>> a = sg.matrix("a", 2, 2)
>>> sg.grad(sg.linalg.det(a), a).eval({"a": [[1.0, 2.0], [3.0, 4.0]]})
array([[ 4., -3.],
       [-2.,  1.]])
"""

from .ops.decompositions import (cholesky, det, eigh, eigvalsh, inv, norm, pinv, qr, slogdet, solve,
                                 solve_triangular, svd)

__all__ = ["solve", "inv", "det", "slogdet", "cholesky", "solve_triangular", "eigh", "eigvalsh", "svd", "qr",
           "norm", "pinv"]
