// 子账号 page script, written for this project.
//  - Forms with [data-scope-form] send their shop and warehouse checkboxes as one `scope`:
//    "全部" checked means null (every shop or warehouse, including later ones), else the
//    ids ticked.
//  - The invite form shows the new link once, in #invite-link, and refreshes the pending list.
"use strict";
(function () {
  document.addEventListener("api:before", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-scope-form")) return;
    var body = e.detail;
    var scope = {};
    ["shops", "warehouses"].forEach(function (kind) {
      var all = body["all_" + kind];
      scope[kind] = all ? null : (body[kind] || []);
      delete body["all_" + kind];
      delete body[kind];
    });
    body.scope = scope;
  });

  // Ticking a shop or warehouse unticks "全部", and ticking "全部" clears the list.
  document.addEventListener("change", function (e) {
    var box = e.target;
    var set = box.closest && box.closest("fieldset.scope");
    if (!set || box.type !== "checkbox") return;
    var all = set.querySelector('input[name^="all_"]');
    if (box === all) {
      if (all.checked) set.querySelectorAll('input[name$="[]"]').forEach(function (b) { b.checked = false; });
    } else if (box.checked) {
      all.checked = false;
    }
  });

  document.addEventListener("api:done", function (e) {
    if (e.target.id !== "invite-form") return;
    var link = document.getElementById("invite-link");
    var box = document.getElementById("invite-result");
    if (!link || !box || !e.detail) return;
    link.value = location.origin + e.detail.path;
    box.hidden = false;
    link.focus();
    link.select();
    refreshInvites();
  });

  // The page stays (the link is shown only here), so the pending list is fetched again:
  // it still said "no pending invitations" next to the one just made.
  function refreshInvites() {
    var list = document.querySelector("#invites-list tbody");
    if (!list) return;
    fetch(location.href, { credentials: "same-origin" }).then(function (resp) {
      return resp.ok ? resp.text() : null;
    }).then(function (html) {
      if (!html) return;
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("#invites-list tbody");
      if (fresh) list.replaceWith(fresh);
    }, function () { /* the list stays as it was; the link is shown */ });
  }
})();
