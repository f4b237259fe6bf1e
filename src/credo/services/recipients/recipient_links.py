"""A recipient's private link to manage its credential (hide or show its public page).
Recipients have no account: the link in their e-mail carries a token, an HMAC of the
credential id under a secret derived from the master key, so it needs no table and no
process of a deployment can disagree on it."""

from __future__ import annotations

import base64
import hashlib
import hmac

from credo.services.context import ServiceContext


def derive_secret(master_key: bytes) -> bytes:
    # A separate key per use: the master key itself only ever seals signing keys.
    return hmac.new(master_key, b"credo recipient links v1", hashlib.sha256).digest()


def token(secret: bytes, cred_id: str) -> str:
    mac = hmac.new(secret, cred_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def check(secret: bytes, cred_id: str, given: str) -> bool:
    return bool(secret) and hmac.compare_digest(token(secret, cred_id), given)


def manage_url(ctx: ServiceContext, cred_id: str) -> str:
    return f"{ctx.base_url}/c/{cred_id}/manage?token={token(ctx.link_secret, cred_id)}"
