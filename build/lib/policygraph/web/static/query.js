// The SPARQL query page: YASQE (vendor/yasqe, CodeMirror 5 with a SPARQL mode) as the editor, the query
// sent to /sparql on this host, the answer drawn here as a sortable, paged table with labels beside IRIs.
// Nothing is fetched from any other host: completion comes from the page's own data (editor-data).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const examples = JSON.parse(document.getElementById("example-data").textContent);
  const S = data.strings;
  const lang = document.documentElement.lang === "en" ? "en" : "ja";
  const form = document.getElementById("query-form");
  const source = document.getElementById("query");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const downloads = document.getElementById("downloads");
  const PAGE = 50;            // rows a results page shows
  const LABELLED = 500;       // IRIs at most whose labels one extra query asks for
  const HISTORY_KEY = "policygraph.query.history", HISTORY_SIZE = 20;
  const NUMERIC = /#(integer|decimal|double|float|int|long|short|byte|nonNegativeInteger|positiveInteger|nonPositiveInteger|negativeInteger|unsignedInt|unsignedLong|unsignedShort|unsignedByte)$/;

  function say(key, values) {  // an interface string of the page's language, {name} filled in
    return S[key].replace(/\{(\w+)\}/g, (m, name) => (values && name in values ? String(values[name]) : m));
  }

  // ------------------------------------------------------------------ the editor
  const editor = makeEditor();
  function makeEditor() {
    if (typeof Yasqe === "undefined") return null;  // the vendored script did not load: the textarea stays
    registerCompleters();
    const run = () => form.requestSubmit();
    const yasqe = new Yasqe(document.getElementById("editor"), {
      value: source.value, persistenceId: null, consumeShareLink: null, createShareableLink: null,
      showQueryButton: false, resizeable: true, editorHeight: "22rem", inputStyle: "contenteditable",
      requestConfig: { endpoint: "/sparql", method: "POST" },  // never used (we send queries) but never elsewhere
      autocompleters: ["variables", "local-prefixes", "local-properties", "local-classes"],
      // Ctrl+Enter sends the query our way; Tab leaves the editor (no keyboard trap); Ctrl+Space completes
      extraKeys: { "Ctrl-Enter": run, "Cmd-Enter": run, Tab: false, "Shift-Tab": false },
    });
    // The editable element (contenteditable: screen readers read it) is named by the textarea's label.
    source.hidden = true;
    const field = yasqe.getInputField();
    field.id = "query-editor";
    field.setAttribute("aria-labelledby", "query-label");
    field.setAttribute("aria-multiline", "true");
    field.setAttribute("role", "textbox");
    return yasqe;
  }

  // Completion from lists this page carries: prefixes (ours and common vocabularies), and the classes and
  // properties the ontology declares and the data uses. Yasqe's own completers would ask prefix.cc and LOV.
  function registerCompleters() {
    const base = Yasqe.Autocompleters;
    const prefixLines = Object.entries(data.prefixes).map(([p, iri]) => p + ": <" + iri + ">");
    const local = (name, from, list) => Object.assign({}, base[from], {
      name: name, get: list, bulk: true, autoShow: true, persistenceId: null,
    });
    Yasqe.registerAutocompleter(local("local-prefixes", "prefixes", prefixLines), false);
    Yasqe.registerAutocompleter(local("local-properties", "property", data.properties), false);
    Yasqe.registerAutocompleter(local("local-classes", "class", data.classes), false);
  }

  function queryText() { return editor ? editor.getValue() : source.value; }
  function setQuery(text) { if (editor) editor.setValue(text); else source.value = text; }

  document.getElementById("examples").addEventListener("change", (e) => setQuery(examples[e.target.value]));
  form.addEventListener("keydown", (e) => {  // Ctrl+Enter (or Cmd+Enter) anywhere in the form; the editor's own
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.defaultPrevented) {  // key map has run it already
      e.preventDefault(); form.requestSubmit();
    }
  });

  // ------------------------------------------------------------------ history (this browser only)
  const historyBox = document.getElementById("history");
  function readHistory() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]").filter((q) => typeof q === "string"); }
    catch (e) { return []; }  // storage off or unreadable: no history
  }
  function showHistory() {
    const past = readHistory();
    if (!past.length) return;
    historyBox.replaceChildren(new Option("—", ""));
    past.forEach((q, i) => historyBox.appendChild(new Option((i + 1) + ". " + q.replace(/\s+/g, " ").slice(0, 80), q)));
  }
  function remember(q) {
    const past = [q].concat(readHistory().filter((p) => p !== q)).slice(0, HISTORY_SIZE);
    try { localStorage.setItem(HISTORY_KEY, JSON.stringify(past)); } catch (e) { return; }
    showHistory();
  }
  historyBox.addEventListener("change", (e) => { if (e.target.value) setQuery(e.target.value); });
  showHistory();

  // ------------------------------------------------------------------ IRIs: links, prefixed names
  // Where a link to an IRI may point (as html.safe_href does on the server): our own IRIs on this
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
  // The shortest prefixed name for an IRI, to read rather than to paste ("id:prefecture/20"), else null.
  function prefixed(iri, prefixes) {
    let best = null;
    for (const [p, ns] of Object.entries(prefixes)) {
      const local = iri.slice(ns.length);
      if (ns && iri.startsWith(ns) && /^[^\s#?<>"{}|^`\\]*$/.test(local) && (!best || local.length < best.local)) {
        best = { name: p + ":" + local, local: local.length };
      }
    }
    return best && best.name;
  }

  // ------------------------------------------------------------------ running a query
  form.addEventListener("submit", (e) => { e.preventDefault(); runQuery(queryText()); });

  async function runQuery(text) {
    status.textContent = S.running; results.replaceChildren(); downloads.replaceChildren();
    const graph = editor && /^(CONSTRUCT|DESCRIBE)$/.test(editor.getQueryType());
    const started = performance.now();
    let resp;
    try {
      resp = await fetch("/sparql", { method: "POST", body: new URLSearchParams({ query: text }),
        headers: { Accept: graph ? "text/turtle" : "application/sparql-results+json" } });
    } catch (err) {
      status.textContent = S.network; return;
    }
    const elapsed = Math.round(performance.now() - started);
    if (!resp.ok) { await showError(resp, text); return; }
    remember(text);
    showLinks(text);
    if (graph) { showGraph(await resp.text()); return; }
    const answer = await resp.json();
    if ("boolean" in answer) { status.textContent = String(answer.boolean); return; }
    const truncated = resp.headers.get("X-Result-Truncated");
    const limit = truncated ? (truncated.match(/limit=(\d+)/) || [])[1] : null;
    status.textContent = say("rows", { n: answer.results.bindings.length.toLocaleString("en"), ms: elapsed })
      + (limit ? " " + say("truncated", { limit: Number(limit).toLocaleString("en") }) : "");
    const table = new ResultTable(answer.head.vars, answer.results.bindings, queryPrefixes());
    results.setAttribute("aria-busy", "true");  // drawn again once the labels are in: done when this is false
    table.draw();
    table.labels = await fetchLabels(answer.results.bindings);
    table.draw();
    results.setAttribute("aria-busy", "false");
  }

  function queryPrefixes() {  // the query's own declarations win over our list
    return Object.assign({}, data.prefixes, editor ? editor.getPrefixesFromQuery() : {});
  }

  // The address bar and a "share" link open this query again (/query?query=…, keeping ?lang=);
  // downloads are the same query as a file (CSV and TSV with a BOM, for spreadsheets).
  function showLinks(text) {
    const q = encodeURIComponent(text);
    const chosen = new URLSearchParams(location.search).get("lang");
    const here = "/query?query=" + q + (chosen ? "&lang=" + encodeURIComponent(chosen) : "");
    history.replaceState(null, "", here);
    const share = document.createElement("a");
    share.href = here; share.id = "share"; share.textContent = S.share;
    downloads.appendChild(share);
    for (const [fmt, label] of [["csv", "CSV"], ["tsv", "TSV"], ["json", "JSON"], ["xml", "XML"]]) {
      const a = document.createElement("a");
      a.href = "/sparql?format=" + fmt + "&download=1&query=" + q; a.textContent = label; a.id = "download-" + fmt;
      downloads.appendChild(a);
    }
  }

  function showGraph(turtle) {
    status.textContent = say("graph", { n: turtle.length.toLocaleString("en") });
    const pre = document.createElement("pre"); pre.className = "query-graph"; pre.textContent = turtle;
    results.appendChild(pre);
  }

  // ------------------------------------------------------------------ errors in words
  async function showError(resp, text) {
    const err = await resp.json().catch(() => ({ error: resp.statusText, detail: "" }));
    const kind = resp.status === 504 ? S.timeout : resp.status === 503 || resp.status === 429 ? S.busy
      : resp.status === 403 ? S.refused : resp.status === 400 ? S.bad : S.failed;
    status.textContent = resp.status + " " + kind + ": " + (err.error || "") + (err.detail ? " — " + err.detail : "");
    const missing = resp.status === 400 ? undeclaredPrefixes() : [];
    if (missing.length) explainPrefixes(missing);
  }

  // The engine's message for an undeclared prefix does not name it; the editor's tokens do.
  function undeclaredPrefixes() {
    if (!editor) return [];
    const declared = editor.getPrefixesFromQuery(), used = new Set();
    for (let line = 0; line < editor.lineCount(); line++) {
      for (const token of editor.getLineTokens(line)) {
        const colon = token.string.indexOf(":");
        if (token.type === "string-2" && colon >= 0) used.add(token.string.slice(0, colon));
      }
    }
    return [...used].filter((p) => !(p in declared));
  }

  function explainPrefixes(missing) {
    const lines = missing.map((p) => say("missing-prefix", { p: p, iri: data.prefixes[p] || "…" }));
    status.textContent = lines.join(" / ") + " (400)";
    const known = {};
    missing.filter((p) => p in data.prefixes).forEach((p) => { known[p] = data.prefixes[p]; });
    if (!Object.keys(known).length) return;
    const add = document.createElement("button");
    add.type = "button"; add.id = "add-prefixes"; add.textContent = S["add-prefixes"];
    add.addEventListener("click", () => { editor.addPrefixes(known); add.remove(); editor.focus(); });
    downloads.appendChild(add);
  }

  // ------------------------------------------------------------------ labels beside IRIs
  // One extra query for the labels of the IRIs in the answer (at most LABELLED of them), in the page's
  // language, else Japanese, else any. Only IRIs that can be written as <…> are asked about.
  async function fetchLabels(rows) {
    const iris = new Set();
    for (const row of rows) {
      for (const term of Object.values(row)) {
        if (term.type === "uri" && !/[\u0000-\u0020<>"{}|^`\\]/.test(term.value)) iris.add(term.value);
        if (iris.size >= LABELLED) break;
      }
      if (iris.size >= LABELLED) break;
    }
    if (!iris.size) return {};
    const values = [...iris].map((i) => "<" + i + ">").join(" ");
    const query = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
      + "SELECT ?s ?l WHERE { VALUES ?s { " + values + " } ?s rdfs:label|skos:prefLabel ?l }";
    try {
      const resp = await fetch("/sparql", { method: "POST", body: new URLSearchParams({ query: query }),
        headers: { Accept: "application/sparql-results+json" } });
      if (!resp.ok) return {};  // labels are a help: the table stands without them
      return pickLabels((await resp.json()).results.bindings);
    } catch (e) { return {}; }
  }

  function pickLabels(bindings) {
    const rank = (l) => (l === lang ? 0 : l === "ja" ? 1 : 2), best = {};
    for (const b of bindings) {
      const r = rank(b.l["xml:lang"] || ""), had = best[b.s.value];
      if (!had || r < had.r || (r === had.r && b.l.value < had.text)) best[b.s.value] = { r: r, text: b.l.value };
    }
    const out = {};
    for (const [iri, v] of Object.entries(best)) out[iri] = v.text;
    return out;
  }

  // ------------------------------------------------------------------ the results table
  function ResultTable(vars, rows, prefixes) {
    this.vars = vars; this.rows = rows; this.prefixes = prefixes; this.labels = {};
    this.page = 0; this.sortVar = null; this.descending = false;
  }

  ResultTable.prototype.draw = function () {
    const first = this.page * PAGE, shown = this.rows.slice(first, first + PAGE);
    const table = document.createElement("table"); table.id = "result-table"; table.className = "results sortable";
    const caption = table.createCaption();
    caption.textContent = S.results + " — " + say("range", { from: this.rows.length ? first + 1 : 0,
      to: first + shown.length, n: this.rows.length.toLocaleString("en") })
      + (this.sortVar ? " — " + say("sorted", { v: "?" + this.sortVar, dir: this.descending ? S.desc : S.asc }) : "");
    const head = table.createTHead().insertRow();
    for (const v of this.vars) head.appendChild(this.header(v));
    const body = table.createTBody();
    for (const b of shown) {
      const tr = body.insertRow();
      for (const v of this.vars) this.cell(tr.insertCell(), b[v]);
    }
    const wrap = document.createElement("div"); wrap.className = "table-scroll"; wrap.appendChild(table);
    results.replaceChildren(wrap);
    if (this.rows.length > PAGE) results.appendChild(this.pager());
  };

  ResultTable.prototype.header = function (v) {
    const th = document.createElement("th"); th.scope = "col";
    const button = document.createElement("button");
    button.type = "button"; button.className = "sort"; button.textContent = "?" + v;
    if (this.sortVar === v) th.setAttribute("aria-sort", this.descending ? "descending" : "ascending");
    button.addEventListener("click", () => this.sortBy(v));
    th.appendChild(button);
    return th;
  };

  ResultTable.prototype.sortBy = function (v) {
    this.descending = this.sortVar === v ? !this.descending : false;
    this.sortVar = v; this.page = 0;
    const sign = this.descending ? -1 : 1;
    this.rows = this.rows.slice().sort((a, b) => sign * compareTerms(a[v], b[v], this.labels));
    this.draw();
    const again = results.querySelector('th[aria-sort] button');
    if (again) again.focus();  // the table was redrawn: keep the keyboard where it was
  };

  ResultTable.prototype.pager = function () {
    const nav = document.createElement("p"); nav.className = "pager";
    const last = Math.ceil(this.rows.length / PAGE) - 1;
    for (const [key, to, id] of [["prev", this.page - 1, "page-prev"], ["next", this.page + 1, "page-next"]]) {
      const button = document.createElement("button");
      button.type = "button"; button.id = id; button.textContent = S[key];
      button.disabled = to < 0 || to > last;
      button.addEventListener("click", () => { this.page = to; this.draw(); document.getElementById(id).focus(); });
      nav.appendChild(button);
    }
    return nav;
  };

  ResultTable.prototype.cell = function (td, term) {
    if (!term) return;
    if (term.type === "uri") { this.iriCell(td, term.value); return; }
    if (term.type === "bnode") { td.textContent = "_:" + term.value; return; }
    if (term.datatype && NUMERIC.test(term.datatype) && isFinite(Number(term.value))) {
      td.className = "num"; td.title = term.value;
      td.textContent = Number(term.value).toLocaleString(lang === "en" ? "en-US" : "ja-JP", { maximumFractionDigits: 20 });
      return;
    }
    td.appendChild(document.createTextNode(term.value));
    if (term["xml:lang"]) {
      const tag = document.createElement("span"); tag.className = "lang"; tag.textContent = " @" + term["xml:lang"];
      td.appendChild(tag);
    }
  };

  // An IRI: its label as the link's text and its prefixed name beside it; without a label, the prefixed
  // name (or the IRI) itself. The full IRI is the link's title. Unsafe IRIs stay text.
  ResultTable.prototype.iriCell = function (td, iri) {
    const label = this.labels[iri], short = prefixed(iri, this.prefixes), href = safeHref(iri);
    const text = label || short || iri;
    const node = href === null ? document.createElement("span") : document.createElement("a");
    if (href !== null) node.href = href;
    node.title = iri; node.textContent = text;
    td.appendChild(node);
    if (label) {
      const name = document.createElement("span"); name.className = "iri-name"; name.textContent = " (" + (short || iri) + ")";
      td.appendChild(name);
    }
  };

  function compareTerms(a, b, labels) {  // unbound last; numbers as numbers; else by the text shown
    if (!a || !b) return a ? -1 : b ? 1 : 0;
    const numeric = (t) => t.datatype && NUMERIC.test(t.datatype) && isFinite(Number(t.value));
    if (numeric(a) && numeric(b)) return Number(a.value) - Number(b.value);
    const shown = (t) => (t.type === "uri" && labels[t.value]) || t.value;
    return shown(a).localeCompare(shown(b), lang);
  }
})();
