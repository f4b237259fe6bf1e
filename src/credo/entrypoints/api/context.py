"""Request context: the app, who is calling, and how a mutation runs (Idempotency-Key)."""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from credo.bootstrap import App
from credo.domain.audit_log import Actor, ActorKind
from credo.domain.errors import (
    DomainError,
    InvalidInput,
    KeyLimitedToDepartment,
    NotFound,
    Unauthorized,
)
from credo.entrypoints.api.problems import PROBLEM, problem_body, unauthorized
from credo.ids import ID_PATTERN
from credo.services import audit_log
from credo.services.credentials.group_commit import Answered, Prepared, Refused, Ticket
from credo.services.ports import UnitOfWork
from credo.services.runner import OPERATOR_SCOPE, Runner, fingerprint
from credo.services.tenancy.key_cache import Holder
from credo.services.tenancy.key_use import note_use, record_use
from credo.services.tenancy.organizations import confirm_key, hash_api_key, key_holder

ID_RE = re.compile(ID_PATTERN)
OPERATOR = Actor(ActorKind.OPERATOR, None, "the operator")
T = TypeVar("T")
# What an action hands back: an HTTP status and a JSON-ready body (None: no content).
Outcome = tuple[int, dict[str, Any] | None]


def app_of(request: Request) -> App:
    app: App = request.app.state.credo
    return app


async def get_app(request: Request) -> App:
    # async: FastAPI runs a plain `def` dependency through the thread pool, a hop that
    # cost 4% of a publish's CPU for an attribute read.
    return app_of(request)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise unauthorized()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise unauthorized()
    return token


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls a route that department keys may use too."""

    org_id: str
    department_id: str | None  # a key limited to this department; None: the whole org


def _holder(request: Request, app: App, authorization: str | None) -> Holder:
    key_hash = hash_api_key(_bearer(authorization))
    holder = app.runner.read(lambda uow: key_holder(uow, key_hash))
    audit_log.act_as(holder.actor)
    request.state.organization_id = holder.org_id  # for the request's log line
    note_use(app.runner, app.key_uses, key_hash, app.clock.now())
    return holder


def refuse_department_key(department_id: str | None) -> None:
    if department_id is not None:
        raise KeyLimitedToDepartment(
            "this API key is limited to one department; this needs an organization-wide key"
        )


def current_org(
    request: Request,
    app: Annotated[App, Depends(get_app)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """The calling organization, for routes only an organization-wide key may use."""
    holder = _holder(request, app, authorization)
    refuse_department_key(holder.department_id)
    return holder.org_id


def current_caller(
    request: Request,
    app: Annotated[App, Depends(get_app)],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """The calling organization and the department its key is limited to, if any: the
    route then reaches only that department's groups and credentials."""
    holder = _holder(request, app, authorization)
    return Caller(holder.org_id, holder.department_id)


