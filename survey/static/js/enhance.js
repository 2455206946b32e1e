/* Optional enhancements; every page works without JavaScript. */
(function () {
  "use strict";
  // A page restored from the back/forward cache may carry a one-time key that was
  // already used: fetch a fresh copy instead (the server keeps the answers).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
  // Send a form once: a second tap while the first is on its way is ignored here (the
  // server would ignore it too, because of the page's one-time key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) {
      return;
    }
    if (form.getAttribute("data-sent") === "1") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
    form.className += " sending";
    // On a flaky network the first send may never arrive: allow another try later.
    window.setTimeout(function () {
      form.removeAttribute("data-sent");
      form.className = form.className.replace(" sending", "");
    }, 8000);
  });
}());
