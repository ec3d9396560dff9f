"""Personal data customers post (card, bank, passport, ID numbers, passwords), by pattern and checksum."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a message: what kind and where (for masking)."""

    kind: str
    start: int
    end: int


_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SORT_CODE = re.compile(r"\b\d{2}-\d{2}-\d{2}\b")
_ACCOUNT_NUMBER = re.compile(
    r"\b(?:account|acct|a/c)(?:\s+(?:no|number|num|#))?\.?\s*(?:is|:)?\s*#?\s*(\d{6,12})\b", re.I
)
_PASSPORT = re.compile(r"\bpassport(?:\s+(?:no|number|num|#))?\.?\s*(?:is|:)?\s*([A-Z0-9]{7,10})\b", re.I)
_NINO = re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")  # incl. the QQ example prefix
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# "my password is wrong" describes a password; "my password is hunter22" posts one.
_NOT_A_SECRET = (
    r"(?!(?:wrong|incorrect|invalid|not|no|expired|correct|right|fine|ok|okay|too|being|still|locked|"
    r"blocked|the|a|an|forgotten|reset|changed|working|broken|rejected|case|only|definitely)\b)"
)
_PASSWORD = re.compile(
    r"\b(?:my\s+)?(?:password|passcode|pin)\s*(?:is|was|:|=)\s*" + _NOT_A_SECRET + r"\S{3,}", re.I
)
# "pass: hunter22", "pwd=..." as people paste logins; the short words need the colon or equals sign.
_PASS = re.compile(r"\b(?:pass|pwd|pw)\s*[:=]\s*\S{3,}", re.I)
_CVV = re.compile(r"\b(?:cvv|cvc|security code)\s*(?:is|:)?\s*\d{3,4}\b", re.I)
_DATE_OF_BIRTH = re.compile(
    r"\b(?:dob|date of birth|born on)\s*(?:is|:)?\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b", re.I
)


# Never stored as sent: what would let anyone use a card or an account (see mask_secrets).
SECRETS = ("card_number", "card_security_code", "password")


def _masked(kind: str) -> re.Pattern[str]:
    # A secret masked at intake still counts as posted: the bot hands the message to a person all the same.
    return re.compile(rf"\[{kind}(?: ending \d{{4}})? removed\]")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def find_personal_data(text: str) -> list[Finding]:
    """Every personal-data finding in `text`, in order of position."""
    findings: list[Finding] = []
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            findings.append(Finding("card_number", match.start(), match.end()))
    for match in _IBAN.finditer(text):
        if _iban_ok(match.group()):
            findings.append(Finding("bank_account", match.start(), match.end()))
    sort_code = _SORT_CODE.search(text)
    if sort_code and re.search(r"\b\d{8}\b", text):  # a sort code alone is not an account
        findings.append(Finding("bank_account", sort_code.start(), sort_code.end()))
    simple = (
        ("bank_account", _ACCOUNT_NUMBER),
        ("passport_number", _PASSPORT),
        ("national_id", _NINO),
        ("national_id", _SSN),
        ("password", _PASSWORD),
        ("password", _PASS),
        *((kind, _masked(kind)) for kind in SECRETS),
        ("card_security_code", _CVV),
        ("date_of_birth", _DATE_OF_BIRTH),
    )
    for kind, pattern in simple:
        for match in pattern.finditer(text):
            if kind == "passport_number" and not re.search(r"\d", match.group(1)):
                continue  # "passport number is missing" is not a number
            findings.append(Finding(kind, match.start(), match.end()))
    return sorted(findings, key=lambda f: f.start)


def mask_personal_data(text: str, findings: list[Finding] | None = None) -> str:
    """`text` with every finding replaced by a marker, for logs and public views."""
    findings = find_personal_data(text) if findings is None else findings
    return _replaced(text, findings, lambda finding, found: f"[{finding.kind} removed]")


def mask_secrets(text: str) -> str:
    """`text` with card numbers (all but their last four digits), security codes and passwords replaced
    by markers: the form every message is stored in, so no database row or transcript holds them."""

    def marker(finding: Finding, found: str) -> str:
        if finding.kind == "card_number":
            return f"[card_number ending {re.sub(r'[^0-9]', '', found)[-4:]} removed]"
        label = re.match(r"^(.*[\s:=])\S+$", found, re.S)  # the words before it stay: "my password is [...]"
        return (label.group(1) if label else "") + f"[{finding.kind} removed]"

    return _replaced(text, [f for f in find_personal_data(text) if f.kind in SECRETS], marker)


def _replaced(text: str, findings: list[Finding], marker: Callable[[Finding, str], str]) -> str:
    """`text` with each finding (in order; one overlapping an earlier one skipped) replaced by its marker."""
    out, last = [], 0
    for finding in findings:
        if finding.start < last:
            continue
        out += [text[last : finding.start], marker(finding, text[finding.start : finding.end])]
        last = finding.end
    out.append(text[last:])
    return "".join(out)