async def operator(
    app: Annotated[App, Depends(get_app)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    expected = app.settings.admin_token
    if not expected:
        raise NotFound("no such resource")
    token = _bearer(authorization)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise unauthorized()
    audit_log.act_as(OPERATOR)
    return OPERATOR_SCOPE


def object_id(value: str) -> str:
    """A path id that cannot name anything answers 404 without touching the database."""
    if not ID_RE.match(value):
        raise NotFound(f"no such object {value[:64]!r}")
    return value


@dataclass
class Mutation:
    app: App
    scope: str  # the organization's id, or the operator's scope
    key: str | None
    fp: str
    api_key_hash: str | None = None  # confirmed first in the mutation's own transaction
    department_id: str | None = None  # the one department the key is limited to

    def _confirm(self, uow: UnitOfWork) -> None:
        if self.api_key_hash is None:
            return
        try:
            confirm_key(uow, self.api_key_hash, self.scope)
        except Unauthorized:
            self.app.keys.forget(self.api_key_hash)
            raise

    def ahead(self, prepare: Callable[[Runner], T]) -> T | None:
        """Work the mutation can do before its writing transaction: on SQLite outside the
        one writer's turn, on PostgreSQL outside the organization's lock. A refusal there
        is not answered: the mutation itself refuses, in its own order."""
        try:
            return prepare(self.app.runner)
        except DomainError:
            return None

    async def batched(
        self,
        group_id: str,
        prepare: Callable[[Runner], Prepared | None],
        answer: Callable[[Prepared, int], Outcome],
        *,
        notify: bool,
    ) -> tuple[Response | None, Prepared | None]:
        """Publish through the process's group commit (group_commit.PublishQueue): its
        answer, or (None, what was prepared) when the request must run alone (`run`)."""
        publisher = self.app.publisher
        if publisher is None:
            return None, None

        def reply(ready: Prepared, charged: int) -> tuple[int, str]:
            status, body = answer(ready, charged)
            return status, "" if body is None else orjson.dumps(body).decode()

        ticket = Ticket(
            self.scope, group_id, prepare, reply, _refusal, notify,
            self.api_key_hash, self.key, self.fp, audit_log.current_actor(),
        )  # fmt: skip
        outcome = await asyncio.wrap_future(publisher.submit(ticket))
        if isinstance(outcome, Answered):
            return _response(outcome.status, outcome.body), None
        if isinstance(outcome, Refused):
            if isinstance(outcome.error, Unauthorized) and self.api_key_hash is not None:
                self.app.keys.forget(self.api_key_hash)
            raise outcome.error
        return None, outcome.prepared

    async def run_alone(self, action: Callable[[UnitOfWork], Outcome]) -> Response:
        """`run`, from a coroutine: in the thread pool."""
        return await run_in_threadpool(self.run, action)

    def run_unstored(self, action: Callable[[UnitOfWork], Outcome]) -> Response:
        """`run` for answers that hold a secret shown once (a webhook's signing secret):
        they are not kept for Idempotency-Key replays, where they would rest in clear."""

        def rendered(uow: UnitOfWork) -> tuple[int, str]:
            status, body = action(uow)
            return status, "" if body is None else orjson.dumps(body).decode()

        status, text = self.app.runner.write(rendered, check=self._confirm)
        return _response(status, text)

    def run(self, action: Callable[[UnitOfWork], Outcome]) -> Response:
        def rendered(uow: UnitOfWork) -> tuple[int, str]:
            status, body = action(uow)
            # orjson: a bulk's answer lists 10,000 credentials; json.dumps took 5% of it.
            return status, "" if body is None else orjson.dumps(body).decode()

        if self.key is not None:
            status, text = self.app.runner.once(
                self.scope, self.key, self.fp, rendered, _refusal, check=self._confirm
            )
        else:
            status, text = self.app.runner.write(rendered, check=self._confirm)
        return _response(status, text)


def _response(status: int, text: str) -> Response:
    if not text:
        return Response(status_code=status)
    media = PROBLEM if status >= 400 else "application/json"
    return Response(text, status_code=status, media_type=media)


def _refusal(exc: DomainError) -> tuple[int, str]:
    return exc.status, orjson.dumps(problem_body(exc)).decode()


async def _mutation(
    request: Request,
    scope: str,
    idempotency_key: str | None,
) -> Mutation:
    app = app_of(request)
    body = await request.body()
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidInput(
            "Idempotency-Key must have 1 to 255 characters",
            [{"field": "Idempotency-Key", "message": "must have 1 to 255 characters"}],
        )
    fp = fingerprint(request.method, request.url.path, body)
    return Mutation(app, scope, idempotency_key, fp)


async def org_mutation(
    request: Request,
    app: Annotated[App, Depends(get_app)],
    authorization: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Mutation:
    """A mutation only an organization-wide key may make."""
    m = await scoped_mutation(request, app, authorization, idempotency_key)
    refuse_department_key(m.department_id)
    return m


async def scoped_mutation(
    request: Request,
    app: Annotated[App, Depends(get_app)],
    authorization: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Mutation:
    """The calling organization of a mutation, from what this process remembers of its key
    (a lookup on first use); the mutation's transaction confirms the key (Mutation.run).
    Its `department_id` is the one department a limited key reaches: the route checks."""
    key_hash = hash_api_key(_bearer(authorization))
    holder = app.keys.get(key_hash)
    if holder is None:
        holder = await run_in_threadpool(app.runner.read, lambda uow: key_holder(uow, key_hash))
        app.keys.put(key_hash, holder)
    org_id = holder.org_id
    audit_log.act_as(holder.actor)
    request.state.organization_id = org_id  # for the request's log line
    now = app.clock.now()
    if app.key_uses.due(key_hash, now):  # decided here: the thread pool only when due
        await run_in_threadpool(record_use, app.runner, key_hash, now)
    m = await _mutation(request, org_id, idempotency_key)
    m.api_key_hash = key_hash
    m.department_id = holder.department_id
    if holder.department_id is not None:
        # Idempotency-Keys are the organization's: a department's key reusing another
        # key's is refused (409), never answered with what that key was answered.
        m.fp = fingerprint("KEY", holder.department_id, m.fp.encode())
    return m


async def operator_mutation(
    request: Request,
    scope: Annotated[str, Depends(operator)],
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Mutation:
    return await _mutation(request, scope, idempotency_key)


AppDep = Annotated[App, Depends(get_app)]
OrgId = Annotated[str, Depends(current_org)]
Operator = Annotated[str, Depends(operator)]
OrgMutation = Annotated[Mutation, Depends(org_mutation)]
# Routes that department keys may use too: each checks what it touches (key_scope).
CallerDep = Annotated[Caller, Depends(current_caller)]
ScopedMutation = Annotated[Mutation, Depends(scoped_mutation)]
OperatorMutation = Annotated[Mutation, Depends(operator_mutation)]
