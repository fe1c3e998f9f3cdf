"""Identifier validators against real-world vectors, and properties over generated ones."""

from __future__ import annotations

import contextlib

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean, luhn

from marketplace.validators import (
    normalise_imei,
    normalise_isbn,
    normalise_meid,
    normalise_serial,
    normalise_vin,
    round_coordinate,
    validate_price,
)
from tests.vin import with_check_digit

CHINESE_VIN = with_check_digit("LSVAU2180N2183294")


@pytest.mark.parametrize(
    ("raw", "isbn13"),
    [
        ("9787020002207", "9787020002207"),  # 红楼梦, 人民文学出版社
        ("978-7-5442-5399-4", "9787544253994"),
        ("7-02-000220-X", "9787020002207"),  # the same book's ISBN-10
        ("0-306-40615-2", "9780306406157"),
        (" 0306406152 ", "9780306406157"),
    ],
)
def test_valid_isbns_are_stored_as_isbn13(raw, isbn13):
    assert normalise_isbn(raw) == isbn13


@pytest.mark.parametrize("raw", ["9787020002208", "978702000220", "0-306-40615-3", "abcdefghij", ""])
def test_invalid_isbns_are_rejected(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_isbn(raw)
    assert exc.value.code == "invalid_isbn"


@pytest.mark.parametrize("raw", ["352099001761481", "35-209900-176148-1", "490154203237518"])
def test_valid_imeis(raw):
    assert normalise_imei(raw) == raw.replace("-", "")


@pytest.mark.parametrize("raw", ["352099001761482", "35209900176148", "3520990017614810", "35209900176148A"])
def test_invalid_imeis_are_rejected(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_imei(raw)
    assert exc.value.code == "invalid_imei"


@pytest.mark.parametrize(
    ("raw", "hex14"), [("A10000009296F2", "A10000009296F2"), ("af 01 23 45 0a bc de", "AF0123450ABCDE")]
)
def test_valid_meids(raw, hex14):
    assert normalise_meid(raw) == hex14


@pytest.mark.parametrize("raw", ["G1000000929612", "A10000009296F21", "A1000000"])
def test_invalid_meids(raw):
    with pytest.raises(ValidationError):
        normalise_meid(raw)


@pytest.mark.parametrize("raw", ["1M8GDM9AXKP042788", "1HGCM82633A004352", "1hgcm8263 3a004352", CHINESE_VIN])
def test_valid_vins(raw):
    assert normalise_vin(raw) == raw.replace(" ", "").upper()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("1M8GDM9AXKP042789", "check digit"),
        ("1M8GDM9AXKP04278", "17 characters"),
        ("1M8GDM9AIKP042788", "I, O or Q"),
        ("1M8GDM9AXKO042788", "I, O or Q"),
        ("WP0ZZZ99ZTS392124", "check digit"),  # no check digit: not acceptable under GB 16735
    ],
)
def test_invalid_vins_say_why(raw, why, settings):
    settings.LANGUAGE_CODE = "en"
    with pytest.raises(ValidationError) as exc:
        normalise_vin(raw)
    assert exc.value.code == "invalid_vin"
    assert why in exc.value.messages[0]


def test_serials_compare_without_case_spaces_or_dashes():
    assert normalise_serial(" c02x-1234 abc ") == "C02X1234ABC"


def test_coordinates_are_rounded_to_about_100_metres():
    assert round_coordinate(31.230416) == 31.23
    assert round_coordinate(121.473701) == 121.474
    assert round_coordinate(None) is None


def test_price_must_be_positive_and_below_the_category_ceiling():
    validate_price(category="books", price=4500)
    with pytest.raises(ValidationError) as exc:
        validate_price(category="books", price=0)
    assert exc.value.code == "price_not_positive"
    with pytest.raises(ValidationError) as exc:
        validate_price(category="books", price=5_000_001)
    assert exc.value.code == "price_above_ceiling"


DIGITS = "0123456789"
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
YEAR_CHARS = "123456789ABCDEFGHJKLMNPRSTVWXY"  # position 10 never U, Z or 0


@given(st.text(alphabet=DIGITS, min_size=12, max_size=12))
def test_any_isbn13_with_its_check_digit_is_accepted_and_others_are_not(body):
    body = "978" + body[3:]
    check = ean.calc_check_digit(body)
    assert normalise_isbn(body + check) == body + check
    for wrong in set(DIGITS) - {check}:
        with pytest.raises(ValidationError):
            normalise_isbn(body + wrong)


@given(st.text(alphabet=DIGITS, min_size=14, max_size=14))
def test_any_imei_with_its_luhn_digit_is_accepted_and_others_are_not(body):
    check = luhn.calc_check_digit(body)
    assert normalise_imei(body + check) == body + check
    wrong = str((int(check) + 1) % 10)
    with pytest.raises(ValidationError):
        normalise_imei(body + wrong)


@given(
    st.text(alphabet=VIN_CHARS, min_size=9, max_size=9),
    st.sampled_from(YEAR_CHARS),
    st.text(alphabet=VIN_CHARS, min_size=7, max_size=7),
)
def test_any_vin_with_its_check_digit_is_accepted_and_any_other_check_is_not(head, year, tail):
    vin = with_check_digit(head + year + tail)
    assert normalise_vin(vin) == vin
    for wrong in set(DIGITS + "X") - {vin[8]}:
        with pytest.raises(ValidationError):
            normalise_vin(vin[:8] + wrong + vin[9:])


@given(st.text(max_size=30))
def test_validators_never_crash_on_arbitrary_text(text):
    for validator in (normalise_isbn, normalise_imei, normalise_meid, normalise_vin):
        with contextlib.suppress(ValidationError):
            validator(text)
