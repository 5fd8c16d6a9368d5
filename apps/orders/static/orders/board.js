/* The order board refreshes its columns every few seconds (new paid orders appear
   without a click) and counts the acceptance deadlines down every second. A refresh
   waits while the chef is typing in a form on the board, so nothing typed is lost. */
(function () {
  "use strict";
  var board = document.getElementById("order-board");
  if (!board) { return; }
  var url = board.getAttribute("data-fragment-url");
  var every = (parseInt(board.getAttribute("data-refresh-seconds"), 10) || 10) * 1000;
  // The words come from the page, in the chef's language.
  var leftText = board.getAttribute("data-left-text") || "{time} left";
  var lateText = board.getAttribute("data-late-text") || "time is up";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var now = Date.now();
    board.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.getAttribute("data-deadline")) - now) / 1000);
      if (left <= 0) {
        el.textContent = lateText;
        el.classList.add("late");
        return;
      }
      el.textContent = leftText.replace("{time}", Math.floor(left / 60) + ":" + pad(left % 60));
      el.classList.toggle("late", left < 120);
    });
  }

  function editing() {
    var active = document.activeElement;
    if (active && board.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) { return true; }
    return Array.prototype.some.call(board.querySelectorAll("input:not([type=hidden])"), function (input) {
      return input.value !== input.defaultValue;
    });
  }

  function refresh() {
    if (editing()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) { window.location.reload(); return null; }  // signed out
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && !editing()) {
          board.innerHTML = html;
          tick();
        }
      })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }

  tick();
  window.setInterval(tick, 1000);
  window.setInterval(refresh, every);
})();
