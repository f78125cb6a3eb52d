# %% [markdown]
# # Logistic regression as a neural network — the lesson, runnable
#
# The lecture in its order: the computation graph of one example, its derivatives, the
# loop over examples by hand, one loop, no loop; a numerical check of the gradient; the
# cost in a form that survives float64; the lecture's own `np.dot` demo; then the course's
# cat classifier, and things to try.
#
# This file is a notebook in plain-Python form (`# %%` cells): run it with
# `python docs/lesson.py`, open it in VS Code or JupyterLab as a notebook, download it as
# an `.ipynb` from the documentation site (where it is executed when the site is built), or
# convert it with `pip install ".[lesson]"` and `jupytext --to notebook docs/lesson.py`
# (outputs are never committed). Exercises are marked **Exercise**: the cell holds a
# working answer — delete the marked line, write your own, and run the check under it. The
# course's data folder: `FASTLR_COURSE_DATA`, or `shared/data` beside the working folder or
# one of its parents.

# %%
import math
import os
import time
from pathlib import Path

import numpy as np

import fastlr

rng = np.random.default_rng(0)


def check(name, got, expected, tolerance=1e-9):
    """Print whether ``got`` matches ``expected``; stop the lesson if it does not."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    ok = got.shape == expected.shape and np.allclose(got, expected, rtol=tolerance,
                                                     atol=tolerance)
    print(f"{'ok ' if ok else 'WRONG'}  {name}")
    assert ok, f"{name}: got {got}, expected {expected}"


# %% [markdown]
# ## 1. The computation graph of one example
#
# `z = wᵀx + b` → `a = σ(z)` → `L(a, y) = −(y log a + (1 − y) log(1 − a))`. Two features,
# as on the slide: `z = w1 x1 + w2 x2 + b`.

# %%
def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


x1, x2, y = 1.0, 2.0, 1.0
w1, w2, b = 0.5, -0.25, 0.1
z = w1 * x1 + w2 * x2 + b
a = sigmoid(z)
L = -(y * math.log(a) + (1 - y) * math.log(1 - a))
print(f"z = {z:.4f}, a = {a:.4f}, L = {L:.4f}")

# %% [markdown]
# ## 2. Going backwards: `dz = a − y`, `dw = x dz`, `db = dz`
#
# `da = dL/da = −y/a + (1 − y)/(1 − a)` and `da/dz = a(1 − a)`, so
# `dz = da · a(1 − a) = a − y`. Then `dw1 = x1 dz`, `dw2 = x2 dz`, `db = dz`.
#
# **Exercise 1.** Write `dz` for one example.

# %%
def dz_of(a, y):
    return a - y  # <- your line: delete it and write dz from a and y


check("dz = a - y", dz_of(a, y), a - y)

# %% [markdown]
# The lecture checks a derivative by nudging: move `z` by 0.001 and see how much `L`
# moves. The ratio is the derivative (the lecture's "nudge by 0.001"; a nudge to both
# sides is twice as accurate).

# %%
def loss_of_z(z, y):
    a = sigmoid(z)
    return -(y * math.log(a) + (1 - y) * math.log(1 - a))


nudge = 0.001
numeric_dz = (loss_of_z(z + nudge, y) - loss_of_z(z - nudge, y)) / (2 * nudge)
print(f"dz = a - y = {a - y:.6f}; by nudging z by {nudge}: {numeric_dz:.6f}")
check("the nudge agrees with dz", numeric_dz, a - y, tolerance=1e-6)

# %% [markdown]
# ## 3. m examples, by hand: the loop
#
# The lecture's slide: `J = 0, dw1 = 0, dw2 = 0, db = 0`; for each example `i`: `z(i)`,
# `a(i)`, `J +=`, `dz(i)`, `dw1 += x1(i) dz(i)`, `dw2 += x2(i) dz(i)`, `db += dz(i)`;
# then divide by `m`. In the course's notation `X` is (n_x, m), one example per column;
# `Y` (1, m); `w` (n_x, 1).

# %%
m = 5
X = rng.standard_normal((2, m))
Y = (rng.random((1, m)) < 0.5).astype(float)
w = np.array([[0.5], [-0.25]])

J, dw1, dw2, db = 0.0, 0.0, 0.0, 0.0
for i in range(m):
    z_i = w[0, 0] * X[0, i] + w[1, 0] * X[1, i] + b
    a_i = sigmoid(z_i)
    J += -(Y[0, i] * math.log(a_i) + (1 - Y[0, i]) * math.log(1 - a_i))
    dz_i = a_i - Y[0, i]
    dw1 += X[0, i] * dz_i
    dw2 += X[1, i] * dz_i
    db += dz_i
J, dw1, dw2, db = J / m, dw1 / m, dw2 / m, db / m
print(f"J = {J:.6f}, dw = ({dw1:.6f}, {dw2:.6f}), db = {db:.6f}")

# fastlr's pure-Python reference computes the same thing
grads, cost = fastlr.propagate(w, b, X, Y, backend="python", variant="loop")
check("the loop by hand = fastlr's reference", [J, dw1, dw2, db],
      [cost, grads["dw"][0, 0], grads["dw"][1, 0], grads["db"]])

# %% [markdown]
# ## 4. One loop: the features as a vector
#
# Replace the features' loop by `z = wᵀx(i) + b` and `dw += x(i) dz(i)`.
#
# **Exercise 2.** Fill in the two vector lines.

# %%
J1, dw, db1 = 0.0, np.zeros((2, 1)), 0.0
for i in range(m):
    x = X[:, i:i + 1]                      # x(i), shape (2, 1)
    z_i = float(np.dot(w.T, x)[0, 0]) + b  # <- your line: z(i) = wᵀx(i) + b
    a_i = sigmoid(z_i)
    J1 += -(Y[0, i] * math.log(a_i) + (1 - Y[0, i]) * math.log(1 - a_i))
    dz_i = a_i - Y[0, i]
    dw += x * dz_i                         # <- your line: dw += x(i) dz(i)
    db1 += dz_i
check("one loop = two loops", [J1 / m, *(dw[:, 0] / m), db1 / m], [J, dw1, dw2, db])

# %% [markdown]
# ## 5. No loop: whole arrays
#
# `Z = wᵀX + b`, `A = σ(Z)`, `dZ = A − Y`, `dw = X dZᵀ / m`, `db = ΣdZ / m`.
#
# **Exercise 3.** Write `dw` and `db` without a loop.

# %%
Z = np.dot(w.T, X) + b
A = 1.0 / (1.0 + np.exp(-Z))
dZ = A - Y
dw_vec = np.dot(X, dZ.T) / m  # <- your line
db_vec = np.sum(dZ) / m       # <- your line
check("no loop = the loop", [*dw_vec[:, 0], db_vec], [dw1, dw2, db])

# %% [markdown]
# ## 6. A numerical check of the whole gradient
#
# Nudge each weight by 0.001 to both sides and compare the cost's change with `dw`.

# %%
def cost_of(w, b):
    Z = np.dot(w.T, X) + b
    A = 1.0 / (1.0 + np.exp(-Z))
    return float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))


numeric = []
for j in range(w.shape[0]):
    e = np.zeros_like(w)
    e[j, 0] = nudge
    numeric.append((cost_of(w + e, b) - cost_of(w - e, b)) / (2 * nudge))
print("dw by nudging:", np.round(numeric, 6), " dw by the formula:", np.round(dw_vec[:, 0], 6))
check("gradient check", numeric, dw_vec[:, 0], tolerance=1e-6)

# %% [markdown]
# ## 7. The cost in float64: the slide's formula, and a form that survives
#
# `a = σ(z)` is a float64. Once `z ≳ 36.74`, `e^−z` is below half an ulp of 1 and `a`
# rounds to exactly 1.0: `log(1 − a) = log 0 = −inf`. Before that, `1 − a` has lost its
# digits. Derivation of the stable form: `log a = −log(1 + e^−z)`,
# `log(1 − a) = −z − log(1 + e^−z)`, so
# `L = (1 − y) z + log(1 + e^−z) = log(1 + e^z) − y z`, and
# `log(1 + e^z) = max(z, 0) + log1p(e^−|z|)` never exponentiates a positive number.

# %%
def slide(z, y):
    a = 1.0 / (1.0 + np.exp(-np.float64(z)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-(y * np.log(a) + (1 - y) * np.log(1 - a)))


def stable(z, y):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z


for z_, y_ in [(2.0, 0), (30.0, 0), (36.0, 0), (37.0, 0), (37.0, 1)]:
    print(f"z = {z_:5.1f}, y = {y_}: slide {slide(z_, y_):>9.4f}   stable {stable(z_, y_):.4f}")
check("the slide at z = 30 has lost digits", round(slide(30.0, 0), 3), 30.001)
check("the stable form at z = 30", round(stable(30.0, 0), 3), 30.0)

# %% [markdown]
# ## 8. The lecture's demo: `np.dot` against a Python loop on 10⁶ numbers
#
# The lecture times `c += a[i] * b[i]` over two NumPy arrays of a million numbers against
# `np.dot(a, b)`, and finds about 300× on its machine. Here, with the same loop over NumPy
# arrays and over Python lists (each element of an ndarray is boxed into a new NumPy
# scalar when it is read, which a list does not need):

# %%
def best_of(function, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


u, v = rng.random(1_000_000), rng.random(1_000_000)
u_list, v_list = u.tolist(), v.tolist()


def loop_over(a, b):
    c = 0.0
    for i in range(len(a)):
        c += a[i] * b[i]
    return c


ndarray_seconds = best_of(lambda: loop_over(u, v), repeats=1)
list_seconds = best_of(lambda: loop_over(u_list, v_list))
dot_seconds = best_of(lambda: np.dot(u, v))
print(f"np.dot {dot_seconds * 1e3:.3f} ms; the loop over NumPy arrays (the lecture's) "
      f"{ndarray_seconds * 1e3:.0f} ms: {ndarray_seconds / dot_seconds:.0f}×;")
print(f"the loop over lists {list_seconds * 1e3:.0f} ms: {list_seconds / dot_seconds:.0f}×")
print("The cat data's propagate shows the same effect at scale: python -m fastlr.tutorial")
print("(Part 1: two loops → one loop → no loop). How the time grows with the size of X, for")
print("every implementation: docs/scaling.png (fastlr bench --scaling).")

# %% [markdown]
# ## 9. The course's cat classifier, and things to try
#
# Zeros, 2000 iterations of gradient descent at learning rate 0.005: the course's model
# (train 99.04 %, test 70 %), trained by fastlr's fastest implementation here.

# %%
# FASTLR_COURSE_DATA, else shared/data beside the working folder or one of its parents (a
# notebook has no __file__; `python docs/lesson.py` from the project's root finds it too)
here = Path.cwd()
folder = Path(os.environ.get("FASTLR_COURSE_DATA") or next(
    (p / "shared" / "data" for p in [here, *here.parents]
     if (p / "shared" / "data" / "train_catvnoncat.h5").is_file()), here / "shared" / "data"))
if (folder / "train_catvnoncat.h5").is_file():
    from fastlr import datasets

    train_x, train_y, test_x, test_y, classes = datasets.load_catvnoncat(folder)
    result = fastlr.model(train_x, train_y, test_x, test_y, num_iterations=2000,
                          learning_rate=0.005)
    print(f"train {result['train_accuracy']:.2f} %, test {result['test_accuracy']:.2f} %")
    check("the course's model", [result["train_accuracy"], result["test_accuracy"]],
          [99.04306220095694, 70.0], tolerance=1e-9)
    # Try this (expected results, published with the course's data):
    #   learning rates with 1500 iterations: 0.01 -> 99.52 % / 68.0 %;
    #   0.001 -> 88.995 % / 64.0 %; 0.0001 -> 68.42 % / 36.0 %
    #   float32 X (datasets.load_catvnoncat(folder, dtype=np.float32)): the same accuracies,
    #   about half the time per iteration (half the bytes)
    #   C order (np.ascontiguousarray(train_x)): the same numbers; the time changes with
    #   the layout (fastlr bench --order C measures it on your machine)
    #   a larger problem (fastlr.datasets.make_problem(1000, 100_000)): vectorizing pays more
    for rate, expected in [(0.01, (99.52, 68.0)), (0.001, (88.995, 64.0)),
                           (0.0001, (68.42, 36.0))]:
        r = fastlr.model(train_x, train_y, test_x, test_y, num_iterations=1500,
                         learning_rate=rate)
        print(f"learning rate {rate}: train {r['train_accuracy']:.3f} %, test "
              f"{r['test_accuracy']:.1f} %")
        check(f"learning rate {rate}", [r["train_accuracy"], r["test_accuracy"]], expected,
              tolerance=5e-3)
    c_order = fastlr.model(np.ascontiguousarray(train_x), train_y, test_x, test_y,
                           num_iterations=2000, learning_rate=0.005)
    check("C order: the same model", [c_order["train_accuracy"], c_order["test_accuracy"]],
          [99.04306220095694, 70.0], tolerance=1e-9)
    single = datasets.load_catvnoncat(folder, dtype=np.float32)
    r = fastlr.model(single[0], single[1], single[2], single[3], num_iterations=2000,
                     learning_rate=0.005)
    check("float32: the same model", [r["train_accuracy"], r["test_accuracy"]],
          [99.04306220095694, 70.0], tolerance=1e-9)
else:
    print(f"The course's data are not in {folder}: set FASTLR_COURSE_DATA to their folder.")
