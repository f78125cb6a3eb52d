# %% [markdown]
# # Logistic regression as a neural network — the lesson, runnable
#
# The lecture in its order: the notation; the model `ŷ = σ(wᵀx + b)`; the cost, and why not
# the squared error; gradient descent and derivatives; the computation graph and the chain
# rule; `dz = a − y`; the loop over `m` examples with the update `w := w − α dw`, and the loop
# over iterations. Then vectorization: the lecture's `np.dot` demo, one loop, no loop; the
# course's cat classifier and its learning curves. Extras: gradient checking, and the cost
# in float64.
#
# This file is a notebook in plain-Python form (`# %%` cells): run it with
# `python docs/lesson.py`, open it in VS Code or JupyterLab as a notebook, or convert it
# (`pip install "fastlr-vectorized[lesson]"`, then
# `python -m fastlr.lesson teacher docs/lesson.py -o lesson.ipynb`). Each **Exercise** is a
# function. In the teacher's version, `docs/lesson.py`, it holds the answer, every answer
# line marked `# answer`; the student version (`python -m fastlr.lesson student docs/lesson.py
# -o lesson-student.ipynb`) has `...` in their place, and stops at the first exercise not
# answered yet. The check under each exercise compares the answer with a value computed
# another way: a finite difference, fastlr's reference implementation, a published number.
#
# The data: the course's cat / non-cat images from the folder `FASTLR_COURSE_DATA` names,
# else from `shared/data` in the working folder or one of its parents; without them,
# synthetic data of the same shapes, and every section still runs.

# %%
import math
from decimal import Decimal, localcontext

import numpy as np
from matplotlib.figure import Figure  # figures without pyplot; show() displays them

import fastlr
from fastlr.datasets import make_problem
from fastlr.lesson import LoadWatch, best_time, check, course_data, exercise, show

rng = np.random.default_rng(0)
# NumPy's BLAS (np.dot) on one thread, for the whole lesson: the Python loops it is compared
# with run on one core, and on a shared machine a second BLAS thread can wait for a core at
# every call — then a step meant to take a millisecond takes many
pinned = fastlr.lesson.blas_on_one_thread()
print("BLAS on one thread" if pinned else
      "BLAS threads not limited (threadpoolctl is not installed): np.dot may use several")

# %% [markdown]
# ## 1. Binary classification: the notation
#
# A 64 × 64 colour image is three 64 × 64 matrices (red, green, blue), flattened into one
# vector `x` of `n_x = 3 · 64 · 64 = 12288` numbers. The label `y` is 1 (cat) or 0 (non-cat).
# The `m` training examples `(x(1), y(1)), …, (x(m), y(m))` are stacked as columns:
# `X` has shape `(n_x, m)`, `Y` shape `(1, m)`. The course prepares its images as
# `X = images.reshape(m, -1).T / 255`.

# %%
data = course_data()
X_train, Y_train, X_test, Y_test = data.X_train, data.Y_train, data.X_test, data.Y_test
n_x, m = X_train.shape
print(f"Data: {data.description}")
print(f"X_train {X_train.shape} = (n_x, m), one example per column; Y_train {Y_train.shape}")
print(f"X_test {X_test.shape}, Y_test {Y_test.shape}: m_test = {X_test.shape[1]}")
check("n_x = 3 · 64 · 64", n_x, 3 * 64 * 64)

if data.real:  # four training images, the course's reshape undone
    images = X_train.T.reshape(m, 64, 64, 3)
    figure = Figure(figsize=(8, 2.4))
    for k, axes in enumerate(figure.subplots(1, 4)):
        axes.imshow(images[k])
        axes.set_title(f"example {k + 1}: y = {Y_train[0, k]:.0f}")
        axes.axis("off")
    show(figure, "examples")

# %% [markdown]
# ## 2. Logistic regression: `ŷ = σ(wᵀx + b)`
#
# Given `x`, we want `ŷ = P(y = 1 | x)`, between 0 and 1. The parameters are `w` (shape
# `(n_x, 1)`) and `b` (a number); `ŷ = σ(z)` with `z = wᵀx + b` and the sigmoid
# `σ(z) = 1 / (1 + e^−z)`: for a large `z`, `σ(z) ≈ 1`; for a large negative `z`,
# `σ(z) ≈ 0`.
#
# **Exercise 1.** Write `σ(z)` with `np.exp`, so that it works on a number and on an array.

