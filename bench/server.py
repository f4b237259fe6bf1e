"""Peak memory of a served process, read from /proc (Linux)."""

from __future__ import annotations

from pathlib import Path


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident set (VmHWM) of the process and its children, in MB."""
    peak = 0.0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except FileNotFoundError:
            continue
    return peak


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(x) for x in text.split()]
