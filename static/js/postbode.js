/* Postbode's page behaviour, no build step, loaded on every page (templates/base.html).
 *  - the menu button opens and closes the navigation on small screens;
 *  - table cells get their column's name (data-label) so tables can become cards on phones;
 *  - pending badges ([data-live-state="pending"]) refresh themselves until they settle;
 *  - a typed confirmation (<input data-confirm-text="name">) unlocks its form's submit button;
 *  - a button with data-print prints the page.
 * No script is written into a page: the Content-Security-Policy allows scripts from the panel's own files only. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function setUpMenu() {
    var button = document.querySelector(".menu-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function labelTableCells(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) { return; }
      var names = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (!cell.hasAttribute("data-label") && names[i] !== undefined) { cell.setAttribute("data-label", names[i]); }
        });
      });
    });
  }

  /* Pending badges: fetch this page again (same URL, same permissions) and take the badges from it, in order,
     until none is pending; every 2 s at first, then slower, for at most 5 minutes. */
  function followPendingBadges() {
    var delay = 2000, started = Date.now();
    function pending() { return document.querySelectorAll('[data-live-state="pending"]').length; }
    function poll() {
      if (!pending() || Date.now() - started > 300000) { return; }
      fetch(window.location.href, { headers: { "X-Live-State": "1" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelectorAll("[data-live-state]");
          var current = document.querySelectorAll("[data-live-state]");
          if (fresh.length !== current.length) { return; }
          current.forEach(function (badge, i) {
            if (badge.getAttribute("data-live-state") !== fresh[i].getAttribute("data-live-state")) {
              badge.replaceWith(document.importNode(fresh[i], true));
            }
          });
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { delay = Math.min(delay * 1.5, 15000); setTimeout(poll, delay); });
    }
    if (pending()) { setTimeout(poll, delay); }
  }

  function setUpTypedConfirmations() {
    document.querySelectorAll("input[data-confirm-text]").forEach(function (input) {
      var form = input.form, submit = form && form.querySelector("button[type=submit]");
      if (!submit) { return; }
      function check() {
        submit.disabled = input.value.trim().toLowerCase() !== input.getAttribute("data-confirm-text").toLowerCase();
      }
      input.addEventListener("input", check);
      check();
    });
  }

  function setUpPrintButtons() {
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  ready(function () {
    setUpPrintButtons();
    setUpMenu();
    labelTableCells(document);
    followPendingBadges();
    setUpTypedConfirmations();
  });
})();
