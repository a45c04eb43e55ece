/*
 * Callback Desk: the embedded form talking to the widget on the clinic's page.
 * Loaded by templates/public/embed.html and, when embedded, thanks.html.
 * Inside a cross-origin iframe the parent never sees our key presses, so
 * Escape is passed on as a message; the thanks page reports a sent request;
 * every page says it is ready (the widget falls back when no page ever does).
 * Messages carry no personal data, hence the "*" target origin.
 */
(function (window, document) {
  "use strict";
  if (window.parent === window) {
    return;
  }
  function tell(type) {
    window.parent.postMessage({ type: type }, "*");
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      tell("callback-desk:close");
    }
  });
  tell("callback-desk:ready");
  if (document.querySelector(".thanks")) {
    tell("callback-desk:submitted");
  }
})(window, document);
