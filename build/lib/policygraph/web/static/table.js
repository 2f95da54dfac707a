// Sortable tables: in any <table class="sortable">, a click on a column header sorts the rows of its
// first <tbody> by that column; a second click reverses the order. A column whose cells are all numbers
// (a cell's data-sort, else its text without thousands separators) sorts numerically, any other by the
// page language's collation (numeric parts as numbers). Empty cells go last either way. The header
// says the order in aria-sort; each header is a button, so it works from the keyboard. Without this
// script the table is the same table, in the server's order.
(function () {
  "use strict";
  const collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true });
  const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

  function key(cell) {
    if (!cell) return "";
    return (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent).trim();
  }

  function asNumber(text) {
    const bare = text.replace(/[,\s]/g, "");
    return NUMBER.test(bare) ? Number(bare) : NaN;
  }

  function sort(table, header, index) {
    const body = table.tBodies[0];
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    const rows = Array.from(body.rows).map((row, i) => ({ row, i, key: key(row.cells[index]) }));
    const filled = rows.filter((r) => r.key !== "");
    const numeric = filled.length > 0 && filled.every((r) => !Number.isNaN(asNumber(r.key)));
    rows.sort((a, b) => {
      if (a.key === "" || b.key === "") return (a.key === "") - (b.key === "") || a.i - b.i;
      const order = numeric ? asNumber(a.key) - asNumber(b.key) : collator.compare(a.key, b.key);
      return (ascending ? order : -order) || a.i - b.i;
    });
    for (const th of header.parentElement.cells) th.removeAttribute("aria-sort");
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    body.append(...rows.map((r) => r.row));
  }

  function enable(table) {
    if (!table.tHead || !table.tBodies.length) return;
    const headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    for (const header of headers) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.append(...header.childNodes);
      header.append(button);
      button.addEventListener("click", () => sort(table, header, header.cellIndex));
    }
  }

  document.querySelectorAll("table.sortable").forEach(enable);
})();
