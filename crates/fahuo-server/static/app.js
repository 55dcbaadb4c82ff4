// fahuo console script, written for this project. Loaded on every page:
//  - deadline countdowns ([data-deadline]);
//  - `data-api` forms: <form data-api="/api/v1/orders/5/approve" data-method="POST"
//    data-then="reload"> sends its fields as JSON with the page's CSRF token and shows the
//    API's error message inside the form (in its [data-api-error] element, or a new one);
//  - `fahuo.api(method, url, body)` for page scripts.
"use strict";
(function () {
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // Calls the JSON API; resolves to {ok, status, body} and never rejects.
  function api(method, url, body) {
    var init = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
    if (body !== undefined && body !== null) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
        return { ok: resp.ok, status: resp.status, body: parsed };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: { message: zh ? "网络连接失败" : "Network error" } } };
    });
  }

  function errorText(result) {
    var b = result.body;
    // The API says every error in both languages.
    if (b && b.error && zh && b.error.message_zh) return b.error.message_zh;
    if (b && b.error && b.error.message) return b.error.message;
    if (result.status === 403) return zh ? "没有权限" : "Not allowed";
    if (result.status === 404) return zh ? "找不到" : "Not found";
    return (zh ? "操作失败（" : "Failed (") + result.status + (zh ? "）" : ")");
  }

  // A field's value by its data-type: number, bool (checkbox), ids (numbers separated by
  // commas, spaces or new lines), json, or text (empty text is left out).
  function fieldValue(el) {
    var type = el.getAttribute("data-type") || "text";
    if (type === "bool") return el.checked;
    var v = el.value;
    if (type === "number") return v.trim() === "" ? undefined : Number(v);
    if (type === "ids") {
      return v.split(/[\s,，]+/).filter(Boolean).map(Number);
    }
    if (type === "json") return v.trim() === "" ? undefined : JSON.parse(v);
    return v.trim() === "" && !el.hasAttribute("data-keep-empty") ? undefined : v;
  }

  // The form's fields as an object; a name ending in [] collects every checked or filled
  // field of that name into an array.
  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.name === "csrf") return;
      if ((el.type === "checkbox" || el.type === "radio") && el.getAttribute("data-type") !== "bool" && !el.checked) return;
      var name = el.name, list = name.slice(-2) === "[]";
      if (list) name = name.slice(0, -2);
      var value = fieldValue(el);
      if (value === undefined) return;
      body[name] = list ? (body[name] || []).concat(value) : value;
    });
    return body;
  }

  function showError(form, message) {
    var box = form.querySelector("[data-api-error]");
    if (!box) {
      box = document.createElement("p");
      box.setAttribute("data-api-error", "");
      box.className = "error";
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = message;
    box.hidden = !message;
  }

  // What happens after success: "reload" (default), "redirect:/path/{field}" (fields of the
  // response replace {field}), "event" (dispatches `api:done` on the form with the response).
  function then(form, result) {
    var how = form.getAttribute("data-then") || "reload";
    if (how === "event") {
      form.dispatchEvent(new CustomEvent("api:done", { bubbles: true, detail: result.body }));
    } else if (how.indexOf("redirect:") === 0) {
      location.assign(how.slice(9).replace(/\{(\w+)\}/g, function (_, k) {
        return result.body && result.body[k] !== undefined ? encodeURIComponent(result.body[k]) : "";
      }));
    } else {
      location.reload();
    }
  }

  document.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-api]");
    if (!form) return;
    e.preventDefault();
    var confirmText = form.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) return;
    var body;
    try { body = formBody(form); } catch (err) { showError(form, String(err)); return; }
    form.dispatchEvent(new CustomEvent("api:before", { bubbles: true, detail: body }));
    var method = (form.getAttribute("data-method") || "POST").toUpperCase();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    api(method, form.getAttribute("data-api"), method === "GET" ? null : body).then(function (result) {
      buttons.forEach(function (b) { b.disabled = false; });
      form.removeAttribute("aria-busy");
      if (result.ok) { showError(form, ""); then(form, result); } else { showError(form, errorText(result)); }
    });
  });

  function remaining(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var h = Math.floor(minutes / 60), m = minutes % 60;
    return zh ? (h > 0 ? h + "小时" : "") + m + "分" : (h > 0 ? h + "h " : "") + m + "m";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-deadline")) - now;
      if (isNaN(left)) return;
      if (!el.title) el.title = el.textContent.trim();
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 6 * 3600 * 1000);
      el.textContent = left < 0
        ? (zh ? "已超时 " : "Late ") + remaining(left)
        : (zh ? "剩 " : "") + remaining(left) + (zh ? "" : " left");
    });
  }

  window.fahuo = { api: api, errorText: errorText, formBody: formBody, zh: zh };
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
  });
})();
