"""`webcare nlu tune-encoder`: tunes the sentence encoder to the knowledge base (minutes, now and then)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import ConversationalFiles, fail, load_settings, open_database


def tune_encoder(
    out: Annotated[Path, typer.Option("--out", help="Directory for the tuned model")],
    kb: Annotated[
        Path | None, typer.Option("--kb", help="Knowledge-base file (default: the published entries)")
    ] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Passes over the phrasings, a fraction allowed (default 6)", min=0.01)
    ] = None,
    conversational: ConversationalFiles = None,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop after this long, tuned or not", min=1)
    ] = None,
) -> None:
    """Fine-tune all-MiniLM-L6-v2 on the knowledge base; WEBCARE_ENCODER_MODEL_DIR=OUT then uses it."""
    from bot.nlu_data import NluDataError
    from knowledge_base.answering import read_conversational
    from knowledge_base.formats import read_kb_file
    from knowledge_base.rasa_project import imported_conversational
    from knowledge_base.schema import KbFormatError
    from knowledge_base.store import published_entries
    from training.tune_encoder import DEFAULT_EPOCHS
    from training.tune_encoder import tune_encoder as tune

    settings = load_settings()
    try:
        extra = [*imported_conversational(settings.data_dir), *read_conversational(conversational or ())]
    except NluDataError as exc:
        raise fail(str(exc)) from exc
    if kb is not None:
        try:
            entries = read_kb_file(kb)
        except KbFormatError as exc:
            raise fail("cannot tune on it; fix these problems:\n  " + "\n  ".join(exc.problems)) from exc
    else:
        with open_database(settings)() as session:
            entries = published_entries(session)
    try:
        tune(
            entries,
            out,
            epochs=DEFAULT_EPOCHS if epochs is None else epochs,
            max_seconds=max_seconds,
            extra_conversational=extra,
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"{out}: encoder tuned on {len(entries)} entries; serve it with WEBCARE_ENCODER_MODEL_DIR={out}"
    )
