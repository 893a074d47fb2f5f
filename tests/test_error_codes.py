"""CI error numbers appear in cinb's code only as the named constants of cinb/errors.py."""

from __future__ import annotations

import ast
from pathlib import Path

from cinb import errors

PACKAGE = Path(errors.__file__).resolve().parent
CODES = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, int)}


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def literal_codes(source: str) -> list[int]:
    """Line numbers where code (not docstrings or comments) spells a CI error number as a literal:
    any ``code=<int>`` keyword, or a negative literal equal to one of the constants."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "code" and _int_literal(node.value) is not None:
            lines.append(node.lineno)
        elif isinstance(node, ast.UnaryOp) and _int_literal(node) in CODES:
            lines.append(node.lineno)
    return sorted(set(lines))


def test_the_scan_finds_literal_codes():
    assert literal_codes('raise CIError("x", code=-103)\n') == [1]
    assert literal_codes("if err.code in (-167, -442):\n    pass\n") == [1]
    assert literal_codes('raise CIError("x", code=BAD_PARAMETER)\n') == []
    assert literal_codes('"""CIError("x", code=-103)"""  # code=-103\nlo = -100\n') == []


def test_cinb_names_every_error_code():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "errors.py":
            continue
        lines = literal_codes(path.read_text(encoding="utf-8"))
        if lines:
            found[str(path.relative_to(PACKAGE.parent))] = lines
    assert found == {}, "use the constants of cinb/errors.py instead of literal error numbers"
