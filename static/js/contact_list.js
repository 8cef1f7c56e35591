// The contact list: select all on this page, the selection count, and the sidebar drawer that is
// open on wide screens. The page works without this file (rows are still selectable one by one).
(function () {
  "use strict";

  function rowChecks() {
    return Array.prototype.slice.call(document.querySelectorAll(".js-row-check"));
  }

  // "Select all N matching" is offered once the whole page is selected; unselecting a row
  // takes it back. Without this file it is simply always there.
  function refreshMatching(allOnPage) {
    document.querySelectorAll(".js-select-matching").forEach(function (label) {
      label.hidden = !allOnPage;
      if (!allOnPage) {
        label.querySelector(".js-scope-matching").checked = false;
      }
    });
  }

  function refresh() {
    var checks = rowChecks();
    var chosen = checks.filter(function (box) { return box.checked; }).length;
    var matching = document.querySelector(".js-scope-matching:checked");
    document.querySelectorAll(".js-selected-count").forEach(function (el) {
      el.textContent = matching ? "" : (chosen ? "(" + chosen + " selected)" : "");
    });
    document.querySelectorAll(".js-select-all").forEach(function (all) {
      all.checked = checks.length > 0 && chosen === checks.length;
      all.indeterminate = chosen > 0 && chosen < checks.length;
    });
    refreshMatching(checks.length > 0 && chosen === checks.length);
    var bar = document.getElementById("bulk-form");
    if (bar) {
      bar.classList.toggle("has-selection", chosen > 0);
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.classList) {
      return;
    }
    if (target.classList.contains("js-select-all")) {
      rowChecks().forEach(function (box) { box.checked = target.checked; });
      refresh();
    } else if (target.classList.contains("js-row-check") || target.classList.contains("js-scope-matching")) {
      refresh();
    }
  });

  // New results or "Load more" rows: recount.
  document.addEventListener("htmx:afterSwap", refresh);

  document.addEventListener("DOMContentLoaded", function () {
    if (window.matchMedia("(min-width: 900px)").matches) {
      document.querySelectorAll("details[data-open-wide]").forEach(function (el) {
        el.open = true;
      });
    }
    refresh();
  });
})();
