"""The FastAPI app factory and its lifespan: everything heavy is built once, here."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from app.auth.deps import SignInRequiredError
from app.channels import adapters, http_client
from app.db import make_engine, session_factory, upgrade
from app.engine_service import EngineService
from app.routes import (
    answer,
    auth,
    faq,
    faq_bulk,
    handoffs,
    health,
    help_page,
    insights,
    ui_auth,
    ui_desk,
    ui_kb,
    webhooks,
)
from app.settings import Settings
from app.state import AppState
from app.ui_templates import STATIC_DIR, make_templates
from app.workers import BackgroundWorker, build_worker
from bot.encoder import TextEncoder
from knowledge_base.editing import InvalidEntryError

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, encoder: TextEncoder | None = None) -> FastAPI:
    """A Webcare app for `settings` (read from the environment when not given)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = make_engine(settings.database_url)
        await run_in_threadpool(upgrade, db)
        sessions = session_factory(db)
        engines = EngineService(settings, sessions, encoder)
        await run_in_threadpool(engines.start)
        state = AppState(
            settings=settings,
            db=db,
            sessions=sessions,
            engines=engines,
            adapters=adapters(settings),
            templates=make_templates(settings.timezone),
        )
        app.state.webcare = state
        client = http_client(settings)
        background = None
        if settings.embedded_worker:
            background = BackgroundWorker(build_worker(settings, sessions, engines, client, label="embedded"))
            state.wake_worker = background.wake
            background.start()
        # Every serving process picks up publishes from any process within about a second.
        stop_watching = threading.Event()
        engines.watch(stop_watching, every=1.0)
        try:
            yield
        finally:
            stop_watching.set()
            if background is not None:
                await run_in_threadpool(background.stop)
            client.close()
            db.dispose()

    app = FastAPI(
        title="Webcare",
        version="0.1.0",
        description="Answers customers on social media from a curated FAQ; hands hard cases to people.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in error['loc'] if p != 'body') or 'body'}: {error['msg']}"
            for error in exc.errors()
        ]
        return JSONResponse({"detail": "; ".join(problems), "errors": problems}, status_code=422)

    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(answer.router)
    app.include_router(handoffs.router)
    app.include_router(faq_bulk.router)  # before faq: /faq/export is not an entry id
    app.include_router(faq.router)
    app.include_router(insights.router)
    app.add_exception_handler(InvalidEntryError, faq.invalid_entry)
    app.include_router(webhooks.router)
    app.include_router(ui_auth.router)
    app.include_router(ui_desk.router)
    app.include_router(ui_kb.router)
    app.include_router(help_page.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(_: Request, exc: SignInRequiredError) -> RedirectResponse:
        return RedirectResponse(f"/ui/login?next={quote(exc.next_path)}", status_code=303)

    return app
