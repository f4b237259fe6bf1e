"""Signing over HTTP against a peer: Credo beside the Digital Credentials Consortium's
signing service (github.com/digitalcredentials/signing-service, Node, Digital Bazaar's
libraries), both measured on this machine in the same run.

    python -m bench.peer [--dcc PATH] [--seconds 15]

PATH (or CREDO_BENCH_DCC) is a checkout of the signing service, or a git directory of one
(its HEAD is exported with `git archive`); without it the peer is skipped with the reason.
The source is copied into a temporary directory, `npm ci --omit=dev` installs it there and
`node server.js` serves one tenant, quiet (no access log, errors only, into the temporary
directory), as its Docker image runs it (NODE_ENV=production).

Each target is one server process (Node's event loop; Credo on SQLite with one uvicorn
worker) loaded by wrk from 16 connections for `--seconds` after a 5-second warm-up, every
request an Open Badges 3.0 credential (VC 2.0) for a recipient of its own, signed with
eddsa-rdfc-2022:

- peer: `POST /instance/bench/credentials/sign?suite=eddsa2022`, the unsigned credential as
  the body (the README's example, VC 2.0 as in its src/test-fixtures/vc.js). It signs and
  answers; it stores nothing and adds no status entry.
- Credo `POST /v1/credentials`: `{"group_id", "recipient": {"name", "email"}}`; Credo builds
  the credential, signs it, takes the recipient's seat, records the ledger entry, stores the
  credential and queues its e-mail (not delivered: CREDO_WORKER_IN_SERVER=false).
- Credo `POST /credentials/issue` (W3C VC API, the organization's API key as Bearer):
  `{"credential"}`, the same credential as the peer's; Credo sets the issuer, adds its two
  status entries, signs, takes the seat and stores it.

Figures: requests per second, p50 and p99 latency (wrk), the server's CPU milliseconds per
credential (psutil, the server process and its children, over the timed run), and each
Credo row's requests per second over the peer's. Any answer that is not 2xx fails the run.

`measure()` returns the rows (for `bench/__main__.py`); `main()` prints them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from tests.e2e.server import free_port, running_server

from bench.operations import server_cpu
from bench.publishing import CONNECTIONS, Load
from bench.workloads import WRK_THREADS, new_org

WARM_SECONDS = 5
TARGET_RATIO = 1.5
TENANT = "bench"
# The seed of the signing service's own tests (src/test-fixtures/.env.testing): a did:key.
TENANT_SEED = "z1AeiPT496wWmo9BG2QYXeTusgFSZPNG3T9wNeTtjrQ3rCB"
SIGN_PATH = f"/instance/{TENANT}/credentials/sign?suite=eddsa2022"
V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PEER = "DCC signing-service (Node)"

# The fixture's VC 2.0 OpenBadgeCredential (src/test-fixtures/vc.js), less its
# Ed25519Signature2020 context (neither side signs that suite here), and with the
# recipient's e-mail as an unhashed OB IdentityObject, the field Credo keys a seat on.
# `issuer` has no id: the peer sets its tenant's DID, Credo the organization's.
# {id}, {email} and {n} differ per request (see WRK_SCRIPT).
CREDENTIAL = {
    "@context": [V2, OB],
    "id": "{id}",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "DCC Test Credential",
    "issuer": {
        "type": ["Profile"],
        "name": "Digital Credentials Consortium Test Issuer",
        "url": "https://dcconsortium.org",
        "image": "https://user-images.githubusercontent.com/752326/230469660-8f80d264-eccf-4edd-8e50-ea634d407778.png",
    },
    "validFrom": "2023-08-02T17:43:32.903Z",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "name": "Jane Doe {n}",
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": False,
                "identityHash": "{email}",
            }
        ],
        "achievement": {
            "id": "urn:uuid:bd6d9316-f7ae-4073-a1e5-2f7f5bd22922",
            "type": ["Achievement"],
            "achievementType": "Diploma",
            "name": "Badge",
            "description": "This is a sample credential issued by the Digital Credentials"
            " Consortium to demonstrate the functionality of Verifiable Credentials for"
            " wallets and verifiers.",
            "criteria": {
                "type": "Criteria",
                "narrative": "This credential was issued to a student that demonstrated"
                " proficiency in the Python programming language that occurred from"
                " **February 17, 2023** to **June 12, 2023**.",
            },
            "image": {
                "id": "https://user-images.githubusercontent.com/752326/214947713-15826a3a-b5ac-4fba-8d4a-884b60cb7157.png",
                "type": "Image",
            },
        },
    },
}

# One script for every target; {BODY} is a Lua expression over id, email and n. Each wrk
# thread numbers its requests, and the thread id and a tag new to each wrk invocation make
# every credential id and e-mail new (a warm-up's recipients must not come back as cheaper
# seats already taken). wrk counts only statuses >= 400 as errors, so response() counts
# everything outside 2xx itself; done() reads each thread's globals.
WRK_SCRIPT = (
    r"""
