/*!
 * Callback Desk widget: a "Request a call back" button for a clinic's website.
 *
 *   <script src="https://DESK/static/widget.js" defer></script>
 *
 * Options, as attributes of that <script> element:
 *   data-label="..."   the button's text
 *   data-lang="ru|en"  the widget's own language (Russian by default)
 *   data-phone="..."   the clinic's phone, shown if the form cannot be opened here
 *
 * The button opens the form from <origin of this script>/embed in a modal
 * dialog, passing the page's URL, its referrer and its utm_* parameters.
 * If the form does not say it is ready within a few seconds (this site is
 * not allowed to frame it, the desk is unreachable), the dialog offers the
 * form in a new tab instead, and the clinic's phone number.
 * One global, window.CallbackDesk: open(), close(), isOpen(), version.
 * On the host page it fires "callbackdesk:open", "callbackdesk:close" and,
 * when the embedded page reports a sent request, "callbackdesk:submitted"
 * (on document; for the clinic's analytics).
 *
 * No dependencies, no innerHTML (Trusted Types), styles in a shadow root so
 * that the host's CSS and ours leave each other alone. The <style> element
 * carries the script's nonce, if any; otherwise a host CSP without
 * style-src 'unsafe-inline' leaves the button unstyled, not broken.
 */
(function (window, document) {
  "use strict";

  var NAMESPACE = "CallbackDesk";
  if (window[NAMESPACE] && window[NAMESPACE].version) {
    return; // the snippet was pasted twice
  }

  var TEXTS = {
    ru: {
      button: "Заказать обратный звонок",
      title: "Заказать обратный звонок",
      close: "Закрыть",
      frame: "Форма заказа обратного звонка",
      failed: "Форму не удалось открыть здесь.",
      newTab: "Открыть форму в новой вкладке",
      call: "Или позвоните в клинику:"
    },
    en: {
      button: "Request a call back",
      title: "Request a call back",
      close: "Close",
      frame: "Call back request form"
    }
  };
  var MAX_PARAM = 1000; // the desk keeps 500 characters; this keeps the URL sane
  var UTM_KEY = /^utm_[a-z0-9_]{1,40}$/i;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var READY_TIMEOUT_MS = 5000; // the form says it is ready well within this, even on a slow phone

  var CSS = [
    ":host { all: initial; }",
    ".cbd-launcher {",
    "  position: fixed; z-index: 2147483000;",
    "  right: max(16px, env(safe-area-inset-right)); bottom: max(16px, env(safe-area-inset-bottom));",
    "  display: inline-flex; align-items: center; gap: 8px; box-sizing: border-box;",
    "  min-height: 48px; max-width: calc(100vw - 32px); margin: 0; padding: 12px 20px 12px 16px;",
    "  border: 0; border-radius: 999px; background: #0a6e5c; color: #fff;",
    "  font: 600 16px/1.25 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;",
    "  text-align: left; letter-spacing: normal; text-transform: none;",
    "  box-shadow: 0 6px 18px rgba(0, 0, 0, .28); cursor: pointer; -webkit-tap-highlight-color: transparent;",
    "}",
    ".cbd-launcher:hover { background: #085a4b; }",
    ".cbd-launcher:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }",
    ".cbd-launcher svg { width: 20px; height: 20px; flex: none; fill: currentColor; }",
    ".cbd-dialog {",
    "  box-sizing: border-box; padding: 0; border: 0; margin: 0; inset: 0;",
    "  width: 100%; max-width: 100%; height: 100%; max-height: 100%;",
    "  background: #fff; color: #1d2733; overflow: hidden;",
    "  font: 16px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;",
    "}",
    ".cbd-dialog[open] { display: flex; flex-direction: column; }",
    ".cbd-dialog.cbd-fallback[open] { position: fixed; z-index: 2147483001; }",
    ".cbd-dialog::backdrop { background: rgba(17, 24, 39, .55); }",
    ".cbd-bar {",
    "  display: flex; align-items: center; justify-content: space-between; gap: 8px; flex: none;",
    "  padding: 4px 4px 4px 16px; padding-top: max(4px, env(safe-area-inset-top));",
    "  border-bottom: 1px solid #d5dbe1; background: #fff;",
    "}",
    ".cbd-title { margin: 0; font-size: 17px; font-weight: 600; line-height: 1.3; color: #1d2733; }",
    ".cbd-close {",
    "  flex: none; width: 44px; height: 44px; margin: 0; padding: 0; border: 0; border-radius: 8px;",
    "  background: transparent; color: #1d2733; cursor: pointer;",
    "  display: inline-flex; align-items: center; justify-content: center;",
    "}",
    ".cbd-close:hover { background: #eef1f4; }",
    ".cbd-close:focus-visible { outline: 3px solid #ffbf47; outline-offset: -3px; }",
    ".cbd-close svg { width: 22px; height: 22px; stroke: currentColor; stroke-width: 2.2; stroke-linecap: round; fill: none; }",
    ".cbd-frame { display: block; flex: 1 1 auto; width: 100%; min-height: 0; border: 0; background: #f5f7f9; }",
    ".cbd-fallback-panel { padding: 24px 16px; font-size: 17px; }",
    ".cbd-fallback-panel[hidden] { display: none; }",
    ".cbd-fallback-panel a { color: #0a6e5c; font-weight: 600; }",
    ".cbd-fallback-panel p { margin: 0 0 16px; }",
    ".cbd-guard { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }",
    "@media (min-width: 600px) and (min-height: 500px) {",
    "  .cbd-dialog { width: min(440px, calc(100vw - 32px)); height: min(780px, calc(100vh - 32px));",
    "    margin: auto; border-radius: 12px; box-shadow: 0 18px 48px rgba(0, 0, 0, .3); }",
    "  .cbd-dialog.cbd-fallback[open] { box-shadow: 0 0 0 100vmax rgba(17, 24, 39, .55); }",
    "}",
    "@media print { .cbd-launcher { display: none; } }"
  ].join("\n");

  function findScript() {
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) {
        return scripts[i];
      }
    }
    return null;
  }

  var script = document.currentScript || findScript();
  if (!script || !script.src) {
    return;
  }
  var deskOrigin = new URL(script.src, window.location.href).origin;
  var askedLang = (script.getAttribute("data-lang") || "").toLowerCase();
  var lang = TEXTS.hasOwnProperty(askedLang) ? askedLang : "ru";
  var text = TEXTS[lang];
  var label = (script.getAttribute("data-label") || "").trim() || text.button;
  var nonce = script.nonce || script.getAttribute("nonce") || "";
  var phone = (script.getAttribute("data-phone") || "").trim();

  var host, root, launcher, dialog, closeButton, frame, frameForPage, returnFocus, savedOverflow;
  var fallbackPanel, readyTimer, frameReady = false;
  var opened = false;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs) {
      if (attrs.hasOwnProperty(name)) {
        node.setAttribute(name, attrs[name]);
      }
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(paths) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  function fire(name, detail) {
    var event;
    try {
      event = new CustomEvent(name, { detail: detail || {} });
    } catch (e) {
      return;
    }
    document.dispatchEvent(event);
  }

  /** <desk>/embed?page=…&ref=…&utm_…=…&in=widget (or the desk's own form page, "/"): where the request comes from. */
  function embedUrl(path) {
    var params = new URLSearchParams();
    params.set("page", window.location.href.slice(0, MAX_PARAM));
    params.set("ref", (document.referrer || "").slice(0, MAX_PARAM));
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (UTM_KEY.test(key) && !params.has(key)) {
        params.set(key, value.slice(0, MAX_PARAM));
      }
    });
    if (askedLang && TEXTS.hasOwnProperty(askedLang)) {
      params.set("lang", askedLang);
    }
    if (!path) {
      params.set("in", "widget"); // the dialog shows the title: the form does not repeat it
    }
    return deskOrigin + (path || "/embed") + "?" + params.toString();
  }

  /** The form did not load in the frame: offer it in a new tab, and the clinic's phone. */
  function showFallback() {
    if (frameReady || !frame) {
      return;
    }
    if (!fallbackPanel) {
      var children = [
        el("p", {}, [text.failed]),
        el("p", {}, [el("a", { href: embedUrl("/"), target: "_blank", rel: "noopener" }, [text.newTab])])
      ];
      if (phone) {
        children.push(el("p", {}, [text.call + " ", el("a", { href: "tel:" + phone.replace(/[^+\d]/g, "") }, [phone])]));
      }
      fallbackPanel = el("div", { "class": "cbd-fallback-panel", role: "alert" }, children);
      dialog.insertBefore(fallbackPanel, dialog.lastChild);
    }
    fallbackPanel.hidden = false;
    frame.style.display = "none";
  }

  function frameIsReady() {
    frameReady = true;
    window.clearTimeout(readyTimer);
    if (fallbackPanel) {
      fallbackPanel.hidden = true;
    }
    frame.style.display = "";
  }

  function ensureFrame() {
    // Keep what was typed across close/open; start afresh if the page changed (SPA).
    if (frame && frameForPage === window.location.href) {
      return;
    }
    if (frame) {
      frame.parentNode.removeChild(frame);
    }
    frame = el("iframe", {
      "class": "cbd-frame",
      title: text.frame,
      src: embedUrl(),
      // The page URL and referrer travel as parameters; the desk must not
      // take the host page for the patient's referrer.
      referrerpolicy: "no-referrer"
    });
    frameForPage = window.location.href;
    dialog.insertBefore(frame, dialog.lastChild); // before the trailing focus guard
    frameReady = false;
    window.clearTimeout(readyTimer);
    readyTimer = window.setTimeout(showFallback, READY_TIMEOUT_MS);
  }

  function focusable(node) {
    return node && node.isConnected && typeof node.focus === "function";
  }

  function open() {
    if (opened) {
      return;
    }
    var active = document.activeElement;
    returnFocus = active === host ? root.activeElement || active : active;
    ensureFrame();
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
    opened = true;
    savedOverflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = "hidden";
    closeButton.focus();
    fire("callbackdesk:open");
  }

  function close() {
    if (!opened) {
      return;
    }
    opened = false;
    if (typeof dialog.close === "function" && dialog.open) {
      dialog.close();
    } else {
      dialog.removeAttribute("open");
    }
    document.documentElement.style.overflow = savedOverflow || "";
    (focusable(returnFocus) && returnFocus !== document.body ? returnFocus : launcher).focus();
    fire("callbackdesk:close");
  }

  function build() {
    host = el("div", { id: "callback-desk-widget", lang: lang });
    root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

    var style = el("style", nonce ? { nonce: nonce } : {}, [CSS]);

    launcher = el("button", { type: "button", "class": "cbd-launcher", "aria-haspopup": "dialog" }, [
      icon([
        "M6.6 10.8a15.2 15.2 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1L6.6 10.8z"
      ]),
      el("span", {}, [label])
    ]);

    var titleId = "cbd-title";
    closeButton = el("button", {
      type: "button", "class": "cbd-close", "aria-label": text.close, title: text.close, autofocus: ""
    }, [
      icon(["M6 6l12 12", "M18 6L6 18"])
    ]);
    // Focus guards keep Tab inside the dialog, also when it leaves the iframe.
    var guardStart = el("span", { "class": "cbd-guard", tabindex: "0", "aria-hidden": "true" });
    var guardEnd = el("span", { "class": "cbd-guard", tabindex: "0", "aria-hidden": "true" });
    dialog = el("dialog", {
      "class": "cbd-dialog",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": titleId
    }, [
      guardStart,
      el("div", { "class": "cbd-bar" }, [el("h2", { "class": "cbd-title", id: titleId }, [text.title]), closeButton]),
      guardEnd
    ]);
    if (typeof dialog.showModal !== "function") {
      dialog.className += " cbd-fallback";
    }

    launcher.addEventListener("click", open);
    closeButton.addEventListener("click", close);
    guardStart.addEventListener("focus", function () {
      (frame || closeButton).focus();
    });
    guardEnd.addEventListener("focus", function () {
      closeButton.focus();
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        close();
      }
    });
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      close();
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        // A click on the backdrop (the dialog's own box is covered by its children).
        var box = dialog.getBoundingClientRect();
        var inside = event.clientX >= box.left && event.clientX <= box.right &&
          event.clientY >= box.top && event.clientY <= box.bottom;
        if (!inside) {
          close();
        }
      }
    });
    // The embedded page may ask to close (Escape inside the frame) or report a sent request.
    window.addEventListener("message", function (event) {
      if (event.origin !== deskOrigin || !frame || event.source !== frame.contentWindow) {
        return;
      }
      var type = event.data && event.data.type;
      if (type === "callback-desk:ready") {
        frameIsReady();
      } else if (type === "callback-desk:close") {
        close();
      } else if (type === "callback-desk:submitted") {
        fire("callbackdesk:submitted");
      }
    });

    root.appendChild(style);
    root.appendChild(launcher);
    root.appendChild(dialog);
    document.body.appendChild(host);
  }

  window[NAMESPACE] = {
    version: "1",
    open: function () {
      if (!dialog) {
        build();
      }
      open();
    },
    close: close,
    isOpen: function () {
      return opened;
    }
  };

  if (document.body) {
    build();
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      if (!dialog) {
        build();
      }
    });
  }
})(window, document);
