"""Finding contact and payment details in a message: phone numbers, WeChat / Alipay / QQ
IDs and bank card numbers (Luhn-valid). Until buyer and seller have an order together,
the platform shows messages with these masked, because asking to pay outside the
platform is how most second-hand fraud starts.

Pure: strings in, strings out; no database."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn

MASK = "•••"

# Bank cards: 16–19 digits, optionally grouped by spaces or dashes.
_CARD = re.compile(r"(?<![\d])(?:\d[ -]?){15,18}\d(?![\d])")
# Mainland mobile numbers, with or without +86 and separators; landlines with an area code.
_MOBILE = re.compile(r"(?<![\d])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![\d])")
_LANDLINE = re.compile(r"(?<![\d])0\d{2,3}[ -]?\d{7,8}(?![\d])")
_LABEL_SEP = r"\s*(?:号|號|id|ID|账号|帐号|account)?\s*[:：=]?\s*"
_WECHAT = re.compile(
    r"(?:微信|威信|薇信|徽信|weixin|wechat|we chat|v信|vx|wx)" + _LABEL_SEP + r"([A-Za-z][-_A-Za-z0-9]{5,19})",
    re.IGNORECASE,
)
_ALIPAY = re.compile(
    r"(?:支付宝|支付寶|alipay|zfb)" + _LABEL_SEP + r"([\w.+-]+@[\w-]+(?:\.[\w-]+)+|[A-Za-z0-9_.-]{4,40})",
    re.IGNORECASE,
)
_QQ = re.compile(r"(?:qq|扣扣|企鹅)" + _LABEL_SEP + r"(\d{5,12})", re.IGNORECASE)


@dataclass(frozen=True)
class Screened:
    masked: str
    flags: tuple[str, ...]  # kinds found, in a stable order

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def _mask_cards(text: str, found: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if 16 <= len(digits) <= 19 and luhn.is_valid(digits):
            found.add("bank_card")
            return MASK
        return match.group(0)

    return _CARD.sub(replace, text)


def _mask_group(pattern: re.Pattern[str], kind: str, text: str, found: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        found.add(kind)
        start, end = match.span(1)
        whole_start = match.start(0)
        return match.group(0)[: start - whole_start] + MASK + match.group(0)[end - whole_start :]

    return pattern.sub(replace, text)


def _mask_whole(pattern: re.Pattern[str], kind: str, text: str, found: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        found.add(kind)
        return MASK

    return pattern.sub(replace, text)


ORDER = ("bank_card", "phone", "wechat", "alipay", "qq")


def screen(text: str) -> Screened:
    """The text with contact and payment details replaced by •••, and what was found."""
    found: set[str] = set()
    masked = _mask_cards(text, found)  # first: a card number contains phone-like runs
    masked = _mask_group(_WECHAT, "wechat", masked, found)
    masked = _mask_group(_ALIPAY, "alipay", masked, found)
    masked = _mask_group(_QQ, "qq", masked, found)
    masked = _mask_whole(_MOBILE, "phone", masked, found)
    masked = _mask_whole(_LANDLINE, "phone", masked, found)
    return Screened(masked=masked, flags=tuple(kind for kind in ORDER if kind in found))
