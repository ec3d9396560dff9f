"""The editors' API through real `webcare serve` processes: edits live in seconds, history, guards."""

from __future__ import annotations

import time

import httpx

from tests.app.editors_stack import Editors, editors, post_customer_message, served
from tests.app.live_server import live_server

__all__ = ["editors"]  # the shared fixture
TOP_UP = "how do i top up my pay as you go phone?"


def test_edit_publish_revisions_and_rollback(editors: Editors) -> None:
    server, api = editors.stack.server, editors.api
    original = api("GET", "/api/v1/faq/top-up").json()
    new_text = f"Top up in the Kestrel app in seconds ({time.time_ns()})."

    draft = api("PATCH", "/api/v1/faq/top-up", json={"answer": new_text, "note": "shorter"})
    assert draft.status_code == 200, draft.text
    assert draft.json()["has_unpublished_changes"] is True
    assert draft.json()["latest_revision"] == original["latest_revision"] + 1
    # A draft is not live.
    assert api("POST", "/api/v1/answer", json={"text": TOP_UP}).json()["reply"] != new_text

    published = api("POST", "/api/v1/faq/top-up/publish")
    assert published.status_code == 200
    served(server, editors.editor, TOP_UP, lambda d: d["reply"] == new_text)

    revisions = api("GET", "/api/v1/faq/top-up/revisions").json()
    newest = revisions[0]
    assert (newest["author"], newest["note"], newest["published"]) == ("eddie", "shorter", True)
    [change] = newest["changes"]
    assert change["field"] == "answer"
    assert f"+{new_text}" in change["diff"].splitlines()
    assert f"-{original['answer']}" in change["diff"].splitlines()

    rolled = api("POST", "/api/v1/faq/top-up/rollback", json={"revision": original["latest_revision"]})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["answer"] == original["answer"]
    assert rolled.json()["published_revision"] == original["latest_revision"] + 2
    served(server, editors.editor, TOP_UP, lambda d: d["reply"] == original["answer"])
    assert api("GET", "/api/v1/faq/top-up/revisions").json()[0]["note"] == (
        f"rollback to revision {original['latest_revision']}"
    )


