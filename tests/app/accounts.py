"""Test helper: users added with `webcare users add`, signed in through POST /api/v1/auth/token."""

from __future__ import annotations

import httpx

from tests.app.live_server import run_cli

PASSWORD = "correct-horse-battery"


def add_user(env: dict[str, str], name: str, role: str, password: str = PASSWORD) -> None:
    # Stacks are shared between modules: the same person may be added by more than one of them.
    command = ["users", "add", name, "--role", role, "--password", password, "--exist-ok"]
    result = run_cli(command, env)
    assert result.returncode == 0, result.stderr


def token(server: str, name: str, password: str = PASSWORD) -> str:
    response = httpx.post(
        f"{server}/api/v1/auth/token", data={"username": name, "password": password}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def signed_in(env: dict[str, str], server: str, name: str, role: str) -> dict[str, str]:
    """Authorization headers of a new user with this role."""
    add_user(env, name, role)
    return {"Authorization": f"Bearer {token(server, name)}"}
