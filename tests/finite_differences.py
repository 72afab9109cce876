"""Central differences: the derivative oracle that knows nothing of symgrad's rules."""

import numpy as np

import symgrad as sg


def along(f, values, directions, eps):
    """(f(x + eps v) - f(x - eps v)) / (2 eps) for ``f`` taking the arrays of ``values`` positionally.

    ``f`` returns an array, or a list of arrays that are differenced one by one.
    """
    plus = f(*[x + eps * v for x, v in zip(values, directions)])
    minus = f(*[x - eps * v for x, v in zip(values, directions)])
    if isinstance(plus, list):
        return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    return (plus - minus) / (2 * eps)


def fd_jacobian(y, x, value, eps=1e-6):
    """d y / d x at ``value``, shaped ``y.shape + x.shape``: one central difference per element of x."""
    f = sg.function([x], y)
    columns = [along(f, [value], [basis.reshape(value.shape)], eps) for basis in np.eye(value.size)]
    return np.stack(columns, axis=-1).reshape(y.shape + value.shape)
