// Printing page script, written for this project: a new print job opens its page (or says
// which orders did not print); the pick list is previewed from a blob (the server sends it as
// a download); "print" prints a preview frame through the browser's print dialog.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("print-new");
  if (form) {
    form.addEventListener("api:done", function (e) {
      var out = e.detail || {};
      if (out.print_job_id) { location.assign("/printing/" + out.print_job_id); return; }
      var prefix = document.getElementById("not-printed-text");
      var box = form.querySelector("[data-api-error]");
      box.textContent = (prefix ? prefix.innerHTML : "") +
        (out.failed || []).map(function (f) { return f.order_id + " " + f.message; }).join("; ");
      box.hidden = false;
    });
  }
  var pick = document.getElementById("pick-list-preview");
  if (pick) {
    fetch(pick.getAttribute("data-src"), { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.blob() : null;
    }).then(function (blob) {
      if (blob) pick.src = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
    });
  }
  document.querySelectorAll("button[data-frame]").forEach(function (b) {
    b.addEventListener("click", function () {
      var frame = document.getElementById(b.getAttribute("data-frame"));
      if (!frame || !frame.contentWindow) return;
      frame.contentWindow.focus();
      frame.contentWindow.print();
    });
  });
});
