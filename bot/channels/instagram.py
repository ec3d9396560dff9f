"""Instagram Direct messages through the Messenger Platform (Page token, graph.facebook.com)."""

from __future__ import annotations

from bot.channels.base import Outgoing
from bot.channels.meta import MetaMessagingAdapter
from bot.channels.text_split import utf8_length


class InstagramAdapter(MetaMessagingAdapter):
    """Same events as Messenger under object 'instagram'; texts limited to 1000 UTF-8 bytes."""

    name = "instagram"
    text_limit = 1000  # bytes, not characters (platforms.md §2.1: split on bytes)
    object_name = "instagram"
    # The Instagram send body has no messaging_type unless a tag is used (platforms.md §2.1).
    default_messaging_type = None

    def measure(self, text: str) -> int:
        return utf8_length(text)

    def node(self, out: Outgoing) -> str:
        # With a Page token the Page is the sender; the IG account id (our account_id) is not a send node
        # on graph.facebook.com, and /me resolves to the token's Page.
        return "me"
