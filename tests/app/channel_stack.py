"""A running Webcare server wired to a running fake platform, with the demo knowledge base loaded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, func, select

from app.channels import secrets_environment
from app.db import make_engine
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
    database_url: str, data_dir: Path, **extra: str
) -> Iterator[tuple[str, FakePlatform, dict[str, str]]]:
    """(server URL, fake platform, environment) with the demo KB imported."""
    with running_fake_platform() as platform:
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
