"""The UI's sign-in session: the token in an HttpOnly cookie, and the CSRF token derived from it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "webcare_session"
# Before sign-in there is no session yet; the login form carries this random value instead.
LOGIN_CSRF_COOKIE = "webcare_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: only a page that could read the session's own HTML knows it."""
    return hmac.new(session_token.encode(), b"webcare-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(session_token), presented or "")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
