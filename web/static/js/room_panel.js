/*
 * The legal room's side panel for whoever runs the queue (the host, the officer on duty):
 * "now answering" per question, an answer form, and the sites with a hand up.
 *
 * js/queue.js draws the queue into #side-panel and fires "queue:update" with its JSON;
 * this script adds the controls to what it drew (when the JSON says `can_run`) and keeps
 * the answer form in #queue-answer, outside the list, so a poll never wipes what is typed.
 * room.js fires "room:hands" (the hands queue) on the document: the questions of a site
 * with a hand up get a "举手" badge and "answer this site's question next".
 * Actions are the queue page's own forms, posted with fetch (X-CSRF-Token from the page)
 * asking for JSON; errors are shown inline. Every text comes from the page's config.
 */
(function () {
  "use strict";

  var panel = document.getElementById("side-panel");
  var box = document.getElementById("queue-answer");
  var configNode = document.getElementById("room-config");
  if (!panel || !box || !configNode) {
    return;
  }
  var config = JSON.parse(configNode.textContent).queuePanel;
  if (!config) {
    return;
  }
  var T = config.texts;
  var csrf = box.dataset.csrf || "";
  var queue = null;
  var handSites = new Set();
  var target = null;  // the question the form answers (null: the current one)
  var formFor = null;  // the question the form is drawn for
  var busy = false;

  var el = window.YizhanDom.el;  // js/dom.js, loaded first

  function button(action, label, question) {
    var b = el("button", "small", label);
    b.type = "button";
    b.dataset.action = action;
    b.dataset.question = String(question);
    b.dataset.testid = "qp-" + action;
    return b;
  }

  function queued(id) {
    if (!queue) {
      return null;
    }
    for (var i = 0; i < queue.queued.length; i += 1) {
      if (queue.queued[i].id === id) {
        return queue.queued[i];
      }
    }
    return null;
  }

  function failure(response, body) {
    if (body && body.error && body.error.message) {
      return body.error;
    }
    return { message: T.failed.split("%(code)s").join(String(response.status)) };
  }

  function post(url, fields) {
    var params = new URLSearchParams();
    Object.keys(fields).forEach(function (key) {
      if (fields[key] !== null && fields[key] !== undefined) {
        params.append(key, String(fields[key]));
      }
    });
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store", body: params,
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          throw failure(response, body);
        }
        return body;
      });
    });
  }

  function refresh() {
    panel.dispatchEvent(new CustomEvent("queue:refresh"));
  }

  // -- the list: buttons and hands ------------------------------------------------------

  function decorate() {
    if (!queue) {
      return;
    }
    var firstOfSite = {};
    queue.queued.forEach(function (q) {
      if (!(q.site_id in firstOfSite)) {
        firstOfSite[q.site_id] = q.id;
      }
    });
    panel.querySelectorAll(".qp-item").forEach(function (li) {
      var id = parseInt(li.dataset.question, 10);
      var site = parseInt(li.dataset.site, 10);
      var q = queued(id);
      li.querySelectorAll(".qp-hand, .qp-actions").forEach(function (n) { n.remove(); });
      li.classList.toggle("hand", Boolean(q) && handSites.has(site));
      if (!q) {
        return;
      }
      if (handSites.has(site)) {
        var head = li.querySelector(".qp-head");
        var hand = el("span", "qp-hand", T.hand);
        hand.dataset.testid = "qp-hand";
        head.insertBefore(hand, head.firstChild);
      }
      if (!queue.can_run) {
        return;
      }
      var actions = el("div", "qp-actions");
      if (handSites.has(site) && firstOfSite[site] === id && !q.current) {
        actions.appendChild(button("answer-next", T.answer_next, id));
      }
      if (!q.current) {
        actions.appendChild(button("now-answering", T.now_answering, id));
      }
      actions.appendChild(button("answer", T.answer, id));
      li.appendChild(actions);
    });
  }

  panel.addEventListener("click", function (event) {
    var b = event.target.closest("button[data-action]");
    if (!b || busy) {
      return;
    }
    var id = parseInt(b.dataset.question, 10);
    var q = queued(id);
    if (!q) {
      return;
    }
    if (b.dataset.action === "answer") {
      target = id;
      drawForm();
      box.querySelector("textarea").focus();
      return;
    }
    // "now answering", and "answer this site's question next" (the same: the site is
    // spotlit and its question becomes the current one).
    busy = true;
    showMessage("", "");
    post("/legal/questions/" + id + "/now-answering", { version: q.version })
      .then(function () {
        target = id;
        refresh();
      }, function (error) {
        showMessage(error.message, "error");
        refresh();
      })
      .then(function () { busy = false; });
  });

  // -- the answer form ------------------------------------------------------------------

  function showMessage(text, kind) {
    var note = box.querySelector(".qa-message") || panel.querySelector(".qa-message");
    if (!note) {
      note = el("p", "qa-message");
      note.setAttribute("role", "alert");
      note.dataset.testid = "qa-message";
      box.appendChild(note);
    }
    note.textContent = text;
    note.className = "qa-message" + (kind ? " " + kind : "");
    note.hidden = !text;
    if (text) {
      box.hidden = false;
    }
  }

  function field(labelText, control, name) {
    var wrap = el("div", "field");
    var label = el("label", "", labelText);
    label.htmlFor = control.id;
    var error = el("p", "field-error");
    error.dataset.field = name;
    error.hidden = true;
    wrap.appendChild(label);
    wrap.appendChild(control);
    wrap.appendChild(error);
    return wrap;
  }

  function select(id, name, options, blank) {
    var s = el("select");
    s.id = id;
    s.name = name;
    if (blank) {
      var none = el("option", "", blank);
      none.value = "";
      s.appendChild(none);
    }
    options.forEach(function (o) {
      var option = el("option", "", o[1]);
      option.value = String(o[0]);
      s.appendChild(option);
    });
    return s;
  }

  function drawForm() {
    var id = target !== null && queued(target) ? target : (queue && queue.current);
    if (!queue || !queue.can_run || id === null || !queued(id)) {
      formFor = null;
      box.replaceChildren();
      box.hidden = true;
      return;
    }
    if (formFor === id) {
      return;  // keep what is typed
    }
    formFor = id;
    var q = queued(id);
    var form = el("form", "answer-form");
    form.noValidate = true;
    form.dataset.question = String(id);
    form.dataset.testid = "qa-form";
    form.appendChild(el("h2", "", T.answer_title + " · #" + id + " · " + q.site));
    form.appendChild(el("p", "qp-text", q.text));

    var summary = el("textarea");
    summary.id = "qa-summary";
    summary.name = "summary";
    summary.rows = 3;
    summary.maxLength = config.maxSummary;
    form.appendChild(field(T.summary, summary, "summary"));

    var outcomes = el("fieldset", "field");
    outcomes.appendChild(el("legend", "", T.outcome));
    config.outcomes.forEach(function (o, index) {
      var label = el("label", "check");
      var radio = el("input");
      radio.type = "radio";
      radio.name = "outcome";
      radio.value = o[0];
      radio.checked = index === 0;
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + o[1]));
      outcomes.appendChild(label);
    });
    var outcomeError = el("p", "field-error");
    outcomeError.dataset.field = "outcome";
    outcomeError.hidden = true;
    outcomes.appendChild(outcomeError);
    form.appendChild(outcomes);

    var follow = el("fieldset", "follow-up-fields");
    follow.appendChild(el("legend", "", T.follow_up));
    follow.appendChild(field(T.kind, select("qa-kind", "follow_up_kind", config.followUpKinds),
                             "follow_up_kind"));
    follow.appendChild(field(T.department, select("qa-department", "follow_up_department_id",
                                                  config.departments, T.on_duty),
                             "follow_up_department_id"));
    var due = el("input");
    due.id = "qa-due";
    due.type = "date";
    due.name = "follow_up_due_on";
    due.min = config.today;
    follow.appendChild(field(T.date, due, "follow_up_due_on"));
    form.appendChild(follow);

    var buttons = el("div", "buttons");
    var save = el("button", "primary", T.save);
    save.type = "submit";
    save.dataset.testid = "qa-submit";
    var cancel = el("button", "", T.cancel);
    cancel.type = "button";
    cancel.dataset.testid = "qa-cancel";
    cancel.addEventListener("click", function () {
      target = null;
      formFor = null;
      box.replaceChildren();
      box.hidden = true;
    });
    buttons.appendChild(save);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    form.addEventListener("submit", submit);
    box.replaceChildren(form);
    box.hidden = false;
  }

  function showErrors(form, fields) {
    form.querySelectorAll(".field-error").forEach(function (p) {
      var text = fields && fields[p.dataset.field];
      p.textContent = text || "";
      p.hidden = !text;
    });
  }

  function submit(event) {
    event.preventDefault();
    var form = event.target;
    var id = parseInt(form.dataset.question, 10);
    var q = queued(id);
    if (busy || !q) {
      return;
    }
    var data = new FormData(form);
    var fields = { version: q.version };
    data.forEach(function (value, key) { fields[key] = value; });
    busy = true;
    showErrors(form, null);
    showMessage("", "");
    post("/legal/questions/" + id + "/answer", fields)
      .then(function () {
        target = null;
        formFor = null;
        box.replaceChildren();
        showMessage(T.saved, "info");
        refresh();
      }, function (error) {
        showErrors(form, error.fields);
        showMessage(error.message, "error");
      })
      .then(function () { busy = false; });
  }

  panel.addEventListener("queue:update", function (event) {
    queue = event.detail;
    decorate();
    drawForm();
  });

  document.addEventListener("room:hands", function (event) {
    handSites = new Set();
    (event.detail || []).forEach(function (hand) {
      var id = String(hand.participant_id || "");
      if (id.indexOf(config.sitePrefix) === 0) {
        handSites.add(parseInt(id.slice(config.sitePrefix.length), 10));
      }
    });
    decorate();
  });
}());
