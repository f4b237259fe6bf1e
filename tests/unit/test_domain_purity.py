"""The domain core imports nothing but the standard library and itself (architecture, habit 1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import credo.domain

DOMAIN = Path(credo.domain.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_only_stdlib_and_itself() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert len(files) >= 5
    offenders = {}
    for path in files:
        bad = {
            name
            for name in _imports(path)
            if not name.startswith("credo.domain")
            and name.split(".")[0] not in sys.stdlib_module_names
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_domain_never_reads_the_clock() -> None:
    for path in DOMAIN.glob("*.py"):
        text = path.read_text()
        for call in ("datetime.now(", "date.today(", "time.time(", "utcnow("):
            assert call not in text, f"{path.name} reads the clock with {call}"
