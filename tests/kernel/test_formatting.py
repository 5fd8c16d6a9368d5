import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from foodiefast.formatting import VatShare, local_time, money, percent, vat_split

NBSP, NNBSP = "\xa0", "\u202f"


@pytest.mark.parametrize(
    ("cents", "french", "english"),
    [
        (1650, f"16,50{NBSP}€", "€16.50"),
        (5, f"0,05{NBSP}€", "€0.05"),
        (123456, f"1{NNBSP}234,56{NBSP}€", "€1,234.56"),
    ],
)
def test_amounts_as_french_and_english_readers_write_them(cents, french, english):
    assert money(cents, language="fr") == french
    assert money(cents, language="en") == english


def test_the_active_language_is_used_when_none_is_given():
    with translation.override("en"):
        assert money(1650) == "€16.50"
        assert percent(10) == "10%"
    with translation.override("fr"):
        assert money(1650) == f"16,50{NBSP}€"
        assert percent("5.5") == f"5,5{NBSP}%"


def test_times_are_on_the_paris_clock_summer_and_winter():
    assert local_time(dt.datetime(2026, 7, 1, 18, 40, tzinfo=dt.UTC), language="fr") == "20:40"
    assert local_time("2026-12-01T18:40:00+00:00", language="en") == "19:40"


def test_vat_is_split_per_rate_rounded_half_up_on_each_rates_total():
    lines = [("10.00", 1650), (10, 600), ("20", 299), (Decimal("20.0"), 113), (None, 200)]

    split = vat_split(lines)

    # 2250 at 10 %: 204.55 → 205; 412 at 20 %: 68.67 → 69; the tip carries none.
    assert split == [
        VatShare(rate=Decimal(10), total_cents=2250, vat_cents=205),
        VatShare(rate=Decimal(20), total_cents=412, vat_cents=69),
    ]
    assert [str(share.rate) for share in split] == ["10", "20"]
    assert split[0].net_cents == 2045


def test_rounding_is_once_per_rate_not_per_line_and_half_goes_up():
    # Three lines of 105 cents at 5 %: 5 cents each exactly; and 399 at 20 % is 66.5 → 67.
    assert vat_split([(5, 105)] * 3) == [VatShare(rate=Decimal(5), total_cents=315, vat_cents=15)]
    assert vat_split([(20, 399)]) == [VatShare(rate=Decimal(20), total_cents=399, vat_cents=67)]
    # 16 cents at 10 % is 1.45 per line (1 each, 2 in all) but 2.91 → 3 on the total.
    assert vat_split([(10, 16), (10, 16)])[0].vat_cents == 3
