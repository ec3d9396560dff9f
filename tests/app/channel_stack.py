"""A running Webcare server wired to a running fake platform, with the demo knowledge base loaded."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from app.channels import secrets_environment
from app.db import make_engine
from app.simulation import account_for, delivered, new_message_id
from app.webhook_payloads import inbound_body, signed_headers
from bot.channels.base import ChannelSecrets
from bot.storage import Base
from tests.app.fake_platform_server import FakePlatform, running_fake_platform
from tests.app.live_server import live_server, run_cli, webcare_env
from tests.conftest import DEMO_KB, fresh_postgres_database

SECRETS = ChannelSecrets(
    meta_app_secret="test-app-secret",
    meta_verify_token="verify-me",
    meta_page_token="EAAB-page-token",
    whatsapp_token="EAAB-whatsapp-token",
    x_consumer_secret="x-consumer-secret",
    x_access_token="x-user-access-token",
)


def new_customer() -> str:
    """A numeric user id, as every platform uses (X's API refuses anything else)."""
    return str(uuid.uuid4().int % 10**16)


@dataclass
class Stack:
    server: str
    platform: FakePlatform
    env: dict[str, str]
    database_url: str

    def post(self, channel: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        headers = signed_headers(channel, body, SECRETS) if headers is None else headers
        return httpx.post(
            f"{self.server}/webhooks/{channel}",
            content=body,
            headers={"content-type": "application/json", **headers},
            timeout=30,
        )

    def message(self, channel: str, text: str, *, customer: str | None = None, kind: str = "dm") -> bytes:
        return inbound_body(
            channel,
            text=text,
            customer_id=customer or new_customer(),
            message_id=new_message_id(channel),
            account_id=account_for(channel),
            kind=kind,
        )

    def sends_to(self, customer: str, n: int, timeout: float = 30.0) -> list[dict[str, object]]:
        """Wait for `n` sends (not typing indicators) to this customer; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = delivered(self.platform.requests(), customer)
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def stack_env(database_url: str, data_dir: Path, platform_url: str, **extra: str) -> dict[str, str]:
    return webcare_env(
        database_url,
        data_dir,
        WEBCARE_BRAND_NAME="Kestrel Mobile",
        WEBCARE_META_GRAPH_URL=platform_url,
        WEBCARE_X_API_URL=platform_url,
        **secrets_environment(SECRETS),
        **extra,
    )


@contextmanager
def channel_stack(
    database_url: str, data_dir: Path, *, platform_latency: float = 0.0, **extra: str
) -> Iterator[tuple[str, FakePlatform, dict[str, str]]]:
    """(server URL, fake platform answering after `platform_latency` seconds, environment) with the demo
    KB imported."""
    with running_fake_platform(latency=platform_latency) as platform:
        env = stack_env(database_url, data_dir, platform.url, **extra)
        imported = run_cli(["kb", "import", str(DEMO_KB)], env)
        assert imported.returncode == 0, imported.stderr
        with live_server(env) as base:
            yield base, platform, env


def fresh_database(kind: str, directory: Path) -> AbstractContextManager[str]:
    """A new SQLite file under `directory`, or a new PostgreSQL database dropped on exit."""
    if kind == "sqlite":
        return nullcontext(f"sqlite:///{directory / 'webcare.db'}")
    return fresh_postgres_database()


def count_rows(database_url: str, model: type[Base], **where: object) -> int:
    engine: Engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(model).filter_by(**where)
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()