# %%
@exercise(1)
def sigmoid(z):
    return 1 / (1 + np.exp(-z))  # answer


check("σ at −20, 0, 2, 20", sigmoid(np.array([-20.0, 0.0, 2.0, 20.0])),
      [2.0611536181902037e-09, 0.5, 0.8807970779778823, 0.9999999979388463])
print("with w = 0 and b = 0 every ŷ is σ(0) =", sigmoid(0.0), "— the model knows nothing yet")

# %% [markdown]
# ## 3. The cost function, and why not the squared error
#
# One example's loss: `L(ŷ, y) = −(y log ŷ + (1 − y) log(1 − ŷ))`. If `y = 1`,
# `L = −log ŷ`: small when `ŷ` is large. If `y = 0`, `L = −log(1 − ŷ)`: small when `ŷ` is
# small. The cost of the parameters is the mean over the training set:
# `J(w, b) = (1/m) Σ L(ŷ(i), y(i))`.
#
# **Exercise 2.** Write the loss with `np.log`.

# %%
@exercise(2)
def loss(a, y):
    return -(y * np.log(a) + (1 - y) * np.log(1 - a))  # answer


check("L(0.5, 1) = log 2, L(0.9, 0), L(0.9, 1)", [loss(0.5, 1), loss(0.9, 0), loss(0.9, 1)],
      [0.6931471805599453, 2.3025850929940455, 0.10536051565782628])

# %% [markdown]
# Why not `L = ½(ŷ − y)²`, as in linear regression? Because with the sigmoid inside it,
# the cost is not convex: gradient descent can stall on flat stretches and in local minima.
# One example, `x = 1`, `y = 1`, `b = 0`, as a function of `w` alone: a function is convex
# when every chord lies on or above its curve — test one chord, from `w = −10` to `w = −2`.

# %%
def squared_error(w):
    return 0.5 * (sigmoid(w) - 1.0) ** 2


def cross_entropy(w):
    return loss(sigmoid(w), 1.0)


for name, J in [("squared error", squared_error), ("cross-entropy", cross_entropy)]:
    middle, chord = J(-6.0), (J(-10.0) + J(-2.0)) / 2
    verdict = "above the chord: not convex" if middle > chord else "below the chord"
    print(f"{name:>13}: J(−6) = {middle:.4f}, the chord's middle {chord:.4f} → {verdict}")
check("the squared error's curve rises above a chord",
      squared_error(-6.0) > (squared_error(-10.0) + squared_error(-2.0)) / 2, True)

h = 1e-5  # slopes by nudging w to both sides (section 4)
for name, J in [("squared error", squared_error), ("cross-entropy", cross_entropy)]:
    print(f"{name:>13}: slope at w = −10: {(J(-10 + h) - J(-10 - h)) / (2 * h):+.6f}")
print(f"At w = −10, ŷ = {sigmoid(-10.0):.6f} for a cat: completely wrong, yet the squared "
      "error is almost flat there; gradient descent would barely move.")

ws = np.linspace(-10, 10, 201)
figure = Figure(figsize=(9, 3))
left, right = figure.subplots(1, 2)
left.plot(ws, squared_error(ws))
left.plot([-10, -2], [squared_error(-10.0), squared_error(-2.0)], "k--", label="a chord")
left.set_title("½(σ(w) − 1)²: not convex")
left.legend()
right.plot(ws, cross_entropy(ws), color="#c44e52")
right.set_title("−log σ(w): convex")
for axes in (left, right):
    axes.set_xlabel("w (one example: x = 1, y = 1, b = 0)")
show(figure, "convexity")

# %% [markdown]
# ## 4. Gradient descent, and derivatives by nudging
#
# Gradient descent repeats `w := w − α dJ/dw` and `b := b − α dJ/db`, with `α` the
# learning rate; in code, `dw` stands for `dJ/dw` and `db` for `dJ/db`. A derivative is a
# slope: nudge `a` to the right by 0.001, and `f(a)` moves by the slope times 0.001.

# %%
nudge = 0.001
for name, f, slope in [("3a", lambda a: 3 * a, "3"), ("a²", lambda a: a ** 2, "2a = 4"),
                       ("a³", lambda a: a ** 3, "3a² = 12"), ("ln a", math.log, "1/a = 0.5")]:
    moved = f(2 + nudge) - f(2)
    print(f"f(a) = {name:<4}  f(2) = {f(2):.5f}, f(2.001) = {f(2 + nudge):.5f}: up by "
          f"{moved:.6f} = {moved / nudge:.4f} × 0.001 (the slope, {slope})")

