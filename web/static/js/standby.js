// The site's standby screen (web/templates/standby.html): the meeting-room PC's TV between
// sessions. It asks GET /api/standby every few seconds (the server's YIZHAN_STANDBY_POLL),
// backing off while the server does not answer and saying so on screen; everything shown
// comes from that answer, so a server restart or a network drop only delays it.
//
// Countdowns run on the server's clock: each answer carries the server's `now`, and the
// page keeps the offset to its own clock. When the site is called (a room of a session
// opens, or the street office calls the sites), the page rings (a chime made with WebAudio
// and the whole screen flashing) and enters the room by itself, with `?standby=1`, so the
// room page comes back here when the session is over (js/standby_return.js).
//
// The one click of the set-up ("Start standby") allows the sound and is remembered; when
// the browser blocks the sound again after a reload the page says so and the next touch
// or key press allows it. The screen is kept on with the Screen Wake Lock API, asked for
// again whenever the page becomes visible.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("standby-config").textContent);
  const T = config.texts;
  const ARMED_KEY = "yizhan.standby.armed";
  const CHIME_EVERY_MS = 1600;
  const byId = (id) => document.getElementById(id);
  const el = {
    root: byId("standby"), site: byId("site-name"), clock: byId("clock"),
    connection: byId("connection"), soundNote: byId("sound-note"), wakeNote: byId("wake-note"),
    today: byId("today"), week: byId("week"), duty: byId("on-duty"),
    legal: byId("legal-session"), questions: byId("questions"),
    setup: byId("setup"), arm: byId("arm"),
    ring: byId("ring"), ringLabel: byId("ring-label"), ringTitle: byId("ring-title"),
    ringCount: byId("ring-count"), ringEnter: byId("ring-enter"),
  };
  const state = {
    data: null, offsetMs: 0, failures: 0, pollMs: config.pollMs, timer: null,
    audio: null, wakeLock: null, ringing: null, chimeTimer: null, stopped: false,
  };

  function text(key, params) {
    let result = T[key] || key;
    for (const [name, value] of Object.entries(params || {})) {
      result = result.split(`%(${name})s`).join(String(value));
    }
    return result;
  }

  function remembered(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function remember(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (_) {
      // private mode: remembered for this page only
    }
  }

  const serverNow = () => Date.now() + state.offsetMs;
  const pad = (n) => String(n).padStart(2, "0");

  // -- asking the server -------------------------------------------------------------

  function schedule(delay) {
    clearTimeout(state.timer);
    if (!state.stopped) state.timer = setTimeout(poll, delay);
  }

  // After a failure: the poll interval doubled each time, capped at eight intervals (and
  // 30 s), so a server back after a restart is seen within seconds.
  function backoff() {
    const cap = Math.min(30000, state.pollMs * 8);
    const delay = Math.min(cap, state.pollMs * 2 ** Math.min(state.failures, 6));
    return delay * (0.8 + 0.4 * Math.random());
  }

  async function poll() {
    const abort = new AbortController();
    const guard = setTimeout(() => abort.abort(), Math.max(5000, state.pollMs * 4));
    const sent = Date.now();
    try {
      const response = await fetch(config.api, {
        cache: "no-store", credentials: "same-origin", signal: abort.signal,
        headers: { Accept: "application/json" },
      });
      if (response.status === 401 || response.status === 403) {
        stop(response.status === 401 ? "signed_out" : "forbidden");
        return;
      }
      if (!response.ok) throw new Error(`status ${response.status}`);
      const data = await response.json();
      const received = Date.now();
      state.offsetMs = Date.parse(data.now) - (sent + received) / 2;
      state.pollMs = data.poll_ms || state.pollMs;
      state.failures = 0;
      el.root.dataset.connection = "ok";
      el.connection.hidden = true;
      state.data = data;
      render();
      answerCalls(data);
      schedule(state.pollMs);
    } catch (_) {
      state.failures += 1;
      el.root.dataset.connection = "lost";
      el.connection.textContent = text("lost", { count: state.failures });
      el.connection.hidden = false;
      schedule(backoff());
    } finally {
      clearTimeout(guard);
    }
  }

  // Signed out or not a site: asking again will not help; say what to do.
  function stop(key) {
    state.stopped = true;
    clearTimeout(state.timer);
    el.root.dataset.connection = key;
    el.connection.textContent = text(key);
    el.connection.hidden = false;
  }

  // -- what is drawn -----------------------------------------------------------------

  function node(tag, className, content) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (content !== undefined) element.textContent = content;
    return element;
  }

  function duration(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    const days = Math.floor(seconds / 86400);
    const hours = Math.floor((seconds % 86400) / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    if (days > 0) return text("days_hours", { days, hours });
    if (hours > 0) return text("hours_minutes", { hours, minutes });
    return `${pad(minutes)}:${pad(seconds % 60)}`;
  }

  // Where a session stands now, and the words for it.
  function standing(session, now) {
    if (session.cancelled) return ["cancelled", text("cancelled")];
    const starts = Date.parse(session.starts_at);
    const ends = Date.parse(session.ends_at);
    if (now >= ends) return ["over", text("over")];
    if (now >= starts) return ["now", text("on_now")];
    return ["ahead", text("starts_in", { time: duration(starts - now) })];
  }

  function sessionItem(session) {
    const li = node("li", "sb-session");
    li.dataset.testid = "session";
    li.dataset.sessionId = String(session.id);
    li.dataset.startsAt = session.starts_at;
    li.dataset.endsAt = session.ends_at;
    li.dataset.cancelled = String(session.cancelled);
    li.append(node("p", "sb-session-title", session.title));
    const unit = session.unit.name ? ` · ${session.unit.label}：${session.unit.name}` : "";
    li.append(node("p", "sb-session-meta", `${session.day} ${session.time}${unit}`));
    const countdown = node("p", "sb-countdown");
    countdown.dataset.testid = "countdown";
    li.append(countdown);
    return li;
  }

  function list(target, items, build, empty) {
    if (!items.length) {
      const li = node("li", "sb-empty", text(empty));
      li.dataset.testid = "empty";
      target.replaceChildren(li);
      return;
    }
    target.replaceChildren(...items.map(build));
  }

  function render() {
    const data = state.data;
    el.site.textContent = data.site.name;
    list(el.today, data.today, sessionItem, "no_today");
    list(el.week, data.week, sessionItem, "no_week");
    el.duty.replaceChildren(...data.on_duty.map((unit) => {
      const li = node("li");
      li.dataset.testid = "duty";
      li.append(`${unit.label} · ${unit.programme}`, node("strong", "", unit.name));
      return li;
    }));
    if (data.legal_session) {
      const s = data.legal_session;
      el.legal.textContent = `${s.title} · ${s.day} ${s.time}${s.unit.name ? ` · ${s.unit.name}` : ""}`;
      list(el.questions, data.questions, (q) => {
        const li = node("li");
        li.dataset.testid = "question";
        li.dataset.questionId = String(q.id);
        li.append(node("span", "sb-question-text", q.text || text("raised_live")),
          node("span", "sb-question-meta", `${q.category} · ${q.status_label}`));
        return li;
      }, "no_questions");
    } else {
      el.legal.textContent = text("no_legal");
      el.questions.replaceChildren();
    }
    tick();
  }

  // Every second: the clock and the countdowns, on the server's time.
  function tick() {
    const now = serverNow();
    const date = new Date(now);
    if (state.data) {
      // The street's wall clock: the server's time in the street's zone, as hh:mm:ss.
      const time = new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
        timeZone: config.timezone,
      }).format(date);
      el.clock.replaceChildren(time, node("small", "", state.data.today_label));
    }
    for (const li of el.root.querySelectorAll("[data-testid=session]")) {
      const session = {
        starts_at: li.dataset.startsAt, ends_at: li.dataset.endsAt,
        cancelled: li.dataset.cancelled === "true",
      };
      const [stage, words] = standing(session, now);
      li.classList.toggle("now", stage === "now");
      li.classList.toggle("over", stage === "over");
      li.classList.toggle("cancelled", stage === "cancelled");
      li.dataset.stage = stage;
      li.querySelector("[data-testid=countdown]").textContent = words;
    }
    if (state.ringing) {
      const left = Math.max(0, Math.ceil((state.ringing.at - Date.now()) / 1000));
      el.ringCount.textContent = text("entering", { seconds: left });
    }
  }

  // -- being called ------------------------------------------------------------------

  function answerCalls(data) {
    const call = data.calls[0];
    if (!call) {
      stopRinging();
      return;
    }
    if (state.ringing && state.ringing.key === call.key) return;
    stopRinging();
    state.ringing = { key: call.key, href: call.href, at: Date.now() + config.ringMs };
    el.ringLabel.textContent = call.label;
    el.ringTitle.textContent = call.title;
    el.ringEnter.href = call.href;
    el.ring.hidden = false;
    el.root.dataset.ringing = "true";
    chime();
    state.chimeTimer = setInterval(chime, CHIME_EVERY_MS);
    state.ringing.timer = setTimeout(() => enter(call.href), config.ringMs);
    tick();
  }

  function stopRinging() {
    if (!state.ringing) return;
    clearTimeout(state.ringing.timer);
    clearInterval(state.chimeTimer);
    state.ringing = null;
    el.ring.hidden = true;
    el.root.dataset.ringing = "false";
  }

  function enter(href) {
    state.stopped = true;
    clearTimeout(state.timer);
    el.root.dataset.entering = href;
    window.location.assign(href);
  }

  el.ringEnter.addEventListener("click", (event) => {
    if (!state.ringing) return;
    event.preventDefault();
    enter(state.ringing.href);
  });

  // -- sound -------------------------------------------------------------------------

  // A two-note bell (E6 then C6), each note a sine with its octave, struck and fading.
  function chime() {
    const ctx = state.audio;
    if (!ctx || ctx.state !== "running") return;
    const start = ctx.currentTime + 0.02;
    for (const [index, frequency] of [1318.5, 1046.5].entries()) {
      const at = start + index * 0.45;
      const gain = ctx.createGain();
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.35, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 1.1);
      gain.connect(ctx.destination);
      for (const [multiple, level] of [[1, 1], [2, 0.3]]) {
        const osc = ctx.createOscillator();
        const partial = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = frequency * multiple;
        partial.gain.value = level;
        osc.connect(partial).connect(gain);
        osc.start(at);
        osc.stop(at + 1.2);
      }
    }
    el.root.dataset.chimes = String(Number(el.root.dataset.chimes) + 1);
  }

  function soundState() {
    const running = Boolean(state.audio && state.audio.state === "running");
    el.root.dataset.sound = running ? "on" : "blocked";
    el.soundNote.textContent = text("sound_blocked");
    el.soundNote.hidden = running || el.root.dataset.armed !== "true";
  }

  // Made (or woken) inside the click of the set-up; after a reload the browser may allow it
  // without one (a kiosk started with --autoplay-policy=no-user-gesture-required does).
  function startSound() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      soundState();
      return;
    }
    if (!state.audio) {
      state.audio = new Context();
      state.audio.addEventListener("statechange", soundState);
    }
    state.audio.resume().then(soundState, soundState);
    soundState();
  }

  // A blocked sound comes back at the next touch or key press anywhere.
  for (const kind of ["pointerdown", "keydown"]) {
    document.addEventListener(kind, () => {
      if (el.root.dataset.armed === "true" && el.root.dataset.sound !== "on") startSound();
    });
  }

  // -- keeping the screen on ---------------------------------------------------------

  async function keepAwake() {
    if (!("wakeLock" in navigator)) {
      el.root.dataset.wakeLock = "unsupported";
      el.wakeNote.textContent = text("no_wake_lock");
      el.wakeNote.hidden = false;
      return;
    }
    if (document.visibilityState !== "visible" || (state.wakeLock && !state.wakeLock.released)) {
      return;
    }
    try {
      state.wakeLock = await navigator.wakeLock.request("screen");
      el.root.dataset.wakeLock = "on";
      el.wakeNote.hidden = true;
      state.wakeLock.addEventListener("release", () => { el.root.dataset.wakeLock = "released"; });
    } catch (_) {
      // Refused (battery saver, a policy): the PC's own power settings must keep it on.
      el.root.dataset.wakeLock = "refused";
      el.wakeNote.textContent = text("no_wake_lock");
      el.wakeNote.hidden = false;
    }
  }

  // The browser drops the lock whenever the page is hidden; take it again on return.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && el.root.dataset.armed === "true") keepAwake();
  });

  // -- set-up ------------------------------------------------------------------------

  function armed() {
    el.root.dataset.armed = "true";
    el.setup.hidden = true;
    startSound();
    keepAwake();
  }

  el.arm.addEventListener("click", () => {
    remember(ARMED_KEY, "1");
    armed();
    if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(() => {});
    }
  });

  // The network is back: ask now rather than at the end of the backoff.
  window.addEventListener("online", () => {
    if (!state.stopped) {
      state.failures = 0;
      schedule(0);
    }
  });

  if (remembered(ARMED_KEY) === "1") armed();
  else el.setup.hidden = false;
  setInterval(tick, 1000);
  poll();
})();
