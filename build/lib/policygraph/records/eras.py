"""Japanese era names and fiscal years: the one place where 令和7年度 becomes 2025.

A Japanese fiscal year (年度) runs from 1 April to 31 March and is named after the
calendar year in which it starts.  Its era label is the era in force on 1 April;
when a new era begins later in that calendar year the fiscal year has a second,
equally official name with 元年度 (FY2019 = 平成31年度 = 令和元年度).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Era:
    name: str        # 令和
    romaji: str      # Reiwa
    letter: str      # R: the abbreviation used on budget sheets (R7, H20, S54)
    start: date      # first day of the era

    @property
    def first_year(self) -> int:
        return self.start.year


ERAS: tuple[Era, ...] = (
    Era("明治", "Meiji", "M", date(1868, 10, 23)),
    Era("大正", "Taisho", "T", date(1912, 7, 30)),
    Era("昭和", "Showa", "S", date(1926, 12, 25)),
    Era("平成", "Heisei", "H", date(1989, 1, 8)),
    Era("令和", "Reiwa", "R", date(2019, 5, 1)),
)
_BY_NAME = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}


class FiscalYearError(ValueError):
    """A text that names no fiscal year that exists."""


def primary_era(fiscal_year: int) -> Era:
    """The era in force on 1 April of the fiscal year."""
    april_first = date(fiscal_year, 4, 1)
    eras = [e for e in ERAS if e.start <= april_first]
    if not eras:
        raise FiscalYearError(f"fiscal year {fiscal_year} is before 明治")
    return eras[-1]


def _eras_of(fiscal_year: int) -> list[Era]:
    """Eras whose name a fiscal year may carry: the primary one, plus one that began after 1 April."""
    names = [primary_era(fiscal_year)]
    names += [e for e in ERAS if e.start.year == fiscal_year and e.start > date(fiscal_year, 4, 1)]
    return names


def _era_year(era: Era, fiscal_year: int) -> int:
    return fiscal_year - era.first_year + 1


def _ja_number(n: int) -> str:
    return "元" if n == 1 else str(n)


def fiscal_year_labels(fiscal_year: int) -> list[str]:
    """All official Japanese names of a fiscal year, primary first: 2019 → [平成31年度, 令和元年度]."""
    return [f"{e.name}{_ja_number(_era_year(e, fiscal_year))}年度" for e in _eras_of(fiscal_year)]


def fiscal_year_short(fiscal_year: int) -> str:
    """The short form used in sheet headers: 2025 → R7."""
    era = primary_era(fiscal_year)
    return f"{era.letter}{_era_year(era, fiscal_year)}"


_ERA_RE = re.compile(r"^(明治|大正|昭和|平成|令和|[MTSHR])(元|\d+)(?:年度?)?$")
_WESTERN_RE = re.compile(r"^(?:FY)?(\d{4})(?:年度?)?$", re.IGNORECASE)


def parse_fiscal_year(text: str) -> int:
    """Read a fiscal year written any way the sources write it.

    Accepts 令和７年度, 令和元年度, R7, R7年度, H20, S54, 2025, 2025年度 and FY2025.
    Rejects era years that never existed as fiscal years (平成32年度, 昭和64年度).
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    if m := _WESTERN_RE.match(s):
        return int(m.group(1))
    m = _ERA_RE.match(s.upper() if s[:1].isascii() else s)
    if not m:
        raise FiscalYearError(f"not a fiscal year: {text!r}")
    era = _BY_NAME[m.group(1)]
    n = 1 if m.group(2) == "元" else int(m.group(2))
    if n < 1:
        raise FiscalYearError(f"no year 0 in an era: {text!r}")
    fiscal_year = era.first_year + n - 1
    if era not in _eras_of(fiscal_year):
        raise FiscalYearError(
            f"{text!r} never existed: fiscal year {fiscal_year} is {'/'.join(fiscal_year_labels(fiscal_year))}"
        )
    return fiscal_year
