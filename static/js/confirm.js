/* Confirmation before a destructive form is sent: <form data-confirm="Remove this user?">. The question is
   text in an attribute, escaped by the template like any other; no script is written into the page. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
