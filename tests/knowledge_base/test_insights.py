"""The unanswered inbox on 200 seeded missed messages: needs cluster together, different needs apart."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.encoder import TextEncoder
from bot.inbox.models import ConversationRow, MessageRow
from bot.storage import utcnow
from knowledge_base.insights import unanswered_clusters

NEEDS = {
    "refurbished": [
        "do you sell refurbished phones",
        "can I buy a refurbished iphone from you",
        "are there any second hand reconditioned handsets for sale",
        "refurb samsung in stock?",
        "do you do cheaper refurbished mobiles",
    ],
    "jobs": [
        "are you hiring in your shops",
        "how do I apply for a job at kestrel",
        "do you have any job vacancies",
        "looking for work, any positions open in your stores",
        "where can I send my CV for a job",
    ],
    "gift": [
        "do you sell gift cards",
        "can I buy a gift voucher for my mum",
        "is there a kestrel gift card I can give as a present",
        "want to get my son a voucher for christmas",
        "gift certificates available?",
    ],
    "sponsor": [
        "do you sponsor local football teams",
        "our youth club wants sponsorship, who do we ask",
        "can kestrel sponsor our charity fun run",
        "how do we apply for community sponsorship",
        "looking for a sponsor for our kids rugby team",
    ],
    "satellite": [
        "do you sell satellite phones",
        "I need a satellite phone for sailing",
        "can I get a sat phone from you for an expedition",
        "do you offer satellite handsets for remote areas",
        "satellite phone rental?",
    ],
    "dog": [
        "can I bring my dog into your store",
        "are dogs allowed in kestrel shops",
        "is it ok to come in with my puppy",
        "are your stores pet friendly",
        "can my guide dog come in the shop with me",
    ],
    "braille": [
        "can I get my bill in braille",
        "do you send braille statements",
        "I'm blind, can my letters come in braille",
        "braille version of my contract please",
        "is there a braille bill option",
    ],
    "esports": [
        "is kestrel into esports at all",
        "is kestrel doing any gaming tournaments",
        "any esports events coming up",
        "will you have a stand at the gaming expo",
        "do you run fortnite competitions",
    ],
}
OPENERS = ("", "hi, ", "hello ", "quick question: ", "hey ")


def _seed(session: Session) -> dict[int, str]:
    """Five variants of each phrasing: 8 needs x 25 = 200 missed messages; returns message id -> need."""
    now, need_of, number = utcnow(), {}, 0
    for need, phrasings in NEEDS.items():
        for position, (opener, phrasing) in enumerate((o, p) for o in OPENERS for p in phrasings):
            number += 1
            conversation = ConversationRow(channel="messenger", account_id="page", customer_id=f"c{number}")
            session.add(conversation)
            session.flush()
            # "satellite" is an old need: every message over a week ago; "gift" is new and growing.
            days = 10 if need == "satellite" else (1 if need == "gift" or position % 2 else 9)
            message = MessageRow(
                conversation_id=conversation.id,
                channel="messenger",
                direction="in",
                author="customer",
                text=f"{opener}{phrasing}",
                status="handled",
                decision={"action": "handoff", "reasons": ["low_confidence"]},
                created_at=now - timedelta(days=days),
            )
            session.add(message)
            session.flush()
            need_of[message.id] = need
    ignored = [
        ({"action": "handoff", "reasons": ["sensitive:legal_threat"]}, "I'm going to sue you"),
        ({"action": "answer", "faq_id": "top-up", "reasons": ["faq_match"]}, "how do I top up"),
    ]
    for decision, text in ignored:
        conversation = ConversationRow(channel="x", account_id="acct", customer_id=text)
        session.add(conversation)
        session.flush()
        session.add(
            MessageRow(
                conversation_id=conversation.id,
                channel="x",
                direction="in",
                author="customer",
                text=text,
                decision=decision,
            )
        )
    session.commit()
    return need_of


def test_paraphrases_land_together_and_needs_apart(
    sessions: sessionmaker[Session], encoder: TextEncoder
) -> None:
    with sessions() as session:
        need_of = _seed(session)
        clusters = unanswered_clusters(session, encoder=encoder)
        by_growth = unanswered_clusters(session, encoder=encoder, order="growth")

    assert sum(c.size for c in clusters) == 200  # the sensitive and the answered messages stay out
    for cluster in clusters:
        needs = Counter(need_of[i] for i in cluster.message_ids)
        assert len(needs) == 1, f"one cluster mixes needs: {needs}"
    for need in NEEDS:
        homes = Counter(
            next(i for i, c in enumerate(clusters) if m in c.message_ids)
            for m in need_of
            if need_of[m] == need
        )
        assert len(homes) <= 3, f"{need} is scattered over {len(homes)} clusters: {homes}"
    assert len(clusters) <= 12

    assert [c.size for c in clusters] == sorted((c.size for c in clusters), reverse=True)
    assert need_of[by_growth[0].message_ids[0]] == "gift"
    satellite = next(c for c in clusters if need_of[c.message_ids[0]] == "satellite")
    assert (satellite.last_7_days, satellite.previous_7_days) == (0, satellite.size)
    assert len(satellite.samples) == 5 and satellite.representative == satellite.samples[0].text
