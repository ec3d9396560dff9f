"""Channels end to end: signed webhooks into a running server, replies out at a running fake platform."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.simulation import account_for, delivered, reply_text
from app.webhook_payloads import echo_body, handshake_query, signed_headers, status_body
from bot.inbox.models import MessageRow, WebhookDeliveryRow
from knowledge_base.formats import read_kb_file
from tests.app.channel_stack import SECRETS, Stack, count_rows, new_customer
from tests.app.live_server import run_cli
from tests.app.shared_stacks import DEMO_AS_IMPORTED, SharedStacks
from tests.conftest import DEMO_KB

TOP_UP = "how do i top up my pay as you go phone?"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, stacks: SharedStacks) -> Stack:
    return stacks.get(DEMO_AS_IMPORTED, request.param)


def _customer(body: bytes, channel: str) -> str:
    data = json.loads(body)
    if channel == "whatsapp":
        return str(data["entry"][0]["changes"][0]["value"]["messages"][0]["from"])
    if channel == "x":
        events = data.get("direct_message_events") or []
        if events:
            return str(events[0]["message_create"]["sender_id"])
        return str(data["tweet_create_events"][0]["user"]["id_str"])
    return str(data["entry"][0]["messaging"][0]["sender"]["id"])


def _answer(faq_id: str, channel: str) -> str:
    entry = next(e for e in read_kb_file(DEMO_KB) if e.id == faq_id)
    return entry.answer_for(channel)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("channel", ["messenger", "instagram", "whatsapp"])
def test_meta_handshake(stack: Stack, channel: str) -> None:
    good = httpx.get(
        f"{stack.server}/webhooks/{channel}", params=handshake_query(channel, SECRETS, "1158201444")
    )
    assert good.status_code == 200
    assert good.text == "1158201444"
    assert good.headers["content-type"].startswith("text/plain")
    wrong = dict(handshake_query(channel, SECRETS, "1158201444"), **{"hub.verify_token": "guess"})
    assert httpx.get(f"{stack.server}/webhooks/{channel}", params=wrong).status_code == 403


def test_x_crc(stack: Stack) -> None:
    response = httpx.get(f"{stack.server}/webhooks/x", params={"crc_token": "challenge-123"})
    assert response.status_code == 200
    digest = hmac.new(SECRETS.x_consumer_secret.encode(), b"challenge-123", hashlib.sha256).digest()
    assert response.json() == {"response_token": "sha256=" + base64.b64encode(digest).decode()}


@pytest.mark.parametrize("channel", ["messenger", "instagram", "whatsapp", "x"])
def test_each_platform_answers_in_its_send_body(stack: Stack, channel: str) -> None:
    body = stack.message(channel, TOP_UP)
    customer = _customer(body, channel)
    response = stack.post(channel, body)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    sends = stack.sends_to(customer, 1)
    assert sends, f"no reply reached the fake platform for {channel}"
    assert _flat(" ".join(str(reply_text(s)) for s in sends)) == _flat(_answer("top-up", channel))
    first = sends[0]
    payload = first["json"]
    assert isinstance(payload, dict)
    if channel in ("messenger", "instagram"):
        assert payload["recipient"] == {"id": customer}
    if channel == "instagram":
        assert first["path"] == "/v25.0/me/messages"  # the Page token's node sends for its IG account
    if channel == "messenger":
        assert first["path"] == f"/v25.0/{account_for(channel)}/messages"
        assert payload["messaging_type"] == "RESPONSE"
        assert "tag" not in payload  # the bot never uses HUMAN_AGENT
    if channel == "whatsapp":
        assert first["path"] == f"/v25.0/{account_for(channel)}/messages"
        assert payload["messaging_product"] == "whatsapp"
        assert payload["to"] == "+" + customer  # E.164, as in the platform samples
        wamid = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        assert payload["context"] == {"message_id": wamid}  # the answer quotes the question
        read = [r["json"] for r in stack.platform.requests() if r["kind"] != "send"]
        assert {"messaging_product": "whatsapp", "status": "read", "message_id": wamid} in [
            {k: v for k, v in r.items() if k != "typing_indicator"} for r in read if isinstance(r, dict)
        ]  # marked read, with the typing indicator, before the answer
    if channel == "x":
        assert first["path"] == f"/2/dm_conversations/with/{customer}/messages"


def test_redelivered_five_times_at_once_is_stored_and_answered_once(stack: Stack) -> None:
    body = stack.message("messenger", TOP_UP)
    customer = _customer(body, "messenger")
    with ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(lambda _: stack.post("messenger", body), range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert sum(r.json()["stored"] for r in responses) == 1
    assert sum(r.json()["duplicates"] for r in responses) == 4
    assert len(stack.sends_to(customer, 1)) >= 1
    time.sleep(2)  # a second reply, if there were one, would have arrived by now
    assert len(stack.sends_to(customer, 2, timeout=0)) == 1
    mid = json.loads(body)["entry"][0]["messaging"][0]["message"]["mid"]
    assert count_rows(stack.database_url, MessageRow, external_id=mid) == 1


def test_bad_signature_is_refused_and_nothing_is_stored(stack: Stack) -> None:
    before = count_rows(stack.database_url, MessageRow)
    body = stack.message("whatsapp", TOP_UP)
    missing = stack.post("whatsapp", body, headers={})
    assert missing.status_code == 403
    assert "signature" in missing.json()["detail"]
    forged = stack.post("whatsapp", body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert forged.status_code == 403
    tampered = stack.post(
        "whatsapp", body.replace(b"top up", b"top-up"), headers=signed_headers("whatsapp", body, SECRETS)
    )
    assert tampered.status_code == 403
    x_body = stack.message("x", TOP_UP)
    assert stack.post("x", x_body, headers={"X-Twitter-Webhooks-Signature": "sha256=AAAA"}).status_code == 403
    assert count_rows(stack.database_url, MessageRow) == before


def test_garbage_gets_400_is_kept_and_the_server_keeps_serving(stack: Stack) -> None:
    garbage = b'{"object": "page", "entry": [{"messaging": [{"sender": '
    response = stack.post("messenger", garbage)
    assert response.status_code == 400
    assert "messenger" in response.json()["detail"]
    unknown = stack.post("messenger", b'{"hello": "world"}')
    assert unknown.status_code == 400
    assert count_rows(stack.database_url, WebhookDeliveryRow, outcome="malformed") >= 2
    body = stack.message("messenger", TOP_UP)
    assert stack.post("messenger", body).status_code == 200
    assert stack.sends_to(_customer(body, "messenger"), 1)


def test_echoes_and_receipts_are_never_answered(stack: Stack) -> None:
    customer = new_customer()
    account = account_for("messenger")
    echo = echo_body(
        "messenger", text=TOP_UP, customer_id=customer, message_id=f"m-{uuid.uuid4().hex}", account_id=account
    )
    delivery = status_body("messenger", status="delivered", customer_id=customer, account_id=account)
    read = status_body("messenger", status="read", customer_id=customer, account_id=account)
    for body in (echo, delivery, read):
        response = stack.post("messenger", body)
        assert response.status_code == 200
        assert response.json()["stored"] == 0
    time.sleep(1.5)
    assert stack.sends_to(customer, 1, timeout=0) == []


def test_429_is_retried_after_retry_after(stack: Stack) -> None:
    stack.platform.fail(429, times=1, retry_after=2, match="/messages")
    body = stack.message("instagram", TOP_UP)
    customer = _customer(body, "instagram")
    posted = time.monotonic()
    assert stack.post("instagram", body).status_code == 200
    sends = stack.sends_to(customer, 1, timeout=40)
    assert len(sends) == 1
    assert float(sends[0]["monotonic"]) - posted >= 2.0  # not before the platform said it could take it
    time.sleep(1)
    assert len(stack.sends_to(customer, 2, timeout=0)) == 1


def _reply_to_follow_up(stack: Stack, follow_up: str) -> str:
    """A new customer asks how to top up, is answered, then writes `follow_up`: the bot's second reply."""
    customer = new_customer()
    for text, replies in ((TOP_UP, 1), (follow_up, 2)):
        assert stack.post("messenger", stack.message("messenger", text, customer=customer)).status_code == 200
        sends = stack.sends_to(customer, replies)
    assert len(sends) == 2
    return _flat(str(reply_text(sends[1])))


