"""PDF certificates (GET /c/{id}.pdf) and group designs (POST/PATCH /v1/groups, GET
/v1/designs, the certificate preview).

The PDFs are read back with poppler (pdftotext, pdffonts, pdfimages, pdftoppm) and tesseract;
a missing tool skips its test with the reason, unless CI=true, where it fails. PNG renders
are kept in test-artifacts/certificates/ for a human look.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image
from sqlalchemy import func, select

from credo.adapters.db import tables as t
from credo.adapters.pdf.qr import SCALE
from credo.adapters.pdf.renderer import SAMPLE, WeasyCertificates, data_only
from credo.bootstrap import App
from credo.domain import designs
from tests.conftest import Org, artifacts_dir, create_org

PROBLEM = "application/problem+json"
# PDF points: 1 pt = 1/72 inch.
SIZES = {
    ("a4", "landscape"): (841.89, 595.28),
    ("a4", "portrait"): (595.28, 841.89),
    ("letter", "landscape"): (792.0, 612.0),
    ("letter", "portrait"): (612.0, 792.0),
}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def run(*args: str | Path, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], input=stdin, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8", "replace")


def pdf_text(pdf: bytes) -> str:
    return run(need("pdftotext"), "-", "-", stdin=pdf)


def out_dir() -> Path:
    path = artifacts_dir() / "certificates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size in points, as pdfinfo reads it."""
    info = run(need("pdfinfo"), "-f", "1", "-l", "100", "-", stdin=pdf)
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    return [(float(w), float(h)) for w, h in sizes]


def to_png(pdf: bytes, name: str, dpi: int = 150) -> Path:
    base = out_dir() / name
    run(need("pdftoppm"), "-r", str(dpi), "-png", "-singlefile", "-", base, stdin=pdf)
    return base.with_suffix(".png")


def publish(org: Org, name: str = "Ada Lovelace", **group: Any) -> tuple[str, str]:
    gid = org.group(
        group.pop("group_name", "Advanced Data Analysis"),
        description=group.pop("description", "Twelve weeks of statistics and a capstone."),
        **group,
    )
    r = org.issue(gid, "ada@example.org", name, issued_on="2026-01-20", expires_on="2028-01-20")
    assert r.status_code == 201, r.text
    return gid, r.json()["credential"]["id"]


def artifact_rows(credo: App, cred_id: str) -> list[tuple[str, int]]:
    a = t.credential_artifacts.c
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(a.kind, a.version).where(a.credential_id == cred_id).order_by(a.kind)
        ).all()
    return [(r[0], r[1]) for r in rows]


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == PROBLEM, r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def error_fields(r: Any) -> set[str]:
    return {e["field"] for e in assert_problem(r, 422)["errors"]}


def png_data_uri(size: tuple[int, int], colour: str) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


# --------------------------------------------------------------------------- the PDF route


@pytest.mark.parametrize(("paper", "orientation"), sorted(SIZES))
def test_pdf_in_each_paper_size_and_orientation(org: Org, paper: str, orientation: str) -> None:
    _, cred = publish(org)
    r = org.client.get(f"/c/{cred}.pdf", params={"paper": paper, "orientation": orientation})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"] == f'attachment; filename="certificate-{cred}.pdf"'
    assert r.headers["etag"]
    [(width, height)] = media_boxes(r.content)  # exactly one page
    want_w, want_h = SIZES[(paper, orientation)]
    assert abs(width - want_w) < 1 and abs(height - want_h) < 1, (width, height)


def test_pdf_defaults_to_the_designs_paper_and_orientation(org: Org) -> None:
    _, cred = publish(org)
    [size] = media_boxes(org.client.get(f"/c/{cred}.pdf").content)
    assert abs(size[0] - 841.89) < 1 and abs(size[1] - 595.28) < 1  # A4 landscape
    _, cred = publish(org, design={"paper": "letter", "orientation": "portrait"})
    [size] = media_boxes(org.client.get(f"/c/{cred}.pdf").content)
    assert abs(size[0] - 612) < 1 and abs(size[1] - 792) < 1


