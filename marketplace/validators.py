"""Identifier and plausibility validators. Check digits come from well-kept libraries
(python-stdnum, vininfo); each validator returns the normalised value or raises a
Django ValidationError with a translated message and a stable code."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import imei as stdnum_imei
from stdnum import isbn as stdnum_isbn
from stdnum import meid as stdnum_meid
from stdnum.exceptions import ValidationError as StdnumValidationError
from vininfo import Vin
from vininfo.exceptions import ValidationError as VinValidationError


def normalise_isbn(value: str) -> str:
    """ISBN-10 or ISBN-13 → ISBN-13 digits."""
    try:
        compact = stdnum_isbn.validate(value)
    except StdnumValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid ISBN: check the digits, the last one is a check digit."),
            code="invalid_isbn",
            params={"value": value},
        ) from exc
    return str(stdnum_isbn.to_isbn13(compact))


def normalise_imei(value: str) -> str:
    """A 15-digit IMEI with a valid Luhn check digit."""
    try:
        compact = stdnum_imei.validate(value)
    except StdnumValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid IMEI: 15 digits with a check digit (dial *#06# to see it)."),
            code="invalid_imei",
            params={"value": value},
        ) from exc
    if len(compact) != 15:
        raise ValidationError(
            _("Give the full 15-digit IMEI, including its check digit."), code="invalid_imei", params={"value": value}
        )
    return str(compact)


def normalise_meid(value: str) -> str:
    """An MEID (hexadecimal or decimal form, check digit verified when present) → 14 hex digits."""
    try:
        stdnum_meid.validate(value)
        return str(stdnum_meid.format(value, format="hex", separator="", add_check_digit=False)).upper()
    except StdnumValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid MEID."), code="invalid_meid", params={"value": value}
        ) from exc


def normalise_vin(value: str) -> str:
    """A 17-character VIN (ISO 3779 / GB 16735) without I, O or Q and with a valid check digit."""
    vin = re.sub(r"[\s-]", "", value).upper()
    if len(vin) != 17:
        raise ValidationError(_("A VIN has exactly 17 characters."), code="invalid_vin", params={"value": value})
    if set(vin) & {"I", "O", "Q"}:
        raise ValidationError(
            _("A VIN never contains the letters I, O or Q."), code="invalid_vin", params={"value": value}
        )
    try:
        valid = Vin(vin).verify_checksum()
    except VinValidationError:
        valid = False
    if not valid:
        raise ValidationError(
            _("“%(value)s” is not a valid VIN: its check digit (9th character) does not match."),
            code="invalid_vin",
            params={"value": value},
        )
    return vin


def normalise_serial(value: str) -> str:
    """Serial numbers are compared without spaces, dashes or case."""
    return re.sub(r"[\s-]", "", value).upper()


def validate_price(*, category: str, price: int) -> None:
    if price <= 0:
        raise ValidationError(_("The price must be more than zero."), code="price_not_positive")
    ceiling = settings.MARKETPLACE_PRICE_CEILINGS.get(category)
    if ceiling is not None and price > ceiling:
        raise ValidationError(
            _("That price is above the ceiling of ¥%(ceiling)s for this category; check the amount."),
            code="price_above_ceiling",
            params={"ceiling": f"{ceiling // 100:,}"},
        )


def validate_range(value: float | int, *, low: float, high: float, code: str) -> None:
    if not low <= value <= high:
        raise ValidationError(
            _("This value should be between %(low)s and %(high)s."), code=code, params={"low": low, "high": high}
        )


def validate_date_between(value: dt.date, *, earliest: dt.date, latest: dt.date, code: str) -> None:
    if not earliest <= value <= latest:
        raise ValidationError(
            _("This date should be between %(earliest)s and %(latest)s."),
            code=code,
            params={"earliest": earliest.isoformat(), "latest": latest.isoformat()},
        )


def round_coordinate(value: float | None) -> float | None:
    """Three decimals of a degree are about 100 m: enough to find the neighbourhood, not the door."""
    return None if value is None else round(float(value), 3)