# %% [markdown]
# The nudge to one side gives the slope only roughly: its error shrinks like the nudge `h`.
# Nudging to both sides, `(f(a + h) − f(a − h)) / 2h`, cancels the `h` term: its error
# shrinks like `h²`. For `a³` at `a = 2`:

# %%
def cube(a):
    return a ** 3


one_sided = (cube(2 + nudge) - cube(2)) / nudge
two_sided = (cube(2 + nudge) - cube(2 - nudge)) / (2 * nudge)
print(f"one side:   {one_sided:.9f}, error {abs(one_sided - 12):.1e}")
print(f"both sides: {two_sided:.9f}, error {abs(two_sided - 12):.1e} — "
      f"{abs(one_sided - 12) / abs(two_sided - 12):.0f} times smaller")
check("both sides: the error is over 1000 times smaller at h = 0.001",
      abs(one_sided - 12) / abs(two_sided - 12) > 1000, True)

# %% [markdown]
# ## 5. The computation graph: `J = 3(a + bc)`
#
# Forward, left to right: `u = bc`, `v = a + u`, `J = 3v`. Backward, right to left, one
# step at a time: `dJ/dv = 3`; `v = a + u`, so `dJ/da = dJ/dv · dv/da = 3 · 1` and the same
# for `u` — the chain rule. Then `u = bc` gives `dJ/db` and `dJ/dc`. (In code, `da` is
# `dJ/da`: the derivative of the final output with respect to `a`.)

# %%
def forward(a, b, c):
    u = b * c
    v = a + u
    return 3 * v


print("J(5, 3, 2) =", forward(5, 3, 2), "; a = 5 → 5.001 gives J =", forward(5.001, 3, 2))

# %% [markdown]
# **Exercise 3.** Go backwards: write `da`, `du`, `db`, `dc`, each from the one before it.

# %%
@exercise(3)
def backward(a, b, c):
    dv = 3  # J = 3v
    da = dv * 1  # answer
    du = dv * 1  # answer
    db = du * c  # answer
    dc = du * b  # answer
    return da, db, dc


numeric = [(forward(5 + nudge, 3, 2) - forward(5 - nudge, 3, 2)) / (2 * nudge),
           (forward(5, 3 + nudge, 2) - forward(5, 3 - nudge, 2)) / (2 * nudge),
           (forward(5, 3, 2 + nudge) - forward(5, 3, 2 - nudge)) / (2 * nudge)]
print("by nudging a, b, c:", np.round(numeric, 6))
check("da, db, dc = the nudges", backward(5, 3, 2), numeric, tolerance=1e-6)

# %% [markdown]
# ## 6. Logistic regression's derivatives: `dz = a − y`
#
# One example, two features: `z = w1 x1 + w2 x2 + b` → `a = σ(z)` → `L(a, y)`. Backwards:
# `da = dL/da = −y/a + (1 − y)/(1 − a)`, and `da/dz = a(1 − a)`, so
# `dz = da · a(1 − a) = a − y`. Then `dw1 = x1 dz`, `dw2 = x2 dz`, `db = dz`.
#
# **Exercise 4.** Write `dz` from `a` and `y`.

# %%
@exercise(4)
def dz_of(a, y):
    return a - y  # answer


h = 1e-5
pairs = [(0.5, 1.0), (-1.2, 0.0), (3.0, 1.0), (2.0, 0.0)]
numeric = [(loss(sigmoid(z + h), y) - loss(sigmoid(z - h), y)) / (2 * h) for z, y in pairs]
check("dz = dL/dz, by nudging z", [dz_of(sigmoid(z), y) for z, y in pairs], numeric,
      tolerance=1e-6)

# %% [markdown]
# ## 7. `m` examples: the loop, the update, the iterations
#
# The slide: `J = 0, dw1 = 0, dw2 = 0, db = 0`; for `i = 1 … m`: `z(i) = wᵀx(i) + b`,
# `a(i) = σ(z(i))`, `J += L(a(i), y(i))`, `dz(i) = a(i) − y(i)`, `dw1 += x1(i) dz(i)`,
# `dw2 += x2(i) dz(i)`, `db += dz(i)`; then `J /= m`, `dw1 /= m`, `dw2 /= m`, `db /= m`.
# `dw` has no `(i)`: it accumulates over the examples. The slide writes the features out
# (`n_x = 2`); the loop over `j` below does the same for any `n_x`: two loops.
#
# **Exercise 5.** Accumulate `J`, `dw` and `db`.

