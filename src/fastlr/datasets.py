"""Data in the course's shapes: the course's cat / non-cat files, and synthetic problems.

The course's files (``train_catvnoncat.h5``, ``test_catvnoncat.h5``) are not shipped with
fastlr; :func:`load_catvnoncat` reads them from a folder you give. Reading them needs the
``h5py`` package (``pip install "fastlr-vectorized[data]"``).
"""

from __future__ import annotations

import os

import numpy as np

from fastlr import validation
from fastlr._install import pip_install

TRAIN_FILE = "train_catvnoncat.h5"
TEST_FILE = "test_catvnoncat.h5"


def _open_h5(path):
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"reading the course's .h5 files needs h5py: {pip_install('data')} (or h5py)"
        ) from None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no course data file at {path!r}")
    return h5py.File(path, "r")


def load_catvnoncat(directory, dtype=np.float64):
    """The course's cat / non-cat images, prepared as the course prepares them.

    Parameters
    ----------
    directory : str or path
        Folder holding ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``.
    dtype : float64 or float32, default=numpy.float64
        dtype of the returned ``X`` arrays.

    Returns
    -------
    X_train : array of shape (12288, 209)
        ``images.reshape(m, -1).T / 255``: pixel values in [0, 1], Fortran-ordered (each
        example, one flattened 64×64×3 image, is a contiguous column).
    Y_train : array of shape (1, 209)
        float64 labels 0. (non-cat) or 1. (cat).
    X_test : array of shape (12288, 50)
        The test images, prepared as ``X_train``.
    Y_test : array of shape (1, 50)
        The test labels, as ``Y_train``.
    classes : list of str
        The class names, ``["non-cat", "cat"]``: label 0 and label 1.
    """
    dtype = np.dtype(dtype)
    if dtype not in validation.KERNEL_DTYPES:
        raise ValueError(f"dtype must be float64 or float32; got {dtype}")
    arrays = []
    for name, prefix in ((TRAIN_FILE, "train_set"), (TEST_FILE, "test_set")):
        with _open_h5(os.path.join(os.fspath(directory), name)) as f:
            images = np.asarray(f[f"{prefix}_x"])
            labels = np.asarray(f[f"{prefix}_y"])
            classes = [c.decode() for c in np.asarray(f["list_classes"])]
        m = images.shape[0]
        X = (images.reshape(m, -1).T / 255).astype(dtype, copy=False)
        Y = labels.reshape(1, m).astype(np.float64)
        arrays += [X, Y]
    return (*arrays, classes)


def make_problem(n_x, m, *, dtype=np.float64, order="F", seed=0):
    """A seeded synthetic logistic-regression problem of any size.

    Features are standard normal; labels are drawn from a logistic model with random
    true weights (scaled so that ``z`` has unit variance), so they are learnable but not
    separable.

    Parameters
    ----------
    n_x, m : int
        Number of features and of examples, each at least 1.
    dtype : float64 or float32, default=numpy.float64
        dtype of ``X``.
    order : {"F", "C"}, default="F"
        Memory order of ``X``. "F" (each example a contiguous column) is what the course's
        ``reshape(m, -1).T`` produces.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same problem.

    Returns
    -------
    X : array of shape (n_x, m)
        The examples, one per column, of ``dtype`` and in ``order``.
    Y : array of shape (1, m)
        float64 labels 0. or 1.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> from fastlr.datasets import make_problem
    >>> X, Y = make_problem(3, 5)
    >>> X.shape, Y.shape
    ((3, 5), (1, 5))
    >>> X.dtype, X.flags.f_contiguous
    (dtype('float64'), True)
    >>> bool(np.isin(Y, [0.0, 1.0]).all())
    True
    >>> X32, _ = make_problem(3, 5, dtype=np.float32, order="C")
    >>> X32.dtype, X32.flags.c_contiguous
    (dtype('float32'), True)
    """
    n_x = validation.check_integer("n_x", n_x, minimum=1)
    m = validation.check_integer("m", m, minimum=1)
    dtype = np.dtype(dtype)
    if dtype not in validation.KERNEL_DTYPES:
        raise ValueError(f"dtype must be float64 or float32; got {dtype}")
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F'; got {order!r}")
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(n_x) / np.sqrt(n_x)
    # drawn directly in the requested layout: no copy of a possibly large X
    if order == "F":
        X = rng.standard_normal((m, n_x), dtype=dtype).T
    else:
        X = rng.standard_normal((n_x, m), dtype=dtype)
    z = np.dot(w_true.astype(dtype), X).astype(np.float64)
    Y = (rng.random(m) < 1 / (1 + np.exp(-z))).astype(np.float64).reshape(1, m)
    return X, Y


def _zipf_tokens_per_row(probabilities, nnz_per_row):
    """The mean number of tokens per row that gives ``nnz_per_row`` distinct words on average,
    at most ``20 * nnz_per_row`` (fewer distinct words when ``nnz_per_row`` nears the size of
    the vocabulary, which would otherwise need unboundedly many tokens).

    With a Poisson number of tokens of mean ``t``, word ``j`` appears in a row with
    probability ``1 - exp(-t p_j)``: their sum is increasing in ``t``, solved by bisection.
    """
    def distinct(t):
        return float(np.sum(-np.expm1(-t * probabilities)))

    low, high = float(nnz_per_row), float(nnz_per_row)
    while distinct(high) < nnz_per_row:
        if high >= 20 * nnz_per_row:
            return 20.0 * nnz_per_row
        low, high = high, 2.0 * high
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if distinct(middle) < nnz_per_row else (low, middle)
    return high


