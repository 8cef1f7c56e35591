// The contact page's small enhancements. Everything works without this file.
(function () {
  "use strict";
  // Quick actions "Add note" / "Add task": open the form's <details> and put the cursor in it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-open]");
    if (!link) {
      return;
    }
    var details = document.querySelector(link.getAttribute("data-open"));
    if (details) {
      details.open = true;
    }
    var field = document.querySelector(link.getAttribute("data-focus"));
    if (field) {
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
    }
  });
})();
