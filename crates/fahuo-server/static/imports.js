// fahuo imports page (导入), written for this project. The chosen file itself is the request
// body (not multipart), sent with the session's CSRF token:
//   orders:    POST /api/v1/orders/import?shop_id=..&mode=preview, then mode=commit (same file)
//   shipments: POST /api/v1/shipment-imports?file_name=.. (preview, stored),
//              POST /api/v1/shipment-imports/{id}/apply, then GET /api/v1/shipment-imports/{id}
//              until applied, with every row's outcome.
// A file the API cannot read shows the API's message and nothing is applied. Texts come from
// the page's data attributes.
"use strict";
(function () {
  var t = {};
  var XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  }

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function contentType(file) {
    if (file.type && file.type !== "application/json") return file.type;
    return /\.xlsx$/i.test(file.name) ? XLSX : "text/csv";
  }

  // Sends the file as the body; resolves to {ok, status, body} like fahuo.api.
  function upload(url, file) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": contentType(file) },
      body: file
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
        return { ok: resp.ok, status: resp.status, body: parsed };
      });
    }, function () {
      return { ok: false, status: 0, body: null };
    });
  }

  function apiError(result) {
    var e = result.body && result.body.error;
    if (e) {
      // File errors carry a precise Chinese text in message_zh; for the others `message` is
      // the precise one.
      var generic = ["conflict", "illegal_transition", "invalid_input"];
      if (fahuo.zh && e.message_zh && generic.indexOf(e.code) < 0) return e.message_zh;
      if (e.message) return e.message;
    }
    return fahuo.errorText(result);
  }

  // ---------------------------------------------------------------- building blocks
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function table(headers, rows, rowClass) {
    var tbl = el("table");
    var tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", { scope: "col" }, h)); });
    tbl.appendChild(el("thead")).appendChild(tr);
    var body = tbl.appendChild(el("tbody"));
    rows.forEach(function (cells, i) {
      var r = el("tr", rowClass ? rowClass(i) : {});
      cells.forEach(function (c) { r.appendChild(el("td", {}, c)); });
      body.appendChild(r);
    });
    return tbl;
  }

  function message(box, text, kind) {
    box.textContent = "";
    box.appendChild(el("p", kind === "error" ? { class: "error", role: "alert" } : { class: "summary " + (kind || "") }, text));
  }

  // ---------------------------------------------------------------- orders
  function orderStatus(s) {
    return {
      "new": t.statusNew, created: t.statusCreated, already_imported: t.statusAlreadyImported,
      invalid: t.statusInvalid, skipped: t.statusSkipped
    }[s] || s;
  }

  function showOrderReport(box, report) {
    var s = report.summary;
    var parts = [
      orderStatus(report.committed ? "created" : "new") + " " + (report.committed ? s.created : s.ok),
      orderStatus("already_imported") + " " + s.duplicates,
      orderStatus("invalid") + " " + s.failed
    ];
    var head = fill(t.orderSummary, { n: s.rows, m: parts.join(fahuo.zh ? "，" : ", ") });
    if (report.committed) head = fill(t.orderCreated, { n: s.created }) + " · " + head;
    else if (report.mode === "commit") head = t.orderNothing + " · " + head;
    message(box, head, report.committed && s.created > 0 ? "ok" : "");
    var bad = report.rows.filter(function (r) { return !r.ok; });
    if (bad.length) {
      box.appendChild(el("h3", {}, t.rowsInError));
      box.appendChild(table([t.colRow, t.colOrder, t.colErrors], bad.map(function (r) {
        return [r.row, r.order_no || "", (r.errors || []).map(function (e) {
          var text = fahuo.zh ? e.message_zh : e.message;
          return e.column ? e.column + (fahuo.zh ? "：" : ": ") + text : text;
        }).join("；")];
      }), function () { return { class: "bad", "data-row": "" }; }));
    }
    if (report.orders.length) {
      box.appendChild(el("h3", {}, t.ordersInFile));
      box.appendChild(table([t.colOrder, t.colRow, t.colStatus, t.colReceiver, t.colQuantity],
        report.orders.map(function (o) {
          var rc = o.receiver;
          return [o.platform_order_id, o.rows.join(", "), orderStatus(o.status),
            rc ? rc.name + " " + rc.phone + " " + rc.province + rc.city + rc.county : "", o.quantity];
        }), function (i) {
          var st = report.orders[i].status;
          return { "data-status": st, class: st === "invalid" ? "bad" : "" };
        }));
    }
  }

  function orderSection() {
    var form = document.getElementById("order-form");
    if (!form) return;
    var fileInput = document.getElementById("order-file"), shop = document.getElementById("order-shop");
    var preview = document.getElementById("order-preview-button"), apply = document.getElementById("order-apply-button");
    var box = document.getElementById("order-result");
    var previewed = null;

    function url(mode) {
      return "/api/v1/orders/import?shop_id=" + encodeURIComponent(shop.value) + "&mode=" + mode;
    }
    function reset() { previewed = null; apply.disabled = true; }
    fileInput.addEventListener("change", function () { reset(); box.textContent = ""; });
    shop.addEventListener("change", reset);

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      reset();
      var file = fileInput.files[0];
      if (!file) { message(box, t.chooseFile, "error"); return; }
      if (!shop.value) return;
      preview.disabled = true;
      message(box, t.working, "");
      upload(url("preview"), file).then(function (r) {
        preview.disabled = false;
        if (!r.ok) { message(box, apiError(r), "error"); return; }
        showOrderReport(box, r.body);
        if (r.body.summary.ok > 0) { previewed = { file: file, shop: shop.value }; apply.disabled = false; }
      });
    });

    apply.addEventListener("click", function () {
      if (!previewed) return;
      apply.disabled = true;
      preview.disabled = true;
      message(box, t.working, "");
      upload(url("commit"), previewed.file).then(function (r) {
        preview.disabled = false;
        previewed = null;
        if (!r.ok) { message(box, apiError(r), "error"); return; }
        showOrderReport(box, r.body);
      });
    });
  }

  // ---------------------------------------------------------------- shipments
  // A queued row's write-back, as the API names it (pending, succeeded, conflict, failed).
  function shipmentState(state) {
    var names = fahuo.zh
      ? { pending: "等待平台确认", succeeded: "平台已确认", conflict: "平台已有其他单号", failed: "平台未接受" }
      : { pending: "waiting for the platform", succeeded: "accepted by the platform", conflict: "platform has another number", failed: "refused by the platform" };
    return names[state] || state;
  }

  function rowOutcome(row) {
    if (row.outcome === "queued") {
      return t.rowQueued + (row.shipment_state ? " · " + shipmentState(row.shipment_state) : "") +
        (row.shipment_error ? " · " + row.shipment_error : "");
    }
    if (row.outcome === "skipped") return t.rowSkipped + (row.verdict_message ? " · " + row.verdict_message : "");
    return row.verdict_code ? row.verdict_message || row.verdict_code : t.rowReady;
  }

  function countsText(counts) {
    var names = { ready: t.rowReady, skipped: t.rowSkipped, queued: t.rowQueued };
    return Object.keys(counts).map(function (k) { return (names[k] || shipmentState(k)) + " " + counts[k]; })
      .join(fahuo.zh ? "，" : ", ");
  }

  function shipmentRows(rows, outcome) {
    return table([t.colRow, t.colOrder, t.colCarrier, t.colTracking, outcome ? t.colOutcome : t.colVerdict],
      rows.map(function (r) {
        return [r.row, r.order_no, r.carrier_code || "", r.tracking_no || "",
          outcome ? rowOutcome(r) : (r.verdict_code ? r.verdict_message || r.verdict_code : t.rowReady)];
      }), function (i) {
        var r = rows[i];
        return { class: r.verdict_code || r.shipment_error ? "bad" : "", "data-row": r.row };
      });
  }

  function shipmentSection() {
    var form = document.getElementById("shipment-form");
    if (!form) return;
    var fileInput = document.getElementById("shipment-file");
    var preview = document.getElementById("shipment-preview-button"), apply = document.getElementById("shipment-apply-button");
    var box = document.getElementById("shipment-result");
    var importId = null, timer = null;

    function stop() { if (timer) { clearTimeout(timer); timer = null; } }
    fileInput.addEventListener("change", function () { stop(); importId = null; apply.disabled = true; box.textContent = ""; });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      stop();
      importId = null;
      apply.disabled = true;
      var file = fileInput.files[0];
      if (!file) { message(box, t.chooseFile, "error"); return; }
      preview.disabled = true;
      message(box, t.working, "");
      upload("/api/v1/shipment-imports?file_name=" + encodeURIComponent(file.name), file).then(function (r) {
        preview.disabled = false;
        if (!r.ok) { message(box, apiError(r), "error"); return; }
        var p = r.body;
        message(box, fill(t.shipmentSummary, { n: p.rows.length, m: p.ready }), "");
        box.appendChild(shipmentRows(p.rows, false));
        if (p.ready > 0) { importId = p["import"].id; apply.disabled = false; }
        else box.appendChild(el("p", { class: "muted" }, t.shipmentNothing));
      });
    });

    function poll(id, tries) {
      fahuo.api("GET", "/api/v1/shipment-imports/" + id).then(function (r) {
        if (!r.ok) { message(box, apiError(r), "error"); return; }
        var st = r.body, imp = st["import"];
        var done = imp.state === "applied";
        message(box, done ? fill(t.shipmentApplied, { n: countsText(st.counts) })
          : fill(t.shipmentApplying, { n: imp.rows_left }), done ? "ok" : "");
        box.setAttribute("data-state", imp.state);
        if (done) {
          var a = el("a", { href: "/api/v1/shipment-imports/" + id + "/result" }, t.resultFile);
          box.appendChild(el("p")).appendChild(a);
        }
        box.appendChild(shipmentRows(st.rows, true));
        // Keep following until applied and the write-backs have left "pending" (a while).
        var pending = st.counts.pending || 0;
        if ((!done || pending > 0) && tries < 120) {
          timer = setTimeout(function () { poll(id, tries + 1); }, done ? 3000 : 1000);
        }
      });
    }

    apply.addEventListener("click", function () {
      if (!importId) return;
      var id = importId;
      importId = null;
      apply.disabled = true;
      message(box, t.working, "");
      fahuo.api("POST", "/api/v1/shipment-imports/" + id + "/apply").then(function (r) {
        if (!r.ok) { message(box, apiError(r), "error"); return; }
        poll(id, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("imports");
    if (!root) return;
    var d = root.dataset;
    Object.keys(d).forEach(function (k) { t[k] = d[k]; });
    orderSection();
    shipmentSection();
  });
})();
