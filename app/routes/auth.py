"""POST /api/v1/auth/token: a bearer token for a user name and password (OAuth2 password form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm
from starlette.concurrency import run_in_threadpool

from app.auth.service import IssuedToken, LoginRateLimitedError, issue_token
from app.db import transaction
from app.schemas import TokenResponse
from app.state import AppState, State

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, state: State
) -> TokenResponse:
    """Sign in; failed attempts are limited per user name and address."""
    address = request.client.host if request.client else "unknown"
    try:
        issued = await run_in_threadpool(sign_in, state, form.username, form.password, address)
    except LoginRateLimitedError as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
    if issued is None:
        raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    return TokenResponse(
        access_token=issued.token,
        token_type="bearer",
        expires_at=issued.expires_at,
        user=issued.user.name,
        role=issued.user.role,
    )


def sign_in(state: AppState, name: str, password: str, address: str) -> IssuedToken | None:
    """A new token for a correct name and password (None for a wrong one), under the login rate limit."""
    with transaction(state.sessions) as session:
        return issue_token(
            session,
            name=name,
            password=password,
            address=address,
            ttl_minutes=state.settings.token_ttl_minutes,
            attempts_per_minute=state.settings.login_attempts_per_minute,
        )
