// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  // Colour fields: a palette beside each colour code (the code is what is posted), kept in
  // step both ways; it takes the place of the plain swatch.
  document.querySelectorAll("input[data-colour-for]").forEach(function (picker) {
    var code = document.getElementById(picker.getAttribute("data-colour-for"));
    if (!code) { return; }
    picker.hidden = false;
    picker.addEventListener("input", function () { code.value = picker.value; });
    code.addEventListener("input", function () {
      if (/^#[0-9a-fA-F]{6}$/.test(code.value)) { picker.value = code.value.toLowerCase(); }
    });
  });
  // Live regions: an element with data-poll="URL" is replaced by the HTML that URL answers,
  // every data-interval milliseconds, until the answer carries data-done (import progress).
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    var every = parseInt(el.getAttribute("data-interval") || "1000", 10);
    function tick() {
      fetch(el.getAttribute("data-poll"), { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var box = document.createElement("div");
          box.innerHTML = html;
          var fresh = box.firstElementChild;
          if (!fresh) { return; }
          el.replaceWith(fresh);
          el = fresh;
          if (!fresh.hasAttribute("data-done")) { setTimeout(tick, every); }
          else if (fresh.getAttribute("data-reload") === "true") { window.location.reload(); }
        });
    }
    if (!el.hasAttribute("data-done")) { setTimeout(tick, every); }
  });
  // Live preview: a form with data-preview="TARGET_ID" reloads that image or frame's
  // src with the form's fields as query parameters whenever a field changes.
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var target = document.getElementById(form.getAttribute("data-preview"));
    if (!target) { return; }
    var base = target.getAttribute("data-src");
    var timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var params = new URLSearchParams();
        new FormData(form).forEach(function (v, k) { if (typeof v === "string" && k !== "csrf") { params.append(k, v); } });
        target.setAttribute("src", base + (base.indexOf("?") < 0 ? "?" : "&") + params.toString());
      }, 300);
    });
  });
})();
