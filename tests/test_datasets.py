"""The course's data files and the synthetic problems."""

import sys

import numpy as np
import pytest

from fastlr import datasets
from helpers import COURSE_DATA


def test_course_data_is_prepared_as_the_course_prepares_it(course_data):
    X_train, Y_train, X_test, Y_test, classes = course_data
    assert X_train.shape == (12288, 209) and X_test.shape == (12288, 50)
    assert Y_train.shape == (1, 209) and Y_test.shape == (1, 50)
    assert X_train.flags.f_contiguous and X_train.dtype == np.float64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    assert Y_train.sum() == 72 and Y_test.sum() == 33  # cats, per the data's README
    import h5py

    with h5py.File(COURSE_DATA / datasets.TRAIN_FILE) as f:
        image_7 = np.asarray(f["train_set_x"][7])
    np.testing.assert_array_equal(X_train[:, 7], image_7.reshape(-1) / 255)


def test_course_data_as_float32(course_data):
    X_train, *_ = datasets.load_catvnoncat(COURSE_DATA, dtype=np.float32)
    assert X_train.dtype == np.float32 and X_train.flags.f_contiguous
    np.testing.assert_allclose(X_train, course_data[0], rtol=1e-7)


def test_missing_h5py_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r'pip install "fastlr-vectorized\[data\]"'):
        datasets.load_catvnoncat(tmp_path)


def test_missing_file_is_named(tmp_path):
    pytest.importorskip("h5py")
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        datasets.load_catvnoncat(tmp_path)


@pytest.mark.parametrize("order", "CF")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_make_problem(order, dtype):
    X, Y = datasets.make_problem(7, 1000, dtype=dtype, order=order, seed=3)
    assert X.shape == (7, 1000) and X.dtype == dtype and Y.shape == (1, 1000)
    assert X.flags[{"C": "C_CONTIGUOUS", "F": "F_CONTIGUOUS"}[order]]
    assert set(np.unique(Y)) == {0.0, 1.0}
    assert 0.2 < Y.mean() < 0.8
    X_again, Y_again = datasets.make_problem(7, 1000, dtype=dtype, order=order, seed=3)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(Y, Y_again)
    other, _ = datasets.make_problem(7, 1000, dtype=dtype, order=order, seed=4)
    assert not np.array_equal(other, X)


@pytest.mark.parametrize("arguments, error", [
    (dict(n_x=0, m=3), ValueError), (dict(n_x=2, m=2.0), TypeError),
    (dict(n_x=2, m=3, order="K"), ValueError), (dict(n_x=2, m=3, dtype=np.int64), ValueError),
])
def test_make_problem_rejects(arguments, error):
    with pytest.raises(error):
        datasets.make_problem(**arguments)
