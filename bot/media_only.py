"""Messages of media alone (a photo, a voice note, a location, a sticker): how they are written down and
recognised again."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A message of media alone (a photo, a voice note, a location, a sticker) is stored with a text that says
# so: it shows in the transcript for the agent, and the engine knows it holds no words to read.
_MEDIA_ONLY = re.compile(r"^\[sent: (?P<what>[^\]]*)\]$")


def media_only_text(attachments: Sequence[str]) -> str:
    """The stored text of a message that is media alone: '[sent: image https://...; audio 123]'."""
    return f"[sent: {'; '.join(a.replace(']', ')') for a in attachments) or 'media'}]"


def media_kinds(text: str) -> tuple[str, ...] | None:
    """The kinds of media ('image', 'sticker', ...) if `text` is a message of media alone, else None."""
    match = _MEDIA_ONLY.match(text)
    if match is None:
        return None
    return tuple(part.split()[0] for part in match["what"].split("; ") if part.split())
