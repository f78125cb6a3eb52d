"""``fastlr.LogisticRegression`` on dask arrays: the kernels run where the chunks are.

The design Spark MLlib's logistic regression uses: the solver (lbfgs or newton-cg, the
same code as on one machine) runs on the client; each evaluation sends the coefficients
(n_features floats) to the workers, each runs fastlr's one-pass kernel on the row chunks of
``X`` it holds, and only the sums ``[Σ s L, Σ dz, Σ dz x]`` travel back. ``X`` is never
gathered. On a cluster with persisted ``X`` every worker gets one actor (:class:`_Shard`)
holding its chunks, called directly by the client (no scheduler hop; newton-cg's Hessian
weights stay in it), the workers' sums added on the client; if a worker is lost, or actors
cannot start, one task per worker per evaluation does the same through the scheduler
(dask then recomputes lost chunks), its sums added in a tree of tasks (:data:`FAN_IN` at a
time) and its Hessian weights kept as futures on the workers.

With a ``distributed.Client`` (the default client when one exists) the tasks run on its
cluster; otherwise on dask's local threaded scheduler (the kernels release the GIL). Each
task runs its kernel on one thread: a worker runs as many tasks at once as it has
threads, so it uses its own share of the cores, not more.

``X`` should be persisted (``X = X.persist()``): otherwise every evaluation recomputes
its chunks from their source, which works but is slower (``verbose`` says so). The labels
and weights, O(n_samples), are persisted for the fit. A worker lost during the fit: dask
recomputes its chunks from their source and the evaluation is retried by the scheduler.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from fastlr.objective import Scaled

#: sums added per reduction task
FAN_IN = 8


def is_dask_array(X) -> bool:
    """Whether ``X`` is a dask array, without importing dask."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def check_input(X, y, sample_weight, name="X"):
    """``(X, y, sample_weight)`` as dask arrays with the same row chunks, X float32/float64
    with one chunk of features; ValueError naming what to do otherwise."""
    import dask.array as da

    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features); got {X.ndim}-D")
    rows = X.chunks[0]
    if any(np.isnan(size) for size in rows):
        raise ValueError(
            f"{name} has unknown chunk sizes (a dask array made from a DataFrame's .values, "
            "for example): use df.to_dask_array(lengths=True), or call "
            f"{name}.compute_chunk_sizes() first")
    if len(X.chunks[1]) != 1:
        raise ValueError(f"{name} must have one chunk along the features: "
                         f"{name}.rechunk({{1: -1}}); got {len(X.chunks[1])} chunks")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    arrays = []
    for label, values in (("y", y), ("sample_weight", sample_weight)):
        if values is None:
            arrays.append(None)
            continue
        if not is_dask_array(values):
            values = da.from_array(np.asarray(values), chunks=(rows,))
        if values.ndim != 1 or values.shape[0] != X.shape[0]:
            raise ValueError(f"{label} must have shape ({X.shape[0]},) to match {name}; got "
                             f"{values.shape}")
        if values.chunks[0] != rows:
            values = values.rechunk((rows,))
        arrays.append(values)
    return X, arrays[0], arrays[1]


def _client():
    """The default ``distributed.Client``, or None (dask's local threaded scheduler)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _kernels(backend):
    from fastlr import registry

    return registry.load_model(backend)[1]


def _loss_chunk(X, y, sw, w, b, hessian, backend):
    """One chunk's sums ``[Σ s L, Σ dz, Σ dz x..., kernel seconds]``; with ``hessian``,
    ``(sums, h)``."""
    sums = np.empty(X.shape[1] + 3)
    h = np.empty(X.shape[0]) if hessian else None
    y, sw = _prepare(y, sw)  # dask's ones are broadcast: no strides the kernels take
    start = time.perf_counter()
    sums[0], sums[1] = _kernels(backend).loss_gradient(w, b, X, y, sw, sums[2:-1], h, 1)
    sums[-1] = time.perf_counter() - start
    return (sums, h) if hessian else sums


def _hessp_chunk(X, h, v, vb, backend):
    """One chunk's ``[0, Σ h (Xv + vb), Xᵀ(h ⊙ (Xv + vb))..., kernel seconds]``."""
    sums = np.empty(X.shape[1] + 3)
    start = time.perf_counter()
    sums[0], sums[1] = _kernels(backend).hessp(v, vb, X, h, sums[2:-1], 1)
    sums[-1] = time.perf_counter() - start
    return sums


