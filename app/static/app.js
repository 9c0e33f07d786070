// Progressive enhancement for long checkbox lists (countries, languages): filter as you type,
// and name what is ticked above the list. Without JavaScript the list still works.
(function () {
  "use strict";
  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  document.querySelectorAll("[data-checklist]").forEach(function (box) {
    var filter = box.querySelector("[data-filter]");
    var chosen = box.querySelector("[data-chosen]");
    var labels = Array.prototype.slice.call(box.querySelectorAll("label"));
    function showChosen() {
      chosen.textContent = "";
      labels.forEach(function (label) {
        var input = label.querySelector("input");
        if (input && input.checked) {
          var badge = document.createElement("span");
          badge.className = "badge badge-code me-1";
          badge.textContent = label.querySelector("[data-name]").textContent;
          chosen.appendChild(badge);
        }
      });
    }
    filter.addEventListener("input", function () {
      var wanted = fold(filter.value.trim());
      labels.forEach(function (label) {
        var span = label.querySelector("[data-name]");
        // The reader's name, the English name (typed on any keyboard) or the code itself.
        var names = fold(span.textContent + " " + (span.getAttribute("data-alt") || ""));
        var code = fold(label.querySelector("input").value);
        label.hidden = wanted !== "" && names.indexOf(wanted) === -1 && code !== wanted;
      });
    });
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }  // do not submit the form
    });
    box.addEventListener("change", showChosen);
  });
})();

// "Select all on this page" for the coordinators' queue. Without JavaScript each box still ticks.
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    var scope = all.closest("[data-select-all-scope]");
    var boxes = Array.prototype.slice.call(scope.querySelectorAll("input[name=match_ids]"));
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
    scope.addEventListener("change", function (event) {
      if (event.target !== all) {
        all.checked = boxes.every(function (box) { return box.checked; });
      }
    });
  });
})();

// The schedule picker writes the cron expression as the coordinator chooses, so the expert field
// always shows what will be saved. Without JavaScript the server writes the same expression.
(function () {
  "use strict";
  document.querySelectorAll("[data-schedule-picker]").forEach(function (form) {
    var day = form.querySelector("[name=schedule_day]");
    var time = form.querySelector("[name=schedule_time]");
    var weeks = form.querySelector("[name=schedule_weeks]");
    var cron = form.querySelector("[data-cron]");
    function write() {
      var parts = (time.value || "").split(":");
      if (parts.length < 2) { return; }
      var every = parseInt(weeks.value, 10) || 1;
      cron.value = parseInt(parts[1], 10) + " " + parseInt(parts[0], 10) + " * * " + day.value +
        (every > 1 ? " */" + every : "");
    }
    [day, time, weeks].forEach(function (input) { input.addEventListener("change", write); });
  });
})();

// A region that scrolls (a wide table on a phone, a long list in a box) must be reachable by
// keyboard, or people without a mouse cannot see what is cut off (WCAG 2.1.1). When a region
// actually scrolls and holds nothing focusable, make it a tab stop named by its heading.
(function () {
  "use strict";
  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  var SCROLLS = /(auto|scroll)/;
  var counter = 0;
  function headingOf(region) {
    var box = region.closest("section, .card, main");
    var heading = box && box.querySelector("h1, h2, h3, h4, h5, h6, caption");
    if (!heading) { return null; }
    if (!heading.id) { heading.id = "scroll-label-" + (++counter); }
    return heading.id;
  }
  function mark() {
    document.querySelectorAll("main *").forEach(function (el) {
      var wide = el.scrollWidth > el.clientWidth + 1;
      var tall = el.scrollHeight > el.clientHeight + 1;
      if (!wide && !tall) { return; }
      var style = window.getComputedStyle(el);
      if (!SCROLLS.test((wide ? style.overflowX : "") + (tall ? style.overflowY : ""))) { return; }
      if (el.hasAttribute("tabindex") || el.querySelector(FOCUSABLE)) { return; }
      el.setAttribute("tabindex", "0");
      if (!el.hasAttribute("role")) {
        var label = headingOf(el);
        if (label) {
          el.setAttribute("role", "region");
          el.setAttribute("aria-labelledby", label);
        }
      }
    });
  }
  mark();
  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(mark, 200);
  });
})();
