// fahuo pack station (验货台), written for this project. Everything is driven from the
// keyboard or a barcode scanner (which types the code and Enter) and a scale that types the
// weight and Enter:
//   scan a label (or order number) → POST /api/v1/pack/open
//   scan each item                 → POST /api/v1/packages/{id}/pack/scan
//   all scanned: weight + Enter    → POST /api/v1/packages/{id}/pack/close {weight_g}
//     (a parcel already packed is weighed again: POST /api/v1/packages/{id}/weight)
//   then the next label opens the next parcel.
// Wrong and extra items, a missing item or a weight off show a red message with the reason
// and sound a short tone (Web Audio, no files). The page's texts come from data attributes.
"use strict";
(function () {
  var root, scan, weight, statusBox, items, parcel, next, codeBox, expectedBox;
  var t = {};
  // idle: waiting for a label; items: scanning items; weight: all in, waiting for the scale;
  // done: closed, the next scan opens the next parcel.
  var phase = "idle";
  var station = null, label = "";
  var busy = false;
  var RECENT_KEY = "fahuo.pack.recent";

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  }

  // ---------------------------------------------------------------- sound
  var audio = null;
  function tone(freq, ms, type) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = type;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + ms / 1000);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + ms / 1000);
    } catch (e) { /* no sound on this device */ }
  }
  function errorTone() { tone(220, 450, "square"); }
  function okTone() { tone(1200, 90, "sine"); }

  // ---------------------------------------------------------------- display
  function say(text, kind) {
    statusBox.textContent = text;
    statusBox.className = "pack-status" + (kind ? " " + kind : "");
  }
  function fail(text) { say(text, "error"); errorTone(); }

  function apiError(result) {
    var e = result.body && result.body.error;
    if (e) {
      // The import-style codes carry a precise Chinese text in message_zh; for the others
      // `message` is the precise one (conflicts are written in Chinese).
      var generic = ["conflict", "illegal_transition", "insufficient_stock", "invalid_input"];
      if (fahuo.zh && e.message_zh && generic.indexOf(e.code) < 0) return e.message_zh;
      if (e.message) return e.message;
    }
    return fahuo.errorText(result);
  }

  function showStation(s) {
    station = s;
    parcel.hidden = false;
    codeBox.textContent = label;
    var body = items.tBodies[0];
    body.textContent = "";
    s.items.forEach(function (line) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-sku-code", line.sku_code);
      if (line.barcode) tr.setAttribute("data-barcode", line.barcode);
      tr.className = line.scanned >= line.expected ? "done" : (line.scanned > 0 ? "partial" : "");
      [line.sku_code, line.title, String(line.expected), String(line.scanned)].forEach(function (v, i) {
        var td = document.createElement("td");
        td.textContent = v;
        if (i >= 2) td.className = "num";
        if (i === 3) td.setAttribute("data-scanned", "");
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    expectedBox.textContent = s.expected_weight_g ? t.expectedWeight + " " + s.expected_weight_g + " g" : "";
  }

  function highlight(skuCode) {
    var row = items.querySelector('tr[data-sku-code="' + CSS.escape(skuCode) + '"]');
    if (!row) return;
    row.classList.remove("flash");
    void row.offsetWidth;
    row.classList.add("flash");
  }

  function setPhase(p) {
    phase = p;
    root.setAttribute("data-phase", p);
    next.hidden = p !== "done";
    if (p === "weight") { weight.focus(); weight.select(); } else { scan.focus(); }
  }

  // ---------------------------------------------------------------- recent parcels
  function recent() {
    try { return JSON.parse(sessionStorage.getItem(RECENT_KEY) || "[]"); } catch (e) { return []; }
  }
  function remember(result, grams) {
    var list = recent();
    list.unshift({ at: new Date().toTimeString().slice(0, 8), code: label, result: result, weight: grams || "" });
    list = list.slice(0, 10);
    try { sessionStorage.setItem(RECENT_KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
    showRecent();
  }
  function showRecent() {
    var table = document.getElementById("pack-recent");
    var body = table.tBodies[0], list = recent();
    body.textContent = "";
    list.forEach(function (r) {
      var tr = document.createElement("tr");
      [r.at, r.code, r.result, r.weight ? r.weight + " g" : ""].forEach(function (v, i) {
        var td = document.createElement("td");
        td.textContent = v;
        if (i === 3) td.className = "num";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    document.getElementById("pack-recent-empty").hidden = list.length > 0;
  }

  // ---------------------------------------------------------------- steps
  function call(method, url, body) {
    busy = true;
    root.setAttribute("aria-busy", "true");
    return fahuo.api(method, url, body).then(function (r) {
      busy = false;
      root.removeAttribute("aria-busy");
      return r;
    });
  }

  function open(code) {
    say(t.opening, "");
    return call("POST", "/api/v1/pack/open", { code: code }).then(function (r) {
      if (!r.ok) {
        station = null;
        parcel.hidden = true;
        fail(apiError(r));
        setPhase("idle");
        return;
      }
      label = code;
      weight.value = "";
      showStation(r.body);
      if (r.body.package_state === "packed") {
        say(t.alreadyPacked, "ok");
        setPhase("weight");
      } else if (r.body.remaining === 0) {
        say(t.complete, "ok");
        setPhase("weight");
      } else {
        say(fill(t.opened, { n: r.body.remaining }), "");
        setPhase("items");
      }
    });
  }

  function scanItem(code) {
    var url = "/api/v1/packages/" + station.package_id + "/pack/scan";
    return call("POST", url, { code: code }).then(function (r) {
      if (!r.ok) { fail(apiError(r)); return; }
      var reply = r.body, o = reply.outcome;
      showStation(reply.station);
      if (!reply.accepted) {
        if (o.result === "wrong_item") fail(fill(t.wrong, { code: o.code }));
        else if (o.result === "extra") { fail(fill(t.extra, { title: o.title, n: o.expected })); highlight(o.sku_code); }
        else fail(fahuo.zh ? reply.message_zh : o.result);
        return;
      }
      highlight(o.sku_code);
      okTone();
      if (o.result === "complete" || reply.station.remaining === 0) {
        say(t.complete, "ok");
        setPhase("weight");
      } else {
        say(fill(t.counted, { title: o.title, n: o.scanned, m: o.expected, g: o.remaining_total }), "ok");
      }
    });
  }

  function refusal(reply) {
    var r = reply.refusal;
    if (!r) return reply.message_zh;
    if (r.refusal === "missing_items") {
      return fill(t.missing, {
        title: r.missing.map(function (m) { return m.title + " ×" + m.units; }).join(fahuo.zh ? "，" : ", ")
      });
    }
    if (r.refusal === "weight_off") {
      return fill(t.weightOff, { n: r.weight.actual_g, m: r.weight.expected_g, g: r.weight.allowed_g });
    }
    if (r.refusal === "weight_required") return t.weightRequired;
    return reply.message_zh;
  }

  function close() {
    if (!station) return;
    var raw = weight.value.trim(), grams = null;
    if (raw !== "") {
      grams = Number(raw);
      if (!/^\d+$/.test(raw) || grams < 1 || grams > 1000000) { fail(t.badWeight); weight.select(); return; }
    }
    var packed = station.package_state === "packed";
    if (packed && grams === null) { setPhase("done"); say(t.alreadyPacked, "ok"); return; }
    var url = "/api/v1/packages/" + station.package_id + (packed ? "/weight" : "/pack/close");
    call("POST", url, { weight_g: grams }).then(function (r) {
      if (!r.ok) { fail(apiError(r)); weight.select(); return; }
      var reply = r.body;
      showStation(reply.station);
      if (reply.refusal) {
        fail(refusal(reply));
        if (reply.refusal.refusal === "missing_items") setPhase("items"); else setPhase("weight");
        return;
      }
      okTone();
      if (packed) say(fill(t.weighed, { n: grams }), "ok");
      else say(reply.shipments_queued > 0 ? t.packedShipped : t.packed, "ok");
      remember(packed ? t.resultWeighed : t.resultPacked, grams);
      setPhase("done");
    });
  }

  function reset() {
    if (!station || station.package_state === "packed") return;
    call("POST", "/api/v1/packages/" + station.package_id + "/pack/reset", null).then(function (r) {
      if (!r.ok) { fail(apiError(r)); return; }
      showStation(r.body);
      say(t.resetDone, "");
      setPhase("items");
    });
  }

  function nextParcel() {
    station = null;
    label = "";
    parcel.hidden = true;
    weight.value = "";
    say(t.idle, "");
    setPhase("idle");
  }

  // ---------------------------------------------------------------- wiring
  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("pack");
    if (!root) return;
    var d = root.dataset;
    t = {
      opening: d.opening, opened: d.opened, alreadyPacked: d.alreadyPacked, counted: d.counted,
      complete: d.complete, wrong: d.wrong, extra: d.extra, missing: d.missing, weightOff: d.weightOff,
      weightRequired: d.weightRequired, packed: d.packed, packedShipped: d.packedShipped,
      weighed: d.weighed, resetDone: d.resetDone, badWeight: d.badWeight, idle: d.idle,
      resultPacked: d.resultPacked, resultWeighed: d.resultWeighed, expectedWeight: d.expectedWeight
    };
    scan = document.getElementById("scan");
    weight = document.getElementById("weight");
    statusBox = document.getElementById("pack-status");
    items = document.getElementById("pack-items");
    parcel = document.getElementById("pack-parcel");
    next = document.getElementById("pack-next");
    codeBox = document.getElementById("pack-code");
    expectedBox = document.getElementById("pack-expected");
    showRecent();
    setPhase("idle");

    document.getElementById("scan-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var code = scan.value.trim();
      scan.value = "";
      if (!code || busy) return;
      if (phase === "items") scanItem(code);
      else if (phase === "weight" && station && station.package_state !== "packed") {
        // Everything is in: a further item scan is an extra one; the API says so.
        scanItem(code);
      } else open(code);
    });
    document.getElementById("weight-form").addEventListener("submit", function (e) {
      e.preventDefault();
      if (!busy) close();
    });
    document.getElementById("pack-reset").addEventListener("click", reset);
    next.addEventListener("click", nextParcel);

    // Keep the scanner's input focused: a tap elsewhere on the page returns focus to the
    // field of the current step (buttons and links keep theirs).
    document.addEventListener("click", function (e) {
      if (e.target.closest("button, a, input, label")) return;
      setPhase(phase);
    });
    window.addEventListener("focus", function () { setPhase(phase); });
    // Escape starts over with the next parcel.
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") nextParcel();
    });
  });
})();
