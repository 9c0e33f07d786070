// Progressive enhancement; every page works without it.
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // --- Searchable pickers over a <select multiple> (countries, languages) -----------------------
  // The ARIA 1.2 combobox pattern: a text box that filters a listbox; arrows move, Enter or a
  // click chooses or unchooses, Escape closes. The <select> stays the form's field (hidden).
  var pickerCount = 0;
  document.querySelectorAll("[data-picker]").forEach(function (box) {
    var select = box.querySelector("[data-picker-select]");
    var label = box.querySelector("label[for]");
    var id = select.id || "picker-" + (++pickerCount);
    var options = Array.prototype.slice.call(select.options);
    var chosen = document.createElement("div");
    chosen.className = "picker-chosen d-flex flex-wrap gap-1 mb-1";
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    var input = document.createElement("input");
    input.type = "text";
    input.id = id + "-search";
    input.className = "form-control" + (select.classList.contains("is-invalid") ? " is-invalid" : "");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-list");
    input.setAttribute("autocomplete", "off");
    input.placeholder = box.getAttribute("data-search-text");
    if (select.getAttribute("aria-describedby")) {
      input.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
    }
    var list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "picker-list list-unstyled";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-multiselectable", "true");
    list.hidden = true;
    if (label) {
      label.htmlFor = input.id;
      label.id = label.id || id + "-label";
      list.setAttribute("aria-labelledby", label.id);
    }
    var items = options.map(function (option, i) {
      var li = document.createElement("li");
      li.id = id + "-opt-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("data-value", option.value);
      li.textContent = option.textContent;
      li.addEventListener("mousedown", function (event) { event.preventDefault(); });
      li.addEventListener("click", function () { toggle(i); input.focus(); });
      list.appendChild(li);
      return li;
    });
    var none = document.createElement("li");
    none.className = "text-muted small px-2";
    none.setAttribute("role", "option");  // a listbox holds only options
    none.setAttribute("aria-disabled", "true");
    none.textContent = box.getAttribute("data-none-text");
    none.hidden = true;
    list.appendChild(none);
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    var fallback = box.querySelector("[data-picker-fallback]");
    if (fallback) { fallback.hidden = true; }
    select.parentNode.insertBefore(chosen, select);
    select.parentNode.insertBefore(input, select);
    select.parentNode.insertBefore(list, select);
    select.parentNode.insertBefore(status, select);
    var active = -1;

    function visible() {
      return items.filter(function (li) { return !li.hidden; });
    }
    function setActive(li) {
      items.forEach(function (other) { other.classList.remove("active"); });
      if (li) {
        li.classList.add("active");
        input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
        active = items.indexOf(li);
      } else {
        input.removeAttribute("aria-activedescendant");
        active = -1;
      }
    }
    function open(show) {
      list.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) { setActive(null); }
    }
    function filter() {
      var wanted = fold(input.value.trim());
      var shown = 0;
      options.forEach(function (option, i) {
        var names = fold(option.textContent + " " + (option.getAttribute("data-alt") || ""));
        var hit = wanted === "" || names.indexOf(wanted) !== -1 || fold(option.value) === wanted;
        items[i].hidden = !hit;
        if (hit) { shown++; }
      });
      none.hidden = shown !== 0;
      var first = visible()[0];
      // An exact code ("VN") first, so Enter chooses it.
      var exact = items.filter(function (li) {
        return !li.hidden && fold(li.getAttribute("data-value")) === wanted;
      })[0];
      setActive(wanted ? (exact || first || null) : null);
    }
    function render() {
      chosen.textContent = "";
      options.forEach(function (option, i) {
        items[i].setAttribute("aria-selected", option.selected ? "true" : "false");
        if (!option.selected) { return; }
        var chip = document.createElement("button");
        chip.type = "button";
        chip.className = "btn btn-sm btn-outline-primary picker-chip";
        chip.setAttribute("data-value", option.value);
        chip.setAttribute(
          "aria-label", box.getAttribute("data-remove-text").replace("{name}", option.textContent)
        );
        chip.textContent = option.textContent + " \u00d7";
        chip.addEventListener("click", function () { toggle(i); input.focus(); });
        chosen.appendChild(chip);
      });
      var n = options.filter(function (o) { return o.selected; }).length;
      status.textContent = box.getAttribute("data-count-text").replace("{n}", n);
    }
    function toggle(i) {
      options[i].selected = !options[i].selected;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      render();
    }
    input.addEventListener("input", function () { filter(); open(true); });
    input.addEventListener("focus", function () { filter(); });
    input.addEventListener("blur", function () { open(false); });
    input.addEventListener("keydown", function (event) {
      var shown = visible();
      var at = shown.indexOf(items[active]);
      if (event.key === "ArrowDown") {
        event.preventDefault();
        open(true);
        setActive(shown[Math.min(at + 1, shown.length - 1)] || null);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        setActive(shown[Math.max(at - 1, 0)] || null);
      } else if (event.key === "Enter") {
        event.preventDefault();  // never submit the form from here
        if (active !== -1 && !list.hidden) { toggle(active); }
        else if (active !== -1) { toggle(active); }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); open(false); }
      }
    });
    render();
  });

  // --- Forms in steps (sign-up) ----------------------------------------------------------------
  document.querySelectorAll("form[data-steps]").forEach(function (form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
    var progress = document.querySelector("[data-steps-progress]");
    var marks = progress ? Array.prototype.slice.call(progress.querySelectorAll("[data-progress]")) : [];
    var current = 0;
    steps.some(function (step, i) {  // sent back with errors: open the first step that has one
      if (step.querySelector(".is-invalid, .invalid-feedback")) { current = i; return true; }
      return false;
    });

    function show(i, focus) {
      current = i;
      steps.forEach(function (step, j) { step.hidden = j !== i; });
      marks.forEach(function (mark, j) {
        mark.classList.toggle("is-current", j === i);
        mark.classList.toggle("is-done", j < i);
        if (j === i) { mark.setAttribute("aria-current", "step"); }
        else { mark.removeAttribute("aria-current"); }
      });
      if (focus) {
        var heading = steps[i].querySelector(".step-heading");
        if (heading) { heading.focus(); }
        window.scrollTo(0, form.getBoundingClientRect().top + window.scrollY - 80);
      }
    }
    function clearErrors(step) {
      step.querySelectorAll("[data-live-error]").forEach(function (node) { node.remove(); });
      step.querySelectorAll(".is-invalid").forEach(function (node) {
        node.classList.remove("is-invalid");
      });
    }
    function showErrors(step, errors) {
      var alert = document.createElement("div");
      alert.className = "alert alert-danger";
      alert.setAttribute("role", "alert");
      alert.setAttribute("data-live-error", "");
      alert.textContent = form.getAttribute("data-error-text");
      step.insertBefore(alert, step.querySelector(".step-heading").nextSibling);
      var first = null;
      Object.keys(errors).forEach(function (name) {
        var field = form.querySelector('[name="' + name + '"]');
        if (!field) { return; }
        var box = field.closest("[data-picker]") || field.closest(".mb-3, fieldset, .form-check, .col-7, .col-5") || field.parentNode;
        var shown = box.querySelector("[role=combobox]") || field;
        shown.classList.add("is-invalid");
        errors[name].forEach(function (message) {
          var div = document.createElement("div");
          div.className = "invalid-feedback d-block";
          div.setAttribute("data-live-error", "");
          div.textContent = message;
          box.appendChild(div);
        });
        first = first || shown;
      });
      if (first) { first.focus(); }
    }

    steps.forEach(function (step, i) {
      var nav = step.querySelector("[data-step-nav]");
      if (nav) { nav.hidden = false; }
      var back = step.querySelector("[data-step-back]");
      if (back) { back.addEventListener("click", function () { show(i - 1, true); }); }
      var next = step.querySelector("[data-step-next]");
      if (!next) { return; }
      next.addEventListener("click", function () {
        var url = form.getAttribute("data-check");
        if (!url) { show(i + 1, true); return; }
        var data = new FormData(form);
        data.set("step", String(i + 1));
        next.disabled = true;
        fetch(url, { method: "POST", body: data, credentials: "same-origin",
                     headers: { "Accept": "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { errors: {} }; })
          .catch(function () { return { errors: {} }; })  // the final submit checks it all again
          .then(function (answer) {
            next.disabled = false;
            clearErrors(step);
            if (answer.errors && Object.keys(answer.errors).length) {
              showErrors(step, answer.errors);
            } else {
              show(i + 1, true);
            }
          });
      });
    });
    // Links of the progress list (no-JS anchors) go to their step.
    marks.forEach(function (mark, j) {
      var link = mark.querySelector("a");
      if (link) {
        link.addEventListener("click", function (event) {
          if (j <= current) { event.preventDefault(); show(j, true); }
          else { event.preventDefault(); }
        });
      }
    });
    show(current, false);
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
