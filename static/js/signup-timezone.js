// Sign-up: pre-select the browser's time zone in <select data-browser-timezone>. The person sees
// it and can change it; without this script they choose it themselves (nothing is assumed).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("select[data-browser-timezone]");
    if (!select || select.value) {
      return; // a choice the person already made (the form came back with an error) stays
    }
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return;
    }
    if (zone === "Etc/UTC" || zone === "Etc/GMT") {
      zone = "UTC";
    }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) {
        select.value = zone;
        return;
      }
    }
  });
})();
