// The pipeline board: drag a card to another column, and a move (dragged, or chosen in a card's
// "Move to…" menu) lands the card at the top of its new column without a reload. Without this
// file (or htmx) the "Move to…" form posts normally and the board reloads.
(function () {
  "use strict";

  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest(".board-column") : null;
  }

  function announce(text) {
    var status = document.getElementById("board-status");
    if (status) {
      status.textContent = text;
    }
  }

  function bump(stageId, delta) {
    var count = document.querySelector('[data-count-for="' + stageId + '"]');
    if (count) {
      count.textContent = String(Math.max(0, (parseInt(count.textContent, 10) || 0) + delta));
    }
  }

  function clearTargets() {
    document.querySelectorAll(".board-column.is-drop-target").forEach(function (el) {
      el.classList.remove("is-drop-target");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card") : null;
    if (!card) {
      return;
    }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    card.classList.add("is-dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("is-dragging");
    }
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-drop-target")) {
      clearTargets();
      column.classList.add("is-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    var card = dragged;
    if (!card || !column) {
      return;
    }
    event.preventDefault();
    clearTargets();
    var stageId = column.getAttribute("data-stage-id");
    if (stageId === card.getAttribute("data-stage-id")) {
      return;
    }
    var form = card.querySelector("form.js-move");
    form.querySelector("select[name=stage]").value = stageId;
    card.classList.add("is-moving");
    // htmx sends it in the background; without htmx the browser posts it and the board reloads.
    form.requestSubmit();
  });

  // After a move: the server answers with the card as it now is; put it on top of its new column.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.matches || !form.matches("form.js-move")) {
      return;
    }
    var card = form.closest(".board-card");
    if (!event.detail.successful) {
      if (card) {
        card.classList.remove("is-moving");
      }
      announce(event.detail.xhr.status === 400 ? event.detail.xhr.responseText
        : "That lead could not be moved. Reload the board and try again.");
      return;
    }
    var holder = document.createElement("template");
    holder.innerHTML = event.detail.xhr.responseText.trim();
    var moved = holder.content.querySelector(".board-card");
    if (!moved || !card) {
      return;
    }
    var from = card.getAttribute("data-stage-id");
    var to = moved.getAttribute("data-stage-id");
    var list = document.getElementById("column-" + to + "-cards");
    card.remove();
    if (from !== to) {
      bump(from, -1);
      bump(to, 1);
    }
    if (list) {
      var first = list.querySelector(".board-card");
      list.insertBefore(moved, first || list.querySelector(".board-more"));
      window.htmx.process(moved);
      moved.querySelector(".board-card-name").focus();
    }
    var column = list ? columnOf(list) : null;
    var stageName = column ? column.querySelector("h2").textContent : "another stage";
    announce("Moved " + moved.querySelector(".board-card-name").textContent + " to " + stageName + ".");
  });
})();
