/*
 * The legal consultation queue as a side panel, kept fresh by polling.
 *
 * Renders into the element #side-panel when the page has one, and does nothing otherwise,
 * so any page (the room page included) takes it with one <script> line and the stylesheet
 * css/queue-panel.css (the Content-Security-Policy admits no <style> a script writes).
 * The panel says where its queue is, by one of (first found wins):
 *   data-queue-url="/legal/sessions/7/queue.json"   a session's queue
 *   data-session-id="7"                               the same, by id
 *   data-room="legal"                                 the room's session on now (else next)
 * and optionally data-interval="4000" (milliseconds between polls, at least 1000).
 * A "queue:refresh" event on the panel polls at once (the room page sends one on room
 * events; the room's answer panel after an action).
 *
 * The JSON carries its own translated labels. Every text goes in as textContent, never
 * as HTML. After each change the panel gets data-current (the question being answered,
 * or "") and fires a "queue:update" event with the JSON as its detail.
 */
(function () {
  "use strict";

  var panel = document.getElementById("side-panel");
  if (!panel) {
    return;
  }
  var data = panel.dataset;
  var url = data.queueUrl ||
    (data.sessionId ? "/legal/sessions/" + encodeURIComponent(data.sessionId) + "/queue.json" : "") ||
    (data.room ? "/legal/queue.json?room=" + encodeURIComponent(data.room) : "");
  if (!url) {
    return;
  }
  var interval = Math.max(1000, parseInt(data.interval, 10) || 4000);
  var delay = interval;
  var last = "";
  var timer = null;

  var el = window.YizhanDom.el;  // js/dom.js, loaded first

  function item(q, labels) {
    var li = el("li", "qp-item" + (q.current ? " current" : "") + (q.own ? " own" : "") +
      (q.status === "answered" ? " answered" : ""));
    li.setAttribute("data-question", q.id);
    li.setAttribute("data-site", q.site_id);
    var head = el("div", "qp-head");
    if (q.current) {
      head.appendChild(el("span", "qp-now", labels.now));
    }
    head.appendChild(el("span", "qp-site", q.site));
    var meta = [q.category];
    if (q.resident) {  // null for another site's resident
      meta.push(q.resident);
    }
    if (q.raised_live) {
      meta.push(labels.live);
    }
    head.appendChild(document.createTextNode(" "));
    head.appendChild(el("span", "qp-meta", meta.join(" · ")));
    li.appendChild(head);
    var text = el("p", "qp-text");
    if (q.url) {
      var link = el("a", "", q.text);
      link.href = q.url;
      text.appendChild(link);
    } else {
      text.textContent = q.text;
    }
    li.appendChild(text);
    if (q.merged && q.merged.length) {
      li.appendChild(el("p", "qp-meta", labels.merged + ": " +
        q.merged.map(function (m) { return m.site; }).join(", ")));
    }
    if (q.status === "answered") {
      li.appendChild(el("p", "qp-summary",
        (q.outcome_label ? q.outcome_label + ": " : "") + (q.summary || "")));
    }
    return li;
  }

  function list(questions, labels) {
    var ol = el("ol", "qp-list");
    questions.forEach(function (q) { ol.appendChild(item(q, labels)); });
    return ol;
  }

  function render(queue) {
    var labels = queue.labels;
    var box = document.createDocumentFragment();
    box.appendChild(el("h2", "qp-title", labels.title));
    box.appendChild(el("p", "qp-sub", queue.session.label + " · " + (queue.session.department || "")));
    box.appendChild(el("h3", "qp-section", labels.queued + " (" + queue.counts.queued + ")"));
    if (queue.queued.length) {
      box.appendChild(list(queue.queued, labels));
    } else {
      box.appendChild(el("p", "qp-meta", labels.empty));
    }
    if (queue.answered.length) {
      box.appendChild(el("h3", "qp-section", labels.answered + " (" + queue.counts.answered + ")"));
      box.appendChild(list(queue.answered, labels));
    }
    var stale = el("p", "qp-stale", labels.stale);
    stale.hidden = true;
    box.appendChild(stale);
    panel.replaceChildren(box);
    panel.setAttribute("data-rendered", "");
    panel.setAttribute("data-current", queue.current === null ? "" : String(queue.current));
    panel.dispatchEvent(new CustomEvent("queue:update", { detail: queue }));
  }

  function showStale() {
    var stale = panel.querySelector(".qp-stale");
    if (stale) {
      stale.hidden = false;
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function poll() {
    if (document.hidden) {
      schedule();
      return;
    }
    fetch(url, { credentials: "same-origin", cache: "no-store",
                 headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("queue answered " + response.status);
        }
        return response.text();
      })
      .then(function (body) {
        delay = interval;
        if (body !== last) {
          last = body;
          render(JSON.parse(body));
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, 30000);
        showStale();
      })
      .then(schedule);
  }

  panel.addEventListener("queue:refresh", function () {
    delay = interval;
    poll();
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      delay = interval;
      poll();
    }
  });
  poll();
}());
