"""Template filters for listing pages: money from integer minor units, masked identifiers."""

from __future__ import annotations

from django import template

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥"}


def format_money(amount: int, currency: str = "CNY") -> str:
    """4500 fen → "¥45.00"; integer arithmetic only, never a float."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(int(amount)), 100)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{whole:,}.{cents:02d}"


def mask_identifier(value: str, visible: int = 4) -> str:
    """Only the last `visible` characters of an IMEI, serial number or VIN are shown."""
    value = value or ""
    if not value:
        return ""
    return "•••• " + value[-visible:] if len(value) > visible else "•" * len(value)


@register.filter
def money(amount: int | None, currency: str = "CNY") -> str:
    return "" if amount is None else format_money(amount, currency or "CNY")


@register.filter
def masked(value: str) -> str:
    return mask_identifier(value)


@register.filter
def reason_label(reason: str) -> str:
    from marketplace.services.lifecycle import reason_label as label

    return label(reason)
