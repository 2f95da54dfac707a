"""Reading what budget-compilation pages print: row labels, figures, the 要求額 and 査定 lines.

A prefecture's 予算編成過程 page prints its cost table with row labels that name a fiscal year and a
stage in a few dozen ways (当初予算要求額, R2年度当初予算要求額, 前年度当初予算額, H31年度6月補正後予算額,
31年度当初予算額(最終) …). This module turns each label into (fiscal year, stage) for the page's own
fiscal year, and reads figures (``701,735千円``, ``1.8人``) into numbers without changing them. Anything
it does not know is an error naming the text, never a guess.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from policygraph.records.eras import FiscalYearError, parse_fiscal_year


class LabelError(ValueError):
    """Printed text this module cannot read."""


def _n(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")


# Stage of a row, by the label with its year prefix removed. Order matters: longest first.
_ROW_STAGES: tuple[tuple[str, str], ...] = (
    ("当初予算要求額", "request"),
    ("予算要求額", "request"),
    ("当初予算額(最終)", "final"),
    ("予算額(最終)", "final"),
    ("当初予算額", "initial"),
    ("予算計上額", "assessed"),
    ("補正要求額", "supplementary-request"),
    ("既査定額", "already-assessed"),
    ("現計予算額", "standing"),
)
_REVISED = re.compile(r"^(\d{1,2})月補正後予算額$")
_YEAR_PREFIX = re.compile(r"^(前年度|(?:令和|平成|R|H)?(?:\d{1,2}|元)年度)")


@dataclass(frozen=True)
class RowReading:
    year: int
    stage: str


def _prefix_year(prefix: str, page_year: int) -> int:
    if prefix == "前年度":
        return page_year - 1
    if prefix[0].isdigit() or prefix.startswith("元"):
        # A bare era year (31年度): the era whose year lies next to the page's own year.
        candidates = []
        for era in ("平成", "令和"):
            with contextlib.suppress(FiscalYearError):  # not a year of this era
                candidates.append(parse_fiscal_year(era + prefix))
        near = [y for y in candidates if abs(y - page_year) <= 1]
        if len(near) != 1:
            raise LabelError(f"cannot tell which era {prefix!r} is on a page of fiscal year {page_year}")
        return near[0]
    try:
        return parse_fiscal_year(prefix)
    except FiscalYearError as e:
        raise LabelError(str(e)) from None


def read_row_label(label: str, page_year: int) -> RowReading:
    """``R2年度当初予算要求額`` on a FY2020 page → (2020, request). An empty label is 'unlabelled'."""
    s = _n(label)
    if not s:
        return RowReading(page_year, "unlabelled")
    year = page_year
    if m := _YEAR_PREFIX.match(s):
        year = _prefix_year(m.group(1), page_year)
        s = s[m.end():]
    if m := _REVISED.match(s):
        return RowReading(year, "revised")
    for text, stage in _ROW_STAGES:
        if s == text:
            return RowReading(year, stage)
    if s == "予算額":
        return RowReading(year, "budget-unspecified")
    raise LabelError(f"unknown row label {label!r}")


_AMOUNT = re.compile(r"^([\d,]+)千円$")
_PERSONS = re.compile(r"^(\d+(?:\.\d+)?)人$")


def read_amount(printed: str) -> int:
    """``701,735千円`` → 701735 (thousand yen, as printed)."""
    m = _AMOUNT.match(_n(printed))
    if not m or not re.fullmatch(r"\d{1,3}(,\d{3})*", m.group(1)):
        raise LabelError(f"not an amount in 千円: {printed!r}")
    return int(m.group(1).replace(",", ""))


def read_persons(printed: str) -> Decimal:
    """``1.8人`` → Decimal('1.8')."""
    m = _PERSONS.match(_n(printed))
    if not m:
        raise LabelError(f"not a number of persons (人): {printed!r}")
    return Decimal(m.group(1))


# Columns of the cost table: cost components, then kinds of staff.
COMPONENTS = {"事業費(A)": "project-cost", "人件費(B)": "personnel-cost", "トータルコスト(A+B)": "total-cost"}
STAFF_KINDS = {
    "正職員": "regular", "非常勤職員": "part-time", "臨時的任用職員": "temporary",
    "会計年度任用職員": "fiscal-year-appointed", "特別職非常勤職員": "special-part-time", "従事人役": "all-staff",
}


def column_kind(column: str) -> tuple[str, str]:
    """``事業費(A)`` → ("component", "project-cost"); ``正職員`` → ("staff", "regular")."""
    c = _n(column)
    if c in COMPONENTS:
        return "component", COMPONENTS[c]
    if c in STAFF_KINDS:
        return "staff", STAFF_KINDS[c]
    raise LabelError(f"unknown cost-table column {column!r}")


# ---------------------------------------------------------------- 要求額 line

FUNDING = {
    "単県": "prefecture-own", "国1/2": "national-half", "臨時交付金": "temporary-grant",
    "貸付金元利収入": "loan-repayments", "寄付金": "donations", "基金繰入金": "fund-transfer",
    "諸収入": "miscellaneous-revenue", "雑入": "miscellaneous-income", "その他": "other",
}


@dataclass(frozen=True)
class RequestLine:
    requested: int                       # 要求額
    prior_year: int | None               # (前年度予算額 …)
    funding: tuple[str, ...]             # 財源, as codes
    adjustments: tuple[tuple[str, int], ...]  # 追加 / 復活 / 保留 with their amounts


_REQ = re.compile(r"^(?:事業費)?要求額:?([\d,]+)千円")
_PRIOR = re.compile(r"\(前年度予算額([\d,]+)千円\)")
_FUNDING = re.compile(r"財?源:([^()]+?)(?=\(|追加|復活|保留|$)")  # one page prints 源: alone
_ADJ = re.compile(r"(追加|復活|保留):([\d,]+)千円")
ADJUSTMENT_STAGES = {"追加": "addition", "復活": "restoration", "保留": "held-request"}


def read_request_line(printed: str) -> RequestLine:
    """``要求額:441,895千円 (前年度予算額 451,370千円) 財源:単県`` → its figures and funding codes."""
    s = _n(printed)
    m = _REQ.match(s)
    if not m:
        raise LabelError(f"the 要求額 line does not start with 要求額:…千円: {printed!r}")
    prior = _PRIOR.search(s)
    fm = _FUNDING.search(s)
    funding: list[str] = []
    for name in (fm.group(1).split("、") if fm else []):
        if name not in FUNDING:
            raise LabelError(f"unknown 財源 {name!r} in {printed!r} (known: {', '.join(FUNDING)})")
        funding.append(FUNDING[name])
    return RequestLine(
        requested=read_amount(m.group(1) + "千円"),
        prior_year=read_amount(prior.group(1) + "千円") if prior else None,
        funding=tuple(funding),
        adjustments=tuple((ADJUSTMENT_STAGES[k], read_amount(v + "千円")) for k, v in _ADJ.findall(s)),
    )


# ---------------------------------------------------------------- 査定 line

ASSESSORS = {"一般事業": "general", "政策戦略": "policy-strategy", "課長": "division-chief",
             "部長": "director-general", "知事": "governor"}
RESULTS = {"計上": "funded", "一部計上": "partly-funded", "ゼロ": "zero", "保留": "held"}


@dataclass(frozen=True)
class Assessment:
    assessor: str
    result: str
    amount: int | None
    stage: str | None        # assessed (計上額) or held (保留額)


_ASSESS = re.compile(r"^(一般事業|政策戦略|課長|部長|知事)査定:(一部計上|計上|ゼロ|保留)"
                     r"(?:(計上額|保留額):([\d,]+)千円)?$")


def read_assessment(printed: str) -> Assessment:
    """``一般事業査定:計上   計上額:411,021千円`` → who assessed, the result, the amount."""
    m = _ASSESS.match(_n(printed))
    if not m:
        raise LabelError(f"not a 査定 line this reader knows: {printed!r}")
    who, result, kind, amount = m.groups()
    return Assessment(ASSESSORS[who], RESULTS[result], read_amount(amount + "千円") if amount else None,
                      {"計上額": "assessed", "保留額": "held"}.get(kind or ""))
