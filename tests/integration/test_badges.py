"""Badge images: `/c/{id}.png` and `/c/{id}.svg` carry the signed credential baked in (Open
Badges 3.0), are rendered once per credential version and look, and verify as images through
`POST /credentials/verify` and `credo verify`."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin
from sqlalchemy import select
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.adapters.images.baking import bake_png, unbake
from credo.bootstrap import App
from credo.entrypoints.cli.main import app as cli
from tests.conftest import MASTER_KEY, Org

MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


def published(org: Org, **group: Any) -> str:
    g = org.group("Data Literacy", **group)
    r = org.issue(g, "ann@x.org", "Ann Lee", expires_on="2099-01-01")
    assert r.status_code == 201, r.text
    cred_id: str = r.json()["credential"]["id"]
    return cred_id


def image(client: TestClient, cred_id: str, fmt: str) -> bytes:
    r = client.get(f"/c/{cred_id}.{fmt}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(MEDIA[fmt])
    assert r.headers["content-disposition"] == f'inline; filename="{cred_id}.{fmt}"'
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    return r.content


def verify_image(client: TestClient, body: bytes, fmt: str) -> Any:
    return client.post("/credentials/verify", content=body, headers={"Content-Type": MEDIA[fmt]})


def artifacts(credo: App, cred_id: str) -> list[tuple[str, int]]:
    a = t.credential_artifacts.c
    with credo.engine.connect() as conn:
        found = conn.execute(select(a.kind, a.version).where(a.credential_id == cred_id))
        return sorted((str(k), int(v)) for k, v in found)


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"]
    return body


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_badge_image_carries_the_signed_credential_and_verifies(
    org: Org, client: TestClient, fmt: str
) -> None:
    cred_id = published(org)
    document = client.get(f"/c/{cred_id}.json").content
    baked = image(client, cred_id, fmt)
    assert unbake(baked) == document.decode()  # byte for byte what /c/{id}.json serves
    r = verify_image(client, baked, fmt)
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True
    assert {c["check"] for c in r.json()["checks"]} >= {"signature", "issuer", "status"}
    if fmt == "png":
        im = Image.open(io.BytesIO(baked))
        im.load()
        assert isinstance(im, PngImagePlugin.PngImageFile)
        assert im.size == (512, 512) and im.mode == "RGBA"
        assert json.loads(im.text["openbadgecredential"]) == json.loads(document)
    else:
        assert b"Data Literacy" in baked and b"Test Org" in baked


@pytest.mark.parametrize("look", ["medal", "shield", "ribbon"])
def test_every_look_renders_with_a_logo(org: Org, client: TestClient, look: str) -> None:
    logo = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 128, 0)).save(logo, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(logo.getvalue()).decode()
    cred_id = published(org, design={"badge": look, "logo": uri, "primary_color": "#eeeeee"})
    png = Image.open(io.BytesIO(image(client, cred_id, "png"))).convert("RGBA")
    assert (0, 128, 0, 255) in {
        png.getpixel((x, y)) for x in range(216, 296) for y in range(56, 140)
    }
    svg = image(client, cred_id, "svg")
    assert uri.encode() in svg and b'fill="#eeeeee"' in svg
    assert b'fill="#111111"' in svg  # dark text on a light badge


def test_images_are_rendered_once_per_version(org: Org, client: TestClient, credo: App) -> None:
    cred_id = published(org)
    first = client.get(f"/c/{cred_id}.png")
    kept = artifacts(credo, cred_id)
    assert len(kept) == 1 and kept[0][0].startswith("badge:png:")
    again = client.get(f"/c/{cred_id}.png")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert artifacts(credo, cred_id) == kept
    unchanged = client.get(f"/c/{cred_id}.png", headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and not unchanged.content

    # A new version (re-signed) gets a new file; the old one, never read again, goes.
    r = org.patch(f"/v1/credentials/{cred_id}", {"recipient": {"name": "Ann Bell"}})
    assert r.status_code == 200, r.text
    fresh = client.get(f"/c/{cred_id}.png")
    assert fresh.headers["etag"] != first.headers["etag"]
    assert unbake(fresh.content) == client.get(f"/c/{cred_id}.json").text
    assert "Ann Bell" in unbake(fresh.content)
    [(kind, version)] = artifacts(credo, cred_id)
    assert kind.startswith("badge:png:") and version > kept[0][1]


class _Redrawn:
    """The real badge renderer under another fingerprint: new templates, fonts or code."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fingerprint = "new fonts: " + inner.fingerprint

    def render(self, content: Any, fmt: str) -> bytes:
        image: bytes = self.inner.render(content, fmt)
        return image

    def svg(self, content: Any) -> str:
        text: str = self.inner.svg(content)
        return text


