"""One-off: research-a/b.yaml (notes) → data/budget-pages/31-tottori.yaml (data).

Kept so the way the data file was made can be re-read. It copies fields as transcribed (strings as
printed), merges the URLs both researchers found (after checking they agree), drops entries that
show no 事業名 or no figure, and adds the curated program keys and English names below. It computes
nothing. Run once; from then on data/budget-pages/31-tottori.yaml is the file people edit.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
OUT = HERE.parents[1] / "data" / "budget-pages" / "31-tottori.yaml"

# 事業名 as printed → (ASCII key, English name). Keys are ours; names in English are our translation.
PROGRAMS = {
    "ICT(情報通信技術)企業基盤強化支援事業": ("ict-business-foundation", "ICT business foundation strengthening support"),
    "ICT(情報通信技術)企業底力アップ支援事業": ("ict-business-strength", "ICT business strength-up support"),
    "ICT(情報通信技術)未来人材育成事業": ("ict-future-talent", "ICT future talent development"),
    "「One‐In」圏域連携促進支援事業": ("one-in-area-cooperation", "\"One-In\" area cooperation promotion support"),
    "【経済成長戦略】【企業自立サポート事業】鳥取県企業立地促進資金貸付金": ("siting-promotion-loans", "Tottori business siting promotion fund loans (business self-reliance support)"),
    "とっとりの民工芸振興事業": ("folk-crafts-promotion", "Tottori folk crafts promotion"),
    "とっとり企業支援ネットワーク連携強化事業": ("business-support-network", "Tottori business support network cooperation"),
    "とっとり次世代・地域資源産業育成ファンド事業返還金": ("next-generation-fund-repayment", "Tottori next-generation and regional resource industry fund: repayment"),
    "ふるさと産業支援事業": ("furusato-industry-support", "Home-region (furusato) industry support"),
    "コロナリスクに打ち克つ!事業継続支援強化事業": ("covid-business-continuity", "Business continuity support against COVID-19 risks"),
    "フードビジネス拡大支援事業": ("food-business-expansion", "Food business expansion support"),
    "中小企業ハイテク設備貸与資金貸付事業": ("high-tech-equipment-lease-loans", "SME high-tech equipment leasing fund loans"),
    "中小企業リスク対策強化推進事業": ("sme-risk-measures", "SME risk measures promotion"),
    "中小企業災害対策強化支援事業": ("sme-disaster-measures", "SME disaster measures support"),
    "中小企業連携組織支援交付金": ("sme-cooperative-grants", "Grants to SME cooperative organisations"),
    "中小企業高度化資金貸付事業費": ("sme-advancement-loans", "SME advancement fund loans"),
    "事業承継促進事業": ("business-succession-promotion", "Business succession promotion"),
    "事業承継促進事業(事業承継正規雇用奨励金)": ("business-succession-regular-employment", "Business succession promotion (regular employment incentive)"),
    "企業自立サポート事業(制度金融費)": ("self-reliance-finance", "Business self-reliance support (institutional finance)"),
    "伝統産業振興事業": ("traditional-industries", "Traditional industries promotion"),
    "信用保証協会出捐金": ("credit-guarantee-contribution", "Contribution to the credit guarantee corporation"),
    "公益財団法人鳥取県産業振興機構運営事業": ("industrial-promotion-organisation", "Operation of the Tottori Industrial Promotion Organisation"),
    "地域創業促進事業": ("regional-startup-promotion", "Regional start-up promotion"),
    "地域創業促進事業(販路開拓県外ビジネス拠点確保支援事業)": ("regional-startup-outside-bases", "Regional start-up promotion (business bases outside the prefecture for market development)"),
    "小規模事業者等経営支援交付金": ("small-business-support-grants", "Management support grants for small businesses"),
    "小規模事業者等経営支援交付金(商工会・商工会連合会)": ("small-business-support-grants-chambers", "Management support grants for small businesses (societies of commerce and industry)"),
    "小規模事業者等経営支援交付金(改正小規模事業者支援法対応分)": ("small-business-support-grants-revised-act", "Management support grants for small businesses (for the revised Small Business Support Act)"),
    "小規模企業者等設備貸与事業に関する損失補償": ("equipment-lease-loss-compensation", "Loss compensation for the small enterprise equipment leasing scheme"),
    "弓浜絣産地維持緊急対策事業": ("yumigahama-kasuri", "Emergency measures to keep the Yumigahama kasuri production area"),
    "戦略的事業承継推進モデル構築事業": ("strategic-succession-model", "Strategic business succession promotion model building"),
    "戦略的事業承継推進事業": ("strategic-succession", "Strategic business succession promotion"),
    "打って出るICT産業振興事業": ("ict-industry-outreach", "Outward-looking ICT industry promotion"),
    "新型コロナ克服特別金融支援事業": ("covid-special-finance", "Special finance support for overcoming COVID-19"),
    "業種別物価高騰対策推進支援事業": ("price-rise-measures-by-industry", "Support for measures against price rises, by industry"),
    "産業DX推進事業": ("industrial-dx", "Industrial DX promotion"),
    "産業未来共創事業(生産性向上・事業承継支援)": ("industrial-future-co-creation", "Industrial future co-creation (productivity and business succession support)"),
    "県内産業基盤・DX化事業": ("industrial-base-dx", "Prefectural industrial base and DX"),
    "起業創業促進事業": ("startup-promotion", "Business start-up promotion"),
    "起業家育成応援事業": ("entrepreneur-development", "Entrepreneur development support"),
    "農商工連携促進ファンド事業返還金": ("agri-commerce-fund-repayment", "Agriculture–commerce–industry cooperation fund: repayment"),
    "頑張る企業を応援!特別金融支援事業": ("special-finance-for-striving-firms", "Special finance support for striving firms"),
    "鳥取県中小企業BCP(事業継続計画)策定支援事業": ("sme-bcp", "Tottori SME business continuity plan (BCP) support"),
    "鳥取県中小企業災害対応力強化支援事業": ("sme-disaster-resilience", "Tottori SME disaster resilience support"),
    "鳥取県中小企業近代化資金助成事業": ("sme-modernisation-fund", "Tottori SME modernisation fund (special account)"),
    "鳥取県中小企業近代化資金助成事業特別会計への繰出金": ("sme-modernisation-fund-transfer", "Transfer to the Tottori SME modernisation fund special account"),
    "鳥取県版経営革新支援事業": ("tottori-business-innovation", "Tottori business innovation support"),
    "鳥取県版経営革新総合支援事業": ("tottori-business-innovation-comprehensive", "Tottori comprehensive business innovation support"),
    "鳥取県産業成長応援補助金": ("industrial-growth-subsidy", "Tottori industrial growth subsidy"),
    "次世代・地域資源産業育成支援事業": ("next-generation-industry-support", "Next-generation and regional resource industry development support"),
    "産業振興機構貸オフィス等整備事業": ("promotion-organisation-offices", "Rental offices of the industrial promotion organisation"),
    "信用保証料負担軽減補助金": ("guarantee-fee-relief", "Subsidy to reduce credit guarantee fees"),
    "誘致企業との共創による地域内経済循環創出事業": ("co-creation-with-attracted-firms", "Regional economic circulation through co-creation with attracted firms"),
}

# 目 printed on the pages → ASCII key and English name (ours).
MOKU = {
    "中小企業振興費": ("sme-promotion", "SME promotion"),
    "商業振興費": ("commerce-promotion", "commerce promotion"),
    "金融対策費": ("finance-measures", "finance measures"),
    "工鉱業総務費": ("industry-general-affairs", "industry and mining: general affairs"),
    "観光費": ("tourism", "tourism"),
}

URL_YEAR = re.compile(r"/yosan/(?:shin)?(R\d+|\d{2})[Yy]osan_")


def url_year(url: str) -> str:
    m = URL_YEAR.search(url)
    if not m:
        sys.exit(f"no year in {url}")
    y = m.group(1)
    return f"令和{y[1:]}年度" if y.startswith("R") else f"平成{y}年度"


def main() -> None:
    entries: dict[str, dict] = {}
    for f in ("a", "b"):
        for p in yaml.safe_load((HERE / f"research-{f}.yaml").read_text())["pages"]:
            url = p["url"].removesuffix("?OpenDocument")
            if url in entries:
                a, b = entries[url], p
                for k in ("program_name", "cost_table", "request_line", "assessment_lines", "classification"):
                    if a.get(k) != b.get(k) and a.get(k) and b.get(k):
                        sys.exit(f"{url}: the two readings differ in {k}")
                continue
            entries[url] = dict(p, url=url)
    pages = []
    for url, p in entries.items():
        name = p.get("program_name")
        has_figure = p.get("cost_table") or re.match(r"^(事業費)?要求額", p.get("request_line") or "")
        if not name or not has_figure or name.startswith(("[債務負担行為]", "[繰越明許費]")):
            continue
        key, _ = PROGRAMS[name]
        location = p.get("location_line")
        title = location.split(" の ")[-1].strip() if location else None
        page = {
            "id": url.rsplit("/", 1)[1],
            "url": url,
            "fiscal_year": url_year(url),
            "heading": p.get("page_heading"),
            "title": title,
            "budget": location.split(" の ")[1].strip() if location else None,
            "kind": p.get("budget_kind"),
            "classification": p.get("classification"),
            "program": key,
            "name": name,
            "organisation": p.get("organisation"),
        }
        if p.get("cost_table"):
            page["columns"] = [c.replace(" ", "") for c in p["cost_table"]["columns"]]
            page["rows"] = p["cost_table"]["rows"]
        page["request"] = p.get("request_line")
        page["assessment"] = (p.get("assessment_lines") or [None])[0]
        page["not_shown"] = p.get("missing") or []
        page["second_reading"] = (p.get("verified") or {}).get("result", "not-done")
        if page["second_reading"] == "skipped":
            page["second_reading"] = "not-done"
        pages.append({k: v for k, v in page.items() if v not in (None, [], "")})
    pages.sort(key=lambda p: (p["program"], p["url"]))
    used = {p["program"] for p in pages}
    doc = {
        "source": {
            "key": "tottori-budget-compilation",
            "prefecture": "31",
            "title": "予算編成過程の公開",
            "title_en": "Tottori Prefecture: the budget compilation process, published",
            "publisher": "鳥取県",
            "site": "http://db.pref.tottori.jp/yosan/",
            "department": "31/shoko-rodo-bu",
            "accessed": "2026-11-30",
            "read_from": "stored copies of the pages in the search tool's page corpus, not the live site",
            "licence": "not stated in the stored copies; facts (figures, names) only are reproduced",
        },
        "programs": [{"key": k, "name": n, "name_en": e}
                     for n, (k, e) in sorted(PROGRAMS.items(), key=lambda x: x[1][0]) if k in used],
        "classification": [{"key": k, "name": n, "name_en": e} for n, (k, e) in MOKU.items()],
        "pages": pages,
    }
    head = ("# Tottori's 予算編成過程の公開 pages (budget compilation, FY2007–FY2026): one entry per page, fields\n"
            "# copied as printed (row labels, figures with their units, the 要求額 and 査定 lines). Made from\n"
            "# research/tottori-budget-pages/ by to_data.py; edit here from now on. `second_reading`: whether a\n"
            "# second search returned the same stored page with the same fields (match / not-found).\n")
    OUT.write_text(head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None), encoding="utf-8")
    print(f"{len(pages)} pages, {len(used)} programs → {OUT}")


if __name__ == "__main__":
    main()
