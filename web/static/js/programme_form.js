// The programme form shows only the recurrence fields the chosen kind of schedule needs.
// Each group names its kinds in data-pattern-group; the server renders the right ones
// hidden, and this keeps them in step when the kind changes.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const pattern = document.getElementById("f-pattern");
  if (!pattern) return;
  const groups = document.querySelectorAll("[data-pattern-group]");
  const show = () => {
    for (const group of groups) {
      group.hidden = !group.dataset.patternGroup.split(" ").includes(pattern.value);
    }
  };
  pattern.addEventListener("change", show);
  show();
});
