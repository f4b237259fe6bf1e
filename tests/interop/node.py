"""Python side of the independent-verifier harness: Digital Bazaar's JavaScript libraries.

`dbvc.mjs` (beside this file) signs and verifies credentials with `@digitalbazaar/vc` and
the eddsa-rdfc-2022 / eddsa-jcs-2022 cryptosuites; these helpers run it with Node:

- `ensure_node_modules()` installs the pinned npm packages (`npm ci`) when node_modules
  is missing or older than package-lock.json; otherwise it touches nothing (offline-safe).
- `node_sign(...)` returns the credential signed by the JavaScript libraries.
- `node_verify(...)` returns their verdict: {"verified", "errors", "status", ...}.
- `node_bench(...)` times N signatures or verifications in one Node process.
- `oid4vci_wallet(...)` takes a credential offer as a wallet app does (OID4VCI client).
- `dcc_verify(...)` runs `dcc_verify.mjs`: the Digital Credentials Consortium's
  `@digitalcredentials/verifier-core` (Learner Credential Wallet's, VerifierPlus's verifier)
  on a credential, as it runs there: it resolves did:web and fetches status lists itself,
  but only from loopback hosts (a test's own server); every other URL is refused.

Nothing is fetched from the network: the harness serves documents passed in `documents`
({url: document}), the JSON-LD contexts Credo ships (CREDO_CONTEXTS_DIR, by default
src/credo/adapters/signing/contexts/ when it has an index.json), the contexts bundled in
the npm packages, and did:key documents; it refuses anything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

HARNESS_DIR = Path(__file__).resolve().parent
DBVC = HARNESS_DIR / "dbvc.mjs"
DCC_VERIFY = HARNESS_DIR / "dcc_verify.mjs"
OID4VCI_WALLET = HARNESS_DIR / "oid4vci_wallet.mjs"
NODE_MODULES = HARNESS_DIR / "node_modules"
LOCKFILE = HARNESS_DIR / "package-lock.json"
STAMP = NODE_MODULES / ".credo-installed"
REPO_ROOT = HARNESS_DIR.parents[1]
CREDO_CONTEXTS_DIR = REPO_ROOT / "src" / "credo" / "adapters" / "signing" / "contexts"

NPM_CI_TIMEOUT = 600.0
NODE_TIMEOUT = 120.0

Cryptosuite = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"]


class NodeHarnessError(RuntimeError):
    """Node or npm failed, or dbvc.mjs refused the request (signing failed, bad input)."""

    def __init__(self, message: str, answer: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.answer: dict[str, Any] = dict(answer or {})


def _executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise NodeHarnessError(
            f"`{name}` is not on PATH: the interop tests need Node.js 20+ and npm "
            "(Digital Bazaar's libraries run on Node)."
        )
    return path


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for file in (HARNESS_DIR / "package.json", LOCKFILE):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _is_installed(fingerprint: str) -> bool:
    try:
        return STAMP.read_text().strip() == fingerprint
    except OSError:
        return False


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One `npm ci` at a time, across pytest-xdist workers and concurrent runs."""
    key = hashlib.sha256(str(HARNESS_DIR).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"credo-interop-npm-{key}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_installed_fingerprint: str | None = None


def ensure_node_modules() -> Path:
    """Run `npm ci` in tests/interop unless node_modules matches package-lock.json.

    Idempotent and cheap once installed (a hash of two small files); safe to call from
    several processes at once. Returns the node_modules path; raises NodeHarnessError
    with npm's output when the install fails.
    """
    global _installed_fingerprint
    fingerprint = _install_fingerprint()
    if _installed_fingerprint == fingerprint and _is_installed(fingerprint):
        return NODE_MODULES
    with _install_lock():
        if not _is_installed(fingerprint):
            npm = _executable("npm")
            _executable("node")
            started = time.monotonic()
            try:
                result = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=HARNESS_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_CI_TIMEOUT,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired as exc:
                raise NodeHarnessError(
                    f"`npm ci` in {HARNESS_DIR} did not finish in {NPM_CI_TIMEOUT:.0f} s "
                    "(is the npm registry reachable?)"
                ) from exc
            if result.returncode != 0:
                raise NodeHarnessError(
                    f"`npm ci --no-audit --no-fund` in {HARNESS_DIR} failed "
                    f"(exit {result.returncode}, {time.monotonic() - started:.1f} s); "
                    "the interop tests need the npm registry once to install the pinned "
                    f"packages.\n--- stdout ---\n{result.stdout[-4000:]}"
                    f"\n--- stderr ---\n{result.stderr[-4000:]}"
                )
            STAMP.write_text(fingerprint + "\n")
    _installed_fingerprint = fingerprint
    return NODE_MODULES


def default_contexts_dir() -> Path | None:
    """CREDO_CONTEXTS_DIR if set, else Credo's shipped contexts once they exist."""
    configured = os.environ.get("CREDO_CONTEXTS_DIR")
    if configured:
        return Path(configured)
    if (CREDO_CONTEXTS_DIR / "index.json").is_file():
        return CREDO_CONTEXTS_DIR
    return None


def _node(
    script: Path,
    request: Mapping[str, Any],
    *args: str,
    env: Mapping[str, str],
    timeout: float,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run `node script args...` with `request` as JSON on stdin: the finished process and
    its JSON answer ({} when stdout is not one JSON object)."""
    ensure_node_modules()
    name = " ".join([f"node {script.name}", *args])
    try:
        result = subprocess.run(
            [_executable("node"), str(script), *args],
            input=json.dumps(request),
            cwd=HARNESS_DIR,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeHarnessError(
            f"`{name}` did not finish in {timeout:.0f} s\n--- stderr ---\n{(exc.stderr or '')!s}"
        ) from exc
    answer: dict[str, Any] = {}
    with contextlib.suppress(json.JSONDecodeError):
        parsed = json.loads(result.stdout)
        if isinstance(parsed, dict):
            answer = parsed
    return result, answer


def _failed(
    name: str, result: subprocess.CompletedProcess[str], answer: dict[str, Any]
) -> NodeHarnessError:
    error = answer.get("error") or {}
    message = error.get("message") if isinstance(error, dict) else None
    return NodeHarnessError(
        f"`node {name}` failed (exit {result.returncode}): {message or 'no JSON answer'}"
        f"\n--- stderr ---\n{result.stderr[-4000:]}\n--- stdout ---\n{result.stdout[-2000:]}",
        answer,
    )


def _with_ca(ca_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(ca_file)
    return env


def _run(
    command: str,
    request: Mapping[str, Any],
    *args: str,
    contexts_dir: Path | None = None,
    timeout: float = NODE_TIMEOUT,
) -> dict[str, Any]:
    env = dict(os.environ)
    directory = contexts_dir if contexts_dir is not None else default_contexts_dir()
    if directory is None:
        env.pop("CREDO_CONTEXTS_DIR", None)
    else:
        env["CREDO_CONTEXTS_DIR"] = str(directory)
    result, answer = _node(DBVC, request, command, *args, env=env, timeout=timeout)
    if result.returncode != 0 or not answer or "error" in answer:
        raise _failed(" ".join(["dbvc.mjs", command, *args]), result, answer)
    return answer


def node_sign(
    credential: Mapping[str, Any],
    key_pair: Mapping[str, Any],
    cryptosuite: Cryptosuite = "eddsa-rdfc-2022",
    documents: Mapping[str, Any] | None = None,
    *,
    created: str | None = None,
    contexts_dir: Path | None = None,
) -> dict[str, Any]:
    """The credential signed by @digitalbazaar/vc (`issue`) with a DataIntegrityProof.

    key_pair: {"publicKeyMultibase", "secretKeyMultibase" (or "privateKeyMultibase"),
    "controller"?, "id"?}; controller defaults to did:key:<publicKeyMultibase> and id to
    <controller>#<publicKeyMultibase>. created: the proof's `created` (default: now).
    Raises NodeHarnessError when the library refuses to sign (e.g. an undefined term).
    """
    request: dict[str, Any] = {
        "credential": credential,
        "cryptosuite": cryptosuite,
        "keyPair": dict(key_pair),
        "documents": dict(documents or {}),
    }
    if created is not None:
        request["created"] = created
    signed: dict[str, Any] = _run("sign", request, contexts_dir=contexts_dir)["signed"]
    return signed


def node_verify(
    credential: Mapping[str, Any],
    documents: Mapping[str, Any] | None = None,
    *,
    check_issuer: bool = True,
    now: str | None = None,
    contexts_dir: Path | None = None,
) -> dict[str, Any]:
    """@digitalbazaar/vc's `verifyCredential` verdict on a credential.

    Returns {"verified": bool, "errors": [str], "proofs": [...], "status": {"checked":
    bool, ...}, "revoked": bool, "suspended": bool, "loaded": [{url, source}],
    "refused": [url]}. check_issuer=False drops vc's rule that the issuer controls the
    verification method (the W3C vectors' issuer does not). now: ISO date-time to check
    validity dates against. Status lists (BitstringStatusListEntry) are checked when their
    credential is passed in `documents`; otherwise status["checked"] is False.
    """
    request: dict[str, Any] = {
        "credential": credential,
        "documents": dict(documents or {}),
        "checkIssuer": check_issuer,
    }
    if now is not None:
        request["now"] = now
    return _run("verify", request, contexts_dir=contexts_dir)


def node_bench(
    kind: Literal["sign", "verify"],
    request: Mapping[str, Any],
    n: int,
    *,
    contexts_dir: Path | None = None,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Time n signatures or verifications (request as for sign / verify) in one process.

    Returns {"kind", "ops", "seconds", "opsPerSecond", "warmup", ...}.
    """
    return _run(f"{kind}-bench", request, str(n), contexts_dir=contexts_dir, timeout=timeout)


def dcc_verify(
    credential: Mapping[str, Any],
    *,
    known_did_registries: list[Mapping[str, Any]] | None = None,
    documents: Mapping[str, Any] | None = None,
    ca_file: Path | None = None,
    timeout: float = NODE_TIMEOUT,
) -> dict[str, Any]:
    """The Digital Credentials Consortium's verdict: `verifyCredential` from
    @digitalcredentials/verifier-core (what Learner Credential Wallet and VerifierPlus run),
    by `dcc_verify.mjs`.

    Returns {"result": verifier-core's result ({"log": [{"id", "valid" | "error"}],
    "credential", ...} or {"errors": [...]} when the signature fails), "network":
    {"fetched", "served", "refused"}}. The script reaches only loopback hosts; a URL in
    `documents` ({url: json}) is answered with that JSON (a local issuer registry, say);
    every other URL is refused and listed. known_did_registries: verifier-core's
    `knownDIDRegistries` (default: none). ca_file: a PEM certificate Node is to trust
    (NODE_EXTRA_CA_CERTS), for a server on 127.0.0.1 with a self-signed certificate.
    """
    request = {
        "credential": credential,
        "knownDIDRegistries": list(known_did_registries or []),
        "documents": dict(documents or {}),
    }
    result, answer = _node(DCC_VERIFY, request, env=_with_ca(ca_file), timeout=timeout)
    if result.returncode != 0 or "result" not in answer:
        raise _failed("dcc_verify.mjs", result, answer)
    return answer


def oid4vci_wallet(
    offer: str,
    *,
    binding: Literal["did:key", "did:jwk"] = "did:key",
    alg: Literal["EdDSA", "ES256"] = "EdDSA",
    stale_nonce_first: bool = False,
    ca_file: Path | None = None,
    timeout: float = NODE_TIMEOUT,
) -> dict[str, Any]:
    """A wallet app taking the credential `offer` (an openid-credential-offer:// link) by
    OpenID for Verifiable Credential Issuance, with the OpenWallet Foundation's client
    (@openid4vc/openid4vci), by `oid4vci_wallet.mjs`, with a holder key it makes.

    Returns {"ok": True, "holder": its DID, "credential": what it received, "version": the
    protocol version the client read in the metadata, ...} or {"ok": False, "error", ...}
    when the client refused or was refused. stale_nonce_first: the wallet first proves with a
    nonce the issuer never gave; "stale_nonce_error" is the OAuth error the client read then.
    ca_file: the server's certificate to trust."""
    request = {
        "offer": offer,
        "binding": binding,
        "alg": alg,
        "stale_nonce_first": stale_nonce_first,
    }
    result, answer = _node(OID4VCI_WALLET, request, env=_with_ca(ca_file), timeout=timeout)
    if "ok" not in answer:
        raise _failed("oid4vci_wallet.mjs", result, answer)
    answer["stderr"] = result.stderr[-4000:]
    return answer
