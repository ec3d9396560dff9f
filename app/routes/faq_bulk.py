"""Bulk knowledge-base files over HTTP: export (YAML, CSV, Rasa) and import with a preview first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import Editor
from app.routes.faq import run_edit
from app.schemas_faq import FieldChangeOut
from app.state import State
from knowledge_base.bulk import ImportPreview, preview_import
from knowledge_base.formats import detect_format, parse_kb_text, render_kb
from knowledge_base.schema import KbFormatError
from knowledge_base.store import import_entries, published_entries

router = APIRouter(prefix="/api/v1", tags=["knowledge base"])
MAX_FILE_BYTES = 10 * 1024 * 1024
MEDIA_TYPES = {"yaml": "application/yaml", "rasa": "application/yaml", "csv": "text/csv"}
FILE_NAMES = {"yaml": "knowledge_base.yaml", "rasa": "nlu.yml", "csv": "knowledge_base.csv"}


class PlannedOut(BaseModel):
    id: str
    question: str
    changes: list[FieldChangeOut]


class ImportOut(BaseModel):
    """What the file changes; with `applied`, the import was saved (published unless drafts)."""

    format: str
    applied: bool
    published: bool
    created: list[PlannedOut]
    updated: list[PlannedOut]
    unchanged: list[str]


@router.get("/faq/export")
def export_faq(state: State, user: Editor, format: Literal["yaml", "csv", "rasa"] = "yaml") -> Response:
    """The published knowledge base as a file to download."""
    with state.sessions() as session:
        text = render_kb(published_entries(session), format)
    disposition = f'attachment; filename="{FILE_NAMES[format]}"'
    return Response(text, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": disposition})


@router.post("/faq/import", response_model=ImportOut)
async def import_faq(
    state: State,
    user: Editor,
    file: Annotated[UploadFile, File(description="Webcare YAML, CSV, or Rasa nlu.yml")],
    apply: Annotated[bool, Form(description="false: only show what would change")] = False,
    publish: Annotated[bool, Form(description="publish the imported entries (else drafts)")] = True,
) -> ImportOut:
    """Preview a file's changes, or (`apply`) save them all or nothing, as the signed-in editor."""
    name = file.filename or "upload.yaml"
    raw = await file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise HTTPException(413, f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it")
    try:
        text = raw.decode("utf-8")
        kind = detect_format(Path(name), text)
        entries = parse_kb_text(text, kind, source=name)
    except UnicodeDecodeError as exc:
        raise HTTPException(422, f"{name} is not UTF-8 text: save it as UTF-8 and upload it again") from exc
    except KbFormatError as exc:
        raise HTTPException(422, "nothing imported; fix these problems: " + "; ".join(exc.problems)) from exc

    def work(session: Session) -> ImportPreview:
        preview = preview_import(session, entries=entries)
        if apply:
            import_entries(session, entries=entries, publish=publish, author=user.name, note=f"import {name}")
        return preview

    preview = await run_in_threadpool(run_edit, state, work)
    return ImportOut(
        format=kind,
        applied=apply,
        published=apply and publish,
        created=[PlannedOut(id=c.id, question=c.question, changes=[]) for c in preview.created],
        updated=[
            PlannedOut(
                id=c.id, question=c.question, changes=[FieldChangeOut.model_validate(f) for f in c.changes]
            )
            for c in preview.updated
        ],
        unchanged=list(preview.unchanged),
    )
