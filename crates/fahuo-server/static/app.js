// fahuo console script, written for this project: deadline countdowns on the order list.
"use strict";
(function () {
  function remaining(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var h = Math.floor(minutes / 60), m = minutes % 60;
    return (h > 0 ? h + "小时" : "") + m + "分";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-deadline")) - now;
      if (isNaN(left)) return;
      el.title = el.textContent.trim();
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 6 * 3600 * 1000);
      el.textContent = left < 0 ? "已超时 " + remaining(left) : "剩 " + remaining(left);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
  });
})();
