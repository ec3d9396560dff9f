"""Liveness, readiness and Prometheus-style metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from app.state import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: State) -> Response:
    """Ready when the database answers and the answer engine is built."""
    checks: dict[str, str] = {}
    try:
        with state.db.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
    checks["engine"] = "ok" if state.engines.version >= 0 else "building"
    if state.engines.nlu is not None:  # WEBCARE_NLU_BACKEND=rasa: no intents without the Rasa server
        checks["rasa"] = state.engines.nlu.status()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {
            "ready": ready,
            "checks": checks,
            "kb_version": state.engines.version,
            "encoder": state.engines.encoder.name,
        },
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(state: State) -> str:
    """A few gauges in the Prometheus text format."""
    entries = len(state.engines.engine.retriever.entries()) if state.engines.version >= 0 else 0
    return (
        "# TYPE webcare_kb_version gauge\n"
        f"webcare_kb_version {state.engines.version}\n"
        "# TYPE webcare_kb_entries gauge\n"
        f"webcare_kb_entries {entries}\n"
    )
