// fahuo console, written for this project: the order list. Selection across pages (kept in
// sessionStorage per tab and filter), "select all N matching" (the bulk API then gets the
// filter instead of ids), the bulk action bar, and the keyboard: "/" search, j/k move,
// x select, Enter open.
"use strict";
(function () {
  var root, zh, key, selected, allMatching = null, focusIndex = -1;

  function T(zhText, enText) { return zh ? zhText : enText; }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-order-id]")); }
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("input.row-select")); }

  function load() {
    try { return JSON.parse(sessionStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function save() {
    try { sessionStorage.setItem(key, JSON.stringify(Object.keys(selected).map(Number))); } catch (e) { /* private mode */ }
  }

  // The current filter as the bulk API's `filter` object (same fields as GET /api/v1/orders).
  function filterObject() {
    var f = { tab: root.getAttribute("data-current-tab") };
    new URLSearchParams(root.getAttribute("data-filter") || "").forEach(function (v, k) {
      f[k] = (k === "shop_id" || k === "warehouse_id") ? Number(v) : v;
    });
    return f;
  }
  function filterQuery() {
    var qs = root.getAttribute("data-filter") || "";
    return "tab=" + encodeURIComponent(root.getAttribute("data-current-tab")) + (qs ? "&" + qs : "");
  }

  function render() {
    var n = allMatching ? allMatching.count : Object.keys(selected).length;
    document.getElementById("selected-count").textContent = allMatching && allMatching.more ? n + "+" : String(n);
    boxes().forEach(function (b) { b.checked = !!allMatching || !!selected[b.value]; });
    var page = document.getElementById("select-page"), all = boxes();
    page.checked = all.length > 0 && all.every(function (b) { return b.checked; });
    page.indeterminate = !page.checked && all.some(function (b) { return b.checked; });
    var bar = document.getElementById("bulk-bar");
    bar.classList.toggle("active", n > 0);
    var btn = document.getElementById("select-all-matching");
    btn.setAttribute("aria-pressed", allMatching ? "true" : "false");
    btn.textContent = allMatching
      ? T("已选择全部 " + n + (allMatching.more ? "+" : "") + " 个符合条件的订单", "All " + n + (allMatching.more ? "+" : "") + " matching orders selected")
      : btn.getAttribute("data-label");
  }

  function toggle(id, on) {
    if (allMatching) { allMatching = null; }
    if (on) { selected[id] = true; } else { delete selected[id]; }
    save();
    render();
  }

  function clearSelection() {
    selected = {};
    allMatching = null;
    save();
    render();
  }

  function selectAllMatching() {
    if (allMatching) { allMatching = null; render(); return; }
    fahuo.api("GET", "/orders/count?" + filterQuery()).then(function (r) {
      if (!r.ok) { showResult(fahuo.errorText(r), []); return; }
      allMatching = { count: r.body.count, more: r.body.more };
      render();
    });
  }

  function showResult(message, failures) {
    var box = document.getElementById("bulk-result");
    box.hidden = false;
    box.textContent = "";
    var p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    if (failures.length) {
      p.className = "error";
      var ul = document.createElement("ul");
      failures.forEach(function (f) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/orders/" + f.order_id;
        a.textContent = "#" + f.order_id;
        li.appendChild(a);
        li.appendChild(document.createTextNode(" " + (f.message || f.code || "")));
        ul.appendChild(li);
      });
      box.appendChild(ul);
      var again = document.createElement("button");
      again.type = "button";
      again.textContent = T("刷新列表", "Reload the list");
      again.addEventListener("click", function () { location.reload(); });
      box.appendChild(again);
    }
  }

  function bulk(action, button) {
    var ids = Object.keys(selected).map(Number);
    if (!allMatching && ids.length === 0) {
      showResult(T("请先选择订单", "Select orders first"), []);
      return;
    }
    if (action === "export") {
      location.assign("/api/v1/orders/export?" + (allMatching ? filterQuery() : "ids=" + ids.join(",")));
      return;
    }
    var body = { action: action };
    if (allMatching) { body.filter = filterObject(); } else { body.ids = ids; }
    if (action === "choose_carrier") {
      body.carrier = document.getElementById("bulk-carrier").value;
      if (!body.carrier) { showResult(T("请选择快递公司", "Choose a carrier"), []); document.getElementById("bulk-carrier").focus(); return; }
    }
    if (action === "assign_supplier") {
      var sup = document.getElementById("bulk-supplier").value;
      if (!sup) { showResult(T("请选择供应商", "Choose a supplier"), []); document.getElementById("bulk-supplier").focus(); return; }
      body.supplier_id = Number(sup);
    }
    var n = allMatching ? allMatching.count : ids.length;
    if (n > 1 && !window.confirm(T("对 " + n + " 个订单执行「" + button.textContent + "」？", button.textContent + " " + n + " orders?"))) return;
    var buttons = document.querySelectorAll("[data-bulk-action]");
    buttons.forEach(function (b) { b.disabled = true; });
    fahuo.api("POST", "/api/v1/orders/bulk", body).then(function (r) {
      buttons.forEach(function (b) { b.disabled = false; });
      if (!r.ok) { showResult(fahuo.errorText(r), []); return; }
      var done = (r.body && r.body.done) || [], failed = (r.body && r.body.failed) || [];
      if (action === "print" && r.body && r.body.print_job_id) {
        clearSelection();
        location.assign("/printing/" + r.body.print_job_id);
        return;
      }
      showResult(T("成功 " + done.length + " 个，失败 " + failed.length + " 个", done.length + " done, " + failed.length + " failed"), failed);
      selected = {};
      failed.forEach(function (f) { selected[f.order_id] = true; });
      allMatching = null;
      save();
      render();
      if (failed.length === 0) setTimeout(function () { location.reload(); }, 800);
    });
  }

  function focusRow(i) {
    var list = rows();
    if (!list.length) return;
    focusIndex = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (r) { r.classList.remove("focused"); });
    list[focusIndex].classList.add("focused");
    list[focusIndex].focus();
  }

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA" || el.isContentEditable);
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("orders-page");
    if (!root) return;
    zh = window.fahuo ? fahuo.zh : true;
    key = "fahuo.orders.selected:" + filterQuery();
    selected = {};
    load().forEach(function (id) { selected[id] = true; });

    boxes().forEach(function (b) {
      b.addEventListener("change", function () { toggle(b.value, b.checked); });
    });
    document.getElementById("select-page").addEventListener("change", function (e) {
      allMatching = null;
      boxes().forEach(function (b) { if (e.target.checked) { selected[b.value] = true; } else { delete selected[b.value]; } });
      save();
      render();
    });
    document.getElementById("select-all-matching").addEventListener("click", selectAllMatching);
    document.getElementById("clear-selection").addEventListener("click", clearSelection);
    document.querySelectorAll("[data-bulk-action]").forEach(function (b) {
      b.addEventListener("click", function () { bulk(b.getAttribute("data-bulk-action"), b); });
    });
    rows().forEach(function (r, i) {
      r.addEventListener("click", function (e) {
        if (e.target.closest("a, input, button")) return;
        focusRow(i);
      });
    });

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(e.target)) {
        if (e.key === "Escape") e.target.blur();
        return;
      }
      var list = rows();
      if (e.key === "/") {
        e.preventDefault();
        var s = document.getElementById("order-search");
        s.focus();
        s.select();
      } else if (e.key === "j") {
        e.preventDefault();
        focusRow(focusIndex + 1);
      } else if (e.key === "k") {
        e.preventDefault();
        focusRow(focusIndex < 0 ? 0 : focusIndex - 1);
      } else if (e.key === "x" && focusIndex >= 0 && list[focusIndex]) {
        e.preventDefault();
        var id = list[focusIndex].getAttribute("data-order-id");
        toggle(id, !(selected[id] && !allMatching));
      } else if (e.key === "Enter" && focusIndex >= 0 && list[focusIndex] && e.target.tagName !== "A" && e.target.tagName !== "BUTTON") {
        e.preventDefault();
        location.assign("/orders/" + list[focusIndex].getAttribute("data-order-id"));
      }
    });
    render();
  });
})();
