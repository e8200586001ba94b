// MS AAD page: One-time Sync without leaving the page, and the latest look-up's status live
// (queued, running with pages read and users applied, then the counts or the error sentence).
(function () {
  "use strict";
  var box = document.getElementById("latest-run");
  var forms = document.querySelectorAll("form[data-run-form]");  // One-time Sync and Preview
  var note = document.getElementById("sync-message");
  if (!box || !forms.length || !note) { return; }
  var statusUrl = box.getAttribute("data-status-url");
  var POLL_MS = 1000;
  var timer = null;
  var queuedNote = false;  // the message says "queued": true until the run leaves the queue

  function say(text, level) {
    queuedNote = false;
    note.textContent = text || "";
    note.className = text ? "mt-2 alert py-2 alert-" + level : "mt-2";
    note.hidden = !text;
  }

  function render(data) {
    // The server renders the status fragment (escaped by Django templates); the script only swaps it in.
    box.innerHTML = data.html;
    var active = Boolean(data.run && data.run.active);
    box.setAttribute("data-active", active ? "true" : "false");
    return active;
  }

  function poll() {
    timer = null;
    fetch(statusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var status = data.run ? data.run.status : "";
        if (queuedNote && status !== "queued") { say("", "info"); }  // the status below says it started
        if (render(data)) {
          later(POLL_MS);
        } else if (data.run && data.run.status === "succeeded") {
          say("The look-up finished: the counts are below.", "success");
        } else if (data.run && data.run.status === "failed") {
          say("The look-up failed: the reason is below.", "danger");
        } else {
          say("", "info");
        }
      })
      .catch(function () {
        say("Lost contact with the portal; retrying…", "warning");
        later(POLL_MS * 3);
      });
  }

  function later(ms) {
    if (timer === null) { timer = window.setTimeout(poll, ms); }
  }

  Array.prototype.forEach.call(forms, function (form) { form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.querySelector("[form='" + form.id + "']");
    if (button) { button.disabled = true; }  // one request at a time; enabled again when it answers
    fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
      body: new FormData(form)  // carries the CSRF token
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) {
        say(answer.data.message, answer.ok ? "info" : "warning");
        queuedNote = answer.ok;
        if (answer.data.html !== undefined && render(answer.data)) { later(POLL_MS); }
      })
      .catch(function () {
        say("Could not reach the portal to start the look-up; check the connection and try again.", "danger");
      })
      .then(function () {
        if (button) { button.disabled = false; }
      });
  }); });

  if (box.getAttribute("data-active") === "true") { later(POLL_MS); }
})();
