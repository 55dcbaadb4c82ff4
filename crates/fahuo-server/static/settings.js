// fahuo settings pages, written for this project. Shapes what a `data-api` form sends
// (app.js collects the fields; this runs on its `api:before` event, before the request):
//  - data-base='{json}' on the form: the current settings; the fields overlay them, so
//    settings without a field on the page are sent back unchanged;
//  - a field name with dots (credentials.app_key) becomes a nested object;
//  - data-list="comma|lines": text split into a list; data-null-if-empty: empty → null;
//    data-scale="100": yuan typed, fen sent;
//  - data-complement-all="a,b,c" on the form: the ticked `enabled` become `disabled` = the rest;
//  - data-lists="x,y": fields sent as [] when nothing is ticked;
//  - data-body-field="rules": that field's value is the whole body;
//  - data-api-template="/api/v1/shops/{shop_id}/...": the field fills the URL;
//  - [data-remove] checkbox: leaves the named field out (e.g. remove the logo).
// And: a file input with data-base64-into fills a hidden field with the file as base64;
// the supplier link form shows the link; the what-if button tries carrier rules unsaved.
"use strict";
(function () {
  function setPath(obj, path, value) {
    var parts = path.split(".");
    var o = obj;
    for (var i = 0; i < parts.length - 1; i++) {
      if (typeof o[parts[i]] !== "object" || o[parts[i]] === null) o[parts[i]] = {};
      o = o[parts[i]];
    }
    o[parts[parts.length - 1]] = value;
  }

  function named(form, selector) {
    return Array.prototype.filter.call(form.querySelectorAll(selector), function (el) { return el.name; });
  }

  document.addEventListener("api:before", function (e) {
    var form = e.target;
    if (!form.closest("[data-settings]")) return;
    var body = e.detail;
    named(form, "[data-list]").forEach(function (el) {
      var sep = el.getAttribute("data-list") === "lines" ? /\r?\n/ : /[,，、;；\s]+/;
      body[el.name] = el.value.split(sep).map(function (s) { return s.trim(); }).filter(Boolean);
    });
    named(form, "[data-scale]").forEach(function (el) {
      if (typeof body[el.name] === "number") {
        body[el.name] = Math.round(body[el.name] * Number(el.getAttribute("data-scale")));
      }
    });
    named(form, "[data-null-if-empty]").forEach(function (el) {
      if (el.value.trim() === "") body[el.name] = null;
    });
    form.querySelectorAll("[data-remove]").forEach(function (el) {
      if (el.checked) delete body[el.getAttribute("data-remove")];
    });
    var all = form.getAttribute("data-complement-all");
    if (all !== null) {
      var on = body.enabled || [];
      body.disabled = all.split(",").filter(function (c) { return c && on.indexOf(c) < 0; });
      delete body.enabled;
    }
    (form.getAttribute("data-lists") || "").split(",").filter(Boolean).forEach(function (n) {
      if (!Array.isArray(body[n])) body[n] = body[n] === undefined ? [] : [body[n]];
    });
    var template = form.getAttribute("data-api-template");
    if (template) {
      form.setAttribute("data-api", template.replace(/\{(\w+)\}/g, function (_, k) {
        var v = body[k];
        delete body[k];
        return encodeURIComponent(v === undefined ? "" : v);
      }));
    }
    var out = {};
    var base = form.getAttribute("data-base");
    if (base) out = JSON.parse(base);
    Object.keys(body).forEach(function (k) { setPath(out, k, body[k]); });
    var field = form.getAttribute("data-body-field");
    if (field) out = out[field] || {};
    Object.keys(body).forEach(function (k) { delete body[k]; });
    Object.keys(out).forEach(function (k) { body[k] = out[k]; });
  });

  document.addEventListener("change", function (e) {
    var input = e.target;
    var target = input.getAttribute && input.getAttribute("data-base64-into");
    if (!target || !input.files || !input.files[0]) return;
    var hidden = input.form.querySelector('[name="' + target + '"]');
    var reader = new FileReader();
    reader.onload = function () {
      var url = String(reader.result);
      hidden.value = url.slice(url.indexOf(",") + 1);
    };
    reader.readAsDataURL(input.files[0]);
  });

  document.addEventListener("api:done", function (e) {
    var form = e.target;
    if (form.hasAttribute("data-show-link")) {
      var out = form.querySelector("output");
      if (out && e.detail && e.detail.url) out.textContent = e.detail.url;
    } else if (form.id && form.id.indexOf("supplier-rotate-") === 0) {
      location.reload();
    }
  });

  function fen(n) { return (n / 100).toFixed(2); }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("#carrier-what-if");
    if (!button) return;
    var form = button.form;
    var out = document.getElementById("what-if-result");
    var rules;
    try { rules = JSON.parse(form.querySelector('[name="rules"]').value); } catch (err) {
      out.textContent = String(err);
      return;
    }
    button.disabled = true;
    window.fahuo.api("POST", button.getAttribute("data-url"), rules).then(function (r) {
      button.disabled = false;
      if (!r.ok) { out.textContent = window.fahuo.errorText(r); return; }
      var w = r.body, zh = window.fahuo.zh;
      out.textContent = zh
        ? "比较 " + w.compared + " 个包裹：原运费 ¥" + fen(w.total_before) + "，新规则 ¥" + fen(w.total_after) +
          "，差额 ¥" + fen(w.delta) + "；换快递 " + w.carrier_changed + " 个"
        : w.compared + " parcels compared: before ¥" + fen(w.total_before) + ", after ¥" + fen(w.total_after) +
          ", difference ¥" + fen(w.delta) + "; " + w.carrier_changed + " change carrier";
    });
  });
})();
