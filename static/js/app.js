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
  // Flash messages fade after a while so they do not cover the page on a phone.
  window.addEventListener("load", function () {
    window.setTimeout(function () {
      document.querySelectorAll(".flash-success, .flash-info").forEach(function (el) {
        el.classList.add("is-fading");
      });
    }, 6000);
  });
})();
