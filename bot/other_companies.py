"""Messages about another company: its products, prices or outages are not ours to answer."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A company named as where the customer is going or coming from ("move my number to giffgaff",
# "switching from EE", "leaving for O2"), as a comparison ("cheaper than O2"), or for its SIM in
# our phone ("will it take a Vodafone SIM": unlocking) makes the message about us; named any
# other way ("does giffgaff do eSIMs", "an EE SIM only deal", "is Three down") it is about them.
_ABOUT_US_BEFORE = re.compile(r"\b(?:to|from|for|than|vs|versus|leaving|left|joining|joined)\s+$", re.I)
_ABOUT_US_AFTER = re.compile(r"^\s+sims?\b(?!\s*(?:only|deals?|plans?|prices?|offers?|contracts?)\b)", re.I)
# ...but only where the message is about our phone taking it: "the PUK code for my Vodafone sim" or
# "roaming charges for my Three sim in Spain" are that company's to answer.
_TAKES_A_SIM = re.compile(
    r"\b(?:take|takes|taking|accept\w*|work(?:s|ing)? with|unlock\w*|locked|compatible|put|putting"
    r"|insert\w*|use|using|fit|fits|swap\w* (?:in|to))\b",
    re.I,
)


class OtherCompanies:
    """Finds the other companies (competitors, other brands) a message asks about.

    Our FAQ answers are about our own products: "does giffgaff do eSIMs" retrieves our eSIM
    entry with high confidence, yet answering it would state another company's policy as ours.
    Such messages go to a person, who can reply to them well.
    """

    def __init__(self, names: Iterable[str]) -> None:
        cleaned = sorted({" ".join(n.split()) for n in names if n.strip()}, key=len, reverse=True)
        self.names = tuple(cleaned)
        self._by_lower = {name.lower(): name for name in cleaned}
        # Longest names first, so "Tesco Mobile" is found rather than "Tesco"; a name matches as
        # whole words with any spacing ("Virgin  Media") and an optional possessive ("EE's").
        alternatives = "|".join(r"\s+".join(map(re.escape, n.split())) for n in cleaned)
        self._pattern = re.compile(rf"(?<![\w@#])(?:{alternatives})(?:'s)?(?!\w)", re.I) if cleaned else None

    def asked_about(self, text: str) -> tuple[str, ...]:
        """The configured names the message asks about, as configured, in order of appearance."""
        if self._pattern is None:
            return ()
        found: list[str] = []
        for match in self._pattern.finditer(text):
            before, after = text[: match.start()], text[match.end() :]
            if _ABOUT_US_BEFORE.search(before) or (
                _ABOUT_US_AFTER.match(after) and _TAKES_A_SIM.search(text)
            ):
                continue
            name = self._canonical(match.group(0))
            if name not in found:
                found.append(name)
        return tuple(found)

    def _canonical(self, matched: str) -> str:
        words = " ".join(matched.split()).lower()
        # "EE's" is EE; "Sainsbury's" is itself a name.
        return self._by_lower.get(words) or self._by_lower[words.removesuffix("'s")]


def parse_names(value: str) -> tuple[str, ...]:
    """Comma-separated company names, as the setting gives them."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


# Services customers also have accounts with. Their passwords, subscriptions and settings are theirs to
# answer: "reset my gmail password" or "parental controls on netflix" retrieve our own password and
# parental-controls entries with high confidence, and answering would walk the customer through the wrong
# company's steps. Named as something used over our network ("netflix keeps buffering") they stay ours.
SERVICES = (
    "Gmail", "Google account", "Apple ID", "iCloud", "iTunes", "App Store", "Google Play", "Netflix",
    "Spotify", "Disney+", "Disney Plus", "Amazon", "Amazon Prime", "Prime Video", "PayPal", "Facebook",
    "Instagram", "WhatsApp", "TikTok", "Snapchat", "Twitter", "YouTube", "Microsoft account", "Outlook",
    "Hotmail", "Yahoo", "Steam", "PlayStation", "PSN", "Xbox", "Nintendo", "eBay", "Uber", "Deliveroo",
    "Zoom", "Discord", "Telegram", "Now TV", "BBC iPlayer", "Audible", "Oyster", "DVLA", "HMRC", "eero",
)  # fmt: skip
_ACCOUNT_THING = (
    r"(?:account|acc|password|pass ?word|passcode|log ?in|sign[- ]?in|user ?name|subscription|sub|membership"
    r"|payment (?:method|details|card)|billing|parental controls?|profile|family sharing|orders?|parcel"
    r"|delivery|gift ?cards?|(?:student )?discount|premium|card|wi-?fi password|balance)"
)

_MY = r"(?:(?:my|the|his|her|their|our)\s+(?:\w+?'?s\s+)?)?"  # "my sons xbox", "my son's xbox"


class OtherServices:
    """Finds messages about the customer's account with another service (see SERVICES)."""

    def __init__(self, ours: Iterable[str] = ()) -> None:
        # A service our own questions or answers name ("Netflix included with every plan") is part of
        # what we offer: questions about it are ours.
        said = " ".join(ours).lower()
        self.names = tuple(n for n in sorted(SERVICES, key=len, reverse=True) if n.lower() not in said)
        self._by_key = {_key(n): n for n in self.names}
        service = "|".join(r"\s*".join(map(re.escape, n.split())) for n in self.names)
        name = rf"(?P<name>{service})"
        self._patterns = (
            (
                # "my gmail password", "Apple ID payment method"
                re.compile(rf"(?<![\w@#]){name}(?:'s)?\s+{_ACCOUNT_THING}\b", re.I),
                # "parental controls on netflix"
                re.compile(rf"\b{_ACCOUNT_THING}\s+(?:on|for|with|in|of)\s+{_MY}{name}(?!\w)", re.I),
                # "my address with the DVLA"
                re.compile(rf"\b(?:address|details|name|licen[cs]e) (?:with|at|on) {_MY}{name}(?!\w)", re.I),
                # "cancel my spotify", "locked out of my Apple ID"
                re.compile(
                    r"\b(?:cancel|unsubscribe from|delete|deactivate|locked out of|log(?:ged)? ?in ?to"
                    rf"|sign(?:ed)? ?in ?to|top up|track)\s+{_MY}{name}(?!\w)",
                    re.I,
                ),
            )
            if self.names
            else ()
        )

    def asked_about(self, text: str) -> tuple[str, ...]:
        """The services whose accounts the message asks about, in order of appearance."""
        matches = sorted((m.start("name"), m.group("name")) for p in self._patterns for m in p.finditer(text))
        found: list[str] = []
        for _, matched in matches:
            name = self._by_key[_key(matched)]
            if name not in found:
                found.append(name)
        return tuple(found)


def _key(name: str) -> str:
    """A name's lookup key: "Now TV", "NowTV" and "now  tv" alike."""
    return "".join(name.split()).lower()
