"""Handoff end to end: signed webhooks in, tickets, claims, agent replies out at the fake platform."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.simulation import reply_text
from tests.app.accounts import signed_in
from tests.app.channel_stack import Stack
from tests.app.editors_stack import post_customer_message
from tests.app.shared_stacks import DEMO_AS_IMPORTED, SharedStacks
from tests.app.test_webhooks import TOP_UP

HACKED = "someone hacked my account and changed my number!!"


@dataclass
class Desk:
    """The stack plus signed-in people: two agents, an editor and an admin."""

    stack: Stack
    ann: dict[str, str]
    bob: dict[str, str]
    editor: dict[str, str]
    admin: dict[str, str]

    def api(self, method: str, path: str, who: dict[str, str] | None, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.stack.server}{path}", headers=who or {}, timeout=30, **kwargs)

    def ticket_for(self, customer: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            tickets = self.api("GET", "/api/v1/handoffs", self.ann).json()
            found = [t for t in tickets if t["customer_id"] == customer and t["status"] != "resolved"]
            if found or time.monotonic() > deadline:
                assert found, f"no open ticket for customer {customer}"
                return dict(found[0])
            time.sleep(0.2)

    def hand_off(self, text: str = HACKED, **body: Any) -> tuple[str, dict[str, Any]]:
        """A new Messenger customer writes something sensitive; (customer id, their ticket)."""
        customer = post_customer_message(self.stack, text, **body)
        return customer, self.ticket_for(customer)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def desk(request: pytest.FixtureRequest, stacks: SharedStacks) -> Desk:
    stack = stacks.get(DEMO_AS_IMPORTED, request.param)
    base, env = stack.server, stack.env
    return Desk(
        stack,
        ann=signed_in(env, base, "ann", "agent"),
        bob=signed_in(env, base, "bob", "agent"),
        editor=signed_in(env, base, "eddie", "editor"),
        admin=signed_in(env, base, "root", "admin"),
    )


def test_handoff_claim_reply_resolve_and_back_to_the_bot(desk: Desk) -> None:
    customer, ticket = desk.hand_off()
    assert ticket["status"] == "waiting"
    assert ticket["priority"] == 1
    assert "sensitive:fraud_or_hacked" in ticket["reasons"]
    assert ticket["channel"] == "messenger"
    assert ticket["assignee"] is None
    assert datetime.fromisoformat(ticket["due_at"]) - datetime.fromisoformat(
        ticket["created_at"]
    ) == timedelta(minutes=15)
    sends = desk.stack.sends_to(customer, 1)
    assert len(sends) == 1  # the acknowledgement only, no FAQ answer
    assert "usually within 15 minutes" in str(reply_text(sends[0]))

    # While a person has the case, the bot says nothing, even to a question it could answer.
    follow_up = desk.stack.message("messenger", TOP_UP, customer=customer)
    assert desk.stack.post("messenger", follow_up).status_code == 200
    time.sleep(2)
    assert len(desk.stack.sends_to(customer, 2, timeout=0)) == 1

    claimed = desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", desk.ann)
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["status"], claimed.json()["assignee"]) == ("assigned", "ann")
    again = desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", desk.bob)
    assert again.status_code == 409
    assert "ann" in again.json()["detail"]

    conversation = ticket["conversation_id"]
    text = "Hi, I'm Ann from Kestrel Mobile. I've locked your account; let's get it back to you."
    sent = desk.api("POST", f"/api/v1/conversations/{conversation}/messages", desk.ann, json={"text": text})
    assert sent.status_code == 202, sent.text
    sends = desk.stack.sends_to(customer, 2)
    assert len(sends) == 2
    payload = sends[1]["json"]
    assert isinstance(payload, dict)
    assert payload["message"] == {"text": text}
    assert payload["recipient"] == {"id": customer}
    assert payload["messaging_type"] == "RESPONSE"  # inside the 24-hour window: no tag needed
    assert "tag" not in payload

    resolved = desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/resolve", desk.ann)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    back = desk.stack.message("messenger", TOP_UP, customer=customer)
    assert desk.stack.post("messenger", back).status_code == 200
    sends = desk.stack.sends_to(customer, 3)
    assert len(sends) >= 3
    assert "top" in str(reply_text(sends[2])).lower()

    transcript = desk.api("GET", f"/api/v1/conversations/{conversation}", desk.ann).json()
    moves = [(e["from_state"], e["to_state"], e["actor"]) for e in transcript["events"]]
    assert moves == [
        ("bot", "waiting", "bot"),
        ("waiting", "assigned", "agent:ann"),
        ("assigned", "resolved", "agent:ann"),
        ("resolved", "bot", "customer"),
    ]
    authors = [m["author"] for m in transcript["messages"]]
    assert authors[:4] == ["customer", "bot", "customer", "agent:ann"]
    assert transcript["messages"][2]["decision"]["action"] == "none"


def test_someone_in_danger_hears_what_to_do_now_and_agents_get_no_canned_answers(desk: Desk) -> None:
    customer, ticket = desk.hand_off("i cant do this anymore, i want to end it all")
    assert "sensitive:self_harm" in ticket["reasons"] and ticket["priority"] == 1
    [acknowledgement] = desk.stack.sends_to(customer, 1)
    text = str(reply_text(acknowledgement))
    assert "call the emergency services" in text and "116 123" in text
    assert "passing this to a person" in text
    path = f"/api/v1/conversations/{ticket['conversation_id']}/suggestions"
    found = desk.api("GET", path, desk.ann)
    assert found.status_code == 200, found.text
    assert found.json() == []  # an FAQ answer is never the reply here


def test_what_a_waiting_customer_adds_raises_the_ticket_and_someone_in_danger_hears_what_to_do(
    desk: Desk,
) -> None:
    customer, ticket = desk.hand_off("what is the capital of peru?")
    assert ticket["priority"] == 4  # routine: the bot could not answer
    desk.stack.sends_to(customer, 1)  # the acknowledgement
    # Waiting behind it, the customer says something that needs a person now. The bot stays out of the
    # conversation, but it read the message: it sat two days at the bottom of the queue.
    later = desk.stack.message("messenger", "honestly i want to end my life", customer=customer)
    assert desk.stack.post("messenger", later).status_code == 200
    sends = desk.stack.sends_to(customer, 2)
    assert len(sends) == 2 and "116 123" in str(reply_text(sends[1]))
    raised = desk.ticket_for(customer)
    assert raised["id"] == ticket["id"] and raised["priority"] == 1, raised
    assert "sensitive:self_harm" in raised["reasons"]
    # Something that needs no one sooner changes nothing and gets no reply.
    calm = desk.stack.message("messenger", "how do i top up my pay as you go phone?", customer=customer)
    assert desk.stack.post("messenger", calm).status_code == 200
    time.sleep(2)
    assert len(desk.stack.sends_to(customer, 3, timeout=0)) == 2


def test_a_question_asked_while_an_agent_had_the_conversation_is_answered_on_hand_back(desk: Desk) -> None:
    customer, ticket = desk.hand_off()
    desk.stack.sends_to(customer, 1)  # the acknowledgement
    assert desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", desk.ann).status_code == 200
    conversation = ticket["conversation_id"]
    reply = {"text": "Sorted: your account is locked and safe."}
    path = f"/api/v1/conversations/{conversation}/messages"
    assert desk.api("POST", path, desk.ann, json=reply).status_code == 202
    desk.stack.sends_to(customer, 2)
    asked = desk.stack.message("messenger", TOP_UP, customer=customer)
    assert desk.stack.post("messenger", asked).status_code == 200
    time.sleep(1)
    assert len(desk.stack.sends_to(customer, 3, timeout=0)) == 2  # held: the agent has the conversation
    back = desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/hand-back", desk.ann)
    assert back.status_code == 200, back.text
    sends = desk.stack.sends_to(customer, 3)
    assert len(sends) == 3 and "top" in str(reply_text(sends[2])).lower(), sends[-1]


def test_an_agent_reply_the_platform_refused_shows_why_and_can_be_sent_again(desk: Desk) -> None:
    customer, ticket = desk.hand_off()
    desk.stack.sends_to(customer, 1)  # the acknowledgement
    conversation = ticket["conversation_id"]
    assert desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", desk.ann).status_code == 200
    desk.stack.platform.fail(400, times=1, match="/messages", error_code=10, error_subcode=2018278)
    text = "Your account is locked now; we'll call you back on the number we have."
    sent = desk.api("POST", f"/api/v1/conversations/{conversation}/messages", desk.ann, json={"text": text})
    message_id = sent.json()["message_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = desk.api("GET", f"/api/v1/conversations/{conversation}", desk.ann).json()["messages"]
        [reply] = [m for m in messages if m["id"] == message_id]
        if reply["status"] == "dead":
            break
        time.sleep(0.2)
    assert reply["status"] == "dead" and "2018278" in reply["error"]
    assert desk.api("POST", f"/api/v1/messages/{message_id}/retry", desk.ann).status_code == 202
    assert text in [reply_text(s) for s in desk.stack.sends_to(customer, 2)]
    again = desk.api("POST", f"/api/v1/messages/{message_id}/retry", desk.ann)
    assert again.status_code == 404 and "no failed send" in again.json()["detail"]


def test_concurrent_claims_exactly_one_wins(desk: Desk) -> None:
    _, ticket = desk.hand_off()
    people = [desk.ann, desk.bob, desk.admin, desk.ann, desk.bob]
    with ThreadPoolExecutor(5) as pool:
        responses = list(
            pool.map(lambda who: desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", who), people)
        )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409, 409, 409], [r.text for r in responses]


def test_reply_rules(desk: Desk) -> None:
    _, ticket = desk.hand_off()
    path = f"/api/v1/conversations/{ticket['conversation_id']}/messages"
    waiting = desk.api("POST", path, desk.ann, json={"text": "hello"})
    assert waiting.status_code == 409
    assert "claim it first" in waiting.json()["detail"]
    assert desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", desk.ann).status_code == 200
    other = desk.api("POST", path, desk.bob, json={"text": "hello"})
    assert other.status_code == 409
    assert "assigned to ann" in other.json()["detail"]
    empty = desk.api("POST", path, desk.ann, json={"text": "   "})
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    long = desk.api("POST", path, desk.ann, json={"text": "word " * 500})
    assert long.status_code == 422
    assert "messenger" in long.json()["detail"] and "2000" in long.json()["detail"]
    assert desk.api("POST", path, desk.editor, json={"text": "hello"}).status_code == 403
    assert desk.api("POST", path, desk.admin, json={"text": "An admin may step in."}).status_code == 202
    assert (
        desk.api("POST", "/api/v1/conversations/999999/messages", desk.ann, json={"text": "x"}).status_code
        == 404
    )
    handed = desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/hand-back", desk.ann)
    assert handed.status_code == 200
    assert desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/resolve", desk.ann).status_code == 409


def test_agent_reply_after_24_hours_uses_the_human_agent_tag(desk: Desk) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    customer, ticket = desk.hand_off(timestamp=old)
    assert desk.api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", desk.bob).status_code == 200
    path = f"/api/v1/conversations/{ticket['conversation_id']}/messages"
    assert desk.api("POST", path, desk.bob, json={"text": "Sorry for the wait."}).status_code == 202
    sends = desk.stack.sends_to(customer, 2)
    payload = sends[-1]["json"]
    assert isinstance(payload, dict)
    assert (payload["messaging_type"], payload["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_queue_filters_and_editor_cannot_read_it(desk: Desk) -> None:
    desk.hand_off()
    waiting = desk.api("GET", "/api/v1/handoffs", desk.admin, params={"status": "waiting"})
    assert waiting.status_code == 200
    assert waiting.json() and all(t["status"] == "waiting" for t in waiting.json())
    priorities = [t["priority"] for t in waiting.json()]
    assert priorities == sorted(priorities)
    assert desk.api("GET", "/api/v1/handoffs", desk.admin, params={"status": "bogus"}).status_code == 422
    assert desk.api("GET", "/api/v1/handoffs", desk.editor).status_code == 403
    assert desk.api("GET", "/api/v1/handoffs", None).status_code == 401


def test_reassign_notes_suggestions_and_queue_filters_over_http(desk: Desk) -> None:
    _, ticket = desk.hand_off("someone hacked my account and ordered a new SIM card in my name")
    tid, conversation = ticket["id"], ticket["conversation_id"]

    def ids(**params: Any) -> list[int]:
        return [t["id"] for t in desk.api("GET", "/api/v1/handoffs", desk.ann, params=params).json()]

    assert tid in ids(status="open", channel="messenger", priority=1)
    assert tid not in ids(channel="x")
    assert tid not in ids(overdue="true")
    assert desk.api("GET", "/api/v1/handoffs", desk.ann, params={"priority": 9}).status_code == 422

    suggestions = desk.api("GET", f"/api/v1/conversations/{conversation}/suggestions", desk.ann).json()
    assert 1 <= len(suggestions) <= 3
    assert {"lost-stolen-phone", "replacement-sim"} & {s["faq_id"] for s in suggestions}
    assert all(s["answer"] for s in suggestions)

    assert desk.api("POST", f"/api/v1/handoffs/{tid}/claim", desk.ann).status_code == 200
    reassign = f"/api/v1/handoffs/{tid}/reassign"
    assert desk.api("POST", reassign, desk.bob, json={"agent": "bob"}).status_code == 409  # ann holds it
    unknown = desk.api("POST", reassign, desk.ann, json={"agent": "nobody"})
    assert unknown.status_code == 404 and "no agent named 'nobody'" in unknown.json()["detail"]
    assert desk.api("POST", reassign, desk.ann, json={"agent": "eddie"}).status_code == 404  # an editor
    passed = desk.api("POST", reassign, desk.ann, json={"agent": "bob"})
    assert (passed.status_code, passed.json()["assignee"]) == (200, "bob")
    reply = f"/api/v1/conversations/{conversation}/messages"
    assert desk.api("POST", reply, desk.ann, json={"text": "Hello"}).status_code == 409
    assert desk.api("POST", reply, desk.bob, json={"text": "Hello, Bob here."}).status_code == 202

    notes = f"/api/v1/conversations/{conversation}/notes"
    assert desk.api("POST", notes, desk.ann, json={"text": "  "}).status_code == 422
    added = desk.api("POST", notes, desk.ann, json={"text": "Passed to Bob: he handles SIM swaps."})
    assert added.status_code == 201, added.text
    seen = desk.api("GET", f"/api/v1/conversations/{conversation}", desk.bob).json()
    assert [(n["author"], n["text"]) for n in seen["notes"]] == [
        ("ann", "Passed to Bob: he handles SIM swaps.")
    ]
    assert any("reassigned to bob" in e["reasons"] for e in seen["events"])


def test_login_is_rate_limited_and_wrong_passwords_get_401(desk: Desk) -> None:
    url = f"{desk.stack.server}/api/v1/auth/token"
    codes = [
        httpx.post(url, data={"username": "ann", "password": f"guess-{i}"}, timeout=30).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    assert httpx.post(url, data={"username": "nobody", "password": "x"}, timeout=30).status_code == 401
    garbage = httpx.get(f"{desk.stack.server}/api/v1/handoffs", headers={"Authorization": "Bearer nope"})
    assert garbage.status_code == 401


PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/ui/login",
    "/ui/logout",  # signs out whoever holds the cookie, even an ended session; CSRF-checked
    "/ui/static",
}
EVERYONE = {"admin", "editor", "agent"}
PUBLIC_PREFIXES = ("/webhooks/", "/api/v1/auth/", "/help", "/api/v1/help/")
AGENTS = {"admin", "agent"}
EDITORS = {"admin", "editor"}
FAQ_ROUTES = [
    ("GET", "faq"),
    ("POST", "faq"),
    ("POST", "faq/check"),
    ("POST", "faq/try"),
    ("GET", "faq/{faq_id}"),
    ("PATCH", "faq/{faq_id}"),
    ("POST", "faq/{faq_id}/publish"),
    ("POST", "faq/{faq_id}/archive"),
    ("GET", "faq/{faq_id}/revisions"),
    ("POST", "faq/{faq_id}/rollback"),
    ("GET", "insights/unanswered"),
    ("POST", "insights/clusters/draft"),
    ("POST", "insights/clusters/add-phrasings"),
]
# Every protected route and who may use it; a new route fails this test until it is listed here.
PROTECTED = {
    ("POST", "/api/v1/answer"): EVERYONE,
    ("GET", "/api/v1/handoffs"): AGENTS,
    ("POST", "/api/v1/handoffs/{ticket_id}/claim"): AGENTS,
    ("POST", "/api/v1/handoffs/{ticket_id}/resolve"): AGENTS,
    ("POST", "/api/v1/handoffs/{ticket_id}/hand-back"): AGENTS,
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): AGENTS,
    ("GET", "/api/v1/conversations/{conversation_id}"): AGENTS,
    ("POST", "/api/v1/handoffs/{ticket_id}/reassign"): AGENTS,
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): AGENTS,
    ("GET", "/api/v1/conversations/{conversation_id}/suggestions"): AGENTS,
    ("GET", "/ui"): EVERYONE,
    ("GET", "/ui/queue/rows"): AGENTS,
    ("GET", "/ui/conversations/{conversation_id}"): AGENTS,
    ("GET", "/ui/conversations/{conversation_id}/live"): AGENTS,
    ("GET", "/api/v1/faq/export"): EDITORS,
    ("POST", "/api/v1/faq/import"): EDITORS,
    ("GET", "/ui/kb"): EDITORS,
    ("GET", "/ui/kb/new"): EDITORS,
    ("GET", "/ui/kb/try"): EDITORS,
    ("GET", "/ui/kb/{faq_id}"): EDITORS,
    ("GET", "/ui/insights/unanswered"): EDITORS,
    **{(method, f"/api/v1/{path}"): EDITORS for method, path in FAQ_ROUTES},
    ("POST", "/api/v1/messages/{message_id}/flag"): AGENTS,
    ("POST", "/api/v1/messages/{message_id}/retry"): AGENTS,
}


def test_every_route_needs_a_user_with_the_right_role(desk: Desk) -> None:
    from app.main import create_app
    from app.settings import Settings

    routes = [
        (method, path)
        for route in _flat_routes(create_app(Settings()).routes)
        for path in [str(getattr(route, "path", ""))]
        for method in sorted(getattr(route, "methods", None) or {"GET"})
        if method not in ("HEAD", "OPTIONS") and path not in PUBLIC and not path.startswith(PUBLIC_PREFIXES)
    ]
    assert set(routes) == set(PROTECTED), "a route is missing from PROTECTED (or was removed)"
    people = {"agent": desk.ann, "editor": desk.editor, "admin": desk.admin}
    for method, template in routes:
        path = template.replace("{ticket_id}", "999999").replace("{conversation_id}", "999999")
        path = path.replace("{faq_id}", "no-such-entry").replace("{message_id}", "999999")
        kwargs: dict[str, Any] = {"json": {}} if method == "POST" else {}
        anonymous = desk.api(method, path, None, **kwargs)
        if method == "GET" and path.startswith("/ui"):  # a browser is sent to the login page instead
            assert anonymous.status_code == 303, (method, template)
            assert anonymous.headers["location"].startswith("/ui/login?next="), (method, template)
        else:
            assert anonymous.status_code == 401, (method, template)
            assert anonymous.headers["www-authenticate"] == "Bearer"
        for role, who in people.items():
            code = desk.api(method, path, who, **kwargs).status_code
            if role in PROTECTED[(method, template)]:
                assert code not in (401, 403), (method, template, role)
            else:
                assert code == 403, (method, template, role)


def _flat_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, also inside included routers (newer FastAPI keeps those as one lazy entry each; the
    routes of an APIRouter already carry its prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat_routes(inner.routes)
        else:
            yield route
