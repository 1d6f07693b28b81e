/*
 * The small DOM helpers the page scripts share (plain ES5: WeChat's browser runs it).
 * Text goes in as textContent, never as HTML.
 */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  window.YizhanDom = { el: el };
}());
