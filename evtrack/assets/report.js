/* evtrack HTML report: filter and sort each evidence table, without a server. */
(function () {
  "use strict";

  function rowsOf(table) { return Array.prototype.slice.call(table.tBodies[0].rows); }

  function setUpFilter(block) {
    var table = block.querySelector("table.evidence");
    var controls = block.querySelector(".controls");
    if (!table || !controls) { return; }
    var box = controls.querySelector("input[type=search]");
    var checks = Array.prototype.slice.call(controls.querySelectorAll("input[type=checkbox]"));
    var count = controls.querySelector("output");
    var rows = rowsOf(table);
    rows.forEach(function (row) { row.dataset.search = row.textContent.toLowerCase(); });

    function apply() {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      var allowed = {};
      checks.forEach(function (c) { allowed[c.value] = c.checked; });
      var shown = 0;
      rows.forEach(function (row) {
        var ok = allowed[row.dataset.stance] !== false &&
          words.every(function (w) { return row.dataset.search.indexOf(w) !== -1; });
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.value = shown + " of " + rows.length + " papers shown";
      count.textContent = count.value;
    }
    box.addEventListener("input", apply);
    checks.forEach(function (c) { c.addEventListener("change", apply); });
    controls.hidden = false;  // without JavaScript the controls stay hidden: all rows show
    apply();
  }

  function setUpSorting(table) {
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") === "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var numeric = th.dataset.sort === "number";
        var rows = rowsOf(table);
        rows.sort(function (a, b) {
          var x = a.cells[index].dataset.value || a.cells[index].textContent.trim();
          var y = b.cells[index].dataset.value || b.cells[index].textContent.trim();
          var order = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
          return descending ? -order : order;
        });
        var body = table.tBodies[0];
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  document.querySelectorAll(".evidence-block").forEach(setUpFilter);
  document.querySelectorAll("table.sortable").forEach(setUpSorting);
}());
