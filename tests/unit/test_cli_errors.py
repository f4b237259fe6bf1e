"""Every `credo` error is one line on stderr and a non-zero exit: a mistyped command line,
a refused request, a broken setting, something unexpected, and a file `credo verify` cannot
take as a credential, which it says in words."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import MASTER_KEY

BOXES = "│╭╮╰╯─┃━┏┓"


def credo(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`credo ARGS` in a process of its own, in `cwd`, with only these CREDO_ settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREDO_")}
    return subprocess.run(
        [sys.executable, "-m", "credo.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**base, "COLUMNS": "60", **env},
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error line, once it is checked to be the only output, on stderr."""
    assert done.returncode != 0, done
    assert done.stdout == "", done
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), done.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in line and not set(line) & set(BOXES), line
    return line


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def settings(workdir: Path) -> dict[str, str]:
    """A migrated SQLite database of its own, shared by this module's commands."""
    env = {
        "CREDO_DATABASE_URL": f"sqlite:///{workdir / 'credo.db'}",
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
    }
    done = credo("db", "upgrade", cwd=workdir, **env)
    assert done.returncode == 0, done.stderr
    return env


# --------------------------------------------------------------------------- the command line

USAGE = [
    (["nope"], "no such command 'nope'", "credo --help"),
    (["--nope"], "no such option: --nope", "credo --help"),
    (["org", "nope"], "no such command 'nope'", "credo org --help"),
    (["audit", "--nope"], "no such option: --nope", "credo audit --help"),
    (["org", "create"], "missing argument 'NAME'", "credo org create --help"),
    (["credits"], "missing option '--org'", "credo credits --help"),
    (["serve", "--port", "eighty"], "'--port'", "credo serve --help"),
    (["worker", "--poll", "soon"], "'--poll'", "credo worker --help"),
    (["serve", "--ssl-certfile", "/no/such/cert.pem"], "does not exist", "credo serve --help"),
    (["credits", "--org", "a", "b"], "unexpected extra argument", "credo credits --help"),
]


@pytest.mark.parametrize(("args", "says", "see"), USAGE, ids=[" ".join(u[0]) for u in USAGE])
def test_a_bad_command_line_is_one_line_and_exit_2(
    args: list[str], says: str, see: str, tmp_path: Path
) -> None:
    done = credo(*args, cwd=tmp_path)
    line = one_line_error(done)
    assert done.returncode == 2
    assert says in line and f"(see '{see}')" in line, line
    assert "Usage:" not in done.stderr


