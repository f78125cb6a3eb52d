"""Time to the optimum: fastlr.LogisticRegression against scikit-learn, scikit-learn-intelex
and glum, side by side in one run. The same as ``fastlr bench --fit`` (takes its options).

::

    pip install ".[sklearn]" scikit-learn-intelex glum h5py
    python bench/fit.py                       # ~3-4 min; allocates 800 MB per large shape
    python bench/fit.py --shapes cat --dtype float64

What is measured and how: :mod:`fastlr.bench.fit`.
"""

import sys

from fastlr.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--fit", *sys.argv[1:]]))