def _prepare(y, sw):
    """A chunk's labels and weights, contiguous float64, where its X chunk lives."""
    return np.ascontiguousarray(y, dtype=np.float64), np.ascontiguousarray(sw, np.float64)


def _loss_batch(xs, labels, w, b, hessian, backend):
    """The loss pass over one worker's chunks: their summed sums (and the chunks' h)."""
    results = [_loss_chunk(X, y, sw, w, b, hessian, backend) for X, (y, sw) in zip(xs, labels)]
    if not hessian:
        return np.add.reduce(results)
    return np.add.reduce([sums for sums, _ in results]), [h for _, h in results]


def _hessp_batch(xs, hs, v, vb, backend):
    """The Hessian-vector pass over one worker's chunks, summed."""
    return np.add.reduce([_hessp_chunk(X, h, v, vb, backend) for X, h in zip(xs, hs)])


class DaskBinary(Scaled):
    """:class:`fastlr.objective.Binary`'s interface over a row-chunked dask ``X``."""

    def __init__(self, X, y, sample_weight, *, total_weight, l2, fit_intercept, backend,
                 verbose=0):
        import dask

        super().__init__(X.shape[1], total_weight=total_weight, l2=l2,
                         fit_intercept=fit_intercept)
        self.client = _client()
        labels, weights = (y, sample_weight)
        if self.client is not None:
            labels, weights = self.client.persist([labels, weights])
        else:
            labels, weights = dask.persist(labels, weights)
        self.persisted = _is_persisted(X, self.client)
        # the collections are kept: their futures keep the persisted chunks on the cluster
        self._arrays = (X, labels, weights)
        self._chunks = list(zip(*(_chunks(array, self.client, self.persisted or array is not X)
                                  for array in self._arrays)))
        self._batches = self._group() if self.client is not None and self.persisted else None
        self.backend = backend
        if verbose and not self.persisted:
            print("fastlr: X is not persisted: every evaluation recomputes its chunks from "
                  "their source (slower). X = X.persist() keeps them on the workers.",
                  flush=True)
        self._h = None  # the Hessian weights of each chunk, where they were computed
        self.wall_seconds = 0.0  # the evaluations as the client waits for them (the
        # kernel seconds are summed over the workers' calls)
        self.workers = len(self.client.scheduler_info()["workers"]) if self.client else 1
        self._hessian_at = None
        self._actors = self._start_actors() if self._batches is not None else None

    def _group(self):
        """One batch per worker: ``(address, its X chunks, their labels and weights)``,
        the labels and weights moved beside their X chunk once, here (O(n_samples))."""
        from distributed import wait

        xs = [x for x, _, _ in self._chunks]
        for _ in range(50):  # persist() returns at once, a lost chunk is being recomputed:
            wait(xs)         # wait until every chunk is in some worker's memory
            holders = self.client.who_has(xs)
            if all(holders.get(x.key) for x in xs):
                break
            time.sleep(0.1)
        groups = {}
        for (x, y, sw) in self._chunks:
            address = (holders.get(x.key) or (None,))[0]  # None: any worker
            labels = self._submit(_prepare, address, y, sw)
            groups.setdefault(address, ([], []))
            groups[address][0].append(x)
            groups[address][1].append(labels)
        return [(address, xs, labels) for address, (xs, labels) in groups.items()]

    def _start_actors(self):
        """One :class:`_Shard` actor per worker, on its chunks: an evaluation is then one
        direct call per worker (~4 ms a round trip here, against ~25 ms through the
        scheduler). None if actors cannot start (then tasks do the work)."""
        if any(address is None for address, _, _ in self._batches):
            return None
        try:
            self._actor_futures = [  # held: an actor lives as long as its future
                self.client.submit(_Shard, xs, labels, self.backend, workers=[address],
                                   allow_other_workers=False, actor=True)
                for address, xs, labels in self._batches]
            return [future.result() for future in self._actor_futures]
        except Exception:
            return None

    def _submit(self, func, address, *args):
        where = {} if address is None else {"workers": [address], "allow_other_workers": True}
        return self.client.submit(func, *args, pure=False, **where)

    def _map(self, func, per_chunk, *common):
        """``func(*chunk_args, *common)`` for every chunk: futures on a cluster (submitted
        on the persisted chunks' futures, or computed from their graph when X is not
        persisted), else delayed values for dask's local scheduler."""
        from dask import delayed

        if self.client is None:
            return [delayed(func, pure=False)(*args, *common) for args in per_chunk]
        if self.persisted:
            return [self.client.submit(func, *args, *common, pure=False) for args in per_chunk]
        return self.client.compute([delayed(func, pure=False)(*args, *common)
                                    for args in per_chunk])

    def _total(self, parts):
        """The sum of the chunks' sums: a tree of tasks on a cluster, FAN_IN at a time."""
        import dask

        start = time.perf_counter()
        if self.client is None:
            total = np.add.reduce(dask.compute(*parts, scheduler="threads"))
        else:
            while len(parts) > FAN_IN:  # a tree of tasks; the last FAN_IN sums come here
                parts = [self.client.submit(np.add.reduce, parts[i:i + FAN_IN], pure=False)
                         for i in range(0, len(parts), FAN_IN)]
            total = np.add.reduce(self.client.gather(parts))
        self.wall_seconds += time.perf_counter() - start
        self.kernel_seconds += float(total[-1])
        return total

    def loss_gradient(self, x, hessian=False):
        """``(f, ∇f)`` at ``x`` (see :meth:`fastlr.objective.Binary.loss_gradient`)."""
        w, b = self.split(x)
        total = self._sums("loss", w, b, hessian)
        self.evaluations += 1
        return self._value_and_gradient(total[0], total[1], total[2:-1], w)

    def hessp(self, v):
        """``∇²f v`` at the last point asked ``hessian=True``."""
        u, ub = self.split(v)
        total = self._sums("hessp", u, ub)
        self.products += 1
        return self._product(total[1], total[2:-1], u)

    def _sums(self, kind, v, vb, hessian=False):
        """One pass's summed ``[Σ s L, Σ dz, Σ dz x..., kernel seconds]`` (``kind`` "loss")
        or Hessian-vector sums ("hessp"): by the workers' actors when there are, else by
        tasks. A lost worker (its actor gone) turns the actors off for the rest of the fit:
        the tasks' path, on which dask recomputes lost chunks, takes over."""
        if kind == "loss" and hessian:
            self._hessian_at = (v, vb)
        if self._actors is not None:
            start = time.perf_counter()
            try:
                calls = [getattr(actor, kind)(v, vb, hessian) for actor in self._actors]
                total = np.add.reduce([call.result() for call in calls])
            except Exception:  # the worker holding an actor was lost
                self._actors = None
                self.wall_seconds += time.perf_counter() - start
                self._batches = self._group()
                if kind == "hessp":  # the lost actors held the Hessian weights
                    self._task_sums("loss", *self._hessian_at, True)
                return self._task_sums(kind, v, vb, hessian)
            self.wall_seconds += time.perf_counter() - start
            self.kernel_seconds += float(total[-1])
            return total
        return self._task_sums(kind, v, vb, hessian)

    def _task_sums(self, kind, v, vb, hessian=False):
        import operator

        start = time.perf_counter()
        if kind == "hessp":
            if self._batches is not None:
                parts = [self._submit(_hessp_batch, address, xs, h, v, vb, self.backend)
                         for (address, xs, _), h in zip(self._batches, self._h)]
            else:
                parts = self._map(_hessp_chunk,
                                  [(x, h) for (x, _, _), h in zip(self._chunks, self._h)],
                                  v, vb, self.backend)
            self.wall_seconds += time.perf_counter() - start
            return self._total(parts)
        if self._batches is not None:  # one task per worker, on the chunks it holds
            results = [self._submit(_loss_batch, address, xs, labels, v, vb, hessian,
                                    self.backend) for address, xs, labels in self._batches]
        else:
            results = self._map(_loss_chunk, self._chunks, v, vb, hessian, self.backend)
        if hessian:  # (sums, h) per task: h stays where it was computed
            if self.client is None:
                import dask

                results = dask.compute(*results, scheduler="threads")
                self._h = [h for _, h in results]
                results = [sums for sums, _ in results]
            else:
                self._h = [self.client.submit(operator.itemgetter(1), r, pure=False)
                           for r in results]
                results = [self.client.submit(operator.itemgetter(0), r, pure=False)
                           for r in results]
        self.wall_seconds += time.perf_counter() - start
        return self._total(results)


