"""The agents' workspace in a real browser: sign-in, the live queue, a conversation from claim to resolve."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from app.auth.session import SESSION_COOKIE
from app.simulation import reply_text
from tests.app.accounts import PASSWORD, token
from tests.app.browser import sign_in
from tests.app.live_server import run_cli
from tests.app.test_webhooks import TOP_UP
from tests.app.ui_stack import BrowserDesk


def test_pages_need_sign_in_and_a_wrong_password_is_refused(ui: BrowserDesk) -> None:
    page = ui.page()
    page.goto(f"{ui.stack.server}/ui/conversations/1")
    page.wait_for_url("**/ui/login?next=/ui/conversations/1")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    expect(page.locator("input[name=username]")).to_have_value("ann")  # only the password to type again
    page.close()


def test_on_a_phone_sign_out_is_in_reach_and_an_ended_session_still_signs_out(ui: BrowserDesk) -> None:
    page = ui.browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, ui.stack.server, "root", PASSWORD)  # an admin: the longest menu
    button = page.get_by_role("button", name="Sign out")
    box = button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    # The session ends elsewhere (another tab signed out): this page's Sign out still lands on the login page.
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    httpx.post(
        f"{ui.stack.server}/ui/logout",
        cookies={SESSION_COOKIE: cookie["value"]},
        data={"csrf_token": page.locator("input[name=csrf_token]").first.input_value()},
    )
    button.click()
    page.wait_for_url("**/ui/login")
    page.close()


def test_agent_sees_a_new_ticket_live_and_takes_it_from_claim_to_resolve(ui: BrowserDesk) -> None:
    page = ui.page()
    sign_in(page, ui.stack.server, "ann", PASSWORD)
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # Other customers' tickets, so the queue shows priorities and channels side by side.
    ui.customer_writes("I want to speak to a real person please", channel="whatsapp")
    ui.customer_writes("this is the third time I ask, your service is a joke", channel="x")
    customer = ui.customer_writes("someone hacked my account and ordered a new SIM card in my name")

    row = page.locator("tr[data-ticket-id]", has_text=customer)
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".pill")).to_have_text("urgent")
    expect(page.locator("#new-badge")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the queue reloaded instead of updating itself"
    expect(page.locator("tr[data-ticket-id]")).to_have_count(3, timeout=30_000)
    page.screenshot(path=str(ui.shots / "queue.png"))

    row.get_by_role("link", name="Open").click()
    page.wait_for_url("**/ui/conversations/*")
    # Reasons read as words; the code the API uses is the tag's title.
    tag = page.locator(".ticket-panel .tag", has_text="fraud or hacked")
    expect(tag).to_have_attribute("title", "sensitive:fraud_or_hacked")
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("#ticket-status")).to_have_text("assigned")

    suggestion = page.locator(".suggestion").first
    answer = suggestion.locator(".answer").inner_text()
    suggestion.get_by_role("button", name="Insert").click()
    box = page.locator("#reply-text")
    expect(box).to_have_value(answer)
    box.fill(f"Hi, I've locked your account for now. {answer}")
    expect(page.locator("#reply-count")).to_contain_text("/ 2000 characters")
    page.locator("#note-text").fill("Customer verified by phone; SIM swap blocked.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".note")).to_contain_text("SIM swap blocked")
    page.get_by_role("button", name="Send on Messenger").click()

    sends = ui.stack.sends_to(customer, 2)
    assert reply_text(sends[-1]) == f"Hi, I've locked your account for now. {answer}"
    expect(page.locator(".msg.out.agent")).to_contain_text("I've locked your account")
    page.screenshot(path=str(ui.shots / "conversation.png"), full_page=True)

    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#ticket-status")).to_have_text("resolved")
    page.close()

    # Resolved: the bot answers this customer's next question again.
    ui.customer_writes(TOP_UP, customer=customer)
    assert len(ui.stack.sends_to(customer, 3)) == 3


def test_resolving_while_the_customer_waits_for_a_reply_asks_first(ui: BrowserDesk) -> None:
    customer, page = _agent_opens_the_ticket_of(ui, "I need to speak to someone about a complaint please")
    page.get_by_role("button", name="Claim").click()
    warning = page.locator(".ticket-panel .warn")
    expect(warning).to_have_text("Nobody has replied to the customer on this ticket yet.")

    ui.customer_writes("hello?? anyone there", customer=customer)
    expect(page.locator(".msg.in").last).to_contain_text("anyone there", timeout=30_000)
    expect(warning).to_have_text("The customer's latest message has no reply yet.")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#ticket-status")).to_have_text("assigned")
    assert asked == ["The customer's latest message has no reply yet. Resolve anyway?"], asked

    page.locator("#reply-text").fill("Sorry for the wait, I'm on it now.")
    page.get_by_role("button", name="Send on Messenger").click()
    expect(page.locator(".msg.out.agent")).to_contain_text("on it now")
    expect(warning).to_have_count(0)
    page.get_by_role("button", name="Resolve").click()  # no question now: a dialog would be dismissed
    expect(page.locator("#ticket-status")).to_have_text("resolved")
    page.close()


def test_actions_need_the_session_csrf_token_and_sign_out_ends_the_session(ui: BrowserDesk) -> None:
    page = ui.page()
    sign_in(page, ui.stack.server, "bob", PASSWORD)
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    session = httpx.Client(base_url=ui.stack.server, cookies={SESSION_COOKIE: cookie["value"]}, timeout=30)
    note = {"json": {"text": "from a forged form"}}
    # The cookie alone (what another site's form would send) is not enough to change anything.
    assert session.post("/api/v1/conversations/1/notes", **note).status_code == 403
    assert (
        session.post("/api/v1/conversations/1/notes", headers={"X-CSRF-Token": "x"}, **note).status_code
        == 403
    )
    assert (
        session.post("/api/v1/conversations/1/notes", headers={"X-CSRF-Token": csrf}, **note).status_code
        == 201
    )
    assert session.get("/ui/queue/rows").status_code == 200

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    # The copied cookie died with the session: the page sends its holder to sign in again.
    after = session.get("/ui/queue/rows")
    assert (after.status_code, after.headers["location"]) == (303, "/ui/login?next=/ui/queue/rows")
    assert (
        session.post("/api/v1/conversations/1/notes", headers={"X-CSRF-Token": csrf}, **note).status_code
        == 401
    )
    page.close()


def test_editors_cannot_open_conversations(ui: BrowserDesk) -> None:
    headers = {"Authorization": f"Bearer {token(ui.stack.server, 'eddie')}"}
    response = httpx.get(f"{ui.stack.server}/ui/conversations/1", headers=headers, timeout=30)
    assert response.status_code == 403
    home = httpx.get(f"{ui.stack.server}/ui", headers=headers, timeout=30)
    assert (home.status_code, home.headers["location"]) == (303, "/ui/kb")


def test_adding_an_existing_user_fails_unless_exist_ok(ui: BrowserDesk) -> None:
    again = run_cli(
        ["users", "add", "ann", "--role", "admin", "--password", "another-password"], ui.stack.env
    )
    assert again.returncode != 0 and "a user named 'ann' already exists" in again.stderr
    kept = run_cli(
        ["users", "add", "ann", "--role", "admin", "--password", "another-password", "--exist-ok"],
        ui.stack.env,
    )
    assert kept.returncode == 0 and "already exists" in kept.stdout
    assert token(ui.stack.server, "ann")  # the old password still works: nothing was changed


def test_the_flag_box_stays_open_through_live_refreshes_and_flags_the_message(ui: BrowserDesk) -> None:
    _, page = _agent_opens_the_ticket_of(ui, "can i get the roaming add-on for my trip to the moon base")
    box = page.locator("details.flag").first
    box.locator("summary").click()
    page.wait_for_timeout(4000)  # the transcript refreshes every 3 s
    expect(box).to_have_attribute("open", "")
    box.locator("input").fill("roaming-europe")
    box.get_by_role("button", name="Flag for the editors").click()
    expect(page.locator("#flash")).to_contain_text("Flagged")
    page.close()


def test_a_half_written_reply_survives_the_session_ending_and_goes_out_after_signing_in_again(
    ui: BrowserDesk,
) -> None:
    customer = ui.customer_writes("someone hacked my account, they changed my email")
    ticket = _ticket_of(ui, customer, "bob")
    headers = {"Authorization": f"Bearer {token(ui.stack.server, 'bob')}"}
    httpx.post(f"{ui.stack.server}/api/v1/handoffs/{ticket['id']}/claim", headers=headers)
    context = ui.browser.new_context(viewport={"width": 1280, "height": 800})  # two tabs share the cookie
    page = context.new_page()
    sign_in(page, ui.stack.server, "bob", PASSWORD)
    page.goto(f"{ui.stack.server}/ui/conversations/{ticket['conversation_id']}")
    draft = "I've locked the account and sent a reset link to the number we hold for you."
    page.locator("#reply-text").fill(draft)
    page.locator("#reply-text").blur()
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    httpx.post(  # the session ends elsewhere
        f"{ui.stack.server}/ui/logout",
        cookies={SESSION_COOKIE: cookie["value"]},
        data={"csrf_token": page.locator("input[name=csrf_token]").first.input_value()},
    )
    expect(page.locator("#session-ended")).to_be_visible(timeout=10_000)  # the next live refresh
    expect(page.locator("#reply-text")).to_have_value(draft)  # nothing navigated away
    other = context.new_page()
    other.goto(f"{ui.stack.server}/ui/login?next=/ui")
    other.fill("input[name=username]", "bob")
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url(f"{ui.stack.server}/ui")
    other.close()
    expect(page.locator("#session-ended")).to_be_hidden(timeout=10_000)
    page.get_by_role("button", name="Send on Messenger").click()
    assert draft in [reply_text(s) for s in ui.stack.sends_to(customer, 2)]
    context.close()


def _agent_opens_the_ticket_of(ui: BrowserDesk, text: str) -> tuple[str, Page]:
    """A new customer writes `text`; agent ann, signed in, opens the conversation once it is handed off."""
    customer = ui.customer_writes(text)
    ticket = _ticket_of(ui, customer, "ann")
    page = ui.page()
    sign_in(page, ui.stack.server, "ann", PASSWORD)
    page.goto(f"{ui.stack.server}/ui/conversations/{ticket['conversation_id']}")
    return customer, page


def _ticket_of(ui: BrowserDesk, customer: str, agent: str) -> dict[str, Any]:
    """The customer's ticket, once the worker has handed their message off."""
    headers = {"Authorization": f"Bearer {token(ui.stack.server, agent)}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tickets = httpx.get(f"{ui.stack.server}/api/v1/handoffs", headers=headers).json()
        found = [t for t in tickets if t["customer_id"] == customer]
        if found:
            return dict(found[0])
        time.sleep(0.3)
    raise AssertionError(f"the message of customer {customer} was not handed off")