def test_new_entry_is_answered_after_publish_and_archive_takes_it_out(editors: Editors) -> None:
    api, question = editors.api, "can I put one of your sims in my electric bike alarm"
    body = {
        "id": "ebike-sim",
        "question": "Can I use a Kestrel SIM in my e-bike alarm?",
        "answer": "Yes: the data-only IoT SIM works in e-bike alarms and trackers.",
        "examples": ["sim for my electric bike tracker", "does the data sim go in an ebike alarm"],
        "tags": ["sim"],
    }
    created = api("POST", "/api/v1/faq", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert api("POST", "/api/v1/faq/ebike-sim/publish").status_code == 200
    served(editors.stack.server, editors.editor, question, lambda d: d["faq_id"] == "ebike-sim")
    assert [e["id"] for e in api("GET", "/api/v1/faq", params={"tag": "sim", "q": "e-bike"}).json()] == [
        "ebike-sim"
    ]

    assert api("POST", "/api/v1/faq/ebike-sim/archive").json()["status"] == "archived"
    served(editors.stack.server, editors.editor, question, lambda d: d["faq_id"] != "ebike-sim")
    assert "ebike-sim" not in [
        e["id"] for e in api("GET", "/api/v1/faq", params={"status": "published"}).json()
    ]


def test_errors_name_the_problem(editors: Editors) -> None:
    api = editors.api
    empty = api("POST", "/api/v1/faq", json={"id": "blank", "question": "Why?", "answer": "  "})
    assert empty.status_code == 422
    assert "answer" in empty.json()["detail"]
    long_x = api("PATCH", "/api/v1/faq/top-up", json={"variants": {"x": "Top up in the app. " * 20}})
    assert long_x.status_code == 422
    assert (
        "variants.x: is 379 weighted characters; x allows 280 in one message, so shorten it by 99"
        in long_x.json()["detail"]
    )
    assert (
        api("POST", "/api/v1/faq", json={"id": "Bad Id!", "question": "q", "answer": "a"}).status_code == 422
    )
    assert (
        api("PATCH", "/api/v1/faq/top-up", json={"colour": "red"}).status_code == 200
    )  # unknown keys ignored
    duplicate = api("POST", "/api/v1/faq", json={"id": "top-up", "question": "q?", "answer": "a"})
    assert duplicate.status_code == 409
    assert "exists already" in duplicate.json()["detail"]
    assert api("GET", "/api/v1/faq/no-such-entry").status_code == 404
    opened = api("GET", "/api/v1/faq/top-up").json()["latest_revision"]
    first = api("PATCH", "/api/v1/faq/top-up", json={"tags": ["billing", "payg"], "base_revision": opened})
    assert first.status_code == 200
    stale = api("PATCH", "/api/v1/faq/top-up", json={"answer": "x", "base_revision": opened})
    assert stale.status_code == 409
    assert "reload it" in stale.json()["detail"]
    missing = api("POST", "/api/v1/faq/top-up/rollback", json={"revision": 999})
    assert missing.status_code == 404
    assert "has no revision 999" in missing.json()["detail"]
    assert api("POST", "/api/v1/faq/top-up/rollback", json={}).status_code == 422
    # Agents answer customers; editing the FAQ is for editors and admins.
    assert api("GET", "/api/v1/faq", who=editors.agent).status_code == 403


def test_guards_warn_about_close_entries_and_changed_messages(editors: Editors) -> None:
    api = editors.api
    close = {
        "id": "add-credit",
        "question": "How can I top up my pay as you go phone?",
        "answer": "Use the app.",
    }
    created = api("POST", "/api/v1/faq", json=close)
    assert created.status_code == 201
    assert "top-up" in [w["faq_id"] for w in created.json()["warnings"]]
    assert (
        api(
            "POST", "/api/v1/faq", json={**close, "id": "gift-cards", "question": "Do you sell gift cards?"}
        ).json()["warnings"]
        == []
    )

    post_customer_message(editors.stack, TOP_UP)
    changed_text = "Top up only at the shop now."
    deadline = time.monotonic() + 30
    while True:
        check = api(
            "POST",
            "/api/v1/faq/check",
            json={**api("GET", "/api/v1/faq/top-up").json(), "answer": changed_text},
        )
        assert check.status_code == 200, check.text
        found = [m for m in check.json()["changed_messages"] if m["text"] == TOP_UP]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert found, check.json()
    assert found[0]["after"]["reply"] == changed_text
    assert found[0]["before"]["faq_id"] == found[0]["after"]["faq_id"] == "top-up"
    bad = api("POST", "/api/v1/faq/check", json={"id": "top-up", "question": "q", "answer": ""}).json()
    assert bad["problems"] and bad["changed_messages"] == []


def test_try_it_shows_every_channel(editors: Editors) -> None:
    result = editors.api("POST", "/api/v1/faq/try", json={"text": TOP_UP})
    assert result.status_code == 200
    data = result.json()
    assert [c["channel"] for c in data["channels"]] == ["messenger", "instagram", "whatsapp", "x"]
    assert {c["faq_id"] for c in data["channels"]} == {"top-up"}
    assert data["candidates"][0]["faq_id"] == "top-up"
    assert data["candidates"][0]["confidence"] > data["candidates"][1]["confidence"]
    x = data["channels"][3]
    assert x["limit"] == 280
    assert x["length"] <= 280 and len(x["pieces"]) == 1  # the entry's own X variant
    sued = editors.api("POST", "/api/v1/faq/try", json={"text": "I'm going to sue you"}).json()
    assert {c["action"] for c in sued["channels"]} == {"handoff"}
    assert "sensitive:legal_threat" in sued["channels"][0]["reasons"]


def test_help_search_needs_no_sign_in(editors: Editors) -> None:
    hits = httpx.get(
        f"{editors.stack.server}/api/v1/help/search", params={"q": "put credit on my phone"}
    ).json()
    assert hits[0]["faq_id"] == "top-up"
    assert httpx.get(f"{editors.stack.server}/api/v1/help/search", params={"q": ""}).json() == []


def test_a_second_server_serves_a_publish_without_restart(editors: Editors) -> None:
    # Production runs several processes on PostgreSQL; on SQLite they share the file the same way.
    env = {
        **editors.stack.env,
        "WEBCARE_EMBEDDED_WORKER": "false",
    }  # serving only: no worker loop refreshes it
    with live_server(env) as second:
        new_text = f"Top up from the second server's point of view ({time.time_ns()})."
        assert editors.api("PATCH", "/api/v1/faq/top-up", json={"answer": new_text}).status_code == 200
        assert editors.api("POST", "/api/v1/faq/top-up/publish").status_code == 200
        seconds = served(second, editors.editor, TOP_UP, lambda d: d["reply"] == new_text)
        served(editors.stack.server, editors.editor, TOP_UP, lambda d: d["reply"] == new_text)
        print(f"second process served the edit {seconds:.2f}s after publish")


def test_bulk_import_previews_then_applies_and_export_round_trips(editors: Editors) -> None:
    api = editors.api
    exported = api("GET", "/api/v1/faq/export", params={"format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="knowledge_base.csv"'
    lines = exported.text.splitlines()
    header, rows = lines[0], lines[1:]
    assert header.startswith("id,question,answer") and len(rows) >= 53

    new_id = f"gift-cards-{time.time_ns()}"
    yaml_file = (
        "entries:\n"
        f"  - id: {new_id}\n"
        "    question: Do you sell gift cards?\n"
        "    answer: Yes, in every Kestrel store, from £10.\n"
        "    examples: [can I buy a gift card, gift voucher for kestrel]\n"
    )
    upload = {"file": ("new.yaml", yaml_file.encode(), "application/yaml")}
    preview = api("POST", "/api/v1/faq/import", files=upload)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["applied"], [c["id"] for c in body["created"]], body["updated"]) == (False, [new_id], [])
    assert api("GET", f"/api/v1/faq/{new_id}").status_code == 404  # a preview saves nothing

    applied = api("POST", "/api/v1/faq/import", files=upload, data={"apply": "true", "publish": "false"})
    assert applied.status_code == 200 and applied.json()["applied"] is True
    saved = api("GET", f"/api/v1/faq/{new_id}").json()
    assert (saved["status"], saved["updated_by"]) == ("draft", "eddie")

    changed = yaml_file.replace("from £10.", "from £5.")
    again = api(
        "POST", "/api/v1/faq/import", files={"file": ("new.yaml", changed.encode(), "application/yaml")}
    )
    [update] = again.json()["updated"]
    assert update["id"] == new_id and "+Yes, in every Kestrel store, from £5." in update["changes"][0]["diff"]

    broken = "entries:\n  - id: broken\n    question: Is this ok?\n    answer: ''\n"
    refused = api(
        "POST", "/api/v1/faq/import", files={"file": ("bad.yaml", broken.encode(), "application/yaml")}
    )
    assert refused.status_code == 422
    assert "bad.yaml" in refused.json()["detail"] and "answer" in refused.json()["detail"]
    unknown = api("POST", "/api/v1/faq/import", files={"file": ("kb.txt", b"x", "text/plain")})
    assert unknown.status_code == 422 and "use .yaml, .yml or .csv" in unknown.json()["detail"]
