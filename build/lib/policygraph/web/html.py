"""Server-rendered HTML: Jinja2 templates (templates/, autoescaped) on one layout, Japanese first,
no external assets.

Every page is plain HTML with the app's own stylesheet (/static/style.css); pages work offline
and without JavaScript except the SPARQL query page, whose script the app also serves. Templates
get ``t`` (interface strings in the page's language), the ``safe_href`` filter, ``lang`` and ``site``
(graph.Site: what the footer and home page say about the dataset).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from policygraph.transform.ids import BASE, GRAPH, ID

T = {  # interface strings: (ja, en)
    "home": ("ホーム", "Home"), "prefectures": ("都道府県", "Prefectures"), "plan": ("国の支援計画", "National plan"),
    "programs": ("事業一覧", "Programs"), "query": ("SPARQL クエリ", "SPARQL query"), "api": ("API", "API"),
    "dataset": ("データセット", "Dataset"), "ontology": ("オントロジー", "Ontology"),
    "types": ("種類", "Types"), "properties": ("プロパティ", "Properties"), "referenced": ("参照元", "Referenced by"),
    "provenance": ("出典", "Provenance"), "budget": ("予算額（千円）", "Budget (thousand yen)"),
    "formats": ("他の形式", "Other formats"), "licence": ("ライセンス", "Licence"), "year": ("年度", "Fiscal year"),
    "more": ("次へ", "Next"), "prev": ("前へ", "Previous"), "notfound": ("見つかりません", "Not found"),
    "badrequest": ("不正なリクエスト", "Bad request"), "error": ("エラー", "Error"),
    "general": ("うち一般財源", "of which general revenue"),
    "pages": ("出典ページ", "Source pages"), "readings": ("ページにより異なる額", "pages print different amounts"),
    "run": ("実行", "Run"), "examples": ("例", "Examples"), "downloads": ("ダウンロード", "Downloads"),
    "intro": ("日本の中小企業政策の知識グラフです。下記の出典資料を転記し、事業、年度・段階ごとの予算、成果指標、"
              "計画の目標、国と県の事業の対応関係を記述しています。すべての事実は出典資料の該当箇所に辿れます。",
              "A knowledge graph of Japanese public policy on small and medium enterprises, transcribed from the "
              "sources below: programs, budgets by year and stage, KPIs and plan goals, and curated links between "
              "national and prefectural programs. Every fact points to the place in its source it was read from."),
    "sources": ("出典資料", "Sources"), "plans": ("国の計画", "National plans"),
    "with-data": ("データのある都道府県", "Prefectures with data"),
    "all-prefectures": ("都道府県（47）", "The 47 prefectures"),
    "plan-programs": ("国の計画の事業一覧（JSON）", "National plan programs (JSON)"),
    "query-page": ("SPARQL クエリ", "SPARQL query page"), "named-queries": ("名前付きクエリ API", "Named-query API"),
    "api-docs": ("API ドキュメント（OpenAPI）", "API documentation (OpenAPI)"),
    "dataset-link": ("データセットの説明（VoID / DCAT）とダウンロード",
                     "Dataset description (VoID / DCAT) and downloads"),
    "shapes": ("SHACL シェイプ", "SHACL shapes"),
    # ontology and shapes pages (vocabulary.py)
    "voc-contents": ("目次", "Contents"), "voc-metadata": ("メタデータ", "Metadata"),
    "voc-metadata-caption": ("オントロジーのメタデータ（グラフの記載どおり）",
                             "The ontology's metadata, as the graph states it"),
    "voc-meta-title": ("題名", "Title"), "voc-meta-description": ("説明", "Description"),
    "voc-meta-version-iri": ("版の IRI", "Version IRI"), "voc-meta-version-info": ("版", "Version"),
    "voc-meta-licence": ("ライセンス", "Licence"), "voc-meta-creator": ("作成者", "Creators"),
    "voc-meta-contributor": ("貢献者", "Contributors"), "voc-meta-publisher": ("公開者", "Publisher"),
    "voc-meta-created": ("作成日", "Created"), "voc-meta-modified": ("更新日", "Modified"),
    "voc-meta-issued": ("公開日", "Issued"), "voc-meta-imports": ("インポート", "Imports"),
    "voc-meta-prefix": ("推奨接頭辞", "Preferred prefix"),
    "voc-meta-namespace": ("推奨名前空間", "Preferred namespace"),
    "voc-meta-see-also": ("関連資料", "See also"),
    "voc-not-stated": ("（オントロジーに記載なし）", "(not stated in the graph)"), "voc-none": ("（なし）", "(none)"),
    "voc-blank": ("（空白ノード）", "(blank node)"),
    "voc-namespaces": ("名前空間", "Namespaces"),
    "voc-prefix": ("接頭辞", "Prefix"),
    "voc-namespace": ("名前空間", "Namespace"),
    "voc-terms-used": ("使われている IRI の数", "IRIs used"),
    "voc-namespaces-intro": ("オントロジーのグラフ（コードリストを含む）が用いる IRI の名前空間。",
                             "The namespaces of the IRIs the ontology graph (code lists included) uses."),
    "voc-diagram": ("クラス図", "Class diagram"),
    "voc-diagram-intro": ("箱はクラス（破線は他の語彙のクラス）、黒い矢印は上位クラスへ（rdfs:subClassOf）、"
                          "青い矢印は定義域から値域へのオブジェクトプロパティです。箱を選ぶとその説明に移ります。",
                          "Boxes are classes (dashed: classes of other vocabularies); black arrows point to the "
                          "superclass (rdfs:subClassOf), blue arrows are object properties from domain to range. "
                          "A box links to its class."),
    "voc-diagram-open": ("SVG ファイルで開く", "Open the SVG file"),
    "voc-legend-class": ("クラス", "class"), "voc-legend-external": ("他の語彙のクラス", "other vocabulary"),
    "voc-legend-subclass": ("上位クラスへ", "subclass of"), "voc-legend-property": ("定義域→値域", "domain → range"),
    "voc-diagram-table": ("図の関係の一覧（表）", "The diagram's relations as a table"),
    "voc-diagram-title": ("policygraph オントロジーのクラス図", "Class diagram of the policygraph ontology"),
    "voc-diagram-desc": ("クラス {classes} 個と他の語彙のクラス {external} 個、上位クラスへの矢印 {subclass} 本、"
                         "オブジェクトプロパティ {properties} 個。同じ内容を図の下の表に示します。",
                         "{classes} classes and {external} classes of other vocabularies, {subclass} subclass "
                         "arrows and {properties} object properties; the table below the diagram lists them."),
    "voc-from": ("元", "From"), "voc-relation": ("関係", "Relation"), "voc-to": ("先", "To"),
    "voc-classes": ("クラス", "Classes"), "voc-object-properties": ("オブジェクトプロパティ", "Object properties"),
    "voc-datatype-properties": ("データプロパティ", "Datatype properties"),
    "voc-annotation-properties": ("注釈プロパティ", "Annotation properties"),
    "voc-structures": ("データ構造定義（RDF Data Cube）", "Data structure definitions (RDF Data Cube)"),
    "voc-components": ("構成要素", "Components"), "voc-role": ("役割", "Role"), "voc-order": ("順序", "Order"),
    "voc-required": ("必須", "Required"), "voc-yes": ("はい", "yes"),
    "voc-role-dimension": ("次元", "dimension"), "voc-role-measure": ("測定値", "measure"),
    "voc-role-attribute": ("属性", "attribute"),
    "voc-definition": ("定義", "Definition"), "voc-comment": ("注記", "Comment"),
    "voc-superclasses": ("上位クラス", "Superclasses"), "voc-subclasses": ("下位クラス", "Subclasses"),
    "voc-disjoint": ("互いに素なクラス", "Disjoint with"), "voc-shapes-of": ("検査するシェイプ", "Checked by shapes"),
    "voc-domain-of": ("このクラスを定義域とするプロパティ", "Properties with this class as domain"),
    "voc-range-of": ("このクラスを値域とするプロパティ", "Properties with this class as range"),
    "voc-no-domain-of": ("このクラスを定義域とするプロパティはありません。",
                         "No property has this class as its domain."),
    "voc-no-range-of": ("このクラスを値域とするプロパティはありません。", "No property has this class as its range."),
    "voc-inherited": ("上位クラスを定義域とするプロパティ", "Properties of its superclasses"),
    "voc-domain": ("定義域", "Domain"), "voc-range": ("値域", "Range"), "voc-kind": ("種類", "Kind"),
    "voc-superproperties": ("上位プロパティ", "Super-properties"),
    "voc-subproperties": ("下位プロパティ", "Sub-properties"),
    "voc-inverse": ("逆プロパティ", "Inverse"), "voc-chain": ("プロパティの連鎖", "Property chain"),
    "voc-code-list": ("コードリスト", "Code list"), "voc-code-lists": ("コードリスト", "Code lists"),
    "voc-code-lists-intro": ("SKOS の概念体系。事業計画（支援計画）と指標の一覧はデータなので含めません。",
                             "SKOS concept schemes; the plans' outlines and the lists of indicators are data and "
                             "not listed here."),
    "voc-graph": ("グラフ", "Graph"), "voc-concepts": ("概念", "Concepts"), "voc-notation": ("記号", "Notation"),
    "voc-label-ja": ("日本語ラベル", "Japanese label"), "voc-label-en": ("英語ラベル", "English label"),
    "voc-related": ("関係", "Related"), "voc-broader": ("上位", "broader"),
    "voc-no-notation": ("（記号なし）", "(no notation)"),
    "sh-intro": ("グラフが満たすべき条件（SHACL）。policygraph validate がこれで検査します。",
                 "What a valid graph looks like (SHACL); policygraph validate checks the graph against it."),
    "sh-node-shapes": ("ノードシェイプ", "Node shapes"),
    "sh-property-shapes": ("共有のプロパティシェイプ", "Shared property shapes"),
    "sh-property-shapes-intro": ("名前を持ち、複数のノードシェイプが使うプロパティシェイプ。",
                                 "Property shapes with names of their own, which node shapes share."),
    "sh-by-target": ("対象クラスごとのシェイプ", "Shapes by target class"),
    "sh-other-targets": ("クラスでなく、主語やSPARQLで対象を選ぶシェイプは下の一覧にあります。",
                         "Shapes that select their targets otherwise (subjects of a property, SPARQL) are "
                         "in the list below."),
    "sh-targets": ("対象", "Targets"), "sh-no-target": ("（対象の指定なし）", "(no target)"),
    "sh-targetClass": ("対象クラス", "Target class"), "sh-targetNode": ("対象ノード", "Target node"),
    "sh-targetSubjectsOf": ("このプロパティの主語",
                            "Subjects of"), "sh-targetObjectsOf": ("このプロパティの目的語", "Objects of"),
    "sh-target": ("SPARQL で選ぶ対象", "Target selected by SPARQL"),
    "sh-severity": ("重大度", "Severity"), "sh-severity-Violation": ("違反", "violation"),
    "sh-severity-Warning": ("警告", "warning"), "sh-severity-Info": ("情報", "info"),
    "sh-message": ("メッセージ", "Message"), "sh-node-constraints": ("ノード自体の制約", "Constraints on the node"),
    "sh-properties": ("プロパティの制約", "Property constraints"), "sh-sparql": ("SPARQL 制約", "SPARQL constraint"),
    "sh-query": ("クエリ", "Query"), "sh-path": ("パス", "Path"), "sh-constraints": ("制約", "Constraints"),
    "sh-flags": ("フラグ", "flags"),
    "sh-exactly": ("値がちょうど {n} 個", "exactly {n} value(s)"),
    "sh-min-count": ("値が {n} 個以上", "at least {n} value(s)"),
    "sh-max-count": ("値は {n} 個まで", "at most {n} value(s)"),
    "sh-class": ("値は次のクラスのインスタンス:", "each value is an instance of"),
    "sh-datatype": ("値のデータ型:",
                    "each value has the datatype"), "sh-nodeKind": ("値の種類:", "each value is a node of kind"),
    "sh-pattern": ("値が次の正規表現に一致:", "each value matches the pattern"),
    "sh-in": ("値は次のいずれか:",
              "each value is one of"), "sh-languageIn": ("言語タグは次のいずれか:", "language tag one of"),
    "sh-minInclusive": ("値の下限（含む）:", "each value ≥"), "sh-maxInclusive": ("値の上限（含む）:", "each value ≤"),
    "sh-minExclusive": ("値の下限（含まない）:",
                        "each value >"), "sh-maxExclusive": ("値の上限（含まない）:", "each value <"),
    "sh-minLength": ("文字数の下限:", "at least this many characters:"),
    "sh-maxLength": ("文字数の上限:", "at most this many characters:"),
    "sh-hasValue": ("次の値を含む:", "has the value"),
    "sh-node": ("値が次のシェイプを満たす:", "each value conforms to"),
    "sh-uniqueLang": ("言語ごとに値は一つ:", "one value per language:"),
    "sh-equals": ("値が次のプロパティの値と同じ:", "values equal those of"),
    "sh-disjoint": ("値が次のプロパティの値と重ならない:", "values disjoint from those of"),
    "sh-lessThan": ("値が次のプロパティの値より小さい:", "each value is less than those of"),
    "sh-lessThanOrEquals": ("値が次のプロパティの値以下:", "each value is at most those of"),
    "sh-closed": ("閉じたシェイプ:",
                  "closed:"), "sh-ignoredProperties": ("閉じたシェイプで許すプロパティ:", "ignored properties:"),
    "sh-not": ("次の条件を満たさない:", "does not satisfy"), "sh-and": ("次の条件をすべて満たす:", "satisfies all of"),
    "sh-or": ("次の条件のいずれかを満たす:", "satisfies at least one of"),
    "sh-xone": ("次の条件のちょうど一つを満たす:", "satisfies exactly one of"),
    "sh-qualified-min": ("次の条件を満たす値が {n} 個以上:", "at least {n} value(s) that satisfy"),
    "sh-qualified-max": ("次の条件を満たす値は {n} 個まで:", "at most {n} value(s) that satisfy"),
    # the comparison page (compare.py, templates/compare.html)
    "cmp-title": ("都道府県の予算の比較", "Compare prefectures' budgets"),
    "cmp-intro": ("都道府県・年度・予算の段階・まとめ方を選ぶと、事業費（千円、全財源）を表とグラフで比べます。"
                  "異なる段階や経費区分の額は足し合わせません。値はすべてグラフにあるものです。",
                  "Choose prefectures, fiscal years, a budget stage and a grouping to compare project costs (thousand "
                  "yen, all funding sources) in a table and a chart. Amounts of different stages or cost components "
                  "are never added. Every value is one the graph holds."),
    "cmp-without": ("予算の数値がない都道府県（{}）", "Prefectures without budget figures ({})"),
    "cmp-years": ("年度", "Fiscal years"), "cmp-stage": ("予算の段階", "Budget stage"),
    "cmp-auto": ("各都道府県・年度で最初の段階", "The first stage each prefecture has that year"),
    "cmp-group": ("まとめ方", "Group by"),
    "cmp-group-national-program": ("対応する国の事業", "Aligned national program"),
    "cmp-group-classification": ("予算科目（款・項・目）", "Budget classification"),
    "cmp-group-policy-area": ("政策分野", "Policy area"), "cmp-group-program": ("事業（まとめない）", "Program"),
    "cmp-submit": ("比較する", "Compare"), "cmp-example": ("例を見る", "See an example"),
    "cmp-choose": ("都道府県と年度を一つ以上選んでください。", "Choose at least one prefecture and one fiscal year."),
    "cmp-result": ("比較結果", "Comparison"),
    "cmp-caption": ("事業費（千円、全財源）: {}別、都道府県・年度（段階）ごと",
                    "Project cost (thousand yen, all funding sources) by {}, per prefecture and fiscal year (stage)"),
    "cmp-fy": ("{}年度", "FY{}"), "cmp-total": ("合計（各事業を1回）", "Total (each program once)"),
    "cmp-none-national-program": ("（対応する国の事業なし）", "(no aligned national program)"),
    "cmp-none-classification": ("（予算科目の記載なし）", "(no classification printed)"),
    "cmp-none-policy-area": ("（政策分野なし）", "(no policy area)"), "cmp-none-program": ("（事業なし）", "(none)"),
    "cmp-legend-dash": ("「—」はその都道府県・年度の数値がグラフにないことを示します。",
                        "“—”: the graph holds no figure for that prefecture and year."),
    "cmp-legend-differ": ("「*」は出典ページにより異なる額が記載された事業を含み、最大の額で集計しています。",
                          "“*”: includes a program whose pages print different amounts; the largest is counted."),
    "cmp-mixed": ("列によって予算の段階が異なります（見出しに記載）。異なる段階の額は合算していません。",
                  "The columns are at different budget stages (named in each heading); amounts of different stages "
                  "are never added."),
    "cmp-shared": ("複数のまとまりに属する事業はそれぞれで数えるため、行の和が合計を上回ることがあります。",
                   "A program in several groups counts in each, so the rows can add up to more than the total."),
    "cmp-missing": ("選んだ年度の数値がない都道府県", "Chosen prefectures without figures for the chosen years"),
    "cmp-at-stage": ("（段階: {}）", "(stage: {})"),
    "cmp-missing-all": ("選んだどの年度にも数値がありません", "no figures for any chosen year"),
    "cmp-missing-some": ("数値がない年度:", "no figures for"),
    "cmp-nodata": ("選んだ都道府県・年度の数値はグラフにありません。",
                   "The graph holds no figures for the chosen prefectures and years."),
    "cmp-csv": ("この表を CSV でダウンロード", "Download this table as CSV"),
    "cmp-chart": ("上の表の棒グラフ（千円）", "Bar chart of the table above (thousand yen)"),
    "cmp-chart-cut": ("グラフは最初の {} 本のみです。表にすべての値があります。",
                      "The chart shows the first {} bars; the table has every value."),
    # the search page (search.py, templates/search.html)
    "s-title": ("検索", "Search"), "s-title-q": ("「{}」の検索結果", "Search results for “{}”"),
    "s-text": ("名前に含まれる語", "Text in the name"), "s-type": ("種類", "Type"), "s-any": ("（指定なし）", "(any)"),
    "s-hint": ("事業・計画・指標・出典などを、日本語または英語の名前の一部で探せます。",
               "Find programs, plans, indicators, sources and more by part of their Japanese or English name."),
    "s-none": ("「{}」を名前に含むものは見つかりませんでした。", "Nothing has “{}” in its name."),
    "s-count": ("{:,} 件中 {:,}–{:,} 件目（完全一致、前方一致、部分一致の順）",
                "{:,} found; {:,}–{:,} shown (exact matches first, then names starting with the text, then the rest)"),
    "s-caption": ("「{}」を名前に含むリソース", "Resources whose name contains “{}”"),
    "s-label-ja": ("名前（日本語）", "Name (Japanese)"), "s-label-en": ("名前（英語）", "Name (English)"),
    "s-no-en": ("英語名なし", "no English name"), "s-prefecture": ("都道府県", "Prefecture"),
    # named queries and /api pages (views/query_form.py)
    "nq-catalogue": ("名前付きクエリ", "Named queries"),
    "nq-not-acted-on": ("このサービスでは使わない grlc の指定（クエリはこのサービスのストアで実行）:",
                        "grlc decorators this service does not act on (the query runs on this service's store):"),
    "nq-notes": ("注意:", "Note:"),
    "nq-intro": ("SPARQL を書かずに使える定型のクエリです。パラメータを選んで表を表示し、"
                 "CSV（Excel）や JSON で保存できます。どのクエリも API として使えます（既定は JSON）。",
                 "Ready-made queries that need no SPARQL: choose the parameters, see the table, save it as CSV "
                 "(Excel) or JSON. Each is an API endpoint too (JSON by default)."),
    "nq-tags": ("タグ", "Tags"), "nq-all": ("すべて", "All"), "nq-name": ("名前", "Name"),
    "nq-summary": ("概要", "Summary"), "nq-parameters": ("パラメータ", "Parameters"),
    "nq-required": ("必須", "required"),
    "nq-default": ("既定値", "default"), "nq-paginated": ("1 ページ {} 行", "{} rows a page"),
    "nq-resources": ("REST リソース（/api）", "REST resources (/api)"),
    "nq-api-programs": ("国の計画の事業一覧", "National plan programs"), "nq-api-program": ("事業 {}", "Program {}"),
    "nq-api-projects": ("{}の事業", "Projects of {}"),
    "nq-api-compare": ("都道府県間の予算比較", "Budget comparison across prefectures"),
    "nq-refused": ("受け付けられない値:", "Refused:"), "nq-page-size": ("1 ページの行数", "Rows a page"),
    "nq-any": ("（指定なし）", "(any)"), "nq-show": ("表示", "Show"), "nq-answer": ("結果", "Result"),
    "nq-rows": ("{:,} 行", "Rows: {:,}"), "nq-rows-page": ("{:,}–{:,} 行目（{} ページ）", "Rows {:,}–{:,} (page {})"),
    "nq-page": ("{} ページ", "Page {}"),
    "nq-truncated": ("上限の {:,} 行で打ち切り", "cut off at the limit of {:,} rows"),
    "nq-no-rows": ("該当する行はありません。", "No rows match."), "nq-pages": ("ページ", "Pages"),
    "nq-without-data": ("データのない都道府県", "Prefectures without data"),
    "nq-open-editor": ("エディタで開く", "Open in the editor"),
    "nq-sort-page": ("列の見出しで並べ替えられるのは、このページの行です。",
                     "A column header sorts the rows of this page."),
    # national plan, national programs and curated links (views/national.py, templates/sections/plan_*, …)
    "nat-item": ("項目・事業", "Section or program"), "nat-thousand-yen": ("千円", "thousand yen"),
    "nat-alignment-count": ("対応関係", "Alignments"), "nat-path": ("計画上の位置", "Place in the plan"),
    "nat-plan-note": ("金額は資料に記載された予算額（千円）です。資料に金額の記載がない事業は"
                      "「額の記載なし」と表示します。合計は計算していません。",
                      "Amounts are the budgets as printed in the source (thousand yen). A program whose source prints "
                      "no amount says “no amount printed”. Nothing is added up."),
    "nat-program-count": ("事業数", "Programs"), "nat-empty-section": ("この項目の下に項目・事業はありません。",
                                                                      "Nothing is listed under this section."),
    "nat-new": ("新規", "new"), "nat-no-amount": ("額の記載なし", "no amount printed"),
    "nat-no-quote": ("引用の記録なし", "no quote recorded"), "nat-evidence-pages": ("根拠のページ", "Evidence pages"),
    "nat-source": ("出典箇所", "Source"), "nat-not-recorded": ("記録なし", "not recorded"),
    "nat-national": ("国の支援計画の事業", "National plan program"),
    "nat-prefectural": ("都道府県の事業", "Prefectural program"),
    "nat-first": ("一方の事業", "First program"), "nat-second": ("他方の事業", "Second program"),
    "nat-earlier": ("以前の事業", "Earlier program"), "nat-later": ("以後の事業", "Later program"),
    "nat-type": ("種類", "Type"), "nat-evidence-kind": ("根拠の種類", "Kind of evidence"),
    "nat-rationale": ("理由", "Rationale"), "nat-note": ("注記", "Note"), "nat-asserted": ("主張者", "Asserted by"),
    "nat-curated-in": ("記録", "recorded in"), "nat-quote": ("根拠の引用", "Evidence quote"),
    "nat-claim-alignment": ("国と都道府県の事業の対応関係", "Alignment of a national and a prefectural program"),
    "nat-claim-counterpart": ("都道府県間の対応関係", "Counterpart programs of two prefectures"),
    "nat-claim-link": ("事業の継続関係", "Continuity between programs"),
    "nat-via": ("対応しているのはこの事業の一部", "Aligned through its part"),
    "nat-open-claim": ("対応関係の詳細", "Details of this alignment"),
    "nat-summary": ("対応関係の一覧（詳細は下に）", "The alignments at a glance (details below)"),
    "nat-outline-caption": ("：項目・事業と予算額", ": sections, programs and budgets"),
    "nat-budget": ("計画に記載された予算額", "Budget as printed in the plan"),
    "nat-printed": ("記載のとおり", "As printed"), "nat-parts": ("構成する事業", "Parts"),
    "nat-alignments": ("対応する都道府県の事業", "Aligned prefectural programs"),
    "nat-no-alignments": ("この事業と対応付けられた都道府県の事業はグラフにありません。",
                          "The graph aligns no prefectural program with this program."),
    # the query editor (/query): q-* keys go to query.js in the page's language
    "q-editor": ("SPARQL クエリ", "SPARQL query"), "q-history": ("履歴", "History"),
    "q-history-none": ("（まだありません）", "(none yet)"), "q-running": ("実行中…", "Running…"),
    "q-rows": ("{n} 行、{ms} ms", "{n} rows, {ms} ms"),
    "q-truncated": ("（上限 {limit} 行で打ち切り）", "(cut at the limit of {limit} rows)"),
    "q-share": ("このクエリへのリンク", "Link to this query"), "q-results": ("結果", "Results"),
    "q-range": ("{from}–{to} 行目 / 全 {n} 行", "rows {from}–{to} of {n}"),
    "q-prev": ("前の 50 行", "Previous 50"), "q-next": ("次の 50 行", "Next 50"),
    "q-sorted": ("並べ替え：{v}（{dir}）", "sorted by {v} ({dir})"),
    "q-asc": ("昇順", "ascending"), "q-desc": ("降順", "descending"),
    "q-missing-prefix": ("プレフィックス {p}: が宣言されていません — PREFIX {p}: <{iri}> を追加してください",
                         "Prefix {p}: is not declared — add PREFIX {p}: <{iri}>"),
    "q-add-prefixes": ("PREFIX を追加", "Add the PREFIX lines"),
    "q-bad": ("クエリの誤り", "The query has an error"), "q-timeout": ("時間切れ", "Timed out"),
    "q-busy": ("サーバーが混雑しています。しばらくして再実行してください", "The server is busy; run it again shortly"),
    "q-refused": ("実行できないクエリ", "Refused"), "q-failed": ("エラー", "Error"),
    "q-network": ("サーバーに接続できません", "Could not reach the server"),
    "q-graph": ("{n} 文字の RDF（Turtle）", "RDF (Turtle), {n} characters"),
    "q-nolabel": ("ラベルなし", "no label"),
    # site-wide layout (base.html), home, dataset and error pages
    "site-skip": ("本文へ", "Skip to content"), "site-nav": ("サイト内の案内", "Site navigation"),
    "site-search": ("検索", "Search"), "site-compare": ("比較", "Compare"),
    "site-search-label": ("サイト内を検索（事業名・計画名など）", "Search the site (program and plan names …)"),
    "site-queries": ("名前付きクエリ", "Named queries"), "site-developers": ("開発者向け", "For developers"),
    "site-start": ("ここから", "Start here"), "site-endpoint": ("SPARQL エンドポイント", "SPARQL endpoint"),
    "site-compare-d": ("都道府県・年度・まとめ方を選び、予算を表とグラフで比べます（CSV あり）。",
                       "Choose prefectures, fiscal years and a grouping: budgets as a table and a chart, with CSV."),
    "site-search-d": ("事業・計画・出典などを名前で探します。", "Find programs, plans, sources and more by name."),
    "site-plan-d": ("国の計画の構成、事業と予算。", "The national plan's sections, programs and budgets."),
    "site-programs": ("国の計画の事業一覧", "Programs of the national plan"),
    "site-programs-d": ("国の計画の事業を一つの表で。", "The national plan's programs in one table."),
    "site-queries-d": ("用意された問い合わせをフォームで実行し、表や CSV で受け取ります。",
                       "Ready-made questions: fill in a form, get a table or a CSV."),
    "site-query-d": ("SPARQL を書いて実行します（例つき）。", "Write and run SPARQL queries (examples included)."),
    "site-dataset-d": ("データセットの説明、ダウンロード、出典資料とその利用条件。",
                       "What the dataset is, its downloads, and every source with its terms of use."),
    "site-no-prefectures": ("都道府県の事業はまだグラフにありません。",
                            "No prefecture's programs are in the graph yet."),
    "site-modified": ("更新日時", "Modified"), "site-not-recorded": ("記録なし", "not recorded"),
    "site-machine": ("機械可読な記述", "Machine-readable"), "site-file": ("ファイル", "File"),
    "site-media-type": ("メディアタイプ", "Media type"), "site-bytes": ("バイト数", "Bytes"),
    "site-no-dumps": ("このサーバーはダンプを提供していません。", "This server offers no dumps."),
    "site-sources-n": ("{n} 件の資料・ページ。ページの利用条件はそのサイトのものです。",
                       "{n} documents and pages; a page's terms are those of its site."),
    "site-source": ("資料", "Source"), "site-url-file": ("URL / ファイル", "URL / file"),
    "site-terms": ("利用条件", "Terms of use"),
    "site-no-terms": ("data/ に利用条件の記録なし", "terms of use not recorded in data/"),
    "site-graphs": ("名前付きグラフ", "Named graphs"), "site-graph": ("グラフ", "Graph"),
    "site-triples": ("トリプル数", "Triples"), "site-examples": ("例となるリソース", "Example resources"),
    "site-not-in-graph": ("この IRI はグラフにありません。", "This IRI is not in the graph."),
    "site-no-page": ("このアドレスにページはありません。", "There is no page at this address."),
    "site-try": ("次から探せます：", "Try:"),
    "site-search-query": ("名前付きクエリ search", "the named query search"),
    # resource pages (resources.py, views/statements.py, views/project.py, views/prefecture.py)
    "r-budget-caption": ("年度・段階別の事業費（千円）。下の行はうち一般財源",
                         "Project cost by fiscal year and stage (thousand yen); "
                         "the row below a year is the part from general revenue"),
    "r-no-budget": ("グラフにはこの事業自体の予算額がありません。",
                    "The graph holds no budget figure for this program itself."),
    "r-properties-caption": ("出典・キュレーションに記載された文", "Statements from the sources and curators"),
    "r-inferred": ("推論された文", "Inferred statements"),
    "r-inferred-note": ("オントロジーの規則から導かれ、どの出典にも直接は書かれていない文です。",
                        "Entailed by the ontology's rules; no source states them directly."),
    "r-inferred-caption": ("推論された文", "Inferred statements"),
    "r-inferred-mark": ("（推論）", "(inferred)"),
    "r-property": ("プロパティ", "Property"), "r-value": ("値", "Value"),
    "r-show-rest": ("残りを表示", "Show the rest"),
    "r-part-of": ("上位の事業", "Part of"),
    "r-no-figure": ("額なし", "no figure"),
    "r-components-caption": ("細事業 × 年度 × 段階の事業費（千円、全財源）と事業全体の額との照合",
                             "Project cost by sub-project, fiscal year and stage (thousand yen, all funding) "
                             "checked against the project's printed total"),
    "r-sub-project": ("細事業", "Sub-project"), "r-sum-of-components": ("細事業の合計", "Sum of sub-projects"),
    "r-printed-total": ("事業全体の額（資料記載）", "Project total as printed"),
    "r-cross-check": ("照合", "Cross-check"), "r-check-match": ("合計 = 記載額", "sum = printed total"),
    "r-check-differs": ("差", "difference"), "r-check-no-printed": ("記載額なし", "no printed total"),
    "r-components-note": ("合計と照合はこのページで計算したもので、グラフには記録されていません。"
                          "「—」はグラフに額がないことを示します。",
                          "Sums and checks are computed for this page, not stored in the graph. "
                          "“—” means the graph holds no figure."),
    "r-kpi-caption": ("成果指標（KPI）の値", "KPI values"),
    "r-plan-goal-caption": ("計画の目標の値", "Plan goal values"),
    "r-indicator": ("指標", "Indicator"), "r-unit": ("単位", "Unit"), "r-year-unknown": ("年度不明", "year unknown"),
    "r-not-in-source": ("出典に記載なし", "not in source"),
    "r-no-projects": ("この都道府県の事業はまだこのデータセットにありません。",
                      "This dataset holds no projects of this prefecture yet."),
    "r-no-figures": ("この都道府県の事業の予算額はまだこのデータセットにありません。",
                     "This dataset holds no budget figures for this prefecture's projects yet."),
    "r-projects-caption": ("事業一覧", "Projects"), "r-project": ("事業", "Project"),
    "r-project-number": ("事業番号", "Number"), "r-years-with-figures": ("予算額のある年度", "Years with figures"),
    "r-totals-note": ("合計は同じ年度・同じ段階の額だけを足したものです（段階をまたいで足していません）。"
                      "事業数はその段階の額がある事業の数です。グラフは各年度で最も多くの事業に額がある段階を示します"
                      "（同数なら当初予算・予算案を優先。ページにより額が異なる合計はグラフに含めません）。",
                      "Each total adds one stage of one year only (stages are never added together), over the "
                      "projects with a figure at that stage. The chart shows, for each year, the stage most "
                      "projects have a figure for (the initial budget or draft first on a tie; totals that the "
                      "pages print differently are left out)."),
    "r-stage": ("段階", "Stage"), "r-total": ("合計", "Total"), "r-projects-counted": ("事業数", "Projects"),
    "r-charted": ("（グラフ）", "(charted)"),
    "r-index-caption": ("都道府県（JIS X 0401 の順）と、このデータセットにある事業の数（—：まだなし）",
                        "Prefectures (in JIS X 0401 order) and the number of their projects in this dataset "
                        "(—: none yet)"),
    "r-code": ("コード", "Code"),
    "r-by-project": ("事業別の内訳（グラフの年度・段階）", "By project (the charted year and stage)"),
    "r-by-project-caption": ("事業別・年度別の事業費（千円、各年度はグラフと同じ段階）",
                             "Project cost by project and fiscal year (thousand yen, each year at its charted stage)"),
}

_UNSAFE_IN_HREF = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")  # controls, whitespace, backslash: browsers rewrite these
_OWN = ((str(ID), "/id/"), (BASE + "def#", "/ontology#"), (BASE + "shapes#", "/shapes#"),
        (str(GRAPH), "/dataset#graph-"))


def safe_href(iri: Any) -> str | None:
    """Where a link to ``iri`` may point, or None when it must be shown as text.

    Our own IRIs map to this host's pages (/id/…, /ontology#…, /shapes#…, /dataset#graph-…);
    other absolute http(s) IRIs stay as they are. Anything else (javascript:, data:, urn:,
    mailto:, relative references, IRIs with control characters or whitespace) is None.
    """
    if not isinstance(iri, str) or _UNSAFE_IN_HREF.search(iri):
        return None
    try:
        parts = urlsplit(iri)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    for prefix, here in _OWN:
        if iri.startswith(prefix):
            return here + iri[len(prefix):]
    return {BASE + "def": "/ontology", BASE + "shapes": "/shapes"}.get(iri, iri)


LANGS = ("ja", "en")
LANG_COOKIE = "lang"


def lang_of(request: Request) -> str:
    """The page's language: ?lang= if given, else the one chosen before (a cookie, so the choice sticks
    across every link), else the browser's Accept-Language, else Japanese."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if chosen in LANGS:
            return chosen
    return _accepted_language(request.headers.get("accept-language", ""))