def test_the_same_answer_is_not_sent_twice_a_person_takes_over(stack: Stack) -> None:
    # Writing again with what the same entry answers: the answer did not settle it.
    second = _reply_to_follow_up(stack, "how do i top up pay as you go")
    assert second != _flat(_answer("top-up", "messenger"))
    assert "passing this to a person" in second, second


def test_still_not_working_after_an_answer_is_an_answer_that_did_not_help(stack: Stack) -> None:
    # High priority, "usually within an hour": it was a routine ticket's day.
    second = _reply_to_follow_up(stack, "still not working")
    assert "usually within an hour" in second, second


@pytest.mark.parametrize("choice", ["the contract one", "option 2", "my contract please"])
def test_a_clarifying_question_answered_in_words_gets_the_answer_chosen(stack: Stack, choice: str) -> None:
    # "my contract please" was read as a possible legal threat, which took it to a person instead.
    customer = new_customer()
    assert stack.post("messenger", stack.message("messenger", "cancel", customer=customer)).status_code == 200
    [question] = stack.sends_to(customer, 1)
    options = question["json"]["message"]["quick_replies"]  # type: ignore[index]
    assert [o["payload"] for o in options] == ["faq:remove-add-on", "faq:cancel-contract"], options
    chosen = stack.message("messenger", choice, customer=customer)
    assert stack.post("messenger", chosen).status_code == 200
    sends = stack.sends_to(customer, 2)
    assert _flat(str(reply_text(sends[1]))) == _flat(_answer("cancel-contract", "messenger"))