def test_kept_images_are_drawn_again_when_what_draws_them_changes(
    org: Org, client: TestClient, credo: App
) -> None:
    cred_id = published(org)
    first = client.get(f"/c/{cred_id}.png")
    [(kind, _)] = artifacts(credo, cred_id)
    credo.badges = _Redrawn(credo.badges)  # type: ignore[assignment]
    redrawn = client.get(f"/c/{cred_id}.png")
    assert redrawn.headers["etag"] != first.headers["etag"]
    kinds = {k for k, _ in artifacts(credo, cred_id)}
    assert kind in kinds and len(kinds) == 2  # a new file beside the old one
    again = client.get(f"/c/{cred_id}.png")
    assert again.headers["etag"] == redrawn.headers["etag"]
    assert {k for k, _ in artifacts(credo, cred_id)} == kinds  # kept, not drawn again


def test_a_revoked_credentials_image_verifies_as_revoked(org: Org, client: TestClient) -> None:
    cred_id = published(org)
    baked = image(client, cred_id, "svg")
    assert org.post(f"/v1/credentials/{cred_id}/revoke", {"reason": "error"}).status_code == 200
    assert image(client, cred_id, "svg") == baked  # the image stays; its status changed
    body = problem(verify_image(client, baked, "svg"), 400)
    assert body["verified"] is False
    assert body["errors"][0]["title"] == "Credential revoked"


def test_a_tampered_image_fails_naming_the_signature(org: Org, client: TestClient) -> None:
    cred_id = published(org)
    doc = json.loads(unbake(image(client, cred_id, "png")))
    doc["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    forged = bake_png(image(client, cred_id, "png"), json.dumps(doc))
    body = problem(verify_image(client, forged, "png"), 400)
    assert any(e["check"] == "signature" for e in body["errors"])


def test_hidden_deleted_and_unknown_credentials_have_no_image(
    org: Org, client: TestClient, credo: App
) -> None:
    hidden, deleted = published(org), published(org)
    credo.runner.write(lambda uow: uow.credentials.set_hidden(hidden, True))
    assert org.delete(f"/v1/credentials/{deleted}").status_code == 204
    unknown = "crd_" + "0" * 32
    for cred_id in (hidden, deleted, unknown, "nonsense", "..%2F"):
        for fmt in ("png", "svg"):
            problem(client.get(f"/c/{cred_id}.{fmt}"), 404)


def _plain_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    return out.getvalue()


PLAIN_PNG = _plain_png()


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("png", b""),
        ("png", b"\x89PNG\r\n\x1a\n garbage"),
        ("png", b'{"verifiableCredential": {}}'),
        ("svg", b"<svg/>"),
        ("svg", b'<!DOCTYPE svg [<!ENTITY a "a">]><svg>&a;</svg>'),
        ("svg", b"\xff\xfe<\x00s\x00"),
        ("png", PLAIN_PNG),
        ("png", bake_png(PLAIN_PNG, "eyJhbGciOiJFZERTQSJ9.e30.c2ln")),  # a VC-JWT
    ],
)
def test_malformed_images_are_problem_json(client: TestClient, fmt: str, body: bytes) -> None:
    assert problem(verify_image(client, body, fmt), 422)["code"] == "invalid_image"


def test_image_bodies_are_taken_only_where_they_are_verified(client: TestClient) -> None:
    r = client.post(
        "/presentations/verify", content=b"<svg/>", headers={"Content-Type": "image/svg+xml"}
    )
    problem(r, 415)
    r = client.post("/credentials/verify", content=b"x", headers={"Content-Type": "image/gif"})
    problem(r, 415)
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (20 * 1024 * 1024)
    problem(verify_image(client, huge, "png"), 413)
    # JSON bodies go on as before.
    r = client.post("/credentials/verify", json={"verifiableCredential": {}})
    assert r.status_code == 400 and r.json()["verified"] is False


def test_credo_verify_reads_a_badge_image(
    org: Org, client: TestClient, database_url: str, tmp_path: Path
) -> None:
    env = {
        "CREDO_DATABASE_URL": database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
    }
    cred_id = published(org)
    for fmt in ("png", "svg"):
        path = tmp_path / f"badge.{fmt}"
        path.write_bytes(image(client, cred_id, fmt))
        r = CliRunner().invoke(cli, ["verify", str(path)], env=env)
        assert r.exit_code == 0, r.output
        assert "verified" in r.output and "signature" in r.output
    plain = tmp_path / "plain.png"
    plain.write_bytes(bake_png(image(client, cred_id, "png"), "[]"))
    r = CliRunner().invoke(cli, ["verify", str(plain)], env=env)
    assert r.exit_code == 2 and "not a JSON object" in r.output, r.output
    assert "Traceback" not in r.output