# %%
@exercise(5)
def propagate_loop(w, b, X, Y):
    n_x, m = X.shape
    J, dw, db = 0.0, np.zeros((n_x, 1)), 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j, 0] * X[j, i]
        a = sigmoid(z)
        J += loss(a, Y[0, i])  # answer
        dz = dz_of(a, Y[0, i])
        for j in range(n_x):
            dw[j, 0] += X[j, i] * dz  # answer
        db += dz  # answer
    return J / m, dw / m, db / m


X_small, Y_small = make_problem(2, 5, seed=0)  # the slide's two features, five examples
w_small, b_small = np.array([[0.5], [-0.25]]), 0.1
J, dw, db = propagate_loop(w_small, b_small, X_small, Y_small)
print(f"J = {J:.6f}, dw = {dw.ravel().round(6)}, db = {db:.6f}")
grads, cost = fastlr.propagate(w_small, b_small, X_small, Y_small, backend="python",
                               variant="loop")
check("the loop = fastlr's reference", [J, *dw.ravel(), db],
      [cost, *grads["dw"].ravel(), grads["db"]])

# %% [markdown]
# One step of gradient descent is `w := w − α dw`, `b := b − α db`. Training repeats it,
# `num_iterations` times, each from the `w` and `b` the last one left: that loop cannot be
# vectorized — iteration `k` needs iteration `k − 1`'s result. The course records the cost
# every 100 iterations.
#
# **Exercise 6.** One iteration: the gradients at `w` and `b`, then the update.

# %%
@exercise(6)
def optimize(w, b, X, Y, num_iterations, learning_rate, propagate=propagate_loop):
    costs = []
    for iteration in range(num_iterations):
        J, dw, db = propagate(w, b, X, Y)  # answer
        w = w - learning_rate * dw  # answer
        b = b - learning_rate * db  # answer
        if iteration % 100 == 0:
            costs.append(J)
    return w, b, costs


X_small, Y_small = make_problem(2, 50, seed=1)
w, b, costs = optimize(np.zeros((2, 1)), 0.0, X_small, Y_small, 300, 0.5)
print("costs every 100 iterations:", np.round(costs, 6), "; w =", w.ravel().round(4))
params, _, expected_costs = fastlr.optimize(np.zeros((2, 1)), 0.0, X_small, Y_small, 300, 0.5,
                                            backend="python", variant="loop")
check("your gradient descent = fastlr's", [*w.ravel(), b, *costs],
      [*params["w"].ravel(), params["b"], *expected_costs])

# %% [markdown]
# ## 8. Vectorization: the lecture's `np.dot` demo
#
# At the cat size the loops above run 2 × 12288 × 209 ≈ 5 million steps of the Python
# interpreter per iteration. The lecture shows what that costs: `c += a[i] * b[i]` over two
# arrays of a million numbers against `np.dot(a, b)`, about 300× on the lecture's machine.
# Here, the same loop over NumPy arrays and over Python lists (reading an element of an
# ndarray builds a new NumPy scalar around it; a list holds ready-made Python floats), each
# timed as the best of several calls, BLAS on one thread like the loops. Your machine prints
# its own numbers, and says when other work shared its cores meanwhile.

# %%
u, v = rng.random(1_000_000), rng.random(1_000_000)
u_list, v_list = u.tolist(), v.tolist()


def loop_dot(a, b):
    c = 0.0
    for i in range(len(a)):
        c += a[i] * b[i]
    return c


with LoadWatch() as load:
    by_ndarray, ndarray_seconds, _ = best_time(loop_dot, u, v, budget=1.0)
    by_list, list_seconds, _ = best_time(loop_dot, u_list, v_list, budget=1.0)
    by_dot, dot_seconds, dot_calls = best_time(np.dot, u, v, budget=1.0, repeats=50)
print(f"np.dot                     {dot_seconds * 1e3:8.3f} ms (best of {dot_calls})")
print(f"the loop over NumPy arrays {ndarray_seconds * 1e3:8.1f} ms: "
      f"{ndarray_seconds / dot_seconds:.0f}× np.dot's time (the lecture's loop)")
