"""A fake Graph API and X API: checks send bodies, answers like the platforms, records calls, fails on cue."""

from __future__ import annotations

import argparse
import asyncio
import http
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from bot.channels.text_split import X_POST_LIMIT, utf16_length, weighted_length

_META_MESSAGES = {
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) This message is sent outside of allowed window.",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    551: "(#551) This person isn't available right now.",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    2500: "An active access token must be used to query information about the current user.",
    130429: "(#130429) Rate limit hit",
    131009: "(#131009) Parameter value is not valid",
    131047: "(#131047) Re-engagement message",
    131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
}
_SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")


class FailureSpec(BaseModel):
    """A queued failure: the next `times` matching requests get this answer instead of the normal one."""

    match: str | None = None  # substring of the path; None matches every send (never typing/read actions)
    status: int = 500  # 200 with a delay gives a slow success (for client timeouts)
    times: int = Field(default=1, ge=1)
    retry_after: float | None = None
    delay: float = Field(default=0.0, ge=0.0)
    error_code: int | None = None
    error_subcode: int | None = None


class FakeState:
    """Recorded requests and queued failures, shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._failures: list[FailureSpec] = []
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any], **changes: Any) -> None:
        """Add the entry, or (with changes) update an entry already added."""
        with self._lock:
            if changes:
                entry.update(changes)
            else:
                self._requests.append(entry)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._requests[since:]]

    def clear(self, failures: bool = False) -> int:
        with self._lock:
            items: list[Any] = self._failures if failures else self._requests
            count = len(items)
            items.clear()
            return count

    def queue(self, spec: FailureSpec) -> int:
        with self._lock:
            self._failures.append(spec.model_copy())
            return len(self._failures)

    def take_failure(self, path: str) -> FailureSpec | None:
        with self._lock:
            for spec in self._failures:
                if spec.match is None or spec.match in path:
                    spec.times -= 1
                    if spec.times == 0:
                        self._failures.remove(spec)
                    return spec.model_copy()
            return None

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)


def meta_error(code: int, message: str = "", *, status: int = 400, subcode: int | None = None) -> Response:
    error: dict[str, Any] = {
        "message": message or _META_MESSAGES.get(code, f"(#{code}) Error"),
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AFakeTraceId",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if code >= 130000:
        error["error_data"] = {"messaging_product": "whatsapp", "details": message or error["message"]}
    if status >= 500 or code in (2, 4, 613, 130429, 131056):
        error["is_transient"] = True
    return JSONResponse({"error": error}, status_code=status)


def x_problem(status: int, detail: str = "", errors: list[dict[str, Any]] | None = None) -> Response:
    title = "Invalid Request" if status == 400 else http.HTTPStatus(status).phrase
    body: dict[str, Any] = {"title": title, "detail": detail or title, "type": "about:blank"}
    body["status"] = status
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _bad_text(text: Any, limit: int, measure: Callable[[str], int] = utf16_length) -> bool:
    return not isinstance(text, str) or not text.strip() or measure(text) > limit


def _bad_choices(values: list[Any], limit: int) -> bool:
    return any(_bad_text(value, limit) for value in values) or len(set(values)) < len(values)


def _messenger_problems(body: dict[str, Any]) -> Iterator[str]:
    if not (isinstance(body.get("recipient"), dict) and body["recipient"].get("id")):
        yield "The parameter recipient is required"
    if "sender_action" in body:
        if body["sender_action"] not in _SENDER_ACTIONS or set(body) != {"recipient", "sender_action"}:
            yield f"sender_action must be one of {_SENDER_ACTIONS}, sent alone with recipient"
        return
    message = body.get("message")
    if not isinstance(message, dict):
        yield "The parameter message is required"
        return
    kind = body.get("messaging_type")
    if kind not in (None, "RESPONSE", "UPDATE", "MESSAGE_TAG") or (kind == "MESSAGE_TAG") != ("tag" in body):
        yield f"Invalid messaging_type {kind!r} (MESSAGE_TAG needs a tag, and only it may carry one)"
    if "attachment" not in message and _bad_text(message.get("text"), 2000):
        yield "Length of param message[text] must be 1 to 2000 characters"
    replies = message.get("quick_replies", [])
    if len(replies) > 13:
        yield "quick_replies holds at most 13 items"
    for reply in replies:
        if reply.get("content_type") == "text":
            if _bad_text(reply.get("title"), 20) or _bad_text(reply.get("payload"), 1000):
                yield "quick_replies[].title must be 1 to 20 and payload 1 to 1000 characters"
        elif reply.get("content_type") not in ("user_phone_number", "user_email"):
            yield f"quick_replies[].content_type {reply.get('content_type')!r} is not valid"


def _whatsapp_problems(body: dict[str, Any]) -> Iterator[str]:
    if "status" in body:
        if body["status"] != "read" or not isinstance(body.get("message_id"), str):
            yield "status must be 'read' with a message_id"
        return
    if not isinstance(body.get("to"), str) or not body["to"].lstrip("+").strip():
        yield "The parameter to is required."
    if body.get("recipient_type", "individual") != "individual":
        yield "recipient_type must be 'individual'"
    if "context" in body and not isinstance(body["context"].get("message_id"), str):
        yield "context.message_id must be a wamid"
    kind = body.get("type", "text")
    if kind == "text" and _bad_text(body.get("text", {}).get("body"), 4096):
        yield "text.body must be 1 to 4096 characters"
    elif kind == "interactive":
        yield from _interactive_problems(body.get("interactive", {}))
    elif kind not in ("text", "interactive", "template"):
        yield f"unsupported message type {kind!r}"


def _interactive_problems(interactive: dict[str, Any]) -> Iterator[str]:
    if _bad_text(interactive.get("body", {}).get("text"), 1024):
        yield "interactive.body.text must be 1 to 1024 characters"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        replies = [button.get("reply", {}) for button in action.get("buttons", [])]
        if not 1 <= len(replies) <= 3:
            yield "interactive buttons: 1 to 3"
        ids, titles = [r.get("id") for r in replies], [r.get("title") for r in replies]
        if _bad_choices(ids, 256) or _bad_choices(titles, 20):
            yield "button ids (<= 256) and titles (<= 20 characters) must be set and unique"
    elif interactive.get("type") == "list":
        rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
        if _bad_text(action.get("button"), 20) or not 1 <= len(rows) <= 10:
            yield "a list needs action.button (<= 20 characters) and 1 to 10 rows in all"
        bad_titles = any(_bad_text(row.get("title"), 24) for row in rows)
        if _bad_choices([row.get("id") for row in rows], 200) or bad_titles:
            yield "row ids (<= 200, unique) and titles (<= 24 characters) must be set"
        if any(len(row.get("description", "")) > 72 for row in rows):
            yield "row descriptions hold at most 72 characters"
    else:
        yield f"unsupported interactive type {interactive.get('type')!r}"


def graph_send(state: FakeState, version: str, node: str, request: Request, body: Any) -> Response:
    """POST /{version}/{node}/messages: Messenger, Instagram and WhatsApp Cloud sends."""
    token = request.query_params.get("access_token") or request.headers.get("authorization", "")[7:].strip()
    if not version.startswith("v"):
        return meta_error(2500, f"Unknown path components: /{version}/{node}/messages")
    if not token:
        return meta_error(2500)
    if not isinstance(body, dict):
        return meta_error(100, "(#100) The request body should be a JSON object")
    whatsapp = body.get("messaging_product") == "whatsapp"
    problem = next((_whatsapp_problems if whatsapp else _messenger_problems)(body), None)
    if problem:
        return meta_error(131009, problem) if whatsapp else meta_error(100, f"(#100) {problem}")
    if "status" in body or "sender_action" in body:
        return JSONResponse({"success": True} if whatsapp else {"recipient_id": body["recipient"]["id"]})
    if whatsapp:
        contact = {"input": body["to"], "wa_id": body["to"].lstrip("+")}
        sent = {"messages": [{"id": f"wamid.FAKE{state.next_id():012d}"}]}
        return JSONResponse({"messaging_product": "whatsapp", "contacts": [contact], **sent})
    mid = f"m_FAKE{state.next_id():010d}"
    return JSONResponse({"recipient_id": body["recipient"]["id"], "message_id": mid})


def x_send(state: FakeState, participant_id: str | None, request: Request, body: Any) -> Response:
    """POST /2/dm_conversations/with/{participant_id}/messages (participant_id set) or POST /2/tweets."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return x_problem(401, "Unauthorized")
    if not isinstance(body, dict):
        return x_problem(400, "The request body should be a JSON object")
    text = body.get("text")
    if participant_id is not None:
        too_long = not body.get("attachments") and _bad_text(text, 10_000)
        bad = "participant_id" if not participant_id.isdigit() else "text" if too_long else None
    else:
        target = body["reply"].get("in_reply_to_tweet_id") if "reply" in body else "0"
        too_long = _bad_text(text, X_POST_LIMIT, weighted_length)
        bad = "text" if too_long else "reply.in_reply_to_tweet_id" if not str(target).isdigit() else None
    if bad:
        error = {"parameters": {bad: []}, "message": f"{bad} is not valid (text length, ids)"}
        return x_problem(400, "One or more parameters to your request was invalid.", [error])
    if participant_id is not None:
        event_id = str(1_900_000_000_000_000_000 + state.next_id())
        data = {"dm_conversation_id": f"1500000000000000001-{participant_id}", "dm_event_id": event_id}
        return JSONResponse({"data": data}, status_code=201)
    tweet_id = str(1_880_000_000_000_000_000 + state.next_id())
    return JSONResponse({"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, 201)


def failure_response(api: str, spec: FailureSpec, body: Any) -> Response:
    """The platform's own error answer for an injected failure."""
    headers = {"Retry-After": f"{spec.retry_after:g}"} if spec.retry_after is not None else {}
    if api == "graph":
        whatsapp = isinstance(body, dict) and body.get("messaging_product") == "whatsapp"
        defaults = {429: 130429 if whatsapp else 613, 401: 190, 403: 10}
        code = spec.error_code or defaults.get(spec.status, 2 if spec.status >= 500 else 100)
        response: Response = meta_error(code, status=spec.status, subcode=spec.error_subcode)
    elif spec.error_code is not None:
        errors = [{"code": spec.error_code, "message": f"Error {spec.error_code}"}]
        response = JSONResponse({"errors": errors}, status_code=spec.status)
    else:
        response = x_problem(spec.status)
    if api == "x" and spec.status == 429:
        reset = time.time() + (spec.retry_after if spec.retry_after is not None else 900)
        headers.update({"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0"})
        headers["x-rate-limit-reset"] = f"{reset:.0f}"
    response.headers.update(headers)
    return response


async def _client_left(request: Request, delay: float) -> bool:
    """Wait `delay` seconds; True as soon as the client disconnects meanwhile."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return True
        await asyncio.sleep(0.05)
    return False


def create_fake_platform(latency: float = 0.0) -> FastAPI:
    """The fake server; its state lives on app.state.fake. Every platform call is answered `latency`
    seconds after it arrived, as a real platform's are (100-300 ms), so that load tests see the sends'
    round trips; requests are recorded on arrival."""
    app = FastAPI(title="Webcare fake platform", docs_url=None, redoc_url=None)
    state = FakeState()
    app.state.fake = state

    async def serve(request: Request, api: str, handler: Callable[[Any], Response]) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        action = isinstance(body, dict) and ("sender_action" in body or body.get("status") == "read")
        entry = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
            "json": body,
            "body": raw.decode("utf-8", "replace"),
            "at": time.time(),
            # The system's monotonic clock: comparable between processes on one machine, and never
            # stepped, unlike time.time() (a step of the wall clock once added 26 s to every latency).
            "monotonic": time.monotonic(),
            "api": api,
            "kind": "action" if action else "send",
            "status": None,
        }
        state.record(entry)
        if latency:
            await asyncio.sleep(latency)
        # Failures hit message sends only: a typing indicator before the send must not use one up.
        failure = None if action else state.take_failure(request.url.path)
        if failure is not None and failure.delay and await _client_left(request, failure.delay):
            # Like a real platform whose caller hung up: the send is not accepted (499, nginx's code).
            state.record(entry, status=499)
            return Response(status_code=499)
        if failure is not None and not 200 <= failure.status < 300:
            response = failure_response(api, failure, body)
        else:
            try:
                response = handler(body)
            except (AttributeError, TypeError, KeyError) as exc:  # a part of the body has the wrong JSON type
                detail = f"malformed request body: {exc}"
                response = meta_error(100, f"(#100) {detail}") if api == "graph" else x_problem(400, detail)
        state.record(entry, status=response.status_code)
        return response

    @app.get("/_fake/requests")
    def list_requests(since: int = Query(0, ge=0)) -> list[dict[str, Any]]:
        """The requests received, oldest first; `since` skips the first N, so a poller fetches only
        what is new (a load test's poller fetching everything every time was a load of its own)."""
        return state.requests(since)

    @app.delete("/_fake/requests")
    def clear_requests() -> dict[str, int]:
        return {"cleared": state.clear()}

    @app.post("/_fake/failures")
    def add_failure(spec: FailureSpec) -> dict[str, int]:
        return {"queued": state.queue(spec)}

    @app.delete("/_fake/failures")
    def clear_failures() -> dict[str, int]:
        return {"cleared": state.clear(failures=True)}

    @app.post("/2/tweets")
    async def tweets(request: Request) -> Response:
        return await serve(request, "x", lambda body: x_send(state, None, request, body))

    @app.post("/2/dm_conversations/with/{participant_id}/messages")
    async def direct_messages(participant_id: str, request: Request) -> Response:
        return await serve(request, "x", lambda body: x_send(state, participant_id, request, body))

    @app.post("/{version}/{node}/messages")
    async def graph_messages(version: str, node: str, request: Request) -> Response:
        return await serve(request, "graph", lambda body: graph_send(state, version, node, request, body))

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Graph API and X API for Webcare tests and demos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds before each platform call is answered (default 0)"
    )
    args = parser.parse_args(argv)
    uvicorn.run(create_fake_platform(args.latency), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
