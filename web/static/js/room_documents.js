// Documents and screens on the wall (docs/protocol.md, "Presentations").
//
// Everyone sees what is presented ("page 3 of 12") from room_state.presentation; those whose
// welcome permits "present" get the controls: upload a PDF or picture (POST, the server
// renders it and shows page 1), turn pages and stop over room.js's socket (the "room:send"
// event), and share a screen. A shared screen travels on a second WebSocket and
// RTCPeerConnection of its own that say `share_screen` instead of `join`: publish-only,
// one video track, nothing received, so the main connection never renegotiates.
(() => {
  "use strict";

  const holder = document.getElementById("room-documents");
  if (!holder) return;
  const config = JSON.parse(holder.textContent);
  const roomConfig = JSON.parse(document.getElementById("room-config").textContent);
  const T = config.texts;
  const byId = (id) => document.getElementById(id);
  const el = {
    bar: byId("presentation-bar"), info: byId("presentation-info"),
    controls: byId("presentation-controls"), file: byId("document-file"),
    upload: byId("document-upload"), prev: byId("document-prev"), next: byId("document-next"),
    recent: byId("document-recent"), again: byId("document-again"),
    page: byId("document-page"), go: byId("document-go"), stop: byId("presentation-stop"),
    screen: byId("screen-share"),
  };
  const state = { me: null, presenter: false, presentation: null, share: null };

  function text(key, params) {
    let result = T[key] || key;
    for (const [name, value] of Object.entries(params || {})) {
      result = result.split(`%(${name})s`).join(String(value));
    }
    return result;
  }

  const send = (message) => document.dispatchEvent(new CustomEvent("room:send", { detail: message }));

  function say(message) {
    el.info.dataset.message = message;
    render();
  }

  function render() {
    const p = state.presentation;
    el.bar.hidden = !p && !state.presenter;
    el.bar.dataset.kind = p ? p.kind : "";
    el.bar.dataset.page = p && p.page ? String(p.page) : "";
    let line = "";
    if (p && p.kind === "document") {
      line = text("document_line", { title: p.title || text("untitled"), page: p.page, pages: p.pages, name: p.presenter_name });
    } else if (p && p.kind === "screen") {
      line = text("screen_line", { name: p.presenter_name });
    }
    el.info.textContent = [line, el.info.dataset.message || ""].filter(Boolean).join(" · ");
    el.controls.hidden = !state.presenter;
    const doc = p && p.kind === "document";
    for (const button of [el.prev, el.next, el.page, el.go]) button.disabled = !doc;
    if (doc) {
      el.prev.disabled = p.page <= 1;
      el.next.disabled = p.page >= p.pages;
      el.page.max = String(p.pages);
      if (document.activeElement !== el.page) el.page.value = String(p.page);
    }
    el.stop.disabled = !p;
    el.screen.textContent = text(state.share ? "screen_stop" : "screen_share");
    el.screen.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  }

  document.addEventListener("room:notice", (event) => {
    const n = event.detail;
    if (n.type === "welcome") {
      state.me = n;
      state.presenter = n.permissions.includes("present");
      render();
      if (state.presenter) loadRecent();
    } else if (n.type === "layout") {
      // Where the presentation sits on the wall (fractions), for whoever needs it.
      el.bar.dataset.area = n.presentation ? JSON.stringify(n.presentation) : "";
    } else if (n.type === "room_state") {
      state.presentation = n.presentation || null;
      render();
    }
  });

  // -- documents ------------------------------------------------------------------------

  // What this room showed before (GET on the upload URL), to show again without uploading.
  async function loadRecent() {
    let list = [];
    try {
      const response = await fetch(config.uploadUrl, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (response.ok) list = (await response.json()).documents || [];
    } catch (_) {
      list = [];
    }
    el.recent.replaceChildren(...list.map((d) => {
      const option = document.createElement("option");
      option.value = d.document;
      option.textContent = text("recent_option", { title: d.title || text("untitled"), pages: d.pages });
      return option;
    }));
    el.recent.hidden = el.again.hidden = list.length === 0;
  }

  // POST to the upload URL (a file) or to a document's own URL (again); the server shows it.
  async function show(url, body, button) {
    button.disabled = true;
    say(text("uploading"));
    try {
      const response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": config.csrf, Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        say("");
        loadRecent();
        return true;
      }
      const error = answer.error || {};
      say((error.fields && error.fields.document) || error.message || text("failed"));
    } catch (_) {
      say(text("failed"));
    } finally {
      button.disabled = false;
    }
    return false;
  }

  el.upload.addEventListener("click", async () => {
    const file = el.file.files && el.file.files[0];
    if (!file) {
      say(text("choose_file"));
      return;
    }
    if (file.size > config.maxBytes) {
      say(text("too_large"));
      return;
    }
    const body = new FormData();
    body.append("document", file, file.name);
    if (await show(config.uploadUrl, body, el.upload)) el.file.value = "";
  });

  el.again.addEventListener("click", () => {
    if (el.recent.value) show(`${config.uploadUrl}/${el.recent.value}`, null, el.again);
  });

  const turn = (page) => send({ type: "document_page", page });
  el.prev.addEventListener("click", () => state.presentation && turn(state.presentation.page - 1));
  el.next.addEventListener("click", () => state.presentation && turn(state.presentation.page + 1));
  el.go.addEventListener("click", () => {
    const page = Number.parseInt(el.page.value, 10);
    if (Number.isInteger(page)) turn(page);
  });
  el.page.addEventListener("keydown", (event) => {
    if (event.key === "Enter") el.go.click();
  });
  el.stop.addEventListener("click", () => send({ type: "stop_presentation" }));

  // -- the screen -----------------------------------------------------------------------

  function stopShare() {
    const share = state.share;
    state.share = null;
    if (!share) return;
    for (const track of share.stream.getTracks()) track.stop();
    if (share.pc) share.pc.close();
    if (share.ws.readyState === WebSocket.OPEN) {
      share.ws.send(JSON.stringify({ type: "leave" }));
      share.ws.close(1000, "leave");
    }
    render();
  }

  async function startShare() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
    } catch (_) {
      say(text("screen_refused"));
      return;
    }
    const track = stream.getVideoTracks()[0];
    const url = new URL(roomConfig.socket, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    const share = { stream, ws, pc: null };
    state.share = share;
    render();
    track.addEventListener("ended", () => { if (state.share === share) stopShare(); });
    ws.addEventListener("open", async () => {
      ws.send(JSON.stringify({ type: "share_screen" }));
      const pc = new RTCPeerConnection({ iceServers: roomConfig.iceServers });
      share.pc = pc;
      pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      pc.addEventListener("icecandidate", (event) => {
        const c = event.candidate;
        if (c && c.candidate && ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: "ice", candidate: c.candidate, sdp_mid: c.sdpMid, sdp_mline_index: c.sdpMLineIndex }));
        }
      });
      await pc.setLocalDescription(await pc.createOffer());
      ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }));
    });
    ws.addEventListener("message", async (event) => {
      let n;
      try {
        n = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (n.type === "answer" && share.pc) await share.pc.setRemoteDescription({ type: "answer", sdp: n.sdp });
      else if (n.type === "error") say(roomConfig.errors[n.code] || n.message);
    });
    ws.addEventListener("close", () => { if (state.share === share) stopShare(); });
  }

  el.screen.addEventListener("click", () => (state.share ? stopShare() : startShare()));
  window.addEventListener("pagehide", stopShare);
  render();
})();
