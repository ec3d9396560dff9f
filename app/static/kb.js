// Webcare UI for editors: entry form (live length counters, check, save, publish, archive, rollback),
// the try-it console and the unanswered-question inbox. Everything goes through the JSON API.
"use strict";

const escapeHtml = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({
  "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
}[c]));

function lengthOn(channel, text) {
  // Instagram counts UTF-8 bytes; the others count UTF-16 code units (X also weighs some characters
  // double, which the server's check accounts for exactly).
  return channel === "instagram" ? new TextEncoder().encode(text).length : text.length;
}

function setupEntryForm() {
  const form = document.getElementById("entry-form");
  if (!form) return;
  const faqId = form.dataset.faqId;
  const result = document.getElementById("check-result");
  const answer = form.elements.answer;

  function updateCounters() {
    document.querySelectorAll("#answer-counters .counter").forEach((counter) => {
      const channel = counter.dataset.channel;
      const variant = form.elements[`variant-${channel}`].value;
      const used = lengthOn(channel, variant || answer.value);
      counter.querySelector("b").textContent = used;
      counter.classList.toggle("over", used > Number(counter.dataset.limit));
      counter.title = variant ? "the channel's own variant" : "the main answer";
    });
    form.querySelectorAll(".variants textarea").forEach((box) => {
      const counter = form.querySelector(`.variant-counter[data-channel="${box.dataset.channel}"]`);
      const used = lengthOn(box.dataset.channel, box.value);
      counter.querySelector("b").textContent = used;
      counter.classList.toggle("over", used > Number(box.dataset.limit));
    });
  }

  function fields() {
    const variants = {};
    form.querySelectorAll(".variants textarea").forEach((box) => {
      if (box.value.trim()) variants[box.dataset.channel] = box.value.trim();
    });
    return {
      question: form.elements.question.value.trim(),
      answer: answer.value.trim(),
      examples: form.elements.examples.value.split("\n").map((s) => s.trim()).filter(Boolean),
      tags: form.elements.tags.value.split(",").map((s) => s.trim()).filter(Boolean),
      variants,
    };
  }

  function showCheck(check) {
    const parts = [];
    if (check.problems.length) {
      parts.push(`<h2>Cannot be saved</h2><ul class="error">${check.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`);
    } else {
      parts.push("<h2>Check</h2><p>No problems: it can be saved.</p>");
    }
    if (check.close_entries && check.close_entries.length) {
      parts.push(`<h3>Too close to other entries (the bot could confuse them)</h3><ul class="warning">${check.close_entries.map((c) =>
        `<li>“${escapeHtml(c.phrasing)}” is ${Math.round(c.score * 100)}% like <a href="/ui/kb/${escapeHtml(c.faq_id)}">${escapeHtml(c.question)}</a></li>`).join("")}</ul>`);
    }
    if (check.changed_messages && check.messages_checked) {  // nothing was tried when it cannot be saved
      const changed = check.changed_messages;
      parts.push(`<h3>Recent customer messages answered differently</h3><p class="muted">${changed.length} of ${check.messages_checked} recent messages.</p>`);
      if (changed.length) {
        parts.push(`<ul class="changed">${changed.map((m) =>
          `<li>“${escapeHtml(m.text)}” (${escapeHtml(m.channel)}): ${escapeHtml(m.before.action)} ${escapeHtml(m.before.faq_id || "")} → <strong>${escapeHtml(m.after.action)} ${escapeHtml(m.after.faq_id || "")}</strong></li>`).join("")}</ul>`);
      }
    }
    result.innerHTML = parts.join("");
    result.hidden = false;
  }

  async function check() {
    const id = faqId || form.elements.id.value.trim() || "new-entry";
    showCheck(await api("POST", "/api/v1/faq/check", { id, ...fields() }));
  }

  async function save(publish) {
    const note = form.elements.note.value.trim();
    if (!faqId) {
      const id = form.elements.id.value.trim();
      const created = await api("POST", "/api/v1/faq", { id, ...fields(), note, publish });
      window.location = `/ui/kb/${encodeURIComponent(created.id)}?saved=${publish ? "published" : "draft"}`;
      return;
    }
    const saved = await api("PATCH", `/api/v1/faq/${encodeURIComponent(faqId)}`, {
      ...fields(), note, base_revision: Number(form.dataset.revision),
    });
    if (publish) {
      await api("POST", `/api/v1/faq/${encodeURIComponent(faqId)}/publish`, { base_revision: saved.latest_revision });
    }
    window.location = `/ui/kb/${encodeURIComponent(faqId)}?saved=${publish ? "published" : "draft"}`;
  }

  const actions = {
    check,
    save: () => save(false),
    publish: () => save(true),
    archive: async () => {
      await api("POST", `/api/v1/faq/${encodeURIComponent(faqId)}/archive`);
      window.location = `/ui/kb/${encodeURIComponent(faqId)}?saved=archived`;
    },
  };
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-do]");
    if (!button) return;
    actions[button.dataset.do]().catch((error) => flash(error.message, "error"));
  });
  document.querySelectorAll("button[data-rollback]").forEach((button) => button.addEventListener("click", async () => {
    try {
      await api("POST", `/api/v1/faq/${encodeURIComponent(faqId)}/rollback`, { revision: Number(button.dataset.rollback) });
      window.location = `/ui/kb/${encodeURIComponent(faqId)}?saved=rolled-back`;
    } catch (error) { flash(error.message, "error"); }
  }));
  form.addEventListener("input", updateCounters);
  updateCounters();
  const saved = new URLSearchParams(location.search).get("saved");
  const said = { draft: "Saved as a draft.", published: "Published: live on every channel within seconds.", archived: "Archived: the bot no longer uses it.", "rolled-back": "Rolled back: that revision is live again." };
  if (saved && said[saved]) flash(said[saved]);
}

