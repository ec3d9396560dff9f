"""`webcare users`: add the people who sign in (admins, editors, agents)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli_common import fail, load_settings, open_database

users_app = typer.Typer(help="People who sign in to the API and UI.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name to sign in with")],
    role: Annotated[str, typer.Option("--role", help="admin, editor or agent")],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="WEBCARE_NEW_USER_PASSWORD",
            help="Password (else WEBCARE_NEW_USER_PASSWORD, else asked for)",
            show_envvar=False,
        ),
    ] = None,
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Succeed without changes if the user already exists")
    ] = False,
) -> None:
    """Add a user with a role; the password is stored as an argon2 hash only."""
    from app.auth.models import ROLES
    from app.auth.service import AccountError, add_user, user_names
    from app.db import transaction

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    sessions = open_database(load_settings())
    if exist_ok:
        with sessions() as session:
            if name.strip() in user_names(session, roles=ROLES):
                typer.echo(f"user {name.strip()} already exists: left as it is")
                return
    try:
        with transaction(sessions) as session:
            user = add_user(session, name=name, role=role, password=password)
    except AccountError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"user {user.name} added with role {user.role}")