def make_text_problem(n_samples, n_features, nnz_per_row=40, *, dtype=np.float64, seed=0):
    """A seeded sparse problem shaped like text: tf-idf of Zipf-distributed words.

    Each row is a document of a Poisson number of tokens (words), drawn from a vocabulary of
    ``n_features`` words with Zipf frequencies (word of rank ``r`` drawn with probability
    proportional to ``1 / r``: a few words in almost every row, a long tail of rare ones;
    the ranks are shuffled over the columns). The mean number of tokens is chosen so that a
    row has ``nnz_per_row`` distinct words on average. Weights are scikit-learn's
    ``TfidfVectorizer`` defaults: count × (``ln((1 + n) / (1 + df)) + 1``), each row then
    L2-normalized. Labels are drawn from a logistic model without intercept, with fixed
    random weights (shifted so that ``z = X @ w`` has mean 0, scaled so that it has standard
    deviation 2): learnable, not separable, roughly balanced. Built from index arrays
    (vectorized NumPy, no dense intermediate): 300 000 × 200 000 with 40 words per row
    (12 M non-zeros) takes a few seconds.

    Parameters
    ----------
    n_samples, n_features : int
        Number of rows (documents) and of columns (the vocabulary), each at least 1.
    nnz_per_row : int, default=40
        Mean number of distinct words (non-zeros) per row, from 1 to ``n_features`` (rows
        get fewer when it nears ``n_features``: at most ``20 * nnz_per_row`` tokens a row
        on average).
    dtype : float64 or float32, default=numpy.float64
        dtype of ``X``'s values (computed in float64, then cast).
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same problem.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        The documents, one per row (scikit-learn's layout), ``dtype`` values, int32 column
        indices sorted within each row with no duplicates, each non-empty row of unit L2
        norm.
    y : ndarray of shape (n_samples,)
        float64 labels 0. or 1.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlr.datasets import make_text_problem
    >>> X, y = make_text_problem(1000, 500, nnz_per_row=10)
    >>> X.shape, y.shape, X.dtype, X.indices.dtype
    ((1000, 500), (1000,), dtype('float64'), dtype('int32'))
    >>> 8 < X.nnz / X.shape[0] < 12
    True
    >>> bool(np.isin(y, [0.0, 1.0]).all())
    True
    """
    import scipy.sparse

    n_samples = validation.check_integer("n_samples", n_samples, minimum=1)
    n_features = validation.check_integer("n_features", n_features, minimum=1)
    nnz_per_row = validation.check_integer("nnz_per_row", nnz_per_row, minimum=1)
    if nnz_per_row > n_features:
        raise ValueError(f"nnz_per_row must be <= n_features ({n_features}); got {nnz_per_row}")
    dtype = np.dtype(dtype)
    if dtype not in validation.KERNEL_DTYPES:
        raise ValueError(f"dtype must be float64 or float32; got {dtype}")
    if n_features > np.iinfo(np.int32).max:
        raise ValueError(f"n_features must fit int32 indices; got {n_features}")
    rng = np.random.default_rng(seed)
    probabilities = 1.0 / np.arange(1, n_features + 1)
    probabilities /= probabilities.sum()
    column_of_rank = rng.permutation(n_features).astype(np.int32)
    tokens = _zipf_tokens_per_row(probabilities, nnz_per_row)
    lengths = rng.poisson(tokens, n_samples)
    # each token: its word by inverse transform sampling of the Zipf law
    cdf = np.cumsum(probabilities)
    ranks = np.searchsorted(cdf, rng.random(int(lengths.sum())) * cdf[-1], side="right")
    columns = column_of_rank[np.minimum(ranks, n_features - 1)]
    rows = np.repeat(np.arange(n_samples, dtype=np.int32), lengths)
    # duplicates summed (the counts), column indices sorted within rows: canonical CSR
    counts = scipy.sparse.coo_matrix(
        (np.ones(len(columns)), (rows, columns)), shape=(n_samples, n_features)).tocsr()
    counts.sum_duplicates()
    del rows, columns, ranks
    document_frequency = np.bincount(counts.indices, minlength=n_features)
    idf = np.log((1.0 + n_samples) / (1.0 + document_frequency)) + 1.0
    values = counts.data * idf[counts.indices]
    row_of_value = np.repeat(np.arange(n_samples), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row_of_value, weights=values * values, minlength=n_samples))
    norms[norms == 0.0] = 1.0  # a document of no token stays an empty row
    values /= norms[row_of_value]
    index_type = np.int32 if counts.nnz <= np.iinfo(np.int32).max else np.int64
    X = scipy.sparse.csr_matrix((values.astype(dtype), counts.indices.astype(np.int32),
                                 counts.indptr.astype(index_type)), shape=(n_samples, n_features))
    X.has_sorted_indices = True
    w_true = rng.standard_normal(n_features)
    z = X @ w_true
    row_sums = X @ np.ones(n_features)
    if row_sums.mean() > 0:  # w_true - c: z centred (balanced labels), still no intercept
        z -= row_sums * (z.mean() / row_sums.mean())
    spread = float(np.std(z))
    z *= 2.0 / spread if spread > 0 else 0.0
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y
