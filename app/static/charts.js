/* The coordinators' dashboard charts. The figures come from the page itself
   (<script type="application/json" id="stats-data">), never from inline script, so the strict
   Content-Security-Policy holds. The same figures are in tables beside each chart. */
(function () {
  "use strict";

  var source = document.getElementById("stats-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var stats = data.stats;
  var labels = data.labels;
  var locale = document.documentElement.lang || "en";
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  var colours = {
    brand: "#0b3d6e", blue: "#2f7fc1", sky: "#8fbde6", green: "#2e8b57", amber: "#e0a526",
    red: "#c8553d", grey: "#9aa5b1"
  };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#495057";
  Chart.defaults.maintainAspectRatio = false;
  if (reduceMotion) { Chart.defaults.animation = false; }

  function number(value) { return new Intl.NumberFormat(locale).format(value); }
  function percent(value) {
    return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(value);
  }

  function draw(name, config) {
    var canvas = document.querySelector('canvas[data-chart="' + name + '"]');
    if (canvas) { return new Chart(canvas, config); }
    return null;
  }

  function legendBottom() {
    return { position: "bottom", labels: { boxWidth: 12, usePointStyle: true } };
  }

  // Per cycle: what became of each cycle's proposals (stacked), and sign-ups since the last one.
  var cycles = stats.cycles || [];
  draw("cycles", {
    data: {
      labels: cycles.map(function (c) { return "#" + c.id; }),
      datasets: [
        { type: "bar", label: labels.matched, data: cycles.map(function (c) { return c.matched; }), backgroundColor: colours.green, stack: "p", maxBarThickness: 48 },
        { type: "bar", label: labels.pending, data: cycles.map(function (c) { return c.pending; }), backgroundColor: colours.amber, stack: "p", maxBarThickness: 48 },
        { type: "bar", label: labels.declined, data: cycles.map(function (c) { return c.declined; }), backgroundColor: colours.red, stack: "p", maxBarThickness: 48 },
        { type: "bar", label: labels.expired, data: cycles.map(function (c) { return c.expired; }), backgroundColor: colours.grey, stack: "p", maxBarThickness: 48 },
        { type: "line", label: labels.new_students, data: cycles.map(function (c) { return c.new_students; }), borderColor: colours.brand, backgroundColor: colours.brand, tension: 0.25, stack: "students" },
        { type: "line", label: labels.new_smes, data: cycles.map(function (c) { return c.new_smes; }), borderColor: colours.sky, backgroundColor: colours.sky, borderDash: [6, 4], tension: 0.25, stack: "smes" }
      ]
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked: true, title: { display: true, text: labels.cycle } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: legendBottom() }
    }
  });

  // Acceptance rates, 0–100 %.
  var rates = stats.rates;
  draw("rates", {
    type: "bar",
    data: {
      labels: [labels.rate_student, labels.rate_sme, labels.rate_coordinator],
      datasets: [{ data: [rates.student, rates.sme, rates.coordinator].map(function (v) { return v === null ? 0 : v; }),
                   backgroundColor: [colours.blue, colours.brand, colours.green] }]
    },
    options: {
      indexAxis: "y",
      scales: { x: { min: 0, max: 1, ticks: { callback: function (v) { return percent(v); } } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (ctx) { return percent(ctx.parsed.x); } } } }
    }
  });

  // Breakdowns: the ten largest, students / SMEs / placed side by side.
  function breakdown(name, rows, withSmes) {
    rows = (rows || []).slice(0, 10);
    var sets = [{ label: labels.students, data: rows.map(function (r) { return r.students; }), backgroundColor: colours.blue }];
    if (withSmes) { sets.push({ label: labels.smes, data: rows.map(function (r) { return r.smes; }), backgroundColor: colours.brand }); }
    sets.push({ label: labels.placed, data: rows.map(function (r) { return r.placed; }), backgroundColor: colours.green });
    draw(name, {
      type: "bar",
      data: { labels: rows.map(function (r) { return r.name; }), datasets: sets },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0, callback: function (v) { return number(v); } } } },
        plugins: { legend: legendBottom() }
      }
    });
  }
  // The funnel from proposal to first export, per cycle and per cohort (grouped bars).
  var targets = data.targets || {};
  function funnel(name, rows, keyLabel) {
    rows = rows || [];
    var stages = [["proposed", colours.grey], ["approved", colours.sky], ["active", colours.blue],
                  ["completed", colours.brand], ["first_export", colours.green]];
    draw(name, {
      type: "bar",
      data: {
        labels: rows.map(keyLabel),
        datasets: stages.map(function (s) {
          return { label: labels[s[0]], data: rows.map(function (r) { return r[s[0]]; }), backgroundColor: s[1], maxBarThickness: 28 };
        })
      },
      options: {
        scales: { y: { beginAtZero: true, ticks: { precision: 0, callback: function (v) { return number(v); } } } },
        plugins: { legend: legendBottom() }
      }
    });
  }
  funnel("funnel_by_cycle", targets.funnel_by_cycle, function (r) { return r.key === "0" ? labels.by_hand : "#" + r.key; });
  funnel("funnel_by_cohort", targets.funnel_by_cohort, function (r) { return r.key; });

  breakdown("markets", stats.markets, true);
  breakdown("industries", stats.industries, true);
  breakdown("regions", stats.regions, true);
  breakdown("nationalities", stats.nationalities, false);
}());
