"""Cases that must always reach a person: learned categories plus high-precision cue patterns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.intent_classifier import IntentClassifier
from bot.nlu_data import Example, load_packaged

NONE = "none"
DATA_FILE = "sensitive.yml"

# Phrases that by themselves are enough: the classifier generalises, these never miss the obvious.
CUES: dict[str, re.Pattern[str]] = {
    "security_report": re.compile(
        r"\b(vulnerabilit\w*|exploit\w*|data (breach|leak)|leak(ing|ed)? (customer|user|personal)"
        r"|security (flaw|hole|issue|bug)|xss|sql injection|someone else'?s (account|data|bill))\b",
        re.I,
    ),
    "legal_threat": re.compile(
        r"\b(sue|suing|lawsuit|solicitors?|lawyers?|attorney|legal action|small claims|in court"
        r"|to court|court (case|action)"
        r"|ombudsman|ofcom|trading standards|class action)\b",
        re.I,
    ),
    "safety_emergency": re.compile(
        r"\b(caught fire|on fire|smoke (coming|pouring)|(smoking|sparking|melting) (phone|router"
        r"|charger|battery|socket|box)|sparks? (from|coming)|explod\w*|electric shock|electrocut\w*"
        r"|gas leak|ambulance|emergency services|(call|ring|dial)(ed|ing)? (999|911|112)"
        r"|unconscious|collapsed|not breathing|i'?m not safe|i am not safe|i don'?t feel safe)\b",
        re.I,
    ),
    "fraud_or_hacked": re.compile(
        r"\b(hack(ed|er|ers)?|sim[- ]?swap\w*|identity theft|stole my identity|unauthori[sz]ed"
        r"|fraud\w*|scam(med)? me|didn'?t make (these|this|the) (charge|payment|purchase)s?"
        r"|someone (took|has taken|stole) (over )?my (number|account|sim))\b"
        # Fell for a scam: details already given away, so a person must act now, not an FAQ.
        r"|^(?=.*\b(fake|scam\w*|phishing|dodgy|pretending|bogus|spoof\w*)\b)"
        r".*\b(entered|typed|put|gave|given|sent|shared|replied with) (in )?(\w+ )?my (full )?"
        r"(card|bank|account|login|security|password|pin|details|code)",
        re.I | re.S,
    ),
    "self_harm": re.compile(
        r"\b(kill (my ?self|me)|suicid\w*|end (it all|my life)|self[- ]harm\w*|hurt(ing)? myself"
        r"|don'?t want to (live|be alive|be here)"
        # Someone else at risk is as urgent, and an overdose already taken most of all.
        r"|kill(ing)? (him|her|them)sel(f|ves)|overdos\w*"
        r"|(taken|took|swallowed) (a (load|lot|bunch|handful) of |loads of |all (of )?(my|the|his|her) "
        r"|too many )(pills|tablets|meds|medication|painkillers|paracetamol))\b",
        re.I,
    ),
    "press_enquiry": re.compile(
        r"\b(journalist|reporter|press (office|enquiry|inquiry|team)|media (enquiry|inquiry)"
        r"|for (a )?comment|writing (a|an) (story|article|piece))\b",
        re.I,
    ),
    "privacy_request": re.compile(
        r"\b(gdpr|subject access|dsar|right to be forgotten|right to erasure|delete (all )?"
        r"(of )?my (personal )?(data|information|details)|data protection (request|act))\b",
        re.I,
    ),
    "harassment": re.compile(
        r"\b(harass\w*|stalk\w*|racis\w*|sexis\w*|homophob\w*|discriminat\w*|threaten\w* me)\b",
        re.I,
    ),
}


@dataclass(frozen=True)
class SensitiveFinding:
    """One sensitive category found in a message, and how."""

    category: str
    confidence: float
    by: str  # "cue" or "classifier"


class SensitiveDetector:
    """Finds sensitive categories by cue patterns and a classifier trained on their phrasings."""

    def __init__(self, classifier: IntentClassifier, threshold: float = 0.45) -> None:
        self.classifier = classifier
        self.threshold = threshold

    @staticmethod
    def training_examples(negatives: Sequence[str] = ()) -> list[Example]:
        """The packaged phrasings per category, plus ordinary messages as `none`."""
        examples = load_packaged(DATA_FILE)
        return examples + [Example(text, NONE) for text in negatives]

    def detect(self, texts: Sequence[str], vectors: np.ndarray) -> list[list[SensitiveFinding]]:
        """The findings for each text, strongest first."""
        results = []
        for text, row in zip(texts, self.classifier.probabilities(vectors), strict=True):
            found: dict[str, SensitiveFinding] = {}
            for category, pattern in CUES.items():
                if pattern.search(text):
                    found[category] = SensitiveFinding(category, 1.0, "cue")
            for index in np.argsort(-row)[:2]:
                category = self.classifier.labels[index]
                if category != NONE and row[index] >= self.threshold and category not in found:
                    found[category] = SensitiveFinding(category, float(row[index]), "classifier")
            results.append(sorted(found.values(), key=lambda f: -f.confidence))
        return results
