// das-actors panel: progressive enhancement only. No inline script (CSP default-src 'self');
// data arrives through data- attributes and the API; text is inserted with textContent.
(function () {
  "use strict";

  // Listeners are delegated from the document, so parts replaced by the live refresh keep them.
  // A <select data-autosubmit> submits its (GET) form when changed: the class picker.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) { select.form.submit(); }
  });

  // Forms with data-confirm ask first (remove, cancel).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") &&
        !window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  // An open action menu closes when the user clicks elsewhere or presses Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.menu") : null);
  });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") { closeMenus(null); } });

  liveRefresh();

  // The live tail of the Logs page: an EventSource on the API's SSE stream.
  var section = document.getElementById("live-tail");
  if (!section || !window.EventSource) { return; }
  var rows = document.getElementById("tail-lines");
  var status = document.getElementById("tail-status");
  var toggle = document.getElementById("tail-toggle");
  var url = section.getAttribute("data-stream-url");
  var source = null;
  var MAX_ROWS = 500;

  function cell(tr, text, className) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (className) { td.className = className; }
    tr.appendChild(td);
  }

  function stamp(epoch) {
    if (typeof epoch !== "number") { return ""; }
    return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  var LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"};

  var kind = section.getAttribute("data-kind");

  function showMessage(doc) {
    var tr = document.createElement("tr");
    tr.className = "new";
    tr.setAttribute("data-seq", String(doc.seq));
    tr.setAttribute("data-testid", "tail-line");
    cell(tr, stamp(doc.recv));
    cell(tr, doc.seq);
    cell(tr, doc.routing_key || "");
    cell(tr, doc.body_text != null ? doc.body_text : "(" + doc.size + " bytes, not text)", "msg");
    rows.insertBefore(tr, rows.firstChild);
    while (rows.childNodes.length > MAX_ROWS) { rows.removeChild(rows.lastChild); }
  }

  function show(doc) {
    if (kind === "stream") { showMessage(doc); return; }
    var level = doc.levelname || LEVELS[doc.level] || "";
    var tr = document.createElement("tr");
    tr.className = "new level-" + String(level).toLowerCase();
    tr.setAttribute("data-seq", String(doc.seq));
    tr.setAttribute("data-testid", "tail-line");
    cell(tr, stamp(doc.time));
    cell(tr, level || doc.outcome || doc.type);
    cell(tr, doc.logger || doc.name);
    cell(tr, doc.msg != null ? doc.msg : (doc.event || ""), "msg");
    rows.insertBefore(tr, rows.firstChild);
    while (rows.childNodes.length > MAX_ROWS) { rows.removeChild(rows.lastChild); }
  }

  function start() {
    source = new EventSource(url);
    status.textContent = "connecting...";
    source.onopen = function () { status.textContent = "live"; };
    source.onmessage = function (event) {
      try { show(JSON.parse(event.data)); } catch (err) { status.textContent = "bad event: " + err; }
    };
    source.addEventListener("error", function (event) {
      if (event.data) { status.textContent = "tail stopped: " + event.data; source.close(); }
      else { status.textContent = "reconnecting..."; }
    });
    toggle.textContent = "stop";
  }

  function stop() {
    if (source) { source.close(); source = null; }
    status.textContent = "stopped";
    toggle.textContent = "start";
  }

  toggle.hidden = false;
  toggle.addEventListener("click", function () { if (source) { stop(); } else { start(); } });
  start();

  // Live refresh: the parts of a page marked data-live (counts, tables, the timeline) are fetched
  // again every data-refresh seconds (the option web_refresh) and swapped in place, without
  // reloading the page. The same URL is asked with the header X-Das-Live (the server then keeps
  // the session's one-shot messages); each part is matched by its id. Paused while the tab is
  // hidden; after an error the wait doubles (up to MAX_WAIT_S). A part holding the focus or an
  // open menu is left alone until the user is done with it. Without JavaScript, reload by hand.
  function liveRefresh() {
    var parts = document.querySelectorAll("[data-live][id]");
    var every = parseFloat(document.body.getAttribute("data-refresh") || "0");
    var status = document.getElementById("live-status");
    if (!parts.length || !(every > 0) || !window.fetch || !window.DOMParser) { return; }
    var MAX_WAIT_S = 120;
    var wait = every;
    var timer = null;
    var paused = false;
    var busy = false;

    function say(text, stale) {
      if (!status) { return; }
      status.hidden = false;
      status.textContent = text;
      status.classList.toggle("stale", !!stale);
    }

    function clock() { return new Date().toISOString().substring(11, 19) + "Z"; }

    function holdsUser(part) {
      var active = document.activeElement;
      if (active && active !== document.body && part.contains(active)) { return true; }
      return !!part.querySelector("details[open]");
    }

    function swap(fresh) {
      document.querySelectorAll("[data-live][id]").forEach(function (part) {
        var next = fresh.getElementById(part.id);
        if (!next || holdsUser(part) || next.outerHTML === part.outerHTML) { return; }
        part.replaceWith(document.adoptNode(next));
      });
      document.dispatchEvent(new CustomEvent("das:refreshed"));
    }

    function schedule(seconds) {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(tick, seconds * 1000);
    }

    function tick() {
      timer = null;
      if (paused || document.hidden || busy) { return; }
      busy = true;
      window.fetch(window.location.href, {headers: {"X-Das-Live": "1"}, credentials: "same-origin",
                                          cache: "no-store", redirect: "error"})
        .then(function (response) {
          if (response.status === 401) { throw new Error("logged out: reload to log in"); }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          swap(new DOMParser().parseFromString(html, "text/html"));
          wait = every;
          document.body.setAttribute("data-refreshed", String(Date.now()));
          say("live \u00b7 " + clock(), false);
        })
        .catch(function (error) {
          wait = Math.min(wait * 2, MAX_WAIT_S);
          say("not updated (" + String(error.message || error) + "); again in " + Math.round(wait) + " s", true);
        })
        .then(function () {
          busy = false;
          if (!paused && !document.hidden) { schedule(wait); }
        });
    }

    if (status) {
      status.title = "this page updates itself every " + every + " s; click to pause or resume";
      status.addEventListener("click", function () {
        paused = !paused;
        if (paused) { say("paused (click to resume)", true); } else { say("live", false); tick(); }
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        if (timer) { window.clearTimeout(timer); timer = null; }
        if (!paused) { say("paused while hidden", true); }
      } else if (!paused && !busy) {
        tick();  // back in view: bring the page up to date at once
      }
    });
    say("live", false);
    schedule(every);
  }
}());
