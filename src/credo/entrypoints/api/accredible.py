"""An API that speaks Accredible's dialect under /compat/accredible, so that an integration
written for Accredible (the Moodle plugin, the LearnDash add-on, Open edX, Pipedream, the
SDKs) moves to Credo by changing its base URL and key. The surface and the conventions are
those of shared/reference/accredible (section (d)); every use case runs on Credo's own
services (services/accredible).

Requests are read leniently, as Accredible's clients expect: four Authorization forms,
bodies wrapped in a singular key, unknown fields and explicit nulls ignored, several date
forms, a trailing slash, a body on a GET. Answers keep Accredible's shapes: create answers
200, lists carry `meta` with `next_page` null on the last page, errors carry Accredible's
keys (`errors`, or `success`/`data`), and, for Credo's own clients, problem JSON's fields
beside them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from credo.bootstrap import App
from credo.domain import accredible as dialect
from credo.domain.accredible import Invalid
from credo.domain.errors import DomainError, NotFound, Unauthorized
from credo.entrypoints.api.context import app_of
from credo.entrypoints.api.problems import PROBLEM
from credo.services import audit_log
from credo.services.accredible import use_cases
from credo.services.accredible.use_cases import Context
from credo.services.runner import fingerprint
from credo.services.tenancy.key_use import note_use
from credo.services.tenancy.organizations import confirm_key, hash_api_key, key_holder

PREFIX = "/compat/accredible"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "Authorization, Content-Type, Accredible-Integration",
    "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
}
MAX_BULK_V2 = 30


def _json(status: int, body: object) -> Response:
    """Errors are problem JSON too (their bodies carry its fields beside Accredible's)."""
    media = PROBLEM if status >= 400 else "application/json"
    return Response(orjson.dumps(body), status_code=status, media_type=media, headers=CORS)


def _error(status: int, accredible: dict[str, Any], exc: DomainError | Invalid) -> Response:
    """Accredible's error keys, with problem JSON's beside them (Credo's own clients)."""
    if isinstance(exc, DomainError):
        code, title, detail = exc.code, exc.title, exc.detail
    else:
        code, title, detail = "invalid_input", "Invalid input", str(exc)
    body = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **accredible,
    }
    return _json(status, body)


def _invalid(exc: Invalid) -> Response:
    errors: object = {exc.field: [exc.message]} if exc.field else exc.message
    return _error(422, {"errors": errors}, exc)


DUPLICATE = (
    "has already been taken. Your group settings do not allow duplicates "
    "(a second live credential to the same recipient)"
)


def _refused(exc: DomainError) -> Response:
    """Credo's refusals in Accredible's words."""
    if isinstance(exc, Unauthorized):
        text = "HTTP Token: Access denied."
        return _error(401, {"success": False, "data": text, "errors": text}, exc)
    if isinstance(exc, NotFound):
        said = {"success": False, "data": exc.detail, "error": exc.detail}
        return _error(404, {**said, "errors": "Doesn't exist"}, exc)
    fields = exc.fields.get("errors")
    if isinstance(fields, list) and fields:
        errors: dict[str, list[str]] = {}
        for e in fields:
            errors.setdefault(str(e.get("field", "credential")), []).append(str(e.get("message")))
        return _error(422, {"errors": errors}, exc)
    if exc.code == "duplicate_credential":
        return _error(422, {"errors": {"recipient.email": [DUPLICATE]}}, exc)
    # Accredible answers 422 where Credo has a 402 or 409; Credo's own Idempotency-Key
    # convention keeps its 409.
    keep = exc.status >= 500 or exc.code == "idempotency_key_reused"
    status = exc.status if keep else 422
    return _error(status, {"errors": {"credential": [exc.detail]}}, exc)


def _context(app: App, authorization: str | None) -> Context:
    key = dialect.api_key(authorization)
    if key is None:
        raise Unauthorized("no API key: send Authorization: Token token=KEY")
    key_hash = hash_api_key(key)
    holder = app.keys.get(key_hash)
    if holder is None:
        holder = app.runner.read(lambda uow: key_holder(uow, key_hash))
        app.keys.put(key_hash, holder)
    found = holder.org_id
    audit_log.act_as(holder.actor)
    note_use(app.runner, app.key_uses, key_hash, app.clock.now())

    def check(uow: Any) -> None:
        try:
            confirm_key(uow, key_hash, found)
        except Unauthorized:
            app.keys.forget(key_hash)
            raise

    return Context(found, app.ctx, app.runner, check, holder.department_id)