local tag = "{TAG}"
local path = "{PATH}"
local headers = {HEADERS}
local counter = 0
non2xx = 0
first_error = ""
"""
    + WRK_THREADS
    + r"""function request()
  counter = counter + 1
  local n = tostring(counter)
  local id = string.format("urn:uuid:%s-%04x-4000-8000-%012x", tag, tid, counter)
  local email = tag .. "-" .. tid .. "-" .. n .. "@learners.example"
  return wrk.format("POST", path, headers, {BODY})
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 500)
    end
  end
end
function done(summary, latency, requests)
  local bad = 0
  local first = ""
  for _, t in ipairs(threads) do
    bad = bad + (tonumber(t:get("non2xx")) or 0)
    local f = t:get("first_error")
    if first == "" and f then first = f end
  end
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "p50": %f, "p99": %f,'
    .. ' "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
  if first ~= "" then
    io.write("FIRST_ERROR " .. string.gsub(first, "\n", " ") .. "\n")
  end
end
"""
)


class Skipped(Exception):
    """The peer cannot be measured here; the message says why."""


@dataclass(frozen=True)
class Row:
    name: str
    load: Load | None  # None: skipped
    note: str = ""  # the reason a row was skipped, or where the peer came from


@dataclass(frozen=True)
class Target:
    """One endpoint to load: path, headers, and a body template with {id}, {email}, {n}."""

    base: str
    path: str
    headers: Mapping[str, str]
    body: str

    def body_for(self, n: int) -> str:
        """The body of one request, with an id and e-mail no other request has."""
        tag = uuid.uuid4()
        return (
            self.body.replace("{id}", f"urn:uuid:{tag}")
            .replace("{email}", f"{tag.hex}-{n}@learners.example")
            .replace("{n}", str(n))
        )


def _lua_body(template: str) -> str:
    """The Lua expression concatenating `template`'s literal pieces (long brackets: JSON
    needs no escaping there) with the request's id, email and n."""
    parts = []
    for piece in re.split(r"(\{id\}|\{email\}|\{n\})", template):
        if piece in ("{id}", "{email}", "{n}"):
            parts.append(piece[1:-1])
        elif piece:
            if "]==]" in piece:
                raise ValueError("the body template closes a Lua long bracket")
            parts.append(f"[==[{piece}]==]")
    return " .. ".join(parts)


