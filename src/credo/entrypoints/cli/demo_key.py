"""The demo organization's API key, kept in the data directory beside the development master
key, so that each `credo demo` (`make run`) prints the same key instead of adding one more.

Only a key's hash is in the database; the key itself is kept here, readable by its owner
alone (mode 0600), as the development master key is.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from credo.services.tenancy.organizations import API_KEY_PREFIX

DEMO_KEY_NAME = "Demo key"
FILE_NAME = "demo-api-key"


def key_path(folder: Path) -> Path:
    return folder / FILE_NAME


def saved_key(path: Path) -> str | None:
    """The key kept at `path`, or None when there is none that could be one."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    plausible = text.startswith(API_KEY_PREFIX) and len(text) <= 200 and text.isascii()
    return text if plausible and text.isprintable() else None


def save_key(path: Path, key: str) -> None:
    """Keep `key` at `path` (mode 0600): written beside it, then moved over it, so that a
    crash leaves the old key or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key + "\n")
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
