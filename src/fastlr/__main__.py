"""``python -m fastlr``: the ``fastlr`` command, for an environment whose scripts folder is
not on PATH."""

import sys

from fastlr.cli import main

if __name__ == "__main__":
    sys.exit(main())
