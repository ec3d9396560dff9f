"""`webcare rasa`: export the knowledge base as a Rasa 3 project, and import one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import fail, load_settings, open_database

rasa_app = typer.Typer(
    help="Rasa 3 projects: export for training, import existing data.", no_args_is_help=True
)


@rasa_app.command("export")
def rasa_export(
    directory: Annotated[Path, typer.Argument(help="Directory for the Rasa project (created if missing)")],
    epochs: Annotated[
        int, typer.Option(help="Training epochs of DIET and the ResponseSelector", min=1)
    ] = 100,
    fallback_threshold: Annotated[
        float, typer.Option(help="FallbackClassifier threshold", min=0, max=1)
    ] = 0.3,
    transformer_layers: Annotated[
        int | None,
        typer.Option(help="DIET transformer layers (Rasa's default: 2; 0 trains ~5x faster)", min=0),
    ] = None,
) -> None:
    """Write config.yml, domain.yml and data/ from the published entries and our conversational intents."""
    from bot.nlu_data import load_packaged
    from bot.replies import Replies
    from knowledge_base.answering import CONVERSATIONAL_FILE
    from knowledge_base.rasa_project import RasaProjectError, export_project, imported_conversational
    from knowledge_base.schema import KbFormatError
    from knowledge_base.store import published_entries

    settings = load_settings()
    sessions = open_database(settings)
    with sessions() as session:
        entries = published_entries(session)
    try:
        conversational = [*load_packaged(CONVERSATIONAL_FILE), *imported_conversational(settings.data_dir)]
        written = export_project(
            directory,
            entries,
            conversational,
            replies=Replies(brand=settings.brand_name),
            epochs=epochs,
            fallback_threshold=fallback_threshold,
            transformer_layers=transformer_layers,
        )
    except (RasaProjectError, KbFormatError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{directory}: Rasa project with {len(entries)} FAQ entries ({len(written)} files)")
    typer.echo(f"train it with: cd {directory} && rasa train nlu")


@rasa_app.command("import")
def rasa_import(
    directory: Annotated[Path, typer.Argument(help="A Rasa 3 project (domain.yml and data/)")],
    draft: Annotated[bool, typer.Option("--draft", help="Save entries as drafts, do not publish")] = False,
) -> None:
    """Retrieval intents become entries; other intents add phrasings to ours where the names match."""
    from app.db import transaction
    from bot.nlu_data import load_packaged
    from knowledge_base.answering import CONVERSATIONAL_FILE
    from knowledge_base.rasa_project import RasaProjectError, read_project, save_conversational
    from knowledge_base.schema import KbFormatError
    from knowledge_base.store import import_entries

    settings = load_settings()
    packaged = load_packaged(CONVERSATIONAL_FILE)
    ours = sorted({e.intent for e in packaged})
    try:
        project = read_project(directory, ours)
    except RasaProjectError as exc:
        raise fail(f"nothing imported: {exc}") from exc
    except KbFormatError as exc:
        raise fail("nothing imported; fix these problems:\n  " + "\n  ".join(exc.problems)) from exc
    sessions = open_database(settings)
    if project.entries:
        with transaction(sessions) as session:
            report = import_entries(
                session,
                entries=project.entries,
                publish=not draft,
                author="cli",
                note=f"rasa import {directory.name}",
            )
        typer.echo(f"{directory}: FAQ entries: {report.summary}")
    try:
        added = save_conversational(settings.data_dir, project.phrasings, packaged)
    except KbFormatError as exc:
        raise fail("; ".join(exc.problems)) from exc
    found = sum(len(texts) for texts in project.phrasings.values())
    detail = ", ".join(f"{name} +{n}" for name, n in sorted(added.items())) or "none new"
    typer.echo(f"{directory}: conversational phrasings: {found} found, {sum(added.values())} new ({detail})")
    if project.unmatched:
        listed = ", ".join(f"{name} ({n} examples)" for name, n in sorted(project.unmatched.items()))
        typer.echo(
            f"not imported, no intent of ours by that name: {listed}. Rename them to one of "
            f"{', '.join(ours)}, or make them FAQ entries (intent faq/<id> with a response utter_faq/<id>)."
        )
