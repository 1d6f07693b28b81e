/* The top menu on phones, the groups' drop-downs, and captions for tables shown as cards.
   Plain ES5 on purpose: WeChat's built-in browser and older phones run it as is. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.className += " js";

  var button = doc.getElementById("menu-button");
  var bar = doc.getElementById("topbar");
  if (button && bar) {
    button.addEventListener("click", function () {
      var open = bar.className.indexOf(" open") < 0;
      bar.className = open ? bar.className + " open" : bar.className.replace(" open", "");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // One drop-down open at a time; a click elsewhere closes them.
  var groups = doc.querySelectorAll(".nav-group");
  function closeOthers(keep) {
    for (var i = 0; i < groups.length; i++) {
      if (groups[i] !== keep) { groups[i].removeAttribute("open"); }
    }
  }
  for (var g = 0; g < groups.length; g++) {
    groups[g].addEventListener("click", function (event) {
      if (event.target && event.target.tagName === "SUMMARY") { closeOthers(this); }
    });
  }
  doc.addEventListener("click", function (event) {
    var node = event.target;
    while (node && node !== doc) {
      if (node.className && String(node.className).indexOf("nav-group") >= 0) { return; }
      node = node.parentNode;
    }
    closeOthers(null);
  });

  // Tables become cards on narrow screens: each cell is captioned with its column's title,
  // unless the template gave it a data-label already.
  var tables = doc.querySelectorAll("table.table");
  for (var t = 0; t < tables.length; t++) {
    var heads = tables[t].querySelectorAll("thead th");
    if (!heads.length) { continue; }
    var rows = tables[t].querySelectorAll("tbody tr");
    for (var r = 0; r < rows.length; r++) {
      var cells = rows[r].children;
      for (var c = 0; c < cells.length && c < heads.length; c++) {
        var label = heads[c].textContent.replace(/^\s+|\s+$/g, "");
        if (label && !cells[c].getAttribute("data-label")) {
          cells[c].setAttribute("data-label", label);
        }
      }
    }
  }
})();
