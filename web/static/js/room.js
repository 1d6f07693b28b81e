// The room page: one WebSocket speaking docs/protocol.md, one RTCPeerConnection, and
// the wall video with HTML overlays drawn from the server's `layout` notices.
// Every text shown comes from the page's #room-config (translated on the server).
//
// On a poor link the page keeps itself in the room: a socket that closes, a media
// connection that fails (or stays disconnected for MEDIA_GRACE_MS) or never comes up
// brings a new socket and a new peer connection, retried with capped, jittered backoff
// until the server answers again (a restart included). The server holds the place for
// the same key, so the tile and the raised hand are kept. A socket given up on is closed
// with 4000 ("reconnecting"), which keeps the place; a page that goes away says `leave`
// and closes with 1000 (the browser's own 1001 leaves too), so its tile goes at once.
//
// Only the controls the role may use are shown (the welcome's permissions), with a status
// line saying what the role does here, and "It is your turn to speak" while the wall
// spotlights this participant.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("room-config").textContent);
  const more = JSON.parse(document.getElementById("room-network").textContent);
  Object.assign(config.texts, more.texts);
  Object.assign(config.errors, more.errors);
  const T = config.texts;
  // Capped low: after a link comes back the page is in again within seconds.
  const RETRY_DELAYS = [500, 1000, 2000, 3000, 5000];
  const CONNECT_TIMEOUT_MS = 6000; // a socket that does not open by then is given up
  const MEDIA_GRACE_MS = 4000; // "disconnected" this long: start over
  const MEDIA_SETUP_MS = 20000; // media not up this long after the offer: start over
  const JOIN_RETRY_MS = 15000; // a full room or server: ask again this often
  const CLOSE_RECONNECTING = 4000; // docs/protocol.md: closing with 1000/1001 would leave
  const CLOSE_CLUSTER_UNAVAILABLE = 4503;
  const JOIN_RETRY_CODES = new Set(["server-busy", "room-busy", "room-full", "too-many-rooms",
    "room-locked", "shutting-down", "room-closed", "room-unavailable"]);
  const AUDIO_ONLY_KEY = "yizhan.audioOnly";
  const byId = (id) => document.getElementById(id);
  const el = {
    room: byId("room"), stage: byId("stage"), wall: byId("wall"), mix: byId("mix"),
    overlay: byId("overlay"), status: byId("status"), notices: byId("notices"),
    flags: byId("room-flags"), mic: byId("mic"), camera: byId("camera"), hand: byId("hand"),
    sound: byId("sound"), fullscreen: byId("fullscreen"), hostPanel: byId("host-panel"),
    audioOnly: byId("audio-only"), audioOnlyNote: byId("audio-only-note"),
    hands: byId("hands"), participants: byId("participants"), waitingSection: byId("waiting-section"),
    waitingList: byId("waiting-list"), clearSpotlight: byId("clear-spotlight"), lock: byId("lock"),
    waitingRoom: byId("waiting-room"), recording: byId("recording"),
    roleNote: byId("role-note"), floor: byId("floor"), emptyWall: byId("empty-wall"),
  };

  const state = {
    ws: null, pc: null, local: null, localTried: false, me: null, permissions: new Set(),
    layout: null, participants: [], hands: [], roomState: null, waiting: [],
    stopped: false, retries: 0, offerSent: false, pendingIce: [],
    retryTimer: null, joinTimer: null, mediaTimer: null, audioSynced: false, mediaStarts: 0,
    wantAudioOnly: readAudioOnly(),
  };

  function readAudioOnly() {
    try {
      return window.localStorage.getItem(AUDIO_ONLY_KEY) === "1";
    } catch (_) {
      return false;
    }
  }

  function keepAudioOnly(on) {
    state.wantAudioOnly = on;
    try {
      window.localStorage.setItem(AUDIO_ONLY_KEY, on ? "1" : "0");
    } catch (_) {
      // private mode: remembered for this page only
    }
  }

  function text(key, params) {
    let result = T[key] || key;
    for (const [name, value] of Object.entries(params || {})) {
      result = result.split(`%(${name})s`).join(String(value));
    }
    return result;
  }

  function errorText(code) {
    return config.errors[code] || text("error", { code });
  }

  function notify(message, kind) {
    const box = document.createElement("div");
    box.className = `room-notice ${kind || "error"}`;
    box.dataset.testid = "notice";
    const span = document.createElement("span");
    span.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = text("dismiss");
    close.addEventListener("click", () => box.remove());
    box.append(span, close);
    el.notices.append(box);
    while (el.notices.children.length > 4) el.notices.firstElementChild.remove();
    setTimeout(() => box.remove(), kind === "info" ? 8000 : 15000);
  }

  function setStatus(key, stage) {
    showStatus(key ? text(key) : "", stage);
  }

  function showStatus(message, stage) {
    el.status.textContent = message;
    el.status.hidden = !message;
    if (stage) el.room.dataset.state = stage;
  }

  const may = (action) => state.permissions.has(action);
  const myself = () => state.participants.find((p) => state.me && p.participant_id === state.me.participant_id);

  // -- the socket ---------------------------------------------------------------------

  function connect() {
    clearTimeout(state.retryTimer);
    if (state.ws || state.stopped) return;
    const url = new URL(config.socket, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    state.ws = ws;
    state.audioSynced = false;
    if (el.room.dataset.state !== "reconnecting") setStatus("connecting", "connecting");
    const opening = setTimeout(() => {
      if (state.ws === ws && ws.readyState === WebSocket.CONNECTING) reconnectNow();
    }, CONNECT_TIMEOUT_MS);
    ws.addEventListener("open", () => {
      clearTimeout(opening);
      send({ type: "join" });
    });
    ws.addEventListener("message", (event) => {
      if (state.ws !== ws) return; // a socket given up on: its "removed: replaced" is not ours
      let notice;
      try {
        notice = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      handle(notice).catch((error) => console.error(error));
    });
    ws.addEventListener("close", (event) => {
      clearTimeout(opening);
      if (state.ws !== ws) return;
      state.ws = null;
      socketGone(event.code);
    });
  }

  // Give up the socket now (a dead network may take minutes to close it) and start over.
  function reconnectNow() {
    const ws = state.ws;
    if (!ws) return;
    state.ws = null;
    try {
      ws.close(CLOSE_RECONNECTING, "reconnecting");
    } catch (_) {
      // closing a socket that never opened
    }
    socketGone();
  }

  function socketGone(code) {
    closeMedia();
    clearTimeout(state.joinTimer);
    if (state.stopped) return;
    // 4503: the cluster cannot find or place the room now (docs/protocol.md); say so.
    setStatus(code === CLOSE_CLUSTER_UNAVAILABLE ? "cluster_unavailable" : "reconnecting",
      "reconnecting");
    const base = RETRY_DELAYS[Math.min(state.retries, RETRY_DELAYS.length - 1)];
    state.retries += 1;
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, base * (0.8 + 0.4 * Math.random()));
  }

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  async function handle(n) {
    // Other scripts of the page (room_chat.js, room_documents.js) follow the notices here.
    document.dispatchEvent(new CustomEvent("room:notice", { detail: n }));
    switch (n.type) {
      case "welcome":
        state.me = n;
        state.retries = 0;
        delete el.room.dataset.refused;
        state.permissions = new Set(n.permissions);
        el.room.dataset.role = n.role;
        el.room.dataset.participantId = n.participant_id;
        setStatus("media_connecting", "joined");
        renderRole();
        renderControls();
        renderPanel();
        renderFloor();
        await startMedia();
        break;
      case "waiting":
        setStatus("waiting", "waiting");
        break;
      case "admitted":
        setStatus("connecting", "connecting");
        break;
      case "answer":
        if (state.pc) await state.pc.setRemoteDescription({ type: "answer", sdp: n.sdp });
        break;
      case "layout":
        if (!state.layout || state.layout.spotlight !== n.spotlight) {
          // A new spotlight may be the queue's "now answering": refresh the queue panel.
          const side = byId("side-panel");
          if (side) side.dispatchEvent(new CustomEvent("queue:refresh"));
        }
        state.layout = n;
        renderOverlay();
        renderFloor();
        break;
      case "participants":
        state.participants = n.participants;
        syncAudioOnly();
        applyOwnState();
        renderControls();
        renderPanel();
        break;
      case "hands":
        state.hands = n.queue;
        renderPanel();
        // The legal queue panel (room_panel.js) marks the questions of sites with a hand up.
        document.dispatchEvent(new CustomEvent("room:hands", { detail: n.queue }));
        break;
      case "room_state":
        state.roomState = n;
        renderFlags();
        renderPanel();
        break;
      case "waiting_list":
        state.waiting = n.waiting;
        renderPanel();
        break;
      case "speaking": {
        const tile = el.overlay.querySelector(`[data-participant-id="${CSS.escape(n.participant_id)}"]`);
        if (tile) {
          tile.classList.toggle("speaking", n.speaking);
          tile.dataset.speaking = String(n.speaking);
        }
        break;
      }
      case "error":
        if (n.request === "chat" || n.request === "delete_chat" || n.code.startsWith("chat-")) break; // the chat panel says it
        notify(errorText(n.code), "error");
        if (n.code === "media-failed") await startMedia();
        if (n.request === "join" && JOIN_RETRY_CODES.has(n.code)) {
          // Not let in (yet): say why where the video would be, and ask again later.
          showStatus(`${errorText(n.code)} ${text("refused_retry")}`, "refused");
          el.room.dataset.refused = n.code;
          clearTimeout(state.joinTimer);
          state.joinTimer = setTimeout(() => send({ type: "join" }), JOIN_RETRY_MS);
        }
        break;
      case "removed":
        tellRemoved(n.reason);
        state.stopped = n.reason !== "room-closed";
        state.layout = null;
        renderFloor();
        closeMedia();
        if (n.reason === "replaced") setStatus("replaced", "ended");
        else if (n.reason === "removed") setStatus("removed", "ended");
        else setStatus("room_closed", "reconnecting");
        break;
      default:
        break;
    }
  }

  // -- media --------------------------------------------------------------------------

  async function localMedia() {
    if (state.localTried) return state.local;
    state.localTried = true;
    const video = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 25 } };
    const wishes = [{ audio: true, video }, { audio: true }, { video }];
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      for (const constraints of wishes) {
        try {
          state.local = await navigator.mediaDevices.getUserMedia(constraints);
          return state.local;
        } catch (_) {
          // try with less
        }
      }
    }
    notify(text("no_devices"), "info");
    return null;
  }

  function closeMedia() {
    const pc = state.pc;
    state.pc = null;
    clearTimeout(state.mediaTimer);
    state.offerSent = false;
    state.pendingIce = [];
    if (pc) pc.close();
  }

  function sendIce(candidate) {
    if (!candidate || !candidate.candidate) return; // the server needs no end-of-candidates
    const message = {
      type: "ice", candidate: candidate.candidate,
      sdp_mid: candidate.sdpMid, sdp_mline_index: candidate.sdpMLineIndex,
    };
    if (state.offerSent) send(message);
    else state.pendingIce.push(message);
  }

  // The TURN credentials in the page expire (YIZHAN_TURN_TTL): later connections ask anew.
  async function iceServers() {
    state.mediaStarts += 1;
    if (state.mediaStarts === 1) return config.iceServers;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      const response = await fetch(more.iceServersUrl, { cache: "no-store", signal: abort.signal });
      if (response.ok) config.iceServers = (await response.json()).iceServers;
    } catch (_) {
      // keep the ones we have
    } finally {
      clearTimeout(timer);
    }
    return config.iceServers;
  }

  async function startMedia() {
    closeMedia();
    const stream = may("publish") ? await localMedia() : null;
    const servers = await iceServers();
    if (!state.ws || state.pc) return;
    const pc = new RTCPeerConnection({ iceServers: servers });
    state.pc = pc;
    const video = stream && stream.getVideoTracks()[0];
    const audio = stream && stream.getAudioTracks()[0];
    const streams = stream ? [stream] : [];
    pc.addTransceiver(video || "video", { direction: video ? "sendrecv" : "recvonly", streams });
    pc.addTransceiver(audio || "audio", { direction: audio ? "sendrecv" : "recvonly", streams });
    pc.addEventListener("track", (event) => {
      const target = event.track.kind === "video" ? el.wall : el.mix;
      target.srcObject = new MediaStream([event.track]);
      if (event.track.kind === "audio") playSound();
      else el.wall.play().catch(() => {});
    });
    pc.addEventListener("icecandidate", (event) => {
      if (state.pc === pc) sendIce(event.candidate);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (state.pc !== pc) return;
      el.room.dataset.media = pc.connectionState;
      clearTimeout(state.mediaTimer);
      if (pc.connectionState === "connected") {
        setStatus("", "live");
      } else if (pc.connectionState === "failed") {
        reconnectNow();
      } else if (pc.connectionState === "disconnected") {
        state.mediaTimer = setTimeout(() => {
          if (state.pc === pc && pc.connectionState !== "connected") reconnectNow();
        }, MEDIA_GRACE_MS);
      }
    });
    applyOwnState();
    await pc.setLocalDescription(await pc.createOffer());
    if (state.pc !== pc) return;
    send({ type: "offer", sdp: pc.localDescription.sdp });
    state.offerSent = true;
    state.mediaTimer = setTimeout(() => {
      if (state.pc === pc && pc.connectionState !== "connected") reconnectNow();
    }, MEDIA_SETUP_MS);
    for (const message of state.pendingIce.splice(0)) send(message);
  }

  function playSound() {
    el.mix.play().then(() => { el.sound.hidden = true; }, () => { el.sound.hidden = false; });
  }

  // Audio only is the user's wish for this PC (kept across reconnects and reloads);
  // the server's participants notice says what it does now.
  function syncAudioOnly() {
    const me = myself();
    if (!me || state.audioSynced) return;
    state.audioSynced = true;
    if (Boolean(me.audio_only) !== state.wantAudioOnly) {
      send({ type: "audio_only", enabled: state.wantAudioOnly });
    }
  }

  // Keep what the camera and microphone send in step with what the room says.
  function applyOwnState() {
    const me = myself();
    if (!me || !state.local) return;
    for (const track of state.local.getAudioTracks()) track.enabled = !me.muted;
    for (const track of state.local.getVideoTracks()) track.enabled = me.camera_on;
  }

  // -- what is drawn ------------------------------------------------------------------

  function positionOverlay() {
    const layout = state.layout;
    if (!layout) return;
    const width = el.stage.clientWidth;
    const height = el.stage.clientHeight;
    const videoWidth = el.wall.videoWidth || layout.width;
    const videoHeight = el.wall.videoHeight || layout.height;
    const scale = Math.min(width / videoWidth, height / videoHeight);
    const shownWidth = videoWidth * scale;
    const shownHeight = videoHeight * scale;
    Object.assign(el.overlay.style, {
      left: `${(width - shownWidth) / 2}px`, top: `${(height - shownHeight) / 2}px`,
      width: `${shownWidth}px`, height: `${shownHeight}px`,
    });
  }

  function badge(kind, label) {
    const span = document.createElement("span");
    span.className = `badge ${kind}`;
    span.textContent = label;
    return span;
  }

  function renderOverlay() {
    const layout = state.layout;
    el.overlay.dataset.mode = layout.mode;
    el.overlay.dataset.spotlight = layout.spotlight || "";
    el.overlay.dataset.tiles = String(layout.tiles.length);
    const tiles = layout.tiles.map((tile, index) => {
      const div = document.createElement("div");
      div.className = "tile-overlay";
      div.dataset.testid = "tile";
      div.dataset.participantId = tile.participant_id;
      div.dataset.index = String(index);
      for (const key of ["x", "y", "w", "h"]) div.dataset[key] = String(tile[key]);
      div.dataset.speaking = String(tile.speaking);
      div.dataset.hand = String(tile.hand_raised);
      div.dataset.muted = String(tile.muted);
      div.dataset.camera = String(tile.camera_on);
      div.classList.toggle("large", layout.mode === "spotlight" && index === 0);
      div.classList.toggle("speaking", tile.speaking);
      div.classList.toggle("camera-off", !tile.camera_on);
      div.classList.toggle("reconnecting", Boolean(tile.reconnecting));
      div.dataset.reconnecting = String(Boolean(tile.reconnecting));
      div.classList.toggle("mine", Boolean(state.me && tile.participant_id === state.me.participant_id));
      Object.assign(div.style, {
        left: `${tile.x * 100}%`, top: `${tile.y * 100}%`,
        width: `${tile.w * 100}%`, height: `${tile.h * 100}%`,
      });
      const label = document.createElement("div");
      label.className = "tile-label";
      const name = document.createElement("span");
      name.className = "tile-name";
      name.dataset.testid = "tile-name";
      name.textContent = tile.display_name;
      label.append(name);
      if (tile.hand_raised) label.append(badge("hand", text("hand_raised")));
      if (tile.muted) label.append(badge("muted", text("muted")));
      div.setAttribute("aria-label", tile.speaking ? `${tile.display_name} · ${text("speaking")}` : tile.display_name);
      div.append(label);
      if (tile.reconnecting) {
        const note = document.createElement("div");
        note.className = "reconnecting-note";
        note.dataset.testid = "tile-reconnecting";
        note.textContent = text("tile_reconnecting");
        div.append(note);
      } else if (!tile.camera_on) {
        const off = document.createElement("div");
        off.className = "camera-off-note";
        off.textContent = text("camera_is_off");
        div.append(off);
      }
      return div;
    });
    el.overlay.replaceChildren(...tiles);
    positionOverlay();
    renderPanel();
  }

  function renderFlags() {
    const flags = [];
    const s = state.roomState;
    if (s && s.recording) flags.push(["recording", text("recording")]);
    if (s && s.locked) flags.push(["locked", text("locked")]);
    if (s && s.waiting_room) flags.push(["waiting-room", text("waiting_room")]);
    el.flags.replaceChildren(...flags.map(([kind, label]) => {
      const span = document.createElement("span");
      span.className = `flag ${kind}`;
      span.textContent = label;
      return span;
    }));
  }

  function renderControls() {
    const me = myself();
    el.mic.hidden = !may("mute_self");
    el.camera.hidden = !may("camera_self");
    el.hand.hidden = !may("raise_hand");
    const audioOnly = me ? Boolean(me.audio_only) : state.wantAudioOnly;
    el.audioOnly.textContent = text(audioOnly ? "audio_only_off" : "audio_only_on");
    el.audioOnly.setAttribute("aria-pressed", String(audioOnly));
    el.stage.classList.toggle("audio-only", audioOnly);
    el.audioOnlyNote.hidden = !audioOnly;
    el.room.dataset.audioOnly = String(audioOnly);
    if (!me) return;
    el.mic.textContent = me.muted_by_moderator ? text("muted_by_host") : text(me.muted ? "unmute" : "mute");
    el.mic.disabled = me.muted_by_moderator;
    el.mic.setAttribute("aria-pressed", String(me.muted));
    el.camera.textContent = text(me.camera_on ? "camera_off" : "camera_on");
    el.camera.setAttribute("aria-pressed", String(!me.camera_on));
    el.hand.textContent = text(me.hand_raised ? "lower_hand" : "raise_hand");
    el.hand.setAttribute("aria-pressed", String(me.hand_raised));
  }

  // What this role does here, in words: an observer is told it listens in (and, if its
  // account speaks here on duty, that it may speak during its duty hours).
  function renderRole() {
    const role = state.me ? state.me.role : "";
    const key = role === "observer" && config.dutyRoom ? "note_off_duty" : `note_${role}`;
    el.roleNote.textContent = role ? text(key) : "";
    el.roleNote.hidden = !role;
  }

  // The floor is this participant's while the wall spotlights it (given by the host or
  // the speaker, or by the legal queue's "now answering"); it moves on with the spotlight.
  function renderFloor() {
    const mine = Boolean(state.me && may("publish") && state.layout
      && state.layout.spotlight === state.me.participant_id);
    el.floor.textContent = text("your_turn");
    el.floor.hidden = !mine;
    el.room.dataset.floor = String(mine);
    // Only observers in the room: the wall is black, so say why.
    el.emptyWall.textContent = text("empty_wall");
    el.emptyWall.hidden = !(state.layout && state.layout.tiles.length === 0);
  }

  function actionButton(action, label, target, extra) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = action;
    button.dataset.testid = action;
    if (target) button.dataset.target = target;
    if (extra) button.dataset.extra = JSON.stringify(extra);
    button.textContent = label;
    return button;
  }

  function renderPanel() {
    const moderator = may("spotlight") || may("give_floor");
    el.hostPanel.hidden = !moderator;
    if (!moderator) return;
    const spotlight = state.layout ? state.layout.spotlight : null;

    el.hands.replaceChildren(...state.hands.map((hand) => {
      const li = document.createElement("li");
      li.dataset.participantId = hand.participant_id;
      li.dataset.testid = "hand";
      const name = document.createElement("span");
      name.className = "person-name";
      name.textContent = hand.display_name;
      li.append(name);
      if (may("give_floor")) li.append(actionButton("give_floor", text("give_floor"), hand.participant_id));
      if (may("lower_hand_others")) li.append(actionButton("lower_hand", text("lower_hand"), hand.participant_id));
      return li;
    }));
    if (!state.hands.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = text("no_hands");
      el.hands.append(li);
    }

    el.participants.replaceChildren(...state.participants.map((p) => {
      const li = document.createElement("li");
      li.dataset.participantId = p.participant_id;
      li.dataset.muted = String(p.muted);
      li.classList.toggle("speaking", p.speaking);
      const name = document.createElement("span");
      name.className = "person-name";
      const mine = state.me && p.participant_id === state.me.participant_id;
      name.textContent = mine ? `${p.display_name} ${text("you")}` : p.display_name;
      const role = document.createElement("span");
      role.className = "person-role";
      role.textContent = text(`role_${p.role}`);
      li.append(name, role);
      if (p.hand_raised) li.append(badge("hand", text("hand_raised")));
      if (!p.camera_on) li.append(badge("camera-off", text("camera_is_off")));
      const publishes = p.role !== "observer";
      const buttons = document.createElement("span");
      buttons.className = "person-actions";
      if (publishes && !mine) {
        if (p.muted && may("unmute_others")) buttons.append(actionButton("unmute", text("unmute"), p.participant_id));
        if (!p.muted && may("mute_others")) buttons.append(actionButton("mute", text("mute"), p.participant_id));
      }
      if (publishes && may("spotlight") && spotlight !== p.participant_id) {
        buttons.append(actionButton("spotlight", text("spotlight"), p.participant_id));
      }
      if (!mine && may("remove")) buttons.append(actionButton("remove", text("remove"), p.participant_id, { name: p.display_name }));
      li.append(buttons);
      return li;
    }));

    const s = state.roomState || { locked: false, waiting_room: false, recording: false };
    el.clearSpotlight.textContent = text("clear_spotlight");
    el.clearSpotlight.disabled = !spotlight;
    el.lock.textContent = text(s.locked ? "unlock" : "lock");
    el.lock.dataset.action = s.locked ? "unlock" : "lock";
    el.waitingRoom.textContent = text(s.waiting_room ? "waiting_room_off" : "waiting_room_on");
    el.waitingRoom.dataset.action = "set_waiting_room";
    el.waitingRoom.dataset.extra = JSON.stringify({ enabled: !s.waiting_room });
    el.recording.textContent = text(s.recording ? "stop_recording" : "start_recording");
    el.recording.dataset.action = s.recording ? "stop_recording" : "start_recording";
    el.recording.classList.toggle("primary", s.recording);
    for (const button of el.hostPanel.querySelectorAll("[data-needs]")) {
      button.hidden = !may(button.dataset.needs);
    }

    el.waitingSection.hidden = !may("admit") || (!s.waiting_room && !state.waiting.length);
    el.waitingList.replaceChildren(...state.waiting.map((w) => {
      const li = document.createElement("li");
      li.dataset.participantId = w.participant_id;
      const name = document.createElement("span");
      name.className = "person-name";
      name.textContent = w.display_name;
      li.append(name, actionButton("admit", text("admit"), w.participant_id));
      return li;
    }));
    if (!state.waiting.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = text("nobody_waiting");
      el.waitingList.append(li);
    }
    const next = el.waitingSection.querySelector("[data-action=admit_next]");
    next.textContent = text("admit_next");
    next.disabled = !state.waiting.length;
  }

  // -- what people do -----------------------------------------------------------------

  el.hostPanel.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const message = { type: button.dataset.action };
    if (button.dataset.target) message.participant_id = button.dataset.target;
    const extra = button.dataset.extra ? JSON.parse(button.dataset.extra) : {};
    if (message.type === "remove") {
      if (!window.confirm(text("remove_confirm", { name: extra.name }))) return;
    } else {
      Object.assign(message, extra);
    }
    send(message);
  });

  el.mic.addEventListener("click", () => {
    const me = myself();
    if (me) send({ type: me.muted ? "unmute" : "mute" });
  });
  el.camera.addEventListener("click", () => {
    const me = myself();
    if (me) send({ type: "camera", on: !me.camera_on });
  });
  el.hand.addEventListener("click", () => {
    const me = myself();
    if (me) send({ type: me.hand_raised ? "lower_hand" : "raise_hand" });
  });
  el.audioOnly.addEventListener("click", () => {
    const me = myself();
    const on = !(me ? me.audio_only : state.wantAudioOnly);
    keepAudioOnly(on);
    if (me) send({ type: "audio_only", enabled: on });
    else renderControls();
  });
  el.sound.textContent = text("sound_on");
  el.sound.addEventListener("click", playSound);
  // Once the sound plays (after the click, or on its own) the button has done its work.
  el.mix.addEventListener("playing", () => { el.sound.hidden = true; });
  el.fullscreen.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else el.stage.requestFullscreen().catch(() => {});
  });

  for (const event of ["loadedmetadata", "resize"]) el.wall.addEventListener(event, positionOverlay);
  new ResizeObserver(positionOverlay).observe(el.stage);
  // Closed or navigated away: leave at once (the server also takes the close as a leave).
  window.addEventListener("pagehide", () => {
    state.stopped = true;
    send({ type: "leave" });
    if (state.ws) state.ws.close(1000, "leave");
  });
  // The network is back (a laptop found Wi-Fi again): do not wait for the next retry.
  window.addEventListener("online", () => {
    if (!state.ws && !state.stopped) {
      state.retries = 0;
      connect();
    }
  });

  // js/room_chat.js speaks over this socket too.
  document.addEventListener("room:send", (event) => send(event.detail));

  // -- hook: standby screens ----------------------------------------------------------
  // A site's standby screen that entered this room by itself (js/standby_return.js) goes
  // back to standby when the room closes: tell whoever listens why this page was removed.
  function tellRemoved(reason) {
    document.dispatchEvent(new CustomEvent("room:removed", { detail: { reason } }));
  }

  renderControls();
  connect();
})();