def _accepted_language(header: str) -> str:
    """ja or en, whichever Accept-Language ranks first (q-values, then order); ja when neither is named."""
    ranked = []
    for i, item in enumerate(header.split(",")[:32]):  # a bounded header: the first 32 ranges decide
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else "ja"


def translate(key: str, lang: str) -> str:
    ja, en = T[key]
    return en if lang == "en" else ja


_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters["safe_href"] = safe_href
_ENV.filters["int_comma"] = lambda value: f"{value:,.0f}"  # amounts as printed: 1,029,173
_ENV.globals["safe_href"] = safe_href
templates = Jinja2Templates(env=_ENV)


def render(request: Request, name: str, context: dict[str, Any], *, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page from templates/``name`` in the request's language; ``context`` has the ``site`` (graph.Site)."""
    lang = lang_of(request)
    context = {"lang": lang, "path": request.url.path, "t": lambda key: translate(key, lang), **context}
    headers = dict(headers or {})
    # the page depends on the language sources too: caches must keep the variants apart
    vary = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    headers["Vary"] = ", ".join(dict.fromkeys([*vary, "Accept-Language", "Cookie"]))
    headers["Content-Language"] = lang
    response = templates.TemplateResponse(request, name, context, status_code=status, headers=headers)
    assert isinstance(response, HTMLResponse)
    if request.query_params.get("lang") in LANGS and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
