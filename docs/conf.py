"""Sphinx configuration of fastlr's documentation site.

Built offline (no intersphinx, no remote images) with warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest

The lesson (``lesson.py``, a notebook in plain-Python form) is executed at build time by
myst-nb, so its outputs cannot rot; every ``{doctest}`` block of the pages and every
``Examples`` section of the API reference runs under the doctest builder.
"""

import os
from pathlib import Path

import fastlr

DOCS = Path(__file__).resolve().parent

project = "fastlr"
author = "the fastlr developers"
copyright = "2026, the fastlr developers"
release = fastlr.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_nb",  # Markdown pages (MyST) and the executed lesson
    "numpydoc",  # the API reference from numpydoc docstrings, validated
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
]

# .rst first: autosummary writes its generated pages with the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".py": "myst-nb"}
# the lesson is a jupytext "percent" notebook; conf.py itself is not a page
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
exclude_patterns = ["_build", "conf.py", "**/.ipynb_checkpoints"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# execute the lesson on every build, in docs/ (it finds the course's data from there), and
# fail the build if a cell raises
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_merge_streams = True

autosummary_generate = True
templates_path = ["_templates"]
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# every public name's docstring is checked; a failure is a warning, so an error under -W
numpydoc_validation_checks = {"GL08", "PR01", "PR02", "PR03", "PR06", "PR10", "RT01", "RT03"}
# scikit-learn's inherited methods are documented by scikit-learn
numpydoc_validation_exclude = {r"\.get_params$", r"\.set_params$", r"\.set_.*_request$",
                               r"\.get_metadata_routing$", r"\.score$", r"\.__init__$"}

def _course_data():
    """The course's data folder (FASTLR_COURSE_DATA, or shared/data beside a parent of this
    folder, as CI has it), or None: the examples that need it are skipped without it."""
    env = os.environ.get("FASTLR_COURSE_DATA")
    candidates = [Path(env)] if env else [p / "shared" / "data" for p in DOCS.parents]
    return next((str(c) for c in candidates if (c / "train_catvnoncat.h5").is_file()), None)


doctest_global_setup = f"""
import numpy as np
import fastlr
CAT_DATA = {_course_data()!r}
"""

html_theme = "pydata_sphinx_theme"
html_title = f"fastlr {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False

# the command-line reference: `fastlr --help` and `fastlr bench --help`, generated here so
# that the page is the parser's own text
os.environ.setdefault("COLUMNS", "90")


def _write_cli_help(app):
    from fastlr import cli

    parser = cli.build_parser()
    out = [parser.format_help()]
    for action in parser._subparsers._group_actions:  # argparse keeps them here
        for name, sub in action.choices.items():
            out.append(f"$ fastlr {name} --help\n{sub.format_help()}")
    target = DOCS / "_build" / "generated"
    target.mkdir(parents=True, exist_ok=True)
    (target / "cli-help.txt").write_text("$ fastlr --help\n" + "\n".join(out),
                                          encoding="utf-8")


def _write_lesson_notebook(app):
    """lesson.ipynb beside the pages, for the download link (outputs are added by readers)."""
    import jupytext

    notebook = jupytext.read(DOCS / "lesson.py", fmt="py:percent")
    target = DOCS / "_build" / "generated"
    target.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, target / "lesson.ipynb", fmt="ipynb")


def setup(app):
    app.connect("builder-inited", _write_cli_help)
    app.connect("builder-inited", _write_lesson_notebook)
