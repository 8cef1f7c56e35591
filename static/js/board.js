// The pipeline board: drag a card to another column, or pick a stage in the board's one "Move
// to…" menu (a dialog that each card's "Move to…" link opens); either way the card lands at the
// top of its new column without a reload. Without this file a card's link leads to the menu as a
// page of its own; without htmx the menu's form posts normally and the board reloads.
(function () {
  "use strict";

  var dragged = null;
  var opener = null;

  function menu() {
    return document.getElementById("board-move");
  }

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

  function contactIdOf(card) {
    return card.id.replace("card-", "");
  }

  // Post the move in the background: the values are taken now, and each card sends its own
  // request, so moving several cards quickly moves every one of them.
  function move(card, stageId) {
    var dialog = menu();
    var form = dialog.querySelector("form");
    if (!window.htmx) {
      form.elements.contact.value = contactIdOf(card);
      form.elements.stage.value = stageId;
      form.submit();
      return;
    }
    card.classList.add("is-moving");
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: card,
      swap: "none",
      values: {
        contact: contactIdOf(card),
        stage: stageId,
        next: form.elements.next.value,
        csrfmiddlewaretoken: form.elements.csrfmiddlewaretoken.value,
      },
    });
  }

  // A card's "Move to…" link opens the shared menu for that card (a plain, modified or middle
  // click on the link still opens the menu's page).
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.board-card-move") : null;
    var dialog = menu();
    if (!link || !dialog || !dialog.showModal || event.button !== 0
        || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    var card = link.closest(".board-card");
    event.preventDefault();
    opener = link;
    var form = dialog.querySelector("form");
    form.reset();
    form.elements.contact.value = contactIdOf(card);
    dialog.querySelector(".board-move-name").textContent =
      card.querySelector(".board-card-name").textContent;
    dialog.showModal();
    form.elements.stage.focus();
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest ? event.target.closest("#board-move .js-move-cancel") : null;
    if (cancel) {
      event.preventDefault();
      menu().close();
    }
  });

  document.addEventListener("close", function (event) {
    if (event.target === menu() && opener && document.contains(opener)) {
      opener.focus();
    }
    opener = null;
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = menu();
    if (!dialog || form.parentNode !== dialog || !window.htmx) {
      return;
    }
    event.preventDefault();
    var card = document.getElementById("card-" + form.elements.contact.value);
    var stageId = form.elements.stage.value;
    opener = null;  // the moved card takes the focus
    dialog.close();
    if (card) {
      move(card, stageId);
    }
  });

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
    if (stageId !== card.getAttribute("data-stage-id")) {
      move(card, stageId);
    }
  });

  // After a move: the server answers with the card as it now is; put it on top of its new column.
  document.addEventListener("htmx:afterRequest", function (event) {
    var card = event.detail.elt;
    if (!card || !card.matches || !card.matches(".board-card")) {
      return;
    }
    if (!event.detail.successful) {
      card.classList.remove("is-moving");
      announce(event.detail.xhr.status === 400 ? event.detail.xhr.responseText
        : "That lead could not be moved. Reload the board and try again.");
      return;
    }
    var holder = document.createElement("template");
    holder.innerHTML = event.detail.xhr.responseText.trim();
    var moved = holder.content.querySelector(".board-card");
    if (!moved) {
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
      moved.querySelector(".board-card-name").focus();
    }
    var column = list ? columnOf(list) : null;
    var stageName = column ? column.querySelector("h2").textContent : "another stage";
    announce("Moved " + moved.querySelector(".board-card-name").textContent + " to " + stageName + ".");
  });
})();
