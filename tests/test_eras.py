import pytest

from policygraph.records.eras import FiscalYearError, fiscal_year_labels, fiscal_year_short, parse_fiscal_year


@pytest.mark.parametrize("text,year", [
    ("令和７年度", 2025), ("令和7年度", 2025), ("R7", 2025), ("r7", 2025), ("R7年度", 2025),
    ("平成20年度", 2008), ("平成２０年度", 2008), ("H20", 2008), ("S54", 1979), ("昭和54年度", 1979),
    ("平成31年度", 2019), ("令和元年度", 2019), ("令和1年度", 2019), ("平成元年度", 1989),
    ("2025", 2025), ("FY2025", 2025), ("2025年度", 2025), ("２０２５", 2025),
])
def test_parse_fiscal_year(text, year):
    assert parse_fiscal_year(text) == year


@pytest.mark.parametrize("text", ["平成32年度", "昭和64年度", "令和0年度", "R0", "X7", "七年度", "", "平成"])
def test_years_that_never_existed_are_refused(text):
    with pytest.raises(FiscalYearError):
        parse_fiscal_year(text)


def test_labels_of_the_year_the_era_changed():
    assert fiscal_year_labels(2019) == ["平成31年度", "令和元年度"]
    assert fiscal_year_labels(1989) == ["平成元年度"]      # 平成 began in January: FY1989 is 平成 only
    assert fiscal_year_labels(1988) == ["昭和63年度"]
    assert fiscal_year_labels(2025) == ["令和7年度"]
    assert fiscal_year_labels(2008) == ["平成20年度"]


def test_labels_round_trip():
    for year in range(1927, 2040):
        for label in fiscal_year_labels(year):
            assert parse_fiscal_year(label) == year
        assert parse_fiscal_year(fiscal_year_short(year)) == year


def test_short_form():
    assert fiscal_year_short(2025) == "R7"
    assert fiscal_year_short(2019) == "H31"
    assert fiscal_year_short(1979) == "S54"
