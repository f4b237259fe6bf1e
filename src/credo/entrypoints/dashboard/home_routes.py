"""The dashboard's front page: where the organization stands."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import page
from credo.entrypoints.dashboard.session import MemberDep

router = APIRouter(include_in_schema=False)


@router.get("/app")
def home(request: Request, member: MemberDep, app: AppDep) -> Response:
    return page(request, app, member, "app/home.html")