def _lua_headers(headers: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"


def wrk_load(target: Target, seconds: int, pid: int) -> Load:
    """wrk from CONNECTIONS connections against `target`: a warm-up, then the timed run,
    with the CPU of process `pid` (and its children) over the timed run."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: wrk)")

    def run(duration: int) -> dict[str, Any]:
        script = (
            WRK_SCRIPT.replace("{TAG}", uuid.uuid4().hex[:8])
            .replace("{PATH}", target.path)
            .replace("{HEADERS}", _lua_headers(target.headers))
            .replace("{BODY}", _lua_body(target.body))
        )
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
            f.write(script)
            f.flush()
            done = subprocess.run(
                [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "30s",
                 "-s", f.name, target.base],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        return _result(done.stdout, target.path)

    run(WARM_SECONDS)  # JIT, caches, keys and first pages; checked as strictly
    cpu = server_cpu(pid)
    r = run(seconds)
    cpu = server_cpu(pid) - cpu
    if not r["requests"]:
        raise RuntimeError(f"no request to {target.path} was answered")
    return Load(r["requests"] / r["seconds"], r["p50"], r["p99"], cpu * 1000 / r["requests"])


def _result(stdout: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] | None = None
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            found = json.loads(line[len("RESULT ") :])
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout}")
    if found["non_2xx"] or found["socket_errors"]:
        raise RuntimeError(
            f"POST {path}: {found['non_2xx']} answers not 2xx, {found['socket_errors']}"
            f" socket errors:\n{stdout}"
        )
    return found


def preflight(target: Target, check: str) -> None:
    """One request before the load, so that a refused body fails with its answer."""
    r = httpx.post(
        target.base + target.path,
        content=target.body_for(0),
        headers=dict(target.headers),
        timeout=60,
    )
    if not r.is_success or check not in r.text:
        raise RuntimeError(f"POST {target.path}: {r.status_code} {r.text[:1000]}")


# --------------------------------------------------------------------------- the peer


def materialize(source: Path, dest: Path) -> str:
    """Copy the signing service's source from `source` (a checkout, or a git directory:
    its HEAD) into `dest`; answers what was copied, for the table."""
    if not source.exists():
        raise FileNotFoundError(f"no such checkout of the signing service: {source}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if (source / "package.json").is_file():
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git", "node_modules"))
        where = f"checkout {source}"
    elif (source / "HEAD").is_file() and (source / "objects").is_dir():
        git = ["git", f"--git-dir={source}"]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        archive = dest.parent / "source.tar"
        subprocess.run([*git, "archive", "--format=tar", "-o", str(archive), "HEAD"], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
        archive.unlink()
        where = f"commit {commit}"
    else:
        raise ValueError(f"{source} is neither a checkout nor a git directory")
    if not (dest / "server.js").is_file():
        raise ValueError(f"{source} has no server.js: not the DCC signing service?")
    return where


def npm_install(app: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None  # checked by the caller
    done = subprocess.run(
        [npm, "ci", "--omit=dev", "--no-audit", "--no-fund"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def peer_env(port: int, logs: Path) -> dict[str, str]:
    """The service's settings: one tenant, plain HTTP, and only errors logged (to files in
    the temporary directory): an access log line per request would be measured too."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TENANT_", "LOG_", "CONSOLE_LOG", "ERROR_LOG", "ENABLE_"))
    }
    env.update(
        PORT=str(port),
        ENABLE_HTTPS_FOR_DEV="false",
        ENABLE_ACCESS_LOGGING="false",
        CONSOLE_LOG_LEVEL="none",  # no console transport at all (src/utils/logger.js)
        LOG_LEVEL="error",
        ERROR_LOG_FILE=str(logs / "error.log"),
        LOG_ALL_FILE=str(logs / "all.log"),
        NODE_ENV="production",  # as the service's Dockerfile sets it
        **{f"TENANT_SEED_{TENANT.upper()}": TENANT_SEED},
    )
    return env


@contextlib.contextmanager
def running_peer(app: Path, workdir: Path) -> Iterator[tuple[str, int]]:
    """`node server.js` in `app`, in a process group of its own; (base URL, pid) once
    `GET /` answers; the group is stopped on exit, whatever happened."""
    node = shutil.which("node")
    assert node is not None  # checked by the caller
    port = free_port()
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out_path = logs / "node.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [node, "server.js"],
            cwd=app,
            env=peer_env(port, logs),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_answers(proc, base, out_path)
        yield base, proc.pid
    finally:
        _stop(proc)


