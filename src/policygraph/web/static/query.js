// The SPARQL query page: sends the query to /sparql and shows the answer as a table.
(function () {
  const examples = JSON.parse(document.getElementById("example-data").textContent);
  const form = document.getElementById("query-form");
  const text = document.getElementById("query");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const downloads = document.getElementById("downloads");
  document.getElementById("examples").addEventListener("change", (e) => { text.value = examples[e.target.value]; });
  text.addEventListener("keydown", (e) => {  // Ctrl+Enter (or Cmd+Enter) runs the query
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });

  // Where a link to an IRI may point (as pages.safe_href does on the server): our own IRIs on this
  // host, other http(s) IRIs as they are; null for anything else (javascript:, data:, urn:, …).
  const OWN = [["https://w3id.org/policygraph/id/", "/id/"], ["https://w3id.org/policygraph/def#", "/ontology#"],
               ["https://w3id.org/policygraph/shapes#", "/shapes#"], ["https://w3id.org/policygraph/graph/", "/dataset#graph-"]];
  function safeHref(iri) {
    if (typeof iri !== "string" || /[\u0000-\u0020\u007f-\u009f\\\s]/.test(iri)) return null;
    let url;
    try { url = new URL(iri); } catch (e) { return null; }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (!/^https?:\/\/[^\/?#]/i.test(iri)) return null;  // absolute with a host, as on the server ("https:x" is not)
    for (const [prefix, here] of OWN) if (iri.startsWith(prefix)) return here + iri.slice(prefix.length);
    return iri;
  }

  function cell(term) {
    if (!term) return document.createTextNode("");
    if (term.type === "uri") {
      const href = safeHref(term.value);
      if (href === null) return document.createTextNode(term.value);
      const a = document.createElement("a");
      a.href = href; a.textContent = term.value; return a;
    }
    return document.createTextNode(term.value + (term["xml:lang"] ? " @" + term["xml:lang"] : ""));
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.textContent = "…"; results.textContent = ""; downloads.textContent = "";
    const started = performance.now();
    const body = new URLSearchParams({ query: text.value });
    const resp = await fetch("/sparql", { method: "POST", body, headers: { Accept: "application/sparql-results+json" } });
    const elapsed = Math.round(performance.now() - started);
    if (!resp.ok) {
      const err = await resp.json().catch(() => ({ error: resp.statusText }));
      status.textContent = resp.status + " " + err.error + (err.detail ? ": " + err.detail : "");
      return;
    }
    const data = await resp.json();
    const q = encodeURIComponent(text.value);
    // the address bar and a "share" link open this query again (/query?query=…, keeping ?lang=)
    const lang = new URLSearchParams(location.search).get("lang");
    const here = "/query?query=" + q + (lang ? "&lang=" + encodeURIComponent(lang) : "");
    history.replaceState(null, "", here);
    const share = document.createElement("a");
    share.href = here; share.id = "share"; share.textContent = "share";
    downloads.appendChild(share);
    for (const [fmt, label] of [["csv", "CSV"], ["tsv", "TSV"], ["json", "JSON"], ["xml", "XML"]]) {
      const a = document.createElement("a");
      a.href = "/sparql?format=" + fmt + "&download=1&query=" + q; a.textContent = label;
      downloads.appendChild(a);
    }
    if ("boolean" in data) { status.textContent = String(data.boolean); return; }
    const vars = data.head.vars, rows = data.results.bindings;
    status.textContent = rows.length + " rows, " + elapsed + " ms" + (data.truncated ? " (truncated)" : "");
    const table = document.createElement("table"); table.id = "result-table";
    const head = table.insertRow();
    for (const v of vars) { const th = document.createElement("th"); th.textContent = v; head.appendChild(th); }
    for (const b of rows) { const tr = table.insertRow(); for (const v of vars) tr.insertCell().appendChild(cell(b[v])); }
    results.appendChild(table);
  });
})();
