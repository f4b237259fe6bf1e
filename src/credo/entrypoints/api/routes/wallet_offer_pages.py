"""The recipient's "Add to wallet app" buttons: on the credential's private manage page
(its link's token in the form) and in the wallet (signed in, with its CSRF token). Each
makes a new offer (routes/oid4vci.py) and shows it as a QR code and a link."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response

from credo.adapters.pdf.qr import qr_png_data_uri
from credo.domain.errors import DomainError
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.routes.pages import refused
from credo.entrypoints.api.routes.wallet import Csrf, page, signed_in
from credo.services.recipients import wallet_offers

router = APIRouter(include_in_schema=False)


def _shown(made: wallet_offers.RecipientOffer, back: str) -> Response:
    offer = made.offer
    return page(
        "pages/wallet_offer.html",
        group_name=made.group_name,
        organization_name=made.organization_name,
        uri=offer.credential_offer_uri,
        qr=qr_png_data_uri(offer.credential_offer_uri),
        expires_at=offer.expires_at,
        back=back,
    )


@router.post("/c/{cred_id}/wallet-offer")
def from_manage_page(
    cred_id: str,
    request: Request,
    app: AppDep,
    token: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    try:
        object_id(cred_id)
        given = token or ""
        made = app.runner.write(
            lambda uow: wallet_offers.for_recipient(
                uow, app.ctx, cred_id, token=given, wallet_key=None
            )
        )
    except DomainError as exc:
        return refused(request, exc)
    return _shown(made, f"/c/{cred_id}/manage?{urlencode({'token': given})}")


@router.post("/wallet/credentials/{cred_id}/wallet-offer")
def from_wallet(cred_id: str, request: Request, app: AppDep, csrf: Csrf = "") -> Response:
    try:
        object_id(cred_id)
        key = signed_in(app, request, csrf).recipient_key
        made = app.runner.write(
            lambda uow: wallet_offers.for_recipient(
                uow, app.ctx, cred_id, token=None, wallet_key=key
            )
        )
    except DomainError as exc:
        return refused(request, exc)
    return _shown(made, f"/wallet#{cred_id}")
