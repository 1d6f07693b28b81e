/*
 * The resident's form, a little better where the browser allows it (WeChat's too):
 * show the fields of the chosen kind, offer the phone's location, shrink photos to at most
 * 1600 px JPEG before upload, and send once (a double tap does not send twice; a retry
 * sends the same idempotency key, so the server files the item once).
 * Without this script the plain form still works.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-resident-form]");
  if (!form) { return; }
  var MAX_SIDE = 1600;
  var maxPhotos = parseInt(form.getAttribute("data-max-photos") || "3", 10);
  var sending = false;

  function each(list, fn) { for (var i = 0; i < list.length; i += 1) { fn(list[i], i); } }

  function randomKey() {
    var bytes = [];
    var c = window.crypto || window.msCrypto;
    if (c && c.getRandomValues) {
      var a = new Uint8Array(18);
      c.getRandomValues(a);
      each(a, function (b) { bytes.push(("0" + b.toString(16)).slice(-2)); });
      return bytes.join("");
    }
    return String(Date.now()) + "-" + String(Math.random()).slice(2) + String(Math.random()).slice(2);
  }

  var keyInput = form.querySelector("[data-idempotency-key]");
  if (keyInput && !keyInput.value) { keyInput.value = randomKey(); }

  function showKind() {
    var chosen = form.querySelector("[data-kind]:checked");
    var kind = chosen ? chosen.value : "";
    each(form.querySelectorAll("[data-for-kind]"), function (el) {
      var on = !kind || el.getAttribute("data-for-kind") === kind;
      if (on) { el.removeAttribute("hidden"); } else { el.setAttribute("hidden", ""); }
    });
  }
  each(form.querySelectorAll("[data-kind]"), function (el) { el.addEventListener("change", showKind); });
  showKind();

  var location = form.querySelector("[data-location]");
  var share = form.querySelector("[data-share-location]");
  var note = form.querySelector("[data-location-note]");
  if (location && share && navigator.geolocation) {
    location.removeAttribute("hidden");
    share.addEventListener("change", function () {
      var lat = form.querySelector("[data-latitude]");
      var lon = form.querySelector("[data-longitude]");
      if (!share.checked) { lat.value = ""; lon.value = ""; return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        note.textContent = form.getAttribute("data-location-ok");
      }, function () {
        share.checked = false;
        note.textContent = form.getAttribute("data-no-location");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  function shrink(file, done) {
    if (!window.FileReader || !document.createElement("canvas").getContext) { done(file); return; }
    var reader = new FileReader();
    reader.onload = function () {
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(img.width, img.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        if (canvas.toBlob) {
          canvas.toBlob(function (blob) { done(blob || file); }, "image/jpeg", 0.85);
        } else {
          done(file);
        }
      };
      img.onerror = function () { done(file); };
      img.src = reader.result;
    };
    reader.onerror = function () { done(file); };
    reader.readAsDataURL(file);
  }

  function showResponse(xhr) {
    var url = xhr.responseURL || "";
    if (url && url.indexOf("/r/status") !== -1) { window.location.href = url; return; }
    document.open();
    document.write(xhr.responseText);
    document.close();
  }

  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }
    var input = form.querySelector("[data-photos]");
    var files = input && input.files ? input.files : [];
    var button = form.querySelector("button[type=submit]");
    if (files.length > maxPhotos) {
      event.preventDefault();
      form.querySelector("[data-photo-note]").textContent = form.getAttribute("data-too-many");
      return;
    }
    sending = true;
    if (button) { button.disabled = true; button.textContent = form.getAttribute("data-sending"); }
    if (!files.length || !window.FormData || !window.XMLHttpRequest || !window.FormData.prototype["delete"]) { return; }
    event.preventDefault();
    var data = new FormData(form);
    data["delete"]("photos");
    var shrunk = [];
    var left = files.length;
    each(files, function (file, i) {
      shrink(file, function (blob) {
        shrunk[i] = blob;
        left -= 1;
        if (left > 0) { return; }
        each(shrunk, function (b, j) { data.append("photos", b, "photo-" + (j + 1) + ".jpg"); });
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.getAttribute("action"));
        xhr.onload = function () { showResponse(xhr); };
        xhr.onerror = function () {
          sending = false;
          if (button) { button.disabled = false; }
        };
        xhr.send(data);
      });
    });
  });
}());
