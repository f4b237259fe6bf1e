"""What the code tells operators, without knowing who listens: services and adapters report
events ("credits.charged", 12) and timed phases ("sign", 0.0007 s) here; the entrypoint that
runs them installs a sink (adapters/metrics.py turns them into Prometheus metrics). With no
sink installed, reporting costs a function call."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    def event(self, name: str, value: float, labels: dict[str, str]) -> None: ...
    def phase(self, name: str, seconds: float) -> None: ...


_sink: Sink | None = None


def install(sink: Sink | None) -> None:
    global _sink
    _sink = sink


def installed() -> Sink | None:
    return _sink


def event(name: str, value: float = 1, **labels: str) -> None:
    if _sink is not None and value:
        _sink.event(name, value, labels)


def phase(name: str, seconds: float) -> None:
    if _sink is not None:
        _sink.phase(name, seconds)
