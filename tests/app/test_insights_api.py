"""The unanswered-question inbox through a real server: missed messages clustered, flags, drafts."""

from __future__ import annotations

import time

from tests.app.editors_stack import Editors, editors, post_customer_message

__all__ = ["editors"]  # the shared fixture

REFURBISHED = [
    "do you sell refurbished phones?",
    "can I buy a refurbished iphone from you",
    "any refurbished handsets?",
]
JOBS = [
    "are you hiring in your shops",
    "how do I apply for a job at kestrel",
    "do you have any job vacancies",
]


def test_unanswered_inbox_clusters_flags_and_drafts(editors: Editors) -> None:
    api, customers = editors.api, {}
    for text in REFURBISHED + JOBS:
        customers[text] = post_customer_message(editors.stack, text)
    deadline = time.monotonic() + 60
    while True:
        clusters = api("GET", "/api/v1/insights/unanswered").json()
        texts_of = [{s["text"] for s in c["samples"]} for c in clusters]
        if (
            all(any(t in texts for texts in texts_of) for t in REFURBISHED + JOBS)
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.5)
    refurbished = next(c for c in clusters if REFURBISHED[0] in {s["text"] for s in c["samples"]})
    jobs = next(c for c in clusters if JOBS[0] in {s["text"] for s in c["samples"]})
    assert set(REFURBISHED) <= {s["text"] for s in refurbished["samples"]}
    assert not set(JOBS) & {s["text"] for s in refurbished["samples"]}
    # Three messages are little to go on: two of the job questions must meet, the third may stand alone.
    assert len(set(JOBS) & {s["text"] for s in jobs["samples"]}) >= 2
    assert not set(REFURBISHED) & {s["text"] for s in jobs["samples"]}
    assert refurbished["last_7_days"] >= 3 and refurbished["growth"] >= 3

    ticket = next(
        t
        for t in api("GET", "/api/v1/handoffs", editors.agent).json()
        if t["customer_id"] == customers[REFURBISHED[0]]
    )
    assert api("POST", f"/api/v1/handoffs/{ticket['id']}/claim", editors.agent).status_code == 200
    reply = "Yes: certified refurbished phones are at kestrelmobile.example/refurbished."
    path = f"/api/v1/conversations/{ticket['conversation_id']}/messages"
    assert api("POST", path, editors.agent, json={"text": reply}).status_code in (200, 201, 202)
    job_message = jobs["message_ids"][0]
    flag = api(
        "POST", f"/api/v1/messages/{job_message}/flag", editors.agent, json={"faq_id": "store-locator"}
    )
    assert flag.status_code == 201, flag.text
    assert (
        api("POST", f"/api/v1/messages/{job_message}/flag", json={"faq_id": "store-locator"}).status_code
        == 403
    )
    assert (
        api("POST", "/api/v1/messages/99999999/flag", editors.agent, json={"faq_id": "top-up"}).status_code
        == 404
    )
    again = api("GET", "/api/v1/insights/unanswered").json()
    assert any(
        c["flagged_entries"] == {"store-locator": 1} and job_message in c["message_ids"] for c in again
    )
    assert (
        reply in next(c for c in again if refurbished["message_ids"][0] in c["message_ids"])["agent_replies"]
    )

    body = {"message_ids": refurbished["message_ids"], "entry_id": "refurbished-phones"}
    draft = api("POST", "/api/v1/insights/clusters/draft", json=body)
    assert draft.status_code == 201, draft.text
    assert draft.json()["answer"] == reply and draft.json()["status"] == "draft"
    assert set(REFURBISHED) <= {draft.json()["question"], *draft.json()["examples"]}
    added = api(
        "POST",
        "/api/v1/insights/clusters/add-phrasings",
        json={"message_ids": jobs["message_ids"], "faq_id": "store-locator"},
    )
    assert added.status_code == 200, added.text
    job_texts = {s["text"] for s in jobs["samples"]}
    assert job_texts <= set(added.json()["examples"]) and added.json()["has_unpublished_changes"]
    # Both groups are dealt with: they leave the list instead of waiting for the same work again.
    left = {m for c in api("GET", "/api/v1/insights/unanswered").json() for m in c["message_ids"]}
    assert not left & {*refurbished["message_ids"], *jobs["message_ids"]}
