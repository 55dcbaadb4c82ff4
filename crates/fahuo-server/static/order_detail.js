// Order page script, written for this project: the audited "show receiver" button (the clear
// receiver replaces the masked one in place) and the print button (goes to the print job).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var zh = window.fahuo.zh;
  var reveal = document.getElementById("reveal-receiver");
  if (reveal) {
    reveal.addEventListener("click", function () {
      reveal.disabled = true;
      window.fahuo.api("POST", reveal.getAttribute("data-url")).then(function (r) {
        var box = document.querySelector("[data-reveal-error]");
        if (!r.ok) {
          reveal.disabled = false;
          if (box) { box.textContent = window.fahuo.errorText(r); box.hidden = false; }
          return;
        }
        var b = r.body, dl = document.getElementById("receiver");
        var set = function (field, text) {
          var el = dl.querySelector('[data-field="' + field + '"]');
          if (el) el.textContent = text;
        };
        set("name", b.name);
        set("phone", b.phone);
        set("address", [b.province, b.city, b.county, b.detail].filter(Boolean).join(" "));
        dl.classList.add("revealed");
        reveal.hidden = true;
        if (box) box.hidden = true;
      });
    });
  }
  var print = document.getElementById("print-form");
  if (print) {
    print.addEventListener("api:done", function (e) {
      var out = e.detail || {};
      if (out.print_job_id) {
        location.assign("/printing/" + out.print_job_id);
        return;
      }
      var failed = (out.failed || []).map(function (f) { return f.message; }).join("; ");
      var box = print.querySelector("[data-api-error]") || document.createElement("p");
      box.setAttribute("data-api-error", "");
      box.className = "error";
      box.setAttribute("role", "alert");
      box.textContent = (zh ? "未能打印：" : "Not printed: ") + failed;
      box.hidden = false;
      print.appendChild(box);
    });
  }
});
