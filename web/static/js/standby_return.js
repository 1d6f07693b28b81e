// A room page that a site's standby screen entered by itself (`?standby=1`, see
// js/standby.js) goes back to the standby screen when the site's call is over.
//
// "Over" is the server's word: GET /api/standby no longer lists this room among the
// site's calls. The page asks every poll interval, and at once when the room says it
// closed (room.js dispatches `room:removed`). A room closed by a server restart is not the
// end: the server is away, nothing is asked successfully, and room.js reconnects as usual.
(() => {
  "use strict";

  if (new URLSearchParams(window.location.search).get("standby") !== "1") return;
  const STANDBY = "/standby";
  const API = "/api/standby";
  const room = document.getElementById("room").dataset.room;
  const leave = document.getElementById("leave");
  if (leave) leave.href = STANDBY;
  let pollMs = 5000;
  let timer = null;
  let leaving = false;

  async function check() {
    clearTimeout(timer);
    try {
      const response = await fetch(API, {
        cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const data = await response.json();
        pollMs = data.poll_ms || pollMs;
        if (!data.calls.some((call) => call.room === room)) {
          back();
          return;
        }
      }
    } catch (_) {
      // The server is away (a restart, a dropped link): ask again later.
    }
    timer = setTimeout(check, pollMs);
  }

  function back() {
    if (leaving) return;
    leaving = true;
    document.getElementById("room").dataset.standby = "returning";
    window.location.assign(STANDBY);
  }

  document.addEventListener("room:removed", (event) => {
    if (event.detail && event.detail.reason === "room-closed") check();
  });
  timer = setTimeout(check, 1000); // then every poll interval the server names
})();
