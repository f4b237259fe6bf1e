"""Test machines on one machine: network namespaces joined by a bridge, each with an address
of its own, for tests of what crosses a network (tests/e2e/test_many_machines.py).

`network(n)` makes n hosts (10.213.X.11, .12, ...) behind a bridge at 10.213.X.1 in the
test's own namespace, and removes them afterwards. Only these addresses, made here, are
ever sent traffic. `Relay` forwards a port of the bridge address to a loopback service (the
machine's PostgreSQL listens on loopback only), and `PgBouncer` runs Debian's pgbouncer
there in transaction pooling mode.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

# A subnet per test process, so that concurrent runs on one machine do not meet.
SUBNET = f"10.213.{20 + os.getpid() % 200}"
GATEWAY = f"{SUBNET}.1"


def ip(*args: str, netns: str | None = None) -> None:
    argv = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    subprocess.run(argv, check=True, capture_output=True, text=True)


def why_not() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    probe = f"credo-probe-{os.getpid()}"
    try:
        ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"cannot make a network namespace: {exc.stderr.strip()}"
    ip("netns", "del", probe)
    return None


@dataclass(frozen=True)
class Host:
    netns: str
    address: str

    def popen(self, argv: list[str], **kw: object) -> subprocess.Popen[bytes]:
        """Start a process inside this host, in a process group of its own."""
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            ["ip", "netns", "exec", self.netns, *argv], start_new_session=True, **kw
        )


@contextmanager
def network(n: int) -> Iterator[list[Host]]:
    tag = f"{os.getpid() % 100000}"
    bridge = f"crbr{tag}"
    hosts = [Host(f"credo-h{i}-{tag}", f"{SUBNET}.{11 + i}") for i in range(n)]
    made: list[str] = []
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for i, host in enumerate(hosts):
            ip("netns", "add", host.netns)
            made.append(host.netns)
            outside = f"crv{i}{tag}"
            ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
            ip("link", "set", outside, "master", bridge, "up")
            ip("addr", "add", f"{host.address}/24", "dev", "eth0", netns=host.netns)
            ip("link", "set", "eth0", "up", netns=host.netns)
            ip("link", "set", "lo", "up", netns=host.netns)
        yield hosts
    finally:
        for name in made:
            with suppress(subprocess.CalledProcessError):
                ip("netns", "del", name)  # its veth end goes with it, and so the peer
        with suppress(subprocess.CalledProcessError):
            ip("link", "del", bridge)


class Relay:
    """TCP from (GATEWAY, port) to (127.0.0.1, target), on a thread of this process."""

    def __init__(self, target: int, port: int) -> None:
        self.target, self.port = target, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Relay:
        self._thread.start()
        assert self._ready.wait(10), "the relay did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(20)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._pipe, GATEWAY, self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.close()
        for writer in list(self._open):
            with suppress(ConnectionError, OSError):
                await writer.wait_closed()
        await self._server.wait_closed()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            self._open.discard(writer)
            return
        self._open.add(up_w)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                with suppress(ConnectionError, OSError):
                    await dst.wait_closed()
                self._open.discard(dst)

        await asyncio.gather(copy(reader, up_w), copy(up_r, writer))


@contextmanager
def pgbouncer(workdir: Path, port: int, database: str) -> Iterator[None]:
    """Debian's pgbouncer on (GATEWAY, port), transaction pooling, in front of the loopback
    PostgreSQL. It will not run as root: it runs as the `postgres` user."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "users.txt").write_text('"postgres" ""\n')
    ini = workdir / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"{database} = host=127.0.0.1 port=5432 dbname={database}\n"
        "[pgbouncer]\n"
        f"listen_addr = {GATEWAY}\n"
        f"listen_port = {port}\n"
        "auth_type = trust\n"
        f"auth_file = {workdir / 'users.txt'}\n"
        "pool_mode = transaction\n"
        "max_client_conn = 500\n"
        "default_pool_size = 20\n"
        f"unix_socket_dir = {workdir}\n"
        f"logfile = {workdir / 'pgbouncer.log'}\n"
        f"pidfile = {workdir / 'pgbouncer.pid'}\n"
    )
    os.chmod(workdir, 0o777)
    for path in workdir.iterdir():
        os.chmod(path, 0o666)
    proc = subprocess.Popen([binary, "-u", "postgres", str(ini)])
    try:
        deadline = time.monotonic() + 20
        while not _listening(GATEWAY, port):
            assert proc.poll() is None, (workdir / "pgbouncer.log").read_text()
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _listening(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
