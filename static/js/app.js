// Small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Confirm destructive actions: <form data-confirm="Delete this contact?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // After a failed submit, keyboard focus goes to the form's error summary (templates/
  // _error_summary.html), on a full page load and when htmx swaps a form back in. Each summary is
  // focused once, so a later unrelated swap does not pull focus back to it.
  function focusErrorSummary() {
    var fresh = document.querySelectorAll("[data-error-summary]:not([data-seen])");
    fresh.forEach(function (el) { el.setAttribute("data-seen", ""); });
    if (fresh.length) {
      fresh[0].focus();
    }
  }
  document.addEventListener("DOMContentLoaded", focusErrorSummary);
  document.addEventListener("htmx:afterSettle", focusErrorSummary);
  // Flash messages fade after a while so they do not cover the page on a phone.
  window.addEventListener("load", function () {
    window.setTimeout(function () {
      document.querySelectorAll(".flash-success, .flash-info").forEach(function (el) {
        el.classList.add("is-fading");
      });
    }, 6000);
  });
})();
