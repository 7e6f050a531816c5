// das-actors panel: progressive enhancement only. No inline script (CSP default-src 'self');
// data arrives through data- attributes and the API; text is inserted with textContent.
(function () {
  "use strict";

  // A <select data-autosubmit> submits its (GET) form when changed: the class picker.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Forms with data-confirm ask first (remove, cancel).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

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
}());
