"""One error catalogue: every refusal is a DomainError of credo.domain.errors, and the
README lists every code the API can answer."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from credo.domain import errors

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "credo"
# Codes answered without a DomainError (routing, body limits, faults, readiness).
OTHERS = {
    "method_not_allowed",
    "unsupported_media_type",
    "internal_error",
    "database_unavailable",
    "not_ready",
}


def catalogue() -> set[str]:
    return {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DomainError)
    }


def test_no_error_class_with_a_code_lives_outside_the_catalogue() -> None:
    outside = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "domain" / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets
                    ):
                        outside.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert outside == []


def test_the_readme_lists_every_code() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    listed = set(re.findall(r"^\| \d{3} \| `([a-z_]+)` \|", readme, re.M))
    assert catalogue() | OTHERS == listed
