"""Server-rendered HTML: one small layout, Japanese first, no external assets.

Every page is plain HTML with the app's own stylesheet (/static/style.css); pages work offline
and without JavaScript except the SPARQL query page, whose script the app also serves.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

from policygraph.transform.ids import BASE, GRAPH, ID
from policygraph.transform.metadata import LICENCE_NOTE_EN, LICENCE_NOTE_JA, LICENCE_URL

T = {  # interface strings
    "home": ("ホーム", "Home"), "prefectures": ("都道府県", "Prefectures"), "plan": ("国の支援計画", "National plan"),
    "programs": ("事業一覧", "Programs"), "query": ("SPARQL クエリ", "SPARQL query"), "api": ("API", "API"),
    "dataset": ("データセット", "Dataset"), "ontology": ("オントロジー", "Ontology"),
    "types": ("種類", "Types"), "properties": ("プロパティ", "Properties"), "referenced": ("参照元", "Referenced by"),
    "provenance": ("出典", "Provenance"), "budget": ("予算額（千円）", "Budget (thousand yen)"),
    "formats": ("他の形式", "Other formats"), "licence": ("ライセンス", "Licence"), "year": ("年度", "Fiscal year"),
    "more": ("次へ", "Next"), "prev": ("前へ", "Previous"), "notfound": ("見つかりません", "Not found"),
    "badrequest": ("不正なリクエスト", "Bad request"),
    "general": ("うち一般財源", "of which general revenue"),
    "pages": ("出典ページ", "Source pages"), "readings": ("ページにより異なる額", "pages print different amounts"), "run": ("実行", "Run"), "examples": ("例", "Examples"),
}


_UNSAFE_IN_HREF = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")  # controls, whitespace, backslash: browsers rewrite these


def safe_href(iri: str) -> str | None:
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
    for prefix, here in ((str(ID), "/id/"), (BASE + "def#", "/ontology#"), (BASE + "shapes#", "/shapes#"),
                         (str(GRAPH), "/dataset#graph-")):
        if iri.startswith(prefix):
            return here + iri[len(prefix):]
    return {BASE + "def": "/ontology", BASE + "shapes": "/shapes"}.get(iri, iri)


def link(iri: str, text: str) -> str:
    """``text`` (plain, escaped here) as a link to ``iri`` when that is safe to follow, else as text alone."""
    href = safe_href(iri)
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else escape(text)


def t(key: str, lang: str) -> str:
    ja, en = T[key]
    return en if lang == "en" else ja


def layout(title: str, body: str, lang: str = "ja", path: str = "/", alternates: list[tuple[str, str]] = ()) -> str:
    other = "en" if lang == "ja" else "ja"
    sep = "&" if "?" in path else "?"
    nav = " ".join(f'<a href="{href}">{escape(t(key, lang))}</a>' for key, href in (
        ("home", "/"), ("prefectures", "/id/prefecture"), ("plan", "/id/national-plan/2008"),
        ("programs", "/queries/national-programs.csv"), ("query", "/query"), ("api", "/docs"),
        ("dataset", "/dataset"), ("ontology", "/ontology")))
    alt = "".join(f'<link rel="alternate" type="{escape(mt)}" href="{escape(href)}">' for mt, href in alternates)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — policygraph</title><link rel="stylesheet" href="/static/style.css">{alt}</head>
<body><header><a class="brand" href="/">policygraph</a><nav>{nav}</nav>
<a class="lang" href="{escape(path)}{sep}lang={other}">{'English' if other == 'en' else '日本語'}</a></header>
<main>{body}</main>
<footer><p><strong>{escape(t('licence', lang))}:</strong> {escape(LICENCE_NOTE_EN if lang == 'en' else LICENCE_NOTE_JA)}
<a href="{LICENCE_URL}">CC BY 4.0</a></p></footer></body></html>"""


def bar_chart(series: list[tuple[str, float]], width: int = 640) -> str:
    """A horizontal bar chart as inline SVG (server-rendered, no script)."""
    if not series:
        return ""
    top = max(v for _, v in series) or 1
    row, label_w = 22, 190
    height = row * len(series) + 10
    bars = []
    for i, (label, value) in enumerate(series):
        w = max(1, int((width - label_w - 110) * value / top))
        y = 5 + i * row
        bars.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 6}"></rect>'
                    f'<text x="{label_w + w + 6}" y="{y + 15}">{value:,.0f}</text>')
    return (f'<svg class="chart" role="img" aria-label="budget chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>')