print(f"the loop over lists        {list_seconds * 1e3:8.1f} ms: "
      f"{list_seconds / dot_seconds:.0f}× np.dot's time")
if load.warning():
    print(load.warning())
check("the three give the same sum", [by_ndarray, by_list], [by_dot, by_dot])

figure = Figure(figsize=(7, 2.6))
axes = figure.subplots()
labels = ["loop over\nNumPy arrays", "loop over\nPython lists", "np.dot"]
seconds = [ndarray_seconds, list_seconds, dot_seconds]
bars = axes.barh(labels[::-1], seconds[::-1], color=["#c44e52", "#dd8452", "#4c72b0"])
axes.set_xscale("log")
axes.set_xlim(min(seconds) / 3, max(seconds) * 30)
axes.set_xlabel("seconds for one dot product of 10⁶ numbers (log scale)")
for bar, value in zip(bars, seconds[::-1]):
    axes.text(value, bar.get_y() + bar.get_height() / 2,
              f"  {value * 1e3:.3g} ms, {value / dot_seconds:.0f}× np.dot", va="center")
show(figure, "np-dot-demo")

# %% [markdown]
# ## 9. One loop: the features as a vector
#
# Replace the loop over features by vectors: `z(i) = wᵀx(i) + b` and `dw += x(i) dz(i)`,
# with `x(i) = X[:, i:i + 1]` of shape `(n_x, 1)`. The loop over examples stays.
#
# **Exercise 7.** The loop's body with vectors: `z`, then `J`, `dw`, `db`.

# %%
@exercise(7)
def propagate_one_loop(w, b, X, Y):
    n_x, m = X.shape
    J, dw, db = 0.0, np.zeros((n_x, 1)), 0.0
    for i in range(m):
        x = X[:, i:i + 1]  # x(i), shape (n_x, 1)
        z = float(np.dot(w.T, x)[0, 0]) + b  # answer
        a = sigmoid(z)
        J += loss(a, Y[0, i])  # answer
        dz = dz_of(a, Y[0, i])
        dw += x * dz  # answer
        db += dz  # answer
    return J / m, dw / m, db / m


w_random = rng.standard_normal((2, 1))
J, dw, db = propagate_loop(w_random, 0.3, X_small, Y_small)
J1, dw1, db1 = propagate_one_loop(w_random, 0.3, X_small, Y_small)
check("one loop = two loops", [J1, *dw1.ravel(), db1], [J, *dw.ravel(), db])

# %% [markdown]
# ## 10. No loop: whole arrays
#
# `Z = wᵀX + b`, `A = σ(Z)`, `dZ = A − Y`, `dw = (1/m) X dZᵀ`, `db = (1/m) Σ dZ`: every
# step over all `m` examples at once, in NumPy's compiled code.
#
# **Exercise 8.** Write `Z`, `dZ`, `dw` and `db`.

# %%
@exercise(8)
def propagate_no_loop(w, b, X, Y):
    m = X.shape[1]
    Z = np.dot(w.T, X) + b  # answer
    A = sigmoid(Z)
    J = float(np.mean(loss(A, Y)))
    dZ = A - Y  # answer
    dw = np.dot(X, dZ.T) / m  # answer
    db = float(np.sum(dZ)) / m  # answer
    return J, dw, db


J0, dw0, db0 = propagate_no_loop(w_random, 0.3, X_small, Y_small)
check("no loop = two loops", [J0, *dw0.ravel(), db0], [J, *dw.ravel(), db])

# %% [markdown]
# The three, timed on the training set (`X_train`, shape `(12288, m)`) from `w = 0.001`:
# the best of repeated calls. The two loops take about a second per call (0.86–0.89 s on a
# 2-core AMD EPYC, Zen 5): give them a moment.

# %%
w_start = np.full((n_x, 1), 0.001)
with LoadWatch() as load:
    steps = [(name, *best_time(function, w_start, 0.0, X_train, Y_train, budget=2.0))
             for name, function in [("two loops", propagate_loop),
                                    ("one loop", propagate_one_loop),
                                    ("no loop", propagate_no_loop)]]
for name, (J, _, _), seconds, calls in steps:
    print(f"{name:<10} {seconds * 1e3:9.2f} ms per call (best of {calls:>2}): "
          f"{steps[0][2] / seconds:6.0f}× faster than two loops; J = {J:.6f}")
