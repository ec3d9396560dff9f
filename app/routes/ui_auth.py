"""The UI's sign-in and sign-out pages: a session cookie holding a token, CSRF-checked forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth.deps import check_csrf
from app.auth.service import LoginRateLimitedError, revoke_token
from app.auth.session import LOGIN_CSRF_COOKIE, SESSION_COOKIE, new_login_csrf
from app.db import transaction
from app.routes.auth import sign_in
from app.state import AppState, State

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)
HOME = "/ui"


def _safe_next(value: str | None) -> str:
    # Only our own UI paths: a crafted ?next= must not send someone off to another site after sign-in.
    if value and value.startswith("/ui") and not value.startswith("//"):
        return value
    return HOME


def _login_page(
    request: Request,
    state: AppState,
    *,
    next_path: str,
    error: str = "",
    status_code: int = 200,
    username: str = "",
) -> Response:
    csrf = new_login_csrf()
    context = {"next": next_path, "csrf": csrf, "error": error, "brand": state.settings.brand_name}
    response = state.templates.TemplateResponse(
        request,
        "login.html",
        {**context, "username": username},
        status_code=status_code,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/ui/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, state: State, next: str | None = None) -> Response:
    """The sign-in form."""
    return _login_page(request, state, next_path=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    state: State,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    """Check the name and password; on success set the session cookie and go where the user was going."""
    next_path = _safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or expected != csrf_token:
        return _login_page(
            request,
            state,
            next_path=next_path,
            error="The form expired: please sign in again.",
            status_code=403,
        )
    address = request.client.host if request.client else "unknown"
    try:
        issued = await run_in_threadpool(sign_in, state, username, password, address)
    except LoginRateLimitedError as exc:
        return _login_page(
            request, state, next_path=next_path, error=str(exc).capitalize() + ".", status_code=429
        )
    if issued is None:
        return _login_page(
            request,
            state,
            next_path=next_path,
            error="Wrong user name or password.",
            status_code=401,
            username=username,
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=state.settings.token_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
    return response


@router.post("/logout")
async def logout(request: Request, state: State) -> Response:
    """Sign out: the session's token stops working at once, also if someone copied the cookie. A page
    whose session already ended (expired, or signed out in another tab) still signs out to the login
    page; the CSRF check keeps other sites from signing anyone out."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await check_csrf(request, token)
        await run_in_threadpool(_revoke, state, token)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _revoke(state: AppState, token: str) -> None:
    with transaction(state.sessions) as session:
        revoke_token(session, token=token)
