"""The ``python`` backend: standard library only. This is the reference.

``loop``
    The lecture's explicit for-loop over lists: for each example, ``z`` by a loop over
    the features, then ``J +=``, ``dw[j] +=``, ``db +=``; divide by ``m`` at the end.
``vectorized``
    The lecture's whole-array steps, written as whole-list operations (comprehensions,
    ``sum``, ``map``, ``zip``): ``Z``, then ``A``, then ``dZ``, then ``dw`` and ``db``, each
    over all m examples before the next.

Both read ``X`` once into nested lists (``X.tolist()``), which costs a fraction of the
loop that follows. The cost is computed in the stable form
``L(z, y) = log(1 + e^z) - y*z``, evaluated as ``(max(z, 0) - y*z) + log1p(e^-|z|)`` (see
:func:`loss`): the lecture's ``-(y log a + (1-y) log(1-a))`` without
rounding ``a`` first (the slide's formula loses digits once ``1 - a`` is a few ulps and gives
``inf``/``nan`` once ``a`` rounds to 1.0, ``z >~ 36.74`` in float64;
see docs/course-api.md, "The cost").
"""

import math
from operator import mul, sub


def sigmoid(z: float) -> float:
    """Stable logistic function of a float: ``exp`` never sees a positive argument."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # stable form: exp(-z) would overflow for z < -709
    return e / (1.0 + e)


def loss(z: float, y: float) -> float:
    """Cross-entropy of one example from its ``z`` (stable form of the lecture's L(a, y)):
    ``log(1 + e^z) - y z`` without overflow, as ``(max(z, 0) - y z) + log1p(e^-|z|)``. The
    terms that cancel are grouped first: for y in {0, 1} the bracket is exactly 0 or
    ``|z|``, so ``y = 1``, large ``z`` keeps its digits (``max(z, 0) + log1p(e^-|z|) - y z``
    gives 0.0 at ``z = 35``, not 6.3e-16)."""
    return (max(z, 0.0) - y * z) + math.log1p(math.exp(-abs(z)))


def propagate_loop(w, b, X, Y):
    examples = X.T.tolist()  # m lists of n_x features: x(i) = examples[i]
    w = w.tolist()
    Y = Y.tolist()
    n_x, m = len(w), len(Y)
    J = 0.0
    dw = [0.0] * n_x
    db = 0.0
    for i in range(m):
        x = examples[i]
        z = b
        for j in range(n_x):
            z += w[j] * x[j]
        a = sigmoid(z)
        J += loss(z, Y[i])
        dz = a - Y[i]
        for j in range(n_x):
            dw[j] += x[j] * dz
        db += dz
    return [dwj / m for dwj in dw], db / m, J / m


def propagate_vectorized(w, b, X, Y):
    rows = X.tolist()  # n_x lists of m values: feature j over all examples
    examples = list(zip(*rows))
    w = w.tolist()
    Y = Y.tolist()
    m = len(Y)
    Z = [b + sum(map(mul, w, x)) for x in examples]  # Z = wᵀX + b
    A = list(map(sigmoid, Z))  # A = σ(Z)
    cost = sum(map(loss, Z, Y)) / m
    dZ = list(map(sub, A, Y))  # dZ = A - Y
    dw = [sum(map(mul, row, dZ)) / m for row in rows]  # dw = X dZᵀ / m
    db = sum(dZ) / m
    return dw, db, cost


KERNELS = {"loop": propagate_loop, "vectorized": propagate_vectorized}