if load.warning():
    print(load.warning())
check("the three give the same gradient", [s[1][1].ravel() for s in steps[1:]],
      [steps[0][1][1].ravel()] * 2)

# %% [markdown]
# ## 11. The course's cat classifier: learning curves, and the model
#
# Your `optimize` with your vectorized `propagate`, from zeros, 1500 iterations at the
# course's three learning rates, the cost recorded every 100 iterations, as the course
# plots it. With the course's data the accuracies are the course's published ones.

# %%
def accuracy(w, b, X, Y):
    return fastlr.accuracy(fastlr.predict(w, b, X), Y)


curves = {}
for rate, published in [(0.01, (99.52, 68.0)), (0.001, (88.995, 64.0)),
                        (0.0001, (68.42, 36.0))]:
    w, b, curves[rate] = optimize(np.zeros((n_x, 1)), 0.0, X_train, Y_train, 1500, rate,
                                  propagate=propagate_no_loop)
    train, test = accuracy(w, b, X_train, Y_train), accuracy(w, b, X_test, Y_test)
    print(f"learning rate {rate}: train {train:.3f} %, test {test:.1f} %")
    if data.real:
        check(f"learning rate {rate}: the course's accuracies", [train, test], published,
              tolerance=5e-3)

figure = Figure(figsize=(6.4, 3.6))
axes = figure.subplots()
for rate, costs in curves.items():
    axes.plot(range(0, 1500, 100), costs, marker=".", label=f"learning rate {rate}")
axes.set_xlabel("iterations")
axes.set_ylabel("cost J")
axes.set_title("learning curves: " + ("the course's cat data" if data.real else "synthetic data"))
axes.legend()
show(figure, "learning-curves")

# %% [markdown]
# The course's model: 2000 iterations at learning rate 0.005 (train 99.04 %, test 70 %
# with the course's data, and its published costs).

# %%
w, b, costs = optimize(np.zeros((n_x, 1)), 0.0, X_train, Y_train, 2000, 0.005,
                       propagate=propagate_no_loop)
train, test = accuracy(w, b, X_train, Y_train), accuracy(w, b, X_test, Y_test)
print(f"train {train:.2f} %, test {test:.2f} %; cost {costs[0]:.6f} → {costs[-1]:.6f}")
if data.real:
    published_costs = [0.693147, 0.584508, 0.466949, 0.376007, 0.331463, 0.303273, 0.279880,
                       0.260042, 0.242941, 0.228004, 0.214820, 0.203078, 0.192544, 0.183033,
                       0.174399, 0.166521, 0.159305, 0.152667, 0.146542, 0.140872]
    check("the course's model", [train, test], [99.04306220095694, 70.0])
    check("the course's published costs", costs, published_costs, tolerance=1e-6)

# %% [markdown]
# ## Extra A. Gradient checking
#
# A gradient formula can be checked by nudging each parameter to both sides, as in
# section 4: `dJ/dw_j ≈ (J(w + h e_j, b) − J(w − h e_j, b)) / 2h`, with `e_j` the `j`-th unit
# vector. It costs two evaluations of the cost per parameter: a check, not a way to train.
#
# **Exercise 9.** Fill in the two differences.

# %%
@exercise(9)
def gradient_by_nudging(cost, w, b, h=1e-6):
    dw = np.zeros_like(w)
    for j in range(w.shape[0]):
        e = np.zeros_like(w)
        e[j, 0] = h
        dw[j, 0] = (cost(w + e, b) - cost(w - e, b)) / (2 * h)  # answer
    db = (cost(w, b + h) - cost(w, b - h)) / (2 * h)  # answer
    return dw, db


X_check, Y_check = make_problem(4, 30, seed=2)
w_check, b_check = rng.standard_normal((4, 1)), 0.2
J, dw, db = propagate_no_loop(w_check, b_check, X_check, Y_check)
dw_nudged, db_nudged = gradient_by_nudging(
    lambda w, b: propagate_no_loop(w, b, X_check, Y_check)[0], w_check, b_check)
print("dw by the formula:", dw.ravel().round(8), "\ndw by nudging:    ",
      dw_nudged.ravel().round(8))
check("the gradient check", [*dw_nudged.ravel(), db_nudged], [*dw.ravel(), db],
      tolerance=1e-7)

