"""The route guard: `require(role, ...)` resolves the bearer token to a user with one of the roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from app.auth.service import User, user_for_token
from app.state import AppState, State

TOKEN_URL = "/api/v1/auth/token"
# auto_error=False: we answer a missing token ourselves, with a message that says what to do.
bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require(*roles: str) -> Callable[..., Any]:
    """A dependency returning the signed-in user; 401 without a valid token, 403 for another role."""

    async def guard(state: State, token: Annotated[str | None, Depends(bearer)]) -> User:
        if not token:
            raise HTTPException(
                401, f"sign in first: POST {TOKEN_URL} with your user name and password", headers=CHALLENGE
            )
        user = await run_in_threadpool(_lookup, state, token)
        if user is None:
            raise HTTPException(401, "the token is unknown or expired: sign in again", headers=CHALLENGE)
        if user.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}; {user.name} is {user.role}")
        return user

    return guard


def _lookup(state: AppState, token: str) -> User | None:
    with state.sessions() as session:
        return user_for_token(session, token=token)


AnyUser = Annotated[User, Depends(require("admin", "editor", "agent"))]
Agent = Annotated[User, Depends(require("admin", "agent"))]
