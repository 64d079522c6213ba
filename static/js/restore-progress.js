// The restore page updates itself: it asks for the progress every two seconds until the restore is done.
(function () {
  var box = document.getElementById("restore");
  if (!box || box.dataset.active !== "1") return;
  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var name = el.dataset.field, value = data[name];
      if (name === "percent") { el.className = "w-" + Math.max(0, Math.min(100, Math.round(value))); el.parentNode.setAttribute("aria-valuenow", value); }
      else if (name === "error") { el.textContent = value; el.hidden = !value; }
      else if (value !== undefined && value !== "") { el.textContent = value; }
    });
  }
  function poll() {
    fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) { show(data); if (!data.finished) setTimeout(poll, 2000); })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
