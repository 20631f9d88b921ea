// Behaviour every page shares; each part does nothing on pages without its markup, and every
// page works without it.

// A form that came back with errors: move focus to its summary, so a screen reader reads the
// problems first and a keyboard user starts from the links to the fields.
(function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();

// Leads and admins are logged out after a spell without requests (WCAG 2.2.1 asks for a warning
// and a way to extend). Typing or clicking on the page counts as activity and extends the session
// quietly; otherwise a dialog warns before the end and offers to stay. If the session ends
// anyway, what was typed into the page's forms is kept in this tab and put back after logging in.
(function () {
  var meta = document.querySelector('meta[name="session-idle-seconds"]');
  var dialog = document.getElementById("session-warning");
  var DRAFT = "draft:" + location.pathname;
  restoreDraft();
  if (!meta || !dialog || !window.fetch) return;
  var idle = Number(meta.content) * 1000;
  var absoluteEnd = Date.now() + Number(meta.getAttribute("data-absolute-left")) * 1000;
  var extendUrl = meta.getAttribute("data-extend-url");
  var csrf = meta.getAttribute("data-csrf");
  var warnBefore = Math.min(120000, idle / 2);
  var lastContact = Date.now();
  var active = false;
  var returnFocus = null;
  var stay = dialog.querySelector("[data-session-extend]");
  var end = dialog.querySelector("[data-session-end]");
  var title = dialog.querySelector("[data-session-title]");
  var text = dialog.querySelector("[data-session-text]");
  var again = dialog.querySelector("[data-session-login]");

  ["keydown", "pointerdown", "input"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (!dialog.contains(event.target)) active = true;
    }, { capture: true, passive: true });
  });

  function expiresAt() { return Math.min(lastContact + idle, absoluteEnd); }
  function canExtend() { return lastContact + idle < absoluteEnd; }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function extend() {
    return fetch(extendUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("ended");
      return response.json();
    }).then(function (state) {
      lastContact = Date.now();
      absoluteEnd = Date.now() + state.absolute_seconds_left * 1000;
      active = false;
      return true;
    });
  }

  function open() {
    if (dialog.open) return;
    returnFocus = document.activeElement;
    dialog.showModal();
  }

  function close() {
    dialog.close();
    if (returnFocus && returnFocus.focus) returnFocus.focus();
  }

  function warn() {
    end.textContent = clock(expiresAt());
    if (!canExtend()) {
      text.textContent = "Sessions last at most " + meta.getAttribute("data-absolute-hours") +
        " hours. Finish or copy what you are typing; you will need to log in again at " +
        clock(expiresAt()) + ".";
      stay.textContent = "Continue";
    }
    open();
  }

  function ended() {
    keepDraft();
    title.textContent = "Your session has ended";
    text.textContent = "For your security you were logged out after a time without activity. " +
      "Log in again to continue: what you typed on this page is kept in this tab and put back.";
    stay.hidden = true;
    again.hidden = false;
    open();
  }

  stay.addEventListener("click", function () {
    if (!canExtend()) { close(); return; }
    extend().then(close, ended);
  });

  function tick() {
    var left = expiresAt() - Date.now();
    if (left <= 0) { ended(); return; }
    if (left <= warnBefore && !dialog.open) {
      if (active && canExtend()) extend().catch(ended); else warn();
    }
    setTimeout(tick, Math.min(1000, Math.max(left - warnBefore, 250)));
  }
  setTimeout(tick, 1000);

  function draftable(form) {
    return form.method.toLowerCase() === "post" && !form.querySelector('input[type="password"]');
  }

  function keepDraft() {
    var saved = [];
    document.querySelectorAll("form").forEach(function (form, index) {
      if (!draftable(form)) return;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "hidden" || el.type === "file" || el.type === "submit") return;
        if ((el.type === "checkbox" || el.type === "radio")) {
          saved.push([index, el.name, el.value, el.checked]);
        } else if (el.value) {
          saved.push([index, el.name, el.value, null]);
        }
      });
    });
    try { sessionStorage.setItem(DRAFT, JSON.stringify(saved)); } catch (e) { /* full or off */ }
  }

  function restoreDraft() {
    var saved;
    try { saved = JSON.parse(sessionStorage.getItem(DRAFT) || "null"); } catch (e) { return; }
    if (!saved || document.querySelector('input[type="password"]')) return;
    sessionStorage.removeItem(DRAFT);
    var forms = document.querySelectorAll("form");
    var restored = 0;
    saved.forEach(function (entry) {
      var form = forms[entry[0]];
      if (!form) return;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name !== entry[1]) return;
        if (entry[3] === null) { el.value = entry[2]; restored += 1; }
        else if (el.value === entry[2]) { el.checked = entry[3]; restored += 1; }
      });
    });
    var note = document.getElementById("draft-restored");
    if (restored && note) {
      note.hidden = false;
      note.textContent = "What you had typed before your session ended has been put back.";
    }
  }
})();

// A report being prepared: ask how far it is every few seconds and change the progress line
// only; the status region is told the end or the failure, once, then the download starts.
(function () {
  var status = document.querySelector("[data-report-status][data-waiting]");
  if (!status || !window.fetch) { return; }
  var line = document.querySelector("[data-report-progress]");
  var bar = document.querySelector("[data-report-bar]");
  var label = status.getAttribute("data-label");
  var every = (parseInt(status.getAttribute("data-seconds"), 10) || 2) * 1000;
  function poll() {
    fetch(status.getAttribute("data-poll"), {credentials: "same-origin",
                                              headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { setTimeout(poll, every); return; }
        if (s.ready) {
          status.textContent = "The " + label + " report is ready; the download starts by itself.";
          if (bar) { bar.value = bar.max; }
          window.location.href = s.download_url;
        } else if (s.failed) {
          status.textContent = "The " + label + " report could not be prepared. The " +
            "administrators can see why on the background jobs page; try again later.";
        } else {
          if (line) { line.textContent = s.progress; }
          setTimeout(poll, every);
        }
      })
      .catch(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();

