"""How fastlr is installed: its distribution's name, the ``pip install`` hint of each
optional extra, and why a compiled extension was not built.

The import name is ``fastlr``; the distribution is ``fastlr-vectorized``, because the name
``fastlr`` on PyPI belongs to an unrelated project. Every hint fastlr prints comes from
:func:`pip_install`, so none of them can send a user to the other package.
"""

from __future__ import annotations

import json
from pathlib import Path

#: the name to ``pip install`` (the import name stays ``fastlr``)
DISTRIBUTION = "fastlr-vectorized"

#: written by setup.py beside the extensions when one was not built (FASTLR_ALLOW_NO_CYTHON=1)
BUILD_REPORT = Path(__file__).parent / "backends" / "_build.json"


def pip_install(extra: str | None = None) -> str:
    """The command that installs fastlr with ``extra`` (e.g. ``"sklearn"``), quoted for a
    shell: ``pip install "fastlr-vectorized[sklearn]"``."""
    return f'pip install "{DISTRIBUTION}[{extra}]"' if extra else f"pip install {DISTRIBUTION}"


def build_failure(module: str) -> str:
    """Why the extension ``module`` (e.g. ``"fastlr.backends._cython"``) was not built at
    install time, as setup.py recorded it; '' when it was built or nothing was recorded."""
    try:
        return json.loads(BUILD_REPORT.read_text(encoding="utf-8")).get(module, "")
    except (OSError, ValueError):
        return ""
