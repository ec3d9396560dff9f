"""Realistic, signed webhook traffic against a running server, and what came back at the fake platform."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.webhook_payloads import inbound_body, signed_headers
from bot.channels.base import ChannelSecrets

# Our account on each platform in simulated traffic (matches the fake platform's ids).
ACCOUNTS = {"messenger": "104857600000001", "instagram": "17841400000000123", "whatsapp": "106540352242922"}
X_ACCOUNT = "2244994945"


def account_for(channel: str) -> str:
    return ACCOUNTS.get(channel, X_ACCOUNT)


@dataclass
class Sent:
    """One simulated customer message and what happened to it."""

    message_id: str
    customer_id: str
    text: str
    posted_at: float  # time.monotonic(), as the fake platform stamps what it receives
    status: int = 0
    acked_after: float = 0.0
    replies: list[str] = field(default_factory=list)
    replied_after: float | None = None


def new_message_id(channel: str) -> str:
    """A fresh platform message id of the channel's shape (X ids are numeric)."""
    return str(uuid.uuid4().int % 10**19) if channel == "x" else f"m_{uuid.uuid4().hex}"


def post_message(
    client: httpx.Client,
    *,
    server: str,
    channel: str,
    secrets: ChannelSecrets,
    text: str,
    customer_id: str,
    kind: str = "dm",
) -> Sent:
    """Send one signed webhook with a new message id; record the HTTP status and time to acknowledge."""
    message_id = new_message_id(channel)
    body = inbound_body(
        channel,
        text=text,
        customer_id=customer_id,
        message_id=message_id,
        account_id=account_for(channel),
        kind=kind,
    )
    sent = Sent(message_id=message_id, customer_id=customer_id, text=text, posted_at=time.monotonic())
    response = client.post(
        f"{server.rstrip('/')}/webhooks/{channel}",
        content=body,
        headers={"content-type": "application/json", **signed_headers(channel, body, secrets)},
    )
    sent.status = response.status_code
    sent.acked_after = time.monotonic() - sent.posted_at
    return sent


def reply_text(request: dict[str, Any]) -> str | None:
    """The text of a send request recorded by the fake platform (None for typing indicators)."""
    body = request.get("json") or {}
    message = body.get("message")
    if isinstance(message, dict):
        return message.get("text")
    if isinstance(body.get("text"), dict):
        return str(body["text"].get("body"))
    if body.get("type") == "interactive":
        return str(body.get("interactive", {}).get("body", {}).get("text"))
    if isinstance(body.get("text"), str):
        return str(body["text"])
    return None


def delivered(requests: list[dict[str, Any]], customer: str | None = None) -> list[dict[str, Any]]:
    """Message sends the fake platform accepted (2xx), to `customer` if given; no typing, no failures."""
    return [
        r
        for r in requests
        if 200 <= int(r.get("status") or 0) < 300
        and reply_text(r) is not None
        and (customer is None or recipient(r) == customer)
    ]


def recipient(request: dict[str, Any]) -> str | None:
    """Who a recorded send request goes to, whatever the platform's body shape."""
    body = request.get("json") or {}
    if isinstance(body.get("recipient"), dict):
        return str(body["recipient"].get("id"))
    if "to" in body:
        return str(body["to"]).lstrip("+")  # WhatsApp numbers go out in E.164 form
    path = str(request.get("path", ""))
    if "/dm_conversations/with/" in path:
        return path.split("/dm_conversations/with/")[1].split("/")[0]
    return None


def collect_replies(
    client: httpx.Client, platform: str, sent: list[Sent], *, timeout: float, settle: Callable[[], bool]
) -> None:
    """Match the fake platform's recorded sends to our messages by recipient until `settle()` or timeout."""
    by_customer = {s.customer_id: s for s in sent}
    seen = 0
    deadline = time.monotonic() + timeout
    url = f"{platform.rstrip('/')}/_fake/requests"
    while time.monotonic() < deadline:
        requests = client.get(url, params={"since": seen}).json()
        # A request's status is set when the platform answers; only look at answered ones.
        answered = 0
        while answered < len(requests) and requests[answered].get("status") is not None:
            answered += 1
        for request in delivered(requests[:answered]):
            target = by_customer.get(recipient(request) or "")
            if target is None:
                continue
            target.replies.append(str(reply_text(request)))
            if target.replied_after is None:
                target.replied_after = float(request["monotonic"]) - target.posted_at
        seen += answered
        if settle():
            return
        time.sleep(0.1)


def load(
    *,
    server: str,
    channel: str,
    secrets: ChannelSecrets,
    texts: list[str],
    rate: float,
    seconds: float,
    concurrency: int = 4,
) -> list[Sent]:
    """Post `rate` messages a second for `seconds`, each from a new customer, from a pool of threads."""
    total = max(1, int(rate * seconds))
    results: list[Sent] = []
    lock = threading.Lock()
    start = time.perf_counter()
    first_customer = uuid.uuid4().int % 10**15 * 10  # numeric ids, as the platforms use; new ones per run

    jobs = iter(range(total))

    def run() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                with lock:
                    i = next(jobs, None)
                if i is None:
                    return
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                sent = post_message(
                    client,
                    server=server,
                    channel=channel,
                    secrets=secrets,
                    text=texts[i % len(texts)],
                    customer_id=str(first_customer + i),
                )
                with lock:
                    results.append(sent)

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, nearest rank; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(sent: list[Sent]) -> dict[str, float]:
    """Acknowledgement and reply latencies (ms) and counts, for printing."""
    acks = [s.acked_after * 1000 for s in sent]
    replies = [s.replied_after * 1000 for s in sent if s.replied_after is not None]
    return {
        "messages": len(sent),
        "accepted": sum(s.status == 200 for s in sent),
        "replied": len(replies),
        "ack_p50_ms": percentile(acks, 50),
        "ack_p99_ms": percentile(acks, 99),
        "reply_p50_ms": percentile(replies, 50),
        "reply_p99_ms": percentile(replies, 99),
        "ack_mean_ms": statistics.fmean(acks) if acks else 0.0,
    }