def test_pdf_says_who_what_by_whom_when_and_which(org: Org) -> None:
    _, cred = publish(org, "Grace Hopper", design={"signatory_name": "Prof. Jane Smith"})
    pdf = org.client.get(f"/c/{cred}.pdf").content
    text = " ".join(pdf_text(pdf).split()).casefold()  # looks set some lines in capitals
    for expected in (
        "Grace Hopper",
        "Advanced Data Analysis",
        "Twelve weeks of statistics and a capstone.",
        "Test Org",
        "20 January 2026",
        "20 January 2028",
        cred,
        f"{org.client.app.state.credo.ctx.base_url}/c/{cred}",  # type: ignore[attr-defined]
        "Prof. Jane Smith",
    ):
        assert expected.casefold() in text, f"{expected!r} not in {text!r}"


def test_pdf_qr_code_encodes_the_credential_page(org: Org, tmp_path: Path) -> None:
    credo: App = org.client.app.state.credo  # type: ignore[attr-defined]
    _, cred = publish(org)
    pdf = org.client.get(f"/c/{cred}.pdf").content
    (tmp_path / "c.pdf").write_bytes(pdf)
    run(need("pdfimages"), "-png", tmp_path / "c.pdf", tmp_path / "img")
    expected = segno.make(f"{credo.ctx.base_url}/c/{cred}", error="m", micro=False)
    want = [[bool(v) for v in row] for row in expected.matrix]
    found = []
    for path in sorted(tmp_path.glob("img-*.png")):
        img = Image.open(path).convert("L")
        n = img.width // SCALE
        if img.width != img.height or n != len(want):
            continue
        # Sample each module's centre: dark is True.
        got = [
            [
                _dark(img.getpixel((x * SCALE + SCALE // 2, y * SCALE + SCALE // 2)))
                for x in range(n)
            ]
            for y in range(n)
        ]
        found.append(got)
    assert found, "no QR-sized image in the PDF"
    assert want in found, "the QR code in the PDF is not the credential page's URL"
    zbar = shutil.which("zbarimg")
    if zbar:  # an independent decoder, when installed (Debian: zbar-tools)
        png = to_png(pdf, "qr-check", dpi=200)
        assert f"{credo.ctx.base_url}/c/{cred}" in run(zbar, "--raw", "-q", png)


def _dark(pixel: object) -> bool:
    assert isinstance(pixel, int)  # a greyscale ("L") image's pixel
    return pixel < 128


def test_pdf_is_rendered_once_per_version_and_design(org: Org) -> None:
    credo: App = org.client.app.state.credo  # type: ignore[attr-defined]
    counting = CountingRenderer(credo.certificates)
    credo.certificates = counting  # type: ignore[assignment]
    gid, cred = publish(org)
    first = org.client.get(f"/c/{cred}.pdf")
    assert first.status_code == 200 and counting.calls == 1
    rows = artifact_rows(credo, cred)
    assert len(rows) == 1 and rows[0][0].startswith("pdf:a4:landscape:")
    again = org.client.get(f"/c/{cred}.pdf")
    assert again.content == first.content and counting.calls == 1
    assert again.headers["etag"] == first.headers["etag"]
    assert artifact_rows(credo, cred) == rows
    # A browser revalidating gets a 304 without the body.
    r = org.client.get(f"/c/{cred}.pdf", headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 304 and not r.content
    # Letter is another file, kept beside the first.
    org.client.get(f"/c/{cred}.pdf", params={"paper": "letter"})
    assert counting.calls == 2 and len(artifact_rows(credo, cred)) == 2
    # A new design draws the credential afresh (the signed credential is untouched).
    before = org.get(f"/v1/credentials/{cred}").json()
    r = org.patch(f"/v1/groups/{gid}", {"design": {"certificate": "modern"}})
    assert r.status_code == 200, r.text
    redrawn = org.client.get(f"/c/{cred}.pdf")
    assert counting.calls == 3 and redrawn.content != first.content
    assert redrawn.headers["etag"] != first.headers["etag"]
    assert org.get(f"/v1/credentials/{cred}").json() == before
    # A re-signed credential (new version) is drawn again too.
    r = org.patch(f"/v1/credentials/{cred}", {"recipient": {"name": "Ada King"}})
    assert r.status_code == 200, r.text
    assert "Ada King" in pdf_text(org.client.get(f"/c/{cred}.pdf").content)
    assert counting.calls == 4


class CountingRenderer:
    """The real renderer, counting its renders."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self.fingerprint: str = inner.fingerprint

    def render(self, content: Any) -> bytes:
        self.calls += 1
        pdf: bytes = self.inner.render(content)
        return pdf


def test_kept_pdfs_are_drawn_again_when_what_draws_them_changes(org: Org) -> None:
    """New templates, fonts or drawing code (the renderer's fingerprint) draw the PDF anew;
    the same ones serve the kept file."""
    credo: App = org.client.app.state.credo  # type: ignore[attr-defined]
    counting = CountingRenderer(credo.certificates)
    credo.certificates = counting  # type: ignore[assignment]
    _, cred = publish(org)
    first = org.client.get(f"/c/{cred}.pdf")
    org.client.get(f"/c/{cred}.pdf")
    assert counting.calls == 1
    counting.fingerprint = "a font was upgraded"
    redrawn = org.client.get(f"/c/{cred}.pdf")
    assert redrawn.status_code == 200 and counting.calls == 2
    assert redrawn.headers["etag"] != first.headers["etag"]
    org.client.get(f"/c/{cred}.pdf")
    assert counting.calls == 2  # and kept again


def test_pdf_of_hidden_deleted_draft_or_unknown_credentials_is_404(org: Org) -> None:
    credo: App = org.client.app.state.credo  # type: ignore[attr-defined]
    gid, hidden = publish(org)
    credo.runner.write(lambda uow: uow.credentials.set_hidden(hidden, True))
    _, deleted = publish(org)
    assert org.delete(f"/v1/credentials/{deleted}").status_code == 204
    r = org.issue(gid, "draft@example.org", "Draft", publish=False)
    draft = r.json()["credential"]["id"]
    unknown = deleted[:5] + "0" * (len(deleted) - 5)
    for cred in (hidden, deleted, draft, unknown, "nope", "cred_%00", gid):
        assert_problem(org.client.get(f"/c/{cred}.pdf"), 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"paper": "a3"}, "paper"),
        ({"paper": "A4"}, "paper"),
        ({"orientation": "sideways"}, "orientation"),
        ({"paper": ""}, "paper"),
    ],
)
def test_pdf_with_bad_paper_or_orientation_is_422(
    org: Org, params: dict[str, str], field: str
) -> None:
    _, cred = publish(org)
    assert error_fields(org.client.get(f"/c/{cred}.pdf", params=params)) == {field}


# --------------------------------------------------------------------------- scripts and looks

SCRIPTS = {
    # script: (name, the Noto face pdffonts must list)
    "latin": ("Zoë Ørsted-Müller", "Noto-Serif"),
    "greek": ("Αλέξανδρος Παπαδόπουλος", "Noto-Serif"),
    "cyrillic": ("Анна Каренина", "Noto-Serif"),
    "cjk": ("王小明", "Noto-Serif-CJK"),
    "arabic": ("فاطمة الزهراء", "Noto-Naskh-Arabic"),
    "hebrew": ("דוד בן גוריון", "Noto-Serif-Hebrew"),
    "devanagari": ("अमिताभ बच्चन", "Noto-Serif-Devanagari"),
}
_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def _normal(text: str) -> str:
    """pdftotext wraps right-to-left runs in embedding marks and may space out Indic
    clusters: compare without them."""
    return "".join(unicodedata.normalize("NFC", text).translate(_MARKS).split())


@pytest.fixture(scope="module")
def renderer() -> WeasyCertificates:
    return WeasyCertificates()


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_names_in_every_script_render_with_real_glyphs(
    renderer: WeasyCertificates, script: str
) -> None:
    name, face = SCRIPTS[script]
    pdf = renderer.render(replace(SAMPLE, recipient_name=name, sample=False))
    fonts = run(need("pdffonts"), "-", stdin=pdf)
    embedded = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert any(f.split("+")[-1].startswith(face) for f in embedded), (face, embedded)
    # Every font is embedded (no viewer-side substitution).
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:]), fonts
    assert _normal(name) in _normal(pdf_text(pdf)), (name, pdf_text(pdf))
    to_png(pdf, f"script-{script}", dpi=60)


def test_a_right_to_left_name_reads_right_to_left(renderer: WeasyCertificates) -> None:
    """pdftotext orders text as drawn: a right-to-left run comes out marked as one (U+202B)
    with its words in logical order; drawn left-to-right word by word it would not."""
    name = SCRIPTS["hebrew"][0]
    pdf = renderer.render(replace(SAMPLE, recipient_name=name, sample=False))
    assert f"\u202b{name}\u202c" in pdf_text(pdf)


@pytest.mark.parametrize("look", designs.CERTIFICATE_LOOKS)
@pytest.mark.parametrize("orientation", designs.ORIENTATIONS)
def test_every_look_reads_back_by_ocr(
    renderer: WeasyCertificates, look: str, orientation: str
) -> None:
    design = replace(
        designs.DEFAULT,
        certificate=look,
        signatory_name="Prof. Jane Smith",
        signatory_title="Dean of Continuing Education",
        logo=png_data_uri((240, 80), "#1f3a5f"),
    )
    content = replace(
        SAMPLE,
        recipient_name="Margaret Hamilton",
        achievement_name="Advanced Data Analysis with Python",
        issuer_name="University of Northbridge",
        expires_on="1 January 2029",
        design=design,
        orientation=orientation,
        sample=False,
    )
    pdf = renderer.render(content)
    assert len(media_boxes(pdf)) == 1
    png = to_png(pdf, f"look-{look}-{orientation}")
    ocr = run(need("tesseract"), png, "-")
    assert "Margaret Hamilton" in ocr, ocr


def test_rendering_fetches_nothing_but_data_uris() -> None:
    fetch = data_only()
    for url in ("http://127.0.0.1:9/logo.png", "https://example.org/x.png", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetch(url)
    assert fetch(png_data_uri((2, 2), "red")).read().startswith(b"\x89PNG")


# --------------------------------------------------------------------------- the design API


def test_create_group_with_a_design_and_patch_it(org: Org) -> None:
    logo = png_data_uri((300, 100), "#aa2233")
    r = org.post(
        "/v1/groups",
        {"name": "Course", "design": {"certificate": "minimal", "logo": logo, "paper": "letter"}},
    )
    assert r.status_code == 201, r.text
    group = r.json()["group"]
    assert group["design"] == {
        **designs.DEFAULT.as_dict(),
        "certificate": "minimal",
        "logo": logo,
        "paper": "letter",
    }
    gid = group["id"]
    # A partial design merges over the stored one.
    r = org.patch(f"/v1/groups/{gid}", {"design": {"primary_color": "#004d40"}, "name": "Renamed"})
    assert r.status_code == 200, r.text
    g = r.json()["group"]
    assert g["name"] == "Renamed" and g["description"] is None
    assert g["design"]["logo"] == logo and g["design"]["certificate"] == "minimal"
    assert g["design"]["primary_color"] == "#004d40"
    assert org.get(f"/v1/groups/{gid}").json()["group"] == g
    # Only what is given changes; null clears.
    r = org.patch(
        f"/v1/groups/{gid}",
        {"description": "About", "expires_after_months": 24, "criteria": "Pass the exam"},
    )
    g = r.json()["group"]
    assert (g["description"], g["expires_after_months"], g["criteria"]) == (
        "About",
        24,
        "Pass the exam",
    )
    assert g["name"] == "Renamed" and g["design"]["primary_color"] == "#004d40"
    r = org.patch(f"/v1/groups/{gid}", {"design": None, "expires_after_months": None})
    g = r.json()["group"]
    assert g["design"] == designs.DEFAULT.as_dict() and g["expires_after_months"] is None
    # Retried with its Idempotency-Key, a PATCH answers the same and changes nothing more.
    headers = {"Idempotency-Key": "patch-1"}
    one = org.patch(f"/v1/groups/{gid}", {"name": "Once"}, headers=headers)
    org.patch(f"/v1/groups/{gid}", {"name": "Twice"})
    two = org.patch(f"/v1/groups/{gid}", {"name": "Once"}, headers=headers)
    assert (
        one.json() == two.json() and org.get(f"/v1/groups/{gid}").json()["group"]["name"] == "Twice"
    )


def test_a_logo_renders_in_the_pdf(org: Org, tmp_path: Path) -> None:
    _, cred = publish(org, design={"logo": png_data_uri((321, 123), "#2255aa")})
    (tmp_path / "c.pdf").write_bytes(org.client.get(f"/c/{cred}.pdf").content)
    listing = run(need("pdfimages"), "-list", tmp_path / "c.pdf")
    sizes = {tuple(line.split()[3:5]) for line in listing.splitlines()[2:]}
    assert ("321", "123") in sizes, listing


BAD_DESIGNS = [
    ({"certificate": "baroque"}, "design.certificate"),
    ({"badge": 3}, "design.badge"),
    ({"paper": "a3"}, "design.paper"),
    ({"orientation": None}, "design.orientation"),
    ({"primary_color": "red"}, "design.primary_color"),
    ({"accent_color": "#12345"}, "design.accent_color"),
    ({"logo": "https://example.org/logo.png"}, "design.logo"),
    ({"logo": "file:///etc/passwd"}, "design.logo"),
    ({"signature_image": "data:image/gif;base64,R0lGOD"}, "design.signature_image"),
    ({"logo": "data:image/png;base64," + "A" * 800_000}, "design.logo"),
    ({"logo": "data:image/png;base64,===="}, "design.logo"),
    ({"logo": "data:image/png;base64," + base64.b64encode(b"GIF89a....").decode()}, "design.logo"),
    ({"signature_image": "data:image/svg+xml;base64,aGVsbG8="}, "design.signature_image"),
    ({"signatory_name": ""}, "design.signatory_name"),
    ({"signatory_name": "x" * 201}, "design.signatory_name"),
    ({"signatory_title": 5}, "design.signatory_title"),
    ({"signatory_name": "A\x00B"}, "design.signatory_name"),
    ({"signatory_title": "Dean \ud800"}, "design.signatory_title"),
    ({"surprise": 1}, "design.surprise"),
    ({"primary_color": ["#000000"]}, "design.primary_color"),
    ({"certificate": {"a": 1}}, "design.certificate"),
]


@pytest.mark.parametrize(("design", "field"), BAD_DESIGNS, ids=[f for _, f in BAD_DESIGNS])
def test_a_bad_design_is_422_naming_the_field(org: Org, design: dict[str, Any], field: str) -> None:
    # Sent as JSON text with \u escapes: a lone surrogate cannot be encoded as UTF-8.
    headers = {**org.auth, "Content-Type": "application/json"}
    body = json.dumps({"name": "Course", "design": design})
    r = org.client.post("/v1/groups", content=body, headers=headers)
    assert error_fields(r) == {field}
    gid = org.group("Course", design={"signatory_name": "Kept"})
    body = json.dumps({"design": design})
    r = org.client.patch(f"/v1/groups/{gid}", content=body, headers=headers)
    assert error_fields(r) == {field}
    assert org.get(f"/v1/groups/{gid}").json()["group"]["design"]["signatory_name"] == "Kept"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"design": "classic"}, "design"),
        ({"design": ["classic"]}, "design"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"expires_after_months": 0}, "expires_after_months"),
        ({"criteria": 5}, "criteria"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_group_patch_is_422(org: Org, body: dict[str, Any], field: str) -> None:
    gid = org.group("Course")
    assert field in error_fields(org.patch(f"/v1/groups/{gid}", body))


def test_another_organizations_group_cannot_be_patched_or_previewed(org: Org) -> None:
    other = create_org(org.client, name="Other", sandbox=True, anchor="2026-01-15")
    gid = other.group("Theirs")
    assert_problem(org.patch(f"/v1/groups/{gid}", {"name": "Mine"}), 404)
    assert_problem(org.get(f"/v1/groups/{gid}/certificate-preview.pdf"), 404)
    assert other.get(f"/v1/groups/{gid}").json()["group"]["name"] == "Theirs"
    assert_problem(org.patch("/v1/groups/nope", {"name": "x"}), 404)


def test_designs_lists_the_built_in_looks(org: Org) -> None:
    r = org.get("/v1/designs")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["id"] for d in body["designs"]] == list(designs.CERTIFICATE_LOOKS)
    assert "recipient_name" in body["designs"][0]["fields"]
    assert body["design_fields"]["paper"]["choices"] == ["a4", "letter"]
    assert_problem(org.client.get("/v1/designs"), 401)


def test_certificate_preview_is_a_sample_and_is_not_kept(org: Org) -> None:
    credo: App = org.client.app.state.credo  # type: ignore[attr-defined]
    gid = org.group("Preview Course", design={"certificate": "modern"}, expires_after_months=12)
    with credo.engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(t.credential_artifacts))
    r = org.get(f"/v1/groups/{gid}/certificate-preview.pdf", params={"orientation": "portrait"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    [size] = media_boxes(r.content)
    assert size[0] < size[1]
    text = pdf_text(r.content)
    # The SAMPLE mark is drawn across the page, rotated: pdftotext scatters its letters.
    assert "Preview Course" in text and "Alex Example" in text and "Test Org" in text
    assert "cred_sample" in text
    with credo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(t.credential_artifacts)) == before
    assert error_fields(
        org.get(f"/v1/groups/{gid}/certificate-preview.pdf", params={"paper": "a5"})
    ) == {"paper"}
