// The room's chat (docs/protocol.md, "Chat"): a panel beside the wall (under it on a
// phone) and the newest message over the wall for a few seconds, as HTML over the video
// (never in the video itself). It speaks over room.js's socket: room.js hands every
// notice over as a "room:notice" event and sends what comes as "room:send".
//
// Who may write to whom and who may delete comes from the welcome's permissions; the
// server checks again. On a site's message in a legal consultation room, the site
// (its own) and the host or on-duty officer (any site's) may make it a live question.
// Every text shown comes from #room-chat-config (translated on the server).
(() => {
  "use strict";

  const node = document.getElementById("room-chat-config");
  const panel = document.getElementById("chat-panel");
  if (!node || !panel) return;
  const config = JSON.parse(node.textContent);
  const csrf = node.dataset.csrf || "";
  const T = config.texts;
  const byId = (id) => document.getElementById(id);
  const el = {
    list: byId("chat-list"), form: byId("chat-form"), text: byId("chat-text"),
    to: byId("chat-to"), error: byId("chat-error"), overlay: byId("chat-overlay"),
  };
  const state = { me: null, permissions: new Set(), messages: [], unsent: "", overlayTimer: null,
    notes: new Map() }; // message id -> what "make it a question" said

  function text(key, params) {
    let result = T[key] || key;
    for (const [name, value] of Object.entries(params || {})) {
      result = result.split(`%(${name})s`).join(String(value));
    }
    return result;
  }

  const may = (action) => state.permissions.has(action);
  const send = (message) => document.dispatchEvent(new CustomEvent("room:send", { detail: message }));

  function time(iso) {
    const at = new Date(iso);
    return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = !message;
  }

  // -- what is drawn ------------------------------------------------------------------

  function mayMakeQuestion(m) {
    if (!config.questionUrl || !state.me || m.role !== "site") return false;
    return m.sender_id === state.me.participant_id || state.me.role === "host" || state.me.role === "speaker";
  }

  function item(m) {
    const li = document.createElement("li");
    li.className = "chat-message";
    li.dataset.testid = "chat-message";
    li.dataset.id = m.id;
    li.dataset.to = m.to;
    li.dataset.role = m.role;
    const mine = state.me && m.sender_id === state.me.participant_id;
    li.classList.toggle("mine", Boolean(mine));
    li.classList.toggle("hosts-only", m.to === "hosts");
    const head = document.createElement("div");
    head.className = "chat-head";
    const name = document.createElement("span");
    name.className = "chat-name";
    name.textContent = mine ? `${m.display_name} ${text("you")}` : m.display_name;
    const when = document.createElement("time");
    when.dateTime = m.sent_at;
    when.textContent = time(m.sent_at);
    head.append(name, when);
    if (m.to === "hosts") {
      const badge = document.createElement("span");
      badge.className = "badge hosts-only";
      badge.textContent = text("hosts_only");
      head.append(badge);
    }
    const body = document.createElement("p");
    body.className = "chat-text";
    body.dataset.testid = "chat-message-text";
    body.textContent = m.text;
    li.append(head, body);
    const actions = document.createElement("div");
    actions.className = "chat-actions";
    if (mayMakeQuestion(m)) actions.append(button("make_question", text("make_question"), m.id));
    if (may("delete_chat")) actions.append(button("delete_chat", text("delete"), m.id));
    if (actions.children.length) li.append(actions);
    const note = document.createElement("p");
    note.className = "chat-note";
    note.dataset.testid = "chat-note";
    note.textContent = state.notes.get(m.id) || "";
    note.hidden = !note.textContent;
    li.append(note);
    return li;
  }

  function button(action, label, id) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.dataset.action = action;
    b.dataset.testid = `chat-${action.replace("_", "-")}`;
    b.dataset.id = id;
    b.textContent = label;
    return b;
  }

  function renderList() {
    const atBottom = el.list.scrollHeight - el.list.scrollTop - el.list.clientHeight < 40;
    el.list.replaceChildren(...state.messages.map(item));
    if (!state.messages.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = text("empty");
      el.list.append(li);
    }
    if (atBottom) el.list.scrollTop = el.list.scrollHeight;
  }

  function renderForm() {
    const options = [];
    if (may("chat")) options.push(["all", text("to_all")]);
    if (may("chat_hosts")) options.push(["hosts", text("to_hosts")]);
    const chosen = el.to.value;
    el.to.replaceChildren(...options.map(([value, label]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      return option;
    }));
    if (options.some(([value]) => value === chosen)) el.to.value = chosen;
    el.to.hidden = options.length < 2;
    el.form.hidden = !options.length;
    panel.hidden = false;
  }

  // The newest message to everyone over the wall, for a few seconds.
  function showOverlay(m) {
    if (m.to !== "all") return;
    clearTimeout(state.overlayTimer);
    const name = document.createElement("span");
    name.className = "chat-overlay-name";
    name.textContent = m.display_name;
    const body = document.createElement("span");
    body.className = "chat-overlay-text";
    body.textContent = m.text;
    el.overlay.replaceChildren(name, body);
    el.overlay.dataset.id = m.id;
    el.overlay.hidden = false;
    state.overlayTimer = setTimeout(hideOverlay, config.overlayMs);
  }

  function hideOverlay() {
    clearTimeout(state.overlayTimer);
    el.overlay.hidden = true;
    el.overlay.replaceChildren();
    delete el.overlay.dataset.id;
  }

  // -- what the server says -------------------------------------------------------------

  document.addEventListener("room:notice", (event) => {
    const n = event.detail;
    switch (n.type) {
      case "welcome":
        state.me = n;
        state.permissions = new Set(n.permissions);
        renderForm();
        break;
      case "chat_history":
        state.messages = n.messages.slice();
        renderList();
        break;
      case "chat":
        state.messages.push(n);
        if (state.messages.length > 200) state.messages.shift();
        if (state.me && n.sender_id === state.me.participant_id) state.unsent = "";
        renderList();
        showOverlay(n);
        break;
      case "chat_deleted":
        state.messages = state.messages.filter((m) => m.id !== n.id);
        renderList();
        if (el.overlay.dataset.id === n.id) hideOverlay();
        break;
      case "error":
        if (n.request === "chat" || n.request === "delete_chat" || n.code.startsWith("chat-")) {
          showError(config.errors[n.code] || n.message);
          // A refused message comes back into the box, unless something new was typed.
          if (n.code !== "unknown-message" && state.unsent && !el.text.value) el.text.value = state.unsent;
        }
        break;
      default:
        break;
    }
  });

  // -- what people do -------------------------------------------------------------------

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = el.text.value.trim();
    if (!value) {
      showError(config.errors["chat-empty"]);
      return;
    }
    showError("");
    state.unsent = el.text.value;
    send({ type: "chat", text: el.text.value, to: el.to.value || "all" });
    el.text.value = "";
  });
  // Enter sends; Shift+Enter starts a new line.
  el.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      el.form.requestSubmit();
    }
  });

  el.list.addEventListener("click", (event) => {
    const b = event.target.closest("button[data-action]");
    if (!b) return;
    if (b.dataset.action === "delete_chat") {
      if (window.confirm(text("delete_confirm"))) send({ type: "delete_chat", id: b.dataset.id });
    } else if (b.dataset.action === "make_question") {
      makeQuestion(b);
    }
  });

  async function makeQuestion(b) {
    const note = b.closest("li").querySelector(".chat-note");
    b.disabled = true;
    try {
      const response = await fetch(config.questionUrl.replace("{id}", encodeURIComponent(b.dataset.id)), {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const reason = body && body.error && body.error.message ? body.error.message : String(response.status);
        throw new Error(reason);
      }
      note.textContent = text(body.created ? "question_made" : "question_exists", { id: body.question });
      state.notes.set(b.dataset.id, note.textContent);
      // The legal queue beside the wall shows it at once.
      const side = byId("side-panel");
      if (side) side.dispatchEvent(new CustomEvent("queue:refresh"));
    } catch (error) {
      note.textContent = text("question_failed", { reason: error.message });
      b.disabled = false;
    }
    note.hidden = false;
  }
})();
