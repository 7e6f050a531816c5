// The script page's live panel: "run now" without leaving the page. The form is posted with fetch
// (the CSRF token is one of its fields); the answer names the run, its SSE tail (log lines and the
// result document of that run only) and the URL of its output fragment. Lines are inserted with
// textContent; the output fragment is HTML the server built and escaped. No inline script (CSP).
// Without fetch or EventSource the button posts the form and the page comes back with a link.
(function () {
  "use strict";
  var form = document.getElementById("script-form");
  var button = document.getElementById("run-script");
  var panel = document.getElementById("live-run");
  if (!form || !button || !panel || !window.fetch || !window.EventSource || !window.FormData) { return; }
  var lines = document.getElementById("live-run-lines");
  var output = document.getElementById("live-run-output");
  var status = document.getElementById("live-run-status");
  var runId = document.getElementById("live-run-id");
  var link = document.getElementById("live-run-link");
  var source = null;
  var LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"};

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "badge " + (kind || "");
  }

  function line(doc) {
    var level = doc.levelname || LEVELS[doc.level] || "";
    var row = document.createElement("span");
    row.className = "line level-" + String(level).toLowerCase();
    row.setAttribute("data-testid", "live-line");
    var who = doc.logger === "stdout" || doc.logger === "stderr" ? doc.logger : (doc.logger || "");
    row.textContent = (level && level !== "INFO" ? level + " " : "") + (who && who.indexOf("task.") !== 0 ? who + ": " : "")
      + (doc.msg == null ? "" : String(doc.msg)) + "\n";
    lines.appendChild(row);
    lines.scrollTop = lines.scrollHeight;
  }

  function finished(doc) {
    setStatus(doc.outcome || "finished", doc.outcome);
    if (source) { source.close(); source = null; }
    fetch(panel.getAttribute("data-output-url"), {credentials: "same-origin"}).then(function (resp) {
      return resp.ok ? resp.text() : Promise.reject(new Error("HTTP " + resp.status));
    }).then(function (html) {
      output.innerHTML = html;  // built and escaped by the server (web/templates/output_fragment.mako)
    }).catch(function (err) { output.textContent = "could not load the output: " + err.message; });
  }

  function follow(run) {
    if (source) { source.close(); }
    panel.hidden = false;
    lines.textContent = "";
    output.textContent = "";
    runId.textContent = run.run_id;
    link.href = run.run_url;
    panel.setAttribute("data-output-url", run.output_url);
    setStatus("queued", "state-waiting");
    source = new EventSource(run.tail_url);
    source.onmessage = function (event) {
      var doc;
      try { doc = JSON.parse(event.data); } catch (err) { return; }
      if (doc.type === "reslog") { setStatus("running", "state-running"); line(doc); }
      else if (doc.type === "result") { finished(doc); }
    };
    source.addEventListener("error", function (event) {
      if (event.data || source.readyState === EventSource.CLOSED) {
        // An error event, or a tail the server refused (every live tail taken): the run goes on.
        setStatus("not followed: see the run's page", "failed");
        source.close();
        source = null;
      }
    });
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    var textarea = document.getElementById("script-source");
    if (textarea && textarea.editorView) { textarea.value = textarea.editorView.state.doc.toString(); }
    var body = new FormData(form);  // multipart, as the form itself posts (web.multipart: no 100 KiB cap)
    button.disabled = true;
    fetch(button.getAttribute("formaction"), {
      method: "POST", body: body, credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (resp) {
      return resp.json().then(function (data) { return {ok: resp.ok, data: data}; });
    }).then(function (answer) {
      if (!answer.ok) {
        panel.hidden = false;
        setStatus("refused", "failed");
        lines.textContent = (answer.data.error && answer.data.error.message) || "refused";
        return;
      }
      follow(answer.data);
    }).catch(function (err) {
      panel.hidden = false;
      setStatus("error", "failed");
      lines.textContent = String(err);
    }).finally(function () { button.disabled = false; });
  });

  // A page that came back from a posted "run now" (no JavaScript then) follows that run now.
  if (!panel.hidden && panel.getAttribute("data-stream-url")) {
    follow({run_id: runId.textContent, run_url: link.getAttribute("href"), tail_url: panel.getAttribute("data-stream-url"),
            output_url: panel.getAttribute("data-output-url")});
  }
}());
