"""Who sees a credential's page, and what it shows: the public page (verified live, as
`POST /credentials/verify` would), and the recipient's private page where it hides or
shows the credential. The recipient proves itself with its link's token alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from credo.domain.errors import NotFound
from credo.services.context import ServiceContext
from credo.services.credentials import verification
from credo.services.ports import UnitOfWork
from credo.services.recipients import recipient_links
from credo.services.rendering.showcase import CredentialView, load_view
from credo.services.tenancy.clocks import org_now


@dataclass(frozen=True, slots=True)
class Page:
    view: CredentialView
    result: verification.Verification
    now: datetime  # the organization's: a sandbox's test clock moves its page too

    @property
    def state(self) -> str:
        return self.view.state(self.now.date())


def public_page(uow: UnitOfWork, ctx: ServiceContext, cred_id: str) -> Page:
    """A visible credential and its verification. Hidden or unknown: NotFound."""
    return _page(uow, ctx, load_view(uow, ctx, cred_id))


def public_state(uow: UnitOfWork, ctx: ServiceContext, cred_id: str) -> tuple[CredentialView, str]:
    """A visible credential and its state on the organization's clock, unverified: what
    its share buttons need (a redirect need not check a signature it does not show)."""
    view = load_view(uow, ctx, cred_id)
    return view, view.state(org_now(view.organization, ctx.clock).date())


def recipient_page(uow: UnitOfWork, ctx: ServiceContext, cred_id: str, token: str) -> Page:
    authorize(ctx, cred_id, token)
    return _page(uow, ctx, load_view(uow, ctx, cred_id, include_hidden=True))


def set_hidden(
    uow: UnitOfWork, ctx: ServiceContext, cred_id: str, token: str, *, hidden: bool
) -> None:
    """Hide the credential's public page (and its public files), or show it again. Its
    signed file still verifies: verifiers read status lists and DIDs, never the page."""
    authorize(ctx, cred_id, token)
    load_view(uow, ctx, cred_id, include_hidden=True)  # deleted or unpublished: NotFound
    uow.credentials.set_hidden(cred_id, hidden)


def authorize(ctx: ServiceContext, cred_id: str, token: str) -> None:
    # The same answer as for an unknown credential: a wrong token tells nothing. Non-ASCII
    # is refused first: hmac.compare_digest raises on it rather than answering False.
    ok = token.isascii() and len(token) <= 100
    if not (ok and recipient_links.check(ctx.link_secret, cred_id, token)):
        raise NotFound(f"no credential {cred_id}")


def _page(uow: UnitOfWork, ctx: ServiceContext, view: CredentialView) -> Page:
    now = org_now(view.organization, ctx.clock)
    document = orjson.loads(view.document)
    result = verification.verify_credential(uow, ctx, document, now=now)
    return Page(view, result, now)
