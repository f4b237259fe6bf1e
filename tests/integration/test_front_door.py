"""The front door: `/`, the public verify form, the favicon and the offline API docs."""

from __future__ import annotations

import copy
import html as html_lib
import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from credo.adapters.images import baking
from tests.conftest import Org
from tests.integration.test_credential_page import BROWSER, Page, _checks, _published


def _verdict(html: str) -> str:
    found = re.findall(r'<p class="verdict-text">\s*(.*?)\s*</p>', html, re.S)
    assert found, html
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", found[-1])).split())


def _upload(client: TestClient, data: bytes, name: str, **headers: str) -> Any:
    files = {"file": (name, data, "application/octet-stream")}
    return client.post("/verify", files=files, headers=headers or BROWSER)


# ---------------------------------------------------------------------------- the front page


def test_the_front_page_says_what_credo_is_and_where_to_go(client: TestClient) -> None:
    r = client.get("/", headers=BROWSER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in r.headers
    page = Page(r.text)
    assert page.lang == "en" and page.h1 == 1
    assert {"/login", "/docs", "/verify"} <= set(page.links())
    assert "verifiable" in r.text.lower() and "Open Badges 3.0" in r.text
    forms = [a for t, a in page.tags if t == "form"]
    assert forms == [
        {
            "class": "verify-form",
            "method": "post",
            "action": "/verify",
            "enctype": "multipart/form-data",
        }
    ]
    inputs = [a for t, a in page.tags if t == "input"]
    assert inputs[0]["type"] == "file" and inputs[0]["id"] in page.label_for
    icons = [a for t, a in page.tags if t == "link" and a.get("rel") == "icon"]
    assert icons == [{"rel": "icon", "href": "/favicon.svg", "type": "image/svg+xml"}]


def test_the_favicon_is_served_as_an_icon_and_as_svg(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    icon = Image.open(io.BytesIO(r.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])
    pixels = icon.convert("RGBA")
    pixel = pixels.getpixel((pixels.width // 2, 2))  # Credo's navy, not a blank image
    assert isinstance(pixel, tuple)
    assert sum(abs(a - b) for a, b in zip(pixel[:3], (31, 58, 95), strict=True)) < 10
    svg = client.get("/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.startswith(b"<svg")


def test_the_dashboard_links_the_favicon_too(client: TestClient) -> None:
    r = client.get("/login", headers=BROWSER)
    assert '<link rel="icon" href="/favicon.svg"' in r.text


# ---------------------------------------------------------------------------- offline docs


def _external(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(https?://[^"]+)"', html)


def test_the_api_docs_need_no_network(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert _external(r.text) == []
    assert "/docs/assets/swagger-ui-bundle.js" in r.text and "/openapi.json" in r.text
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    # Swagger UI 5 reads OpenAPI 3.1, which FastAPI writes; version 4 refuses it.
    assert re.search(rb'PACKAGE_VERSION:"5\.\d+\.\d+"', js.content)
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    css = client.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_an_unknown_docs_asset_is_a_problem_not_a_file(client: TestClient) -> None:
    for name in ("nope.js", "..%2F..%2Fcore.py", "__init__.py", "redoc.standalone.js"):
        r = client.get(f"/docs/assets/{name}")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


# ---------------------------------------------------------------------------- verify form


def test_the_verify_form_is_a_page(client: TestClient) -> None:
    r = client.get("/verify", headers=BROWSER)
    assert r.status_code == 200
    page = Page(r.text)
    assert page.h1 == 1
    assert any(t == "input" and a.get("type") == "file" for t, a in page.tags)


@pytest.mark.parametrize("kind", ["json", "png", "svg"])
def test_an_uploaded_credential_gets_the_credential_pages_verdict(
    org: Org, client: TestClient, kind: str
) -> None:
    cred = _published(org)
    file = client.get(f"/c/{cred['id']}.{kind}").content
    page = client.get(f"/c/{cred['id']}", headers=BROWSER).text
    r = _upload(client, file, f"ada.{kind}")
    assert r.status_code == 200, r.text
    assert (
        _checks(r.text)
        == _checks(page)
        == {
            "Signature": "Passed",
            "Issuer": "Passed",
            "Status": "Passed",
            "Validity": "Passed",
        }
    )
    assert _verdict(r.text) == _verdict(page) == "✔ Verified: this credential is genuine and valid."
    assert f"ada.{kind}: verified, genuine and valid" in r.text
    for claim in ("Ada Lovelace", "Certificate in Data Science", "Test Org"):
        assert claim in r.text
    assert f'href="/c/{cred["id"]}"' in r.text  # ours: a link to its page


@pytest.mark.parametrize("action", ["revoke", "suspend"])
def test_a_revoked_or_suspended_credential_says_so_as_its_page_does(
    org: Org, client: TestClient, action: str
) -> None:
    cred = _published(org)
    signed = client.get(f"/c/{cred['id']}.json").content
    r = org.post(f"/v1/credentials/{cred['id']}/{action}", {"reason": "Awarded in error"})
    assert r.status_code == 200, r.text
    page = client.get(f"/c/{cred['id']}", headers=BROWSER).text
    r = _upload(client, signed, "ada.json")
    assert r.status_code == 200
    assert _checks(r.text) == _checks(page)
    assert _checks(r.text)["Status"] == "Failed"
    word = {"revoke": "it has been revoked", "suspend": "it is suspended"}[action]
    assert _verdict(r.text) == _verdict(page) == f"✖ Not valid: {word}."
    assert "ada.json: not valid" in r.text


def test_an_altered_credential_fails_its_signature(org: Org, client: TestClient) -> None:
    cred = _published(org)
    doc = client.get(f"/c/{cred['id']}.json").json()
    doc["credentialSubject"]["name"] = "Mallory"
    r = _upload(client, json.dumps(doc).encode(), "forged.json")
    assert r.status_code == 200
    assert _checks(r.text)["Signature"] == "Failed"
    assert "The signature does not match" in r.text
    assert "✖ Not valid: a check failed." in _verdict(r.text)
    assert f'href="/c/{cred["id"]}"' not in r.text  # no link lends it our page's credit


def test_a_presentation_shows_its_own_checks_and_each_credential(
    org: Org, client: TestClient
) -> None:
    one, two = _published(org), _published(org, name="Grace Hopper")
    creds = [client.get(f"/c/{c['id']}.json").json() for c in (one, two)]
    altered = copy.deepcopy(creds[1])
    altered["credentialSubject"]["name"] = "Mallory"
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [creds[0], altered],
    }
    r = _upload(client, json.dumps(presentation).encode(), "both.json")
    assert r.status_code == 200, r.text
    assert "The presentation" in r.text and "Credential 1" in r.text and "Credential 2" in r.text
    assert "Not signed: whoever presents it is not authenticated." in r.text
    verdicts = re.findall(r'<p class="verdict-text">\s*(.*?)\s*</p>', r.text, re.S)
    assert len(verdicts) == 3
    assert "genuine and valid" in verdicts[1] and "Not valid" in verdicts[2]
    assert "both.json: not valid" in r.text


def _png_without_credential() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


NOT_CREDENTIALS = [
    (b"", "empty.json", "The file is empty."),
    (b"hello, world\n", "notes.txt", "neither a JSON document nor a badge image"),
    (b'{"name": "Ada"}', "data.json", "not a verifiable credential"),
    (b"[1, 2, 3]", "list.json", "not a verifiable credential"),
    (b"[" * 100_000, "deep.json", "neither a JSON document"),
    (_png_without_credential(), "plain.png", "This image carries no credential"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "plain.svg", "carries no credential"),
    (b"\xff\xfe\x00garbage", "bytes.bin", "neither a JSON document"),
]


@pytest.mark.parametrize(("data", "name", "words"), NOT_CREDENTIALS)
def test_a_file_that_is_not_a_credential_is_said_so_in_words(
    client: TestClient, data: bytes, name: str, words: str
) -> None:
    r = _upload(client, data, name)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert words in r.text
    assert 'role="alert"' in r.text and 'type="file"' in r.text  # and the form to try again
    api = _upload(client, data, name, Accept="application/json")
    assert api.status_code == 422
    assert api.headers["content-type"] == "application/problem+json"
    assert words in api.json()["detail"]


def test_a_form_without_a_file_asks_for_one(client: TestClient) -> None:
    r = client.post("/verify", files={"note": ("a.txt", b"x")}, headers=BROWSER)
    assert r.status_code == 422 and "Choose a file." in r.text
    # What a browser sends when no file was chosen: an empty part with no file name.
    r = client.post("/verify", files={"file": ("", b"")}, headers=BROWSER)
    assert r.status_code == 422 and "Choose a file." in r.text
    r = client.post("/verify", content=b"not a form", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"


@pytest.fixture
def bystander() -> Iterator[list[str]]:
    """A real HTTP server that records every request made to it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    hits.append(f"http://{host!s}:{port}")  # the first entry: its address
    yield hits
    server.shutdown()
    server.server_close()


def test_verifying_fetches_nothing_the_file_names(
    org: Org, client: TestClient, bystander: list[str]
) -> None:
    address = bystander.pop(0)
    cred = _published(org)
    doc = client.get(f"/c/{cred['id']}.json").json()
    doc["credentialStatus"][0]["statusListCredential"] = f"{address}/status/1"
    doc["issuer"]["id"] = f"did:web:127.0.0.1%3A{address.rsplit(':', 1)[1]}"
    doc["credentialSubject"]["achievement"]["image"] = {"id": f"{address}/img", "type": "Image"}
    png = baking.bake_png(client.get(f"/c/{cred['id']}.png").content, json.dumps(doc))
    for data, name in ((json.dumps(doc).encode(), "elsewhere.json"), (png, "elsewhere.png")):
        r = _upload(client, data, name)
        assert r.status_code == 200, r.text
        assert _checks(r.text)["Signature"] == "Failed"
    assert bystander == []
