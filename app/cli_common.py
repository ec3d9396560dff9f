"""Helpers every `webcare` command shares: settings, database, encoder, and errors a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

# `--conversational FILE` (repeatable) of the commands that build an engine from files.
ConversationalFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--conversational",
        help="Rasa NLU YAML with more phrasings of our conversational intents (as 'rasa import' adds them)",
    ),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a readable error and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError names the bad variable
        raise fail(f"bad WEBCARE_* setting: {exc}") from exc


def open_database(settings: Settings) -> sessionmaker[Session]:
    """Sessions on an up-to-date schema (every command that touches the database migrates)."""
    from app.db import DatabaseError, make_engine, session_factory, upgrade

    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    except DatabaseError as exc:
        raise fail(str(exc)) from exc
    return session_factory(engine)


def cli_encoder(settings: Settings) -> Any:
    from app.engine_service import make_encoder

    return make_encoder(settings)