def _wait_answers(proc: subprocess.Popen[bytes], base: str, out: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited with {proc.returncode}:\n{out.read_text()[-4000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "/", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the signing service did not answer within {timeout:.0f}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group we started, SIGKILL it if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def credential_body() -> str:
    return json.dumps(CREDENTIAL, separators=(",", ":"))


def measure_peer(dcc: Path | None, seconds: int, workdir: Path) -> Row:
    name = f"{PEER} POST /instance/:id/credentials/sign"
    try:
        if dcc is None:
            raise Skipped(
                "no checkout of digitalcredentials/signing-service given:"
                " pass --dcc PATH or set CREDO_BENCH_DCC"
            )
        missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
        if missing:
            raise Skipped(f"{' and '.join(missing)} not installed")
    except Skipped as why:
        return Row(name, None, str(why))
    app = workdir / "signing-service"
    where = materialize(dcc, app)
    npm_install(app)
    with running_peer(app, workdir) as (base, pid):
        target = Target(base, SIGN_PATH, {"Content-Type": "application/json"}, credential_body())
        preflight(target, '"cryptosuite":"eddsa-rdfc-2022"')
        load = wrk_load(target, seconds, pid)
    return Row(name, load, where)


# --------------------------------------------------------------------------- Credo


def measure_credo(seconds: int, workdir: Path) -> list[Row]:
    url = f"sqlite:///{workdir / 'peer.db'}"
    env = {"CREDO_WORKER_IN_SERVER": "false"}  # the e-mails queue; delivery is not measured
    with running_server(
        url, workdir / "credo", workers=1, extra_env=env, startup_timeout=180
    ) as server:
        org = new_org(server.base_url)
        auth = {"Authorization": f"Bearer {org.key}", "Content-Type": "application/json"}
        publish = json.dumps(
            {"group_id": org.group_id, "recipient": {"name": "Pub {n}", "email": "{email}"}},
            separators=(",", ":"),
        )
        issue = json.dumps({"credential": CREDENTIAL}, separators=(",", ":"))
        rows = []
        for path, body in (("/v1/credentials", publish), ("/credentials/issue", issue)):
            target = Target(server.base_url, path, auth, body)
            preflight(target, '"credits_charged":1')  # a new seat, as every timed request
            rows.append(Row(f"Credo POST {path}", wrk_load(target, seconds, server.pid)))
    return rows


def measure(dcc: Path | None, seconds: int) -> list[Row]:
    """The peer's row (its load None when skipped, with the reason in `note`), then Credo's
    two. One after the other, never side by side: each has the machine to itself."""
    with tempfile.TemporaryDirectory(prefix="credo-peer-") as tmp:
        peer = measure_peer(dcc, seconds, Path(tmp) / "peer")
        return [peer, *measure_credo(seconds, Path(tmp))]


def table(rows: list[Row], seconds: int) -> Table:
    t = Table(
        title=f"Signing over HTTP: one server process each, {CONNECTIONS} connections (wrk),"
        f" {seconds} s, eddsa-rdfc-2022"
    )
    for col in ("target", "requests/s", "p50", "p99", "CPU/credential", "vs peer"):
        t.add_column(col, justify="right")
    peer = rows[0].load
    for row in rows:
        if row.load is None:
            t.add_row(row.name, "skipped", "", "", "", "")
            continue
        load = row.load
        if row is rows[0]:
            ratio = ""
        elif peer is None:
            ratio = "n/a"
        else:
            ratio = f"{load.per_second / peer.per_second:.2f}x"
        t.add_row(
            row.name, f"{load.per_second:,.0f}", f"{load.p50_ms:.1f} ms", f"{load.p99_ms:.1f} ms",
            f"{load.cpu_ms:.2f} ms", ratio,
        )  # fmt: skip
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dcc",
        type=Path,
        default=os.environ.get("CREDO_BENCH_DCC") or None,
        help="a checkout (or git directory) of digitalcredentials/signing-service",
    )
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    console = Console(width=150)
    began = time.monotonic()
    rows = measure(args.dcc, args.seconds)
    console.print(table(rows, args.seconds))
    peer = rows[0]
    if peer.load is None:
        console.print(f"[yellow]{PEER} skipped: {peer.note}[/]")
    else:
        console.print(f"{PEER}: {peer.note}, npm ci --omit=dev, node server.js, one tenant.")
    console.print(
        f"vs peer: Credo's requests/s over the peer's (target >= {TARGET_RATIO}x). The peer"
        " signs only; Credo also takes the seat, records the ledger entry and stores the"
        " credential (SQLite), with status entries (/credentials/issue) or a queued e-mail"
        " (/v1/credentials). CPU/credential: the server process and its children."
        f" Run took {time.monotonic() - began:.0f} s."
    )


if __name__ == "__main__":
    main()
