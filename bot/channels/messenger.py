"""Facebook Messenger: Page conversations through the Messenger Platform."""

from __future__ import annotations

from bot.channels.base import Outgoing
from bot.channels.meta import MetaMessagingAdapter
from bot.channels.text_split import utf16_length


class MessengerAdapter(MetaMessagingAdapter):
    """Replies inside the 24-hour window as RESPONSE; agent replies may use the HUMAN_AGENT tag."""

    name = "messenger"
    # 2000 is the commonly cited limit (UNCONFIRMED in platforms.md); counted in UTF-16 units to be safe.
    text_limit = 2000
    object_name = "page"
    default_messaging_type = "RESPONSE"

    def measure(self, text: str) -> int:
        return utf16_length(text)

    def node(self, out: Outgoing) -> str:
        return out.account_id  # the Page id
