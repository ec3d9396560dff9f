"""Shared fixtures: the real encoder, the demo engine, and real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, session_factory, upgrade
from app.settings import Settings
from bot.encoder import TextEncoder, TorchEncoder
from bot.onnx_encoder import OnnxEncoder
from bot.pipeline import AnswerEngine
from bot.types import FaqEntry
from knowledge_base.answering import build_engine
from knowledge_base.formats import read_kb_file

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "knowledge_base" / "demo" / "kestrel_mobile.yaml"
# The machine's PostgreSQL (trust auth); a fresh database is made per test run and dropped after.
POSTGRES_ADMIN_URL = os.environ.get(
    "WEBCARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# Read by tests/app/live_server.py: the server and CLI processes share the run's vector cache.
SHARED_CACHE_VARIABLE = "WEBCARE_TEST_VECTOR_CACHE"


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One vector cache for the whole run, in this process and every server and CLI it starts, so
    the packaged training texts and the demo's phrasings are encoded once."""
    path = tmp_path_factory.mktemp("cache")
    os.environ[SHARED_CACHE_VARIABLE] = str(path)
    return path


@pytest.fixture(scope="session")
def encoder(cache_dir: Path) -> TextEncoder:
    """The default encoder (ONNX Runtime, fp32), as `webcare serve` runs it; its ONNX export is shared with
    the servers and commands the run starts, the demo file's vectors with the commands that read that file."""
    return OnnxEncoder(cache_dir=Settings(vector_cache_dir=cache_dir).models_dir, quantisation="fp32")


@pytest.fixture(scope="session")
def torch_encoder() -> TorchEncoder:
    """sentence-transformers itself: the reference the exported encoders are compared with."""
    return TorchEncoder()


@pytest.fixture(scope="session")
def demo_entries() -> list[FaqEntry]:
    return read_kb_file(DEMO_KB)


@pytest.fixture(scope="session")
def demo_engine(demo_entries: list[FaqEntry], encoder: TextEncoder, cache_dir: Path) -> AnswerEngine:
    return build_engine(demo_entries, encoder, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A uniquely named PostgreSQL database for this test run, dropped at the end."""
    with fresh_postgres_database() as url:
        yield url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a uniquely named PostgreSQL database; drop it on exit."""
    name = f"webcare_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is needed for the tests ({POSTGRES_ADMIN_URL}): {exc}. "
            "Start it, or point WEBCARE_TEST_POSTGRES_URL at one."
        )
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs once on a fresh SQLite file and once on PostgreSQL (schema reset)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'webcare.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()
