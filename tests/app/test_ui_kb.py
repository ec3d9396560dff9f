"""The editors' workspace in a real browser: edit and publish (live in seconds), history and rollback,
quality checks, try-it, the unanswered-question inbox, and the public help page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.app.accounts import PASSWORD, token
from tests.app.browser import sign_in
from tests.app.test_webhooks import TOP_UP
from tests.app.ui_stack import BrowserDesk

GIFT_CARDS = [
    "do you sell gift cards?",
    "can I buy a Kestrel gift card for my mum",
    "where do I get a gift card for kestrel",
]
DRONES = ["do you sell drones in your shops", "can i buy a camera drone from kestrel", "any drones for sale?"]


def _answer(ui: BrowserDesk, text: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token(ui.stack.server, 'eddie')}"}
    response = httpx.post(
        f"{ui.stack.server}/api/v1/answer", json={"text": text}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _wait_for_reply(ui: BrowserDesk, text: str, expected: str, within: float = 5.0) -> float:
    """Seconds until the engine answers `text` with `expected` (fails after `within`)."""
    start = time.monotonic()
    while True:
        reply = _answer(ui, text)["reply"]
        elapsed = time.monotonic() - start
        if reply == expected:
            return elapsed
        assert elapsed < within, f"still answering {reply!r} after {within}s"
        time.sleep(0.2)


def _editor(ui: BrowserDesk, path: str = "/ui/kb") -> Page:
    page = ui.page()
    sign_in(page, ui.stack.server, "eddie", PASSWORD, path=path)
    return page


def test_an_edit_published_in_the_browser_is_live_in_seconds_and_can_be_rolled_back(ui: BrowserDesk) -> None:
    page = _editor(ui)
    expect(page.locator("tbody tr[data-faq-id]")).to_have_count(53)
    page.fill("input[name=q]", "roaming")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-faq-id=roaming-europe]")).to_be_visible()
    expect(page.locator("tr[data-faq-id=top-up]")).to_have_count(0)

    page.goto(f"{ui.stack.server}/ui/kb/top-up")
    old = page.locator("textarea[name=answer]").input_value()
    assert _answer(ui, TOP_UP)["reply"] == old
    new = "Top up in the Kestrel app under Balance > Top up, or text TOPUP to 2020 from your Kestrel phone."
    page.fill("textarea[name=answer]", new)
    expect(page.locator('#answer-counters .counter[data-channel="messenger"] b')).to_have_text(str(len(new)))
    page.fill("input[name=note]", "text-to-top-up added")
    page.get_by_role("button", name="Save and publish").click()
    page.wait_for_url("**/ui/kb/top-up?saved=published")
    _wait_for_reply(ui, TOP_UP, new)

    latest = page.locator("details.revision").first
    expect(latest.locator("summary")).to_contain_text("eddie")
    expect(latest.locator("summary")).to_contain_text("live")
    expect(latest).to_contain_text("text-to-top-up added")
    expect(latest.locator("pre.diff")).to_contain_text(f"+{new}")
    page.screenshot(path=str(ui.shots / "kb-entry.png"), full_page=True)

    previous = page.locator("details.revision").nth(1)
    previous.locator("summary").click()
    previous.get_by_role("button", name="Publish this revision again").click()
    page.wait_for_url("**/ui/kb/top-up?saved=rolled-back")
    _wait_for_reply(ui, TOP_UP, old)
    page.close()


def test_checks_refuse_an_empty_answer_and_warn_about_a_near_duplicate(ui: BrowserDesk) -> None:
    page = _editor(ui, "/ui/kb/new")
    page.fill("input[name=id]", "top-up-again")
    page.fill("input[name=question]", "How do I top up my pay as you go SIM?")
    page.get_by_role("button", name="Check").click()
    result = page.locator("#check-result")
    expect(result).to_contain_text("Cannot be saved")
    expect(result.locator("ul.error")).to_contain_text("answer")

    page.fill("textarea[name=answer]", "Use the app.")
    page.get_by_role("button", name="Check").click()
    expect(result).to_contain_text("No problems")
    expect(result.locator("ul.warning")).to_contain_text("How do I top up")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/ui/kb/top-up-again?saved=draft")
    expect(page.locator("text=Revision 1 · draft")).to_be_visible()
    assert _answer(ui, TOP_UP)["faq_id"] == "top-up"  # a draft is not live
    page.close()


def test_try_it_shows_the_decision_on_every_channel(ui: BrowserDesk) -> None:
    page = _editor(ui, "/ui/kb/try")
    page.fill("#try-text", TOP_UP)
    page.get_by_role("button", name="Try").click()
    rows = page.locator("#try-result tr[data-channel]")
    expect(rows).to_have_count(4)
    x = page.locator('#try-result tr[data-channel="x"]')
    expect(x.locator(".action")).to_have_text("answer")
    expect(x).to_contain_text("top-up")
    expect(page.locator("ol.candidates li").first).to_contain_text("top up")
    page.screenshot(path=str(ui.shots / "try-it.png"), full_page=True)
    page.close()


def test_unanswered_questions_cluster_and_become_a_draft_with_the_agents_answer(ui: BrowserDesk) -> None:
    customers = [ui.customer_writes(text) for text in GIFT_CARDS]
    agent = {"Authorization": f"Bearer {token(ui.stack.server, 'ann')}"}
    reply = "Yes! Kestrel gift cards are sold in every Kestrel store, from £10 to £100."
    deadline = time.monotonic() + 60
    tickets: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(tickets) < len(customers):  # all three, on a busy machine too
        queue = httpx.get(f"{ui.stack.server}/api/v1/handoffs", headers=agent, params={"status": "waiting"})
        tickets = [t for t in queue.json() if t["customer_id"] in customers]
        time.sleep(0.3)
    assert len(tickets) == len(customers), "the gift-card questions were not all handed off"
    [ticket] = [t for t in tickets if t["customer_id"] == customers[0]]
    api = ui.stack.server + "/api/v1"
    assert httpx.post(f"{api}/handoffs/{ticket['id']}/claim", headers=agent).status_code == 200
    sent = httpx.post(
        f"{api}/conversations/{ticket['conversation_id']}/messages", headers=agent, json={"text": reply}
    )
    assert sent.status_code == 202

    page = _editor(ui, "/ui/insights/unanswered")
    card = page.locator(".cluster", has_text="gift card")
    expect(card).to_have_count(1)
    expect(card.locator(".samples li")).to_have_count(3)
    expect(card.locator(".agent-replies")).to_contain_text("gift cards are sold")
    page.screenshot(path=str(ui.shots / "unanswered.png"), full_page=True)
    card.locator("input[name=entry_id]").fill("gift-cards")
    card.get_by_role("button", name="Make a draft entry").click()
    page.wait_for_url("**/ui/kb/gift-cards?saved=draft")
    expect(page.locator("textarea[name=answer]")).to_have_value(reply)
    examples = page.locator("textarea[name=examples]").input_value()
    assert (
        sum(
            text in examples or text in page.locator("input[name=question]").input_value()
            for text in GIFT_CARDS
        )
        == 3
    )
    page.close()


def test_an_unanswered_question_no_agent_replied_to_becomes_a_draft_with_the_editors_answer(
    ui: BrowserDesk,
) -> None:
    for text in DRONES:
        ui.customer_writes(text)
    page = _editor(ui, "/ui/insights/unanswered")
    card = page.locator(".cluster", has_text="drone")
    deadline = time.monotonic() + 30
    while card.count() == 0 and time.monotonic() < deadline:  # the worker hands them off
        page.reload()
        time.sleep(0.5)
    expect(card).to_have_count(1)
    expect(card.locator(".agent-replies")).to_have_count(0)
    answer = "We don't sell drones, but every phone we sell works with the big drone makers' apps."
    card.locator("textarea[name=answer]").fill(answer)
    card.locator("input[name=entry_id]").fill("drones")
    card.get_by_role("button", name="Make a draft entry").click()
    page.wait_for_url("**/ui/kb/drones?saved=draft")
    expect(page.locator("textarea[name=answer]")).to_have_value(answer)
    page.close()


def test_the_help_page_answers_by_meaning_without_signing_in(ui: BrowserDesk) -> None:
    page = ui.page()
    page.goto(f"{ui.stack.server}/help")
    page.fill("input[name=q]", "someone nicked my mobile on the bus")
    page.get_by_role("button", name="Search").click()
    first = page.locator(".help-hit").first
    expect(first).to_have_attribute("data-faq-id", "lost-stolen-phone")
    expect(page.locator("details.help-entry")).to_have_count(53)
    page.close()


def test_a_file_import_is_previewed_in_the_browser_before_it_is_applied(
    ui: BrowserDesk, tmp_path: Path
) -> None:
    upload = tmp_path / "more.yaml"
    upload.write_text(
        "entries:\n"
        "  - id: e-sim-watch\n"
        "    question: Can I use my Kestrel plan on a smartwatch?\n"
        "    answer: Yes, with a OneNumber add-on for £5 a month, set up in the Kestrel app.\n"
        "    examples: [smartwatch esim, apple watch cellular]\n",
        encoding="utf-8",
    )
    page = _editor(ui)
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Preview changes").click()
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("This file would: 1 new, 0 changed")
    expect(preview.locator("li.created")).to_contain_text("e-sim-watch")
    page.get_by_role("button", name="Apply these changes").click()
    expect(preview).to_contain_text("Imported: 1 new")
    _wait_for_reply(
        ui,
        "Can I use my Kestrel plan on a smartwatch?",
        "Yes, with a OneNumber add-on for £5 a month, set up in the Kestrel app.",
        within=15.0,  # the 5-second promise is measured elsewhere; here the import is the point
    )
    page.close()
