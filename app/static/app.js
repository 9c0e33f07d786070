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
