"""The documentation's table of errors (docs/errors.md, "The error contract") is true: every
row is run.

Each row of the table gives a call, the exception it raises and its message (``…`` standing
for any text). The calls are evaluated in the namespace that the page's ``{testcode}`` block
defines (``np``, ``fastlr``, ``w``, ``X``, ``Y``). A row whose exception is
``fastlr.BackendUnavailable`` runs with Numba made unimportable, as on a machine without it.
"""

import re
import sys
from pathlib import Path

import pytest

import fastlr
from fastlr import registry

PAGE = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def contract_section() -> str:
    return PAGE.read_text(encoding="utf-8")


def unquote(cell: str) -> str:
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] == "`":
        return cell[1:-1]
    return cell


def contract_rows() -> list[tuple[str, str, str, str]]:
    """``(bad input, call, exception, message)`` for every row of the section's table."""
    rows = []
    for line in contract_section().splitlines():
        if not line.startswith("|"):
            continue
        cells = [unquote(cell) for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"a row of the table needs 4 cells: {line!r}"
        if cells[0] == "Bad input" or set(cells[0]) <= set("- "):
            continue  # the header and the line under it
        rows.append(tuple(cells))
    return rows


def setup_namespace() -> dict:
    code = re.search(r"```\{testcode\}\n(.*?)```", contract_section(), re.DOTALL)
    assert code, "the page needs a ```{testcode} block defining the arguments of the calls"
    namespace: dict = {}
    exec(code.group(1), namespace)  # the page's own example code
    return namespace


def message_pattern(message: str) -> str:
    return ".*".join(re.escape(part) for part in message.split("…"))


ROWS = contract_rows()


def test_the_table_covers_every_kind_of_error():
    raised = {row[2] for row in ROWS}
    assert {"ValueError", "TypeError", "fastlr.BackendUnavailable"} <= raised
    assert len(ROWS) >= 20
    assert issubclass(fastlr.BackendUnavailable, ImportError)  # what the section says


def test_the_table_is_one_table():
    # a blank line inside a Markdown table ends it: the rows after it render as raw text
    lines = contract_section().splitlines()
    rows = [k for k, line in enumerate(lines) if line.startswith("|")]
    assert rows == list(range(rows[0], rows[-1] + 1)), "a line that is not a row splits it"


@pytest.fixture
def numba_not_installed(monkeypatch):
    """``import numba`` fails, as on a machine without it; the registry forgets what it knew."""
    monkeypatch.setitem(sys.modules, "numba", None)
    for name in list(sys.modules):
        if name.startswith(("fastlr.backends.numba_", "fastlr.backends._numba_primitives")):
            monkeypatch.delitem(sys.modules, name)
    registry.clear_caches()
    yield
    registry.clear_caches()  # (monkeypatch then puts numba and the modules back)


@pytest.mark.parametrize("bad_input, call, exception, message", ROWS,
                         ids=[row[0] for row in ROWS])
def test_documented_row(request, bad_input, call, exception, message):
    namespace = setup_namespace()
    error_type = eval(exception, namespace)  # a name: ValueError, fastlr.BackendUnavailable
    assert isinstance(error_type, type) and issubclass(error_type, Exception)
    if error_type is fastlr.BackendUnavailable:
        request.getfixturevalue("numba_not_installed")
    with pytest.raises(error_type) as raised:
        eval(call, namespace)
    assert type(raised.value) is error_type, (  # not a subclass: the exact type documented
        f"{call} raised {type(raised.value).__name__}: {raised.value}; the page says "
        f"{exception}")
    assert re.fullmatch(message_pattern(message), str(raised.value), re.DOTALL), (
        f"{call} says\n  {raised.value}\nthe page says\n  {message}")
