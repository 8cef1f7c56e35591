// The SMS compose box's segment count, as the agent types: Twilio's rules, the same as
// integrations/twilio_sms/segments.py (GSM-7: 160 alone or 153 per part, the extension table
// counting two; otherwise UCS-2: 70 alone or 67 per part, in UTF-16 code units). The server
// shows the same words after a submit without JavaScript.
(function () {
  "use strict";
  var GSM7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";

  function count(body) {
    var septets = 0;
    var gsm = true;
    for (var i = 0; i < body.length; i++) {
      var c = body.charAt(i);
      if (GSM7.indexOf(c) >= 0) { septets += 1; }
      else if (EXTENSION.indexOf(c) >= 0) { septets += 2; }
      else { gsm = false; break; }
    }
    if (!body.length) { return { segments: 0, ucs2: false }; }
    if (gsm) { return { segments: septets <= 160 ? 1 : Math.ceil(septets / 153), ucs2: false }; }
    // JavaScript strings are UTF-16 already: length counts code units, an emoji two.
    var units = body.length;
    return { segments: units <= 70 ? 1 : Math.ceil(units / 67), ucs2: true };
  }

  function words(result) {
    if (!result.segments) { return ""; }
    var text = result.segments + " text " + (result.segments === 1 ? "message" : "messages");
    return result.ucs2 ? text + " (special characters: 70 per message)" : text;
  }

  function bind(root) {
    var counters = root.querySelectorAll("[data-sms-segments]");
    Array.prototype.forEach.call(counters, function (counter) {
      var form = counter.closest("form");
      var input = form && form.querySelector(counter.getAttribute("data-sms-segments"));
      if (!input || input.dataset.smsBound) { return; }
      input.dataset.smsBound = "1";
      var update = function () { counter.textContent = words(count(input.value)); };
      input.addEventListener("input", update);
      update();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  // The reply form is swapped by htmx after each send: bind the new one.
  document.addEventListener("htmx:afterSwap", function () { bind(document); });
  window.altSmsSegments = { count: count, words: words };
})();
