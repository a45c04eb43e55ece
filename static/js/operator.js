/* The operators' desk: keyboard shortcuts, the shared note, confirmations,
 * copying the phone number, and a sign-in page instead of a stale queue.
 * No inline script anywhere (CSP): everything is wired here by data-attributes. */
(function () {
  "use strict";

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  /* "Digit4", "Numpad4", "KeyN": the key's place, so a Russian layout works the same. */
  function shortcutOf(event) {
    var code = event.code || "";
    var match = /^(?:Digit|Numpad)(\d)$/.exec(code) || /^Key([A-Z])$/.exec(code);
    if (match) return match[1].toLowerCase();
    return (event.key || "").toLowerCase();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    var key = shortcutOf(event);
    if (!/^[0-9a-z]$/.test(key)) return;
    var button = document.querySelector('[data-shortcut="' + key + '"]');
    if (!button || button.disabled) return;
    event.preventDefault();
    var needed = button.form && button.form.querySelector("[data-needed-for-submit]");
    if (needed && !needed.value) {
      needed.focus(); /* a callback needs its time first */
      return;
    }
    button.click();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("outcome-form")) return;
    if (form.dataset.sent) {
      event.preventDefault(); /* one outcome per press, however many presses */
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var note = document.getElementById("note");
    var copy = form.querySelector("input[data-note-copy]");
    if (note && copy) copy.value = note.value;
    form.dataset.sent = "1";
  });

  /* Booking, moving, cancelling: one press sends once (a second press would meet "slot taken"). */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("once")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
  });

  /* The day's book: a print button without inline script. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) window.print();
  });

  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    document.body.removeChild(area);
    return done;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var status = button.parentNode.querySelector(".copy-status");
    function say(ok) {
      if (status) status.textContent = button.getAttribute(ok ? "data-copied" : "data-copy-failed") || "";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say(true); }, function () { say(copyBySelection(text)); });
    } else {
      say(copyBySelection(text));
    }
  });

  /* The live queue.  The server pushes "queue" when the queue changed (server-sent events);
   * the page then reloads its live part at once.  The tab's title shows how many can be
   * called now; sound and a notification, when this operator turned them on here. */
  var live = document.getElementById("queue-live");
  var toggle = document.querySelector(".alerts-toggle");
  var baseTitle = document.title;
  var lastCount = null;
  var alertsKey = toggle ? "cbd-alerts-" + toggle.getAttribute("data-user") : null;

  function alertsOn() {
    try { return alertsKey && window.localStorage.getItem(alertsKey) === "on"; } catch (e) { return false; }
  }

  function showToggle() {
    if (!toggle) return;
    var on = alertsOn();
    toggle.hidden = false;
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.textContent = toggle.getAttribute(on ? "data-label-on" : "data-label-off");
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      var audio = new Context(), tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.2);
    } catch (e) { /* no sound: the title still shows the count */ }
  }

  function countChanged() {
    var counter = document.querySelector('[data-counter="callable_now"]');
    if (!counter) return;
    var count = parseInt(counter.textContent, 10) || 0;
    document.title = count > 0 ? "(" + count + ") " + baseTitle : baseTitle;
    if (lastCount !== null && count > lastCount && alertsOn()) {
      beep();
      if (window.Notification && Notification.permission === "granted") {
        new Notification(toggle.getAttribute("data-notice"), { body: baseTitle, tag: "callback-desk-queue" });
      }
    }
    lastCount = count;
  }

  if (live) {
    countChanged();
    showToggle();
    document.body.addEventListener("htmx:afterSettle", countChanged);
    if (live.getAttribute("data-events") && window.EventSource) {
      var source = new EventSource(live.getAttribute("data-events"));
      source.addEventListener("queue", function () {
        if (window.htmx) window.htmx.trigger(document.body, "queue-changed");
      });
    }
  }
  if (toggle) {
    toggle.addEventListener("click", function () {
      var on = !alertsOn();
      try { window.localStorage.setItem(alertsKey, on ? "on" : "off"); } catch (e) { return; }
      /* Permission is asked once, when alerts are first turned on. */
      if (on && window.Notification && Notification.permission === "default") Notification.requestPermission();
      showToggle();
    });
  }

  /* A poll answered by the sign-in page (the session ended): show that page, not a queue inside it. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.responseURL && /\/login$/.test(new URL(xhr.responseURL).pathname)) {
      event.preventDefault();
      window.location.assign(xhr.responseURL);
    }
  });
})();
