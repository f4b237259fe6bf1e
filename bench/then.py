"""The project as it was at a commit, served beside today's in the same bench run.

`code_at(commit)` exports the commit's `src/` into a temporary directory (git archive, no
checkout touched) and yields what a served process needs to run it: PYTHONPATH ahead of the
installed package, and the path that tells an older release is up (it had no /readyz).
The same virtual environment serves both, so the difference measured is the code's.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

# The commit issue 10's figures are compared with: before its work, and before the runtime
# of issue 9 was re-laid.
BEFORE = "5fa813e"


@dataclass(frozen=True)
class Release:
    commit: str
    env: dict[str, str]
    ready_path: str


class Unavailable(Exception):
    """The commit cannot be had here (not a git checkout, or a shallow one without it)."""


@contextmanager
def code_at(commit: str = BEFORE) -> Iterator[Release]:
    root = Path(__file__).resolve().parents[1]
    try:
        full = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", f"{commit}^{{commit}}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", full, "src"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise Unavailable(f"commit {commit} is not in this checkout ({exc})") from None
    with tempfile.TemporaryDirectory(prefix=f"credo-{commit}-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / "src"
        ready = "/readyz" if (src / "credo/entrypoints/api/health.py").exists() else "/healthz"
        yield Release(full[:10], {"PYTHONPATH": str(src)}, ready)


def release_or_none(stack: ExitStack, commit: str, say: Callable[[str], object]) -> Release | None:
    """`code_at(commit)` entered on `stack`; None, said why, when unavailable or not asked."""
    if not commit:
        return None
    try:
        return stack.enter_context(code_at(commit))
    except Unavailable as exc:
        say(f"[yellow]no comparison with an earlier commit: {exc}[/]")
        return None