async def _body(request: Request) -> dict[str, Any]:
    """The JSON (or form) body as an object; none (or one on a GET) is {}."""
    raw = b"" if request.method == "GET" else await request.body()
    request.state.raw_body = raw
    if request.method == "GET":
        return {}
    if not raw.strip():
        return {}
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(raw.decode("utf-8", "replace"))
        return {k: v[-1] for k, v in form.items()}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid(None, "the body is not JSON") from None
    if isinstance(body, list) and not body:
        return {}
    if not isinstance(body, dict):
        raise Invalid(None, "the body is not a JSON object")
    return body


Handler = Callable[[Context, Request, dict[str, Any]], tuple[int, Any]]


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """A route of the compatible API, with and without a trailing slash: authenticated,
    its body read, its errors in Accredible's shapes. The handler runs in the thread pool."""

    def register(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            app = app_of(request)
            try:
                body = await _body(request)
                c = await run_in_threadpool(_context, app, request.headers.get("authorization"))
                request.state.organization_id = c.org_id
                status, answer = await run_in_threadpool(handler, c, request, body)
            except Invalid as exc:
                return _invalid(exc)
            except DomainError as exc:
                return _refused(exc)
            return _json(status, answer)

        endpoint.__name__ = handler.__name__
        for p in (path, path + "/"):
            router.add_api_route(p, endpoint, methods=[method])
        return handler

    return register


@router.options("/{rest:path}")
def preflight(rest: str) -> Response:
    return Response(status_code=204, headers=CORS)


def _wrapped(body: dict[str, Any], key: str) -> dict[str, Any]:
    """`{"credential": {...}}`'s inside; a body that is not wrapped is taken as it is."""
    inner = body.get(key, body)
    if not isinstance(inner, dict):
        raise Invalid(key, "is not an object")
    return inner


def _query(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Parameters from the query string and the body alike (clients send either)."""
    return {**dict(request.query_params), **body}


def _paging(params: dict[str, Any], default: int = dialect.DEFAULT_PAGE_SIZE) -> dialect.Paging:
    return dialect.paging(params.get("page"), params.get("page_size"), default)


# ------------------------------------------------------------------------- credentials


def _once(c: Context, request: Request, make: Callable[[Any], dict[str, Any]]) -> tuple[int, Any]:
    """Run a create in one transaction; with an `Idempotency-Key` (Credo's convention, not
    Accredible's), a retry gets the first answer back and creates nothing more."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return 200, c.write(make)
    if not 1 <= len(key) <= 255:
        raise Invalid("Idempotency-Key", "must have 1 to 255 characters")
    fp = fingerprint(request.method, request.url.path, request.state.raw_body)
    if c.department_id is not None:  # as api.context.scoped_mutation: never another key's
        fp = fingerprint("KEY", c.department_id, fp.encode())

    def stored_refusal(exc: DomainError) -> tuple[int, str]:
        answer = _refused(exc)
        return answer.status_code, bytes(answer.body).decode()

    status, text = c.runner.once(
        c.org_id,
        key,
        fp,
        lambda uow: (200, orjson.dumps(make(uow)).decode()),
        stored_refusal,
        check=c.check,
    )
    return status, orjson.loads(text)


@route("POST", "/v1/credentials")
def create_credential(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    item = use_cases.read_item(_wrapped(body, "credential"))
    return _once(
        c, request, lambda uow: {"credential": use_cases.create_credential_in(uow, c, item)[0]}
    )


@route("GET", "/v1/credentials/{ref}")
def get_credential(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"credential": use_cases.get_credential(c, request.path_params["ref"])}


def _update(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    view, _ = use_cases.update_credential(
        c, request.path_params["ref"], _wrapped(body, "credential")
    )
    return 200, {"credential": view}


route("PUT", "/v1/credentials/{ref}")(_update)
route("PATCH", "/v1/credentials/{ref}")(_update)


@route("DELETE", "/v1/credentials/{ref}")
def delete_credential(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"credential": use_cases.delete_credential(c, request.path_params["ref"])}


@route("GET", "/v1/all_credentials")
def all_credentials(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    params = _query(request, body)
    rows, meta = use_cases.list_credentials(c, params, _paging(params))
    return 200, {"credentials": rows, "meta": meta}


@route("POST", "/v2/credentials/bulk_create")
def bulk_create_v2(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """Each credential on its own: 200 when all were published, 207 when some were not
    (left unpublished for want of credits, or invalid), 422 when none was created."""
    items = body.get("credentials")
    if not isinstance(items, list) or not items:
        raise Invalid("credentials", "can't be blank")
    if len(items) > MAX_BULK_V2:
        raise Invalid("credentials", f"holds at most {MAX_BULK_V2} credentials")
    results: list[dict[str, Any]] = []
    created = complete = 0
    for raw in items:
        try:
            inner = raw.get("credential", raw) if isinstance(raw, dict) else raw
            item = use_cases.read_item(dialect.obj(inner, "credential") or {})
            view, short = use_cases.create_credential(c, item)
        except (Invalid, DomainError) as exc:
            results.append({"errors": _item_error(exc)})
            continue
        created += 1
        if short:
            results.append(
                {
                    "credential": view,
                    "errors": {
                        "code": "insufficient_credits",
                        "message": "The credential was created but not published.",
                    },
                }
            )
        else:
            complete += 1
            results.append({"credential": view})
    if created == 0:
        return 422, {
            "results": results,
            "type": "/problems/invalid_input",
            "title": "Invalid input",
            "status": 422,
            "detail": "no credential was created",
            "code": "invalid_input",
        }
    return (200 if complete == len(items) else 207), {"results": results}


def _item_error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, Invalid):
        details = [{"property": exc.field or "credential", "message": exc.message}]
    else:
        assert isinstance(exc, DomainError)
        fields = exc.fields.get("errors") or [{"field": "credential", "message": exc.detail}]
        details = [{"property": f.get("field"), "message": f.get("message")} for f in fields]
    return {
        "code": "credential_invalid",
        "message": "The credential is not valid",
        "details": details,
    }


@route("POST", "/v2/credentials/search")
def search_v2(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    from credo.services.accredible import search

    return search.run(c, body)


# ------------------------------------------------------------------------- evidence


@route("POST", "/v1/credentials/{ref}/evidence_items")
def add_evidence(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    item = use_cases.add_evidence(c, request.path_params["ref"], body.get("evidence_item", body))
    return 200, {"evidence_item": item}


@route("GET", "/v1/credentials/{ref}/evidence_items/{item}")
def get_evidence(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    p = request.path_params
    return 200, {"evidence_item": use_cases.get_evidence(c, p["ref"], p["item"])}


@route("PUT", "/v1/credentials/{ref}/evidence_items/{item}")
def update_evidence(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    p = request.path_params
    item = use_cases.update_evidence(c, p["ref"], p["item"], body.get("evidence_item", body))
    return 200, {"evidence_item": item}


@route("DELETE", "/v1/credentials/{ref}/evidence_items/{item}")
def delete_evidence(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    p = request.path_params
    return 200, {"evidence_item": use_cases.delete_evidence(c, p["ref"], p["item"])}


# ------------------------------------------------------------------------- groups


@route("POST", "/v1/issuer/groups")
def create_group(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    fields = use_cases.group_fields(_wrapped(body, "group"), creating=True)
    return _once(c, request, lambda uow: {"group": use_cases.create_group_in(uow, c, fields)})


@route("GET", "/v1/issuer/groups/{ref}")
def get_group(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"group": use_cases.get_group(c, request.path_params["ref"])}


@route("PUT", "/v1/issuer/groups/{ref}")
def update_group(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    group = use_cases.update_group(c, request.path_params["ref"], _wrapped(body, "group"))
    return 200, {"group": group}


@route("DELETE", "/v1/issuer/groups/{ref}")
def delete_group(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"group": use_cases.delete_group(c, request.path_params["ref"])}


@route("GET", "/v1/issuer/all_groups")
def all_groups(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    params = _query(request, body)
    name = dialect.text(params.get("name"), "name", 200)
    rows, meta = use_cases.list_groups(c, name, None, _paging(params))
    return 200, {"groups": rows, "meta": meta}


@route("POST", "/v1/issuer/groups/search")
def search_groups(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    params = _query(request, body)
    name = dialect.text(params.get("name"), "name", 200)
    ids = params.get("ids")
    if ids is not None and not isinstance(ids, list):
        ids = [ids]
    rows, meta = use_cases.list_groups(c, name, ids, _paging(params))
    return 200, {"groups": rows, "meta": meta}


# ------------------------------------------------------------------------- the rest


@route("GET", "/v1/issuer/details")
def issuer_details(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"issuer": use_cases.issuer(c)}


@route("POST", "/v1/sso/generate_link")
def sso_link(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    link = use_cases.sso_link(c, _query(request, body))
    if link is None:
        raise NotFound("No Published Credential with this attribute")
    return 200, {"link": link}


@route("POST", "/v1/attribute_keys/search")
def attribute_keys(c: Context, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    params = _query(request, body)
    rows, meta = use_cases.attribute_keys(
        c,
        dialect.text(params.get("name"), "name", 200),
        dialect.text(params.get("kind"), "kind", 20),
        _paging(params),
    )
    return 200, {"attribute_keys": rows, "meta": meta}