def test_after_one_choice_another_number_picks_from_the_same_choices(stack: Stack) -> None:
    # The "2" after "1" was read as a new message, a bare number, and ignored: the customer heard nothing.
    customer = new_customer()
    for text, replies in (("cancel", 1), ("1", 2), ("2", 3)):
        assert stack.post("messenger", stack.message("messenger", text, customer=customer)).status_code == 200
        sends = stack.sends_to(customer, replies)
    assert [_flat(str(reply_text(s))) for s in sends[1:]] == [
        _flat(_answer("remove-add-on", "messenger")),
        _flat(_answer("cancel-contract", "messenger")),
    ]


def test_a_question_sent_twice_in_a_row_is_answered_once(stack: Stack) -> None:
    # The second copy read as "the answer did not help": a person took over a question already answered.
    customer = new_customer()
    for _ in range(2):
        response = stack.post("messenger", stack.message("messenger", TOP_UP, customer=customer))
        assert response.status_code == 200
    stack.sends_to(customer, 1)
    time.sleep(2)
    sends = stack.sends_to(customer, 2, timeout=0)
    assert [_flat(str(reply_text(s))) for s in sends] == [_flat(_answer("top-up", "messenger"))]


def test_a_number_that_is_none_of_the_choices_gets_them_again_then_a_person(stack: Stack) -> None:
    customer = new_customer()
    offered = {"faq:remove-add-on", "faq:cancel-contract"}
    for text, replies in (("cancel", 1), ("3", 2), ("5", 3)):
        assert stack.post("messenger", stack.message("messenger", text, customer=customer)).status_code == 200
        sends = stack.sends_to(customer, replies)
    assert len(sends) == 3, [reply_text(s) for s in sends]
    again = sends[1]["json"]["message"]  # type: ignore[index]
    assert {o["payload"] for o in again["quick_replies"]} == offered, again
    assert "only 2 to pick from" in again["text"], again
    assert "passing this to a person" in _flat(str(reply_text(sends[2]))), reply_text(sends[2])


