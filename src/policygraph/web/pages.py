"""The home page and the SPARQL query page."""

from __future__ import annotations

import json
from html import escape

from fastapi import Request

from policygraph.web.html import layout

DEFAULT_QUERY = """PREFIX pg: <https://w3id.org/policygraph/def#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?name ?amount WHERE {
  ?p pg:componentOf <https://w3id.org/policygraph/id/prefectural-project/20/070201> ; rdfs:label ?name .
  ?o pg:program ?p ; pg:fiscalYear <https://w3id.org/policygraph/id/fiscal-year/2025> ;
     pg:budgetStage <https://w3id.org/policygraph/id/code/budget-stage/draft> ; pg:amount ?amount .
  FILTER(lang(?name) = "ja")
} ORDER BY DESC(?amount)"""


def home_page(request: Request, lang: str) -> str:
    en = lang == "en"
    intro = ("A knowledge graph of Japanese public policy on small and medium enterprises: the FY2008 national SME "
             "support plan, Nagano prefecture's FY2025 review sheet for project 07 02 01, their budgets by year and "
             "stage, KPIs and plan goals, and curated links between national and prefectural programs. Every fact "
             "points to the place in its source it was read from." if en else
             "日本の中小企業政策の知識グラフです。国の中小企業支援計画（平成20年度）と長野県の事業改善シート"
             "（令和7年度、事業番号 07 02 01）を転記し、年度・段階ごとの予算、成果指標、総合計画の目標、国と県の事業の"
             "対応関係を記述しています。すべての事実は出典資料の該当箇所に辿れます。")
    links = [
        ("/id/prefecture/20", "長野県", "Nagano Prefecture"),
        ("/id/prefectural-project/20/070201", "事業 07 02 01 中小企業経営支援関連事業費", "Project 07 02 01 (Nagano)"),
        ("/id/prefecture", "都道府県（47）", "The 47 prefectures"),
        ("/id/national-plan/2008", "平成20年度 国の中小企業支援計画", "FY2008 national SME support plan"),
        ("/queries/national-programs", "国の計画の事業一覧（JSON）", "National plan programs (JSON)"),
        ("/query", "SPARQL クエリ", "SPARQL query page"),
        ("/queries", "名前付きクエリ API", "Named-query API"),
        ("/docs", "API ドキュメント（OpenAPI）", "API documentation (OpenAPI)"),
        ("/dataset", "データセットの説明（VoID / DCAT）とダウンロード", "Dataset description (VoID / DCAT) and downloads"),
        ("/ontology", "オントロジー", "Ontology"), ("/shapes", "SHACL シェイプ", "SHACL shapes"),
    ]
    items = "".join(f'<li><a href="{href}">{escape(e if en else j)}</a></li>' for href, j, e in links)
    dumps = " · ".join(f'<a href="/dumps/{n}">{n}</a>' for n in
                       ("policygraph.trig", "policygraph.nt", "policygraph.ttl", "policygraph.jsonld"))
    body = f"""<h1>policygraph</h1><p class="lead">{escape(intro)}</p><ul class="links">{items}</ul>
<p>{'Downloads' if en else 'ダウンロード'}: {dumps}</p>
<p>SPARQL endpoint: <code>{escape(str(request.base_url))}sparql</code></p>"""
    return layout("policygraph", body, lang, "/")


def _script_json(value) -> str:
    """JSON for a <script> element: raw text, so no HTML escaping, but no "</" that could end it."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\u0021--")


def query_page(request: Request, lang: str) -> str:
    queries = getattr(request.app.state, "queries", {}) or {}
    examples = {"default": DEFAULT_QUERY}
    for name, q in queries.items():
        try:
            examples[name] = q.bind({}).strip()
        except Exception:  # noqa: BLE001 - a query that needs a value has no runnable example
            continue
    options = "".join(f'<option value="{escape(n)}">{escape(n)}</option>' for n in examples)
    body = f"""<h1>SPARQL</h1>
<form id="query-form"><label>{'Examples' if lang == 'en' else '例'}: <select id="examples">{options}</select></label>
<textarea id="query" name="query" rows="14" spellcheck="false">{escape(DEFAULT_QUERY)}</textarea>
<button type="submit" id="run">{'Run' if lang == 'en' else '実行'}</button>
<span id="status"></span></form>
<p id="downloads"></p><div id="results"></div>
<script id="example-data" type="application/json">{_script_json(examples)}</script>
<script src="/static/query.js"></script>"""
    return layout("SPARQL", body, lang, "/query")