function setupTry() {
  const form = document.getElementById("try-form");
  if (!form) return;
  const out = document.getElementById("try-result");
  async function run(event) {
    if (event) event.preventDefault();
    const text = form.elements.text.value.trim();
    if (!text) return;
    history.replaceState(null, "", `/ui/kb/try?q=${encodeURIComponent(text)}`);
    try {
      const r = await api("POST", "/api/v1/faq/try", { text });
      const rows = r.channels.map((c) => `<tr data-channel="${escapeHtml(c.channel)}">
        <td>${escapeHtml(c.channel)}</td><td><strong class="action">${escapeHtml(c.action)}</strong></td>
        <td>${c.faq_id ? `<a href="/ui/kb/${escapeHtml(c.faq_id)}">${escapeHtml(c.faq_id)}</a>` : ""}</td>
        <td>${Math.round(c.confidence * 100)}%</td>
        <td>${c.reasons.map((x) => `<span class="tag">${escapeHtml(x)}</span>`).join("")}</td>
        <td class="reply">${c.pieces.length ? c.pieces.map((p) => `<div class="piece">${escapeHtml(p)}</div>`).join("") : escapeHtml(c.reply || "")}
          ${c.reply ? `<div class="muted">${c.length} / ${c.limit}${c.pieces.length > 1 ? ` · ${c.pieces.length} pieces` : ""}</div>` : ""}</td></tr>`).join("");
      const candidates = r.candidates.map((c) => `<li><a href="/ui/kb/${escapeHtml(c.faq_id)}">${escapeHtml(c.question)}</a>
        <span class="muted">similarity ${Math.round(c.score * 100)}% · confidence ${Math.round(c.confidence * 100)}%</span></li>`).join("");
      const intents = r.intents.map((i) => `<span class="tag">${escapeHtml(i.name)} ${Math.round(i.confidence * 100)}%</span>`).join(" ");
      out.innerHTML = `<table class="tickets" aria-label="Per channel"><thead><tr><th>Channel</th><th>Decision</th><th>Entry</th><th>Confidence</th><th>Reasons</th><th>Reply</th></tr></thead><tbody>${rows}</tbody></table>
        <h2>Entries it weighed</h2><ol class="candidates">${candidates}</ol><h2>Intents</h2><p>${intents}</p>`;
      out.hidden = false;
    } catch (error) { flash(error.message, "error"); }
  }
  form.addEventListener("submit", run);
  if (form.elements.text.value.trim()) run();
}

function setupInsights() {
  document.querySelectorAll(".cluster").forEach((card) => {
    const ids = card.dataset.messageIds.split(",").map(Number);
    card.querySelector("[data-do=draft]").addEventListener("click", async () => {
      const entryId = card.querySelector("input[name=entry_id]").value.trim();
      const question = card.querySelector("input[name=question]").value.trim();
      const answer = card.querySelector("textarea[name=answer]").value.trim();
      const body = { message_ids: ids, entry_id: entryId };
      if (question) body.question = question;
      if (answer) body.answer = answer;  // else the agents' first reply, if there is one
      try {
        const made = await api("POST", "/api/v1/insights/clusters/draft", body);
        window.location = `/ui/kb/${encodeURIComponent(made.id)}?saved=draft`;
      } catch (error) { flash(error.message, "error"); }
    });
    card.querySelector("[data-do=phrasings]").addEventListener("click", async () => {
      const faqId = card.querySelector("input[name=faq_id]").value.trim();
      try {
        const entry = await api("POST", "/api/v1/insights/clusters/add-phrasings", { message_ids: ids, faq_id: faqId });
        window.location = `/ui/kb/${encodeURIComponent(entry.id)}?saved=draft`;
      } catch (error) { flash(error.message, "error"); }
    });
  });
}

function setupImport() {
  const form = document.getElementById("import-form");
  if (!form) return;
  const out = document.getElementById("import-preview");

  async function send(apply) {
    const body = new FormData();
    body.append("file", form.elements.file.files[0]);
    body.append("publish", form.elements.publish.checked ? "true" : "false");
    body.append("apply", apply ? "true" : "false");
    const response = await fetch("/api/v1/faq/import", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }, body,
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || `${response.status}`);
    return data;
  }

  function show(p) {
    const list = (items, render) => items.length ? `<ul>${items.map(render).join("")}</ul>` : "<p class=\"muted\">none</p>";
    out.innerHTML = `<h3>${p.applied ? "Imported" : "This file would"}: ${p.created.length} new, ${p.updated.length} changed, ${p.unchanged.length} unchanged</h3>
      <h4>New</h4>${list(p.created, (c) => `<li class="created"><code>${escapeHtml(c.id)}</code> ${escapeHtml(c.question)}</li>`)}
      <h4>Changed</h4>${list(p.updated, (c) => `<li class="updated"><a href="/ui/kb/${escapeHtml(c.id)}">${escapeHtml(c.id)}</a>${c.changes.map((f) => `<pre class="diff">${escapeHtml(f.diff)}</pre>`).join("")}</li>`)}
      ${p.applied ? "" : '<button type="button" class="primary" id="import-apply">Apply these changes</button>'}`;
    out.hidden = false;
    const applyButton = document.getElementById("import-apply");
    if (applyButton) applyButton.addEventListener("click", () => send(true).then((done) => {
      show(done);
      flash(done.published ? "Imported and published: live within seconds." : "Imported as drafts.");
    }).catch((error) => flash(error.message, "error")));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(false).then(show).catch((error) => flash(error.message, "error"));
  });
}

document.addEventListener("DOMContentLoaded", () => { setupEntryForm(); setupTry(); setupInsights(); setupImport(); });
