"""`webcare worker` and `webcare outbox`: run workers, and see or retry sends that failed for good."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from app.cli_common import fail, load_settings, open_database
from app.db import transaction
from bot.inbox.dead_letters import dead_letters, retry_dead

outbox_app = typer.Typer(help="Sends that failed for good (dead letters).", no_args_is_help=True)


def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process")] = 1,
) -> None:
    """Run workers that answer stored messages and send replies (PostgreSQL: run as many as you like)."""
    from app.channels import http_client
    from app.engine_service import EngineService, worker_encoder_backend
    from app.workers import build_worker, job_listener
    from bot.inbox.priority import lower_this_process

    settings = load_settings()
    # Everything this process does is background work: all of it, the encoder's threads included,
    # gives way to the servers' intake on a shared machine.
    lower_this_process(settings.worker_niceness)
    sessions = open_database(settings)
    engines = EngineService(settings, sessions, backend=worker_encoder_backend(settings))
    engines.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    wakes = [threading.Event() for _ in range(threads)]
    listener = job_listener(settings.database_url, wakes)
    with http_client(settings) as client:
        workers = [
            threading.Thread(
                target=build_worker(settings, sessions, engines, client, label=f"t{i}", niceness=0).run,
                args=(stop, wakes[i] if listener is not None else None),
            )
            for i in range(threads)
        ]
        if listener is not None:
            listener.start()
        for thread in workers:
            thread.start()
        running = f"{threads} worker thread(s) running, encoder {engines.encoder.name}"
        typer.echo(f"{running}; Ctrl-C to stop", err=True)
        for thread in workers:
            thread.join()
        if listener is not None:
            listener.stop()


@outbox_app.command("list")
def outbox_list(limit: Annotated[int, typer.Option(help="At most this many")] = 50) -> None:
    """Show sends that failed for good, newest first."""
    sessions = open_database(load_settings())
    with sessions() as session:
        letters = dead_letters(session, limit=limit)
    if not letters:
        typer.echo("no failed sends")
    for letter in letters:
        typer.echo(
            f"{letter.outbox_id}\t{letter.channel}\tconversation {letter.conversation_id}\t"
            f"{letter.attempts} tries\t{letter.error}\t{letter.text[:60]!r}"
        )


@outbox_app.command("retry")
def outbox_retry(outbox_id: Annotated[int, typer.Argument(help="Id from 'webcare outbox list'")]) -> None:
    """Queue a failed send again."""
    sessions = open_database(load_settings())
    with transaction(sessions) as session:
        if not retry_dead(session, outbox_id=outbox_id):
            raise fail(f"no failed send with id {outbox_id}: see 'webcare outbox list'")
    typer.echo(f"send {outbox_id} queued again")
