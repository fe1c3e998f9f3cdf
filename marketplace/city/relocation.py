"""Vehicle relocation (二手车限迁): whether a used car with a given emission standard may
be registered in a city that accepts a minimum standard. Pure: no ORM."""

from __future__ import annotations

# Weakest to strongest. Zero-emission vehicles meet every minimum.
EMISSION_ORDER: tuple[str, ...] = ("cn3", "cn4", "cn5", "cn6a", "cn6b", "ev")


def _rank(standard: str) -> int:
    try:
        return EMISSION_ORDER.index(standard)
    except ValueError:
        raise ValueError(f"unknown emission standard {standard!r}") from None


def accepted_standards(minimum: str) -> list[str]:
    """Every standard a city with this minimum accepts, weakest first."""
    return list(EMISSION_ORDER[_rank(minimum) :])


def can_register(standard: str, minimum: str) -> bool:
    """False for an unknown standard: a car we cannot place is never promised a plate."""
    if standard not in EMISSION_ORDER:
        return False
    return _rank(standard) >= _rank(minimum)
