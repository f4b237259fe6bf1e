"""`python -m bench.signing`: Data Integrity signing and verifying, Credo against Digital
Bazaar's `@digitalbazaar/vc` (Node, via tests/interop/dbvc.mjs), in the same run, on one
realistic Open Badges 3.0 credential, for both cryptosuites.

Credo is timed three ways: `full` (the full JSON-LD algorithm each time, no shape cache;
pyld's context cache is warm, as Digital Bazaar's is), `cached` (the same credential again
and again: its template is reused), and `bulk` (a different credential each time, one
shape: other recipient names, e-mail hashes, salts, ids and status indexes per operation,
which is what a bulk publish signs: the figure that matters). Digital Bazaar has no
per-shape cache, so its one figure is the same credential each time (its contexts are
cached). Each Credo figure is the median of `runs` timed loops of `n` operations, in this
one Python thread; Digital Bazaar's is one loop of `node_n` in one Node process. `ratio`
is Credo's operations per second over Digital Bazaar's.

`figures()` returns the numbers (for `bench/__main__.py`); `main()` prints them.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from credo.adapters.signing import KeyPair, Resolver, sign, verify
from credo.adapters.signing.canonical import SHAPES
from credo.adapters.signing.data_integrity import CRYPTOSUITES

V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CREATED = "2025-06-01T12:00:00Z"
N, NODE_N, RUNS = 2_000, 1_000, 3

FIRST_NAMES = ["Ada", "Zoë", "Grace", "Émile", "Kwame", "Ngozi", "Søren", "Mei", "Ilyas", "José"]
LAST_NAMES = ["Lovelace", "Hopper", "O'Brien", "Nakamura", "Müller", "Okafor", "Da Silva"]


def credential(key: KeyPair, n: int = 0) -> dict[str, Any]:
    """An OpenBadgeCredential as Credo issues it (issue 3, point 1), for recipient `n`."""
    email = f"{FIRST_NAMES[n % 10].lower()}.{n}@learners.example"
    salt = hashlib.sha256(f"salt-{n}".encode()).hexdigest()[:16]
    identity = "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()
    return {
        "@context": [V2, OB],
        "id": f"https://credo.example/c/cr_{n:08d}{'0' * 24}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": key.did,
            "type": ["Profile"],
            "name": "Example University",
            "url": "https://university.example",
        },
        "validFrom": "2025-06-01T00:00:00Z",
        "validUntil": "2030-06-01T00:00:00Z",
        "name": "Teamwork",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": f"{FIRST_NAMES[n % 10]} {LAST_NAMES[n % 7]} #{n}",
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": "https://credo.example/groups/gr_0192f0a1b2c3d4e5f60718293a4b5c6e",
                "type": ["Achievement"],
                "name": "Teamwork",
                "description": "Works well with others, in person and remotely.",
                "criteria": {"narrative": "Completed the teamwork course and its project."},
                "image": {"id": "https://credo.example/img/teamwork.png", "type": "Image"},
            },
        },
        "credentialStatus": {
            "id": f"https://credo.example/status/org_1/revocation#{n}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(n),
            "statusListCredential": "https://credo.example/status/org_1/revocation",
        },
    }


def _ops_per_second(operation: Callable[[int], object], n: int, runs: int) -> float:
    """Median over `runs` loops of `operation(i)` for i in range(n), after a warm-up."""
    for i in range(min(n, 20)):
        operation(i)
    rates = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        for i in range(n):
            operation(i)
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


def _credo(key: KeyPair, cryptosuite: str, n: int, runs: int) -> dict[str, float]:
    method = key.verification_method
    one = credential(key)
    many = [credential(key, i) for i in range(n)]

    def signer(full: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def run(document: dict[str, Any]) -> dict[str, Any]:
            return sign(
                document,
                key=key,
                cryptosuite=cryptosuite,
                verification_method=method,
                created=CREATED,
                full=full,
            )

        return run

    full_sign, cached_sign = signer(True), signer(False)
    # The cache must not change a byte: check before timing anything.
    for document in (one, many[0], many[-1]):
        assert full_sign(document) == cached_sign(document), "shape cache output differs"
    resolver = Resolver()
    signed_one = cached_sign(one)
    signed_many = [cached_sign(d) for d in many]

    def verified(document: dict[str, Any], full: bool) -> None:
        if not verify(document, resolve=resolver, full=full).ok:
            raise AssertionError("a credential Credo signed does not verify")

    SHAPES.clear()
    return {
        "sign_full": _ops_per_second(lambda i: full_sign(one), max(n // 10, 50), runs),
        "sign_cached": _ops_per_second(lambda i: cached_sign(one), n, runs),
        "sign_bulk": _ops_per_second(lambda i: cached_sign(many[i]), n, runs),
        "verify_full": _ops_per_second(
            lambda i: verified(signed_one, True), max(n // 10, 50), runs
        ),
        "verify_cached": _ops_per_second(lambda i: verified(signed_one, False), n, runs),
        "verify_bulk": _ops_per_second(lambda i: verified(signed_many[i], False), n, runs),
    }


def _digital_bazaar(key: KeyPair, cryptosuite: str, n: int) -> dict[str, float]:
    from tests.interop.node import node_bench, node_sign

    key_pair = {
        "publicKeyMultibase": key.public_key_multibase,
        "secretKeyMultibase": key.secret_key_multibase,
    }
    one = credential(key)
    sign_request = {
        "credential": one,
        "cryptosuite": cryptosuite,
        "keyPair": key_pair,
        "documents": {},
        "created": CREATED,
    }
    signed = node_sign(one, key_pair, cryptosuite, created=CREATED)
    verify_request = {"credential": signed, "documents": {}, "checkIssuer": True}
    signs = node_bench("sign", sign_request, n)
    verifies = node_bench("verify", verify_request, n)
    if verifies.get("failures"):
        raise AssertionError(f"Digital Bazaar did not verify its credential: {verifies}")
    return {"sign": float(signs["opsPerSecond"]), "verify": float(verifies["opsPerSecond"])}


def _same_signature_as_digital_bazaar(key: KeyPair, cryptosuite: str) -> bool:
    """Both libraries sign this credential byte for byte alike (Ed25519 is deterministic)."""
    from tests.interop.node import node_sign

    key_pair = {
        "publicKeyMultibase": key.public_key_multibase,
        "secretKeyMultibase": key.secret_key_multibase,
    }
    document = credential(key, 7)
    theirs = node_sign(document, key_pair, cryptosuite, created=CREATED)
    ours = sign(
        document,
        key=key,
        cryptosuite=cryptosuite,
        verification_method=key.verification_method,
        created=CREATED,
    )
    return bool(theirs["proof"]["proofValue"] == ours["proof"]["proofValue"])


def figures(
    n: int = N, node_n: int = NODE_N, runs: int = RUNS, node: bool = True
) -> dict[str, dict[str, float]]:
    """Operations per second by cryptosuite: Credo's `sign_full`, `sign_cached`,
    `sign_bulk`, `verify_full`, `verify_cached`, `verify_bulk`; Digital Bazaar's `db_sign`,
    `db_verify`; the ratios `sign_ratio` (bulk / db_sign), `sign_cached_ratio`,
    `sign_full_ratio`, `verify_ratio` (bulk / db_verify), `verify_full_ratio`; and
    `same_signature` (1.0 when both libraries produced the same proofValue)."""
    key = KeyPair.from_seed(hashlib.sha256(b"credo bench").digest())
    out: dict[str, dict[str, float]] = {}
    for cryptosuite in CRYPTOSUITES:
        result = _credo(key, cryptosuite, n, runs)
        if node:
            db = _digital_bazaar(key, cryptosuite, node_n)
            result["db_sign"], result["db_verify"] = db["sign"], db["verify"]
            result["sign_ratio"] = result["sign_bulk"] / db["sign"]
            result["sign_cached_ratio"] = result["sign_cached"] / db["sign"]
            result["sign_full_ratio"] = result["sign_full"] / db["sign"]
            result["verify_ratio"] = result["verify_bulk"] / db["verify"]
            result["verify_full_ratio"] = result["verify_full"] / db["verify"]
            result["same_signature"] = float(_same_signature_as_digital_bazaar(key, cryptosuite))
        out[cryptosuite] = result
    return out


def _table(results: dict[str, dict[str, float]], n: int, node_n: int) -> Table:
    table = Table(title="Data Integrity signing and verifying, operations per second, one core")
    for column in ("cryptosuite", "operation", "Credo full", "Credo cached", "Credo bulk"):
        table.add_column(column, justify="right")
    node = any("db_sign" in r for r in results.values())
    if node:
        for column in ("Digital Bazaar", "bulk / DB", "cached / DB", "full / DB"):
            table.add_column(column, justify="right")
    for suite, r in results.items():
        for op in ("sign", "verify"):
            row = [
                suite,
                op,
                f"{r[f'{op}_full']:,.0f}",
                f"{r[f'{op}_cached']:,.0f}",
                f"{r[f'{op}_bulk']:,.0f}",
            ]
            if node:
                db = r[f"db_{op}"]
                row += [
                    f"{db:,.0f}",
                    f"{r[f'{op}_bulk'] / db:.1f}x",
                    f"{r[f'{op}_cached'] / db:.1f}x",
                    f"{r[f'{op}_full'] / db:.2f}x",
                ]
            table.add_row(*row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=N, help="Credo operations per timed loop")
    parser.add_argument("--node-n", type=int, default=NODE_N, help="Digital Bazaar operations")
    parser.add_argument("--runs", type=int, default=RUNS, help="Credo loops (median)")
    parser.add_argument("--no-node", action="store_true", help="skip Digital Bazaar")
    parser.add_argument(
        "--pin", type=int, metavar="CPU", help="pin this process and Node to one CPU first"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})  # Node, started later, inherits it
    started = datetime.now(UTC)
    results = figures(args.n, args.node_n, args.runs, node=not args.no_node)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(_table(results, args.n, args.node_n))
    console.print(
        f"Credo: median of {args.runs} loops of {args.n:,} (full: {max(args.n // 10, 50):,});"
        f" Digital Bazaar: {args.node_n:,} in one Node process. full = no shape cache;"
        " cached = the same credential again; bulk = a new credential of the same shape"
        " each time (what a bulk publish signs). Target: eddsa-rdfc-2022 bulk signing"
        " >= 4x Digital Bazaar."
    )
    for suite, r in results.items():
        if "same_signature" in r:
            same = "identical" if r["same_signature"] else "DIFFERENT"
            console.print(f"{suite}: Credo's and Digital Bazaar's proofValue {same}")
    console.print(f"({(datetime.now(UTC) - started).total_seconds():.0f} s)")


if __name__ == "__main__":
    main()
