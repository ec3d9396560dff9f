"""The `webcare` command line: serve, database, knowledge base, answer, NLU and evaluation."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli_common import ConversationalFiles
from app.cli_common import cli_encoder as _encoder
from app.cli_common import fail as _fail
from app.cli_common import load_settings as _settings
from app.cli_common import open_database as _database
from app.cli_inbox import outbox_app, worker
from app.cli_rasa import rasa_app
from app.cli_simulate import simulate
from app.cli_tune import tune_encoder
from app.cli_users import users_app
from training.nlu import LEXICAL_WEIGHT

app = typer.Typer(
    help="Webcare: answers customers on social media, hands hard cases to people.",
    no_args_is_help=True,
    add_completion=False,
)
kb_app = typer.Typer(help="Import and export the knowledge base.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
nlu_app = typer.Typer(help="Train and run the intent classifier on Rasa NLU data.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(db_app, name="db")
app.add_typer(nlu_app, name="nlu")
app.add_typer(outbox_app, name="outbox")
app.add_typer(users_app, name="users")
app.add_typer(rasa_app, name="rasa")
app.command()(worker)
app.command()(simulate)
nlu_app.command("tune-encoder")(tune_encoder)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Serve the API, UI and webhooks."""
    import uvicorn

    from app.main import create_app

    settings = _settings()
    _database(settings)  # fail early with a clear message when the database is unreachable
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date, and nothing else."""
    _database(_settings())
    typer.echo("database schema is up to date")


@kb_app.command("import")
def kb_import(
    file: Annotated[Path, typer.Argument(help="YAML, CSV or Rasa retrieval-intent YAML")],
    draft: Annotated[bool, typer.Option("--draft", help="Save as drafts, do not publish")] = False,
) -> None:
    """Import entries; existing ids get a new revision. All or nothing."""
    from app.db import transaction
    from knowledge_base.formats import read_kb_file
    from knowledge_base.schema import KbFormatError
    from knowledge_base.store import import_entries

    try:
        entries = read_kb_file(file)
    except KbFormatError as exc:
        raise _fail("nothing imported; fix these problems:\n  " + "\n  ".join(exc.problems)) from exc
    sessions = _database(_settings())
    with transaction(sessions) as session:
        report = import_entries(
            session, entries=entries, publish=not draft, author="cli", note=f"import {file.name}"
        )
    typer.echo(f"{file}: {report.summary}")


@kb_app.command("export")
def kb_export(
    file: Annotated[Path, typer.Argument(help=".yaml (Webcare), nlu.yml (Rasa) or .csv")],
    format: Annotated[str | None, typer.Option("--format", help="yaml, csv or rasa")] = None,
) -> None:
    """Export the published entries."""
    from knowledge_base.formats import write_kb_file
    from knowledge_base.schema import KbFormatError
    from knowledge_base.store import published_entries

    if format not in (None, "yaml", "csv", "rasa"):
        raise _fail("--format must be yaml, csv or rasa")
    sessions = _database(_settings())
    with sessions() as session:
        entries = published_entries(session)
    try:
        write_kb_file(file, entries, format)
    except KbFormatError as exc:
        raise _fail("; ".join(exc.problems)) from exc
    typer.echo(f"{file}: {len(entries)} entries exported")


@app.command()
def answer(
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge-base file to answer from")],
) -> None:
    """Read JSON lines {id, text, channel?} on stdin; write one decision per line on stdout."""
    from app.engine_service import engine_options
    from app.schemas import AnswerRequest, AnswerResponse
    from bot.rasa_nlu import RasaNlu
    from bot.types import ConversationContext
    from knowledge_base.answering import build_engine
    from knowledge_base.formats import read_kb_file
    from knowledge_base.schema import KbFormatError

    settings = _settings()
    try:
        entries = read_kb_file(kb)
    except KbFormatError as exc:
        raise _fail("\n  ".join(["cannot use the knowledge base:", *exc.problems])) from exc
    # The server's inputs exactly (brand, imported phrasings, other companies, Rasa if configured): the
    # contract is the same decision as POST /api/v1/answer.
    nlu = RasaNlu(settings.rasa_url) if settings.nlu_backend == "rasa" else None
    engine = build_engine(entries, _encoder(settings), **engine_options(settings, nlu))
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            request = AnswerRequest.model_validate_json(line)
        except ValueError as exc:
            failures += 1
            message = f"line {number}: not a valid request ({_first_error(exc)})"
            typer.echo(f"error: {message}", err=True)
            print(json.dumps({"id": _raw_id(line), "error": message}), flush=True)
            continue
        decision = engine.decide(request.text, ConversationContext(channel=request.channel))
        out = AnswerResponse.from_decision(request.id, decision)
        print(json.dumps(out.model_dump(include=set(CONTRACT_FIELDS)), ensure_ascii=False), flush=True)
    if failures:
        raise typer.Exit(1)


CONTRACT_FIELDS = ("id", "action", "faq_id", "confidence", "reply", "reasons")


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "line"
        return f"{where}: {first.get('msg')}"
    return str(exc).splitlines()[0]


def _raw_id(line: str) -> Any:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("id") if isinstance(data, dict) else None


@nlu_app.command("train")
def nlu_train(
    data: Annotated[Path, typer.Argument(help="Rasa 3 NLU YAML")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the trained model")],
    lexical_weight: Annotated[
        float,
        typer.Option(
            "--lexical-weight",
            min=0.0,
            max=1.0,
            help="Share of character n-gram evidence beside the embeddings (0: embeddings alone)",
        ),
    ] = LEXICAL_WEIGHT,
) -> None:
    """Train the intent classifier and save it with its manifest."""
    from bot.nlu_data import NluDataError
    from training.nlu import train_nlu_model

    try:
        summary = train_nlu_model(data, out, _encoder(_settings()), lexical_weight=lexical_weight)
    except NluDataError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(summary)


@nlu_app.command("predict")
def nlu_predict(
    model: Annotated[Path, typer.Option("--model", help="Directory written by 'nlu train'")],
) -> None:
    """Read JSON lines {id, text} on stdin; write {id, intent, confidence, ranking} per line."""
    from bot.artifacts import ArtifactError
    from bot.intent_classifier import IntentClassifier

    encoder = _encoder(_settings())
    try:
        classifier = IntentClassifier.load(model, model_name=encoder.name, dimension=encoder.dimension)
    except ArtifactError as exc:
        raise _fail(str(exc)) from exc
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            text = data["text"]
            if not isinstance(text, str):
                raise TypeError("'text' must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            failures += 1
            message = f'line {number}: expected {{"id": ..., "text": "..."}} ({exc})'
            typer.echo(f"error: {message}", err=True)
            print(json.dumps({"id": _raw_id(line), "error": message}), flush=True)
            continue
        intent, confidence, ranking = classifier.predict(encoder.encode([text]), texts=[text])[0]
        print(
            json.dumps(
                {
                    "id": data.get("id"),
                    "intent": intent,
                    "confidence": round(confidence, 4),
                    "ranking": [{"name": s.name, "confidence": round(s.confidence, 4)} for s in ranking],
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    if failures:
        raise typer.Exit(1)


@app.command()
def evaluate(
    test: Annotated[Path, typer.Argument(help="Labelled JSON lines (see training/data)")],
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge-base file")],
    report: Annotated[Path | None, typer.Option("--report", help="Also write JSON here")] = None,
    conversational: ConversationalFiles = None,
) -> None:
    """Answer precision, coverage, handoff recall, out-of-scope false answers, confusion."""
    from training.evaluate import EvaluationError, evaluate_file

    settings = _settings()
    try:
        result = evaluate_file(
            test,
            kb,
            _encoder(settings),
            cache_dir=settings.cache_dir,
            other_companies=settings.other_company_names,
            conversational=conversational or (),
        )
    except EvaluationError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(result.render())
    if report:
        report.write_text(json.dumps(result.as_dict(), indent=2), encoding="utf-8")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
