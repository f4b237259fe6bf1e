"""E-mail opens, for organizations that turn them on: a credential e-mail then carries a
one-pixel image whose address names its outbox row and a token (an HMAC under the
deployment's link secret), so that nobody can count opens of e-mails they did not get."""

from __future__ import annotations

import base64
import hashlib
import hmac

from credo.services.context import ServiceContext


def token(secret: bytes, message_id: str) -> str:
    mac = hmac.new(secret, b"open " + message_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def check(secret: bytes, message_id: str, given: str) -> bool:
    ok = given.isascii() and len(given) <= 64
    return bool(secret) and ok and hmac.compare_digest(token(secret, message_id), given)


def pixel_url(ctx: ServiceContext, message_id: str) -> str:
    return f"{ctx.base_url}/e/{message_id}/{token(ctx.link_secret, message_id)}.gif"
