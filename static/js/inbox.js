// The thread page's polling: new messages appear without reloading, but only while the page is
// visible (a hidden tab asks nothing), and at once when it becomes visible again.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    var poll = document.getElementById("thread-poll");
    if (!document.hidden && poll && window.htmx) {
      window.htmx.trigger(poll, "inbox-poll");
    }
  });
})();