@pytest.mark.parametrize("args", [[], ["db"], ["org"]], ids=["credo", "db", "org"])
def test_a_command_group_alone_shows_its_help(args: list[str], tmp_path: Path) -> None:
    done = credo(*args, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done
    assert done.stdout.startswith(f"Usage: {' '.join(['credo', *args])} ")


def test_a_refusal_of_the_command_itself_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(credo("user", "remove", "a@x.org", "--org", "x", cwd=tmp_path))
    assert "the only action is add" in line
    cert = tmp_path / "cert.pem"
    cert.write_text("not read: the key is missing")
    line = one_line_error(credo("serve", "--ssl-certfile", str(cert), cwd=tmp_path))
    assert "needs both --ssl-certfile and --ssl-keyfile" in line


# --------------------------------------------------------------------------- refusals and failures

DOMAIN = [
    (["credits", "--org", "org_unknown"], 4, "no such organization"),
    (["audit", "--org", "org_unknown"], 4, "no such organization"),
    (["org", "create", "Gold School", "--plan", "gold"], 2, "unknown plan"),
    (["org", "create", "Dated", "--anchor", "someday"], 2, "anchor must be a date"),
    (["user", "add", "a@x.org", "--org", "org_unknown"], 4, "no such organization"),
]


@pytest.mark.parametrize(("args", "code", "says"), DOMAIN, ids=[" ".join(d[0]) for d in DOMAIN])
def test_a_refused_request_is_one_line_with_its_exit_code(
    args: list[str], code: int, says: str, settings: dict[str, str], workdir: Path
) -> None:
    done = credo(*args, cwd=workdir, **settings)
    assert says in one_line_error(done)
    assert done.returncode == code


def test_an_unreachable_database_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = "postgresql+psycopg://credo@127.0.0.1:1/credo"  # port 1: nothing listens
    done = credo("credits", "--org", "org_x", cwd=tmp_path, CREDO_DATABASE_URL=url)
    assert "database unavailable" in one_line_error(done)
    assert done.returncode == 3


def test_a_bad_setting_is_named_in_one_line(tmp_path: Path) -> None:
    env = {"CREDO_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "CREDO_SMTP_PORT": "many"}
    done = credo("credits", "--org", "org_x", cwd=tmp_path, **env)
    assert "invalid setting: CREDO_SMTP_PORT" in one_line_error(done)
    done = credo("credits", "--org", "org_x", cwd=tmp_path, CREDO_ENVIRONMENT="production")
    assert "CREDO_MASTER_KEY is required" in one_line_error(done)
    assert done.returncode == 2


def test_an_unexpected_error_is_one_line_and_its_traceback_is_there_on_request(
    tmp_path: Path,
) -> None:
    url = {"CREDO_DATABASE_URL": "nosuchdriver://x"}
    done = credo("credits", "--org", "org_x", cwd=tmp_path, **url)
    line = one_line_error(done)
    assert done.returncode == 1
    assert "unexpected" in line and "CREDO_DEBUG=1" in line, line
    debugged = credo("credits", "--org", "org_x", cwd=tmp_path, CREDO_DEBUG="1", **url)
    assert debugged.returncode == 1 and "Traceback" in debugged.stderr


def test_a_server_that_cannot_start_ends_its_log_with_one_error_line(
    settings: dict[str, str], workdir: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = {**settings, "CREDO_WORKER_IN_SERVER": "false"}
        done = credo("serve", "--port", port, cwd=workdir, **env)
    assert done.returncode == 3, done.stderr
    # Above it, the server's log says why (the address is in use).
    assert done.stderr.splitlines()[-1] == "error: the server could not start; its log says why (3)"
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- credo verify


def png(*chunks: tuple[bytes, bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    body = [(b"IHDR", header), *chunks, (b"IDAT", zlib.compress(b"\0\0\0\0")), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(k, d) for k, d in body)


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
NOT_CREDENTIALS = [
    ("notes.txt", b"Ann passed the course.\n", "is not a credential: it is neither JSON"),
    ("data.json", b'{"name": "Ann", "score": 97}', "is not a credential: its JSON has no @context"),
    ("list.json", b"[1, 2, 3]", "is not a credential: its JSON is an array"),
    ("empty.json", b"", "is not a credential: it is empty"),
    ("broken.json", b'{"@context": [', "its JSON is malformed at line 1"),
    ("photo.png", png(), "the PNG carries no credential"),
    ("logo.svg", SVG, "the SVG carries no credential"),
    ("photo.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0", "is not a credential: it is a JPEG image"),
    ("random.bin", bytes(range(256)), "is not a credential: it is neither JSON"),
]


@pytest.mark.parametrize(
    ("name", "content", "says"), NOT_CREDENTIALS, ids=[n[0] for n in NOT_CREDENTIALS]
)
def test_verify_says_in_words_what_is_not_a_credential(
    name: str, content: bytes, says: str, settings: dict[str, str], workdir: Path
) -> None:
    path = workdir / name
    path.write_bytes(content)
    done = credo("verify", str(path), cwd=workdir, **settings)
    line = one_line_error(done)
    assert done.returncode == 2
    assert str(path) in line and says in line, line


@pytest.mark.parametrize("missing", ["missing.json", "."], ids=["missing file", "directory"])
def test_verify_says_why_a_file_cannot_be_read(
    missing: str, settings: dict[str, str], workdir: Path
) -> None:
    done = credo("verify", missing, cwd=workdir, **settings)
    line = one_line_error(done)
    assert done.returncode == 2
    reason = "no such file or directory" if missing != "." else "is a directory"
    assert line == f"error: cannot read {missing}: {reason}", line
