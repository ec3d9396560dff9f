// Webcare UI: live queue and conversation view. Pages are rendered by the server; this script only
// refreshes the parts that change and sends the agent's actions to the JSON API (with the CSRF token).
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

function flash(message, kind) {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = kind || "info";
  box.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// The session ended (it expired, or someone signed out in another tab): the page stays as it is, so a
// half-written reply or edit is not lost; once the user has signed in again in another tab, the page
// carries on with the new session's CSRF token.
let sessionLost = null;
function sessionEnded() {
  if (sessionLost) return sessionLost;
  const banner = document.getElementById("session-ended");
  if (banner) banner.hidden = false;
  sessionLost = new Promise((resolve) => {
    const timer = setInterval(async () => {
      const response = await fetch(location.pathname + location.search, { credentials: "same-origin" });
      if (!response.ok || response.redirected) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const token = fresh.querySelector('meta[name="csrf-token"]');
      if (token) document.querySelector('meta[name="csrf-token"]').content = token.content;
      clearInterval(timer);
      if (banner) banner.hidden = true;
      sessionLost = null;
      resolve();
    }, 3000);
  });
  return sessionLost;
}

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    sessionEnded();
    throw new Error("Your session has ended: sign in again (see the top of the page), then try again. What you typed is kept.");
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    throw new Error((data && data.detail) || `${response.status} ${response.statusText}`);
  }
  return data;
}

async function fetchHtml(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.status === 401 || response.redirected) { sessionEnded(); return null; }
  if (!response.ok) { return null; }
  return response.text();
}

// --- the queue ---------------------------------------------------------------------------------
function beep() {
  // A short tone; browsers only allow sound after the agent has interacted with the page.
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const tone = audio.createOscillator();
    tone.frequency.value = 880;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.15);
  } catch (e) { /* no sound available: the badge still shows */ }
}

function setupQueue() {
  const rows = document.getElementById("queue-rows");
  if (!rows) return;
  const filters = document.getElementById("queue-filters");
  const badge = document.getElementById("new-badge");
  const baseTitle = document.title;
  let seen = new Set([...rows.querySelectorAll("tr[data-ticket-id]")].map((r) => r.dataset.ticketId));
  let unseen = 0;

  const query = () => new URLSearchParams(
    [...new FormData(filters)].filter(([, value]) => value !== "")
  ).toString();

  function showUnseen() {
    badge.textContent = String(unseen);
    badge.hidden = unseen === 0;
    document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
  }

  async function refresh() {
    const html = await fetchHtml(`${rows.dataset.rowsUrl}?${query()}`);
    if (html === null) return;
    rows.innerHTML = html;
    const fresh = [];
    rows.querySelectorAll("tr[data-ticket-id]").forEach((row) => {
      if (!seen.has(row.dataset.ticketId)) {
        row.classList.add("new");
        if (row.dataset.status === "waiting") fresh.push(row.dataset.ticketId);
      }
    });
    if (fresh.length) {
      unseen += fresh.length;
      showUnseen();
      beep();
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification("Webcare: new ticket", { body: `${fresh.length} new in the queue` });
      }
    }
    seen = new Set([...seen, ...[...rows.querySelectorAll("tr[data-ticket-id]")].map((r) => r.dataset.ticketId)]);
    document.getElementById("last-refresh").textContent = new Date().toLocaleTimeString();
  }

  filters.addEventListener("change", () => {
    history.replaceState(null, "", `/ui?${query()}`);
    seen = new Set();  // a new filter is a new list, not new tickets
    refresh().then(() => { unseen = 0; showUnseen(); rows.querySelectorAll(".new").forEach((r) => r.classList.remove("new")); });
  });
  const acknowledge = () => { unseen = 0; showUnseen(); };
  window.addEventListener("focus", acknowledge);
  document.addEventListener("click", () => {
    acknowledge();
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
  });
  setInterval(refresh, 2000);
}

// --- one conversation ----------------------------------------------------------------------------
function measure(text, unit) {
  return unit.startsWith("bytes") ? new TextEncoder().encode(text).length : text.length;
}

function setupConversation() {
  const page = document.querySelector(".conversation[data-conversation-id]");
  if (!page) return;
  const id = page.dataset.conversationId;
  const live = document.getElementById("live");
  const form = document.getElementById("reply-form");
  const text = document.getElementById("reply-text");
  const counter = document.getElementById("reply-count");
  const send = document.getElementById("send");
  const limit = Number(form.dataset.limit);
  const unit = form.dataset.unit;

  function count() {
    const used = measure(text.value, unit);
    counter.textContent = `${used} / ${limit} ${unit}`;
    counter.classList.toggle("over", used > limit);
    send.disabled = used === 0 || used > limit;
  }

  async function refresh() {
    // Not while the agent is typing in it or has a box open ("Should the bot have answered this?").
    if (live.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
    if (live.querySelector("details[open]")) return;
    const html = await fetchHtml(page.dataset.liveUrl);
    if (html !== null) live.innerHTML = html;
  }

  async function act(action, ticketId) {
    const body = action === "reassign" ? { agent: document.getElementById("reassign-to").value.trim() } : undefined;
    await api("POST", `/api/v1/handoffs/${ticketId}/${action}`, body);
    flash({ claim: "Claimed: the ticket is yours.", resolve: "Resolved.", "hand-back": "Handed back to the bot.", reassign: "Reassigned." }[action]);
    await refresh();
  }

  live.addEventListener("click", (event) => {
    const retry = event.target.closest("button[data-retry]");
    if (retry) {
      api("POST", `/api/v1/messages/${retry.dataset.retry}/retry`)
        .then(() => { flash("Sending it again: it goes out on the customer's channel."); refresh(); })
        .catch((error) => flash(error.message, "error"));
      return;
    }
    const flag = event.target.closest("button[data-flag]");
    if (flag) {
      const faqId = flag.previousElementSibling.value.trim();
      api("POST", `/api/v1/messages/${flag.dataset.flag}/flag`, { faq_id: faqId })
        .then(() => { flash(`Flagged: the editors will see it under ${faqId}.`); flag.closest("details").open = false; })
        .catch((error) => flash(error.message, "error"));
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    // Resolving while the customer waits for a reply drops them: the ticket leaves the queue.
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const panel = button.closest("[data-ticket-id]");
    act(button.dataset.action, panel.dataset.ticketId).catch((error) => flash(error.message, "error"));
  });

  document.querySelectorAll("button.insert").forEach((button) => button.addEventListener("click", () => {
    text.value = text.value.trim() ? `${text.value.trim()}\n\n${button.dataset.answer}` : button.dataset.answer;
    text.focus();
    count();
  }));

  text.addEventListener("input", count);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      await api("POST", `/api/v1/conversations/${id}/messages`, { text: text.value });
      text.value = "";
      flash("Sent: it goes out on the customer's channel.");
      await refresh();
    } catch (error) {
      flash(error.message, "error");
    }
    count();
  });

  document.getElementById("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const note = document.getElementById("note-text");
    try {
      await api("POST", `/api/v1/conversations/${id}/notes`, { text: note.value });
      note.value = "";
      await refresh();
    } catch (error) {
      flash(error.message, "error");
    }
  });

  count();
  setInterval(refresh, 3000);
}

document.addEventListener("DOMContentLoaded", () => { setupQueue(); setupConversation(); });
