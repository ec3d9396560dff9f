"""The route guard: `require(role, ...)` finds the signed-in user (bearer token or UI session cookie)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from app.auth.service import User, user_for_token
from app.auth.session import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_matches
from app.state import AppState, State

TOKEN_URL = "/api/v1/auth/token"
LOGIN_PAGE = "/ui/login"
# auto_error=False: we answer a missing token ourselves, with a message that says what to do.
bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
CHALLENGE = {"WWW-Authenticate": "Bearer"}


class SignInRequiredError(Exception):
    """A browser asked for a UI page without a session: it is sent to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def require(*roles: str) -> Callable[..., Any]:
    """A dependency returning the signed-in user; 401 without a valid token, 403 for another role.

    The API takes a bearer token; the UI's pages and scripts send the session cookie, and then every
    request that changes something must also carry the session's CSRF token (header or form field).
    """

    async def guard(request: Request, state: State, token: Annotated[str | None, Depends(bearer)]) -> User:
        if not token:
            token = request.cookies.get(SESSION_COOKIE)
            if token and request.method not in SAFE_METHODS:
                await check_csrf(request, token)
        if not token:
            if _wants_page(request):
                raise SignInRequiredError(request.url.path)
            raise HTTPException(
                401, f"sign in first: POST {TOKEN_URL} with your user name and password", headers=CHALLENGE
            )
        user = await run_in_threadpool(_lookup, state, token)
        if user is None:
            if _wants_page(request):
                raise SignInRequiredError(request.url.path)
            raise HTTPException(401, "the token is unknown or expired: sign in again", headers=CHALLENGE)
        if user.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}; {user.name} is {user.role}")
        return user

    return guard


async def check_csrf(request: Request, session_token: str) -> None:
    """403 unless the request carries the session's CSRF token (header or form field)."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not csrf_matches(session_token, presented):
        raise HTTPException(403, "the form is stale or came from another site (CSRF check): reload the page")


def _wants_page(request: Request) -> bool:
    # Only a browser loading a UI page is redirected; scripts and API clients get a plain 401.
    return request.method in SAFE_METHODS and request.url.path.startswith("/ui")


def _lookup(state: AppState, token: str) -> User | None:
    with state.sessions() as session:
        return user_for_token(session, token=token)


AnyUser = Annotated[User, Depends(require("admin", "editor", "agent"))]
Agent = Annotated[User, Depends(require("admin", "agent"))]
Editor = Annotated[User, Depends(require("admin", "editor"))]
