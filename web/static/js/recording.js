/*
 * The recording player: the event index seeks the video, and the page starts where its
 * link said (?t=<seconds> from the server's data-start, or #t=<seconds>).
 * No text of its own; the Content-Security-Policy runs no inline script.
 */
(function () {
  "use strict";

  var player = document.getElementById("recording-player");
  if (!player) { return; }

  function seconds(value) {
    var n = Number(value);
    return isFinite(n) && n >= 0 ? n : null;
  }

  function seek(to, play) {
    var go = function () {
      var end = isFinite(player.duration) ? player.duration : to;
      player.currentTime = Math.min(to, end);
      if (play) {
        var started = player.play();
        if (started && started.catch) { started.catch(function () { /* needs a click */ }); }
      }
    };
    if (player.readyState >= 1) { go(); } else {
      player.addEventListener("loadedmetadata", go, { once: true });
    }
  }

  function fromHash() {
    var match = /(?:^#|&)t=([0-9.]+)/.exec(window.location.hash);
    return match ? seconds(match[1]) : null;
  }

  var start = fromHash();
  if (start === null) { start = seconds(player.dataset.start); }
  if (start) { seek(start, true); }

  window.addEventListener("hashchange", function () {
    var to = fromHash();
    if (to !== null) { seek(to, true); }
  });

  var list = document.getElementById("recording-index");
  if (list) {
    list.addEventListener("click", function (event) {
      var button = event.target instanceof Element ? event.target.closest("[data-offset]") : null;
      if (!button) { return; }
      var to = seconds(button.dataset.offset);
      if (to === null) { return; }
      seek(to, true);
    });
    // The entry being played is marked, so a long list shows where the video is.
    var buttons = Array.prototype.slice.call(list.querySelectorAll("[data-offset]"));
    player.addEventListener("timeupdate", function () {
      var current = null;
      buttons.forEach(function (b) {
        if (Number(b.dataset.offset) <= player.currentTime + 0.25) { current = b; }
      });
      buttons.forEach(function (b) {
        b.closest("li").classList.toggle("current", b === current);
      });
    });
  }
}());
