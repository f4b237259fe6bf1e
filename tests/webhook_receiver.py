"""A real HTTP server on 127.0.0.1 that records the webhooks it receives and answers as a
test tells it to (a status, a delay, a redirect, a long body)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    location: str | None = None


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)  # taken in turn; then `default`
    default: Answer = field(default_factory=Answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def next_answer(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            answer = receiver.next_answer()
            if answer.delay:
                time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("location", answer.location)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender stopped reading, as it should past its cap

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    got = Receiver(server)
    server.RequestHandlerClass = _handler(got)
    server.daemon_threads = True
    # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()


@pytest.fixture
def settled_webhooks(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that made webhook endpoints in the shared test database: turn them off
    and give up their pending deliveries, so that no later test's worker sends them (at
    real time, long after a fixed clock's failures began, it would disable them and
    e-mail their owners in that test's outbox)."""
    from sqlalchemy import Engine, update

    from credo.adapters.db import tables as t

    # Taken now: at teardown the engine fixture may be gone (it is the test's database).
    engine: Engine | None = (
        request.getfixturevalue("engine") if "engine" in request.fixturenames else None
    )
    yield
    if engine is None:
        return
    with engine.begin() as conn:
        conn.execute(
            update(t.webhook_deliveries)
            .where(t.webhook_deliveries.c.state == "pending")
            .values(state="failed", next_attempt_at=None, leased_until=None)
        )
        conn.execute(
            update(t.webhooks)
            .where(t.webhooks.c.disabled_at.is_(None))
            .values(disabled_at=t.webhooks.c.created_at, disabled_reason="test over")
        )
