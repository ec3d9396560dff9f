"""What the app builds once at start (engine, sessions, encoder) and how routes reach it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.engine_service import EngineService
from app.settings import Settings
from bot.channels.base import ChannelAdapter


@dataclass
class AppState:
    """The process-wide objects, built by the lifespan and shared by every request."""

    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    engines: EngineService
    adapters: dict[str, ChannelAdapter]
    templates: Jinja2Templates
    # Set by intake so the embedded worker starts on a new message without waiting for its poll.
    wake_worker: threading.Event = field(default_factory=threading.Event)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.webcare
    return state


State = Annotated[AppState, Depends(get_state)]
