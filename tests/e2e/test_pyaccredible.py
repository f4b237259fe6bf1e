"""A real Accredible client, unchanged: the `pyaccredible` wrapper from PyPI (requests over
real HTTP), given a served Credo's compatible API as its `server`, runs its group and
credential calls; Credo's own API then shows what it did, under Credo's rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from pyaccredible.client import AccredibleWrapper

from tests.e2e.server import LiveServer, running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(
        f"sqlite:///{tmp_path / 'credo.db'}", tmp_path, backend="sqlite", workers=1
    ) as s:
        yield s


def test_pyaccredible_issues_and_cleans_up_through_credo(server: LiveServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        made = server.create_org(http, name="Python Academy", sandbox=True, plan="launch-250")
        key = made["api_key"]
        ours = {"Authorization": f"Bearer {key}"}
        wrapper = AccredibleWrapper(key, server=f"{server.base_url}/compat/accredible/v1/")

        r = wrapper.group_create(
            name="py-101", course_name="Python 101", course_description="Learn Python",
            attach_pdf=True, design_id=None,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        group_id = r.json()["group"]["id"]
        assert isinstance(group_id, int)
        r = wrapper.group_update(group_id, course_description="Learn Python, well")
        assert r.status_code == 200 and r.json()["group"]["course_description"] == (
            "Learn Python, well"
        )

        r = wrapper.credential_create(
            group_id, "Ada Lovelace", "ada@example.org", date(2026, 2, 1),
            custom_attrs={"cohort": "February"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        credential = r.json()["credential"]
        assert credential["approve"] is True and credential["issued_on"] == "2026-02-01"
        r = wrapper.credential_update(credential["id"], grade="A")
        assert r.status_code == 200 and r.json()["credential"]["grade"] == "A"

        listed = wrapper.get_credentials_by_group(group_id).json()
        assert [c["id"] for c in listed["credentials"]] == [credential["id"]]
        page = http.get(f"/c/{credential['encoded_id']}", headers={"Accept": "text/html"}).text
        assert "<dt>Cohort</dt><dd>February</dd>" in page and "<dt>Grade</dt><dd>A</dd>" in page
        signed = http.get(f"/v1/credentials/{credential['encoded_id']}", headers=ours).json()
        assert signed["credential"]["status"] == "published"
        assert http.get("/v1/credits", headers=ours).json()["used"] == 1

        wrapper.group_credentials_delete(group_id)  # deletes each credential, then the group
        gone = http.get(f"/v1/credentials/{credential['encoded_id']}", headers=ours)
        assert gone.status_code == 404
        assert wrapper.get_credentials_by_group(group_id).json()["credentials"] == []
        group_gone = wrapper.get(f"{wrapper.API_URL}issuer/groups/{group_id}")
        assert group_gone.status_code == 404  # archived in Credo: gone for Accredible's clients
        assert http.get("/v1/credits", headers=ours).json()["used"] == 1  # never refunded
        r = AccredibleWrapper("credo_sk_wrong", server=wrapper.API_URL).group_create(name="x")
        assert r.status_code == 401 and re.search("Access denied", r.text)
