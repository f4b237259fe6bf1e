"""Serving the API with uvicorn: one process, or a supervisor and several worker processes.

What uvicorn's own supervisor does not: it restarts a dead worker forever and exits 0 when
workers cannot start, so a broken release loops quietly under systemd. Here a worker that
fails at startup, or workers dying more than `max_deaths` times in `window` seconds, stop
the supervisor with a non-zero exit, for the service manager to see and act on. Health
checks get `healthcheck_timeout` seconds: on a machine starved of CPU a healthy worker may
take many seconds to answer its first ping, and killing it then only adds load."""

from __future__ import annotations

import collections
import functools
import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from socket import socket
from typing import Any

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from credo import logs

log = logging.getLogger("credo.server")

APP = "credo.entrypoints.api.app:create_app"
FAILED = 1  # the exit code when workers keep dying


@dataclass(frozen=True)
class Serving:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    healthcheck_timeout: int = 30
    graceful_timeout: int = 30  # in-flight requests get this long after SIGTERM
    max_deaths: int = 5
    window: float = 60.0
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    app: str = APP
    log_format: str = "text"


def _guarded(app: str) -> Any:
    """The application the factory `app` ("module:name") makes, or the end of this process
    with uvicorn's STARTUP_FAILURE exit code: the supervisor reads that code even when a
    worker died between two of its health checks."""
    from uvicorn.importer import import_from_string

    try:
        return import_from_string(app)()
    except Exception:
        log.exception("the application cannot start")
        sys.exit(STARTUP_FAILURE)


def serve(s: Serving) -> int:
    """Serve until SIGTERM or SIGINT; answer the process's exit code."""
    config = Config(
        functools.partial(_guarded, s.app),
        factory=True,
        host=s.host,
        port=s.port,
        workers=s.workers,
        log_level="info",
        log_config=logs.config(s.log_format),
        access_log=False,  # the request line is ours (observability.py), by route template
        ssl_certfile=str(s.ssl_certfile) if s.ssl_certfile else None,
        ssl_keyfile=str(s.ssl_keyfile) if s.ssl_keyfile else None,
        timeout_worker_healthcheck=s.healthcheck_timeout,
        timeout_graceful_shutdown=s.graceful_timeout,
    )
    if s.workers <= 1:
        server = Server(config)
        # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again for the
        # handler it found; this one makes that a clean return, so that the caller stops
        # its worker child and exits 0 (a graceful stop is not a crash to a supervisor).
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)
        server.run()
        return 0 if server.started else STARTUP_FAILURE
    supervisor = Supervisor(config, [config.bind_socket()], s.max_deaths, s.window)
    supervisor.run()
    return FAILED if supervisor.failed else 0


class Supervisor(Multiprocess):
    def __init__(
        self, config: Config, sockets: list[socket], max_deaths: int, window: float
    ) -> None:
        super().__init__(config, sockets)
        self.max_deaths = max_deaths
        self.window = window
        self.failed = False
        self._deaths: collections.deque[float] = collections.deque()

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            # Asked first: a dead worker's pipe stays open, and its ping would wait out the
            # whole timeout. A live worker that answers (started or still starting) is well.
            exited = not process.process.is_alive()
            if not exited and process.ping(self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # dead already, or hung past the health check's patience
            process.join()
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and now - self._deaths[0] > self.window:
                self._deaths.popleft()
            # A worker that could not start (its app, TLS or socket) exits with uvicorn's
            # STARTUP_FAILURE: a broken release or setting, which restarting would only
            # loop. Any other end, a signal's included, is a death.
            never_served = exited and process.exitcode == STARTUP_FAILURE
            if never_served or len(self._deaths) > self.max_deaths:
                why = (
                    f"failed to start (exit code {process.exitcode})"
                    if never_served
                    else f"died: {len(self._deaths)} deaths in {self.window:.0f} s"
                )
                log.error("worker %s %s; stopping so that a supervisor can act", process.pid, why)
                self.failed = True
                self.should_exit.set()
                return
            log.warning(
                "worker %s died (exit code %s); starting another", process.pid, process.exitcode
            )
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[idx] = replacement