class _Shard:
    """An actor on one worker: that worker's chunks (its own memory, not copies), the loss
    and Hessian-vector passes over them, the Hessian weights between the two. Called by the
    client directly: no scheduler between the client and the kernels."""

    def __init__(self, xs, labels, backend):
        self.xs, self.labels, self.backend = xs, labels, backend
        self.hs = None

    def loss(self, w, b, hessian):
        result = _loss_batch(self.xs, self.labels, w, b, hessian, self.backend)
        if not hessian:
            return result
        sums, self.hs = result
        return sums

    def hessp(self, v, vb, _hessian=False):
        return _hessp_batch(self.xs, self.hs, v, vb, self.backend)


def _is_persisted(X, client):
    """Whether X's chunks are computed already (in the workers' memory, or this process's)."""
    from dask.core import flatten

    keys = set(flatten(X.__dask_keys__()))
    if client is not None:
        from distributed import futures_of

        return {future.key for future in futures_of(X)} >= keys
    graph = X.__dask_graph__()
    return len(graph) == len(keys) and all(isinstance(graph[key], np.ndarray) for key in keys)


def _chunks(array, client, persisted):
    """The array's chunks in order: their futures on a cluster when persisted, else
    delayed values."""
    from dask.core import flatten

    if client is not None and persisted:
        from distributed import futures_of

        by_key = {future.key: future for future in futures_of(array)}
        return [by_key[key] for key in flatten(array.__dask_keys__())]
    return list(array.to_delayed().ravel())


