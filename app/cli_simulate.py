"""`webcare simulate`: signed, realistic webhook traffic at a running server, and what came back."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from typing import Annotated

import httpx
import typer

from app.channels import channel_secrets
from app.cli_common import fail, load_settings
from app.simulation import Sent, collect_replies, load, post_message, summary
from bot.channels.base import CHANNELS

DEMO_TEXTS = [
    "how do i top up my sim??",
    "@KestrelMobile is there an outage in Leeds, no signal since this morning",
    "can I use my data in spain",
    "what time are you open till",
    "how do i get my PAC code",
]


def _replied(sent: Sent) -> Callable[[], bool]:
    return lambda: bool(sent.replies)


def simulate(
    server: Annotated[
        str, typer.Option(help="The Webcare server to post webhooks to")
    ] = "http://127.0.0.1:8000",
    channel: Annotated[str, typer.Option(help=f"One of {', '.join(CHANNELS)}")] = "messenger",
    platform: Annotated[
        str | None, typer.Option(help="Fake platform URL, to show the replies the server sent")
    ] = None,
    rate: Annotated[float, typer.Option(help="Load test: messages per second (0: interactive)")] = 0.0,
    seconds: Annotated[float, typer.Option(help="Load test: for this long")] = 10.0,
    wait: Annotated[float, typer.Option(help="Seconds to wait for replies")] = 15.0,
) -> None:
    """Type messages as a customer (one per line), or send N messages/s for a load test."""
    if channel not in CHANNELS:
        raise fail(f"unknown channel '{channel}': use one of {', '.join(CHANNELS)}")
    secrets = channel_secrets(load_settings())
    with httpx.Client(timeout=30) as client:
        if rate > 0:
            sent = load(
                server=server, channel=channel, secrets=secrets, texts=DEMO_TEXTS, rate=rate, seconds=seconds
            )
        else:
            typer.echo(f"type a message as a {channel} customer; Ctrl-D ends", err=True)
            sent = []
            customer = str(uuid.uuid4().int % 10**15)
            for line in sys.stdin:
                if not line.strip():
                    continue
                one = post_message(
                    client,
                    server=server,
                    channel=channel,
                    secrets=secrets,
                    text=line.strip(),
                    customer_id=customer,
                )
                typer.echo(f"-> {one.status} in {one.acked_after * 1000:.0f} ms")
                if platform:
                    collect_replies(client, platform, [one], timeout=wait, settle=_replied(one))
                    for reply in one.replies:
                        typer.echo(f"<- {reply}")
                    client.delete(f"{platform.rstrip('/')}/_fake/requests")
                sent.append(one)
            return
        if platform:
            collect_replies(client, platform, sent, timeout=wait, settle=lambda: all(s.replies for s in sent))
    for key, value in summary(sent).items():
        typer.echo(f"{key:14} {value:.1f}" if isinstance(value, float) else f"{key:14} {value}")
