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