def decision_function(X, coef, intercept):
    """Lazy ``X coef + intercept`` by chunk (one score per sample: two classes)."""
    return X.map_blocks(_scores, *_model(coef, intercept), drop_axis=1, dtype=np.float64,
                        meta=np.empty((0,), dtype=np.float64))


def predict(X, coef, intercept, classes):
    """Lazy class labels by chunk."""
    return X.map_blocks(_labels, *_model(coef, intercept), classes, drop_axis=1,
                        dtype=classes.dtype, meta=np.empty((0,), dtype=classes.dtype))


def predict_proba(X, coef, intercept, log=False):
    """Lazy probabilities (or their logs) of the two classes, by chunk."""
    return X.map_blocks(_probabilities, *_model(coef, intercept), log,
                        chunks=(X.chunks[0], (2,)), dtype=np.float64)


def assert_finite(X):
    """scikit-learn's errors for NaN or inf in a dask ``X`` (dense or sparse chunks)."""
    import dask

    found = dask.compute([dask.delayed(_nonfinite)(block) for block in X.to_delayed().ravel()])
    for kind in ("NaN", "infinity"):
        if any(kind in chunk for chunk in found[0]):
            raise ValueError(f"Input X contains {kind}.")


def _nonfinite(block):
    """``{"NaN", "infinity"}``: what a chunk holds that is not finite (its stored values)."""
    values = block.data if sparse.issparse(block) else np.asarray(block)
    return {kind for kind, test in (("NaN", np.isnan), ("infinity", np.isinf))
            if test(values).any()}


def _model(coef, intercept):
    return np.asarray(coef, dtype=np.float64)[0], float(np.ravel(intercept)[0])


def _scores(block, w, b):
    """``block w + b`` in float64, for a dense or a scipy.sparse chunk."""
    if not sparse.issparse(block):
        block = np.asarray(block, dtype=np.float64)
    return np.asarray(block @ w, dtype=np.float64) + b


def _labels(block, w, b, classes):
    return classes[(_scores(block, w, b) > 0).astype(np.intp)]


def _probabilities(block, w, b, log):
    z = _scores(block, w, b)
    if log:
        return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
    from fastlr.backends.numpy_ import sigmoid

    return np.column_stack([sigmoid(-z), sigmoid(z)])  # each without cancellation