# %% [markdown]
# ## Extra B. The cost in float64
#
# `a = σ(z)` is a float64. Once `z ≳ 36.74`, `e^−z` is below half an ulp of 1 and `a`
# rounds to exactly 1.0: `log(1 − a) = log 0 = −inf`, so the slide's formula gives `inf`
# (`y = 0`) or `nan` (`y = 1`, `0 · (−inf)`). Before that, `1 − a` has lost digits.
#
# A stable form comes from the slide's: `log a = −log(1 + e^−z)` and
# `log(1 − a) = −z − log(1 + e^−z)`, so `L = log(1 + e^z) − y z`, and
# `log(1 + e^z) = max(z, 0) + log1p(e^−|z|)` never exponentiates a positive number. But
# evaluated in that order, `max(z, 0) + log1p(e^−|z|) − y z` cancels: for `y = 1` and a
# large `z` it computes `(z + tiny) − z`, and `tiny` (`e^−z`) is lost when it is added to
# `z`. Grouped as `(max(z, 0) − y z) + log1p(e^−|z|)`, the bracket is exactly `0` or `|z|`
# for labels 0 and 1, and nothing cancels: the cost to within a few ulps, relative, for every
# finite `z`. That is the form fastlr computes. Below, each against the exact value
# (computed with 60 decimal digits).

# %%
def slide_cost(z, y):  # your sigmoid and your loss: the slide's formula
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(loss(sigmoid(np.float64(z)), y))


def ungrouped(z, y):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z


def grouped(z, y):
    return (max(z, 0.0) - y * z) + math.log1p(math.exp(-abs(z)))


def exact(z, y):  # log(1 + e^z) − y z with 60 digits
    with localcontext() as context:
        context.prec = 60
        z = Decimal(z)
        return float((max(z, 0) - y * z) + (1 + (-abs(z)).exp()).ln())


print(f"{'z':>5} {'y':>2} {'slide':>12} {'ungrouped':>12} {'grouped':>12} {'exact':>12}")
for z, y in [(2.0, 0), (30.0, 0), (36.0, 0), (37.0, 0), (37.0, 1), (35.0, 1), (-37.0, 0)]:
    print(f"{z:5.1f} {y:2} {slide_cost(z, y):12.5g} {ungrouped(z, y):12.5g} "
          f"{grouped(z, y):12.5g} {exact(z, y):12.5g}")
check("the slide at z = 30, y = 0 has lost digits", round(slide_cost(30.0, 0), 3), 30.001)
check("ungrouped, z = 35, y = 1: 0.0 (the exact cost is 6.3e−16)",
      [ungrouped(35.0, 1), round(exact(35.0, 1), 17)], [0.0, 6.3e-16], tolerance=1e-30)
cases = [(z, y) for z in np.linspace(-50, 50, 201) for y in (0, 1)]
check("grouped = exact to 4e−16, relative",
      [grouped(z, y) / exact(z, y) for z, y in cases], [1.0] * len(cases), tolerance=4e-16)

# %% [markdown]
# ## Extra C. Things to try
#
# - **Other learning rates** in section 11 (0.005 is the course's model; 0.5? 0.00001?),
#   and more iterations: where does the cost stop falling, and what happens to the test
#   accuracy?
# - **float32** `X`: `X_train.astype(np.float32)`, half the bytes to read. Compare the
#   accuracies of your model, and the time of one `propagate_no_loop` (with `best_time`),
#   with float64's; `fastlr bench --dtype float32` times every implementation.
# - **C order**: `np.ascontiguousarray(X_train)` holds the same numbers in another memory
#   layout (each feature contiguous instead of each example). Time your three `propagate`s
#   on it; `fastlr bench --order C` against `--order F` times every implementation.
# - **A larger problem**: `make_problem(1000, 100_000)`. Vectorizing does not pay more
#   there: NumPy's loop ÷ its vectorized code was 1421× at the cat size and 827–966× at
#   1000 × 100 000 on a 2-core AMD EPYC (Zen 3). Measure yours:
#   `fastlr bench --sizes cat,1000x100000 --backends numpy`.
# - **Every implementation** fastlr has — pure Python, NumPy, Numba, Cython — on the
#   course's model: `python -m fastlr.tutorial`; how their times grow with the size of `X`:
#   `fastlr bench --scaling`.
