"""One module per backend, each with the two variants of DESIGN.md section 2.

Every backend module exposes ``KERNELS``, a dict mapping a variant name to a kernel
``propagate(w, b, X, Y) -> (dw, db, cost)`` (``w`` float64 of shape (n_x,), ``b`` float,
``X`` float64 or float32 of shape (n_x, m) in any memory order, ``Y`` float64 of shape
(m,) — already validated), and may expose ``OPTIMIZERS``, a dict mapping a variant to a
compiled training loop ``optimize(w, b, X, Y, num_iterations, learning_rate) ->
(w, b, dw, db, costs)``. :mod:`fastlr.registry` imports them lazily.
"""
