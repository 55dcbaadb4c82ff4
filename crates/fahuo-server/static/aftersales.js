// fahuo console: the after-sale page's forms, written for this project.
//  - photo inputs ([data-photos="photos[]"]) become base64 fields of the inspection body;
//  - datetime-local fields named in data-local-times are sent as UTC instants;
//  - an amount in yuan (data-yuan="from to") is sent in fen.
"use strict";
(function () {
  function readAll(files) {
    return Promise.all(Array.prototype.map.call(files, function (file) {
      return new Promise(function (resolve, reject) {
        var r = new FileReader();
        r.onload = function () { resolve(String(r.result).split(",").pop()); };
        r.onerror = function () { reject(r.error); };
        r.readAsDataURL(file);
      });
    }));
  }

  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches("input[type=file][data-photos]")) return;
    var form = input.form, name = input.getAttribute("data-photos");
    form.querySelectorAll('input[type=hidden][data-photo]').forEach(function (el) { el.remove(); });
    readAll(input.files).then(function (encoded) {
      encoded.forEach(function (b64) {
        var h = document.createElement("input");
        h.type = "hidden"; h.name = name; h.value = b64; h.setAttribute("data-photo", "");
        form.appendChild(h);
      });
    });
  });

  document.addEventListener("api:before", function (e) {
    var form = e.target, body = e.detail;
    var times = (form.getAttribute("data-local-times") || "").split(/\s+/).filter(Boolean);
    times.forEach(function (k) {
      if (body[k]) body[k] = new Date(body[k]).toISOString();
    });
    var yuan = (form.getAttribute("data-yuan") || "").split(/\s+/);
    if (yuan.length === 2 && body[yuan[0]] !== undefined) {
      body[yuan[1]] = Math.round(Number(body[yuan[0]]) * 100);
      delete body[yuan[0]];
    }
  });
})();
