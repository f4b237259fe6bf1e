"""Without CREDO_BASE_URL, a server links to the address it serves: credential ids, page
URLs and status lists carry its port (they once said 8000 whatever the port)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.server import (
    ADMIN_TOKEN,
    CLI_MODULE,
    HOST,
    _stop,
    _wait_healthy,
    free_port,
    server_env,
)


def test_a_server_on_another_port_links_to_that_port(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(f"sqlite:///{tmp_path / 'credo.db'}")
    assert "CREDO_BASE_URL" not in env
    err = tmp_path / "stderr.log"
    argv = [sys.executable, "-m", CLI_MODULE, "serve", "--host", HOST, "--port", str(port)]
    with err.open("wb") as e:
        proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=e,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    base = f"http://{HOST}:{port}"
    try:
        _wait_healthy(proc, base, err)
        with httpx.Client(base_url=base, timeout=60) as http:
            made = http.post(
                "/v1/admin/organizations",
                json={"name": "Port Org", "plan": "launch-250", "sandbox": True},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ).json()
            auth = {"Authorization": f"Bearer {made['api_key']}"}
            group = http.post("/v1/groups", json={"name": "Ports 101"}, headers=auth).json()
            r = http.post(
                "/v1/credentials",
                json={"group_id": group["group"]["id"],
                      "recipient": {"name": "Pat", "email": "pat@example.org"}},
                headers=auth,
            )  # fmt: skip
            assert r.status_code == 201, r.text
            cred = r.json()["credential"]
            assert cred["url"] == f"{base}/c/{cred['id']}"
            document = http.get(f"/c/{cred['id']}.json").json()
            assert document["id"] == f"{base}/c/{cred['id']}"
            status = document["credentialStatus"]
            entries = status if isinstance(status, list) else [status]
            assert all(e["statusListCredential"].startswith(f"{base}/status/") for e in entries)
    finally:
        _stop(proc)