def test_the_same_pleasantry_twice_is_not_answered_with_the_same_line_twice(stack: Stack) -> None:
    customer = new_customer()
    pleasantries = [("hi", 1), ("hello?", 2), ("hey", 2), (TOP_UP, 3), ("thanks!", 4), ("thank you", 4)]
    for text, replies in pleasantries:
        assert stack.post("messenger", stack.message("messenger", text, customer=customer)).status_code == 200
        stack.sends_to(customer, replies)
    time.sleep(1.5)  # the third hello and the second thanks are handled by now: nothing more was sent
    said = [_flat(str(reply_text(s))) for s in stack.sends_to(customer, 5, timeout=0)]
    assert len(said) == 4, said
    assert said[0].startswith("Hi!") and said[1].startswith("I'm here"), said
    assert said[3].startswith("You're welcome"), said


def test_public_mention_is_answered_publicly(stack: Stack) -> None:
    body = stack.message("x", f"@KestrelMobile {TOP_UP}", kind="mention")
    customer = _customer(body, "x")
    assert stack.post("x", body).status_code == 200
    tweet_id = json.loads(body)["tweet_create_events"][0]["id_str"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tweets = [
            r for r in stack.platform.requests() if r["path"] == "/2/tweets" and _replies_to(r, tweet_id)
        ]
        if tweets:
            break
        time.sleep(0.1)
    assert tweets, "no public reply to the mention"
    assert _flat(" ".join(str(reply_text(t)) for t in tweets)) == _flat(_answer("top-up", "x"))
    assert stack.sends_to(customer, 1, timeout=0) == []  # no DM for a public-safe answer


def test_sensitive_mention_gets_a_public_acknowledgement_and_a_private_message(stack: Stack) -> None:
    body = stack.message(
        "x", "@KestrelMobile someone hacked my account and changed my number!!", kind="mention"
    )
    customer = _customer(body, "x")
    assert stack.post("x", body).status_code == 200
    dms = stack.sends_to(customer, 1)
    assert len(dms) == 1
    tweet_id = json.loads(body)["tweet_create_events"][0]["id_str"]
    public = [r for r in delivered(stack.platform.requests()) if _replies_to(r, tweet_id)]
    assert len(public) == 1
    text = str(reply_text(public[0]))
    assert "hack" not in text.lower() and "call" not in text.lower() and "email" not in text.lower()


def test_permanent_error_is_dead_lettered_and_can_be_retried(stack: Stack) -> None:
    stack.platform.fail(400, times=1, match="/messages", error_code=10, error_subcode=2018278)
    body = stack.message("messenger", TOP_UP)
    customer = _customer(body, "messenger")
    assert stack.post("messenger", body).status_code == 200
    deadline = time.monotonic() + 30
    listed = ""
    while time.monotonic() < deadline and "2018278" not in listed:
        listed = run_cli(["outbox", "list"], stack.env).stdout
        time.sleep(0.3)
    assert "2018278" in listed, listed
    assert stack.sends_to(customer, 1, timeout=0) == []
    outbox_id = next(line.split("\t")[0] for line in listed.splitlines() if "2018278" in line)
    retried = run_cli(["outbox", "retry", outbox_id], stack.env)
    assert retried.returncode == 0, retried.stderr
    assert len(stack.sends_to(customer, 1)) == 1
    assert run_cli(["outbox", "retry", "999999"], stack.env).returncode == 1


def _replies_to(request: dict[str, object], tweet_id: str) -> bool:
    body = request.get("json")
    return isinstance(body, dict) and body.get("reply", {}).get("in_reply_to_tweet_id") == tweet_id
